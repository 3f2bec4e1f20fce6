"""Double-entry credit ledger: every transaction balances; balances are sums of postings."""

from aicenter.ledger.entry import (
    H100E,
    Posting,
    Transaction,
    accounts,
    award_transaction,
    hold_transaction,
    overrun_transaction,
    reclaim_transaction,
    release_transaction,
    top_up_transaction,
    usage_transaction,
)

__all__ = [
    "H100E",
    "Posting",
    "Transaction",
    "accounts",
    "award_transaction",
    "hold_transaction",
    "overrun_transaction",
    "reclaim_transaction",
    "release_transaction",
    "top_up_transaction",
    "usage_transaction",
]
