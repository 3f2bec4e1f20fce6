"""``aicenter dataset upload|uploads|upload-status|list|show|offer|offers|withdraw|price|
licence|agreements|terminate|renew|contract|usage|statement|withheld``: the exchange through
the server's API (this module only talks to the typed client).

Added to the ``dataset`` Typer app of :mod:`aicenter.cli.dataset`, which keeps the offline
commands (scan, ingest, croissant). ``aicenter data``, the group's first name, is a hidden
alias of the same app (:mod:`aicenter.cli.main`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from aicenter.cli.client_factory import client, row, with_org_names
from aicenter.cli.dataset import app
from aicenter.cli.output import (
    TableFormat,
    Wide,
    format_money,
    print_json,
    print_record,
    print_rows,
)
from aicenter.domain.errors import InputError

Fmt = Annotated[TableFormat, typer.Option("--format", help="table or json")]
DATASET_COLUMNS = ["id", "name", "provider", "version", "domestic", "licence", "records",
                   "bytes", "provider_org_id"]
OFFER_COLUMNS = ["id", "dataset_id", "provider", "purposes", "price", "status", "announced",
                 "term_end", "provider_id"]
AGREEMENT_COLUMNS = ["id", "dataset_id", "org", "purpose", "price_basis", "price_krw",
                     "status", "ends_at", "org_id"]
UPLOAD_COLUMNS = ["id", "dataset_id", "status", "version", "message", "created_at"]
READ_COLUMNS = ["job_id", "dataset_id", "org", "agreement_id", "records", "bytes", "tokens",
                "org_id"]


@app.command("upload")
def upload(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="File to upload")],
    name: Annotated[str, typer.Option("--name", help="Dataset name")],
    licence: Annotated[str, typer.Option("--licence", help="Licence of the data")],
    org_id: Annotated[str | None, typer.Option(help="Provider organisation")] = None,
    domestic: Annotated[bool, typer.Option(
        "--domestic/--foreign-ok", help="Readable only by jobs on domestic pools")] = True,
    description: Annotated[str, typer.Option(help="One line about the data")] = "",
    field: Annotated[str, typer.Option(help="Text field of JSONL/CSV/Parquet rows")] = "text",
    pii_action: Annotated[list[str] | None, typer.Option(
        "--pii-action", help="TYPE=drop|redact|pseudonymise (repeatable)")] = None,
    tdm_covered: Annotated[list[str] | None, typer.Option(
        "--tdm-covered", help="A TDMRep policy URL your licence covers: records reserved "
        "under it are kept (repeatable)")] = None,
    wait: Annotated[bool, typer.Option(
        "--wait/--no-wait", help="Wait until the center has ingested the file")] = True,
    fmt: Fmt = TableFormat.TABLE,
) -> None:
    """Upload a file; the center ingests it (PII handling, dedup) into its store in the
    background. Waits for the ingest (a spinner) unless --no-wait; exit 1 if it failed."""
    console = Console(stderr=True)
    with client() as c:
        with console.status(f"uploading {file.name} ({file.stat().st_size:,} bytes)"):
            upload = c.upload_dataset(file, name, licence, org_id=org_id, domestic=domestic,
                                      description=description, field=field,
                                      pii_actions=pii_action, tdm_covered=tdm_covered)
        if wait:
            with console.status(f"the center is ingesting {file.name} (upload {upload.id})"):
                upload = c.wait_for_upload(upload.id)
            if upload.status == "succeeded":
                print_record(row(c.get_dataset(upload.dataset_id)), fmt)
                return
    print_record(row(upload), fmt)
    if upload.status == "failed":
        raise typer.Exit(1)


@app.command("uploads")
def list_uploads(fmt: Fmt = TableFormat.TABLE, wide: Wide = False) -> None:
    """Your organisation's uploads and how their ingest went."""
    with client() as c:
        print_rows([row(u) for u in c.list_uploads()], fmt, UPLOAD_COLUMNS,
                   essential=["id", "status", "message"], wide=wide)


