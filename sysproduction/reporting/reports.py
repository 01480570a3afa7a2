"""The reports and their registry. Each report is ``(data, start, end) -> Report`` with
``start``/``end`` tz-aware UTC; figures come from :mod:`sysproduction.reporting.data`."""
from __future__ import annotations

from collections.abc import Callable

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from syscore.exceptions import MissingData, SystradeError, first_line, one_line  # noqa: E402
from sysproduction.reporting import data as figures  # noqa: E402
from sysproduction.reporting import markets  # noqa: E402
from sysproduction.reporting.report import (  # noqa: E402
    FigureSection,
    Report,
    TableSection,
    TextSection,
)

ReportFunction = Callable[[object, pd.Timestamp, pd.Timestamp], Report]


def status_report(data, start, end) -> Report:
    locks = data.locks.locked_instruments()
    return Report("status", "Status report", start, end, (
        TableSection("Processes", figures.process_table(data)),
        TableSection("Last price times", figures.last_price_times(data, end),
                     note="age_hours: hours from the report end to the last adjusted price"),
        TextSection("Locked instruments", ", ".join(sorted(locks)) if locks else "(none)"),
        TableSection("Alerts", figures.alerts_table(data, start, end)),
    ))


def roll_report(data, start, end) -> Report:
    return Report("roll", "Roll report", start, end, (
        TableSection("Roll status", figures.roll_table(data, end),
                     note="days_to_expiry: calendar days from the report end to the priced "
                          "contract's expiry; volumes: last stored daily volume (NaN: none)"),
    ))


def _bar_figure(values: pd.Series, title: str, ylabel: str) -> Figure:
    figure = Figure(figsize=(7, 3.5))
    axes = figure.subplots()
    axes.bar([str(i) for i in values.index], values.values)
    axes.set_title(title)
    axes.set_ylabel(ylabel)
    return figure


def _line_figure(values: pd.Series, title: str, ylabel: str) -> Figure:
    figure = Figure(figsize=(7, 3.5))
    axes = figure.subplots()
    axes.plot(values.index, values.values)
    axes.set_title(title)
    axes.set_ylabel(ylabel)
    figure.autofmt_xdate()
    return figure


def pandl_report(data, start, end) -> Report:
    base = data.config.base_currency
    sections = []
    try:
        curve = figures.account_curve(data, start, end)
        daily = figures.daily_account_pandl(data, start, end)
        account_total = float(curve.iloc[-1]) if not curve.empty else 0.0
        sections += [
            TextSection("Account p&l", f"{account_total:,.2f} {base} over the period "
                                       f"(from total capital, accumulated p&l)"),
            TableSection("Daily account p&l", daily.to_frame("pandl")),
            FigureSection("Account curve", _line_figure(curve, "Account curve", base),
                          note="accumulated p&l over the period"),
        ]
    except MissingData:
        account_total = None
        sections.append(TextSection("Account p&l", "no total capital stored"))
    by_instrument = figures.pandl_by_instrument(data, start, end)
    instrument_total = float(by_instrument["pandl"].sum()) if not by_instrument.empty else 0.0
    sections.append(TableSection("P&L by instrument", by_instrument,
                                 note=f"in {base}: position × adjusted price change × point "
                                      f"size × FX"))
    by_strategy = figures.pandl_by_strategy(data, start, end)
    sections.append(TableSection("P&L by strategy", by_strategy,
                                 note=f"in {base}: each strategy's own positions"))
    if account_total is not None and not by_strategy.empty:
        sections.append(TextSection(
            "Strategy residual", f"{account_total - float(by_strategy['pandl'].sum()):,.2f} "
                                 f"{base} (account minus strategies)"))
    if not by_instrument.empty:
        by_class = by_instrument.groupby("asset_class")["pandl"].sum().to_frame("pandl")
        sections += [TableSection("P&L by asset class", by_class),
                     FigureSection("P&L by instrument chart",
                                   _bar_figure(by_instrument["pandl"], "P&L by instrument",
                                               base))]
    if account_total is not None:
        sections.append(TextSection(
            "Residual", f"{account_total - instrument_total:,.2f} {base} (account minus "
                        f"instruments: costs, interest, fees, FX on balances, errors)"))
    return Report("pnl", "Profit and loss report", start, end, tuple(sections))


def trades_report(data, start, end) -> Report:
    return Report("trades", "Trades report", start, end, (
        TableSection("Fills", figures.fills_table(data, start, end)),
        TableSection("Slippage", figures.slippage_table(data, start, end),
                     note="positive = cost; reference: price when the order was generated; "
                          "mid: mid price at the fill (mid_at fill) or when sent to the broker "
                          "(mid_at submission); cash in "
                          f"{data.config.base_currency}",
                     points_columns=("price", "reference", "reference_points",
                                     "mid", "mid_points")),
    ))


