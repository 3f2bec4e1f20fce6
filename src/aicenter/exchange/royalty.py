"""Royalties: metered use × price → balanced ledger transactions, and the monthly royalty
statement of a provider, from the ledger or rebuilt from the audit log alone.

Billing rule (exact, Decimal):

* a **charge line** is one (agreement, job, calendar month in UTC) — the meter events of that
  job under that agreement in that month;
* its metered quantity, by the offer's price basis (a :class:`RoyaltyScheme`):
  per GB: ``q = Σ bytes / 10⁹``; per million tokens: ``q = Σ tokens / 10⁶``; flat: ``q = 0``
  (flat fees are charged once, below). Events read while the chase-team waiver runs are
  metered and booked as quantities but priced 0;
* ``gross = round_half_even(price × q_charged, 1 won)`` — rounded once per line, never per
  event; ``fee = round_half_even(gross × fee_rate, 1 won)``; ``net = gross − fee``;
* a flat offer charges ``round_half_even(price × (1 − waived share of the agreement's
  period), 1 won)`` once, in the month the agreement was accepted.

Postings of a charge line (amounts positive into the named account; credits negative, as in
:mod:`aicenter.ledger.entry`):

* ``KRW``:  ``receivable:<org>`` +gross; ``royalty:<provider>`` −net; ``revenue:exchange`` −fee
* ``DBYTES`` / ``DTOKENS`` / ``DRECORDS`` (ledger commodity names are ≤ 10 characters):
  ``supply:<dataset>`` −x,
  ``read:<agreement>`` +x — every metered unit, so the ledger's booked use equals the meter's
  exactly and the statement can be read back from postings alone.

Transaction references are ``royalty:<agreement>:<job>:<month>`` and ``royalty-flat:<agreement>``:
booking a month twice is a no-op in the ledger.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any, Protocol

from aicenter.domain.dataset import Usage
from aicenter.domain.errors import InputError
from aicenter.domain.licence import BYTES_PER_GB, TOKENS_PER_MILLION, Agreement, PriceBasis
from aicenter.exchange.meter import MeterEvent, read_log
from aicenter.ledger import Posting, Transaction

WON = Decimal("1")
DATA_BYTES = "DBYTES"
DATA_TOKENS = "DTOKENS"
DATA_RECORDS = "DRECORDS"
KRW = "KRW"
REVENUE_EXCHANGE = "revenue:exchange"


def receivable_account(org_id: str) -> str:
    return f"receivable:{org_id}"


def royalty_account(provider_id: str) -> str:
    return f"royalty:{provider_id}"


def supply_account(dataset_id: str) -> str:
    return f"supply:{dataset_id}"


def read_account(agreement_id: str) -> str:
    return f"read:{agreement_id}"


class RoyaltyScheme(Protocol):
    """How one price basis turns metered use into a billable quantity."""

    @property
    def basis(self) -> PriceBasis: ...

    def quantity(self, usage: Usage) -> Decimal:
        """Units of the price the use amounts to (exact)."""
        ...


@dataclass(frozen=True, slots=True)
class PerGbScheme:
    """Priced per gigabyte read: the quantity is the bytes served over ``BYTES_PER_GB``."""

    basis: PriceBasis = PriceBasis.PER_GB

    def quantity(self, usage: Usage) -> Decimal:
        return Decimal(usage.bytes) / BYTES_PER_GB


@dataclass(frozen=True, slots=True)
class PerMillionTokensScheme:
    """Priced per million tokens read: the quantity is the tokens served over a million."""

    basis: PriceBasis = PriceBasis.PER_MILLION_TOKENS

    def quantity(self, usage: Usage) -> Decimal:
        return Decimal(usage.tokens) / TOKENS_PER_MILLION


@dataclass(frozen=True, slots=True)
class FlatScheme:
    """Use is free at the margin: the fee is charged once per agreement."""

    basis: PriceBasis = PriceBasis.FLAT

    def quantity(self, usage: Usage) -> Decimal:
        return Decimal(0)


SCHEMES: Mapping[PriceBasis, RoyaltyScheme] = {
    s.basis: s for s in (PerGbScheme(), PerMillionTokensScheme(), FlatScheme())
}
"""The royalty scheme of each price basis (a typed registry: add a basis, add a scheme)."""


def month_of(when: datetime) -> str:
    """``2026-03`` for any instant in March 2026 (UTC)."""
    return when.astimezone(UTC).strftime("%Y-%m")


def _won(amount: Decimal) -> Decimal:
    return amount.quantize(WON, ROUND_HALF_EVEN)


@dataclass(frozen=True, slots=True)
class ChargeLine:
    """One (agreement, job, month) or one flat fee: metered use and the money it moves."""

    agreement_id: str
    job_id: str
    month: str
    usage: Usage
    charged: Usage
    gross_krw: Decimal
    fee_krw: Decimal
    at: datetime

    @property
    def net_krw(self) -> Decimal:
        return self.gross_krw - self.fee_krw


def _fee(gross: Decimal, fee_rate: Decimal) -> Decimal:
    if not Decimal(0) <= fee_rate <= Decimal(1):
        raise InputError(f"{fee_rate} is not a fraction from 0 to 1", field="fee_rate")
    return _won(gross * fee_rate)


def flat_fee_krw(agreement: Agreement) -> Decimal:
    """The flat fee less the waived share of the agreement's period (see module docstring)."""
    price = agreement.offer.price.amount.amount
    if agreement.waiver_until is None:
        return _won(price)
    period = (agreement.valid_until - agreement.accepted_at).total_seconds()
    waived = (agreement.waiver_until - agreement.accepted_at).total_seconds()
    share_paid = Decimal(0) if period <= 0 else (Decimal(str(period)) - Decimal(str(waived))
                                                  ) / Decimal(str(period))
    return _won(price * share_paid)


