"""Every registered implementation of every extension point (:mod:`aicenter.extensions`) is
documented and complete; built-in backends also name themselves in the README."""

from __future__ import annotations

import inspect
import re
import sys
from pathlib import Path
from typing import Any, get_args, get_type_hints

import pytest

from aicenter.extensions import POINTS, ExtensionPoint, point

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def _members(interface: type) -> list[str]:
    """The public members an implementation of ``interface`` must have."""
    names: set[str] = set()
    for klass in interface.__mro__:
        if klass is object or klass.__module__ in ("typing", "abc", "builtins"):
            continue
        names |= {n for n in vars(klass) if not n.startswith("_")}
        names |= {n for n in getattr(klass, "__annotations__", {}) if not n.startswith("_")}
    return sorted(names)


def _subject(found: ExtensionPoint, implementation: Any) -> Any:
    """What is documented and checked: a backend's config and built class, else the item."""
    return implementation.config_type if found.name == "execution backends" else implementation


def _doc(found: ExtensionPoint, klass: type) -> str:
    """Its docstring; a PII detector is one module, whose docstring documents it."""
    doc = (klass.__doc__ or "").strip()
    if doc.startswith(f"{klass.__name__}("):  # the signature a dataclass makes up is no doc
        doc = ""
    if not doc and found.name == "PII detectors":
        doc = (sys.modules[klass.__module__].__doc__ or "").strip()
    return doc


@pytest.mark.parametrize("found", POINTS, ids=[p.name for p in POINTS])
def test_every_point_has_registered_documented_implementations(found: ExtensionPoint) -> None:
    interface = found.load_interface()
    assert (interface.__doc__ or "").strip(), f"{found.interface} is undocumented"
    implementations = found.load()
    assert implementations, f"{found.name}: nothing registered"
    for implementation in implementations:
        subject = _subject(found, implementation)
        klass = subject if inspect.isclass(subject) else type(subject)
        assert _doc(found, klass), f"{found.name}: {klass.__qualname__} undocumented"


@pytest.mark.parametrize("found", [p for p in POINTS if p.name != "execution backends"],
                         ids=lambda p: p.name)
def test_every_implementation_is_complete(found: ExtensionPoint) -> None:
    """Has every member of the interface; nothing abstract is left."""
    members = _members(found.load_interface())
    for implementation in found.load():
        klass = implementation if inspect.isclass(implementation) else type(implementation)
        missing = [m for m in members if not hasattr(klass, m)
                   and not hasattr(implementation, m)]
        assert not missing, f"{found.name}: {klass.__qualname__} lacks {missing}"
        assert not getattr(klass, "__abstractmethods__", None), klass.__qualname__


def test_every_backend_is_complete_and_in_the_readme() -> None:
    """Backends: the built class has every Protocol member (their behaviour and capability
    claims are checked by tests/backends/test_contract.py), and each is documented."""
    from aicenter.backends.local.backend import LocalBackend
    from aicenter.backends.ray.backend import RayBackend
    from aicenter.backends.slurm.backend import SlurmBackend
    from aicenter.backends.virtual.backend import VirtualBackend

    classes = {"local": LocalBackend, "ray": RayBackend, "slurm": SlurmBackend,
               "virtual": VirtualBackend}
    members = _members(point("execution backends").load_interface())
    for entry in point("execution backends").load():
        klass = classes[entry.name]
        assert (klass.__doc__ or "").strip(), entry.name
        assert not [m for m in members if not hasattr(klass, m)], entry.name
        assert klass.capabilities == entry.capabilities, entry.name
        assert re.search(rf"--backend [^`]*\b{entry.name}\b", README), (
            f"backend {entry.name} is not among the README's --backend choices")


def test_every_scheduling_policy_is_in_the_readme() -> None:
    for factory in point("scheduling policies").load():
        assert factory.description.strip(), factory.name
        assert factory.name in README, f"policy {factory.name} is not mentioned in the README"


def test_an_unknown_point_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match="execution backends"):
        point("plugins")


def test_every_trace_reader_is_a_simulate_choice_and_in_the_readme() -> None:
    """Each reader is a ``--trace-format`` choice, described, in the README's row of
    ``aicenter simulate``; no two claim a suffix (``auto`` has one answer)."""
    from aicenter.cli.simulate import simulate_command

    hint = get_type_hints(simulate_command, include_extras=True)["trace_format"]
    choices = get_args(get_args(hint)[0])  # Annotated[Literal[choices], the option]
    readme_formats = re.search(r"--trace-format ([a-z\\|]+)\]", README)
    assert readme_formats, "the README has no --trace-format choices"
    claimed: dict[str, str] = {}
    for reader in point("trace readers").load():
        assert reader.description.strip(), reader.name
        assert reader.name in choices, (
            f"{reader.name} is not a --trace-format choice")
        assert reader.name in readme_formats.group(1).split("\\|"), (
            f"trace format {reader.name} is not among the README's --trace-format choices")
        for suffix in reader.suffixes:
            assert suffix == suffix.lower() and suffix.startswith("."), (reader.name, suffix)
            assert suffix not in claimed, (suffix, claimed.get(suffix), reader.name)
            claimed[suffix] = reader.name
