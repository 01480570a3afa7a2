"""The deterministic market model: futures curves, bars, quotes and FX.

Price of a contract expiring at ``T`` (log): ``log F(t) = log S(t) + c(t) * tau``, with ``S`` the
instrument's underlying path (:class:`~sysbrokers.sim.paths.UnderlyingPath`), ``c`` its carry
path (annualised, positive = contango) and ``tau = (T - t)`` in years (zero at expiry, so every
contract converges to the underlying).

Bars are produced only inside trading sessions. An hourly bar covers ``[max(hour, session
open), min(hour + 1h, session close))`` and is labelled with its end; a daily bar aggregates the
hourly bars of one trading day (exchange-local date of the session close) and is labelled with
the day's last session close. Prices are rounded to the tick.

Volume: ``daily_volume`` spread across contracts by a liquidity share that moves from one
liquid-cycle contract to the next ``roll_days`` before expiry (logistic, width 1.5 days), plus a
small tail in deferred contracts (which also fades at the roll), with log-normal noise.

All randomness is counter-based (:mod:`sysbrokers.sim.counter_rng`): any bar, quote or FX rate
is a pure function of (seed, instrument, contract, time).
"""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np
import pandas as pd

from sysbrokers.broker import BAR_COLUMNS
from sysbrokers.errors import UnknownContract
from sysbrokers.objects import (
    BrokerContractDetails,
    TradingHours,
    TradingSession,
    check_contract_date,
)
from sysbrokers.sim.bad_data import BadDataConfig, apply_bad_data
from sysbrokers.sim.counter_rng import normals, stable_hash, stream_key, uniforms
from sysbrokers.sim.paths import DAY_NS, HOUR_NS, YEAR_NS, CarryPath, Stream, UnderlyingPath
from sysbrokers.sim.sessions import SessionArrays, SessionCache, weekly_session_hours
from sysbrokers.sim.universe import MONTH_LETTERS, InstrumentSpec, Universe, load_universe
from syscore.dates import aware_to_utc

#: an FX anchor this close (in log price) to the model is history the simulator itself wrote
FX_ANCHOR_TOLERANCE = 1e-9

ROLL_WIDTH_DAYS = 1.5
MAIN_SHARE = 0.9
TAIL_SHARE = 0.05
TAIL_DECAY_DAYS = 180.0
VOLUME_NOISE = 0.4
HIGH_LOW_SCALE = 0.6


@dataclass(frozen=True)
class _BarGrid:
    """Instrument-level hourly bar skeleton for one UTC year (shared by all its contracts)."""

    start_ns: np.ndarray
    label_ns: np.ndarray
    trading_day: np.ndarray
    hour: np.ndarray
    log_s_start: np.ndarray
    log_s_label: np.ndarray
    carry_start: np.ndarray
    carry_label: np.ndarray
    sigma: np.ndarray
    hl_noise: np.ndarray  # (n, 2) absolute normals for high / low excursions


@dataclass(frozen=True)
class Quotes:
    """Top-of-book arrays at the requested times (see :meth:`MarketModel.quotes`)."""

    time_ns: np.ndarray
    bid: np.ndarray
    ask: np.ndarray
    bid_size: np.ndarray
    ask_size: np.ndarray
    is_open: np.ndarray