def charge_lines(meters: Iterable[MeterEvent], agreements: Iterable[Agreement], month: str,
                 fee_rate: Decimal = Decimal(0)) -> list[ChargeLine]:
    """The charge lines of ``month``: metered lines of its events, flat fees of agreements
    accepted in it. Raises :class:`InputError` for an event under an unknown agreement."""
    by_id = {a.id: a for a in agreements}
    groups: dict[tuple[str, str], list[MeterEvent]] = defaultdict(list)
    for event in meters:
        if month_of(event.at) != month:
            continue
        if event.agreement_id not in by_id:
            raise InputError(f"meter event {event.writer}#{event.seq} names unknown agreement "
                             f"{event.agreement_id}", field="agreement_id")
        groups[(event.agreement_id, event.job_id)].append(event)
    lines: list[ChargeLine] = []
    for (agreement_id, job_id), events in sorted(groups.items()):
        agreement = by_id[agreement_id]
        usage, charged = Usage(), Usage()
        for e in events:
            used = Usage(e.records, e.bytes, e.tokens)
            usage = usage + used
            if not agreement.waived_at(e.at):
                charged = charged + used
        scheme = SCHEMES[agreement.offer.price.basis]
        gross = _won(agreement.offer.price.amount.amount * scheme.quantity(charged))
        lines.append(ChargeLine(agreement_id, job_id, month, usage, charged, gross,
                                _fee(gross, fee_rate), max(e.at for e in events)))
    for agreement in sorted(by_id.values(), key=lambda a: a.id):
        if agreement.offer.price.basis is PriceBasis.FLAT and month_of(agreement.accepted_at
                                                                       ) == month:
            gross = flat_fee_krw(agreement)
            lines.append(ChargeLine(agreement.id, "", month, Usage(), Usage(), gross,
                                    _fee(gross, fee_rate), agreement.accepted_at))
    return lines


def royalty_transaction(line: ChargeLine, agreement: Agreement) -> Transaction | None:
    """The balanced ledger transaction of one charge line (None for a metered line that moves
    nothing; a flat fee always has one)."""
    # Postings are kept even when zero (waived use, flat fees): their accounts name the
    # tenant, the provider, the dataset and the agreement, so a statement can be read from the
    # ledger alone. A flat fee is booked even at 0 KRW (a free or wholly waived agreement):
    # the log's rebuild lists every flat agreement of its month, so the ledger must too.
    postings = [Posting(receivable_account(agreement.org_id), KRW, line.gross_krw),
                Posting(royalty_account(agreement.provider_id), KRW, -line.net_krw),
                Posting(REVENUE_EXCHANGE, KRW, -line.fee_krw)]
    for commodity, amount in ((DATA_BYTES, line.usage.bytes), (DATA_TOKENS, line.usage.tokens),
                              (DATA_RECORDS, line.usage.records)):
        postings += [Posting(supply_account(agreement.dataset_id), commodity,
                             -Decimal(amount)),
                     Posting(read_account(agreement.id), commodity, Decimal(amount))]
    if line.job_id and not line.gross_krw and not line.usage.records:
        return None
    if line.job_id:
        reference = f"royalty:{agreement.id}:{line.job_id}:{line.month}"
        memo = f"data read by job {line.job_id} under agreement {agreement.id} in {line.month}"
    else:
        reference = f"royalty-flat:{agreement.id}"
        memo = f"flat fee of agreement {agreement.id}"
    return Transaction(reference, "royalty", memo, line.at, tuple(postings))


def royalty_transactions(meters: Iterable[MeterEvent], agreements: Iterable[Agreement],
                         month: str, fee_rate: Decimal = Decimal(0)) -> list[Transaction]:
    """Every royalty transaction of ``month`` (see the module docstring for the rule)."""
    agreements = list(agreements)
    by_id = {a.id: a for a in agreements}
    result = []
    for line in charge_lines(meters, agreements, month, fee_rate):
        txn = royalty_transaction(line, by_id[line.agreement_id])
        if txn is not None:
            result.append(txn)
    return result


