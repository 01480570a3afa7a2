"""Bad data on request: random rates and explicit injections applied to served bars.

Bad data is a data-feed artefact: it changes the bars returned by ``get_historical_bars`` only,
never the prices the simulated exchange fills at. Whether a bar is corrupted is a pure function
of (seed, instrument, contract, frequency, bar label), so it is reproducible.

Kinds:

* ``SPIKE``: OPEN/HIGH/LOW/FINAL multiplied by ``factor`` (default 1.5, or 1/1.5 half the time
  for random spikes);
* ``ZERO_PRICE``: OPEN/HIGH/LOW/FINAL set to 0;
* ``ZERO_VOLUME``: VOLUME set to 0;
* ``GAP``: the bar is missing;
* ``LATE``: the bar only becomes visible ``delay`` after its label (when ``as_of`` is given).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sysbrokers.sim.counter_rng import stable_hash, stream_key, uniforms
from sysbrokers.sim.paths import Stream


class BadDataKind(enum.Enum):
    SPIKE = "spike"
    ZERO_PRICE = "zero_price"
    ZERO_VOLUME = "zero_volume"
    GAP = "gap"
    LATE = "late"


_KIND_INDEX = {kind: i for i, kind in enumerate(BadDataKind)}
PRICE_COLUMNS = ["OPEN", "HIGH", "LOW", "FINAL"]


@dataclass(frozen=True)
class BadDataInjection:
    """Corrupt the bars of ``instrument_code`` (and ``contract_date`` if given; ``None`` means
    every contract) whose labels fall in ``[start, end]`` (UTC, inclusive)."""

    kind: BadDataKind
    instrument_code: str
    start: pd.Timestamp
    end: pd.Timestamp
    contract_date: str | None = None
    factor: float = 1.5
    delay: pd.Timedelta = pd.Timedelta(hours=2)

    def matches(self, instrument_code: str, contract_date: str) -> bool:
        return self.instrument_code == instrument_code and self.contract_date in (
            None,
            contract_date,
        )


@dataclass(frozen=True)
class BadDataConfig:
    """Per-bar probabilities of each kind (default 0: clean data) and explicit injections."""

    spike_rate: float = 0.0
    zero_price_rate: float = 0.0
    zero_volume_rate: float = 0.0
    gap_rate: float = 0.0
    late_rate: float = 0.0
    spike_factor: float = 1.5
    late_delay: pd.Timedelta = pd.Timedelta(hours=2)
    injections: tuple[BadDataInjection, ...] = field(default_factory=tuple)

    def rate(self, kind: BadDataKind) -> float:
        return {
            BadDataKind.SPIKE: self.spike_rate,
            BadDataKind.ZERO_PRICE: self.zero_price_rate,
            BadDataKind.ZERO_VOLUME: self.zero_volume_rate,
            BadDataKind.GAP: self.gap_rate,
            BadDataKind.LATE: self.late_rate,
        }[kind]

    @property
    def is_clean(self) -> bool:
        return not self.injections and all(self.rate(k) == 0 for k in BadDataKind)


def apply_bad_data(
    bars: pd.DataFrame,
    config: BadDataConfig,
    seed: int,
    instrument_code: str,
    contract_date: str,
    frequency: str,
    as_of: pd.Timestamp | None,
) -> pd.DataFrame:
    """Return a corrupted copy of ``bars`` (index: UTC bar labels)."""
    if config.is_clean or bars.empty:
        return bars
    labels = bars.index.asi8
    masks: dict[BadDataKind, np.ndarray] = {}
    key = stream_key(
        seed, stable_hash(instrument_code), Stream.BAD_DATA, int(contract_date), ord(frequency)
    )
    seconds = labels // 1_000_000_000
    for kind in BadDataKind:
        rate = config.rate(kind)
        masks[kind] = (
            uniforms(key, seconds * 8 + _KIND_INDEX[kind]) < rate
            if rate > 0
            else np.zeros(len(bars), bool)
        )
    factors = np.where(
        uniforms(key, seconds * 8 + 7) < 0.5, config.spike_factor, 1.0 / config.spike_factor
    )
    delays = np.full(len(bars), config.late_delay.value, dtype=np.int64)
    for injection in config.injections:
        if not injection.matches(instrument_code, contract_date):
            continue
        hit = (labels >= injection.start.value) & (labels <= injection.end.value)
        masks[injection.kind] = masks[injection.kind] | hit
        if injection.kind is BadDataKind.SPIKE:
            factors = np.where(hit, injection.factor, factors)
        if injection.kind is BadDataKind.LATE:
            delays = np.where(hit, injection.delay.value, delays)

    out = bars.copy()
    prices = out[PRICE_COLUMNS].to_numpy(dtype=float)
    prices = np.where(masks[BadDataKind.SPIKE][:, None], prices * factors[:, None], prices)
    prices = np.where(masks[BadDataKind.ZERO_PRICE][:, None], 0.0, prices)
    out[PRICE_COLUMNS] = prices
    out.loc[masks[BadDataKind.ZERO_VOLUME], "VOLUME"] = 0
    drop = masks[BadDataKind.GAP].copy()
    if as_of is not None:
        drop |= masks[BadDataKind.LATE] & (labels + delays > as_of.value)
    return out[~drop]
