"""Behaviour every backend must show, with real processes; subclassed once per backend.

A subclass provides two fixtures: ``backend`` (a fresh backend) and ``reopen`` (a callable that
builds a *new* backend object on the same state, as a restarted server would).
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from aicenter.backends import (
    Backend,
    LaunchRequest,
    RunHandle,
    RunState,
    StopReason,
    read_whole_log,
    wait_until_finished,
)

PY = sys.executable
FINISH_S = 60.0
"""Upper bound for a run to end in these tests (Ray takes a second or two to start a job)."""


def run_where_namespaces_run_out(kind: str, script: Path, *args: str) -> tuple[str, str]:
    """Run ``python script args`` in a user namespace of its own whose limit of ``kind``
    namespaces (``user``, ``net``) is 0, as on a server where they are exhausted; its first
    printed line and the rest of its output."""
    shell = (f"echo 0 > /proc/sys/user/max_{kind}_namespaces && "
             f"PATH={Path(PY).parent}:$PATH exec {PY} {script} {' '.join(args)}")
    done = subprocess.run(["unshare", "-Ur", "/bin/sh", "-c", shell], capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    first, rest = done.stdout.split("\n", 1)
    return first, rest


def python(code: str) -> tuple[str, ...]:
    return (PY, "-u", "-c", code)


NOTE = b"aicenter: "
"""How the center's own lines in a job's log begin (what a job lacked, why it was stopped)."""


def job_output(log: bytes) -> bytes:
    """The job's own output: its log without the center's note lines (``aicenter: ...``),
    which a backend may add (the weak box says so in every job's log)."""
    return b"".join(line for line in log.splitlines(keepends=True)
                    if not line.startswith(NOTE))


def notes_before(log: bytes) -> int:
    """How many bytes of note lines open the log, before the job's first output: where the
    job's own offsets start."""
    start = 0
    while log.startswith(NOTE, start) and b"\n" in log[start:]:
        start = log.index(b"\n", start) + 1
    return start


def with_note(message: str, note: str | None) -> str:
    """The exit message of a job whose backend says ``note`` of every job (``None``: says
    nothing): the job's own ending, then the note."""
    return f"{message}; {note}" if note else message


def wait_for_log(backend: Backend, handle: RunHandle, needle: bytes, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while needle not in read_whole_log(backend, handle):
        assert not backend.status(handle).is_final, read_whole_log(backend, handle)
        assert time.monotonic() < deadline, f"{needle!r} not in log after {timeout_s} s"
        time.sleep(0.05)


class BackendBehaviour:
    """Tests shared by all backends. ``chip`` must be a chip type the backend can run."""

    chip = "nvidia-h100-sxm"

    def request(self, run_id: str, command: tuple[str, ...], **kwargs: object) -> LaunchRequest:
        return LaunchRequest(
            run_id=run_id, command=command, chip_type=self.chip, chip_count=2, **kwargs  # type: ignore[arg-type]
        )

    def test_environment_names_chip_type_and_count(self, backend: Backend, unique: str) -> None:
        handle = backend.launch(
            self.request(
                unique,
                python(
                    "import os\n"
                    "for k in ('AICENTER_RUN_ID','AICENTER_CHIP_TYPE','AICENTER_CHIP_COUNT',"
                    "'MY_SETTING'): print(k + '=' + os.environ.get(k, '<unset>'))"
                ),
                env={"MY_SETTING": "forty two"},
            )
        )
        final = wait_until_finished(backend, handle, FINISH_S)
        assert final.state is RunState.SUCCEEDED and final.exit_code == 0
        log = read_whole_log(backend, handle).decode()
        assert f"AICENTER_RUN_ID={unique}\n" in log
        assert f"AICENTER_CHIP_TYPE={self.chip}\n" in log
        assert "AICENTER_CHIP_COUNT=2\n" in log
        assert "MY_SETTING=forty two\n" in log

    def test_exit_codes_decide_success_or_failure(self, backend: Backend, unique: str) -> None:
        ok = backend.launch(self.request(f"{unique}-ok", ("/bin/sh", "-c", "exit 0")))
        bad = backend.launch(self.request(f"{unique}-bad", ("/bin/sh", "-c", "echo oops; exit 7")))
        ok_status = wait_until_finished(backend, ok, FINISH_S)
        bad_status = wait_until_finished(backend, bad, FINISH_S)
        assert (ok_status.state, ok_status.exit_code) == (RunState.SUCCEEDED, 0)
        assert (bad_status.state, bad_status.exit_code) == (RunState.FAILED, 7)
        assert bad_status.started_at is not None and bad_status.ended_at is not None
        assert bad_status.started_at <= bad_status.ended_at
        assert job_output(read_whole_log(backend, bad)) == b"oops\n"

    def test_working_directory(self, backend: Backend, unique: str, tmp_path: Path) -> None:
        handle = backend.launch(self.request(unique, ("pwd",), working_dir=tmp_path))
        assert wait_until_finished(backend, handle, FINISH_S).state is RunState.SUCCEEDED
        assert job_output(read_whole_log(backend, handle)).decode().strip() == str(tmp_path)

    def test_log_streams_by_offset_while_running(
        self, backend: Backend, unique: str, tmp_path: Path
    ) -> None:
        go = tmp_path / "go"
        code = (
            "import os, time\n"
            "print('first line', flush=True)\n"
            f"while not os.path.exists({str(go)!r}): time.sleep(0.02)\n"
            "print('second line', flush=True)\n"
        )
        handle = backend.launch(self.request(unique, python(code)))
        wait_for_log(backend, handle, b"first line\n")
        chunk = backend.read_log(handle, 0)
        head = notes_before(chunk.data)  # the backend's notes, if any, come first
        assert chunk.data[head:] == b"first line\n" and chunk.offset == 0
        assert chunk.next_offset == head + len(b"first line\n")
        assert not chunk.complete
        assert backend.status(handle).state is RunState.RUNNING
        idle = backend.read_log(handle, chunk.next_offset)
        assert idle.data == b"" and idle.next_offset == chunk.next_offset and not idle.complete
        go.touch()
        assert wait_until_finished(backend, handle, FINISH_S).state is RunState.SUCCEEDED
        rest = backend.read_log(handle, chunk.next_offset)
        assert rest.data == b"second line\n" and rest.complete
        whole = backend.read_log(handle, head)
        assert (whole.data, whole.offset) == (b"first line\nsecond line\n", head)
        small = backend.read_log(handle, head + 6, max_bytes=4)
        assert (small.data, small.next_offset, small.complete) == (b"line", head + 10, False)

    def test_terminate_sigterm_lets_the_job_checkpoint(self, backend: Backend, unique: str) -> None:
        code = (
            "import signal, sys, time\n"
            "def stop(signum, frame):\n"
            "    print('checkpoint saved', flush=True); sys.exit(0)\n"
            "signal.signal(signal.SIGTERM, stop)\n"
            "print('ready', flush=True)\n"
            "time.sleep(120)\n"
        )
        handle = backend.launch(self.request(unique, python(code), grace_period_s=20))
        wait_for_log(backend, handle, b"ready")
        backend.terminate(handle, StopReason.PREEMPT)
        final = wait_until_finished(backend, handle, FINISH_S)
        assert final.state is RunState.PREEMPTED
        assert b"checkpoint saved" in read_whole_log(backend, handle)
        assert final.ended_at is not None and final.started_at is not None
        assert (final.ended_at - final.started_at).total_seconds() < 15

    def test_job_ignoring_sigterm_is_killed_after_grace(
        self, backend: Backend, unique: str
    ) -> None:
        code = (
            "import signal, time\n"
            "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
            "print('ready', flush=True)\n"
            "time.sleep(120)\n"
        )
        handle = backend.launch(self.request(unique, python(code), grace_period_s=2))
        wait_for_log(backend, handle, b"ready")
        asked = time.monotonic()
        backend.terminate(handle, StopReason.CANCEL)
        final = wait_until_finished(backend, handle, FINISH_S)
        waited = time.monotonic() - asked
        assert final.state is RunState.CANCELLED
        assert 1.8 <= waited < 15, waited
        assert final.exit_code in (None, -9)

    def test_max_duration_is_enforced(self, backend: Backend, unique: str) -> None:
        handle = backend.launch(
            self.request(unique, ("sleep", "120"), max_duration_s=1.0, grace_period_s=1)
        )
        final = wait_until_finished(backend, handle, FINISH_S)
        assert final.state is RunState.FAILED
        assert "max duration" in final.message
        assert final.started_at is not None and final.ended_at is not None
        assert 0.9 <= (final.ended_at - final.started_at).total_seconds() < 10

    def test_reattach_while_running_then_cancel(
        self, backend: Backend, reopen: Callable[[], Backend], unique: str
    ) -> None:
        handle = backend.launch(self.request(unique, python(
            "import time\nprint('alive', flush=True)\ntime.sleep(120)"
        )))
        wait_for_log(backend, handle, b"alive")
        text = str(handle)
        del backend  # the server "dies"; a new one starts with the persisted handle only
        again = reopen()
        found = RunHandle.parse(text)
        assert found in again.list_runs()
        assert again.status(found).state is RunState.RUNNING
        assert job_output(again.read_log(found).data) == b"alive\n"
        again.terminate(found, StopReason.CANCEL, grace_period_s=1)
        assert wait_until_finished(again, found, FINISH_S).state is RunState.CANCELLED

    def test_reattach_after_run_ended_unwatched(
        self, backend: Backend, reopen: Callable[[], Backend], unique: str, tmp_path: Path
    ) -> None:
        done = tmp_path / "done"
        code = f"print('work', flush=True)\nopen({str(done)!r}, 'w').close()\nraise SystemExit(5)"
        handle = backend.launch(self.request(unique, python(code)))
        text = str(handle)
        del backend
        deadline = time.monotonic() + FINISH_S
        while not done.exists():  # nobody polls the backend meanwhile
            assert time.monotonic() < deadline
            time.sleep(0.05)
        time.sleep(1.0)
        again = reopen()
        found = RunHandle.parse(text)
        final = wait_until_finished(again, found, FINISH_S)
        assert (final.state, final.exit_code) == (RunState.FAILED, 5)
        assert job_output(read_whole_log(again, found)) == b"work\n"
        assert again.read_log(found).complete

    def test_forget_refuses_running_and_drops_ended(self, backend: Backend, unique: str) -> None:
        handle = backend.launch(self.request(unique, python("import time; time.sleep(120)")))
        with pytest.raises(Exception, match="has not ended"):
            backend.forget(handle)
        backend.terminate(handle, StopReason.CANCEL, grace_period_s=1)
        wait_until_finished(backend, handle, FINISH_S)
        backend.forget(handle)
        assert handle not in backend.list_runs()
        assert backend.status(handle).state is RunState.LOST

    def test_run_id_cannot_be_reused(self, backend: Backend, unique: str) -> None:
        backend.launch(self.request(unique, ("true",)))
        with pytest.raises(Exception, match="already used"):
            backend.launch(self.request(unique, ("true",)))
