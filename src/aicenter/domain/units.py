"""Value types for money and compute quantities.

Money is kept as :class:`decimal.Decimal` in a named currency so that ledgers add up exactly;
compute quantities are floats with their unit in the type name. Crossing a module boundary
with a bare float for money or a quantity is not allowed (DESIGN.md rule 7).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum


class Currency(StrEnum):
    """Currencies aicenter prices in (ISO 4217 codes)."""

    KRW = "KRW"
    USD = "USD"
    INR = "INR"


_MINOR_UNITS = {
    Currency.KRW: Decimal("1"),
    Currency.USD: Decimal("0.01"),
    Currency.INR: Decimal("0.01"),
}


@dataclass(frozen=True, slots=True)
class Money:
    """An amount in one currency. Adding two currencies is an error, not a conversion."""

    amount: Decimal
    currency: Currency

    @staticmethod
    def of(amount: float | int | str | Decimal, currency: Currency | str) -> Money:
        """Build from any number; floats go through ``str`` so 0.1 stays 0.1."""
        value = amount if isinstance(amount, Decimal) else Decimal(str(amount))
        return Money(value, Currency(currency))

    @staticmethod
    def zero(currency: Currency | str) -> Money:
        return Money(Decimal(0), Currency(currency))

    def _same(self, other: Money) -> None:
        if self.currency != other.currency:
            raise ValueError(f"cannot combine {self.currency} with {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __mul__(self, factor: float | int | Decimal) -> Money:
        f = factor if isinstance(factor, Decimal) else Decimal(str(factor))
        return Money(self.amount * f, self.currency)

    __rmul__ = __mul__

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.amount <= other.amount

    def rounded(self) -> Money:
        """Round to the currency's minor unit (won, cent, paisa), half to even."""
        return Money(
            self.amount.quantize(_MINOR_UNITS[self.currency], ROUND_HALF_EVEN), self.currency
        )

    def __float__(self) -> float:
        return float(self.amount)

    def __str__(self) -> str:
        return f"{self.rounded().amount:,} {self.currency}"


@dataclass(frozen=True, slots=True)
class ExchangeRate:
    """How many units of ``quote`` one unit of ``base`` buys (1 USD = 1,420 KRW by default)."""

    base: Currency
    quote: Currency
    rate: Decimal

    def convert(self, money: Money) -> Money:
        if money.currency == self.base:
            return Money(money.amount * self.rate, self.quote)
        if money.currency == self.quote:
            return Money(money.amount / self.rate, self.base)
        raise ValueError(f"rate {self.base}/{self.quote} cannot convert {money.currency}")


DEFAULT_KRW_PER_USD = ExchangeRate(Currency.USD, Currency.KRW, Decimal("1420"))


@dataclass(frozen=True, slots=True, order=True)
class H100eHours:
    """Compute in H100-equivalent hours: chip-hours × the chip's throughput relative to H100 SXM."""

    value: float

    def __add__(self, other: H100eHours) -> H100eHours:
        return H100eHours(self.value + other.value)

    def __sub__(self, other: H100eHours) -> H100eHours:
        return H100eHours(self.value - other.value)

    def __mul__(self, factor: float) -> H100eHours:
        return H100eHours(self.value * factor)

    def __str__(self) -> str:
        return f"{self.value:,.1f} h100e-h"
