"""Ichimoku lines and the SmartEXO regime computed from them.

On a close-only series (an EXO has one value a day) each period's high and low are its close.
With ``conversion`` (default 9), ``base`` (26), ``lookahead`` (26) and ``span_b`` (52) periods:

- conversion line = (highest + lowest of the last ``conversion`` values) / 2;
- base line = the same over ``base`` values;
- leading span A = (conversion + base) / 2, plotted ``lookahead`` periods ahead: the value that
  applies *today* is the one computed ``lookahead`` periods ago;
- leading span B = (highest + lowest of the last ``span_b`` values) / 2, shifted the same way.

Regime today: **+1** (bullish) when the close is above the cloud (both spans) and the
conversion line is above the base line; **−1** (bearish) when the close is below the cloud and
the conversion line below the base line; **0** (neutral) otherwise; **None** until there is
enough history for every line (``span_b + lookahead − 1`` values).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from syscore.exceptions import InvalidData


@dataclass(frozen=True)
class IchimokuSettings:
    conversion: int = 9
    base: int = 26
    lookahead: int = 26
    span_b: int = 52

    def __post_init__(self) -> None:
        if min(self.conversion, self.base, self.lookahead, self.span_b) < 1:
            raise InvalidData("Ichimoku periods must be >= 1")


def _mid(values: pd.Series, window: int) -> pd.Series:
    rolling = values.rolling(window, min_periods=window)
    return (rolling.max() + rolling.min()) / 2.0


def ichimoku_lines(close: pd.Series, settings: IchimokuSettings = IchimokuSettings()
                   ) -> pd.DataFrame:
    """Columns conversion, base, span_a, span_b (the spans as they apply on each day)."""
    conversion = _mid(close, settings.conversion)
    base = _mid(close, settings.base)
    return pd.DataFrame({
        "conversion": conversion, "base": base,
        "span_a": ((conversion + base) / 2.0).shift(settings.lookahead),
        "span_b": _mid(close, settings.span_b).shift(settings.lookahead),
    })


def ichimoku_regime(close: pd.Series, settings: IchimokuSettings = IchimokuSettings()
                    ) -> pd.Series:
    """+1, −1, 0 per day, NaN (None) where history is too short (see module docstring)."""
    lines = ichimoku_lines(close, settings)
    top = lines[["span_a", "span_b"]].max(axis=1, skipna=False)
    bottom = lines[["span_a", "span_b"]].min(axis=1, skipna=False)
    ready = lines.notna().all(axis=1)
    bullish = (close > top) & (lines["conversion"] > lines["base"])
    bearish = (close < bottom) & (lines["conversion"] < lines["base"])
    regime = pd.Series(np.where(bullish, 1.0, np.where(bearish, -1.0, 0.0)), index=close.index)
    return regime.where(ready)
