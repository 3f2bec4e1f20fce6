"""Signed checkpoints: the center's Ed25519 signature over (tree size, root hash, time, key).

The signed message is a short text, one field a line, so that anyone can rebuild it with a
shell and check it with any Ed25519 tool::

    aicenter audit checkpoint v1
    size 1234
    root <64 hex digits>
    time 2026-01-01T00:00:00.000000Z
    key <key id>

A key id is the first 8 bytes (16 hex digits) of SHA-256 of the raw 32-byte public key, so a
checkpoint names the key that signed it and a rotated-out public key still verifies the
checkpoints it signed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from aicenter.ledger.audit.entry import format_time

HEADER = "aicenter audit checkpoint v1"


@dataclass(frozen=True, slots=True)
class Checkpoint:
    size: int
    root: bytes
    time: datetime
    key_id: str
    signature: bytes

    def message(self) -> bytes:
        return checkpoint_message(self.size, self.root, self.time, self.key_id)


def checkpoint_message(size: int, root: bytes, time: datetime, key_id: str) -> bytes:
    """The exact bytes a checkpoint's signature covers."""
    return (f"{HEADER}\nsize {size}\nroot {root.hex()}\ntime {format_time(time)}\n"
            f"key {key_id}\n").encode("ascii")


def raw_public_key(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(public_key: bytes) -> str:
    """The id of a raw 32-byte Ed25519 public key."""
    return hashlib.sha256(public_key).hexdigest()[:16]


def sign_checkpoint(key: Ed25519PrivateKey, size: int, root: bytes, time: datetime
                    ) -> Checkpoint:
    """A checkpoint of the tree of ``size`` leaves with root ``root``, signed by ``key``."""
    kid = key_id(raw_public_key(key.public_key()))
    return Checkpoint(size, root, time, kid,
                      key.sign(checkpoint_message(size, root, time, kid)))


def signature_valid(checkpoint: Checkpoint, public_keys: Mapping[str, bytes]) -> bool:
    """Whether one of ``public_keys`` (key id → raw public key) signed ``checkpoint``.

    A key is looked up by the checkpoint's key id and must hash to that id, so a key filed
    under the wrong id verifies nothing."""
    raw = public_keys.get(checkpoint.key_id)
    if raw is None or key_id(raw) != checkpoint.key_id:
        return False
    try:
        Ed25519PublicKey.from_public_bytes(raw).verify(checkpoint.signature,
                                                       checkpoint.message())
    except (InvalidSignature, ValueError):
        return False
    return True