def reconcile_report(data, start, end) -> Report:
    positions = figures.strategy_vs_contract_positions(data)
    optimal = figures.optimal_vs_actual(data)
    breaks = positions[positions["break"]] if not positions.empty else positions
    sections = [
        TextSection("Breaks", f"{len(breaks)} instrument(s) where strategy and contract "
                              f"positions differ" + (f": {', '.join(breaks.index)}"
                                                     if len(breaks) else "")),
        TableSection("Strategy vs contract positions", positions),
        _broker_section(data),
        _unmapped_section(data),
        TableSection("Our recent trades", figures.fills_table(data, start, end),
                     note="fills booked on the ledger in the period"),
        _broker_trades_section(data, start, end),
        TableSection("Optimal vs actual", optimal),
    ]
    if not optimal.empty:
        sections.append(FigureSection("Positions vs buffers", _buffer_figure(optimal)))
    return Report("reconcile", "Reconcile report", start, end, tuple(sections))


def _broker_trades_section(data, start, end):
    """The broker's executions in the period, each marked booked or not on our ledger; one
    line of text when the broker cannot be reached."""
    try:
        trades = figures.broker_trades_table(data, start, end)
    except Exception as exc:  # a broker outage must not lose the report
        data.log.warning("reconcile report: broker trades not read: %s", exc)
        return TextSection("The broker's recent trades", "broker trades not read: " + (
            first_line(exc) if isinstance(exc, SystradeError) else one_line(exc)))
    unbooked = int((~trades["booked"].astype(bool)).sum()) if not trades.empty else 0
    return TableSection("The broker's recent trades", trades,
                        note=f"executions at the broker in the period; {unbooked} not booked "
                             f"on our ledger (a missed fill or a trade made outside systrade)")


def _broker_section(data):
    """Our contract positions against the broker's; one line of text when the broker cannot
    be reached (the rest of the report still renders)."""
    try:
        breaks = figures.broker_position_breaks(data)
    except Exception as exc:  # a broker outage must not lose the report
        data.log.warning("reconcile report: broker positions not read: %s", exc)
        return TextSection("Breaks against the broker",
                           "broker positions not read: " + (
                               first_line(exc) if isinstance(exc, SystradeError)
                               else one_line(exc)))
    return TableSection("Breaks against the broker", breaks,
                        note="contract positions, ours vs the broker's (missing = 0)")


def _unmapped_section(data):
    """Positions at the broker in contracts without a mapping (no break can show them);
    one line of text when the broker cannot be reached."""
    title = "Positions at the broker systrade cannot name"
    try:
        unmapped = figures.unmapped_broker_positions(data)
    except Exception as exc:  # a broker outage must not lose the report
        data.log.warning("reconcile report: unmapped broker positions not read: %s", exc)
        return TextSection(title, "broker positions not read: " + (
            first_line(exc) if isinstance(exc, SystradeError) else one_line(exc)))
    return TableSection(title, unmapped,
                        note=f"{len(unmapped)} position(s) in contracts without a mapping (IB: "
                             "no IB futures config): not in systrade's positions; add the "
                             "mapping or close them by hand")


def _buffer_figure(optimal: pd.DataFrame) -> Figure:
    figure = Figure(figsize=(7, 3.5))
    axes = figure.subplots()
    labels = [f"{s}/{i}" for s, i in zip(optimal["strategy"], optimal["instrument"], strict=True)]
    x = range(len(labels))
    axes.vlines(x, optimal["lower"], optimal["upper"], linewidth=8, alpha=0.4, label="buffer")
    axes.scatter(x, optimal["actual"], color="black", zorder=3, label="actual")
    axes.set_xticks(list(x), labels)
    axes.set_ylabel("contracts")
    axes.legend()
    return figure


def risk_report(data, start, end) -> Report:
    base = data.config.base_currency
    risk = figures.instrument_risk(data, start, end)
    corr = figures.correlations(data, start, end)
    total = float(risk["position_risk"].sum()) if not risk.empty else 0.0
    sections = [
        TableSection("Instrument risk", risk,
                     note=f"annualised (daily changes × sqrt(256)); risk columns in {base}"),
        TextSection("Position risk", f"sum of position risks {total:,.2f} {base} (no "
                                     f"diversification)"),
        TableSection("Risk by strategy", figures.risk_by_strategy(data, start, end, risk, corr),
                     note=f"annualised, {base}; risk = sqrt(r' C r) with r = position × risk "
                          f"of one contract and C the correlations below; TOTAL nets every "
                          f"strategy; risk_pct_capital: of the latest total capital"),
        TableSection("Beta loadings", figures.beta_loadings(data, start, end, risk),
                     note="fractions of total capital: beta_loading = sum of position "
                          "exposure × beta to the asset class's equally weighted daily "
                          "return; exposure = net exposure held in the class"),
        TableSection("Correlations", corr),
        _margin_section(data, total),
    ]
    if not risk.empty:
        by_class = risk.groupby("asset_class")["position_risk"].sum().to_frame("position_risk")
        sections.insert(1, TableSection("Risk by asset class", by_class))
    return Report("risk", "Risk report", start, end, tuple(sections))


