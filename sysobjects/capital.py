"""Total-capital update rules (pure; no I/O).

Each update compares a new broker account value with the previous one: the difference is the
p&l. How the p&l moves total capital depends on the method (pysystemtrade's semantics):

* ``full``  - every gain and loss compounds: total = previous total + p&l (floored at 0);
  the maximum (high-water mark) follows total.
* ``half``  - losses count, gains only up to the high-water mark: total =
  min(previous total + p&l, previous maximum), floored at 0; the maximum is unchanged.
* ``fixed`` - total capital does not move with p&l; the maximum equals total.

Accumulated p&l always adds the p&l. A p&l larger than ``limit`` (default 10%) of the previous
broker account value is refused with ``LargeCapitalChangeError`` until the caller confirms it
(``confirmed=True``): a mistyped or bad broker value must not resize every position.

Deposits and withdrawals are not p&l: ``apply_cash_flow`` moves the broker value, total
capital and the high-water mark by the same amount (floored at 0) and leaves accumulated p&l
alone. All amounts are in the account's base currency.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum

from syscore.exceptions import SystradeError

DEFAULT_LARGE_CHANGE_LIMIT = 0.10


class CapitalMethod(str, Enum):
    """How p&l feeds into total capital."""

    FULL = "full"
    HALF = "half"
    FIXED = "fixed"


class LargeCapitalChangeError(SystradeError, ValueError):
    """A capital move exceeds the sanity limit and has not been confirmed."""


@dataclass(frozen=True)
class CapitalState:
    """Capital figures after an update (base currency)."""

    total_capital: float
    maximum_capital: float
    broker_account_value: float
    accumulated_pandl: float = 0.0

    def __post_init__(self) -> None:
        for name in ("total_capital", "maximum_capital"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} cannot be negative: {getattr(self, name)}")

    @classmethod
    def initial(cls, broker_account_value: float, total_capital: float | None = None) -> CapitalState:
        """Starting state: total capital defaults to the broker account value."""
        total = broker_account_value if total_capital is None else total_capital
        return cls(total_capital=total, maximum_capital=total, broker_account_value=broker_account_value)


@dataclass(frozen=True)
class CapitalUpdate:
    """Result of one update: the new state and the p&l it booked."""

    state: CapitalState
    pandl: float


def pandl_since(previous: CapitalState, new_broker_account_value: float) -> float:
    """P&L against the last broker account value."""
    return new_broker_account_value - previous.broker_account_value


def check_change_size(previous: CapitalState, pandl: float, limit: float = DEFAULT_LARGE_CHANGE_LIMIT) -> None:
    """Raise ``LargeCapitalChangeError`` if |p&l| is more than ``limit`` of the previous broker value."""
    base = abs(previous.broker_account_value)
    if pandl == 0:
        return
    if base == 0 or abs(pandl) / base > limit:
        share = float("inf") if base == 0 else abs(pandl) / base
        raise LargeCapitalChangeError(
            f"p&l of {pandl:.0f} is {share:.1%} of the previous account value "
            f"{previous.broker_account_value:.0f}, over the {limit:.0%} limit; confirm it to apply"
        )


def update_capital(
    previous: CapitalState,
    new_broker_account_value: float,
    method: CapitalMethod | str,
    confirmed: bool = False,
    limit: float = DEFAULT_LARGE_CHANGE_LIMIT,
) -> CapitalUpdate:
    """Apply a new broker account value under ``method``; see the module docstring."""
    method = CapitalMethod(method)
    pandl = pandl_since(previous, new_broker_account_value)
    if not confirmed:
        check_change_size(previous, pandl, limit)
    if method is CapitalMethod.FULL:
        total = max(previous.total_capital + pandl, 0.0)
        maximum = total
    elif method is CapitalMethod.HALF:
        total = max(min(previous.total_capital + pandl, previous.maximum_capital), 0.0)
        maximum = previous.maximum_capital
    else:
        total = previous.total_capital
        maximum = total
    state = CapitalState(
        total_capital=total,
        maximum_capital=maximum,
        broker_account_value=new_broker_account_value,
        accumulated_pandl=previous.accumulated_pandl + pandl,
    )
    return CapitalUpdate(state=state, pandl=pandl)


def apply_cash_flow(previous: CapitalState, amount: float) -> CapitalState:
    """A deposit (positive) or withdrawal (negative): not p&l."""
    return replace(
        previous,
        total_capital=max(previous.total_capital + amount, 0.0),
        maximum_capital=max(previous.maximum_capital + amount, 0.0),
        broker_account_value=previous.broker_account_value + amount,
    )