class MarketModel:
    """Deterministic simulated market for a :class:`Universe`.

    ``bad_data`` corrupts served bars only (see :mod:`sysbrokers.sim.bad_data`).
    ``grid_cache_size`` bounds the number of cached instrument-years of hourly skeletons.
    """

    def __init__(
        self,
        universe: Universe | None = None,
        bad_data: BadDataConfig | None = None,
        grid_cache_size: int = 64,
    ):
        self.universe = universe if universe is not None else load_universe()
        self.bad_data = bad_data if bad_data is not None else BadDataConfig()
        self.seed = self.universe.seed
        self._paths: dict[str, UnderlyingPath] = {}
        self._carry: dict[str, CarryPath] = {}
        self._grids: OrderedDict[tuple[str, int], _BarGrid] = OrderedDict()
        self._grid_cache_size = grid_cache_size
        self._expiry_cache: dict[tuple[str, str], int] = {}
        self._sessions = SessionCache()
        self.first_ns = pd.Timestamp(self.universe.epoch, tz="UTC").value + 7 * DAY_NS
        self.last_ns = pd.Timestamp(self.universe.horizon, tz="UTC").value - 7 * DAY_NS

    # ---------------------------------------------------------------- reference data
    def instruments(self) -> list[str]:
        return sorted(self.universe.instruments)

    def spec(self, instrument_code: str) -> InstrumentSpec:
        try:
            return self.universe.instruments[instrument_code]
        except KeyError:
            raise UnknownContract(f"unknown instrument {instrument_code!r}") from None

    def check_contract(self, instrument_code: str, contract_date: str) -> InstrumentSpec:
        """Spec of the instrument if ``contract_date`` is in its priced cycle, else UnknownContract."""
        spec = self.spec(instrument_code)
        try:
            check_contract_date(contract_date)
        except ValueError as exc:
            raise UnknownContract(str(exc)) from None
        letter = MONTH_LETTERS[int(contract_date[4:6]) - 1]
        if letter not in spec.priced_cycle:
            raise UnknownContract(
                f"{instrument_code} has no {contract_date} contract (priced cycle {spec.priced_cycle})"
            )
        return spec

    def contract_details(self, instrument_code: str, contract_date: str) -> BrokerContractDetails:
        spec = self.check_contract(instrument_code, contract_date)
        return BrokerContractDetails(
            instrument_code=instrument_code,
            contract_date=contract_date[:6],
            expiry=spec.expiry(contract_date),
            multiplier=spec.multiplier,
            currency=spec.currency,
            tick_size=spec.tick_size,
            exchange=spec.exchange,
            asset_class=spec.asset_class,
            description=spec.description,
        )

    def expiry_ns(self, instrument_code: str, contract_date: str) -> int:
        """Last trading instant (UTC ns): the last session close on the expiry date."""
        cache_key = (instrument_code, contract_date[:6])
        if cache_key not in self._expiry_cache:
            spec = self.check_contract(instrument_code, contract_date)
            expiry = spec.expiry(contract_date)
            day = pd.Timestamp(expiry, tz="UTC").value
            sessions = self._sessions.between(spec.hours, day - DAY_NS, day + 2 * DAY_NS)
            on_day = sessions.close_ns[sessions.trading_day == day // DAY_NS]
            self._expiry_cache[cache_key] = int(on_day.max()) if len(on_day) else day + DAY_NS
        return self._expiry_cache[cache_key]

    def listing_ns(self, instrument_code: str, contract_date: str) -> int:
        spec = self.check_contract(instrument_code, contract_date)
        return pd.Timestamp(spec.first_listed(contract_date), tz="UTC").value

    def contracts_expiring_between(
        self, instrument_code: str, start: dt.date, end: dt.date
    ) -> list[str]:
        """Priced-cycle contracts with expiry in ``[start, end]``, by expiry."""
        spec = self.spec(instrument_code)
        candidates = spec.contract_months(start.year - 1, end.year + 1)
        return [c for c in candidates if start <= spec.expiry(c) <= end]

    def active_contracts(self, instrument_code: str, when: pd.Timestamp) -> list[str]:
        """Contracts listed at ``when`` and not yet past their last trading instant."""
        spec = self.spec(instrument_code)
        t = aware_to_utc(when).value
        candidates = spec.contract_months(when.year - 1, when.year + spec.listed_months // 12 + 2)
        return [
            c
            for c in candidates
            if self.listing_ns(instrument_code, c) <= t < self.expiry_ns(instrument_code, c)
        ]

    # ---------------------------------------------------------------- sessions
    def sessions(self, instrument_code: str, start_ns: int, end_ns: int) -> SessionArrays:
        return self._sessions.between(self.spec(instrument_code).hours, start_ns, end_ns)

    def trading_hours(
        self, instrument_code: str, start: pd.Timestamp, end: pd.Timestamp
    ) -> TradingHours:
        s = self.sessions(instrument_code, aware_to_utc(start).value, aware_to_utc(end).value + 1)
        return TradingHours(
            instrument_code,
            tuple(
                TradingSession(pd.Timestamp(o, tz="UTC"), pd.Timestamp(c, tz="UTC"))
                for o, c in zip(s.open_ns, s.close_ns, strict=True)
            ),
        )

    def open_mask(self, instrument_code: str, t_ns: np.ndarray) -> np.ndarray:
        t = np.asarray(t_ns, dtype=np.int64)
        if t.size == 0:
            return np.zeros(0, dtype=bool)
        s = self.sessions(instrument_code, int(t.min()), int(t.max()) + 1)
        return s.open_mask(t)

    def is_open(self, instrument_code: str, when: pd.Timestamp) -> bool:
        return bool(self.open_mask(instrument_code, np.array([aware_to_utc(when).value]))[0])

    def last_open_instant(self, instrument_code: str, when_ns: int) -> int:
        """``when_ns`` if open, else the close of the last session before it (minus 1 ns)."""
        s = self.sessions(instrument_code, when_ns - 10 * DAY_NS, when_ns + 1)
        if len(s) and s.open_mask(np.array([when_ns]))[0]:
            return when_ns
        closes = s.close_ns[s.close_ns <= when_ns]
        if not len(closes):
            raise UnknownContract(f"{instrument_code}: no session in the 10 days before {when_ns}")
        return int(closes.max()) - 1

    # ---------------------------------------------------------------- paths
    def _path(self, spec: InstrumentSpec) -> UnderlyingPath:
        key = spec.path.key
        if spec.anchor is None and key in self.universe.fx:
            return self._fx_path(key)  # an FX future moves with its (possibly anchored) pair
        if key not in self._paths:
            path = UnderlyingPath(spec.path, self.seed, self.universe.epoch, self.universe.horizon)
            if spec.anchor is not None:
                # join the stored history: the anchor contract trades at the anchor price
                anchor = spec.anchor
                t = np.array([aware_to_utc(pd.Timestamp(anchor.time)).value], dtype=np.int64)
                tau = max(self.expiry_ns(spec.code, anchor.contract_date) - int(t[0]), 0) / YEAR_NS
                model = float(path.log_price(t)[0] + self.carry(spec.code, t)[0] * tau)
                path.shift(np.log(anchor.price) - model)
            self._paths[key] = path
        return self._paths[key]

    def _fx_path(self, pair: str) -> UnderlyingPath:
        if pair not in self._paths:
            fx = self.universe.fx[pair]
            path = UnderlyingPath(fx.path, self.seed, self.universe.epoch, self.universe.horizon)
            if fx.anchor is not None:
                # join the stored FX history: the pair trades at the anchor price at its time
                t = np.array([aware_to_utc(pd.Timestamp(fx.anchor.time)).value], dtype=np.int64)
                offset = float(np.log(fx.anchor.price) - path.log_price(t)[0])
                if abs(offset) > FX_ANCHOR_TOLERANCE:  # history the simulator wrote: no shift
                    path.shift(offset)
            self._paths[pair] = path
        return self._paths[pair]

    def carry_path(self, instrument_code: str) -> CarryPath:
        if instrument_code not in self._carry:
            spec = self.spec(instrument_code)
            self._carry[instrument_code] = CarryPath(
                instrument_code,
                spec.carry_mean,
                spec.carry_vol,
                spec.carry_half_life_years,
                self.seed,
                self.universe.epoch,
                self.universe.horizon,
            )
        return self._carry[instrument_code]

    def carry(self, instrument_code: str, t_ns: np.ndarray) -> np.ndarray:
        """Model carry ``c(t)`` (annualised log slope; positive = contango)."""
        return self.carry_path(instrument_code).at(t_ns)

    def _check_time(self, t_ns: np.ndarray) -> None:
        if len(t_ns) and (np.min(t_ns) < self.first_ns or np.max(t_ns) > self.last_ns):
            raise ValueError(
                f"times outside the simulated history {self.universe.epoch}..{self.universe.horizon}"
            )

    def log_price(self, instrument_code: str, contract_date: str, t_ns: np.ndarray) -> np.ndarray:
        """Unrounded log price of a contract at the given times (no session filtering)."""
        spec = self.check_contract(instrument_code, contract_date)
        t = np.asarray(t_ns, dtype=np.int64)
        self._check_time(t)
        tau = np.maximum(self.expiry_ns(instrument_code, contract_date) - t, 0) / YEAR_NS
        return self._path(spec).log_price(t) + self.carry(instrument_code, t) * tau

    def mid_price(self, instrument_code: str, contract_date: str, t_ns: np.ndarray) -> np.ndarray:
        return np.exp(self.log_price(instrument_code, contract_date, t_ns))

    # ---------------------------------------------------------------- liquidity
    def volume_share(
        self, instrument_code: str, contract_date: str, t_ns: np.ndarray
    ) -> np.ndarray:
        """Fraction of the instrument's volume trading in this contract at each time."""
        spec = self.check_contract(instrument_code, contract_date)
        t = np.asarray(t_ns, dtype=np.int64)
        expiry = self.expiry_ns(instrument_code, contract_date)
        days_left = (expiry - t) / DAY_NS

        def g(x: np.ndarray) -> np.ndarray:
            return 1.0 / (1.0 + np.exp(-np.clip((x - spec.roll_days) / ROLL_WIDTH_DAYS, -60, 60)))

        tail = TAIL_SHARE * np.exp(-np.maximum(days_left, 0) / TAIL_DECAY_DAYS) * g(days_left)
        month_letter = MONTH_LETTERS[int(contract_date[4:6]) - 1]
        if month_letter not in spec.liquid_cycle:
            return tail
        liquid = spec.contract_months(int(contract_date[:4]) - 2, int(contract_date[:4]))
        liquid = [c for c in liquid if MONTH_LETTERS[int(c[4:6]) - 1] in spec.liquid_cycle]
        previous = liquid[liquid.index(contract_date[:6]) - 1]
        prev_days_left = (self.expiry_ns(instrument_code, previous) - t) / DAY_NS
        return MAIN_SHARE * (g(days_left) - g(prev_days_left)) + tail

    # ---------------------------------------------------------------- bars
    def _grid(self, instrument_code: str, year: int) -> _BarGrid:
        cache_key = (instrument_code, year)
        grid = self._grids.get(cache_key)
        if grid is not None:
            self._grids.move_to_end(cache_key)
            return grid
        spec = self.spec(instrument_code)
        y0 = pd.Timestamp(year=year, month=1, day=1, tz="UTC").value
        y1 = pd.Timestamp(year=year + 1, month=1, day=1, tz="UTC").value
        s = self._sessions.between(spec.hours, y0 - DAY_NS, y1 + DAY_NS)
        first_hour = (s.open_ns // HOUR_NS) * HOUR_NS
        counts = -((first_hour - s.close_ns) // HOUR_NS)  # ceil division
        session_idx = np.repeat(np.arange(len(s)), counts)
        offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        hour_start = first_hour[session_idx] + offsets * HOUR_NS
        start = np.maximum(hour_start, s.open_ns[session_idx])
        label = np.minimum(hour_start + HOUR_NS, s.close_ns[session_idx])
        keep = (label > start) & (label >= y0) & (label < y1)
        keep &= (start >= self.first_ns) & (label <= self.last_ns)
        start, label, session_idx, hour_start = (
            start[keep],
            label[keep],
            session_idx[keep],
            hour_start[keep],
        )
        path = self._path(spec)
        hour = (hour_start - path.epoch_ns) // HOUR_NS
        both = np.concatenate([start, label])
        log_s = path.log_price(both) if len(both) else np.empty(0)
        carry = self.carry(instrument_code, both) if len(both) else np.empty(0)
        n = len(start)
        hl_key = stream_key(self.seed, stable_hash(instrument_code), Stream.HIGH_LOW)
        hl = np.abs(normals(hl_key, np.stack([2 * hour, 2 * hour + 1], axis=1)))
        grid = _BarGrid(
            start_ns=start,
            label_ns=label,
            trading_day=s.trading_day[session_idx],
            hour=hour,
            log_s_start=log_s[:n],
            log_s_label=log_s[n:],
            carry_start=carry[:n],
            carry_label=carry[n:],
            sigma=path.sigma_at(start) * np.sqrt((label - start) / DAY_NS),
            hl_noise=hl,
        )
        self._grids[cache_key] = grid
        if len(self._grids) > self._grid_cache_size:
            self._grids.popitem(last=False)
        return grid

    def _hourly_arrays(
        self, instrument_code: str, contract_date: str, start_ns: int, end_ns: int
    ) -> dict:
        spec = self.check_contract(instrument_code, contract_date)
        lo = max(start_ns, self.listing_ns(instrument_code, contract_date), self.first_ns)
        expiry = self.expiry_ns(instrument_code, contract_date)
        hi = min(end_ns, expiry, self.last_ns)
        empty = {k: np.empty(0) for k in ("label", "day", "open", "high", "low", "close", "volume")}
        if hi < lo:
            return empty
        years = range(pd.Timestamp(lo, tz="UTC").year, pd.Timestamp(hi, tz="UTC").year + 1)
        grids = [self._grid(instrument_code, y) for y in years]
        label = np.concatenate([g.label_ns for g in grids])
        sel = (label >= lo) & (label <= hi)
        start_t = np.concatenate([g.start_ns for g in grids])[sel]
        if sel.sum() == 0:
            return empty
        label = label[sel]

        def cat(name: str) -> np.ndarray:
            return np.concatenate([getattr(g, name) for g in grids])[sel]

        tau_start = np.maximum(expiry - start_t, 0) / YEAR_NS
        tau_label = np.maximum(expiry - label, 0) / YEAR_NS
        o = np.exp(cat("log_s_start") + cat("carry_start") * tau_start)
        c = np.exp(cat("log_s_label") + cat("carry_label") * tau_label)
        sigma = cat("sigma")
        hl = cat("hl_noise")
        tick = spec.tick_size
        o_r = np.maximum(np.round(o / tick), 1) * tick
        c_r = np.maximum(np.round(c / tick), 1) * tick
        high = np.maximum(
            np.round(np.maximum(o, c) * np.exp(HIGH_LOW_SCALE * sigma * hl[:, 0]) / tick) * tick,
            np.maximum(o_r, c_r),
        )
        low = np.minimum(
            np.round(np.minimum(o, c) * np.exp(-HIGH_LOW_SCALE * sigma * hl[:, 1]) / tick) * tick,
            np.minimum(o_r, c_r),
        )
        low = np.maximum(low, tick)
        hours_per_day = weekly_session_hours(spec.hours) / 5.0
        duration_h = (label - start_t) / HOUR_NS
        share = self.volume_share(instrument_code, contract_date, label)
        hour = cat("hour")
        vkey = stream_key(
            self.seed, stable_hash(instrument_code), Stream.VOLUME, int(contract_date[:6])
        )
        day_key = stream_key(self.seed, stable_hash(instrument_code), Stream.VOLUME_DAY)
        day = cat("trading_day")
        noise = np.exp(VOLUME_NOISE * normals(vkey, hour) - VOLUME_NOISE**2 / 2)
        day_noise = np.exp(0.3 * normals(day_key, day) - 0.045)
        expected = spec.daily_volume * share * duration_h / hours_per_day * noise * day_noise
        volume = np.floor(expected + uniforms(vkey, hour + (1 << 40)))
        return {
            "label": label,
            "day": day,
            "open": o_r,
            "high": high,
            "low": low,
            "close": c_r,
            "volume": volume.astype(np.int64),
        }

    def bars(
        self,
        instrument_code: str,
        contract_date: str,
        frequency: str,
        start: pd.Timestamp,
        end: pd.Timestamp,
        as_of: pd.Timestamp | None = None,
    ) -> pd.DataFrame:
        """OHLCV bars (columns OPEN HIGH LOW FINAL VOLUME, UTC index of bar end labels).

        ``as_of`` (UTC) hides bars not yet complete or (bad data) not yet delivered at that time.
        Bad data configured on the model is applied.
        """
        if frequency not in ("D", "H"):
            raise ValueError(f"frequency must be 'D' or 'H', got {frequency!r}")
        start_ns, end_ns = aware_to_utc(start).value, aware_to_utc(end).value
        if as_of is not None:
            end_ns = min(end_ns, aware_to_utc(as_of).value)
        if frequency == "H":
            a = self._hourly_arrays(instrument_code, contract_date, start_ns, end_ns)
            frame = self._frame(a["label"], a["open"], a["high"], a["low"], a["close"], a["volume"])
        else:
            a = self._hourly_arrays(
                instrument_code, contract_date, start_ns - 3 * DAY_NS, end_ns + 3 * DAY_NS
            )
            frame = self._daily(a, start_ns, end_ns)
        return apply_bad_data(
            frame,
            self.bad_data,
            self.seed,
            instrument_code,
            contract_date[:6],
            frequency,
            aware_to_utc(as_of) if as_of is not None else None,
        )

    @staticmethod
    def _frame(label, o, h, lo, c, v) -> pd.DataFrame:
        index = pd.DatetimeIndex(np.asarray(label, dtype=np.int64), tz="UTC")
        return pd.DataFrame(
            {"OPEN": o, "HIGH": h, "LOW": lo, "FINAL": c, "VOLUME": np.asarray(v, dtype=np.int64)},
            index=index,
            columns=list(BAR_COLUMNS),
        )

    def _daily(self, a: dict, start_ns: int, end_ns: int) -> pd.DataFrame:
        if len(a["label"]) == 0:
            return self._frame([], [], [], [], [], [])
        day = a["day"]
        starts = np.flatnonzero(np.concatenate([[True], day[1:] != day[:-1]]))
        ends = np.concatenate([starts[1:], [len(day)]]) - 1
        label = a["label"][ends]
        frame = self._frame(
            label,
            a["open"][starts],
            np.maximum.reduceat(a["high"], starts),
            np.minimum.reduceat(a["low"], starts),
            a["close"][ends],
            np.add.reduceat(a["volume"], starts),
        )
        keep = (label >= start_ns) & (label <= end_ns)
        return frame[keep]

    # ---------------------------------------------------------------- quotes
    def quotes(self, instrument_code: str, contract_date: str, t_ns: np.ndarray) -> Quotes:
        """Top of book at each time (prices on the tick grid, sizes >= 1 contract).

        The spread is ``spread_ticks`` ticks in liquid contracts (share >= 0.2) and three times
        that in illiquid ones; sizes scale with the contract's liquidity share.
        """
        spec = self.check_contract(instrument_code, contract_date)
        t = np.asarray(t_ns, dtype=np.int64)
        mid = self.mid_price(instrument_code, contract_date, t)
        share = self.volume_share(instrument_code, contract_date, t)
        tick = spec.tick_size
        spread_ticks = np.where(share >= 0.2, spec.spread_ticks, 3 * spec.spread_ticks)
        bid_ticks = np.floor(mid / tick - spread_ticks / 2.0 + 0.5)
        bid_ticks = np.maximum(bid_ticks, 1)
        bid = bid_ticks * tick
        ask = (bid_ticks + spread_ticks) * tick
        key = stream_key(
            self.seed, stable_hash(instrument_code), Stream.BOOK_SIZE, int(contract_date[:6])
        )
        seconds = t // 1_000_000_000
        depth = spec.depth * np.maximum(share, 0.02)
        bid_size = np.maximum(1, np.floor(depth * np.exp(0.5 * normals(key, 2 * seconds)))).astype(
            np.int64
        )
        ask_size = np.maximum(
            1, np.floor(depth * np.exp(0.5 * normals(key, 2 * seconds + 1)))
        ).astype(np.int64)
        return Quotes(t, bid, ask, bid_size, ask_size, self.open_mask(instrument_code, t))

    # ---------------------------------------------------------------- FX
    def _log_usd_value(self, ccy: str, t: np.ndarray) -> np.ndarray:
        if ccy == "USD":
            return np.zeros(len(t))
        if f"{ccy}USD" in self.universe.fx:
            return self._fx_path(f"{ccy}USD").log_price(t)
        if f"USD{ccy}" in self.universe.fx:
            return -self._fx_path(f"USD{ccy}").log_price(t)
        raise UnknownContract(f"no FX rate for currency {ccy!r}")

    def fx_rate(self, ccy1: str, ccy2: str, t_ns: np.ndarray) -> np.ndarray:
        """Price of one ``ccy1`` in ``ccy2`` at each time (mid)."""
        t = np.asarray(t_ns, dtype=np.int64)
        if ccy1 == ccy2:
            return np.ones(len(t))
        self._check_time(t)
        return np.exp(self._log_usd_value(ccy1, t) - self._log_usd_value(ccy2, t))

    def fx_daily(self, ccy1: str, ccy2: str, start: pd.Timestamp, end: pd.Timestamp) -> pd.Series:
        """Daily mids at the FX session close (17:00 New York), labelled at that time (UTC)."""
        self._log_usd_value(ccy1, np.zeros(0, dtype=np.int64))
        self._log_usd_value(ccy2, np.zeros(0, dtype=np.int64))
        hours = next(iter(self.universe.fx.values())).hours
        start_ns, end_ns = aware_to_utc(start).value, aware_to_utc(end).value
        closes = self._sessions.between(hours, start_ns, end_ns + 1).close_ns
        closes = closes[
            (closes >= max(start_ns, self.first_ns)) & (closes <= min(end_ns, self.last_ns))
        ]
        values = self.fx_rate(ccy1, ccy2, closes)
        return pd.Series(values, index=pd.DatetimeIndex(closes, tz="UTC"), name=f"{ccy1}{ccy2}")


@lru_cache(maxsize=4)
def default_market(seed: int | None = None) -> MarketModel:
    """A shared clean market on the shipped universe (optionally with another seed)."""
    universe = load_universe()
    if seed is not None:
        universe = replace(universe, seed=seed)
    return MarketModel(universe)
