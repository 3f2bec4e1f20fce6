"""Dataset metadata as Croissant 1.0 JSON-LD (MLCommons): export, import, validation.

Export describes a stored dataset version: one ``cr:FileObject`` per Parquet part (content URL
relative to the JSON-LD file, ``sha256``, size), and one ``cr:RecordSet`` whose fields (the text
and its provenance columns) are read from the parts. Only metadata is exported; the data stays
in the center.

The document names its publisher (the provider organisation's name, given by the caller; the
provider id only when no name is known) and carries the Croissant RAI 1.0 fields the ingest can
vouch for (:func:`rai_fields`): how the data was collected, what was done to it (TDMRep
reservations, PII per type and the action taken, deduplication), the personal information found,
its use cases and limitations, and how versions are maintained. Masked PII samples are never
exported (they are fragments of the records).

Validation is two checks:

1. ``mlcroissant`` (the reference implementation, the ``croissant`` extra) loads the document
   and reports what it finds wrong with it (offline: nothing is downloaded for that);
2. our stricter profile: ``name`` and ``license`` present (the JSON-LD key keeps schema.org's
   spelling; everywhere else the noun is "licence"), every file object has a ``sha256``, and
   the file at its content URL exists and hashes to it. A wrong hash is an error naming the
   file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aicenter.domain.errors import InputError
from aicenter.exchange.store import DatasetStore, Manifest, PartRef, sha256_file
from aicenter.extras import require

CONFORMS_TO = "http://mlcommons.org/croissant/1.0"
PARQUET = "application/x-parquet"
FEATURE = "checking a Croissant document with mlcroissant"

CONTEXT: dict[str, Any] = {
    "@language": "en",
    "@vocab": "https://schema.org/",
    "citeAs": "cr:citeAs",
    "column": "cr:column",
    "conformsTo": "dct:conformsTo",
    "cr": "http://mlcommons.org/croissant/",
    "rai": "http://mlcommons.org/croissant/RAI/",
    "samplingRate": "cr:samplingRate",
    "equivalentProperty": "cr:equivalentProperty",
    "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "dct": "http://purl.org/dc/terms/",
    "examples": {"@id": "cr:examples", "@type": "@json"},
    "extract": "cr:extract",
    "field": "cr:field",
    "fileProperty": "cr:fileProperty",
    "fileObject": "cr:fileObject",
    "fileSet": "cr:fileSet",
    "format": "cr:format",
    "includes": "cr:includes",
    "isLiveDataset": "cr:isLiveDataset",
    "jsonPath": "cr:jsonPath",
    "key": "cr:key",
    "md5": "cr:md5",
    "parentField": "cr:parentField",
    "path": "cr:path",
    "recordSet": "cr:recordSet",
    "references": "cr:references",
    "regex": "cr:regex",
    "repeated": "cr:repeated",
    "replace": "cr:replace",
    "sc": "https://schema.org/",
    "separator": "cr:separator",
    "source": "cr:source",
    "subField": "cr:subField",
    "transform": "cr:transform",
}
"""The JSON-LD context of Croissant 1.0 documents."""

FIELDS: tuple[tuple[str, str, str], ...] = (
    ("text", "sc:Text", "The record's text, PII handled at ingest."),
    ("source", "sc:Text", "Source id or URL of the record."),
    ("publisher", "sc:Text", "Publisher or author."),
    ("date", "sc:Text", "Publication date as given by the provider."),
    ("consent", "sc:Text", "Consent status of the people in the record."),
    (
        "tdm_reserved",
        "sc:Boolean",
        "The owner reserved text-and-data mining (TDMRep); "
        "stored only under a licence that covers it.",
    ),
)


def _count(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def rai_fields(
    manifest: Manifest,
    *,
    publisher: str,
    pii_actions: Mapping[str, str] | None = None,
    tdm_covered: Iterable[str] = (),
    purposes: Iterable[str] = (),
) -> dict[str, str]:
    """The Croissant RAI 1.0 properties of a dataset version, from what the ingest measured
    (the manifest's counts and PII report) and what the caller knows: the PII action applied
    to each type, the TDMRep policies the provider's licence covers, the purposes offered."""
    counts = {k: _count(v) for k, v in manifest.counts.items()}
    report = manifest.pii_report
    found = {str(k): _count(v) for k, v in dict(report.get("counts") or {}).items() if v}
    actions = dict(pii_actions or {})
    read = counts.get("records_read", manifest.records)
    covered = sorted(set(tdm_covered))
    steps = [
        f"TDMRep: {counts.get('tdm_excluded', 0)} records whose rights holder reserved text "
        "and data mining were excluded; "
        f"{counts.get('tdm_reserved_kept', 0)} reserved records were kept under a licence "
        f"covering {', '.join(covered) if covered else 'no publisher or policy'}.",
        "PII: detected per type and handled at ingest ("
        + (", ".join(f"{t}: {actions.get(t, 'default action')}" for t in sorted(found))
           or "nothing detected") + f"); {counts.get('dropped_for_pii', 0)} records dropped.",
        f"Deduplication: {counts.get('duplicates', 0)} exact or near duplicates removed, "
        f"{counts.get('duplicates_across_providers', 0)} of them shared with other providers' "
        f"data and {counts.get('duplicates_of_other_datasets', 0)} with other datasets.",
    ]
    if found:
        sensitive = (
            f"The center's detectors found personal information in "
            f"{_count(report.get('records_with_pii'))} of {_count(report.get('records'))} "
            "records: " + ", ".join(f"{t} {n} ({actions.get(t, 'default action')})"
                                    for t, n in sorted(found.items()))
            + ". Records keep what the action left; masked samples are shown only to the "
            "provider, the operators and licensees.")
    else:
        sensitive = ("The center's detectors found no personal information "
                     f"in {_count(report.get('records'))} records.")
    offered = sorted(set(purposes))
    return {
        "rai:dataCollection": (
            f"Provided by {publisher}, the rights holder, as the file "
            f"'{manifest.source_file or 'upload'}' ({read} records read, {manifest.records} "
            "kept) and ingested by the center into its store; the records never leave it."),
        "rai:dataCollectionRawData": manifest.source_file or "upload",
        "rai:dataPreprocessingProtocol": " ".join(steps),
        "rai:personalSensitiveInformation": sensitive,
        "rai:dataUseCases": (
            "Licensed for AI training inside the center, read only by jobs whose organisation "
            "holds an agreement, for the agreement's purpose"
            + (f" (offered: {', '.join(offered)})" if offered else
               " (pre-training, fine-tuning, evaluation or retrieval, as each offer states)")
            + "."),
        "rai:dataLimitations": (
            "PII detection is rule- and dictionary-based and can miss or over-match; "
            f"{counts.get('tdm_excluded', 0)} TDM-reserved records are missing unless a "
            "licence covers them, and deduplication removed repeated text, so counts differ "
            "from the source."),
        "rai:dataReleaseMaintenancePlan": (
            "Each upload by the provider makes a new content-addressed version (the "
            "identifier); earlier versions stay readable under the agreements that name "
            "them."),
    }


def export_croissant(
    store: DatasetStore,
    manifest: Manifest,
    out: Path,
    *,
    published: str | None = None,
    url: str = "",
    publisher: str | None = None,
    pii_actions: Mapping[str, str] | None = None,
    tdm_covered: Iterable[str] = (),
    purposes: Iterable[str] = (),
) -> dict[str, Any]:
    """The Croissant document of a dataset version; content URLs are relative to ``out``'s
    folder (where the document will be written). ``published`` is an ISO date (the core does
    not read the clock: the caller passes it). ``publisher`` is the provider organisation's
    name (its id when not given); the RAI fields come from :func:`rai_fields`."""
    who = publisher or manifest.provider
    base = out.parent.resolve()
    files: list[dict[str, Any]] = []
    for n, part in enumerate(manifest.parts):
        path = store.part_path(part.sha256).resolve()
        files.append(
            {
                "@type": "cr:FileObject",
                "@id": f"part-{n:05d}",
                "name": f"part-{n:05d}",
                "contentUrl": os.path.relpath(path, base),
                "contentSize": f"{part.bytes} B",
                "encodingFormat": PARQUET,
                "sha256": part.sha256,
            }
        )
    record_sets: list[dict[str, Any]] = []
    if files:
        record_sets.append(
            {
                "@type": "cr:RecordSet",
                "@id": "records",
                "name": "records",
                "field": [
                    {
                        "@type": "cr:Field",
                        "@id": f"records/{name}",
                        "name": name,
                        "description": description,
                        "dataType": data_type,
                        "source": {
                            "fileObject": {"@id": files[0]["@id"]},
                            "extract": {"column": name},
                        },
                    }
                    for name, data_type, description in FIELDS
                ],
            }
        )
    return {
        "@context": CONTEXT,
        "@type": "sc:Dataset",
        "conformsTo": CONFORMS_TO,
        "name": manifest.dataset,
        "description": manifest.description or f"{manifest.dataset} from {who}",
        "license": manifest.licence,  # schema.org/Croissant name the property "license"
        "url": url or f"aicenter:dataset/{manifest.dataset}/{manifest.version}",
        "identifier": manifest.version,
        "creator": {"@type": "sc:Organization", "name": who},
        "publisher": {"@type": "sc:Organization", "name": who},
        "distribution": files,
        "recordSet": record_sets,
        **rai_fields(manifest, publisher=who, pii_actions=pii_actions,
                     tdm_covered=tdm_covered, purposes=purposes),
    } | ({"datePublished": published} if published else {})


@dataclass
class CroissantDataset:
    """What our import reads from a Croissant document."""

    name: str
    licence: str
    description: str
    creator: str
    version: str
    files: list[PartRef] = field(default_factory=list)
    content_urls: list[str] = field(default_factory=list)
    fields: list[str] = field(default_factory=list)


def _text(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(_text(v) for v in value)
    if isinstance(value, dict):
        return str(value.get("name") or value.get("@id") or value.get("url") or "")
    return "" if value is None else str(value)


def import_croissant(document: dict[str, Any], file: str | None = None) -> CroissantDataset:
    """Read name, licence, creator, file objects (sha256, size) and field names."""
    if not isinstance(document, dict):
        raise InputError("a Croissant document is a JSON object", file=file)
    files: list[PartRef] = []
    urls: list[str] = []
    for item in document.get("distribution", []) or []:
        if not isinstance(item, dict) or item.get("@type") not in ("cr:FileObject", "FileObject"):
            continue
        size = str(item.get("contentSize", "0")).split()[0]
        files.append(PartRef(str(item.get("sha256", "")), 0, int(size) if size.isdigit() else 0))
        urls.append(str(item.get("contentUrl", "")))
    fields = [
        str(f.get("name", ""))
        for rs in document.get("recordSet", []) or []
        if isinstance(rs, dict)
        for f in rs.get("field", []) or []
        if isinstance(f, dict)
    ]
    return CroissantDataset(
        name=_text(document.get("name")),
        licence=_text(document.get("license")),  # schema.org spelling
        description=_text(document.get("description")),
        creator=_text(document.get("creator")),
        version=_text(document.get("identifier") or document.get("version")),
        files=files,
        content_urls=urls,
        fields=fields,
    )


@dataclass(frozen=True, slots=True)
class Problem:
    """One validation finding: who found it (mlcroissant or profile) and what."""

    checker: str
    message: str


def mlcroissant_problems(path: Path) -> list[Problem]:
    """What ``mlcroissant`` reports about the document (errors only)."""
    require("croissant", FEATURE)
    import mlcroissant as mlc
    from absl import logging as absl_logging

    verbosity = absl_logging.get_verbosity()
    absl_logging.set_verbosity(absl_logging.ERROR)  # its warnings are advice, not errors
    try:
        mlc.Dataset(jsonld=str(path))
    except mlc.ValidationError as exc:
        return _errors_of(str(exc))
    except Exception as exc:  # mlcroissant raises plain exceptions on malformed documents
        return [Problem("mlcroissant", f"{type(exc).__name__}: {exc}")]
    finally:
        absl_logging.set_verbosity(verbosity)
    return []


def _errors_of(message: str) -> list[Problem]:
    """The error lines of an mlcroissant report (its warnings are left out)."""
    problems: list[Problem] = []
    in_errors = True
    for line in message.splitlines():
        if line.startswith("Found the following"):
            in_errors = "error" in line
        elif in_errors and line.strip(" -"):
            problems.append(Problem("mlcroissant", line.strip(" -")))
    return problems


def profile_problems(document: dict[str, Any], base: Path) -> list[Problem]:
    """Our stricter profile: name, licence, and a correct sha256 for every file object."""
    problems: list[Problem] = []
    meta = import_croissant(document)
    if not meta.name.strip():
        problems.append(Problem("profile", "name is required"))
    if not meta.licence.strip():
        problems.append(Problem("profile", "license is required"))  # the JSON-LD key
    if not meta.files:
        problems.append(Problem("profile", "no file objects in distribution"))
    for part, url in zip(meta.files, meta.content_urls, strict=True):
        if not part.sha256:
            problems.append(Problem("profile", f"{url}: sha256 is required"))
            continue
        path = base / url
        if not path.is_file():
            problems.append(Problem("profile", f"{url}: file not found under {base}"))
            continue
        actual = sha256_file(path)
        if actual != part.sha256:
            problems.append(
                Problem(
                    "profile", f"{url}: sha256 mismatch (declared {part.sha256}, file has {actual})"
                )
            )
    return problems


def load_document(path: Path) -> dict[str, Any]:
    """Read a Croissant JSON-LD file (errors name the file and line)."""
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InputError("no such file", file=str(path)) from exc
    except json.JSONDecodeError as exc:
        raise InputError(f"not JSON: {exc.msg}", file=str(path), line=exc.lineno) from exc
    if not isinstance(value, dict):
        raise InputError("a Croissant document is a JSON object", file=str(path))
    return value


def validate(
    path: Path, base: Path | None = None, *, use_mlcroissant: bool = True
) -> list[Problem]:
    """Every problem of the document at ``path``; content URLs resolve against ``base``
    (default: the document's folder). Empty means valid. Without the ``croissant`` extra,
    ``use_mlcroissant`` raises MissingExtraError before anything is read."""
    if use_mlcroissant:
        require("croissant", FEATURE)
    document = load_document(path)
    problems = mlcroissant_problems(path) if use_mlcroissant else []
    return problems + profile_problems(document, base or path.parent)


def write_document(document: dict[str, Any], out: Path) -> None:
    """Write the document (pretty JSON, UTF-8)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
