"""Spike check: is a new price change abnormally large compared with past changes?

For a price series p at strictly increasing UTC timestamps t (existing history followed by new
bars), each change ``i`` (from bar ``i-1`` to bar ``i``) is scaled to one day::

    elapsed_i = (t_i − t_{i-1}) in fractional days        (e.g. 1/24 for an hour, 3 for a weekend)
    x_i       = |p_i − p_{i-1}| / sqrt(elapsed_i)

The *reference* for change ``i`` is the exponentially weighted mean of the **past** scaled changes
``x_1 .. x_{i-1}`` — every change strictly before change ``i``, up to and including the previous
change, over existing history and earlier new bars alike — with ``span`` (default 500) and
pandas ``ewm(adjust=True)`` weights. Change ``i`` is a spike if ``x_i > max_price_spike × reference``
(default 8). The first change of a series has no reference and is never a spike; a reference of 0
(flat history) makes any move a spike.

Only changes that end on a new bar are checked; the first new bar is compared with the last stored
bar, however long the gap (the √elapsed scaling allows for the gap). NaN prices are ignored. A spike
is reported at the timestamp of the bar that ends the change, so a single bad bar normally shows
two spikes (in and out) and a run of bad bars shows its first bar and the bar after it. Bars from the
first spike on should be held back for a manual check (:meth:`SpikeCheckResult.accepted`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from syscore.exceptions import ConfigError, InvalidData
from sysobjects.timeindex import as_utc_index, check_strictly_increasing

NANOSECONDS_PER_DAY = 86_400 * 1_000_000_000


@dataclass(frozen=True)
class SpikeCheckSettings:
    """``max_price_spike``: threshold multiple; ``span``: EWM span in changes;
    ``min_reference_changes``: a change is checked only when at least this many changes precede
    it (default 1, every change that has a reference; an initial load checks its history for
    information with :data:`INITIAL_LOAD_MIN_CHANGES`, as a reference of one or two changes
    flags ordinary moves)."""

    max_price_spike: float = 8.0
    span: int = 500
    min_reference_changes: int = 1

    def __post_init__(self) -> None:
        if not (isinstance(self.max_price_spike, (int, float)) and self.max_price_spike > 0):
            raise ConfigError(f"max_price_spike must be > 0, got {self.max_price_spike!r}")
        if not (isinstance(self.span, int) and self.span >= 1):
            raise ConfigError(f"spike check span must be an integer >= 1, got {self.span!r}")
        if not (isinstance(self.min_reference_changes, int) and self.min_reference_changes >= 1):
            raise ConfigError("spike check min_reference_changes must be an integer >= 1, got "
                              f"{self.min_reference_changes!r}")


#: past changes an initial load's informational check needs before it trusts its reference
INITIAL_LOAD_MIN_CHANGES = 20


@dataclass(frozen=True)
class SpikeCheckResult:
    """Per new bar: ``change_per_day`` (x_i), ``reference`` (past EWM mean), ``ratio`` and
    ``is_spike``; ``spikes`` lists the spiking timestamps (UTC)."""

    checked: pd.DataFrame
    spikes: pd.DatetimeIndex

    @property
    def has_spikes(self) -> bool:
        return len(self.spikes) > 0

    @property
    def first_spike(self) -> pd.Timestamp | None:
        return self.spikes[0] if len(self.spikes) else None

    def accepted(self, new: pd.Series) -> pd.Series:
        """The part of ``new`` strictly before the first spike (all of it if none)."""
        if not self.has_spikes:
            return new
        index = as_utc_index(new.index)
        return new[(index < self.spikes[0])]


def _clean_series(series: pd.Series, what: str) -> pd.Series:
    try:
        values = pd.to_numeric(series, errors="raise").astype(float)
    except (TypeError, ValueError) as exc:
        raise InvalidData(f"{what}: not numeric ({exc})") from None
    values = values.set_axis(as_utc_index(series.index, what))
    values = values[np.isfinite(values.to_numpy())]
    check_strictly_increasing(values.index, what)
    return values


def check_for_spikes(
    existing: pd.Series,
    new: pd.Series,
    settings: SpikeCheckSettings | None = None,
) -> SpikeCheckResult:
    """Check ``new`` bars appended to ``existing`` history (see module docstring).

    Both are price series (FINAL for futures, PRICE for FX) with UTC (or naive = UTC) indexes;
    every new timestamp must be after the last existing one.
    """
    settings = settings or SpikeCheckSettings()
    old = _clean_series(existing, "existing prices")
    fresh = _clean_series(new, "new prices")
    if len(old) and len(fresh) and fresh.index[0] <= old.index[-1]:
        raise InvalidData(
            f"new prices start at {fresh.index[0]}, not after the last existing price "
            f"{old.index[-1]}"
        )
    values = np.concatenate([old.to_numpy(), fresh.to_numpy()])
    stamps = np.concatenate([old.index.asi8, fresh.index.asi8])
    n_old = len(old)
    if len(values) < 2:
        x = np.array([])
    else:
        elapsed_days = np.diff(stamps) / NANOSECONDS_PER_DAY
        x = np.abs(np.diff(values)) / np.sqrt(elapsed_days)
    # x[j] is the change ending at bar j+1
    ewm = pd.Series(x).ewm(span=settings.span, adjust=True).mean().to_numpy()
    reference = np.concatenate([[np.nan], ewm[:-1]]) if len(x) else ewm
    first_new_change = max(n_old - 1, 0)
    sel = slice(first_new_change, None)
    x_new, ref_new = x[sel], reference[sel]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = x_new / ref_new
    past_changes = np.arange(first_new_change, first_new_change + len(x_new))
    is_spike = np.where(np.isnan(ref_new) | (past_changes < settings.min_reference_changes),
                        False, x_new > settings.max_price_spike * ref_new)
    # bar index of each checked change's end
    bar_index = fresh.index[len(fresh) - len(x_new):] if len(x_new) else fresh.index[:0]
    checked = pd.DataFrame(
        {"change_per_day": x_new, "reference": ref_new, "ratio": ratio, "is_spike": is_spike},
        index=bar_index,
    )
    return SpikeCheckResult(checked=checked, spikes=bar_index[is_spike])
