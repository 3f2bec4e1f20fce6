"""The job's side of the data gateway (:mod:`aicenter.exchange.gateway`) and the wire format.

Inside a job launched with ``AICENTER_DATA_SOCKET`` and ``AICENTER_DATA_TOKEN``,
:func:`aicenter.exchange.reader.open_dataset` returns a :class:`GatewayReader`: the same
iteration API as the in-process reader, but every record comes over the job's Unix socket
from the gateway, which checked the grant and metered the batch before sending it.

Wire format, one connection per opened dataset:

* job → gateway: a request line, JSON, ``{"token", "op": "open", "dataset",
  "batch_records"}``; then ``next`` lines, one per batch wanted (the gateway reads and meters a
  batch only when asked, so nothing is billed that the job did not ask for);
* gateway → job: frames of a 4-byte big-endian length and a UTF-8 JSON object:
  ``{"open": dataset, "version", "records_total"}`` first, then per ``next`` either
  ``{"records": [[text, source, publisher, date, consent, tdm_reserved], ...], "event":
  {...}}`` (the records, fields in :class:`StoredRecord` order, and the meter event fsynced
  for them),
  ``{"end": true}`` or ``{"error": code, "message"}``.
"""

from __future__ import annotations

import dataclasses
import json
import socket
import struct
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from aicenter.exchange.licence import AccessDeniedError
from aicenter.exchange.meter import MeterEvent
from aicenter.exchange.store import RecordBatches, StoredRecord

ENV_SOCKET = "AICENTER_DATA_SOCKET"
ENV_TOKEN = "AICENTER_DATA_TOKEN"
MAX_REQUEST_BYTES = 4096
MAX_FRAME_BYTES = 1 << 30
_LENGTH = struct.Struct(">I")


class GatewayProtocolError(ConnectionError):
    """The other side broke the wire format or hung up mid-frame."""


def send_frame(sock: socket.socket, value: Mapping[str, Any]) -> None:
    data = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
    sock.sendall(_LENGTH.pack(len(data)) + data)


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    chunks: list[bytes] = []
    while size:
        chunk = sock.recv(min(size, 1 << 20))
        if not chunk:
            raise GatewayProtocolError("the data gateway closed the connection")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def recv_frame(sock: socket.socket) -> dict[str, Any]:
    (size,) = _LENGTH.unpack(_recv_exact(sock, _LENGTH.size))
    if size > MAX_FRAME_BYTES:
        raise GatewayProtocolError(f"frame of {size} bytes is over {MAX_FRAME_BYTES}")
    value = json.loads(_recv_exact(sock, size))
    if not isinstance(value, dict):
        raise GatewayProtocolError("a frame must be a JSON object")
    return value


_FIELDS = tuple(f.name for f in dataclasses.fields(StoredRecord))


def record_to_json(record: StoredRecord) -> list[Any]:
    """A record as the list of its fields in declaration order (compact, fast to build)."""
    return [getattr(record, name) for name in _FIELDS]


def event_from_json(value: Mapping[str, Any]) -> MeterEvent:
    return MeterEvent(str(value["writer"]), int(value["seq"]), str(value["job_id"]),
                      str(value["dataset_id"]), str(value["agreement_id"]),
                      datetime.fromisoformat(str(value["at"])), int(value["records"]),
                      int(value["bytes"]), int(value["tokens"]))


def _raise_error(frame: Mapping[str, Any]) -> None:
    if "error" in frame:
        raise AccessDeniedError(str(frame.get("message") or frame["error"]))


class GatewayReader(RecordBatches):
    """One dataset opened through the gateway; iterate it once (like the in-process reader)."""

    def __init__(self, sock: socket.socket, opened: Mapping[str, Any]) -> None:
        self._sock = sock
        self.dataset_id = str(opened["open"])
        self.version = str(opened["version"])
        self.records_total = int(opened["records_total"])
        self.events: list[MeterEvent] = []

    def batches(self) -> Iterator[list[StoredRecord]]:
        """Batches of records with provenance, each metered by the gateway before it came."""
        try:
            while True:
                self._sock.sendall(b"next\n")
                frame = recv_frame(self._sock)
                _raise_error(frame)
                if frame.get("end"):
                    return
                self.events.append(event_from_json(frame["event"]))
                yield [StoredRecord(*r) for r in frame["records"]]
        finally:
            self.close()

    def close(self) -> None:
        self._sock.close()


def open_via_gateway(name_or_id: str, env: Mapping[str, str], batch_records: int
                     ) -> GatewayReader:
    """Ask the job's gateway for a dataset; :class:`AccessDeniedError` with its reason if
    refused (no grant for the dataset, expired, domestic dataset on a foreign pool)."""
    path, token = env.get(ENV_SOCKET, ""), env.get(ENV_TOKEN, "")
    if not path or not token:
        raise AccessDeniedError(f"{ENV_SOCKET} and {ENV_TOKEN} must both be set")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(path)
        request = {"token": token, "op": "open", "dataset": name_or_id,
                   "batch_records": batch_records}
        sock.sendall(json.dumps(request).encode() + b"\n")
        opened = recv_frame(sock)
        _raise_error(opened)
    except OSError as exc:
        sock.close()
        raise AccessDeniedError(f"cannot reach the data gateway at {path}: {exc}") from None
    except AccessDeniedError:
        sock.close()
        raise
    return GatewayReader(sock, opened)