def _margin_section(data, position_risk: float) -> TextSection:
    base = data.config.base_currency
    try:
        margin = figures.margin_usage(data)
    except MissingData:
        return TextSection("Margin", "no total capital stored")
    return TextSection("Margin", (
        f"margin used {margin['margin']:,.2f} {base} of total capital {margin['total']:,.2f} "
        f"{base} ({margin['margin_pct']:.2f} %); position risk "
        f"{100.0 * position_risk / margin['total'] if margin['total'] else float('nan'):.2f} "
        f"% of capital a year"))


def costs_report(data, start, end) -> Report:
    return Report("costs", "Costs report", start, end, (
        TableSection("Spread costs", figures.costs_table(data, start, end),
                     note="spreads in price points; suggested_spread_cost = median sampled "
                          "spread / 2; cash columns per contract in "
                          f"{data.config.base_currency}",
                     points_columns=("median_spread", "suggested_spread_cost",
                                     "median_mid_slippage", "configured_spread_cost")),
    ))


def liquidity_report(data, start, end) -> Report:
    return Report("liquidity", "Liquidity report", start, end, (
        TableSection("Liquidity", figures.liquidity_table(data, start, end),
                     note="mean daily volume of the priced contract, in contracts and in "
                          f"annualised risk ({data.config.base_currency})"),
    ))


def strategy_report(data, start, end) -> Report:
    """Per strategy: vol-target calculation, positions vs buffers (table and figure), and the
    latest saved backtest's forecasts."""
    base = data.config.base_currency
    optimal = figures.optimal_vs_actual(data)
    sections: list = []
    names = markets.strategy_names(data)
    if not names:
        sections.append(TextSection("Strategies", "no strategy capital or optimal positions "
                                                  "stored"))
    for name in names:
        state = markets.latest_saved_backtest(data, name)
        pct = state.config.percentage_vol_target if state is not None else None
        target = markets.vol_target(data, name, pct)
        sections.append(TableSection(
            f"{name}: vol target", pd.DataFrame([target], index=[name]),
            note=f"capital and cash targets in {base}; percentage_vol_target: annual %, from "
                 f"the latest saved backtest (NaN: none saved); daily = annual / 16"))
        mine = optimal[optimal["strategy"] == name]
        sections.append(TableSection(f"{name}: positions vs buffers",
                                     mine.drop(columns=["strategy"]).set_index("instrument"),
                                     note="buffer lower/upper and actual in contracts"))
        if not mine.empty:
            sections.append(FigureSection(f"{name}: positions vs buffers chart",
                                          _buffer_figure(mine)))
        if state is None:
            sections.append(TextSection(f"{name}: forecasts", "no saved backtest"))
        else:
            sections.append(TableSection(
                f"{name}: forecasts", markets.latest_forecasts(state),
                note=f"last row of the saved backtest {state.directory.name}; combined and "
                     f"capped per-rule forecasts, average absolute value 10"))
    return Report("strategy", "Strategy report", start, end, tuple(sections))


def slippage_report(data, start, end) -> Report:
    return Report("slippage", "Slippage report: spread-cost suggestions", start, end, (
        TableSection("Spread cost suggestions", markets.spread_cost_suggestions(data, start, end),
                     note="price points; from_samples = median sampled bid/ask spread / 2; "
                          "from_trades = mean fill slippage against the mid (positive = "
                          "cost); blended weighted by samples and fills; difference_pct = "
                          "blended vs configured spread_cost (update the config when large)",
                     points_columns=("from_samples", "from_trades", "blended", "configured")),
    ))


def instrument_risk_report(data, start, end) -> Report:
    risk = markets.all_instrument_risk(data, start, end)
    base = data.config.base_currency
    note = (f"stdev of daily adjusted-price changes; annual = daily × 16; point size, exposure "
            f"and risk in {base}")
    return Report("instrument_risk", "Instrument risk report", start, end, (
        TableSection("By annual risk per contract", risk, note=note),
        TableSection("By annual % stdev", risk.sort_values("annual_pct_stdev", ascending=False,
                                                           kind="stable")),
        TableSection("By name", risk.sort_index()),
    ))


