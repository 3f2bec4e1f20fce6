"""The tamper-evident audit log's pure core: canonical entries chained by hash, the RFC 9162
Merkle tree with inclusion and consistency proofs, Ed25519-signed checkpoints, the
verification that names the first bad entry, and the filter readers list entries by. No I/O;
time is passed in."""

from aicenter.ledger.audit.checkpoint import (
    Checkpoint,
    checkpoint_message,
    key_id,
    raw_public_key,
    sign_checkpoint,
    signature_valid,
)
from aicenter.ledger.audit.entry import (
    GENESIS,
    Actor,
    ActorKind,
    AuditEntry,
    AuditRecord,
    Decision,
    Effect,
    EncodingError,
    IndexColumns,
    StoredEntry,
    canonical_json,
    decode,
    seal,
    to_json,
)
from aicenter.ledger.audit.merkle import (
    EMPTY_ROOT,
    Frontier,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root,
    verify_consistency,
    verify_inclusion,
)
from aicenter.ledger.audit.query import AuditFilter
from aicenter.ledger.audit.verify import (
    Finding,
    Head,
    Problem,
    Verification,
    verify_log,
    verify_range,
)

__all__ = [
    "EMPTY_ROOT",
    "GENESIS",
    "Actor",
    "ActorKind",
    "AuditEntry",
    "AuditFilter",
    "AuditRecord",
    "Checkpoint",
    "Decision",
    "Effect",
    "EncodingError",
    "Finding",
    "Frontier",
    "Head",
    "IndexColumns",
    "Problem",
    "StoredEntry",
    "Verification",
    "canonical_json",
    "checkpoint_message",
    "consistency_proof",
    "decode",
    "inclusion_proof",
    "key_id",
    "leaf_hash",
    "node_hash",
    "raw_public_key",
    "root",
    "seal",
    "sign_checkpoint",
    "signature_valid",
    "to_json",
    "verify_consistency",
    "verify_inclusion",
    "verify_log",
    "verify_range",
]
