"""``aicenter model``: model versions the center registered from jobs' declared outputs, their
signed provenance cards, and verification.

``verify MODEL_ID`` asks the center to check its registry's copy. ``verify DIR --card
card.json`` checks a copy on this machine: the files are hashed here and the signature is
checked here against the center's public keys (fetched from the center, or ``--keys`` from a
file saved with ``aicenter model keys --format json``), so the verdict is not the server's
word. Exit 1 naming each changed, missing or extra file, or the card's bad signature."""

from __future__ import annotations

import hashlib
import json
import os
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from aicenter.cli.client_factory import client, row
from aicenter.cli.output import TableFormat, Wide, print_json, print_rows, say
from aicenter.domain.errors import InputError
from aicenter.domain.model import CardError, check_card, statement_of

app = typer.Typer(help="Model versions from jobs' outputs and their signed provenance cards.",
                  no_args_is_help=True)

Fmt = Annotated[TableFormat, typer.Option("--format", help="table or json")]
COLUMNS = ["id", "name", "version", "org_id", "job_id", "files", "size", "registered_at"]


class CardFormat(StrEnum):
    MARKDOWN = "md"
    JSON = "json"


def _summary(m: Any) -> dict[str, Any]:
    out = row(m)
    out["files"] = len(m.files)
    out.pop("lineage", None)
    return out


@app.command("list")
def list_models(
    org_id: Annotated[str | None, typer.Option("--org", help="organisation id "
                                               "(operators, auditors)")] = None,
    name: Annotated[str | None, typer.Option("--name", help="only this model's versions")
                    ] = None,
    fmt: Fmt = TableFormat.TABLE, wide: Wide = False,
) -> None:
    """Model versions of your organisation (any, for operators and auditors)."""
    with client() as c:
        print_rows([_summary(m) for m in c.list_models(org_id, name)], fmt, COLUMNS,
                   wide=wide, essential=["id", "name", "version"])


@app.command("show")
def show(model_id: Annotated[str, typer.Argument(help="mdl_...")],
         fmt: Fmt = TableFormat.TABLE) -> None:
    """One version: its files with sha256 and the lineage its card proves."""
    with client() as c:
        m = c.get_model(model_id)
    if fmt is TableFormat.JSON:
        print_json(row(m))
        return
    lineage = m.lineage
    compute = lineage["compute"]
    say(f"{m.name} version {m.version} ({m.id}) from job {m.job_id}, {m.size} bytes")
    for d in lineage["datasets"]:
        say(f"dataset {d['name']} version {d['version']} under agreement {d['agreement_id']} "
            f"({d['licence'].get('model_release', '?')}), PII: {d['pii']['status']}")
    say(f"chips {', '.join(compute['chips'])}; pools {', '.join(compute['pools'])}; "
        f"countries {', '.join(compute['countries'])}")
    say(f"final run {compute['final_run']['h100e_hours']} h100e-h, "
        f"{compute['final_run']['cost_krw']} KRW; programme "
        f"{lineage['programme']['total_krw']} KRW")
    print_rows([{"path": f.path, "sha256": f.sha256, "size": f.size} for f in m.files],
               TableFormat.TABLE, ["path", "sha256", "size"])


@app.command("card")
def card(
    model_id: Annotated[str, typer.Argument(help="mdl_...")],
    fmt: Annotated[CardFormat, typer.Option(
        "--format", help="md: the Hugging Face model card; json: the signed card")
    ] = CardFormat.MARKDOWN,
    out: Annotated[Path | None, typer.Option(
        "--out", help="write README.md and card.json into this directory")] = None,
) -> None:
    """The provenance card: Hugging Face model-card markdown, or the signed JSON (a DSSE
    envelope carrying an in-toto Statement)."""
    with client() as c:
        got = c.model_card(model_id)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "README.md").write_text(got.markdown, encoding="utf-8")
        (out / "card.json").write_text(json.dumps(got.envelope, indent=2) + "\n",
                                       encoding="utf-8")
        say(f"wrote {out / 'README.md'} and {out / 'card.json'}")
        return
    if fmt is CardFormat.JSON:
        print_json(got.envelope)
    else:
        typer.echo(got.markdown)


@app.command("keys")
def keys(fmt: Fmt = TableFormat.TABLE) -> None:
    """The center's public keys that sign cards (save them to verify away from the
    center: --format json)."""
    with client() as c:
        found = c.model_signing_keys()
    if fmt is TableFormat.JSON:
        print_json({k: raw.hex() for k, raw in found.items()})
        return
    print_rows([{"key_id": k, "public_key": raw.hex()} for k, raw in found.items()],
               fmt, ["key_id", "public_key"])


def _hash_tree(root: Path) -> dict[str, str]:
    found: dict[str, str] = {}
    for parent, _dirs, names in os.walk(root):
        for name in names:
            path = Path(parent) / name
            digest = hashlib.sha256()
            with open(path, "rb") as f:
                while chunk := f.read(4 * 2**20):
                    digest.update(chunk)
            found[path.relative_to(root).as_posix()] = digest.hexdigest()
    return found


def _as_named(found: dict[str, str], root: Path, expected: set[str]) -> dict[str, str]:
    """Names as the card spells them: relative to the job's work dir (``model/x``). A DIR
    that is the declared output itself (``./model``) gets its name put in front."""
    if set(found) & expected or not found:
        return found
    prefixed = {f"{root.name}/{k}": v for k, v in found.items()}
    return prefixed if set(prefixed) & expected else found


def _load_card(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: not a readable JSON card ({exc})", field="card") from None
    if not isinstance(value, dict):
        raise CardError(f"{path}: not a JSON object", field="card")
    return value


@app.command("verify")
def verify(
    target: Annotated[str, typer.Argument(
        help="a model id (the center checks its copy), or with --card a directory here")],
    card_file: Annotated[Path | None, typer.Option(
        "--card", help="the signed card (card.json) to check DIR against")] = None,
    keys_file: Annotated[Path | None, typer.Option(
        "--keys", help="public keys saved by 'aicenter model keys --format json' "
        "(default: ask the center)")] = None,
    fmt: Fmt = TableFormat.TABLE,
) -> None:
    """Check a version's files against its card and the card's signature against the
    center's public keys; exit 1 naming each changed, missing or extra file or a bad
    signature."""
    if card_file is None:
        with client() as c:
            res = c.verify_model(target)
        result: dict[str, Any] = {"model_id": res.model_id, "ok": res.ok, "key_id": res.key_id,
                  "files_checked": res.files_checked, "problems": res.problems}
    else:
        root = Path(target)
        if not root.is_dir():
            raise InputError(f"{root} is not a directory", field="DIR")
        envelope = _load_card(card_file)
        if keys_file is not None:
            raw = json.loads(keys_file.read_text(encoding="utf-8"))
            public = {str(k): bytes.fromhex(str(v)) for k, v in raw.items()}
        else:
            with client() as c:
                public = c.model_signing_keys()
        expected = {str(s.get("name")) for s in statement_of(envelope).get("subject", [])}
        check = check_card(envelope, public, _as_named(_hash_tree(root), root, expected))
        result = {"dir": str(root), "ok": check.ok, "key_id": check.key_id,
                  "files_checked": check.files_checked, "problems": list(check.problems)}
    if fmt is TableFormat.JSON:
        print_json(result)
    elif result["ok"]:
        say(f"ok: {result['files_checked']} files match the card, signed by the center's "
            f"key {result['key_id']}")
    else:
        for problem in result["problems"]:
            say(f"FAILED {problem}")
    if not result["ok"]:
        raise typer.Exit(1)