def minimum_capital_report(data, start, end) -> Report:
    cfg = data.config.reporting
    return Report("min_capital", "Minimum capital report", start, end, (
        TableSection("Minimum capital", markets.minimum_capital(data, start, end),
                     note=f"{data.config.base_currency}; one contract: annual risk / "
                          f"risk_target {cfg.risk_target:.0%}; portfolio: × "
                          f"{cfg.min_contracts_held:g} contracts / (weight "
                          f"{cfg.instrument_weight:g} × IDM {cfg.idm:g})"),
    ))


def duplicate_markets_report(data, start, end) -> Report:
    table = markets.duplicate_markets(data, start, end)
    changes = table[table["change"]] if not table.empty else table
    lines = [f"{r.group}: trade {r.instrument} instead of "
             f"{', '.join(table[(table['group'] == r.group) & table['included']]['instrument']) or '(none)'}"
             for r in changes.itertuples()]
    return Report("duplicate_markets", "Duplicate markets report", start, end, (
        TableSection("Duplicate groups", table,
                     note="best: cheapest (SR cost) meeting the volume minimums"),
        TextSection("Suggested config changes (duplicate_instruments)",
                    "\n".join(lines) if lines else "(none)"),
    ))


def remove_markets_report(data, start, end) -> Report:
    cfg = data.config.reporting
    quality = markets.market_quality(data, start, end)  # the costly part, once for both
    table = markets.remove_markets(data, start, end, quality)
    remove = sorted(table.index[table["suggestion"] == "remove"]) if not table.empty else []
    add_back = sorted(table.index[table["suggestion"] == "add_back"]) if not table.empty else []
    bad_now = set(data.config.exclude_instrument_lists.bad_markets)
    clean = markets.clean_slate_bad_markets(data, start, end, quality)
    incremental = sorted((bad_now - set(add_back)) | set(remove))
    return Report("remove_markets", "Remove markets report", start, end, (
        TableSection("Markets", table, note=(
            f"thresholds: SR cost <= {cfg.max_sr_cost:g}; volume >= "
            f"{cfg.min_volume_contracts_daily:g} contracts and >= "
            f"{cfg.min_volume_risk_daily:,.0f} {data.config.base_currency} risk a day; leverage "
            f"of a maximum position <= {cfg.raw_max_leverage:g}; bad markets must pass by "
            f"{cfg.bad_threshold:.0%} to come back")),
        TextSection("Remove", ", ".join(remove) or "(none)"),
        TextSection("Add back", ", ".join(add_back) or "(none)"),
        TextSection("bad_markets, incremental", ", ".join(incremental) or "(none)"),
        TextSection("bad_markets, clean slate", ", ".join(clean) or "(none)"),
    ))


def market_monitor_report(data, start, end) -> Report:
    moves = markets.market_moves(data, end)
    sections: list = [TableSection("Moves by name", moves,
                                   note="pct: % change of the adjusted price; vol_adjusted: "
                                        "change / (EWMA(30) daily stdev × sqrt(days))")]
    for label in markets.MONITOR_PERIODS:
        top, bottom = markets.top_and_bottom(moves, f"{label}_vol_adjusted")
        if top.empty:
            continue
        sections += [TableSection(f"{label}: top 6 (vol-adjusted)", top),
                     TableSection(f"{label}: bottom 6 (vol-adjusted)", bottom)]
    custom = markets.market_moves(data, end, start=start)
    sections.append(TableSection("Report period", custom.sort_values(
        "custom_vol_adjusted", ascending=False, kind="stable"), note="from the report start"))
    return Report("market_monitor", "Market monitor", start, end, tuple(sections))


def account_curve_report(data, start, end) -> Report:
    base = data.config.base_currency
    try:
        curve = figures.account_curve(data, start, end)
    except MissingData:
        return Report("account_curve", "Account curve", start, end,
                      (TextSection("Account curve", "no total capital stored"),))
    return Report("account_curve", "Account curve", start, end, (
        FigureSection("Account curve", _line_figure(curve, "Account curve", base),
                      note="accumulated p&l over the period"),
        TableSection("Accumulated p&l by day", curve.to_frame(f"pandl ({base})")),
    ))


REPORTS: dict[str, ReportFunction] = {
    "status": status_report,
    "roll": roll_report,
    "pnl": pandl_report,
    "trades": trades_report,
    "reconcile": reconcile_report,
    "risk": risk_report,
    "costs": costs_report,
    "liquidity": liquidity_report,
    "strategy": strategy_report,
    "slippage": slippage_report,
    "instrument_risk": instrument_risk_report,
    "min_capital": minimum_capital_report,
    "duplicate_markets": duplicate_markets_report,
    "remove_markets": remove_markets_report,
    "market_monitor": market_monitor_report,
    "account_curve": account_curve_report,
}
DEFAULT_REPORTS = tuple(REPORTS)
