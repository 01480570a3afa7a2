"""Figures for reports, read from the stores through the data blob. Plain functions: the report
builders, the consoles and the tests call the same ones.

Conventions: times tz-aware UTC; cash amounts in the base currency (``config.base_currency``)
unless a column says otherwise; positions in contracts; prices in price points.
"""
from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
import pandas as pd

from syscore.dates import to_utc, utc_index
from syscore.exceptions import MissingData
from sysobjects.multiple_prices import FORWARD_CONTRACT, PRICE_CONTRACT


def _utc_labels(index: pd.Index) -> pd.DatetimeIndex:
    """``pd.DatetimeIndex([to_utc(t) for t in index])`` (UTC, naive taken as UTC, nanoseconds,
    unnamed), converted in one vectorised step instead of one Timestamp at a time."""
    if len(index) == 0:
        return pd.DatetimeIndex([])
    return pd.DatetimeIndex(utc_index(index).as_unit("ns"), freq=None).rename(None)


BUSINESS_DAYS_PER_YEAR = 256
#: risk and correlations are measured over at least this much history before the report's end,
#: whatever its period: a nightly report covers one day, too little to measure a volatility
RISK_MIN_LOOKBACK = pd.Timedelta(days=365)


# --- status ----------------------------------------------------------------------------------

def process_table(data) -> pd.DataFrame:
    """One row per process-control record: status, run state, pid (whole number; ``<NA>`` when the
    record holds none), host, last start/end."""
    rows = {name: {k: record.get(k) for k in ("status", "run_state", "pid", "host",
                                               "last_start", "last_end", "heartbeat")}
            for name, record in sorted(data.process_control.all().items())}
    table = pd.DataFrame.from_dict(rows, orient="index",
                                   columns=["status", "run_state", "pid", "host", "last_start",
                                            "last_end", "heartbeat"])
    # a process id is a whole number: without this a missing one (NaN) makes the column float
    # and the reports print 23170 as "23,170.00"
    table["pid"] = table["pid"].astype("Int64")
    return table


def last_price_times(data, now: pd.Timestamp) -> pd.DataFrame:
    """Per instrument with adjusted prices: the last adjusted price time and its age in hours."""
    rows = {}
    for code in sorted(data.adjusted_prices.list_codes()):
        tail = data.adjusted_prices.read_tail(code, 1)
        if tail.empty:
            continue
        last = to_utc(tail.index[-1])
        rows[code] = {"last_price_time": last,
                      "age_hours": (now - last).total_seconds() / 3600.0}
    return pd.DataFrame.from_dict(rows, orient="index", columns=["last_price_time", "age_hours"])


