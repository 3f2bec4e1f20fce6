"""What each engine cannot guarantee is said on the job (``containment_notes``), from the
capabilities the backend declares, never from its name."""

from __future__ import annotations

from aicenter.backends.base import Capabilities, containment_notes
from aicenter.backends.registry import default_registry


def test_the_local_box_needs_no_note_and_the_virtual_backend_runs_no_code() -> None:
    registry = default_registry()
    assert containment_notes(registry.capabilities("local"), reads_datasets=True) == []
    assert containment_notes(registry.capabilities("virtual"), reads_datasets=True) == []


def test_engines_without_the_box_say_what_they_cannot_guarantee() -> None:
    registry = default_registry()
    for name in ("ray", "slurm"):
        notes = containment_notes(registry.capabilities(name), reads_datasets=True)
        joined = " | ".join(notes)
        assert "no kernel box" in joined and "network not cut" in joined, (name, notes)
        assert "data gateway" in joined, (name, notes)
        assert "data gateway" not in " ".join(
            containment_notes(registry.capabilities(name), reads_datasets=False))


def test_one_note_per_missing_claim() -> None:
    caps = Capabilities(runs_code=True, contains_jobs=True, cuts_network=True,
                        enforces_limits=False, runs_sidecars=True)
    assert len(containment_notes(caps, reads_datasets=True)) == 1
