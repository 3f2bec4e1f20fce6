"""``aicenter audit``: the center's tamper-evident log — verify it (whole, one entry's
inclusion, or two checkpoints' consistency), list and export entries, sign checkpoints and
rotate the signing key.

Proofs are checked here, by the client, with the public keys the center has filed: the server
hands over hashes and signatures, never a verdict the CLI has to believe. ``verify`` exits 1
when the log is tampered with, naming the first bad entry.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

import typer

from aicenter.cli.client_factory import client, row
from aicenter.cli.output import OutputFormat, TableFormat, Wide, print_record, print_rows, say
from aicenter.client.models import AuditEntryOut, CheckpointOut
from aicenter.domain.errors import AicenterError, InputError
from aicenter.ledger.audit import (
    Checkpoint,
    leaf_hash,
    signature_valid,
    verify_consistency,
    verify_inclusion,
)

app = typer.Typer(help="The tamper-evident audit log: verify, show, export, checkpoints.",
                  no_args_is_help=True)

Fmt = Annotated[TableFormat, typer.Option("--format", help="table or json")]
COLUMNS = ["seq", "time", "actor_kind", "actor_id", "action", "object_type", "object_id",
           "org_id", "decision", "policy_id", "payload"]
ESSENTIAL = ["seq", "time", "action", "object_id"]
PAGE = 1000


class TamperedError(AicenterError):
    """Verification found the log, a proof or a checkpoint not as the center signed it."""


Org = Annotated[str | None, typer.Option("--org", help="Only entries of this organisation")]
Obj = Annotated[str | None, typer.Option(
    "--object", help="Only entries about this object: TYPE or TYPE:ID (e.g. job:job_3f9c…)")]
Action = Annotated[str | None, typer.Option("--action", help="e.g. job.submitted")]
Since = Annotated[str | None, typer.Option("--since", help="From this time (ISO 8601, zone)")]
Until = Annotated[str | None, typer.Option("--until", help="Before this time (ISO 8601, zone)")]


def _object(spec: str | None) -> tuple[str | None, str | None]:
    if spec is None:
        return None, None
    kind, _, ident = spec.partition(":")
    if not kind:
        raise InputError("give TYPE or TYPE:ID", field="--object")
    return kind, ident or None


def _rows(entries: list[AuditEntryOut]) -> list[dict[str, Any]]:
    return [row(e) for e in entries]


def _entries(org: str | None, obj: str | None, action: str | None, since: str | None,
             until: str | None, limit: int | None) -> list[AuditEntryOut]:
    """Every matching entry (paged through), or the first ``limit``."""
    object_type, object_id = _object(obj)
    out: list[AuditEntryOut] = []
    with client() as c:
        after = 0
        while limit is None or len(out) < limit:
            page = PAGE if limit is None else min(PAGE, limit - len(out))
            got = c.list_audit(org=org, object_type=object_type, object_id=object_id,
                               action=action, since=since, until=until, after=after,
                               limit=page)
            out.extend(got)
            if len(got) < page:
                break
            after = got[-1].seq
    return out


@app.command("show")
def show(org: Org = None, obj: Obj = None, action: Action = None, since: Since = None,
         until: Until = None,
         limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many")] = 100,
         fmt: Annotated[OutputFormat, typer.Option("--format", help="table, json or csv")
                        ] = OutputFormat.TABLE,
         wide: Wide = False) -> None:
    """Entries of the log (operators, auditors), oldest first."""
    rows = _rows(_entries(org, obj, action, since, until, limit))
    print_rows(rows, fmt, COLUMNS, wide=wide, essential=ESSENTIAL)


@app.command("export")
def export(org: Org = None, obj: Obj = None, action: Action = None, since: Since = None,
           until: Until = None,
           fmt: Annotated[OutputFormat, typer.Option("--format", help="json or csv")
                          ] = OutputFormat.JSON) -> None:
    """Every matching entry, for an auditor's own tools (JSON by default, or CSV)."""
    rows = _rows(_entries(org, obj, action, since, until, None))
    if fmt is OutputFormat.CSV:
        rows = [{**r, "payload": json.dumps(r["payload"], ensure_ascii=False,
                                            sort_keys=True)} for r in rows]
    print_rows(rows, fmt, [*COLUMNS, "prev_hash"])


def _keys(c: Any) -> dict[str, bytes]:
    return {k.key_id: bytes.fromhex(k.public_key) for k in c.audit_keys()}


def _signed(cp: CheckpointOut | None, keys: dict[str, bytes], what: str) -> bytes:
    """The root a checkpoint signed, after checking its signature here; refused if absent."""
    if cp is None:
        raise TamperedError(f"no signed checkpoint of {what}: sign one with 'aicenter audit "
                            "checkpoint' or give a checkpoint's size")
    checkpoint = Checkpoint(cp.size, bytes.fromhex(cp.root), datetime.fromisoformat(cp.time),
                            cp.key_id, bytes.fromhex(cp.signature))
    if not signature_valid(checkpoint, keys):
        raise TamperedError(f"the checkpoint of size {cp.size} is not signed by a key of the "
                            f"center (key {cp.key_id})")
    return checkpoint.root


