"""A model version the center registered from a job's declared outputs, and its provenance
card: an in-toto attestation in a DSSE envelope signed with the center's Ed25519 key.

Why in-toto + DSSE, not the OpenSSF model-signing format: model-signing (PyPI
``model-signing``) signs only with elliptic-curve keys (P-256/384/521) or through Sigstore,
and pulls in ``sigstore``, ``blake3``, ``in-toto-attestation``; the center already has an
Ed25519 key with rotation for its audit log. Its payload is itself an in-toto Statement in a
DSSE envelope, so the card is what a model-signing verifier reads apart from the key type and
the Sigstore bundle around it. Here:

* Statement v1 (``_type``, ``subject``, ``predicateType``, ``predicate``): the subject is
  every file of the version with its sha256; the predicate is the lineage the center proves
  (datasets read and their versions, agreements, licences, PII status; chips, pools,
  countries; h100e-hours and cost; the programme's cost beside it) and what it cannot prove;
* the envelope signs DSSE's pre-authentication encoding (PAE) of the canonical JSON
  statement; ``keyid`` is the id of the center's key that signed it.

Pure: hashing files and reading keys are the callers' (the service, the CLI)."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import yaml
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from aicenter.domain.errors import InputError

PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "urn:aicenter:model-provenance:v1"

UNPROVEN = (
    "Data brought in from outside the center: files in the job's image, work directory or "
    "command line that were not read through the exchange are not metered and not named here.",
    "The training code: the command is recorded, not what the programs it ran did.",
    "That these files were produced by the training: they are what the job left in its "
    "declared outputs when it ended.",
    "The programme's cost beyond the final run: the planner's assumptions "
    "(experiments, failed runs), not measured use.",
)
"""What a card cannot prove, stated on every card."""


class CardError(InputError):
    """A card or envelope that cannot be read (not a failed check: see :class:`CardCheck`)."""


@dataclass(frozen=True, slots=True)
class ModelFile:
    """One file of a model version, by its path relative to the declared output's root."""

    path: str
    sha256: str
    size: int


@dataclass(frozen=True, slots=True)
class ModelVersion:
    """A registered model version: ``version`` counts from 1 per organisation and name."""

    id: str
    org_id: str
    job_id: str
    name: str
    version: int
    files: tuple[ModelFile, ...]
    envelope: dict[str, Any]
    """The signed card (DSSE envelope)."""
    registered_at: datetime

    @property
    def statement(self) -> dict[str, Any]:
        return statement_of(self.envelope)

    @property
    def lineage(self) -> dict[str, Any]:
        predicate: dict[str, Any] = self.statement["predicate"]
        return predicate

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)


def canonical(value: Any) -> bytes:
    """One spelling of a JSON value (sorted keys, no spaces, UTF-8), the bytes signed."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode("utf-8")


def make_statement(files: tuple[ModelFile, ...], predicate: dict[str, Any]) -> dict[str, Any]:
    """The in-toto Statement: one subject per file (sorted by path) with its sha256."""
    return {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": f.path, "digest": {"sha256": f.sha256}}
                    for f in sorted(files, key=lambda f: f.path)],
        "predicateType": PREDICATE_TYPE,
        "predicate": predicate,
    }


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding: what is signed, binding the type to the body.

        PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body
    """
    kind = payload_type.encode("utf-8")
    return b" ".join([b"DSSEv1", str(len(kind)).encode(), kind, str(len(payload)).encode(),
                      payload])


def sign(statement: dict[str, Any], key: Ed25519PrivateKey, key_id: str) -> dict[str, Any]:
    """The DSSE envelope of ``statement`` signed by ``key`` (whose id is ``key_id``)."""
    payload = canonical(statement)
    signature = key.sign(pae(PAYLOAD_TYPE, payload))
    return {"payloadType": PAYLOAD_TYPE,
            "payload": base64.b64encode(payload).decode("ascii"),
            "signatures": [{"keyid": key_id,
                            "sig": base64.b64encode(signature).decode("ascii")}]}


def _payload(envelope: Mapping[str, Any]) -> bytes:
    try:
        return base64.b64decode(str(envelope["payload"]), validate=True)
    except (KeyError, TypeError, ValueError) as exc:
        raise CardError(f"the card is not a DSSE envelope: no base64 payload ({exc})",
                        field="card") from None


