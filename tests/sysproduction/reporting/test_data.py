"""Report figures against hand-computed answers (scenario in conftest.py)."""
from __future__ import annotations

import math

import pandas as pd
import pytest

from sysobjects.orders.records import Fill
from sysproduction.reporting import data as figures
from tests.sysproduction.reporting.conftest import END, START


def test_instrument_daily_pandl_uses_the_position_held_before_each_price_change(blob):
    # CORN held 0, 2, 2, -1 at the price times 01-01 … 01-04; changes +2, -1, +4, -1; × 50
    corn = figures.instrument_daily_pandl(blob, "CORN", START, END)
    assert corn.tolist() == [0.0, -100.0, 400.0, 50.0]


def test_instrument_pandl_is_converted_with_the_fx_rate_of_the_day(blob):
    # GILT 1 contract × changes 0.5, -0.25, 0, 0.75 × 1000 × GBPUSD 1.25, 1.25, 1.30, 1.30
    gilt = figures.instrument_daily_pandl(blob, "GILT", START, END)
    assert gilt.tolist() == pytest.approx([625.0, -312.5, 0.0, 975.0])


def test_pandl_window_excludes_the_start(blob):
    corn = figures.instrument_daily_pandl(blob, "CORN", pd.Timestamp("2024-01-03", tz="UTC"), END)
    assert corn.sum() == 450.0


def test_pandl_by_instrument(blob):
    table = figures.pandl_by_instrument(blob, START, END)
    assert table.loc["CORN", "pandl"] == 350.0
    assert table.loc["GILT", "pandl"] == pytest.approx(1287.5)
    assert table.loc["GILT", "asset_class"] == "Bonds"


def test_account_curve_starts_from_the_last_value_before_the_period(blob):
    curve = figures.account_curve(blob, START, END)
    assert curve.tolist() == [600.0, 1800.0]  # 1600 - 1000 at 01-02's last row, 2800 - 1000
    assert figures.daily_account_pandl(blob, START, END).tolist() == [600.0, 1200.0]


def test_instrument_risk(blob):
    risk = figures.instrument_risk(blob, START, END)
    # CORN daily changes 2, -1, 4, -1: sample variance 18 / 3 = 6
    assert risk.loc["CORN", "annual_vol_points"] == pytest.approx(math.sqrt(6) * 16)
    assert risk.loc["CORN", "position_risk"] == pytest.approx(math.sqrt(6) * 16 * 50)
    # GILT changes 0.5, -0.25, 0, 0.75: variance 0.625 / 3, FX now 1.30
    gilt_vol = math.sqrt(0.625 / 3) * 16
    assert risk.loc["GILT", "risk_per_contract"] == pytest.approx(gilt_vol * 1000 * 1.30)
    assert risk.loc["GILT", "annual_vol_pct"] == pytest.approx(100 * gilt_vol / 101.0)


def test_instrument_risk_of_a_one_day_report_uses_a_year_of_history(blob):
    """A nightly report covers one day: the volatility is still measured (over the year
    before its end), so the same figures as over the whole scenario."""
    one_day = figures.instrument_risk(blob, END - pd.Timedelta(days=1), END)
    assert one_day.loc["CORN", "annual_vol_points"] == pytest.approx(math.sqrt(6) * 16)
    assert not figures.correlations(blob, END - pd.Timedelta(days=1), END).empty


# annual risk of one contract (USD): CORN sqrt(6) × 16 × 50; GILT sqrt(0.625 / 3) × 16 × 1000
# × 1.30; correlation of their daily changes -0.5 / sqrt(18 × 0.625)
CORN_RISK = math.sqrt(6) * 16 * 50  # 1,959.59
GILT_RISK = math.sqrt(0.625 / 3) * 16 * 1000 * 1.30  # 9,493.86
RHO = -0.5 / math.sqrt(18 * 0.625)  # -0.1491
CAPITAL = 102_800.0  # the last total-capital row


