"""Use cases: one transaction each; they call repositories, the ledger and the backend."""
