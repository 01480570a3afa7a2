"""Figures for the strategy, slippage, instrument-risk and market-selection reports (minimum
capital, remove markets, duplicate markets, market monitor), read from the stores through the
data blob. Plain functions: the report builders, the consoles and the tests call the same ones.

Conventions as in :mod:`sysproduction.reporting.data`: times tz-aware UTC; cash in the base
currency; prices and spreads in price points; volatilities annualised with sqrt(256) unless a
column says ``daily``. Thresholds come from the ``reporting`` config
(:class:`~syscore.config_models.ReportingConfig`, pysystemtrade's defaults).
"""
from __future__ import annotations

import math

import pandas as pd

from syscore.dates import to_utc, utc_index
from syscore.exceptions import MissingData
from sysproduction.reporting import data as figures

ANNUAL = math.sqrt(figures.BUSINESS_DAYS_PER_YEAR)


# --- strategy --------------------------------------------------------------------------------

def strategy_names(data) -> list[str]:
    """Strategies with stored capital or optimal positions."""
    names = set(data.capital.strategies())
    names.update(s for s, _ in data.optimal_positions.list_keys())
    return sorted(names)


def vol_target(data, strategy_name: str, percentage_vol_target: float | None) -> dict:
    """The vol-target calculation of one strategy: latest strategy capital (base currency),
    ``percentage_vol_target`` (annual %, from the strategy's latest saved backtest; None when
    unknown), the annual cash vol target = capital × % / 100, and the daily one = annual / 16."""
    try:
        capital = float(data.capital.strategy_capital(strategy_name).dropna().iloc[-1])
    except (MissingData, IndexError, KeyError):
        capital = math.nan
    pct = math.nan if percentage_vol_target is None else float(percentage_vol_target)
    annual = capital * pct / 100.0
    return {"capital": capital, "percentage_vol_target": pct, "annual_cash_vol_target": annual,
            "daily_cash_vol_target": annual / ANNUAL}


def latest_saved_backtest(data, strategy_name: str):
    """The strategy's latest saved backtest state, or None when there is none."""
    from sysproduction.update_system_backtests import load_strategy_backtest

    try:
        return load_strategy_backtest(strategy_name, data=data)
    except MissingData:
        return None


def latest_forecasts(state) -> pd.DataFrame:
    """Per instrument of a saved backtest state: the last combined forecast (capped, weighted
    sum of the rules' forecasts × FDM) and, per rule, the last capped forecast (columns
    ``<rule>``) where the state saved them. Average absolute forecast is 10."""
    combined = state.stage("combined_forecast").ffill().iloc[-1]
    frame = combined.to_frame("combined_forecast")
    for rule in state.rules:
        name = f"capped_forecast:{rule}"
        if name in state.stage_names:
            frame[rule] = state.stage(name).ffill().iloc[-1].reindex(frame.index)
    frame.index.name = "instrument"
    return frame


# --- slippage-based spread-cost suggestions --------------------------------------------------

#: Significant digits of a blended spread-cost estimate (the float noise of price
#: differences dropped).
SPREAD_COST_DIGITS = 10


def significant(value: float, digits: int = SPREAD_COST_DIGITS) -> float:
    """``value`` to ``digits`` significant digits: spreads are differences of prices, so half
    of 145.39 - 145.38 is 0.0050000000000096634, which is 0.005 (the figure compared with the
    configured spread cost and written to the config)."""
    return float(f"{value:.{digits}g}") if math.isfinite(value) else value


def spread_cost_suggestions(data, start, end) -> pd.DataFrame:
    """Per instrument with spread samples or fills with a mid price in [start, end]: the
    estimate from sampled bid/ask (half the median spread), the estimate from trades (mean
    slippage of fills against the mid, at the fill when recorded, positive = cost), the blended estimate
    (weighted by the number of samples and of fills), the configured ``spread_cost`` and the
    difference as % of the configured one (NaN when the configured cost is 0). All in price
    points, the unit of the instrument config's ``spread_cost``; the blended estimate to 10
    significant digits (:func:`significant`)."""
    costs = figures.costs_table(data, start, end)
    slippage = figures.slippage_table(data, start, end).dropna(subset=["mid_points"])
    rows = {}
    for code, row in costs.iterrows():
        fills = slippage[slippage["instrument"] == code]["mid_points"]
        samples = int(row["samples"])
        from_samples = float(row["suggested_spread_cost"])
        from_trades = float(fills.mean()) if len(fills) else math.nan
        weights = [(samples, from_samples), (len(fills), from_trades)]
        weights = [(w, v) for w, v in weights if w and not math.isnan(v)]
        total = sum(w for w, _ in weights)
        blended = (significant(sum(w * v for w, v in weights) / total) if total
                   else math.nan)
        configured = float(row["configured_spread_cost"])
        rows[code] = {"samples": samples, "from_samples": from_samples, "fills": len(fills),
                      "from_trades": from_trades, "blended": blended,
                      "configured": configured,
                      "difference_pct": (100.0 * (blended - configured) / configured
                                         if configured else math.nan)}
    return pd.DataFrame.from_dict(rows, orient="index", columns=[
        "samples", "from_samples", "fills", "from_trades", "blended", "configured",
        "difference_pct"])