def test_risk_by_strategy_diversifies_with_the_correlations(blob):
    blob.positions.set_strategy_position("s2", "CORN", 1, pd.Timestamp("2024-01-04", tz="UTC"))
    table = figures.risk_by_strategy(blob, START, END)
    assert list(table.index) == ["s1", "s2", "TOTAL"]
    # s1: CORN -1, GILT +1: r = (-a, b); r' C r = a² + b² - 2ab·rho
    s1 = math.sqrt(CORN_RISK ** 2 + GILT_RISK ** 2 - 2 * CORN_RISK * GILT_RISK * RHO)
    assert s1 == pytest.approx(9_975.97, abs=0.01)
    assert table.loc["s1", "risk"] == pytest.approx(s1)
    assert table.loc["s1", "undiversified_risk"] == pytest.approx(CORN_RISK + GILT_RISK)
    assert table.loc["s1", "risk_pct_capital"] == pytest.approx(100 * s1 / CAPITAL)
    # s2: CORN +1 alone
    assert table.loc["s2", "risk"] == pytest.approx(CORN_RISK)
    # TOTAL nets the strategies: CORN -1 + 1 = 0, GILT +1 alone
    assert table.loc["TOTAL", "instruments"] == 1
    assert table.loc["TOTAL", "risk"] == pytest.approx(GILT_RISK)


def test_beta_loadings_by_asset_class(blob):
    from statistics import covariance, variance

    corn = [2 / 100, -1 / 102, 4 / 101, -1 / 105]  # daily percentage returns
    gilt = [0.5 / 100, -0.25 / 100.5, 0 / 100.25, 0.75 / 100.25]
    # net exposure / capital: CORN -1 × 104 × 50; GILT +1 × 101 × 1000 × 1.30
    w_corn, w_gilt = -1 * 104 * 50 / CAPITAL, 101 * 1000 * 1.30 / CAPITAL
    table = figures.beta_loadings(blob, START, END)
    # each class has one instrument: its own beta is 1; the other's is cov / var
    ags = w_corn + w_gilt * covariance(gilt, corn) / variance(corn)
    bonds = w_gilt + w_corn * covariance(corn, gilt) / variance(gilt)
    assert table.loc["Ags", "beta_loading"] == pytest.approx(ags)
    assert table.loc["Bonds", "beta_loading"] == pytest.approx(bonds)
    assert table.loc["Ags", "exposure"] == pytest.approx(w_corn)  # -0.0506
    assert table.loc["Bonds", "exposure"] == pytest.approx(w_gilt)  # 1.2772


def test_beta_of_a_class_is_against_its_equally_weighted_return(blob):
    from statistics import covariance, variance

    from sysobjects.instruments import InstrumentConfig

    # a second bond, no position: the Bonds index is the mean of two
    blob.instruments.add(InstrumentConfig("BUND", pointsize=10.0, asset_class="Bonds"))
    days = pd.DatetimeIndex(pd.date_range("2024-01-01", periods=5, freq="D"), tz="UTC")
    blob.adjusted_prices.write("BUND", pd.Series([200.0, 202.0, 200.0, 204.0, 204.0],
                                                 index=days, name="price"))
    gilt = [0.5 / 100, -0.25 / 100.5, 0 / 100.25, 0.75 / 100.25]
    bund = [2 / 200, -2 / 202, 4 / 200, 0 / 204]
    corn = [2 / 100, -1 / 102, 4 / 101, -1 / 105]
    index = [(g + b) / 2 for g, b in zip(gilt, bund, strict=True)]
    w_corn, w_gilt = -1 * 104 * 50 / CAPITAL, 101 * 1000 * 1.30 / CAPITAL
    bonds = (w_gilt * covariance(gilt, index) / variance(index)
             + w_corn * covariance(corn, index) / variance(index))
    table = figures.beta_loadings(blob, START, END)
    assert table.loc["Bonds", "beta_loading"] == pytest.approx(bonds)
    assert table.loc["Bonds", "exposure"] == pytest.approx(w_gilt)  # BUND holds nothing


def test_risk_by_strategy_and_betas_without_positions_or_capital(tmp_path):
    from tests.blob_helpers import FixedClock, make_blob

    data = make_blob(tmp_path / "bare", clock=FixedClock("2024-01-06"))
    try:
        assert figures.risk_by_strategy(data, START, END).to_dict("index") == {
            "TOTAL": {"instruments": 0, "risk": 0.0, "undiversified_risk": 0.0,
                      "risk_pct_capital": pytest.approx(math.nan, nan_ok=True)}}
        assert figures.beta_loadings(data, START, END).empty
    finally:
        data.close()


def test_correlations(blob):
    corr = figures.correlations(blob, START, END)
    # deviations (1, -2, 3, -2) and (0.25, -0.5, -0.25, 0.5): sum of products -0.5
    assert corr.loc["CORN", "GILT"] == pytest.approx(-0.5 / math.sqrt(18 * 0.625))


