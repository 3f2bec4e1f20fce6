"""Where jobs cannot be contained, the local backend refuses to run them unless the operator
set ``unsafe_allow_weak_isolation`` (AICENTER_UNSAFE_ALLOW_WEAK_ISOLATION), and says which box
was missing and why; with the setting, every job's log says what it ran without.

Two hosts that cannot contain jobs: no uid range configured (a library user's isolation), and
a host without user namespaces (a user namespace in which ``user.max_user_namespaces`` is 0,
with every id mapped to itself, so the server is still root there)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from aicenter.backends import LaunchRequest, read_whole_log
from aicenter.backends import wait_until_finished as wait
from aicenter.backends.local import ContainmentUnavailableError, LocalBackend
from aicenter.backends.local.isolation import JobIsolation

from .behaviour import FINISH_S

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the contained box needs root")

SLOTS = {"nvidia-h100-sxm": 1}
SECRET = "OPERATOR-SECRET"


def _home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    home.mkdir(mode=0o700, parents=True)
    (home / "operator-token").write_text(SECRET + "\n")
    return home


def _peek(home: Path) -> LaunchRequest:
    """A job that says its uid and tries to read the center's operator token."""
    return LaunchRequest("peek-1", ("/bin/sh", "-c", f"id -u; cat {home}/operator-token"),
                         "nvidia-h100-sxm", 1)


def test_no_uid_range_refuses_jobs_unless_the_operator_accepts_the_weak_box(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    home = _home(tmp_path)
    with pytest.raises(ContainmentUnavailableError) as refused:
        LocalBackend(home / "runs", SLOTS, JobIsolation("namespace", (home,), uid_range=None))
    said = str(refused.value)
    assert said.startswith("no uid range for jobs is configured: jobs would run as the "
                           "server's uid. The center refuses to run jobs"), said
    assert "AICENTER_UNSAFE_ALLOW_WEAK_ISOLATION=true" in said
    assert not (home / "runs" / "peek-1").exists()

    with caplog.at_level("WARNING", logger="aicenter.backends.local"):
        backend = LocalBackend(home / "runs", SLOTS, JobIsolation(
            "namespace", (home,), uid_range=None, allow_weak=True))
    assert "UNSAFE: no uid range for jobs is configured: jobs would run as the server's " \
        "uid; jobs run without the contained box" in caplog.text  # said at start
    handle = backend.launch(_peek(home))
    ended = wait(backend, handle, FINISH_S)
    said, uid, *rest = read_whole_log(backend, handle).decode().splitlines()
    assert said == ("aicenter: UNSAFE: no uid range for jobs is configured: jobs would run as "
                    "the server's uid; this job ran in the weak box, as the server's own uid")
    assert ended.exit_code == 1  # cat was refused...
    assert int(uid) == os.getuid() != 200_000  # ...though the job ran as the server's uid,
    assert SECRET not in "\n".join(rest)  # in the weak box, which covers the center's home


CONSENT = textwrap.dedent("""
    import json, os, sys
    from pathlib import Path
    from aicenter.backends import LaunchRequest, read_whole_log, wait_until_finished
    from aicenter.backends.local import ContainmentUnavailableError, LocalBackend
    from aicenter.backends.local.config import job_isolation
    from aicenter.settings import Settings
    home, consent = Path(sys.argv[1]), sys.argv[2] == "consent"
    settings = Settings(home=home, unsafe_allow_weak_isolation=consent)
    try:  # the server's backend, from its settings
        backend = LocalBackend(home / "runs", {"nvidia-h100-sxm": 1},
                               job_isolation(settings, (home,), ()))
    except ContainmentUnavailableError as refused:
        print(json.dumps({"refused": str(refused)}))
        sys.exit(0)
    handle = backend.launch(LaunchRequest(
        "peek-1", ("/bin/sh", "-c", f"id -u; cat {home}/operator-token"), "nvidia-h100-sxm", 1))
    ended = wait_until_finished(backend, handle, 60)
    print(json.dumps({"state": ended.state.value, "message": ended.message,
                      "log": read_whole_log(backend, handle).decode()}))
""")

NO_USER_NAMESPACES = textwrap.dedent("""
    import ctypes, os, sys
    libc = ctypes.CDLL(None, use_errno=True)
    ready_r, ready_w = os.pipe()
    go_r, go_w = os.pipe()
    child = os.fork()
    if child == 0:
        if libc.unshare(0x10000000) != 0:  # CLONE_NEWUSER
            os._exit(90)
        os.write(ready_w, b"x")
        os.read(go_r, 1)
        try:  # no user namespace may be made below this one
            with open("/proc/sys/user/max_user_namespaces", "w") as limit:
                limit.write("0")
        except OSError:
            os._exit(91)
        os.execv(sys.argv[1], sys.argv[1:])
    os.read(ready_r, 1)
    for name in ("uid_map", "gid_map"):  # every id is itself: still root, files as they are
        with open(f"/proc/{child}/{name}", "w") as ids:
            ids.write("0 0 4294967295\\n")
    os.write(go_w, b"x")
    sys.exit(os.waitstatus_to_exitcode(os.waitpid(child, 0)[1]))
""")


def _without_user_namespaces(home: Path, consent: str) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AICENTER_UNSAFE")}
    done = subprocess.run([sys.executable, "-c", NO_USER_NAMESPACES, sys.executable, "-c",
                           CONSENT, str(home), consent], capture_output=True, text=True,
                          timeout=120, check=False, env=env)
    if done.returncode in (90, 91):
        pytest.skip("cannot make a user namespace without user namespaces here")
    assert done.returncode == 0, done.stdout + done.stderr
    answer: dict[str, Any] = json.loads(done.stdout)
    answer["stderr"] = done.stderr
    return answer


def test_without_user_namespaces_the_server_refuses_unless_the_operator_consents(
        tmp_path: Path) -> None:
    refused = _without_user_namespaces(_home(tmp_path / "a"), "")
    said = refused.get("refused", "")
    assert said.startswith("jobs cannot be contained on this host: "), refused
    assert "AICENTER_UNSAFE_ALLOW_WEAK_ISOLATION=true" in said

    ran = _without_user_namespaces(_home(tmp_path / "b"), "consent")
    assert ran["state"] == "succeeded", ran
    first, uid, *rest = ran["log"].splitlines()
    assert first.startswith("aicenter: job isolation 'namespace' is unavailable on this "
                            "machine ("), first
    assert "unshare(user" in first and first.endswith(
        "this job ran WITHOUT isolation and could read the center's files"), first
    assert uid == "0" and rest == [SECRET]  # what it says is what happened
    assert "WITHOUT isolation" in ran["message"]
    assert "UNSAFE: jobs cannot be contained on this host" in ran["stderr"]  # said at start