# --- instrument risk -------------------------------------------------------------------------

def all_instrument_risk(data, start, end, risk: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per instrument with at least two daily changes in [start, end]: daily and annual price
    stdev (points; sample stdev of daily changes, annual = daily × 16), last price, daily and
    annual stdev as % of price, point size in base currency (point size × latest FX), contract
    exposure (price × point size in base) and annual risk of one contract (base currency),
    sorted by annual risk per contract, largest first. ``risk``:
    :func:`~sysproduction.reporting.data.instrument_risk` of the period when the caller has it."""
    if risk is None:
        risk = figures.instrument_risk(data, start, end)
    rows = {}
    for code, row in risk.iterrows():
        config = data.instruments.get(code)
        point_base = config.pointsize * figures.latest_fx_to_base(data, config.currency)
        annual = float(row["annual_vol_points"])
        price = float(row["price"])
        rows[code] = {"asset_class": row["asset_class"], "daily_stdev": annual / ANNUAL,
                      "annual_stdev": annual, "price": price,
                      "daily_pct_stdev": float(row["annual_vol_pct"]) / ANNUAL,
                      "annual_pct_stdev": float(row["annual_vol_pct"]),
                      "point_size_base": point_base,
                      "contract_exposure": price * point_base,
                      "annual_risk_per_contract": annual * point_base}
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=[
        "asset_class", "daily_stdev", "annual_stdev", "price", "daily_pct_stdev",
        "annual_pct_stdev", "point_size_base", "contract_exposure", "annual_risk_per_contract"])
    return frame.sort_values("annual_risk_per_contract", ascending=False, kind="stable")


# --- minimum capital -------------------------------------------------------------------------

def minimum_capital(data, start, end) -> pd.DataFrame:
    """Per instrument of :func:`all_instrument_risk`: the minimum capital to hold one contract
    at the risk target (annual risk of one contract ÷ ``risk_target``) and within a portfolio
    (that × ``min_contracts_held`` ÷ (``instrument_weight`` × ``idm``)). Base currency; config
    ``reporting`` (defaults 25 %, 4 contracts, weight 0.04, IDM 2.5). Sorted by the portfolio
    minimum, largest first."""
    cfg = data.config.reporting
    risk = all_instrument_risk(data, start, end)
    one = risk["annual_risk_per_contract"] / cfg.risk_target
    portfolio = one * cfg.min_contracts_held / (cfg.instrument_weight * cfg.idm)
    frame = pd.DataFrame({"annual_risk_per_contract": risk["annual_risk_per_contract"],
                          "minimum_capital_one_contract": one,
                          "minimum_capital_portfolio": portfolio}, index=risk.index)
    return frame.sort_values("minimum_capital_portfolio", ascending=False, kind="stable")


# --- remove markets and duplicates -------------------------------------------------------------

def market_quality(data, start, end) -> pd.DataFrame:
    """Per instrument with measurable risk: the SR cost of one trade (cost per contract in
    price points — configured ``spread_cost`` plus commission per contract ÷ point size in
    base — over the annual price stdev in points), the mean daily volume of the priced contract
    in contracts and in annual risk (base currency, NaN without volumes), the annual % stdev,
    and the leverage of a maximum position (``max_vs_average_forecast`` × ``risk_target`` ×
    ``idm`` × ``instrument_weight`` ÷ annual % stdev as a fraction)."""
    cfg = data.config.reporting
    measured = figures.instrument_risk(data, start, end)  # once for both tables
    risk = all_instrument_risk(data, start, end, measured)
    liquidity = figures.liquidity_table(data, start, end, measured)
    rows = {}
    for code, row in risk.iterrows():
        config = data.instruments.get(code)
        commission_points = ((config.per_block + config.percentage * row["price"]
                              * config.pointsize) / config.pointsize)
        cost_points = config.spread_cost + commission_points
        annual_pct = float(row["annual_pct_stdev"]) / 100.0
        rows[code] = {
            "sr_cost": cost_points / row["annual_stdev"] if row["annual_stdev"] else math.nan,
            "volume_contracts": (float(liquidity.loc[code, "mean_volume"])
                                 if code in liquidity.index else math.nan),
            "volume_risk": (float(liquidity.loc[code, "mean_volume"])
                            * float(row["annual_risk_per_contract"])
                            if code in liquidity.index else math.nan),
            "annual_pct_stdev": float(row["annual_pct_stdev"]),
            "max_leverage": (cfg.max_vs_average_forecast * cfg.risk_target * cfg.idm
                             * cfg.instrument_weight / annual_pct if annual_pct else math.inf),
        }
    return pd.DataFrame.from_dict(rows, orient="index", columns=[
        "sr_cost", "volume_contracts", "volume_risk", "annual_pct_stdev", "max_leverage"])


def _failures(row, cfg, margin: float) -> list[str]:
    """The thresholds a market fails; ``margin`` > 0 tightens every threshold by that fraction
    (hysteresis for markets already marked bad)."""
    reasons = []
    if row["sr_cost"] > cfg.max_sr_cost * (1 - margin):
        reasons.append("expensive")
    if not (row["volume_contracts"] >= cfg.min_volume_contracts_daily * (1 + margin)):
        reasons.append("volume_contracts")
    if not (row["volume_risk"] >= cfg.min_volume_risk_daily * (1 + margin)):
        reasons.append("volume_risk")
    if row["max_leverage"] > cfg.raw_max_leverage * (1 - margin):
        reasons.append("too_safe")
    return reasons


def remove_markets(data, start, end, quality: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per instrument of :func:`market_quality`: whether it is in
    ``exclude_instrument_lists.bad_markets`` now, the thresholds it fails (``expensive``: SR cost
    above ``max_sr_cost``; ``volume_contracts``/``volume_risk``: mean daily volume below the
    minimum, or unknown; ``too_safe``: a maximum position needs leverage above
    ``raw_max_leverage``), and the suggestion: ``remove`` (good now, fails a threshold),
    ``add_back`` (bad now, passes every threshold by the ``bad_threshold`` margin), else
    ``keep``. A bad market is judged with the tightened thresholds (hysteresis), so a market
    near a threshold does not flip every day. ``quality``: :func:`market_quality` of the
    period when the caller has it (else computed)."""
    cfg = data.config.reporting
    bad = set(data.config.exclude_instrument_lists.bad_markets)
    if quality is None:
        quality = market_quality(data, start, end)
    rows = {}
    for code, row in quality.iterrows():
        is_bad = code in bad
        reasons = _failures(row, cfg, cfg.bad_threshold if is_bad else 0.0)
        if is_bad:
            suggestion = "keep" if reasons else "add_back"
        else:
            suggestion = "remove" if reasons else "keep"
        rows[code] = {"bad_now": is_bad, "fails": ", ".join(reasons),
                      "suggestion": suggestion, **row.to_dict()}
    return pd.DataFrame.from_dict(rows, orient="index", columns=[
        "bad_now", "fails", "suggestion", "sr_cost", "volume_contracts", "volume_risk",
        "max_leverage"])


def clean_slate_bad_markets(data, start, end, quality: pd.DataFrame | None = None
                            ) -> list[str]:
    """Every market failing a threshold, ignoring what is marked bad now (no hysteresis).
    ``quality``: as for :func:`remove_markets`."""
    cfg = data.config.reporting
    if quality is None:
        quality = market_quality(data, start, end)
    return sorted(code for code, row in quality.iterrows() if _failures(row, cfg, 0.0))


def duplicate_groups(config) -> dict[str, list[str]]:
    """``duplicate_instruments`` groups: group name → included code(s) then excluded ones."""
    dup = config.duplicate_instruments
    out: dict[str, list[str]] = {}
    for groups in (dup.include, dup.exclude):
        for group, codes in groups.items():
            out.setdefault(group, []).extend([codes] if isinstance(codes, str) else codes)
    return out


def duplicate_markets(data, start, end) -> pd.DataFrame:
    """One row per instrument of each ``duplicate_instruments`` group: whether it is the
    included one now, its SR cost and volumes (:func:`market_quality`; NaN when not
    measurable), and ``best``: the cheapest (lowest SR cost) of the group among those meeting
    both volume minimums (or the cheapest of all when none does). ``change`` is true on the
    best row when it is not the included one."""
    cfg = data.config.reporting
    included = data.config.duplicate_instruments.included
    quality = market_quality(data, start, end)
    rows = []
    for group, codes in sorted(duplicate_groups(data.config).items()):
        group_rows = []
        for code in codes:
            q = quality.loc[code] if code in quality.index else None
            group_rows.append({
                "group": group, "instrument": code, "included": code in included,
                "sr_cost": float(q["sr_cost"]) if q is not None else math.nan,
                "volume_contracts": float(q["volume_contracts"]) if q is not None else math.nan,
                "volume_risk": float(q["volume_risk"]) if q is not None else math.nan})
        liquid = [r for r in group_rows
                  if r["volume_contracts"] >= cfg.min_volume_contracts_daily
                  and r["volume_risk"] >= cfg.min_volume_risk_daily
                  and not math.isnan(r["sr_cost"])]
        pool = liquid or [r for r in group_rows if not math.isnan(r["sr_cost"])]
        best = min(pool, key=lambda r: r["sr_cost"])["instrument"] if pool else None
        for r in group_rows:
            r["best"] = r["instrument"] == best
            r["change"] = r["best"] and not r["included"]
        rows.extend(group_rows)
    return pd.DataFrame(rows, columns=["group", "instrument", "included", "sr_cost",
                                       "volume_contracts", "volume_risk", "best", "change"])


# --- market monitor --------------------------------------------------------------------------

#: period label → offset back from the report end (``YTD``: from 1 January of the end's year)
MONITOR_PERIODS = {"1B": pd.offsets.BDay(1), "7D": pd.Timedelta(days=7),
                   "1M": pd.DateOffset(months=1), "3M": pd.DateOffset(months=3),
                   "6M": pd.DateOffset(months=6), "YTD": None,
                   "12M": pd.DateOffset(months=12)}
#: span (business days) of the EWMA stdev of daily changes used to vol-adjust a move
MONITOR_VOL_SPAN = 30


def _daily_prices(data, code: str, end) -> pd.Series:
    prices = data.adjusted_prices.read_series(code).dropna()
    prices.index = utc_index(prices.index)
    prices = prices[prices.index <= to_utc(end)]
    return prices.groupby(prices.index.normalize()).last()


def period_start(end: pd.Timestamp, label: str) -> pd.Timestamp:
    """The start of a monitor period ending at ``end`` (UTC day)."""
    day = to_utc(end).normalize()
    if label == "YTD":
        return day.replace(month=1, day=1) - pd.Timedelta(days=1)
    return day - MONITOR_PERIODS[label]


def market_moves(data, end, start: pd.Timestamp | None = None) -> pd.DataFrame:
    """Per instrument with adjusted prices and period: the move from the last daily price at
    or before the period start to the last at or before ``end``: in % of the start price, and
    vol-adjusted (points ÷ (EWMA(span 30) stdev of daily changes up to the start × sqrt(business
    days in the period))). Periods 1B, 7D, 1M, 3M, 6M, YTD, 12M, or one custom period from
    ``start`` (label ``custom``). NaN where there is no price at the start or too little history
    for the stdev. Columns ``<period>_pct`` and ``<period>_vol_adjusted``."""
    periods = ({"custom": to_utc(start).normalize()} if start is not None
               else {label: period_start(end, label) for label in MONITOR_PERIODS})
    rows = {}
    for code in sorted(data.adjusted_prices.list_codes()):
        daily = _daily_prices(data, code, end)
        if daily.empty:
            continue
        last = float(daily.iloc[-1])
        vols = daily.diff().ewm(span=MONITOR_VOL_SPAN, min_periods=2).std()
        row = {}
        for label, when in periods.items():
            before = daily[daily.index <= when]
            if before.empty:
                row[f"{label}_pct"] = row[f"{label}_vol_adjusted"] = math.nan
                continue
            first = float(before.iloc[-1])
            vol = vols[vols.index <= when].dropna()
            days = max(len(pd.bdate_range(before.index[-1], daily.index[-1])) - 1, 1)
            move = last - first
            row[f"{label}_pct"] = 100.0 * move / first if first else math.nan
            row[f"{label}_vol_adjusted"] = (move / (float(vol.iloc[-1]) * math.sqrt(days))
                                            if len(vol) and vol.iloc[-1] else math.nan)
        rows[code] = row
    columns = [f"{label}_{kind}" for label in periods for kind in ("pct", "vol_adjusted")]
    return pd.DataFrame.from_dict(rows, orient="index", columns=columns)


def top_and_bottom(moves: pd.DataFrame, column: str, n: int = 6) -> tuple[pd.DataFrame,
                                                                          pd.DataFrame]:
    """The ``n`` largest and ``n`` smallest rows by ``column`` (NaN dropped)."""
    valid = moves[[column]].dropna()
    return (valid.sort_values(column, ascending=False).head(n),
            valid.sort_values(column).head(n))