def test_strategy_vs_contract_positions_finds_the_break(blob):
    table = figures.strategy_vs_contract_positions(blob)
    assert table.to_dict("index") == {
        "CORN": {"strategy": -1, "contract": -1, "break": False},
        "GILT": {"strategy": 1, "contract": 2, "break": True}}


def test_optimal_vs_actual(blob):
    table = figures.optimal_vs_actual(blob).set_index("instrument")
    assert not table.loc["CORN", "outside_buffer"]
    assert table.loc["GILT", "outside_buffer"]
    assert table.loc["GILT", "actual"] == 1


def test_roll_table(blob):
    row = figures.roll_table(blob, END).loc["CORN"]
    assert (row["roll_state"], row["priced"], row["forward"]) == ("Passive", "20240300",
                                                                  "20240500")
    assert row["days_to_expiry"] == 69  # 2024-01-05 to 2024-03-14
    assert (row["priced_volume"], row["forward_volume"]) == (900.0, 300.0)


def test_roll_volumes_are_daily_even_when_the_last_merged_bar_is_hourly(blob):
    # the daily bar closes at 21:00; at 20:30 the merged series ends with the 20:00 hourly bar
    daily = pd.DataFrame({"OPEN": [1.0], "HIGH": [1.0], "LOW": [1.0], "FINAL": [1.0],
                          "VOLUME": [650_000.0]},
                         index=pd.DatetimeIndex(["2024-01-04 21:00"], tz="UTC"))
    hourly = pd.DataFrame({"OPEN": [1.0], "HIGH": [1.0], "LOW": [1.0], "FINAL": [1.0],
                           "VOLUME": [42_000.0]},
                          index=pd.DatetimeIndex(["2024-01-05 20:00"], tz="UTC"))
    blob.contract_prices.write("CORN", "20240300", daily, "D")
    blob.contract_prices.write("CORN", "20240300", pd.concat([daily, hourly]))
    row = figures.roll_table(blob, END).loc["CORN"]
    assert row["priced_volume"] == 650_000.0


def test_status_tables(blob):
    blob.process_control.update("run_reports", run_state="crashed", pid=4242)
    blob.alerts.add("Price spike in CORN", "body", pd.Timestamp("2024-01-03", tz="UTC"))
    blob.alerts.add("Old alert", "body", pd.Timestamp("2023-12-01", tz="UTC"))
    processes = figures.process_table(blob)
    assert processes.loc["run_reports", "run_state"] == "crashed"
    assert processes.loc["run_reports", "status"] == "GO"
    assert figures.alerts_table(blob, START, END)["subject"].tolist() == ["Price spike in CORN"]
    ages = figures.last_price_times(blob, END)
    assert ages.loc["CORN", "age_hours"] == pytest.approx(23 + 59 / 60)


def test_status_report_prints_a_pid_as_a_whole_number(blob):
    from sysproduction.reporting.render import to_text
    from sysproduction.reporting.reports import status_report

    blob.process_control.update("run_reports", run_state="running", pid=23170)
    blob.process_control.update("run_systems", run_state="finished")  # no pid: NaN before
    text = to_text(status_report(blob, START, END))
    line = next(row for row in text.splitlines() if row.startswith("run_reports"))
    assert " 23170 " in line and "23,170.00" not in text


def test_fills_in_the_period_with_notional_in_base_currency(blob):
    blob.ledger.book_fill(Fill("e1", "GILT", "20240300", -2, 100.5,
                               pd.Timestamp("2024-01-02 14:00", tz="UTC")))
    blob.ledger.book_fill(Fill("e0", "GILT", "20240300", 1, 99.0,
                               pd.Timestamp("2023-12-30 14:00", tz="UTC")))
    fills = figures.fills_table(blob, START, END)
    assert fills["quantity"].tolist() == [-2]
    assert fills["notional"].tolist() == pytest.approx([2 * 100.5 * 1000 * 1.30])


