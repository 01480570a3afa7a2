"""Trading controls in the state store: instrument locks, trade limits, position limits and
overrides."""
from __future__ import annotations

import math
from typing import Any

import pandas as pd

from syscore.dates import iso_utc, to_utc
from syscore.exceptions import InvalidData, MissingData
from sysdata.state.base import StateStore
from sysobjects.instruments import validate_instrument_code

LOCKS = "instrument_locks"
TRADE_LIMITS = "trade_limits"
POSITION_LIMITS = "position_limits"
OVERRIDES = "overrides"
ALL_STRATEGIES = "ALL"
#: The longest rolling period a trade limit may have (days, ten years). A longer window could
#: not be subtracted from a date (pandas' time range), so every later look at the limits
#: (the console's view, the roll warnings) would fail.
MAX_TRADE_LIMIT_PERIOD_DAYS = 3650
#: The largest trade limit (contracts): far above any real one, and within what every state
#: store keeps as an integer (MongoDB: 8 bytes). A 300-digit limit (capital typed as 1e300
#: in the auto-populate) was stored as is.
MAX_TRADE_LIMIT = 10**9
#: The largest position limit (contracts), for the same reasons.
MAX_POSITION_LIMIT = 10**9


class InstrumentLockData:
    """Locked instruments take no new orders (e.g. while positions are being reconciled)."""

    def __init__(self, store: StateStore):
        self.store = store

    def lock(self, instrument_code: str, timestamp, reason: str = "") -> None:
        """Lock an instrument at ``timestamp`` (UTC, from the caller's clock)."""
        stamp = iso_utc(timestamp)
        self.store.put(LOCKS, validate_instrument_code(instrument_code),
                       {"reason": reason, "timestamp": stamp})

    def unlock(self, instrument_code: str) -> None:
        self.store.delete(LOCKS, validate_instrument_code(instrument_code))

    def is_locked(self, instrument_code: str) -> bool:
        return self.store.exists(LOCKS, validate_instrument_code(instrument_code))

    def locked_instruments(self) -> list[str]:
        return self.store.keys(LOCKS)

    def reason(self, instrument_code: str) -> str | None:
        """Why the instrument is locked ("" if no reason was given), None if it is not."""
        doc = self.store.get(LOCKS, validate_instrument_code(instrument_code))
        return None if doc is None else doc.get("reason", "")


def _limit_key(strategy_name: str, instrument_code: str, period_days: int) -> str:
    return f"{strategy_name or ALL_STRATEGIES}/{validate_instrument_code(instrument_code)}/{period_days}"


class TradeLimitData:
    """Maximum contracts traded per rolling ``period_days`` for a strategy/instrument (strategy
    ``ALL`` for every strategy). Each trade is recorded; usage counts trades inside the window."""

    def __init__(self, store: StateStore):
        self.store = store

    def set_limit(self, instrument_code: str, period_days: int, limit: int,
                  strategy_name: str = ALL_STRATEGIES) -> None:
        if (isinstance(period_days, bool) or not isinstance(period_days, int)
                or not 1 <= period_days <= MAX_TRADE_LIMIT_PERIOD_DAYS):
            raise InvalidData(f"period_days must be a whole number of days from 1 to "
                              f"{MAX_TRADE_LIMIT_PERIOD_DAYS}, got {period_days!r}")
        if isinstance(limit, bool) or not isinstance(limit, int) or not (
                0 <= limit <= MAX_TRADE_LIMIT):
            raise InvalidData(f"trade limit must be a whole number of contracts from 0 to "
                              f"{MAX_TRADE_LIMIT:,}, got {limit!r}")
        key = _limit_key(strategy_name, instrument_code, period_days)

        def change(doc):
            return {"strategy_name": strategy_name, "instrument_code": instrument_code,
                    "period_days": period_days, "limit": limit,
                    "trades": (doc or {}).get("trades", [])}

        self.store.update(TRADE_LIMITS, key, change)

    def get(self, instrument_code: str, period_days: int,
            strategy_name: str = ALL_STRATEGIES) -> dict[str, Any]:
        doc = self.store.get(TRADE_LIMITS, _limit_key(strategy_name, instrument_code, period_days))
        if doc is None:
            raise MissingData(f"no trade limit for {strategy_name}/{instrument_code}/{period_days}d")
        return doc

    def record_trade(self, instrument_code: str, quantity: int, timestamp,
                     strategy_name: str = ALL_STRATEGIES, ref: str | None = None) -> None:
        """Count ``abs(quantity)`` against every limit of this instrument for this strategy and
        for ``ALL`` strategies (each an atomic read-modify-write: concurrent trades all count).
        ``ref`` (a broker order's ``client_ref``): a limit that already counts a trade of this
        ref is left as it is, so recording again after a crash never counts twice."""
        strategies = {strategy_name, ALL_STRATEGIES}
        stamp = iso_utc(timestamp)
        for key, doc in self.store.find(TRADE_LIMITS, {"instrument_code": instrument_code}):
            if doc["strategy_name"] not in strategies:
                continue
            cutoff = to_utc(timestamp) - pd.Timedelta(days=doc["period_days"])

            def change(current, cutoff=cutoff):
                if current is None:
                    return None
                if ref is not None and any(len(t) > 2 and t[2] == ref
                                           for t in current["trades"]):
                    return current
                trades = [t for t in current["trades"] if to_utc(t[0]) > cutoff]
                trades.append([stamp, abs(int(quantity))] + ([ref] if ref is not None else []))
                return {**current, "trades": trades}

            self.store.update(TRADE_LIMITS, key, change)

    def forget_trade(self, instrument_code: str, ref: str) -> None:
        """Remove the trade recorded under ``ref`` from every limit of this instrument (a
        broker order the broker refused: it traded nothing)."""
        for key, doc in self.store.find(TRADE_LIMITS, {"instrument_code": instrument_code}):
            if not any(len(t) > 2 and t[2] == ref for t in doc["trades"]):
                continue
            self.store.update(TRADE_LIMITS, key, lambda current: None if current is None else {
                **current, "trades": [t for t in current["trades"]
                                      if not (len(t) > 2 and t[2] == ref)]})

    @staticmethod
    def _used(doc: dict[str, Any], now, exclude_ref: str | None = None) -> int:
        cutoff = to_utc(now) - pd.Timedelta(days=doc["period_days"])
        return sum(int(t[1]) for t in doc["trades"] if to_utc(t[0]) > cutoff
                   and not (exclude_ref is not None and len(t) > 2 and t[2] == exclude_ref))

    def remaining(self, instrument_code: str, period_days: int, now,
                  strategy_name: str = ALL_STRATEGIES) -> int:
        doc = self.get(instrument_code, period_days, strategy_name)
        return max(doc["limit"] - self._used(doc, now), 0)

    def remaining_for(self, instrument_code: str, strategy_name: str, now,
                      exclude_ref: str | None = None) -> tuple[int, ...]:
        """The remaining capacity (contracts) of every limit that applies to a trade of
        ``strategy_name`` in ``instrument_code``: each period, instrument level (``ALL``) and
        this strategy's; empty when none. ``exclude_ref``: a trade recorded under this ref is
        not counted (the broker order being checked again after a crash)."""
        strategies = {strategy_name, ALL_STRATEGIES}
        return tuple(max(int(doc["limit"]) - self._used(doc, now, exclude_ref), 0)
                     for _, doc in self.store.find(TRADE_LIMITS,
                                                   {"instrument_code": instrument_code})
                     if doc["strategy_name"] in strategies)

    def reset(self, instrument_code: str, period_days: int,
              strategy_name: str = ALL_STRATEGIES) -> None:
        self.get(instrument_code, period_days, strategy_name)
        self.store.update(TRADE_LIMITS, _limit_key(strategy_name, instrument_code, period_days),
                          lambda doc: None if doc is None else {**doc, "trades": []})

    def all_limits(self) -> list[dict[str, Any]]:
        return [doc for _, doc in self.store.find(TRADE_LIMITS)]