def statement_of(envelope: Mapping[str, Any]) -> dict[str, Any]:
    """The statement an envelope carries (not checked: see :func:`check_card`)."""
    if not isinstance(envelope, Mapping):
        raise CardError("the card is not a JSON object", field="card")
    try:
        statement = json.loads(_payload(envelope))
    except ValueError as exc:
        raise CardError(f"the card's payload is not JSON ({exc})", field="card") from None
    if not isinstance(statement, dict) or statement.get("_type") != STATEMENT_TYPE:
        raise CardError(f"the card's payload is not an in-toto Statement ({STATEMENT_TYPE})",
                        field="card")
    return statement


@dataclass(frozen=True, slots=True)
class CardCheck:
    """The result of checking a card and, when given, the files it names. ``problems`` each
    name what failed: the signature, or a file by its path."""

    problems: tuple[str, ...]
    key_id: str | None
    files_checked: int
    """The files the card names, each looked for (0 when only the signature was checked)."""

    @property
    def ok(self) -> bool:
        return not self.problems


def check_signature(envelope: Mapping[str, Any], public_keys: Mapping[str, bytes]
                    ) -> tuple[str | None, list[str]]:
    """(the id of the key whose signature holds, problems): the envelope must carry a valid
    Ed25519 signature by one of ``public_keys`` (key id -> raw 32 bytes) over PAE of its
    payload."""
    payload = _payload(envelope)
    if envelope.get("payloadType") != PAYLOAD_TYPE:
        return None, [f"card: payloadType is {envelope.get('payloadType')!r}, "
                      f"not {PAYLOAD_TYPE}"]
    signatures = envelope.get("signatures")
    if not isinstance(signatures, list) or not signatures:
        return None, ["card: not signed"]
    message = pae(PAYLOAD_TYPE, payload)
    unknown = []
    for entry in signatures:
        kid = str(entry.get("keyid", "")) if isinstance(entry, Mapping) else ""
        raw = public_keys.get(kid)
        if raw is None:
            unknown.append(kid)
            continue
        try:
            Ed25519PublicKey.from_public_bytes(raw).verify(
                base64.b64decode(str(entry.get("sig", "")), validate=True), message)
        except (InvalidSignature, ValueError):
            return None, [f"card: the signature by key {kid} does not match the card "
                          "(the card was changed after the center signed it)"]
        return kid, []
    return None, [f"card: signed by key {', '.join(unknown) or '(none)'}, not one of the "
                  f"center's keys ({', '.join(sorted(public_keys)) or 'none known'})"]


def check_files(statement: Mapping[str, Any], found: Mapping[str, str]) -> list[str]:
    """Problems between the card's subjects and ``found`` (path -> sha256 of the files on
    disk): each changed, missing or extra file named."""
    expected: dict[str, str] = {}
    for subject in statement.get("subject", []):
        expected[str(subject.get("name"))] = str(subject.get("digest", {}).get("sha256"))
    problems = []
    for path, digest in sorted(expected.items()):
        if path not in found:
            problems.append(f"file {path}: missing")
        elif found[path] != digest:
            problems.append(f"file {path}: changed (sha256 {found[path]}, the card says "
                            f"{digest})")
    # Extra files count only inside the folders the card names: a file slipped into the
    # model's directory, not an unrelated file beside it.
    folders = {p.split("/", 1)[0] for p in expected if "/" in p}
    extra = [p for p in set(found) - set(expected) if "/" in p and p.split("/", 1)[0] in folders]
    problems += [f"file {path}: not in the card" for path in sorted(extra)]
    return problems


def check_card(envelope: Mapping[str, Any], public_keys: Mapping[str, bytes],
               found: Mapping[str, str] | None = None) -> CardCheck:
    """Check the card's signature against the center's public keys and, with ``found``
    (path -> sha256 of the files on disk), the files against its subjects."""
    kid, problems = check_signature(envelope, public_keys)
    checked = 0
    if found is not None:
        statement = statement_of(envelope)
        problems += check_files(statement, found)
        checked = len(statement.get("subject", []))
    return CardCheck(tuple(problems), kid, checked)


# -- the Hugging Face model card -------------------------------------------------------------
def _hub_licence(datasets: list[dict[str, Any]]) -> dict[str, Any]:
    """The Hub's ``license`` field: the exchange's licences are not SPDX ids, so ``other``
    with a name (the Hub asks for ``license_name`` and ``license_link`` with ``other``)."""
    names = sorted({d["licence"].get("model_release", "") for d in datasets} - {""})
    if not datasets:
        return {"license": "other", "license_name": "aicenter-unlicensed-output",
                "license_link": "LICENSE"}
    return {"license": "other",
            "license_name": "aicenter-exchange-" + "-".join(names or ["terms"]),
            "license_link": "LICENSE"}


