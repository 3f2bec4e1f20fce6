"""``serve --workers N``: exactly one process per HOME holds the scheduling loop's lock, and
the lock passes on when that process dies."""

import subprocess
import sys
from pathlib import Path

from aicenter.server.leader import try_lock

HOLD = ("import sys, time; from pathlib import Path; from aicenter.server.leader import try_lock; "
        "lock = try_lock(Path(sys.argv[1])); print(lock is not None, flush=True); "
        "time.sleep(60)")


def test_one_leader_per_home_and_takeover_when_it_dies(tmp_path: Path) -> None:
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "True"
        assert try_lock(tmp_path) is None  # the other process leads
        other = tmp_path / "other"
        other.mkdir()
        mine = try_lock(other)
        assert mine is not None  # another HOME has its own leader
        mine.close()
    finally:
        holder.kill()
        holder.wait()
    lock = try_lock(tmp_path)
    assert lock is not None  # the kernel released the dead leader's lock
    lock.close()