@dataclass(frozen=True, slots=True)
class StatementLine:
    """What one agreement earned its provider in the month."""

    agreement_id: str
    dataset_id: str
    org_id: str
    records: int
    bytes: int
    tokens: int
    gross_krw: Decimal
    fee_krw: Decimal
    net_krw: Decimal


@dataclass(frozen=True, slots=True)
class RoyaltyStatement:
    provider_id: str
    month: str
    lines: tuple[StatementLine, ...]

    @property
    def total_net_krw(self) -> Decimal:
        return sum((line.net_krw for line in self.lines), Decimal(0))

    @property
    def total_gross_krw(self) -> Decimal:
        return sum((line.gross_krw for line in self.lines), Decimal(0))

    def to_dict(self) -> dict[str, Any]:
        return {
            "provider_id": self.provider_id, "month": self.month, "currency": KRW,
            "lines": [{"agreement_id": x.agreement_id, "dataset_id": x.dataset_id,
                       "org_id": x.org_id, "records": x.records, "bytes": x.bytes,
                       "tokens": x.tokens, "gross_krw": str(x.gross_krw),
                       "fee_krw": str(x.fee_krw), "net_krw": str(x.net_krw)}
                      for x in self.lines],
            "total_gross_krw": str(self.total_gross_krw),
            "total_net_krw": str(self.total_net_krw),
        }


def statement_from_log(provider_id: str, month: str, meters: Iterable[MeterEvent],
                       agreements: Iterable[Agreement], fee_rate: Decimal = Decimal(0)
                       ) -> RoyaltyStatement:
    """Rebuild the provider's statement from the audit log's events alone (meter events and
    agreements), applying the billing rule; no ledger is read."""
    agreements = list(agreements)
    mine = {a.id: a for a in agreements if a.provider_id == provider_id}
    sums: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0)] * 6)
    for line in charge_lines(meters, agreements, month, fee_rate):
        if line.agreement_id not in mine:
            continue
        acc = sums[line.agreement_id]
        values = (Decimal(line.usage.records), Decimal(line.usage.bytes),
                  Decimal(line.usage.tokens), line.gross_krw, line.fee_krw, line.net_krw)
        for i, value in enumerate(values):
            acc[i] += value
    lines = tuple(
        StatementLine(aid, mine[aid].dataset_id, mine[aid].org_id, int(v[0]), int(v[1]),
                      int(v[2]), v[3], v[4], v[5])
        for aid, v in sorted(sums.items()))
    return RoyaltyStatement(provider_id, month, lines)


def statement_from_ledger(provider_id: str, month: str, transactions: Iterable[Transaction]
                          ) -> RoyaltyStatement:
    """Read the provider's statement back from booked royalty transactions: money from the
    ``receivable``/``royalty``/``revenue`` postings, use from the ``read:<agreement>``
    postings; the agreement, dataset and organisation from the account names."""
    sums: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0)] * 6)
    names: dict[str, tuple[str, str]] = {}
    for txn in transactions:
        if txn.kind != "royalty" or month_of(txn.created_at) != month:
            continue
        if not any(p.account == royalty_account(provider_id) for p in txn.postings):
            continue
        agreement_id = txn.reference.split(":")[1]
        dataset = next((p.account.removeprefix("supply:") for p in txn.postings
                        if p.account.startswith("supply:")), "")
        org = next((p.account.removeprefix("receivable:") for p in txn.postings
                    if p.account.startswith("receivable:")), "")
        old = names.get(agreement_id, ("", ""))
        names[agreement_id] = (dataset or old[0], org or old[1])
        acc = sums[agreement_id]
        for p in txn.postings:
            if p.account == read_account(agreement_id):
                index = {DATA_RECORDS: 0, DATA_BYTES: 1, DATA_TOKENS: 2}[p.commodity]
                acc[index] += p.amount
            elif p.account.startswith("receivable:"):
                acc[3] += p.amount
            elif p.account == REVENUE_EXCHANGE:
                acc[4] -= p.amount
            elif p.account == royalty_account(provider_id):
                acc[5] -= p.amount
    lines = tuple(
        StatementLine(aid, names[aid][0], names[aid][1], int(v[0]), int(v[1]), int(v[2]),
                      v[3], v[4], v[5])
        for aid, v in sorted(sums.items()))
    return RoyaltyStatement(provider_id, month, lines)



def statement_from_audit_log(audit_log: Path, provider_id: str, month: str,
                             fee_rate: Decimal = Decimal(0)) -> RoyaltyStatement:
    """The provider's statement of ``month`` recomputed from the audit log file alone (each
    event counted once, a torn last line ignored; see :mod:`aicenter.exchange.meter`)."""
    contents = read_log(audit_log)
    return statement_from_log(provider_id, month, contents.meters, contents.agreements,
                              fee_rate)