@app.command("upload-status")
def upload_status(upload_id: str, fmt: Fmt = TableFormat.TABLE) -> None:
    """One upload: queued, ingesting, succeeded (the version) or failed (why)."""
    with client() as c:
        print_record(row(c.get_upload(upload_id)), fmt)


@app.command("list")
def list_datasets(
    provider: Annotated[str | None, typer.Option(help="Only this provider organisation")] = None,
    fmt: Fmt = TableFormat.TABLE,
    wide: Wide = False,
) -> None:
    """The catalogue of datasets (metadata only)."""
    with client() as c:
        rows = [row(d) for d in c.list_datasets(provider)]
        if fmt is TableFormat.TABLE:
            with_org_names(c, rows, "provider_org_id", "provider")
    print_rows(rows, fmt, DATASET_COLUMNS, essential=["id", "name", "provider", "version"],
               wide=wide)


@app.command("show")
def show(dataset_id: str, fmt: Fmt = TableFormat.TABLE) -> None:
    """A dataset's metadata, statistics and PII report (never its records)."""
    with client() as c:
        detail = row(c.get_dataset(dataset_id))
    if fmt is TableFormat.JSON:
        print_json(detail)
        return
    pii = detail.pop("pii_report", {})
    croissant = detail.pop("croissant", None)
    detail["pii_counts"] = pii.get("counts", pii)
    detail["croissant"] = croissant  # summarised by print_record: --format json has it
    print_record(detail, fmt)


def _offer_row(terms: dict[str, Any], offer_id: str) -> dict[str, Any]:
    price = terms.get("price", {})
    status = "withdrawn" if terms.get("withdrawn_at") else (
        "private" if terms.get("offered_to") else "open")
    announced = "; ".join(f"{c['price']['amount']} KRW from {c['effective_from']}"
                          for c in terms.get("price_changes") or [])
    return {"id": offer_id, "dataset_id": terms.get("dataset_id"),
            "provider_id": terms.get("provider_id"),
            "purposes": ",".join(terms.get("purposes", [])),
            "price": f"{price.get('amount')} KRW {price.get('basis')}", "status": status,
            "announced": announced, "term_end": terms.get("term_end"), "terms": terms}


def _agreement_row(agreement: Any) -> dict[str, Any]:
    """An agreement's row with its status: active, terminated, ending (one party asked for a
    mutual end) or renewed."""
    out = row(agreement)
    out["status"] = ("terminated" if agreement.terminated_at else
                     "renewed" if agreement.renewed_by else
                     "ending" if agreement.end_requested_by else "active")
    return out


def _readable_price(made: dict[str, Any]) -> dict[str, Any]:
    """The offer row for a table: the price rounded to whole won (json keeps the amount)."""
    price = made["terms"].get("price", {})
    currency = str(price.get("currency") or "KRW")
    amount = format_money(price.get("amount"), currency)
    return {**made, "price": f"{amount} {currency} {price.get('basis')}"}


@app.command("offer")
def offer(
    dataset_id: str,
    purpose: Annotated[list[str], typer.Option(
        "--purpose", help="pre-training, fine-tuning, evaluation, retrieval (repeatable)")],
    term_start: Annotated[str, typer.Option(help="First day (YYYY-MM-DD)")],
    term_end: Annotated[str, typer.Option(help="Last day (YYYY-MM-DD)")],
    price: Annotated[str, typer.Option(help="Amount in KRW")],
    basis: Annotated[str, typer.Option(help="per-gb, per-million-tokens or flat")] = "per-gb",
    territory: Annotated[list[str] | None, typer.Option(help="Country codes (repeatable)")
                         ] = None,
    model_release: Annotated[str, typer.Option(help="internal-only, research-release, "
                                               "commercial-release")] = "internal-only",
    attribution: Annotated[str, typer.Option(help="Attribution text")] = "",
    exclusive: Annotated[bool, typer.Option(help="One licensee at a time")] = False,
    chase_waiver_days: Annotated[int, typer.Option(help="Royalty-free days for chase-team "
                                                   "members")] = 0,
    output_policy: Annotated[str, typer.Option(help="withhold or redact: a job's log or output "
                                               "that reproduces records")] = "withhold",
    offered_to: Annotated[list[str] | None, typer.Option(
        "--offered-to", help="Make a private offer to this organisation (repeatable): only "
        "the organisations named see and accept it")] = None,
    fmt: Fmt = TableFormat.TABLE,
) -> None:
    """Offer a dataset you provide on licence terms (to everyone, or privately)."""
    terms = {"purposes": purpose, "term_start": term_start, "term_end": term_end,
             "territory": territory or ["KR"], "model_release": model_release,
             "price": {"basis": basis, "amount": price}, "attribution": attribution,
             "exclusive": exclusive, "chase_waiver_days": chase_waiver_days,
             "output_policy": output_policy, "offered_to": offered_to or None}
    with client() as c:
        out = c.create_offer(dataset_id, terms)
    _print_offer(out, fmt)


