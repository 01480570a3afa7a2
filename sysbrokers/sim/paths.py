"""Deterministic underlying price paths and term-structure (carry) paths.

An underlying is a log price defined on the whole simulated history at once:

* **daily anchors** (UTC midnights) from the epoch to the horizon: a mean-reverting random walk
  (Ornstein-Uhlenbeck on the log price, half-life ``half_life_years``) whose daily volatility
  moves between regimes and which occasionally jumps. Weekdays carry the diffusion, jumps can
  happen on any day (a weekend jump shows as a Monday gap). The total variance per weekday is
  ``(annual_vol / 16)**2`` (256 trading days a year), jumps included;
* **hourly values** between anchors: a Brownian bridge from one anchor to the next (the day's
  move, jump included, spread over the day). Values between hours are linearly interpolated.

**A clean market passes the spike check.** ``update_historical_prices`` and ``init_spot_fx`` flag
a change larger than ``max_price_spike`` (8) times the average past change per √day. A clean
simulated market must never trip that, so (bad prices come only from ``bad_data``):

* every random shock, daily (diffusion plus jump) and hourly (bridge step), is a normal
  soft-limited to :data:`SHOCK_LIMIT` (3) standard deviations, ``3 tanh(z / 3)``, rescaled to unit
  variance. Unbounded normals and jumps of 3 regime sigmas times a normal gave moves of 10-40
  times the average (a jump landing in one hourly bar is ~5 times larger per √day than the same
  move spread over a day);
* the regime volatility is smoothed (EWMA, half-life :data:`REGIME_SMOOTHING_DAYS`) and its
  multipliers kept within a factor of about two (0.7 to 1.5), so the spike check's reference
  (an EWMA of 500 past changes, weeks of hourly bars, two years of daily ones) keeps up with it.

A change is then at most about 3.5 sigmas of the current regime, and the reference about 0.8
sigmas of a regime at most 1.5 times calmer: well under 8.

All random numbers come from :mod:`sysbrokers.sim.counter_rng`, keyed by (seed, path key,
stream, day or hour index), so any hour is a pure function of its coordinates: overlapping
requests and different processes always agree.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd

from sysbrokers.sim.counter_rng import normals, stable_hash, stream_key, uniforms
from sysbrokers.sim.universe import PathSpec

HOUR_NS = 3_600_000_000_000
DAY_NS = 24 * HOUR_NS
YEAR_NS = int(365.25 * DAY_NS)
TRADING_DAYS_PER_YEAR = 256
SHOCK_LIMIT = 3.0
REGIME_SMOOTHING_DAYS = 30.0


def _limit_scale(limit: float) -> float:
    """Standard deviation of ``limit * tanh(Z / limit)`` for a standard normal ``Z``."""
    z = np.linspace(-12.0, 12.0, 24001)
    density = np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
    return math.sqrt(float(np.sum((limit * np.tanh(z / limit)) ** 2 * density) * (z[1] - z[0])))


_SHOCK_SCALE = _limit_scale(SHOCK_LIMIT)


def limited_shocks(z: np.ndarray) -> np.ndarray:
    """Unit-variance shocks soft-limited to about :data:`SHOCK_LIMIT` standard deviations."""
    return SHOCK_LIMIT * np.tanh(np.asarray(z) / SHOCK_LIMIT) / _SHOCK_SCALE


class Stream:
    """Stream ids: one independent random stream per use."""

    REGIME_SWITCH = 1
    REGIME_STATE = 2
    DIFFUSION = 3
    JUMP_OCCURS = 4
    JUMP_SIZE = 5
    JUMP_HOUR = 6  # no longer drawn (a jump is spread over its day); id kept reserved
    BRIDGE = 7
    CARRY_START = 8
    CARRY_NOISE = 9
    HIGH_LOW = 10
    VOLUME = 11
    BOOK_SIZE = 12
    BAD_DATA = 13
    VOLUME_DAY = 14


def ornstein_uhlenbeck(x0: float, mu: float, phi: float, eps: np.ndarray) -> np.ndarray:
    """``x[0] = x0``, ``x[i+1] - mu = phi * (x[i] - mu) + eps[i]``; returns ``len(eps) + 1`` values.

    Vectorised in chunks short enough that ``phi ** -chunk`` stays well inside float range.
    """
    n = len(eps)
    out = np.empty(n + 1)
    out[0] = x0
    if phi >= 1.0:
        out[1:] = x0 + np.cumsum(eps)
        return out
    chunk = max(1, min(n, int(25.0 / -math.log(phi))))
    y0 = x0 - mu
    for start in range(0, n, chunk):
        e = eps[start : start + chunk]
        j = np.arange(1, len(e) + 1)
        y = phi**j * (y0 + np.cumsum(e * phi ** (-j.astype(float))))
        out[start + 1 : start + 1 + len(e)] = y + mu
        y0 = y[-1]
    return out


class UnderlyingPath:
    """Log price of one underlying (instrument or FX pair) over the simulated history."""

    def __init__(self, spec: PathSpec, seed: int, epoch: dt.date, horizon: dt.date):
        self.spec = spec
        self.epoch_ns = pd.Timestamp(epoch, tz="UTC").value
        n_days = (horizon - epoch).days + 1
        self.n_days = n_days
        key = stable_hash(spec.key)
        self._key = key
        self._seed = seed
        days = np.arange(n_days)
        weekday = (epoch.weekday() + days) % 7
        trading = weekday < 5

        # volatility regimes: switch on a day with probability 1 / mean length
        switch = (
            uniforms(stream_key(seed, key, Stream.REGIME_SWITCH), days)
            < 1.0 / spec.regime_mean_days
        )
        regime_id = np.cumsum(switch)
        u_state = uniforms(stream_key(seed, key, Stream.REGIME_STATE), regime_id)
        probs = np.asarray(spec.regime_probabilities, dtype=float)
        mults = np.asarray(spec.regime_multipliers, dtype=float)
        mults = mults / math.sqrt(float(np.sum(probs * mults**2)))
        state = np.searchsorted(np.cumsum(probs) / probs.sum(), u_state)
        raw_mult = mults[np.minimum(state, len(mults) - 1)]
        smooth = 0.5 ** (1.0 / REGIME_SMOOTHING_DAYS)
        mult = ornstein_uhlenbeck(float(raw_mult[0]), 0.0, smooth, (1.0 - smooth) * raw_mult[1:])
        regime_sigma = spec.annual_vol / math.sqrt(TRADING_DAYS_PER_YEAR) * mult
        self.regime_sigma = regime_sigma.astype(np.float32)

        jump_var_share = 7.0 / 5.0 * spec.jump_rate_per_day * spec.jump_size_sigmas**2
        diff_share = math.sqrt(max(0.0, 1.0 - jump_var_share))
        diff_sigma = regime_sigma * diff_share * trading
        self.diff_sigma = diff_sigma
        jumps = uniforms(stream_key(seed, key, Stream.JUMP_OCCURS), days) < spec.jump_rate_per_day
        # one shock a day, in regime sigmas: the diffusion (weekdays) plus any jump, limited
        shock = diff_share * trading * normals(stream_key(seed, key, Stream.DIFFUSION), days)
        shock += np.where(jumps, spec.jump_size_sigmas
                          * normals(stream_key(seed, key, Stream.JUMP_SIZE), days), 0.0)
        daily_moves = regime_sigma * limited_shocks(shock)
        phi = 0.5 ** (1.0 / (spec.half_life_years * 365.25))
        level = math.log(spec.price)
        self.anchors = ornstein_uhlenbeck(level, level, phi, daily_moves)
        self._bridge_key = stream_key(seed, key, Stream.BRIDGE)

    def shift(self, offset: float) -> None:
        """Move the whole log path by ``offset`` (anchoring it to a stored price)."""
        self.anchors = self.anchors + float(offset)

    # ------------------------------------------------------------------------------------
    def day_index(self, t_ns: np.ndarray) -> np.ndarray:
        return (np.asarray(t_ns, dtype=np.int64) - self.epoch_ns) // DAY_NS

    def check_range(self, t_ns: np.ndarray) -> None:
        if len(t_ns) == 0:
            return
        d = self.day_index(np.array([np.min(t_ns), np.max(t_ns)]))
        if d[0] < 0 or d[1] >= self.n_days - 1:
            raise ValueError(
                f"time outside the simulated history of {self.spec.key} "
                f"({pd.Timestamp(self.epoch_ns, tz='UTC').date()} + {self.n_days - 1} days)"
            )

    def hourly(self, first_hour: int, last_hour: int) -> np.ndarray:
        """Log price at every whole hour ``first_hour..last_hour`` (hours since the epoch)."""
        hours = np.arange(first_hour, last_hour + 1, dtype=np.int64)
        d = hours // 24
        k = hours % 24
        d0, d1 = int(d[0]), int(d[-1])
        days = np.arange(d0, d1 + 1, dtype=np.int64)
        steps = limited_shocks(
            normals(self._bridge_key, days[:, None] * 24 + np.arange(24)[None, :]))
        steps *= (self.diff_sigma[days] / math.sqrt(24.0))[:, None]
        walk = np.cumsum(steps, axis=1)
        walk_k = np.concatenate([np.zeros((len(days), 1)), walk[:, :23]], axis=1)
        bridge = walk_k - (np.arange(24) / 24.0)[None, :] * walk[:, 23:24]
        frac = k / 24.0
        drift = self.anchors[d + 1] - self.anchors[d]
        return self.anchors[d] + frac * drift + bridge[d - d0, k]

    def log_price(self, t_ns: np.ndarray) -> np.ndarray:
        """Log price at arbitrary UTC times (int64 ns since 1970)."""
        t = np.asarray(t_ns, dtype=np.int64)
        if t.size == 0:
            return np.empty(0)
        self.check_range(t)
        rel = t - self.epoch_ns
        h = rel // HOUR_NS
        h0 = int(h.min())
        grid = self.hourly(h0, int(h.max()) + 1)
        idx = h - h0
        frac = (rel - h * HOUR_NS) / HOUR_NS
        return grid[idx] + frac * (grid[idx + 1] - grid[idx])

    def sigma_at(self, t_ns: np.ndarray) -> np.ndarray:
        """Regime daily volatility (log units) on the UTC day of each time."""
        return self.regime_sigma[self.day_index(t_ns)].astype(np.float64)


class CarryPath:
    """Annualised log slope of the futures curve: ``log F(T) = log S + c * (T - t)``.

    ``c`` follows an Ornstein-Uhlenbeck process around ``mean`` with stationary standard
    deviation ``vol`` and half-life ``half_life_years``; it can change sign. Positive ``c`` is
    contango (far contracts dearer, negative roll yield for a long position).
    """

    def __init__(
        self,
        key: str,
        mean: float,
        vol: float,
        half_life_years: float,
        seed: int,
        epoch: dt.date,
        horizon: dt.date,
    ):
        self.epoch_ns = pd.Timestamp(epoch, tz="UTC").value
        n_days = (horizon - epoch).days + 1
        h = stable_hash(key)
        phi = 0.5 ** (1.0 / (half_life_years * 365.25))
        start = mean + vol * float(
            normals(stream_key(seed, h, Stream.CARRY_START), np.array([0]))[0]
        )
        eps = (
            vol
            * math.sqrt(1.0 - phi**2)
            * normals(stream_key(seed, h, Stream.CARRY_NOISE), np.arange(n_days))
        )
        self.daily = ornstein_uhlenbeck(start, mean, phi, eps)

    def at(self, t_ns: np.ndarray) -> np.ndarray:
        days = (np.asarray(t_ns, dtype=np.int64) - self.epoch_ns) / DAY_NS
        return np.interp(days, np.arange(len(self.daily)), self.daily)