@app.command("verify")
def verify(
    inclusion: Annotated[int | None, typer.Option(
        "--inclusion", metavar="SEQ", help="Check that entry SEQ is in a signed checkpoint")
    ] = None,
    size: Annotated[int | None, typer.Option(
        "--size", help="The checkpoint for --inclusion (default: the latest)")] = None,
    consistency: Annotated[tuple[int, int] | None, typer.Option(
        "--consistency", metavar="A B", help="Check that checkpoint A is a prefix of B")
    ] = None,
    fmt: Fmt = TableFormat.TABLE,
) -> None:
    """Verify the whole log (default), one entry's inclusion proof or the consistency of two
    checkpoints; exit 1 naming the first bad entry when something was tampered with."""
    if inclusion is not None and consistency is not None:
        raise InputError("give --inclusion or --consistency, not both")
    with client() as c:
        if inclusion is not None:
            p = c.audit_inclusion(inclusion, size)
            root = _signed(p.checkpoint, _keys(c), f"size {p.size}")
            leaf = leaf_hash(p.body.encode("utf-8"))  # the entry itself, hashed here
            ok = verify_inclusion(p.seq - 1, p.size, leaf, [bytes.fromhex(h) for h in p.path],
                                  root)
            result = {"check": "inclusion", "seq": p.seq, "size": p.size, "root": root.hex(),
                      "leaf_hash": leaf.hex(), "path_length": len(p.path), "ok": ok,
                      "entry": p.body}
            _report(result, fmt, ok, f"entry {p.seq} is not in the signed tree of "
                    f"{p.size} entries: entry {p.seq} or the log before it was changed")
            return
        if consistency is not None:
            a, b = consistency
            p2 = c.audit_consistency(a, b)
            keys = _keys(c)
            first = _signed(p2.first_checkpoint, keys, f"size {a}") if a else bytes.fromhex(
                p2.first_root)
            second = _signed(p2.second_checkpoint, keys, f"size {b}")
            ok = verify_consistency(a, b, first, second, [bytes.fromhex(h) for h in p2.path])
            result = {"check": "consistency", "first": a, "second": b,
                      "first_root": first.hex(), "second_root": second.hex(),
                      "path_length": len(p2.path), "ok": ok}
            _report(result, fmt, ok, f"the checkpoint of {b} entries does not extend the one "
                    f"of {a}: an entry in 1..{a} was changed after it was signed")
            return
        v = c.verify_audit()
    result = {"check": "log", "ok": v.ok, "entries": v.entries, "checkpoints": v.checkpoints,
              "root": v.root}
    if v.first is not None:
        result["first_bad_entry"] = v.first.seq
        result["problem"] = v.first.problem
        result["detail"] = v.first.detail
        result["findings"] = len(v.findings)
    first_bad = (f"entry {v.first.seq}: {v.first.problem}: {v.first.detail}"
                 if v.first is not None and v.first.seq is not None
                 else f"{v.first.problem}: {v.first.detail}" if v.first is not None else "")
    _report(result, fmt, v.ok, f"the audit log was tampered with: {first_bad}")


def _report(result: dict[str, Any], fmt: TableFormat, ok: bool, failure: str) -> None:
    print_record(result, fmt)
    if not ok:
        raise TamperedError(failure)


@app.command("checkpoint")
def checkpoint(fmt: Fmt = TableFormat.TABLE) -> None:
    """Sign a checkpoint of every entry so far (operators)."""
    with client() as c:
        cp = c.audit_checkpoint()
    if cp is None:
        say("nothing appended since the last checkpoint")
        return
    print_record(row(cp), fmt)


@app.command("checkpoints")
def checkpoints(fmt: Fmt = TableFormat.TABLE, wide: Wide = False) -> None:
    """Every signed checkpoint."""
    with client() as c:
        rows = [row(x) for x in c.audit_checkpoints()]
    print_rows(rows, fmt, ["size", "time", "key_id", "root", "signature"], wide=wide,
               essential=["size", "time", "key_id"])


@app.command("keys")
def keys(fmt: Fmt = TableFormat.TABLE) -> None:
    """The public keys that sign checkpoints (old ones too): pin them to check away from the
    center."""
    with client() as c:
        rows = [row(k) for k in c.audit_keys()]
    print_rows(rows, fmt, ["key_id", "current", "public_key"], wide=True)


@app.command("rotate-key")
def rotate_key(fmt: Fmt = TableFormat.TABLE) -> None:
    """A new signing key (operators); checkpoints signed before keep verifying."""
    with client() as c:
        print_record(row(c.rotate_audit_key()), fmt)
