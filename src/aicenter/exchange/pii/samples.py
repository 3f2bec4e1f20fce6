"""Helpers the detectors' sample generators share: random digits, dashed groups, birth dates
and 6 + 7 registration numbers with a valid check digit. Everything is drawn from the caller's
seeded :class:`random.Random`, so a seed names a corpus."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence


def digits(rng: random.Random, n: int) -> str:
    """``n`` random decimal digits."""
    return "".join(rng.choice("0123456789") for _ in range(n))


def birth(rng: random.Random) -> str:
    """A plausible YYMMDD."""
    return f"{rng.randint(0, 99):02d}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"


def dash(number: str, groups: tuple[int, ...], sep: str = "-") -> str:
    """``number`` cut into ``groups`` of digits joined by ``sep``."""
    out, i = [], 0
    for g in groups:
        out.append(number[i : i + g])
        i += g
    return sep.join(out)


def registration_number(
    rng: random.Random, gender_digits: str, check_digit_ok: Callable[[Sequence[int]], bool]
) -> str:
    """13 digits YYMMDD G NNNNN C whose check digit passes ``check_digit_ok``."""
    while True:
        body = birth(rng) + rng.choice(gender_digits) + digits(rng, 5)
        values = [int(c) for c in body]
        for c in range(10):
            if check_digit_ok([*values, c]):
                return body + str(c)