def front_matter(statement: Mapping[str, Any]) -> dict[str, Any]:
    """The model card's YAML metadata, in the fields the Hub's model cards accept."""
    lineage = statement["predicate"]
    datasets = lineage.get("datasets", [])
    languages = sorted({lang for d in datasets for lang in d.get("languages", [])})
    meta: dict[str, Any] = {
        **_hub_licence(datasets),
        "datasets": [d["name"] for d in datasets],
        "tags": ["aicenter", "provenance", "in-toto",
                 *sorted({f"chip:{c}" for c in lineage["compute"]["chips"]}),
                 *sorted({f"country:{c}" for c in lineage["compute"]["countries"]})],
        "library_name": "aicenter",
        "model_name": lineage["model"]["name"],
    }
    if languages:
        meta["language"] = languages
    return meta


def _rows(header: list[str], rows: list[list[Any]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(v).replace("|", "\\|") for v in row) + " |" for row in rows]
    return out


def render_card(envelope: Mapping[str, Any]) -> str:
    """The Hugging Face model card (README.md) of a signed card: YAML front matter, then the
    lineage in prose and tables, then the signature's key id and the statement's digest."""
    statement = statement_of(envelope)
    lineage = statement["predicate"]
    model, job, compute = lineage["model"], lineage["job"], lineage["compute"]
    meta = yaml.safe_dump(front_matter(statement), sort_keys=False, allow_unicode=True)
    lines = ["---", meta.rstrip("\n"), "---", "",
             f"# {model['name']} (version {model['version']})", "",
             f"Registered by the center on {model['registered_at']} from job `{job['id']}` "
             f"({job['name']}, purpose {job['purpose']}) of organisation "
             f"{model['org_name']} (`{model['org_id']}`).", "",
             "## Training data (read through the center's exchange)", ""]
    datasets = lineage.get("datasets", [])
    if datasets:
        lines += _rows(
            ["dataset", "version", "provider", "agreement", "purpose", "model release",
             "territory", "licence", "PII", "records read"],
            [[d["name"], d["version"], d["provider"], d["agreement_id"], d["purpose"],
              d["licence"].get("model_release", ""), ",".join(d["licence"].get("territory", [])),
              d["licence_text"] or "-", d["pii"]["status"], d["read"]["records"]]
             for d in datasets])
    else:
        lines.append("None: the job read no dataset through the exchange.")
    runs = compute.get("runs", [])
    lines += ["", "## Compute", ""]
    lines += _rows(["attempt", "pool", "chip", "chips", "site", "country"],
                   [[r.get("attempt"), r.get("pool"), r.get("chip"), r.get("chips"),
                     r.get("site"), r.get("country")] for r in runs])
    final, total = compute["final_run"], compute["all_runs"]
    lines += ["", f"Final run: {final['h100e_hours']} H100-equivalent hours, "
              f"{final['chip_hours']} chip-hours, {final['cost_krw']} KRW at the call's market "
              f"price. All attempts: {total['h100e_hours']} H100e-hours, "
              f"{total['cost_krw']} KRW."]
    programme = lineage.get("programme")
    if programme:
        lines += ["", "## The programme's cost beside the final run (planner)", ""]
        lines += _rows(["item", "KRW", "note"],
                       [[i["item"], i["krw"], i["note"]] for i in programme["items"]])
        lines += ["", f"Programme total: {programme['total_krw']} KRW "
                  f"({programme['total_over_final']}× the final run)."]
    release = lineage.get("output_release")
    if release:
        lines += ["", f"Output check: {release['verdict']} ({release['reason']})."]
    lines += ["", "## What this card cannot prove", ""]
    lines += [f"- {item}" for item in lineage.get("unproven", [])]
    lines += ["", "## Files", ""]
    lines += _rows(["file", "sha256"], [[s["name"], s["digest"]["sha256"]]
                                        for s in statement["subject"]])
    kids = ", ".join(str(s.get("keyid")) for s in envelope.get("signatures", []))
    lines += ["", "## Signature", "",
              f"An in-toto Statement ({PREDICATE_TYPE}) in a DSSE envelope signed with the "
              f"center's Ed25519 key {kids}; check it with "
              f"`aicenter model verify DIR --card card.json`.", ""]
    return "\n".join(lines)