def test_slippage_against_reference_and_mid_in_points_ticks_and_cash(blob):
    from sysobjects.instruments import InstrumentConfig
    from sysobjects.orders.orders import BrokerOrder, InstrumentOrder, Leg

    blob.instruments.add(InstrumentConfig("CORN", pointsize=50.0, currency="USD",
                                          asset_class="Ags", extra={"tick_size": 0.25}))
    t = pd.Timestamp("2024-01-04 14:00", tz="UTC")
    instrument = blob.order_stack("instrument")
    broker = blob.order_stack("broker")
    iid, bid = instrument.new_order_id(), broker.new_order_id()
    instrument.add_order(InstrumentOrder(
        iid, "s1", "CORN", trade=-2, reference_price=105.0,
        generated_datetime=pd.Timestamp("2024-01-04 13:00", tz="UTC")), t)
    broker.add_order(BrokerOrder(bid, "s1", "CORN", legs=(Leg("20240300", -2),),
                                 mid_price=104.6,
                                 submit_datetime=pd.Timestamp("2024-01-04 13:58", tz="UTC")), t)
    blob.ledger.book_fill(Fill("e9", "CORN", "20240300", -2, 104.5, t, strategy_name="s1",
                               broker_order_id=bid, instrument_order_id=iid))
    row = figures.slippage_table(blob, START, END).iloc[0]
    # sold at 104.5: 0.5 below the reference (a cost), 0.1 below the mid
    assert row["reference_points"] == pytest.approx(0.5)
    assert row["reference_ticks"] == pytest.approx(2.0)
    assert row["reference_cash"] == pytest.approx(0.5 * 2 * 50)
    assert row["mid_points"] == pytest.approx(0.1)
    assert row["mid_cash"] == pytest.approx(0.1 * 2 * 50)
    assert (row["generation_delay_min"], row["submission_delay_min"]) == (60.0, 2.0)
    # CORN daily changes up to 2024-01-04 14:00: 2, -1, 4; mean 5/3; squared deviations
    # (1 + 64 + 49) / 9 = 114 / 9; sample variance 114 / 18 = 19 / 3
    assert row["daily_vol"] == pytest.approx(math.sqrt(19 / 3))
    assert row["reference_vol_normalised"] == pytest.approx(0.5 / math.sqrt(19 / 3))


def test_slippage_is_nan_without_orders(blob):
    blob.ledger.book_fill(Fill("e1", "GILT", "20240300", 1, 100.5,
                               pd.Timestamp("2024-01-02 14:00", tz="UTC")))
    row = figures.slippage_table(blob, START, END).iloc[0]
    assert math.isnan(row["reference_points"]) and math.isnan(row["mid_cash"])


def test_costs_from_spread_samples_in_the_period(blob):
    from sysobjects.instruments import InstrumentConfig

    blob.instruments.add(InstrumentConfig("GILT", pointsize=1000.0, currency="GBP",
                                          asset_class="Bonds", spread_cost=0.01, per_block=2.0,
                                          percentage=0.0001))
    for day, spread in (("2023-12-20", 9.0), ("2024-01-02", 0.02), ("2024-01-03", 0.04),
                        ("2024-01-04", 0.01)):
        blob.spreads.add("GILT", pd.Timestamp(day, tz="UTC"), spread)
    row = figures.costs_table(blob, START, END).loc["GILT"]
    assert row["samples"] == 3  # the December sample is outside the period
    assert row["median_spread"] == pytest.approx(0.02)
    assert row["suggested_spread_cost"] == pytest.approx(0.01)
    assert row["spread_cash_per_contract"] == pytest.approx(0.01 * 1000 * 1.30)
    # (2 + 0.0001 × 101 × 1000) × 1.30
    assert row["commission_per_contract"] == pytest.approx((2 + 10.1) * 1.30)


def test_liquidity_in_contracts_and_risk(blob):
    blob.contract_prices.write("CORN", "20240300", pd.DataFrame(
        {"OPEN": [1.0] * 3, "HIGH": [1.0] * 3, "LOW": [1.0] * 3, "FINAL": [1.0] * 3,
         "VOLUME": [5000.0, 900.0, 600.0]},
        index=pd.DatetimeIndex(["2023-12-29", "2024-01-04", "2024-01-05"], tz="UTC")))
    row = figures.liquidity_table(blob, START, END).loc["CORN"]
    assert (row["priced"], row["days"], row["mean_volume"]) == ("20240300", 2, 750.0)
    assert row["mean_volume_risk"] == pytest.approx(750 * math.sqrt(6) * 16 * 50)


