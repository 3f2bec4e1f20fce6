"""Verification of a whole log: chain, tree, checkpoints; the first bad entry by name.

One pass in sequence order, O(n) hashing and O(log n) memory besides the checkpoints:

1. each entry's leaf hash is recomputed from its body and compared with the stored hash
   (*edited*), the body must be canonical and hold the row's own sequence number
   (*reordered* when it holds another's), sequence numbers run 1, 2, 3… without gaps
   (*deleted*), and each entry's ``prev`` is the previous entry's hash (*edited*: an entry
   was rewritten and rehashed);
2. the recomputed leaves build the Merkle tree (:class:`~aicenter.ledger.audit.merkle.Frontier`)
   and at each checkpoint's size its root must equal the signed root (*rewritten*: the chain
   was rebuilt after an edit), each checkpoint's Ed25519 signature must verify under a known
   public key (*forged checkpoint*), and no checkpoint may be larger than the log or the
   head's count (*truncated*).

Entries after a break are checked against their own predecessor, so one edit is reported
once, not once per later entry.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from aicenter.ledger.audit.checkpoint import Checkpoint, signature_valid
from aicenter.ledger.audit.entry import (
    GENESIS,
    EncodingError,
    IndexColumns,
    StoredEntry,
    decode,
)
from aicenter.ledger.audit.merkle import Frontier, leaf_hash

MAX_FINDINGS = 100
"""Findings kept after the first (a badly damaged log would otherwise list every entry)."""


class Problem(StrEnum):
    EDITED = "edited"
    DELETED = "deleted"
    REORDERED = "reordered"
    TRUNCATED = "truncated"
    REWRITTEN = "rewritten"
    FORGED_CHECKPOINT = "forged checkpoint"
    LEDGER = "ledger mismatch"
    """The credit ledger's tables disagree with the log's ledger entries
    (:mod:`aicenter.ledger.audit.ledger`)."""


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing wrong: the entry it names (its sequence number), what and why."""

    seq: int | None
    problem: Problem
    detail: str

    def __str__(self) -> str:
        where = f"entry {self.seq}" if self.seq is not None else "log"
        return f"{where}: {self.problem.value}: {self.detail}"


@dataclass(frozen=True, slots=True)
class Head:
    """What the log's head row says: the last sequence number and its hash."""

    seq: int
    hash: bytes


@dataclass
class Verification:
    entries: int = 0
    checkpoints: int = 0
    root: bytes = b""
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def first(self) -> Finding | None:
        """The finding about the earliest entry (one about no entry only if none names one)."""
        if not self.findings:
            return None
        return min(self.findings, key=lambda f: (f.seq is None, f.seq or 0))

    def add(self, finding: Finding) -> None:
        if len(self.findings) <= MAX_FINDINGS:
            self.findings.append(finding)


def _columns_differ(columns: IndexColumns, body: IndexColumns) -> list[str]:
    return [name for name in ("time", "action", "actor_id", "object_type", "object_id",
                              "org_id")
            if getattr(columns, name) != getattr(body, name)]


def verify_log(entries: Iterable[StoredEntry], checkpoints: Iterable[Checkpoint],
               public_keys: Mapping[str, bytes], head: Head | None = None) -> Verification:
    """Check ``entries`` (in stored sequence order), ``checkpoints`` and ``head`` against
    each other and the trusted ``public_keys`` (key id → raw Ed25519 public key)."""
    result = Verification()
    pending = sorted(checkpoints, key=lambda c: c.size)
    result.checkpoints = len(pending)
    for cp in pending:
        if not signature_valid(cp, public_keys):
            why = ("signed by an unknown key " + cp.key_id if cp.key_id not in public_keys
                   else "its signature does not verify (size, root or time changed)")
            result.add(Finding(None, Problem.FORGED_CHECKPOINT,
                               f"checkpoint of size {cp.size}: {why}"))
    by_size: dict[int, list[Checkpoint]] = {}
    for cp in pending:
        if signature_valid(cp, public_keys):  # a forged root proves nothing about the tree
            by_size.setdefault(cp.size, []).append(cp)
    if 0 in by_size:
        _check_roots(result, Frontier(), by_size.pop(0), 0)

    tree = Frontier()
    prev_hash, expected, last_checked = GENESIS, 1, 0
    last: StoredEntry | None = None
    for row in entries:
        _check_entry(result, row, prev_hash, expected)
        h = leaf_hash(row.body)
        tree.append(h)
        prev_hash, expected, last = h, max(expected, row.seq) + 1, row
        if tree.size in by_size:
            _check_roots(result, tree, by_size.pop(tree.size), last_checked)
            last_checked = tree.size
    result.entries = tree.size
    result.root = tree.root()

    if by_size:
        size = max(by_size)
        result.add(Finding(tree.size + 1, Problem.TRUNCATED,
                           f"a checkpoint covers {size} entries but the log holds "
                           f"{tree.size}: entries after {tree.size} were removed"))
    if head is not None:
        last_seq = last.seq if last is not None else 0
        if head.seq > last_seq:
            result.add(Finding(last_seq + 1, Problem.TRUNCATED,
                               f"the log's head counts {head.seq} entries but the last is "
                               f"{last_seq}: entries {last_seq + 1}..{head.seq} removed"))
        elif head.seq == last_seq and head.hash != prev_hash and last is not None:
            result.add(Finding(last_seq, Problem.EDITED,
                               "the last entry's hash differs from the one the head recorded"))
    return result


