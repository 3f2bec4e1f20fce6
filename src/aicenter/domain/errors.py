"""Errors users see.

Every error that reaches a user is one line that says what is wrong and where (file, line,
field). The CLI prints ``str(error)`` and exits 2 for input errors, 1 for failures
(``aicenter.cli.exit_codes``); the API turns it into a 4xx.
"""

from __future__ import annotations


class AicenterError(Exception):
    """Base class of every error aicenter reports to a user."""


class InputError(AicenterError):
    """Bad input: a file, a field or an argument that cannot be accepted.

    The message is prefixed with the location: ``file:line:column: field: message``; every part
    that is unknown is left out.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        column: int | None = None,
        field: str | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.column = column
        self.field = field
        super().__init__(self.__str__())

    def located(
        self, *, file: str | None = None, line: int | None = None, field_prefix: str | None = None
    ) -> InputError:
        """Return a copy that also names the file, the line or an outer field path."""
        field = self.field
        if field_prefix:
            field = f"{field_prefix}.{field}" if field else field_prefix
        return InputError(
            self.message,
            file=file or self.file,
            line=line if line is not None else self.line,
            column=self.column,
            field=field,
        )

    def __str__(self) -> str:
        where = ""
        if self.file:
            where = self.file
            if self.line is not None:
                where += f":{self.line}"
                if self.column is not None:
                    where += f":{self.column}"
        parts = [p for p in (where, f"field '{self.field}'" if self.field else "") if p]
        prefix = ": ".join(parts)
        return f"{prefix}: {self.message}" if prefix else self.message


class NotFoundError(AicenterError):
    """A named thing (chip, model, rubric, preset) does not exist."""


class InfeasibleError(AicenterError):
    """A problem has no solution under its constraints (a budget too small, a chip too small)."""


class DuplicateError(AicenterError):
    """The store already holds a record with the same unique key (a name, an e-mail, an
    idempotency key). Raised by the storage layer in place of its driver's error, so services
    decide what a duplicate means without importing the database library."""


class StoredValueError(InputError):
    """A value the database cannot store (a number or date out of its range): the input's
    fault, found only when the database refused it."""
