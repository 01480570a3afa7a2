"""Alpha rules on EXO series, and the rebalancer's choice of members.

An alpha turns an EXO series (its cumulative P&L, one value a day) into an *exposure* per day:
how many units of the EXO to hold. Exposures use only data up to the day before they apply
(they are shifted one day), so a member's P&L is ``exposure(t-1) × (exo(t) − exo(t-1))``.

Rules (each over a parameter grid, each for direction +1 long-only, −1 short-only, or 0 both):

- ``ewmac``: sign of EWMA(fast) − EWMA(slow) (spans in days);
- ``breakout``: +1 above the middle of the last ``window`` days' range, −1 below.

The rebalancer (:func:`pick_members`) splits the history into a training part and the last
``oos_days`` (out of sample); a member qualifies when its Sharpe ratio is positive in both parts;
qualifying members are ranked by out-of-sample Sharpe, the best ``max_members`` are kept and
weighted in proportion to that Sharpe. The combined exposure is the weighted sum of the members'
latest exposures.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from syscore.exceptions import InvalidData

DEFAULT_GRID: dict[str, list[dict[str, int]]] = {
    "ewmac": [{"fast": f, "slow": 4 * f} for f in (2, 4, 8, 16, 32)],
    "breakout": [{"window": w} for w in (10, 20, 40, 80, 160)],
}


@dataclass(frozen=True)
class Member:
    rule: str
    params: tuple[tuple[str, int], ...]
    direction: int  #: +1 long only, −1 short only, 0 both

    @property
    def label(self) -> str:
        params = ",".join(f"{k}={v}" for k, v in self.params)
        side = {1: "long", -1: "short", 0: "both"}[self.direction]
        return f"{self.rule}({params}) {side}"


def raw_signal(rule: str, exo: pd.Series, params: dict[str, int]) -> pd.Series:
    if rule == "ewmac":
        fast = exo.ewm(span=params["fast"], min_periods=params["fast"]).mean()
        slow = exo.ewm(span=params["slow"], min_periods=params["slow"]).mean()
        return np.sign(fast - slow)
    if rule == "breakout":
        window = params["window"]
        high = exo.rolling(window, min_periods=window).max()
        low = exo.rolling(window, min_periods=window).min()
        return np.sign(exo - (high + low) / 2.0)
    raise InvalidData(f"unknown alpha rule {rule!r}; known: ewmac, breakout")


def exposure(member: Member, exo: pd.Series) -> pd.Series:
    """Exposure per day, applying from the next day (shifted), NaN where not yet defined."""
    signal = raw_signal(member.rule, exo, dict(member.params))
    if member.direction == 1:
        signal = signal.clip(lower=0)
    elif member.direction == -1:
        signal = signal.clip(upper=0)
    return signal.shift(1)


def next_exposure(member: Member, exo: pd.Series) -> float:
    """The exposure that applies from the day after the series' last day."""
    signal = raw_signal(member.rule, exo, dict(member.params)).iloc[-1]
    if pd.isna(signal):
        return 0.0
    low, high = (0.0 if member.direction == 1 else -1.0), (0.0 if member.direction == -1 else 1.0)
    return float(np.clip(signal, low, high))


def member_pnl(member: Member, exo: pd.Series) -> pd.Series:
    return (exposure(member, exo) * exo.diff()).fillna(0.0)


def sharpe(pnl: pd.Series) -> float:
    """Annualised (×√256) mean/std of daily P&L; 0 when it cannot be computed."""
    std = pnl.std()
    if len(pnl) < 2 or not np.isfinite(std) or std == 0:
        return 0.0
    return float(pnl.mean() / std * math.sqrt(256))


def members(grid: dict[str, list[dict[str, int]]] | None = None,
            directions: tuple[int, ...] = (1, -1)) -> list[Member]:
    grid = grid or DEFAULT_GRID
    return [Member(rule, tuple(sorted(params.items())), direction)
            for rule, options in grid.items() for params, direction in
            itertools.product(options, directions)]


@dataclass(frozen=True)
class Pick:
    member: Member
    weight: float
    in_sample_sharpe: float
    out_of_sample_sharpe: float
    exposure: float  #: the member's exposure from the next day on (today's signal)


@dataclass(frozen=True)
class Rebalance:
    picks: tuple[Pick, ...]
    exposure: float   #: Σ weight × member exposure
    candidates: int


def pick_members(exo: pd.Series, oos_days: int = 126, max_members: int = 5,
                 grid: dict[str, list[dict[str, int]]] | None = None,
                 directions: tuple[int, ...] = (1, -1)) -> Rebalance:
    """See module docstring. ``exo``: the EXO's value series, oldest first."""
    if len(exo) <= oos_days + 20:
        raise InvalidData(f"{len(exo)} rows: too short for {oos_days} out-of-sample days")
    candidates = members(grid, directions)
    scored = []
    for member in candidates:
        pnl = member_pnl(member, exo)
        in_sample, out_sample = sharpe(pnl.iloc[:-oos_days]), sharpe(pnl.iloc[-oos_days:])
        if in_sample > 0 and out_sample > 0:
            scored.append((out_sample, in_sample, member, next_exposure(member, exo)))
    scored.sort(key=lambda item: (-item[0], item[2].label))
    chosen = scored[:max_members]
    total = sum(item[0] for item in chosen)
    picks = tuple(Pick(member, oos / total, ins, oos, exp) for oos, ins, member, exp in chosen)
    return Rebalance(picks, sum(p.weight * p.exposure for p in picks), len(candidates))