class PositionLimitData:
    """Maximum absolute position (contracts) per instrument, or per strategy/instrument."""

    def __init__(self, store: StateStore):
        self.store = store

    def set_limit(self, instrument_code: str, limit: int, strategy_name: str = ALL_STRATEGIES) -> None:
        if isinstance(limit, bool) or not isinstance(limit, int) or not (
                0 <= limit <= MAX_POSITION_LIMIT):
            raise InvalidData(f"position limit must be a whole number of contracts from 0 to "
                              f"{MAX_POSITION_LIMIT:,}, got {limit!r}")
        key = f"{strategy_name}/{validate_instrument_code(instrument_code)}"
        self.store.put(POSITION_LIMITS, key, {"strategy_name": strategy_name,
                                              "instrument_code": instrument_code, "limit": limit})

    def get_limit(self, instrument_code: str, strategy_name: str = ALL_STRATEGIES) -> int | None:
        doc = self.store.get(POSITION_LIMITS, f"{strategy_name}/{instrument_code}")
        return int(doc["limit"]) if doc else None

    def delete_limit(self, instrument_code: str, strategy_name: str = ALL_STRATEGIES) -> None:
        self.store.delete(POSITION_LIMITS, f"{strategy_name}/{instrument_code}")

    def all_limits(self) -> list[dict[str, Any]]:
        return [doc for _, doc in self.store.find(POSITION_LIMITS)]


class OverrideData:
    """Position multipliers in [0, 1] for a strategy, instrument, strategy/instrument or
    contract (``kind`` is one of those names). 0 means close only, 1 no override."""

    KINDS = ("strategy", "instrument", "strategy_instrument", "contract")

    def __init__(self, store: StateStore):
        self.store = store

    def set(self, kind: str, key: str, value: float) -> None:
        if kind not in self.KINDS:
            raise InvalidData(f"unknown override kind {kind!r}; expected one of {self.KINDS}")
        if not isinstance(value, (int, float)) or math.isnan(value) or not 0 <= value <= 1:
            raise InvalidData(f"override must be a number in [0, 1], got {value!r}")
        self.store.put(OVERRIDES, f"{kind}:{key}", {"kind": kind, "key": key, "value": float(value)})

    def get(self, kind: str, key: str) -> float:
        doc = self.store.get(OVERRIDES, f"{kind}:{key}")
        return float(doc["value"]) if doc else 1.0

    def delete(self, kind: str, key: str) -> None:
        self.store.delete(OVERRIDES, f"{kind}:{key}")

    def all(self) -> list[dict[str, Any]]:
        return [doc for _, doc in self.store.find(OVERRIDES)]
