"""Subcommands registered by name and help line, their modules imported only when they run.

Importing every subcommand's module up front made each ``aicenter`` invocation pay for SciPy,
matplotlib, HiGHS, the planner and the simulator (~3 s of CPU) even for ``--help`` or
``job list``. The root group here knows each subcommand as a :class:`Subcommand` (name, help
line, module, attribute) and shows a placeholder in ``--help``; the module is imported when
the subcommand is resolved to run (or to print its own help). Deferring these imports is for
start-up cost, not to dodge import cycles.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

import typer
import typer.main
from typer.core import TyperCommand, TyperGroup


@dataclass(frozen=True)
class Subcommand:
    """A subcommand of ``aicenter``: ``module.attribute`` is a Typer app (a group) or a
    command function; ``help`` is its first help line, shown by ``aicenter --help``.
    ``hidden`` keeps an old name working for users' scripts without listing it."""

    name: str
    module: str
    attribute: str
    help: str
    group: bool
    hidden: bool = False

    def placeholder(self) -> TyperCommand:
        """What ``--help`` lists: the name and help line, nothing imported."""
        return TyperCommand(name=self.name, help=self.help, hidden=self.hidden)

    def load(self) -> Any:
        """Import the module and build the real click command (a group for a Typer app)."""
        target = getattr(importlib.import_module(self.module), self.attribute)
        command: Any
        if self.group:
            command = typer.main.get_group(target)
        else:
            single = typer.Typer(add_completion=False)
            single.command(self.name)(target)
            command = typer.main.get_command(single)
        command.name = self.name
        command.hidden = self.hidden
        return command


def lazy_group(subcommands: tuple[Subcommand, ...]) -> type[TyperGroup]:
    """A root group class (for ``typer.Typer(cls=...)``) that lists ``subcommands`` by their
    placeholders and loads each one when it is resolved to run.

    Listed as Typer lists an app's entries: single commands first, then groups; the root
    app's own commands (``version``) come after the deferred single commands, as they were
    registered after them.
    """

    class LazyGroup(TyperGroup):
        def __init__(self, **attrs: Any) -> None:
            super().__init__(**attrs)
            own = dict(self.commands)
            self.commands.clear()
            self.commands.update({s.name: s.placeholder() for s in subcommands if not s.group})
            self.commands.update(own)
            self.commands.update({s.name: s.placeholder() for s in subcommands if s.group})
            self._deferred = {s.name: s for s in subcommands}

        def resolve_command(self, ctx: Any, args: list[str]) -> tuple[str | None, Any, list[str]]:
            # ``get_command`` keeps answering with the placeholder (what --help lists);
            # running a subcommand, or asking for its own help, goes through here.
            name, _command, rest = super().resolve_command(ctx, args)
            sub = self._deferred.pop(name, None) if name else None
            if sub is not None:
                self.commands[sub.name] = sub.load()
            return name, self.commands.get(name) if name else None, rest

    return LazyGroup
