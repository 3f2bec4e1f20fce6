"""``aicenter model verify DIR --card card.json`` away from the center: the files are hashed
and the signature checked on this machine against saved public keys; a changed file, an extra
file in the model's folder and a changed card each fail (exit 1) naming what."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from aicenter.domain.model import ModelFile, make_statement, sign

FILES = {"model/config.json": b'{"vocab": 64}', "model/weights.bin": bytes(range(256))}


def _setup(tmp_path: Path) -> tuple[Path, Path, Path]:
    key = Ed25519PrivateKey.generate()
    raw = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    kid = hashlib.sha256(raw).hexdigest()[:16]
    files = tuple(ModelFile(p, hashlib.sha256(b).hexdigest(), len(b)) for p, b in FILES.items())
    envelope = sign(make_statement(files, {"model": {"name": "m"}}), key, kid)
    work = tmp_path / "work"
    for path, data in FILES.items():
        (work / path).parent.mkdir(parents=True, exist_ok=True)
        (work / path).write_bytes(data)
    (work / "train.log").write_text("not part of the model")  # beside it: not counted
    card, keys = tmp_path / "card.json", tmp_path / "keys.json"
    card.write_text(json.dumps(envelope))
    keys.write_text(json.dumps({kid: raw.hex()}))
    return work, card, keys


def test_verify_a_copy_here(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    work, card, keys = _setup(tmp_path)
    result = cli("model", "verify", work, "--card", card, "--keys", keys)
    assert result.code == 0 and "ok: 2 files match the card" in result.out, result.err
    inner = cli("model", "verify", work / "model", "--card", card, "--keys", keys)
    assert inner.code == 0, inner.out  # the declared folder itself
    (work / "model" / "weights.bin").write_bytes(b"tampered")
    (work / "model" / "backdoor.bin").write_bytes(b"x")
    bad = cli("model", "verify", work, "--card", card, "--keys", keys)
    assert bad.code == 1
    assert "FAILED file model/weights.bin: changed" in bad.out
    assert "FAILED file model/backdoor.bin: not in the card" in bad.out


def test_a_changed_card_fails_on_its_signature(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    work, card, keys = _setup(tmp_path)
    envelope = json.loads(card.read_text())
    statement = json.loads(base64.b64decode(envelope["payload"]))
    statement["predicate"]["model"]["name"] = "someone else's"
    envelope["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    card.write_text(json.dumps(envelope))
    result = cli("model", "verify", work, "--card", card, "--keys", keys, "--format", "json")
    assert result.code == 1
    assert "does not match the card" in json.loads(result.out)["problems"][0]