@app.command("offers")
def offers(dataset_id: Annotated[str | None, typer.Option(help="Only this dataset")] = None,
           fmt: Fmt = TableFormat.TABLE, wide: Wide = False) -> None:
    """Offers you may take up."""
    with client() as c:
        rows = [_offer_row(o.terms, o.id) for o in c.list_offers(dataset_id)]
        if fmt is TableFormat.TABLE:
            rows = with_org_names(c, [_readable_price(r) for r in rows], "provider_id",
                                  "provider")
    print_rows(rows, fmt, OFFER_COLUMNS, essential=["id", "dataset_id", "price"], wide=wide)


@app.command("licence")
def licence_offer(
    offer_id: str,
    purpose: Annotated[str, typer.Option(help="What you will use the data for")
                       ] = "pre-training",
    org_id: Annotated[str | None, typer.Option(help="Accepting organisation")] = None,
    fmt: Fmt = TableFormat.TABLE,
) -> None:
    """Accept an offer: your organisation's jobs with this purpose may then read the data."""
    with client() as c:
        print_record(row(c.accept_offer(offer_id, purpose, org_id)), fmt)


# The command was first spelled "license"; kept, hidden, for scripts that still call it.
app.command("license", hidden=True)(licence_offer)


def _print_offer(out: Any, fmt: TableFormat) -> None:
    made = _offer_row(out.terms, out.id)
    if fmt is TableFormat.TABLE:
        made = _readable_price(made)
        made.pop("terms")
    print_record(made, fmt)


@app.command("withdraw")
def withdraw(offer_id: str, fmt: Fmt = TableFormat.TABLE) -> None:
    """Withdraw your offer: no new agreements or renewals; existing ones run to term."""
    with client() as c:
        _print_offer(c.withdraw_offer(offer_id), fmt)


@app.command("price")
def announce_price(
    offer_id: str,
    price: Annotated[str, typer.Option(help="New amount in KRW")],
    effective_from: Annotated[str, typer.Option(
        help="First day it applies (YYYY-MM-DD), at least the center's notice period away")],
    basis: Annotated[str, typer.Option(help="The offer's basis: per-gb, per-million-tokens "
                                       "or flat")] = "per-gb",
    fmt: Fmt = TableFormat.TABLE,
) -> None:
    """Announce a price change: agreements accepted or renewed from EFFECTIVE_FROM pay it;
    existing ones keep their price until renewal. Tenants see it in `aicenter dataset offers`."""
    with client() as c:
        _print_offer(c.announce_price(offer_id, {"basis": basis, "amount": price},
                                      effective_from), fmt)


@app.command("terminate")
def terminate(
    agreement_id: str,
    kind: Annotated[str, typer.Option(help="cause (the provider, with --reason) or mutual "
                                      "(ends once both parties have asked)")] = "mutual",
    reason: Annotated[str, typer.Option(help="Why (required for cause)")] = "",
    fmt: Fmt = TableFormat.TABLE,
) -> None:
    """End an agreement early; jobs are refused its data from then."""
    with client() as c:
        print_record(_agreement_row(c.terminate_agreement(agreement_id, kind, reason)), fmt)


