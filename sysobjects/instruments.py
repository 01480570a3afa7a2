"""Instrument configuration: the static facts about one futures instrument.

Prices are in the exchange's quoted units; ``pointsize`` is the value, in the instrument's
``currency``, of a 1.0 move in price for one contract (the multiplier); ``tick_size`` the smallest
price increment (same units), when known.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from syscore.exceptions import InvalidData

INSTRUMENT_CODE_CHARS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


def validate_instrument_code(code: str) -> str:
    """Return ``code`` if it is a usable instrument code, else raise :class:`InvalidData`."""
    if not isinstance(code, str) or not code or not set(code) <= INSTRUMENT_CODE_CHARS:
        raise InvalidData(f"invalid instrument code {code!r}: use letters, digits, '_' or '-'")
    return code


def round_to_tick(price: float, tick_size: float | None) -> float:
    """``price`` rounded to the nearest multiple of ``tick_size`` (half away from zero), as the
    shortest decimal (``2748.6``, never ``2748.6000000000004``); unchanged when ``tick_size`` is
    None. Pure."""
    if tick_size is None or not math.isfinite(float(price)):
        return float(price)
    tick = Decimal(str(tick_size))
    ticks = (Decimal(str(float(price))) / tick).to_integral_value(rounding="ROUND_HALF_UP")
    return float(ticks * tick)


@dataclass(frozen=True)
class InstrumentConfig:
    """Static configuration of one instrument.

    Commission has three parts, all charged per trade: ``per_block`` (instrument currency per
    contract), ``percentage`` (fraction of notional, 0.01 = 1 %) and ``per_trade`` (instrument
    currency per trade). ``spread_cost`` is half the bid/ask spread in price points (what
    pysystemtrade calls ``Slippage`` / ``SpreadCost``). ``tick_size`` (price units, optional:
    pysystemtrade's files have none) is what manual corrections are rounded to.
    """

    instrument_code: str
    description: str = ""
    pointsize: float = 1.0
    currency: str = "USD"
    asset_class: str = ""
    per_block: float = 0.0
    percentage: float = 0.0
    per_trade: float = 0.0
    spread_cost: float = 0.0
    region: str = ""
    tick_size: float | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=True)

    def __post_init__(self) -> None:
        validate_instrument_code(self.instrument_code)
        for name in ("pointsize", "per_block", "percentage", "per_trade", "spread_cost"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or math.isnan(float(value)):
                raise InvalidData(
                    f"instrument {self.instrument_code}: {name} must be a number, got {value!r}"
                )
        if self.pointsize <= 0:
            raise InvalidData(
                f"instrument {self.instrument_code}: pointsize must be > 0, got {self.pointsize}"
            )
        if self.tick_size is not None and not (
                isinstance(self.tick_size, (int, float)) and math.isfinite(self.tick_size)
                and self.tick_size > 0):
            raise InvalidData(
                f"instrument {self.instrument_code}: tick_size must be > 0, got {self.tick_size!r}"
            )
        if not isinstance(self.currency, str) or len(self.currency) != 3:
            raise InvalidData(
                f"instrument {self.instrument_code}: currency must be a 3-letter code, "
                f"got {self.currency!r}"
            )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InstrumentConfig:
        known = {f for f in cls.__dataclass_fields__}
        kwargs = {k: v for k, v in data.items() if k in known}
        return cls(**kwargs)