def test_liquidity_counts_days_not_hourly_bars(blob):
    # a merged series: hourly bars, then the daily bar (the day's volume) at 20:00 each day
    times, volumes = [], []
    for day, daily in (("2024-01-04", 1000.0), ("2024-01-05", 3000.0)):
        for hour, hourly in ((9, 100.0), (10, 200.0)):
            times.append(f"{day} {hour:02d}:00")
            volumes.append(hourly)
        times.append(f"{day} 20:00")
        volumes.append(daily)
    n = len(times)
    blob.contract_prices.write("CORN", "20240300", pd.DataFrame(
        {"OPEN": [1.0] * n, "HIGH": [1.0] * n, "LOW": [1.0] * n, "FINAL": [1.0] * n,
         "VOLUME": volumes}, index=pd.DatetimeIndex(times, tz="UTC")))
    row = figures.liquidity_table(blob, START, END).loc["CORN"]
    assert (row["days"], row["mean_volume"]) == (2, 2000.0)


def test_liquidity_prefers_the_stored_daily_bars(blob):
    index = pd.DatetimeIndex(["2024-01-04 20:00", "2024-01-05 20:00"], tz="UTC")
    bars = pd.DataFrame({"OPEN": [1.0] * 2, "HIGH": [1.0] * 2, "LOW": [1.0] * 2,
                         "FINAL": [1.0] * 2, "VOLUME": [800.0, 1200.0]}, index=index)
    blob.contract_prices.write("CORN", "20240300", bars, "D")
    hourly = bars.copy()
    hourly.index = index + pd.Timedelta(hours=1)  # a later hourly bar ends each day
    hourly["VOLUME"] = [5.0, 7.0]
    blob.contract_prices.write("CORN", "20240300", pd.concat([bars, hourly]).sort_index())
    row = figures.liquidity_table(blob, START, END).loc["CORN"]
    assert (row["days"], row["mean_volume"]) == (2, 1000.0)


def test_breaks_against_the_simulated_broker(blob):
    # the simulated broker holds nothing: both our contract positions are breaks
    table = figures.broker_position_breaks(blob)
    assert table.to_dict("records") == [
        {"instrument": "CORN", "contract": "202403", "ours": -1, "broker": 0},
        {"instrument": "GILT", "contract": "202403", "ours": 2, "broker": 0}]


def test_costs_include_the_median_slippage_against_mid_from_fills(blob):
    from sysobjects.orders.orders import BrokerOrder, Leg

    broker = blob.order_stack("broker")
    t = pd.Timestamp("2024-01-04 14:00", tz="UTC")
    for n, (qty, mid, price) in enumerate(((1, 104.0, 104.25), (-1, 104.0, 103.5),
                                           (1, 104.0, 104.0))):
        bid = broker.new_order_id()
        broker.add_order(BrokerOrder(bid, "s1", "CORN", legs=(Leg("20240300", qty),),
                                     mid_price=mid), t)
        blob.ledger.book_fill(Fill(f"m{n}", "CORN", "20240300", qty, price,
                                   t + pd.Timedelta(minutes=n), broker_order_id=bid))
    row = figures.costs_table(blob, START, END).loc["CORN"]
    # slippage vs mid (cost positive): 0.25, 0.5, 0 -> median 0.25; no spread samples
    assert (row["fills"], row["samples"]) == (3, 0)
    assert row["median_mid_slippage"] == pytest.approx(0.25)
    assert math.isnan(row["median_spread"])


def test_fills_table_takes_a_later_commission_report(blob):
    """IB reports commission after the execution: the trades table shows the report's value
    (not the fill's None), and a fill without a report keeps its own."""
    from sysobjects.orders.records import CommissionReport, Fill

    blob.ledger.book_fill(Fill("late.01", "CORN", "20240300", 1, 450.0,
                               pd.Timestamp("2024-01-02 14:00", tz="UTC"), strategy_name="s1"))
    blob.ledger.book_fill(Fill("own.01", "CORN", "20240300", 1, 451.0,
                               pd.Timestamp("2024-01-02 15:00", tz="UTC"), strategy_name="s1",
                               commission=2.5))
    blob.ledger.book_commission(CommissionReport("late.01", 1.25, "USD",
                                                 pd.Timestamp("2024-01-02 14:01", tz="UTC")))
    table = figures.fills_table(blob, START, END).set_index("price")
    assert table.loc[450.0, "commission"] == 1.25
    assert table.loc[451.0, "commission"] == 2.5