@app.command("renew")
def renew(agreement_id: str, fmt: Fmt = TableFormat.TABLE) -> None:
    """Renew an agreement: a new term from now at the offer's current price."""
    with client() as c:
        print_record(_agreement_row(c.renew_agreement(agreement_id)), fmt)


@app.command("agreements")
def agreements(fmt: Fmt = TableFormat.TABLE, wide: Wide = False) -> None:
    """Agreements your organisation holds or granted."""
    with client() as c:
        rows = [_agreement_row(a) for a in c.list_agreements()]
        if fmt is TableFormat.TABLE:
            with_org_names(c, rows)
    print_rows(rows, fmt, AGREEMENT_COLUMNS, essential=["id", "dataset_id", "org", "price_krw"],
               wide=wide)


@app.command("contract")
def contract(
    agreement_id: str,
    doc_format: Annotated[str, typer.Option("--format", help="markdown or json")] = "markdown",
    out: Annotated[Path | None, typer.Option("--out", help="Write to this file")] = None,
) -> None:
    """An agreement as a contract document (MSIT 2024 standard data-contract types)."""
    if doc_format not in ("markdown", "json"):
        raise InputError(f"'{doc_format}' is not markdown or json", field="--format")
    with client() as c:
        text = c.contract(agreement_id, doc_format)
    if out is not None:
        out.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {out}")
    else:
        typer.echo(text)


@app.command("usage")
def usage(
    org_id: Annotated[str | None, typer.Option(help="Only this reading organisation")] = None,
    dataset_id: Annotated[str | None, typer.Option("--dataset", help="Only this dataset")
                          ] = None,
    fmt: Fmt = TableFormat.TABLE,
    wide: Wide = False,
) -> None:
    """Metered reads per job and dataset (records, bytes, tokens)."""
    with client() as c:
        rows = [row(r) for r in c.dataset_reads(org_id=org_id, dataset_id=dataset_id)]
        if fmt is TableFormat.TABLE:
            with_org_names(c, rows)
    print_rows(rows, fmt, READ_COLUMNS, essential=["job_id", "dataset_id", "records"],
               wide=wide)


@app.command("statement")
def statement(
    month: Annotated[str, typer.Argument(help="YYYY-MM")],
    org_id: Annotated[str | None, typer.Option(help="Provider organisation (default: yours)")
                      ] = None,
    fmt: Fmt = TableFormat.TABLE,
) -> None:
    """A provider's monthly royalty statement (ledger, checked against the audit log)."""
    with client() as c:
        org = org_id or c.whoami().person.org_id
        out = c.royalty_statement(org, month)
        if fmt is TableFormat.JSON:
            print_json(row(out))
            return
        lines = with_org_names(c, [dict(x) for x in out.ledger.get("lines", [])])
    print_rows(lines, fmt, ["agreement_id", "dataset_id", "org", "records", "bytes",
                            "tokens", "gross_krw", "fee_krw", "net_krw", "org_id"],
               essential=["agreement_id", "org", "gross_krw", "net_krw"])
    typer.echo(f"total net {format_money(out.ledger.get('total_net_krw'), 'KRW')} KRW; audit "
               f"log {'agrees' if out.matches else 'DISAGREES'}")


@app.command("withheld")
def withheld(
    job_id: Annotated[str | None, typer.Argument(help="Show this job's withheld output")] = None,
    fmt: Fmt = TableFormat.TABLE,
) -> None:
    """Output withheld from jobs that read your datasets (it reproduces records), to review."""
    with client() as c:
        if job_id is None:
            print_rows([row(w) for w in c.list_withheld()], fmt,
                       ["job_id", "datasets", "reason", "decided_at"])
            return
        out = c.withheld(job_id)
    if fmt is TableFormat.JSON:
        print_json(row(out))
        return
    typer.echo(out.reason)
    for name, text in (out.files or {}).items():
        typer.echo(f"--- {name}")
        typer.echo(text)
