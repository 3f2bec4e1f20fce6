"""The data gateway: the center's reader, run outside the job, serving one job's reads.

Compute-to-data against a hostile job. On the local backend the job runs isolated
(:mod:`aicenter.backends.local.isolation`): it cannot open the dataset store, the manifests, the
meter logs or the pseudonymisation key. Its records come from this process instead, which the
runner starts next to the job (a *sidecar*, :mod:`aicenter.backends.local.runner`) as::

    python -I -m aicenter.exchange.gateway <HOME>/exchange/gateways/<run id>.json

The config file (:class:`GatewayConfig`, mode 0600, inside HOME) holds the reader settings the
in-process reader would have had (job, purpose, manifests, grant file, meter log), the Unix
socket to listen on, and the SHA-256 of the job's capability token. The token itself is only
in the job's environment (``AICENTER_DATA_TOKEN``): another job of the same user can reach the
socket but not read; a wrong token is refused before anything else.

Per connection (wire format in :mod:`aicenter.exchange.gateway_client`) the gateway opens the
dataset with :func:`aicenter.exchange.reader.open_dataset`, so the same rules hold: the grant
is for this job and purpose, names the dataset, has not expired (checked again before every
batch), and a dataset tagged domestic is served only to a job on a domestic pool. For each
``next`` it takes the next batch, appends the meter event (records, UTF-8 bytes, tokens) to
the job's meter log and fsyncs it, and only then sends the records. (A thread reads one batch
ahead from the store so the read overlaps the job's work; that batch is neither metered nor
sent unless the job asks for it.) The meter log is written by
this process alone, so the job can neither skip nor forge an event: billed use (computed from
the log) equals metered use, and every record the job received is in it.

With each batch it also appends the batch's fingerprints (winnowed character shingles,
:mod:`aicenter.exchange.output_check`) to ``<config dir>/served/<run id>/<dataset>.u64``
(raw little-endian uint64, fsynced before the records go out, like the meter event): the
record of what the job was served, against which its log and outputs are checked before they
are released to the tenant. It stays inside HOME, which the job cannot see.

The gateway prints ``ready`` once it listens, exits on SIGTERM (the runner sends it when the
job has ended) and also on its own when the runner that started it is gone.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import queue
import signal
import socket
import stat
import sys
import tempfile
import threading
import urllib.parse
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from aicenter.domain.errors import InputError
from aicenter.exchange.gateway_client import (
    MAX_REQUEST_BYTES,
    record_to_json,
    send_frame,
)
from aicenter.exchange.licence import AccessDeniedError
from aicenter.exchange.output_check import fingerprint
from aicenter.exchange.reader import (
    BATCH_RECORDS,
    Clock,
    DatasetReader,
    ReaderContext,
    open_local,
)
from aicenter.exchange.store import StoredRecord

MAX_BATCH_RECORDS = 16 * BATCH_RECORDS
SIDECAR_PARENT_ENV = "AICENTER_SIDECAR_PARENT"  # set by the local runner: its pid
PARENT_POLL_S = 1.0


def _utc_now() -> datetime:
    return datetime.now(UTC)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


SOCKET_NAME = "gateway.sock"
"""The gateway's socket in its run's directory, ``socket_dir() / run_id / SOCKET_NAME``."""


def socket_dir() -> Path:
    """Where job sockets live: outside HOME (which isolated jobs cannot see), owner-only; each
    run's sockets in a directory of its own, which the backend gives the job's group and
    shows read-only inside that job alone (no job can reach or replace another's socket)."""
    return Path(tempfile.gettempdir()) / f"aicenter-data-{os.getuid()}"


def ensure_socket_dir() -> Path:
    """Create :func:`socket_dir` (mode 0700); refuse one that is a symlink or not ours."""
    path = socket_dir()
    path.mkdir(mode=0o700, exist_ok=True)
    info = os.lstat(path)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise InputError(f"{path} must be a directory of uid {os.getuid()} with mode 0700",
                         file=str(path))
    return path


@dataclass(frozen=True, slots=True)
class GatewayConfig:
    """What one job's gateway serves (see the module docstring)."""

    reader_env: Mapping[str, str]
    socket_path: Path
    token_sha256: str

    def to_dict(self) -> dict[str, Any]:
        return {"reader_env": dict(self.reader_env), "socket": str(self.socket_path),
                "token_sha256": self.token_sha256}

    @staticmethod
    def load(path: Path) -> GatewayConfig:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return GatewayConfig({str(k): str(v) for k, v in data["reader_env"].items()},
                                 Path(data["socket"]), str(data["token_sha256"]))
        except KeyError as exc:
            raise InputError("missing", file=str(path), field=str(exc.args[0])) from None
        except (OSError, ValueError, AttributeError, TypeError) as exc:
            raise InputError(f"not a gateway config: {exc}", file=str(path)) from None


def write_config(path: Path, config: GatewayConfig) -> None:
    """Write the config (mode 0600) and create the socket directory (mode 0700)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    config.socket_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(config.to_dict(), f, indent=2, sort_keys=True)


def command(config_path: Path) -> tuple[str, ...]:
    """The sidecar argv that serves ``config_path``."""
    return (sys.executable, "-I", "-m", "aicenter.exchange.gateway", str(config_path))


SERVED_DIR = "served"
SERVED_SUFFIX = ".u64"


def served_dir(config_path: Path) -> Path:
    """Where the gateway of the run configured by ``config_path`` stores what it served."""
    return config_path.parent / SERVED_DIR / config_path.stem


def served_files(gateways_dir: Path, job_id: str) -> dict[str, list[Path]]:
    """The fingerprint files of every run of ``job_id`` (run ids ``<job>-<attempt>-<alt>``),
    by dataset id."""
    found: dict[str, list[Path]] = {}
    root = gateways_dir / SERVED_DIR
    if not root.is_dir():
        return found
    for run in sorted(root.glob(f"{job_id}-*")):
        for path in sorted(run.glob(f"*{SERVED_SUFFIX}")):
            dataset = urllib.parse.unquote(path.name[:-len(SERVED_SUFFIX)])
            found.setdefault(dataset, []).append(path)
    return found


class FingerprintSink:
    """Appends the fingerprints of served batches, one file per dataset, fsynced (one lock:
    the gateway's connections are threads)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = threading.Lock()
        self.bytes_written = 0

    def append(self, dataset_id: str, texts: Sequence[str]) -> None:
        hashes = fingerprint(texts).astype("<u8", copy=False).tobytes()
        name = urllib.parse.quote(dataset_id, safe="") + SERVED_SUFFIX
        with self._lock:
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(self.directory / name, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                os.write(fd, hashes)
                os.fsync(fd)
            finally:
                os.close(fd)
            self.bytes_written += len(hashes)


class DataGateway:
    """Serves one job's reads on one Unix socket, a thread per connection."""

    def __init__(self, config: GatewayConfig, clock: Clock = _utc_now,
                 sink: FingerprintSink | None = None) -> None:
        self.config = config
        self.context = ReaderContext.from_env(config.reader_env, clock)
        self.sink = sink
        self._stop = threading.Event()
        self._listener: socket.socket | None = None

    def listen(self) -> None:
        path = self.config.socket_path
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(str(path))
        # The socket belongs to its directory's group: the launcher made the directory the
        # job's (its gid, mode 0750), so the job's uid may connect and nobody else's.
        os.chown(path, -1, path.parent.stat().st_gid)
        os.chmod(path, 0o660)
        listener.listen(16)
        listener.settimeout(PARENT_POLL_S)
        self._listener = listener

    def serve(self, parent_pid: int | None = None) -> None:
        """Accept until :meth:`stop`, or until ``parent_pid`` is no longer our parent (checked
        every ``PARENT_POLL_S``)."""
        assert self._listener is not None, "listen() first"
        try:
            while not self._stop.is_set():
                if parent_pid is not None and os.getppid() != parent_pid:
                    return  # the runner is gone: so is the job
                try:
                    conn, _ = self._listener.accept()
                except TimeoutError:
                    continue
                except OSError:
                    if self._stop.is_set():
                        return
                    raise
                threading.Thread(target=self._serve_connection, args=(conn,),
                                 daemon=True).start()
        finally:
            self.close()

    def stop(self) -> None:
        self._stop.set()

    def close(self) -> None:
        if self._listener is not None:
            self._listener.close()
            self._listener = None
            with contextlib.suppress(FileNotFoundError):
                self.config.socket_path.unlink()
            with contextlib.suppress(OSError):  # the run's own directory, once empty
                self.config.socket_path.parent.rmdir()

    def _serve_connection(self, conn: socket.socket) -> None:
        with conn, conn.makefile("rb") as lines:
            try:
                self._converse(conn, lines)
            except (OSError, ValueError):
                return  # the job hung up or sent garbage: nothing more is read for it

    def _converse(self, conn: socket.socket, lines: Any) -> None:
        raw = lines.readline(MAX_REQUEST_BYTES)
        try:
            request = json.loads(raw)
            token = str(request["token"])
        except (ValueError, KeyError, TypeError):
            send_frame(conn, {"error": "bad-request", "message": "the first line must be a "
                              "JSON object with token, op and dataset"})
            return
        if not hmac.compare_digest(token_digest(token), self.config.token_sha256):
            send_frame(conn, {"error": "bad-capability",
                              "message": "this socket serves another job (wrong token)"})
            return
        if request.get("op") != "open":
            send_frame(conn, {"error": "bad-request", "message": "op must be 'open'"})
            return
        size = request.get("batch_records", BATCH_RECORDS)
        size = min(max(size, 1), MAX_BATCH_RECORDS) if isinstance(size, int) else BATCH_RECORDS
        try:
            reader = open_local(str(request.get("dataset", "")), self.context, size)
        except (AccessDeniedError, InputError) as exc:
            send_frame(conn, {"error": "access-denied", "message": str(exc)})
            return
        send_frame(conn, {"open": reader.dataset_id, "version": reader.manifest_version,
                          "records_total": reader.records_total})
        ahead = _ReadAhead(reader.unmetered_batches())
        try:
            self._stream(conn, lines, reader, ahead, self.sink)
        finally:
            ahead.close()

    @staticmethod
    def _stream(conn: socket.socket, lines: Any, reader: DatasetReader,
                ahead: _ReadAhead, sink: FingerprintSink | None = None) -> None:
        """One metered batch per ``next``: the event and the batch's fingerprints are fsynced
        before the records go out."""
        while lines.readline(64).strip() == b"next":
            batch = ahead.next()
            if batch is None:
                send_frame(conn, {"end": True})
                return
            try:
                reader.meter(batch)
            except AccessDeniedError as exc:  # e.g. the grant expired mid-read
                send_frame(conn, {"error": "access-denied", "message": str(exc)})
                return
            if sink is not None:
                try:
                    sink.append(reader.dataset_id, [r.text for r in batch])
                except OSError as exc:  # no record of what is served: nothing is served
                    send_frame(conn, {"error": "unavailable", "message":
                                      f"the gateway cannot record what it serves: {exc}"})
                    return
            send_frame(conn, {"records": [record_to_json(r) for r in batch],
                              "event": reader.events[-1].to_dict()})


class _ReadAhead:
    """Reads the next batch from the store while the job works on the current one (a thread
    and a queue of one). Nothing read ahead is metered or sent until the job asks for it."""

    _END = object()

    def __init__(self, batches: Iterator[list[StoredRecord]]) -> None:
        self._batches = batches
        self._queue: queue.Queue[object] = queue.Queue(maxsize=1)
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._fill, daemon=True)
        self._thread.start()

    def _fill(self) -> None:
        try:
            for batch in self._batches:
                if not self._put(batch):
                    return
            self._put(self._END)
        except Exception as exc:  # handed to the reader thread, raised there
            self._put(exc)

    def _put(self, item: object) -> bool:
        while not self._closed.is_set():
            try:
                self._queue.put(item, timeout=0.5)
                return True
            except queue.Full:
                continue
        return False

    def next(self) -> list[StoredRecord] | None:
        """The next batch, or ``None`` at the end; re-raises a read error of the store."""
        item = self._queue.get()
        if isinstance(item, Exception):
            raise item
        if item is self._END:
            return None
        return cast(list[StoredRecord], item)

    def close(self) -> None:
        self._closed.set()


def main() -> None:
    if len(sys.argv) != 2:
        print("usage: python -I -m aicenter.exchange.gateway CONFIG", file=sys.stderr)
        raise SystemExit(2)
    parent = int(os.environ.get(SIDECAR_PARENT_ENV) or os.getppid())
    config_path = Path(sys.argv[1])
    try:
        gateway = DataGateway(GatewayConfig.load(config_path),
                              sink=FingerprintSink(served_dir(config_path)))
        gateway.listen()
    except (InputError, AccessDeniedError, OSError) as exc:
        print(f"data gateway: {exc}", file=sys.stderr, flush=True)
        raise SystemExit(2) from None
    signal.signal(signal.SIGTERM, lambda signum, frame: gateway.stop())
    print("ready", flush=True)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)  # the runner closed its end of our stdout
    gateway.serve(parent_pid=parent)
    # A clean end (SIGTERM after the job, or the runner gone): the run's config is not needed
    # again. A crash keeps it, for the runner to restart the gateway with.
    config_path.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
