"""Position arithmetic of the simulated broker: a fill applied to a position, average price and
realised P&L (pure; the broker stores the result)."""
from __future__ import annotations


def apply_fill(position: int, average_price: float, quantity: int, price: float,
               multiplier: float) -> tuple[int, float, float]:
    """``(new position, new average price, realised P&L)`` after filling ``quantity`` (signed
    contracts) at ``price`` on ``position`` held at ``average_price``.

    Adding to a position (or opening one) averages the prices; reducing it realises
    ``closed x (price - average) x multiplier`` (instrument currency) and keeps the average; a
    fill that crosses zero opens the rest at ``price``; a flat result has the old average
    (callers delete the row)."""
    if position == 0 or (position > 0) == (quantity > 0):
        new_position = position + quantity
        return new_position, (position * average_price + quantity * price) / new_position, 0.0
    closed = min(abs(quantity), abs(position))
    realised = (1 if position > 0 else -1) * closed * (price - average_price) * multiplier
    new_position = position + quantity
    keeps = new_position == 0 or (new_position > 0) == (position > 0)
    return new_position, average_price if keeps else price, realised


def off_tick(price: float, tick: float) -> bool:
    """Whether a limit price is not a positive multiple of ``tick``."""
    return price <= 0 or abs(price / tick - round(price / tick)) > 1e-6
