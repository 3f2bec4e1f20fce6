"""``serve --workers N``: exactly one process per HOME becomes the scheduling loop's leader,
and the lead passes on when that process dies."""

import subprocess
import sys
from pathlib import Path

from aicenter.api.server import _become_leader

HOLD = ("import sys, time; from pathlib import Path; from aicenter.api.server import "
        "_become_leader; print(_become_leader(Path(sys.argv[1])), flush=True); time.sleep(60)")


def test_one_leader_per_home_and_takeover_when_it_dies(tmp_path: Path) -> None:
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "True"
        assert _become_leader(tmp_path) is False  # the other process leads
        other = tmp_path / "other"
        other.mkdir()
        assert _become_leader(other) is True  # another HOME has its own leader
    finally:
        holder.kill()
        holder.wait()
    assert _become_leader(tmp_path) is True  # the kernel released the dead leader's lock