def _check_entry(result: Verification, row: StoredEntry, prev_hash: bytes,
                 expected: int) -> None:
    h = leaf_hash(row.body)
    if h != row.hash:
        result.add(Finding(row.seq, Problem.EDITED,
                           "its body no longer hashes to the stored hash"))
        return
    try:
        entry = decode(row.body)
    except EncodingError as exc:
        result.add(Finding(row.seq, Problem.EDITED, str(exc)))
        return
    if entry.seq != row.seq:
        result.add(Finding(row.seq, Problem.REORDERED,
                           f"position {row.seq} holds entry {entry.seq}"))
        return
    if row.seq > expected:
        missing = (f"entry {expected}" if row.seq == expected + 1
                   else f"entries {expected}..{row.seq - 1}")
        result.add(Finding(expected, Problem.DELETED,
                           f"{missing} missing (the log goes from {expected - 1} to "
                           f"{row.seq})"))
        return
    if row.seq < expected:
        result.add(Finding(row.seq, Problem.REORDERED,
                           f"entry {row.seq} appears again after entry {expected - 1}"))
        return
    if entry.prev_hash != row.prev_hash:
        result.add(Finding(row.seq, Problem.EDITED,
                           "the stored prev hash differs from the body's"))
        return
    if entry.prev_hash != prev_hash:
        result.add(Finding(row.seq - 1 if row.seq > 1 else row.seq, Problem.EDITED,
                           f"entry {row.seq - 1}'s hash is not the prev that entry {row.seq} "
                           f"recorded: entry {row.seq - 1} was rewritten and rehashed"))
        return
    if row.columns is not None:
        differ = _columns_differ(row.columns, IndexColumns.of(entry.record))
        if differ:
            result.add(Finding(row.seq, Problem.EDITED,
                               f"searchable column(s) {', '.join(differ)} differ from the "
                               "signed body"))


def _check_roots(result: Verification, tree: Frontier, cps: list[Checkpoint],
                 after: int) -> None:
    """Compare the signed roots of size ``tree.size`` with the tree; a mismatch that an entry
    finding in the same stretch already explains is not reported twice."""
    root = tree.root()
    explained = any(f.seq is not None and after < f.seq <= tree.size for f in result.findings)
    for cp in cps:
        if cp.root != root and not explained:
            result.add(Finding(after + 1, Problem.REWRITTEN,
                               f"the tree of entries 1..{tree.size} no longer has the root "
                               f"the checkpoint of size {cp.size} signed: an entry in "
                               f"{after + 1}..{tree.size} was changed and the chain rebuilt"))


def verify_range(entries: Iterable[StoredEntry], prev_hash: bytes, first: int
                 ) -> list[Finding]:
    """The entry checks of :func:`verify_log` for a slice of the log that starts at sequence
    number ``first`` after an entry whose hash is ``prev_hash`` (what a checkpoint checks
    before it signs the entries appended since the last one)."""
    result = Verification()
    expected = first
    for row in entries:
        _check_entry(result, row, prev_hash, expected)
        prev_hash, expected = leaf_hash(row.body), max(expected, row.seq) + 1
    return result.findings