def alerts_table(data, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """Alerts stored in [start, end]: time, subject, whether e-mailed."""
    rows = [{"timestamp": to_utc(a["timestamp"]), "subject": a["subject"], "sent": a["sent"]}
            for a in data.alerts.all(since=start) if to_utc(a["timestamp"]) <= end]
    return pd.DataFrame(rows, columns=["timestamp", "subject", "sent"])


# --- rolls -----------------------------------------------------------------------------------

def roll_table(data, now: pd.Timestamp) -> pd.DataFrame:
    """Per instrument with multiple prices: roll state, priced and forward contract (from the
    last multiple-prices row), days from ``now`` to the priced contract's expiry, and the last
    daily volume of the priced and forward contracts where per-contract prices hold a
    ``VOLUME`` column (else NaN)."""
    rows = {}
    for code in sorted(data.multiple_prices.list_codes()):
        last = data.multiple_prices.read(code).iloc[-1]
        priced, forward = str(last[PRICE_CONTRACT]), str(last[FORWARD_CONTRACT])
        expiry_days = math.nan
        if data.contracts.has(code, priced):
            expiry = data.contracts.get(code, priced).expiry_date
            if expiry is not None:
                expiry_days = (pd.Timestamp(expiry) - now.tz_localize(None).normalize()).days
        rows[code] = {"roll_state": data.roll_states.get(code), "priced": priced,
                      "forward": forward, "days_to_expiry": expiry_days,
                      "priced_volume": _last_volume(data, code, priced),
                      "forward_volume": _last_volume(data, code, forward)}
    return pd.DataFrame.from_dict(rows, orient="index",
                                  columns=["roll_state", "priced", "forward", "days_to_expiry",
                                           "priced_volume", "forward_volume"])


def _last_volume(data, code: str, contract: str) -> float:
    """The last daily volume (:func:`daily_volumes`), NaN when none is stored. Not the merged
    series' last bar: after the day's hourly bars and before its daily bar that is one hour's
    volume."""
    volume = daily_volumes(data, code, contract)
    return float(volume.iloc[-1]) if len(volume) else math.nan


# --- positions and p&l -------------------------------------------------------------------------

def fx_to_base(data, currency: str) -> pd.Series | float:
    """Value of one unit of ``currency`` in the base currency: 1.0 for the base currency, else
    the stored FX series ``<currency><base>`` (:class:`MissingData` if not stored)."""
    base = data.config.base_currency
    if currency == base:
        return 1.0
    return data.fx_prices.read_series(f"{currency}{base}")


def latest_fx_to_base(data, currency: str) -> float:
    """The last stored value of one unit of ``currency`` in the base currency (1.0 for the base
    currency; :class:`MissingData` if the FX series is not stored)."""
    fx = fx_to_base(data, currency)
    return float(fx.dropna().iloc[-1]) if isinstance(fx, pd.Series) else fx


def _latest_fx_reader(data):
    """:func:`latest_fx_to_base` remembered per currency, for one table's rows."""
    return functools.cache(lambda currency: latest_fx_to_base(data, currency))


def _position_changes(data, by_strategy: bool = False
                      ) -> dict[Any, list[tuple[pd.Timestamp, int]]]:
    """Strategy position changes (fills and adjustments with a strategy) per instrument (per
    ``(strategy, instrument)`` when ``by_strategy``), from one read of the money ledger:
    (UTC time, quantity) in ledger order."""
    changes: dict[Any, list[tuple[pd.Timestamp, int]]] = {}
    for doc in data.ledger.records(0, None):
        record = doc["record"]
        if doc.get("kind") in ("fill", "adjustment") and record.get("strategy_name"):
            key = (record["strategy_name"], record["instrument_code"]) if by_strategy \
                else record["instrument_code"]
            changes.setdefault(key, []).append(
                (to_utc(record["timestamp"]), int(record["quantity"])))
    return changes


def _position_series(changes: list[tuple[pd.Timestamp, int]]) -> pd.Series:
    if not changes:
        return pd.Series(dtype=float)
    frame = pd.DataFrame(changes, columns=["t", "q"]).sort_values("t", kind="stable")
    return frame.groupby("t")["q"].sum().cumsum().astype(float)


def instrument_position_series(data, instrument_code: str) -> pd.Series:
    """Net strategy position (summed over strategies) of one instrument after each booked change,
    indexed by the change's UTC time (empty if never held). From the money ledger."""
    return _position_series(_position_changes(data).get(instrument_code, []))


def held_instruments(data) -> list[str]:
    return sorted(_position_changes(data))


def instrument_daily_pandl(data, instrument_code: str, start, end,
                           positions: pd.Series | None = None) -> pd.Series:
    """Daily p&l in base currency of one instrument for the adjusted-price times in (start, end]:
    position held at the previous price time × price change × point size × FX to base at the
    price time (FX forward-filled). Zero where no position was held. ``positions``: the
    instrument's :func:`instrument_position_series` when the caller has it (else read)."""
    prices = data.adjusted_prices.read_series(instrument_code).dropna()
    prices.index = _utc_labels(prices.index)
    if positions is None:
        positions = instrument_position_series(data, instrument_code)
    if positions.empty:
        held = pd.Series(0.0, index=prices.index)
    else:
        held = positions.reindex(positions.index.union(prices.index)).ffill().fillna(0.0)
        held = held.reindex(prices.index)
    config = data.instruments.get(instrument_code)
    fx = fx_to_base(data, config.currency)
    if isinstance(fx, pd.Series):
        fx = fx.copy()
        fx.index = _utc_labels(fx.index)
        fx = fx.reindex(fx.index.union(prices.index)).ffill().reindex(prices.index)
    pandl = held.shift(1) * prices.diff() * config.pointsize * fx
    pandl = pandl.iloc[1:]
    mask = (pandl.index > to_utc(start)) & (pandl.index <= to_utc(end))
    return pandl[mask].fillna(0.0).rename(instrument_code)


def pandl_by_instrument(data, start, end) -> pd.DataFrame:
    """Total p&l in base currency over (start, end] per held instrument, with asset class."""
    rows = {}
    changes = _position_changes(data)  # one ledger read for every instrument
    for code in sorted(changes):
        if not data.adjusted_prices.has(code):
            continue
        positions = _position_series(changes[code])
        rows[code] = {"asset_class": data.instruments.get(code).asset_class,
                      "pandl": float(instrument_daily_pandl(data, code, start, end,
                                                            positions).sum())}
    return pd.DataFrame.from_dict(rows, orient="index", columns=["asset_class", "pandl"])


def pandl_by_strategy(data, start, end) -> pd.DataFrame:
    """Total p&l in base currency over (start, end] per strategy: the sum over its instruments
    of :func:`instrument_daily_pandl` on the strategy's own position (fills and adjustments
    booked with that strategy on the money ledger)."""
    totals: dict[str, float] = {}
    for (strategy, code), items in sorted(_position_changes(data, by_strategy=True).items()):
        if not data.adjusted_prices.has(code):
            continue
        pandl = instrument_daily_pandl(data, code, start, end, _position_series(items))
        totals[strategy] = totals.get(strategy, 0.0) + float(pandl.sum())
    return pd.DataFrame.from_dict({s: {"pandl": v} for s, v in totals.items()},
                                  orient="index", columns=["pandl"])


def account_curve(data, start, end) -> pd.Series:
    """Accumulated p&l (``acc_pnl`` of total capital) at the last row of each UTC day in
    [start, end], minus its value at the last row before ``start`` (so it starts near 0).
    :class:`MissingData` if no total capital is stored."""
    frame = data.capital.total_capital()
    if frame.empty:
        raise MissingData("total capital has no values")
    acc = frame["acc_pnl"].copy()
    acc.index = _utc_labels(acc.index)
    before = acc[acc.index < to_utc(start)]
    base = float(before.iloc[-1]) if not before.empty else 0.0
    window = acc[(acc.index >= to_utc(start)) & (acc.index <= to_utc(end))]
    daily = window.groupby(window.index.normalize()).last()
    return (daily - base).rename("account_pandl")


def daily_account_pandl(data, start, end) -> pd.Series:
    """Account p&l per UTC day in [start, end] from total capital (difference of the curve)."""
    curve = account_curve(data, start, end)
    return curve.diff().fillna(curve.iloc[:1]) if not curve.empty else curve


# --- reconcile -------------------------------------------------------------------------------

def strategy_vs_contract_positions(data) -> pd.DataFrame:
    """Per instrument: summed strategy positions, summed contract positions, and the break."""
    strategy: dict[str, int] = {}
    for (_, code), pos in data.positions.all_strategy_positions().items():
        strategy[code] = strategy.get(code, 0) + pos
    contract: dict[str, int] = {}
    for (code, _), pos in data.positions.all_contract_positions().items():
        contract[code] = contract.get(code, 0) + pos
    codes = sorted(set(strategy) | set(contract))
    frame = pd.DataFrame({"strategy": [strategy.get(c, 0) for c in codes],
                          "contract": [contract.get(c, 0) for c in codes]}, index=codes)
    frame["break"] = frame["strategy"] != frame["contract"]
    return frame


def broker_position_breaks(data) -> pd.DataFrame:
    """Per instrument and contract where our contract position differs from the broker's
    (missing counts as 0): ours, the broker's. Reads the broker (``data.broker``)."""
    from sysexecution.reconcile import position_breaks

    broker: dict[tuple[str, str], int] = {}
    for position in data.broker.get_positions():
        key = (position.instrument_code, position.contract_date)
        broker[key] = broker.get(key, 0) + int(position.quantity)
    breaks = position_breaks(data.positions.all_contract_positions(), broker)
    return pd.DataFrame([{"instrument": b.instrument_code, "contract": b.contract_id,
                          "ours": b.ours, "broker": b.broker} for b in breaks],
                        columns=["instrument", "contract", "ours", "broker"])


def unmapped_broker_positions(data) -> pd.DataFrame:
    """Positions the broker holds in contracts systrade cannot name (IB: no IB futures
    config): account, contract (the broker's description), quantity, average cost. They are
    in no other table: no position break can show them. Reads the broker."""
    rows = [{"account": u.account, "contract": u.description, "quantity": u.quantity,
             "average_cost": u.average_cost} for u in data.broker.get_unmapped_positions()]
    return pd.DataFrame(rows, columns=["account", "contract", "quantity", "average_cost"])


def optimal_vs_actual(data) -> pd.DataFrame:
    """Per strategy and instrument with an optimal position: the last buffer (``lower``,
    ``upper``), the actual strategy position, and whether the actual is outside the buffer."""
    actual = data.positions.all_strategy_positions()
    rows = []
    for strategy, code in sorted(data.optimal_positions.list_keys()):
        last = data.optimal_positions.current(strategy, code)
        held = actual.get((strategy, code), 0)
        lower, upper = float(last["lower"]), float(last["upper"])
        rows.append({"strategy": strategy, "instrument": code, "lower": lower, "upper": upper,
                     "actual": held, "outside_buffer": not (lower <= held <= upper)})
    return pd.DataFrame(rows, columns=["strategy", "instrument", "lower", "upper", "actual",
                                       "outside_buffer"])


def fills_table(data, start, end) -> pd.DataFrame:
    """Fills booked on the ledger with a time in [start, end]: instrument, contract, strategy,
    quantity, price, commission (the execution's commission report when one came, else what
    the fill carried), and traded notional in base currency
    (|quantity| × price × point size × FX at the last stored rate; NaN for an instrument that
    is not configured)."""
    latest_fx = _latest_fx_reader(data)
    # a commission report (IB sends it after the execution) is the execution's commission: it
    # replaces what the fill carried
    reported = {doc["record"]["exec_id"]: doc["record"]["commission"]
                for doc in data.ledger.records(0, None, where={"kind": "commission"})}
    rows = []
    for doc in data.ledger.records(0, None, where={"kind": "fill"}):
        record = doc["record"]
        when = to_utc(record["timestamp"])
        if not (to_utc(start) <= when <= to_utc(end)):
            continue
        if data.instruments.has(record["instrument_code"]):
            config = data.instruments.get(record["instrument_code"])
            notional = (abs(record["quantity"]) * record["price"] * config.pointsize
                        * latest_fx(config.currency))
        else:  # a fill in an instrument no longer (or never) configured: listed all the same
            notional = math.nan
        rows.append({"timestamp": when, "instrument": record["instrument_code"],
                     "contract": record.get("contract_date"),
                     "strategy": record.get("strategy_name"),
                     "quantity": int(record["quantity"]), "price": float(record["price"]),
                     "commission": reported.get(record["exec_id"], record.get("commission")),
                     "notional": notional})
    return pd.DataFrame(rows, columns=["timestamp", "instrument", "contract", "strategy",
                                       "quantity", "price", "commission", "notional"])


def broker_trades_table(data, start, end) -> pd.DataFrame:
    """The broker's executions with a time in [start, end] (``data.broker.get_executions``):
    time, instrument, contract, quantity, price, commission, execution id, and ``booked``:
    whether that execution is a fill on our ledger (False = a fill we have not booked, or a
    trade made outside systrade)."""
    rows = []
    for execution in data.broker.get_executions(since=to_utc(start)):
        when = to_utc(execution.timestamp)
        if not (to_utc(start) <= when <= to_utc(end)):
            continue
        rows.append({"timestamp": when, "instrument": execution.instrument_code,
                     "contract": execution.contract_date, "quantity": execution.quantity,
                     "price": execution.price, "commission": execution.commission,
                     "exec_id": execution.exec_id,
                     "booked": data.ledger.find_uid(f"fill:{execution.exec_id}") is not None})
    return pd.DataFrame(rows, columns=["timestamp", "instrument", "contract", "quantity", "price",
                                       "commission", "exec_id", "booked"])


def _order_value(data, stack: str, order_id, name: str):
    """A field of an order on a stack; None when there is no id, order or value."""
    if order_id is None:
        return None
    try:
        return getattr(data.order_stack(stack).get_order(int(order_id)), name)
    except MissingData:
        return None


def _order_field(data, stack: str, order_id, name: str) -> float:
    """A price field of an order on a stack, NaN when there is no id, order or value."""
    value = _order_value(data, stack, order_id, name)
    return math.nan if value is None else float(value)


def _minutes_since(when: pd.Timestamp, earlier) -> float:
    return math.nan if earlier is None else (when - to_utc(earlier)).total_seconds() / 60.0


def slippage_table(data, start, end) -> pd.DataFrame:
    """Per fill in [start, end]: slippage against the instrument order's ``reference_price``
    (the price when the order was generated) and against the mid price, signed so that a
    positive number is a cost (bought above / sold below). The mid is the one at the fill
    (``(bid + ask) / 2`` of the top of book the broker gave with the execution: the simulated
    broker does) when the fill has it, else the broker order's ``mid_price`` at submission;
    ``mid_at`` says which (``fill`` / ``submission``).

    Columns: ``*_points`` in price points; ``*_ticks`` = points / ``tick_size`` (from the
    instrument config's ``extra`` mapping; NaN when not set); ``*_cash`` = points × |quantity|
    × point size × latest FX, in base currency; ``*_vol_normalised`` = points / ``daily_vol``
    (std of daily adjusted-price changes over the 35 days to the fill). ``generation_delay_min``: minutes from the
    instrument order's generation to the fill; ``submission_delay_min``: from the broker
    order's submission to the fill. NaN where the order or value is not stored."""
    latest_fx = _latest_fx_reader(data)
    rows = []
    for doc in data.ledger.records(0, None):
        if doc.get("kind") != "fill":
            continue
        record = doc["record"]
        when = to_utc(record["timestamp"])
        if not (to_utc(start) <= when <= to_utc(end)):
            continue
        config = data.instruments.get(record["instrument_code"])
        fx_now = latest_fx(config.currency)
        tick = config.tick_size or (config.extra.get("tick_size") if config.extra else None)
        quantity, price = int(record["quantity"]), float(record["price"])
        side = 1 if quantity > 0 else -1
        daily_vol = _daily_vol_before(data, record["instrument_code"], when)
        row = {"timestamp": when, "instrument": record["instrument_code"],
               "quantity": quantity, "price": price, "daily_vol": daily_vol,
               "generation_delay_min": _minutes_since(when, _order_value(
                   data, "instrument", record.get("instrument_order_id"),
                   "generated_datetime")),
               "submission_delay_min": _minutes_since(when, _order_value(
                   data, "broker", record.get("broker_order_id"), "submit_datetime"))}
        at_fill = (record.get("bid") is not None and record.get("ask") is not None)
        row["mid_at"] = "fill" if at_fill else "submission"
        for label, stack, field in (("reference", "instrument", "reference_price"),
                                    ("mid", "broker", "mid_price")):
            order_id = record.get(f"{stack}_order_id")
            if label == "mid" and at_fill:
                compare = (float(record["bid"]) + float(record["ask"])) / 2.0
            else:
                compare = _order_field(data, stack, order_id, field)
            points = (price - compare) * side
            row[label] = compare
            row[f"{label}_points"] = points
            row[f"{label}_ticks"] = points / float(tick) if tick else math.nan
            row[f"{label}_cash"] = points * abs(quantity) * config.pointsize * fx_now
            row[f"{label}_vol_normalised"] = points / daily_vol if daily_vol else math.nan
        rows.append(row)
    return pd.DataFrame(rows, columns=[
        "timestamp", "instrument", "quantity", "price", "daily_vol", "generation_delay_min",
        "submission_delay_min", "reference", "reference_points", "reference_ticks",
        "reference_cash", "reference_vol_normalised", "mid_at", "mid", "mid_points",
        "mid_ticks", "mid_cash", "mid_vol_normalised"])


#: Calendar days of adjusted prices before a fill used for its daily volatility.
SLIPPAGE_VOL_LOOKBACK_DAYS = 35


def _daily_vol_before(data, instrument_code: str, when: pd.Timestamp) -> float:
    """Standard deviation of daily adjusted-price changes (points) over the
    :data:`SLIPPAGE_VOL_LOOKBACK_DAYS` calendar days up to ``when``; NaN with fewer than two
    changes or no adjusted prices."""
    if not data.adjusted_prices.has(instrument_code):
        return math.nan
    changes = daily_returns(data, instrument_code,
                            when - pd.Timedelta(days=SLIPPAGE_VOL_LOOKBACK_DAYS), when)
    return float(changes.std(ddof=1)) if len(changes) >= 2 else math.nan


def costs_table(data, start, end) -> pd.DataFrame:
    """Per instrument with spread samples or fills in [start, end]: the number of samples, the
    median sampled bid/ask spread (points), the suggested ``spread_cost`` from samples (half
    the median spread, the unit of the instrument config), the number of fills with a mid
    price and their median slippage against the mid (points; a second estimate of the
    half-spread paid), the configured ``spread_cost``, and the cost of one contract traded in
    base currency: half-spread (configured) × point size × FX, plus commission per contract
    (``per_block`` + ``percentage`` × last adjusted price × point size, × FX; ``per_trade``
    is per order and not included)."""
    slippage = slippage_table(data, start, end).dropna(subset=["mid_points"])
    codes = sorted(set(data.spreads.list_codes()) | set(slippage["instrument"]))
    rows = {}
    latest_fx = _latest_fx_reader(data)
    for code in codes:
        if not data.instruments.has(code):
            continue
        spreads = pd.Series(dtype=float)
        if code in data.spreads.list_codes():
            spreads = data.spreads.history(code)
            spreads.index = _utc_labels(spreads.index)
            spreads = spreads[(spreads.index >= to_utc(start)) & (spreads.index <= to_utc(end))]
        fills = slippage[slippage["instrument"] == code]["mid_points"]
        if spreads.empty and fills.empty:
            continue
        config = data.instruments.get(code)
        fx_now = latest_fx(config.currency)
        price = (float(data.adjusted_prices.read_tail(code, 1).iloc[-1])
                 if data.adjusted_prices.has(code) else math.nan)
        median = float(spreads.median()) if not spreads.empty else math.nan
        commission = (config.per_block + config.percentage * price * config.pointsize) * fx_now
        rows[code] = {"samples": len(spreads), "median_spread": median,
                      "suggested_spread_cost": median / 2.0,
                      "fills": len(fills),
                      "median_mid_slippage": float(fills.median()) if len(fills) else math.nan,
                      "configured_spread_cost": config.spread_cost,
                      "spread_cash_per_contract": config.spread_cost * config.pointsize * fx_now,
                      "commission_per_contract": commission}
    return pd.DataFrame.from_dict(rows, orient="index", columns=[
        "samples", "median_spread", "suggested_spread_cost", "fills", "median_mid_slippage",
        "configured_spread_cost", "spread_cash_per_contract", "commission_per_contract"])


# --- risk ------------------------------------------------------------------------------------

def daily_returns(data, instrument_code: str, start, end) -> pd.Series:
    """Daily price changes (points) of the adjusted price, on the last price of each UTC day in
    [start, end]."""
    prices = data.adjusted_prices.read_series(instrument_code).dropna()
    prices.index = _utc_labels(prices.index)
    prices = prices[(prices.index >= to_utc(start)) & (prices.index <= to_utc(end))]
    daily = prices.groupby(prices.index.normalize()).last()
    return daily.diff().dropna()


def instrument_risk(data, start, end) -> pd.DataFrame:
    """Per instrument with adjusted prices: last price, annualised vol in price points
    (std of daily changes × sqrt(256)), the same as a percentage of price, and the annualised
    risk of one contract and of the held position in base currency (vol × point size × FX).
    Daily changes are taken over [start, end], widened to at least :data:`RISK_MIN_LOOKBACK`."""
    start = _risk_start(start, end)
    positions: dict[str, int] = {}
    for (_, code), pos in data.positions.all_strategy_positions().items():
        positions[code] = positions.get(code, 0) + pos
    rows = {}
    latest_fx = _latest_fx_reader(data)
    for code in sorted(data.adjusted_prices.list_codes()):
        if not data.instruments.has(code):
            continue
        changes = daily_returns(data, code, start, end)
        if len(changes) < 2:
            continue
        config = data.instruments.get(code)
        fx_now = latest_fx(config.currency)
        price = float(data.adjusted_prices.read_tail(code, 1).iloc[-1])
        vol = float(changes.std(ddof=1)) * math.sqrt(BUSINESS_DAYS_PER_YEAR)
        per_contract = vol * config.pointsize * fx_now
        rows[code] = {"asset_class": config.asset_class, "price": price,
                      "annual_vol_points": vol,
                      "annual_vol_pct": 100.0 * vol / price if price else np.nan,
                      "risk_per_contract": per_contract,
                      "position": positions.get(code, 0),
                      "position_risk": abs(positions.get(code, 0)) * per_contract}
    return pd.DataFrame.from_dict(rows, orient="index",
                                  columns=["asset_class", "price", "annual_vol_points",
                                           "annual_vol_pct", "risk_per_contract", "position",
                                           "position_risk"])


def margin_usage(data) -> dict[str, float]:
    """The last total-capital row's ``margin`` and ``total`` (base currency) and margin as %
    of total. :class:`MissingData` if no total capital is stored."""
    frame = data.capital.total_capital()
    if frame.empty:
        raise MissingData("total capital has no values")
    last = frame.iloc[-1]
    total, margin = float(last["total"]), float(last.get("margin", math.nan))
    return {"margin": margin, "total": total,
            "margin_pct": 100.0 * margin / total if total else math.nan}


def correlations(data, start, end) -> pd.DataFrame:
    """Correlation of daily adjusted-price changes between instruments over [start, end],
    widened to at least :data:`RISK_MIN_LOOKBACK`."""
    start = _risk_start(start, end)
    series = {code: daily_returns(data, code, start, end)
              for code in sorted(data.adjusted_prices.list_codes())}
    series = {c: s for c, s in series.items() if len(s) >= 2}
    if not series:
        return pd.DataFrame()
    return pd.DataFrame(series).corr()


def _total_capital(data) -> float:
    """The last total-capital row's ``total`` (base currency); NaN when none is stored."""
    try:
        return margin_usage(data)["total"]
    except MissingData:
        return math.nan


def risk_by_strategy(data, start, end, risk: pd.DataFrame | None = None,
                     corr: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per strategy holding positions, and a ``TOTAL`` row for all of them netted: the
    annualised risk of its positions in base currency, diversified (``sqrt(r' C r)`` with
    ``r_i`` = signed position × risk of one contract of instrument i, and ``C`` the correlation
    of daily changes; a pair without a measured correlation counts as 0) and undiversified
    (``sum |r_i|``), and the diversified risk as % of the latest total capital (NaN when none
    is stored). Instruments without measurable risk are left out. ``risk``/``corr``:
    :func:`instrument_risk` / :func:`correlations` of the period when the caller has them."""
    risk = instrument_risk(data, start, end) if risk is None else risk
    corr = correlations(data, start, end) if corr is None else corr
    capital = _total_capital(data)
    held: dict[str, dict[str, int]] = {}
    for (strategy, code), pos in data.positions.all_strategy_positions().items():
        if pos and code in risk.index:
            held.setdefault(strategy, {})
            held[strategy][code] = held[strategy].get(code, 0) + int(pos)
    total: dict[str, int] = {}
    for positions in held.values():
        for code, pos in positions.items():
            total[code] = total.get(code, 0) + pos
    rows = {}
    for name, positions in [*sorted(held.items()), ("TOTAL", total)]:
        codes = sorted(c for c, p in positions.items() if p)
        cash = np.array([positions[c] * float(risk.loc[c, "risk_per_contract"]) for c in codes])
        matrix = np.eye(len(codes))
        for i, a in enumerate(codes):
            for j, b in enumerate(codes):
                if i != j and a in corr.index and b in corr.columns \
                        and not math.isnan(corr.loc[a, b]):
                    matrix[i, j] = float(corr.loc[a, b])
        diversified = float(math.sqrt(max(cash @ matrix @ cash, 0.0))) if codes else 0.0
        rows[name] = {"instruments": len(codes), "risk": diversified,
                      "undiversified_risk": float(np.abs(cash).sum()),
                      "risk_pct_capital": (100.0 * diversified / capital
                                           if capital else math.nan)}
    return pd.DataFrame.from_dict(rows, orient="index", columns=[
        "instruments", "risk", "undiversified_risk", "risk_pct_capital"])


def daily_percentage_returns(data, instrument_code: str, start, end) -> pd.Series:
    """Daily returns (fractions) of the adjusted price, on the last price of each UTC day in
    [start, end]: change ÷ the previous day's price."""
    prices = data.adjusted_prices.read_series(instrument_code).dropna()
    prices.index = _utc_labels(prices.index)
    prices = prices[(prices.index >= to_utc(start)) & (prices.index <= to_utc(end))]
    daily = prices.groupby(prices.index.normalize()).last()
    return (daily.diff() / daily.shift(1)).dropna()


def beta_loadings(data, start, end, risk: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per asset class (of the instruments with measurable risk): the portfolio's beta loading
    on it and the net exposure held in the class itself, both as fractions of the latest total
    capital. The asset class's return is the equally weighted mean of its instruments' daily
    percentage returns (over [start, end] widened as the risk table); the beta of instrument i
    to class A is ``cov(r_i, R_A) / var(R_A)`` (sample, over the days both have); the
    loading is ``sum_i w_i × beta_iA`` over every held instrument with ``w_i`` = net position ×
    price × point size × latest FX ÷ total capital (by linearity, the beta of the portfolio's
    daily return to that class). ``exposure`` is ``sum w_i`` over the class's own instruments.
    Empty without total capital or positions."""
    risk = instrument_risk(data, start, end) if risk is None else risk
    capital = _total_capital(data)
    columns = ["beta_loading", "exposure"]
    if risk.empty or not capital or math.isnan(capital):
        return pd.DataFrame(columns=columns)
    begin = _risk_start(start, end)
    returns = pd.DataFrame({code: daily_percentage_returns(data, code, begin, end)
                            for code in risk.index})
    latest_fx = _latest_fx_reader(data)
    weights = {}
    for code, row in risk.iterrows():
        if row["position"]:
            config = data.instruments.get(code)
            weights[code] = (float(row["position"]) * float(row["price"]) * config.pointsize
                             * latest_fx(config.currency) / capital)
    if not weights:
        return pd.DataFrame(columns=columns)
    rows = {}
    for asset_class in sorted(set(risk["asset_class"])):
        members = list(risk.index[risk["asset_class"] == asset_class])
        index = returns[members].mean(axis=1, skipna=True)
        loading = 0.0
        for code, weight in weights.items():
            pair = pd.concat([returns[code], index], axis=1).dropna()
            variance = float(pair.iloc[:, 1].var(ddof=1)) if len(pair) >= 2 else math.nan
            beta = (float(pair.iloc[:, 0].cov(pair.iloc[:, 1])) / variance
                    if variance and not math.isnan(variance) else math.nan)
            loading += weight * beta if not math.isnan(beta) else 0.0
        rows[asset_class] = {"beta_loading": loading,
                             "exposure": sum(weights.get(code, 0.0) for code in members)}
    return pd.DataFrame.from_dict(rows, orient="index", columns=columns)


# --- liquidity -------------------------------------------------------------------------------

def daily_volumes(data, code: str, contract: str) -> pd.Series:
    """Daily ``VOLUME`` of one contract (contracts), indexed by bar time (UTC): the stored daily
    (``D``) bars when there are any, else the last bar of each UTC day of the merged series (in
    a merged series the daily bar, which carries the day's volume, is the day's last bar; the
    hourly bars before it carry only an hour's volume). Empty when no volume is stored."""
    frequency = "D" if data.contract_prices.has(code, contract, "D") else "merged"
    try:
        bars = data.contract_prices.read(code, contract, frequency)
    except MissingData:
        return pd.Series(dtype=float)
    if "VOLUME" not in bars.columns or bars.empty:
        return pd.Series(dtype=float)
    volume = bars["VOLUME"].astype(float)
    volume.index = _utc_labels(bars.index)
    if frequency == "merged":
        volume = volume.groupby(volume.index.normalize()).tail(1)
    return volume


def liquidity_table(data, start, end, risk: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per instrument with multiple prices: the priced contract (last multiple-prices row), its
    mean daily ``VOLUME`` (contracts; :func:`daily_volumes`) over days in [start, end], and that
    volume in annualised risk (volume × risk of one contract from :func:`instrument_risk`, base
    currency; NaN when the risk cannot be measured). ``risk``: ``instrument_risk(data, start,
    end)`` when the caller has it (else computed)."""
    if risk is None:
        risk = instrument_risk(data, start, end)
    rows = {}
    for code in sorted(data.multiple_prices.list_codes()):
        priced = str(data.multiple_prices.read(code).iloc[-1][PRICE_CONTRACT])
        volume = daily_volumes(data, code, priced)
        volume = volume[(volume.index >= to_utc(start)) & (volume.index <= to_utc(end))]
        if volume.empty:
            continue
        mean = float(volume.mean())
        per_contract = (float(risk.loc[code, "risk_per_contract"]) if code in risk.index
                        else math.nan)
        rows[code] = {"priced": priced, "days": len(volume), "mean_volume": mean,
                      "mean_volume_risk": mean * per_contract}
    return pd.DataFrame.from_dict(rows, orient="index",
                                  columns=["priced", "days", "mean_volume", "mean_volume_risk"])


def _risk_start(start, end) -> pd.Timestamp:
    """The earlier of ``start`` and ``end`` minus :data:`RISK_MIN_LOOKBACK` (UTC)."""
    return min(to_utc(start), to_utc(end) - RISK_MIN_LOOKBACK)
