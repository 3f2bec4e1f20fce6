"""Lists cut into pages: the page a list shows (its rows, its number, how many there are)
and the two ways of cutting it, in Python for the lists that stay small and in the database
for those that grow with the center. Its own module so that every page module, the layout's
included, may use it (``page_kit`` imports the layout's templates)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from markupsafe import Markup, escape

T = TypeVar("T")

PER_PAGE = 50
"""Rows on one page of a list; ``?page=N`` turns the page."""


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a list: its rows, its number (from 1) and how many pages there are."""

    items: Sequence[T]
    number: int
    pages: int
    total: int

    def link(self, base: str, number: int) -> Markup:
        joiner = "&" if "?" in base else "?"
        return Markup(escape(f"{base}{joiner}page={number}"))


def paginate(rows: Sequence[T], number: int | None, size: int = PER_PAGE) -> Page[T]:
    """Rows ``size`` at a time; a number past the end shows the last page. For lists that
    stay small (calls, offers, a provider's datasets): a list that grows with the center
    is cut in the database (:func:`paged`)."""
    pages = max(1, -(-len(rows) // size))
    n = min(max(1, number or 1), pages)
    return Page(rows[(n - 1) * size:n * size], n, pages, len(rows))


def paged(number: int | None, total: int, fetch: Callable[[int, int], Sequence[T]],
          size: int = PER_PAGE) -> Page[T]:
    """One page of a list cut in the database: ``total`` rows in all (the service's count),
    ``fetch(limit, offset)`` reads the page's rows (the service's listing with the same
    filters); a number past the end shows the last page, as :func:`paginate` does."""
    pages = max(1, -(-total // size))
    n = min(max(1, number or 1), pages)
    return Page(fetch(size, (n - 1) * size) if total else [], n, pages, total)
