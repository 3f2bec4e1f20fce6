"""What the ingest of a dataset version found, as the tables its pages show: the records read
and kept, personal data per type (how often found, what was done, masked samples for those
allowed to see them), text-and-data-mining reservations (records excluded, or kept under a
licence that covers them) and duplicates (within the upload, of another provider's data, of
another dataset). Read from the dataset's stored statistics and PII report, as
``GET /datasets/{id}`` returns them; a figure the ingest did not record reads 0."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aicenter.domain.dataset import Dataset
from aicenter.web.page_kit import N_


@dataclass(frozen=True, slots=True)
class PiiRow:
    """One type of personal data: found ``found`` times; ``action`` applied to its records."""

    pii_type: str
    found: int
    action: str
    samples: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Reports:
    """The figures of one dataset version, each as (label to translate, number) rows."""

    version: str
    records: list[tuple[str, int]]
    pii: list[PiiRow]
    records_scanned: int
    records_with_pii: int
    records_dropped_for_pii: int
    samples_withheld: str
    tdm: list[tuple[str, int]]
    dedup: list[tuple[str, int]]


def _count(values: Mapping[str, Any], key: str) -> int:
    value = values.get(key, 0)
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def reports_of(dataset: Dataset) -> Reports:
    """The tables of ``dataset``'s current version (masked samples only when the service left
    them in the report: see :func:`aicenter.services.dataset.get_dataset`)."""
    stats, pii = dataset.stats, dataset.pii_report
    counts: Mapping[str, Any] = pii.get("counts") or {}
    actions: Mapping[str, Any] = pii.get("actions") or {}
    samples: Mapping[str, Any] = pii.get("samples") or {}
    rows = [PiiRow(t, _count(counts, t), str(actions.get(t, "")),
                   tuple(str(s) for s in samples.get(t, ()) or ()))
            for t in sorted(set(counts) | set(actions))]
    rows.sort(key=lambda r: (r.found == 0, r.pii_type))  # what was found first
    return Reports(
        version=dataset.version,
        records=[(N_("Records read from the file"), _count(stats, "count_records_read")),
                 (N_("Records kept in the dataset"), _count(stats, "records")),
                 (N_("Bytes of text kept"), _count(stats, "bytes")),
                 (N_("Estimated tokens kept"), _count(stats, "estimated_tokens"))],
        pii=rows,
        records_scanned=_count(pii, "records"),
        records_with_pii=_count(pii, "records_with_pii"),
        samples_withheld=str(pii.get("samples_withheld", "")),
        tdm=[(N_("Records excluded: their publisher reserved text-and-data mining"),
              _count(stats, "count_tdm_excluded")),
             (N_("Reserved records kept: the licence covers their publisher"),
              _count(stats, "count_tdm_reserved_kept"))],
        dedup=[(N_("Duplicates dropped"), _count(stats, "count_duplicates")),
               (N_("of them, of another provider's data"),
                _count(stats, "count_duplicates_across_providers")),
               (N_("of them, of another dataset"),
                _count(stats, "count_duplicates_of_other_datasets"))],
        records_dropped_for_pii=_count(stats, "count_dropped_for_pii"),
    )
