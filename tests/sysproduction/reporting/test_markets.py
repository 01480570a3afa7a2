"""Strategy, slippage, instrument-risk and market-selection figures against hand-computed
answers (scenario in conftest.py: CORN daily changes 2, -1, 4, -1, last price 104, point size
50 USD, priced-contract volume 900; GILT changes 0.5, -0.25, 0, 0.75, last 101, point size
1000 GBP, GBPUSD now 1.30, no volumes)."""
from __future__ import annotations

import json
import math

import pandas as pd
import pytest
import yaml

from syscore.config_models import (
    DuplicateInstrumentsConfig,
    ExcludeInstrumentListsConfig,
    ReportingConfig,
    SystradeConfig,
)
from sysobjects.instruments import InstrumentConfig
from sysobjects.orders.orders import BrokerOrder, Leg
from sysobjects.orders.records import Fill
from sysproduction.reporting import data as figures
from sysproduction.reporting import markets
from sysproduction.reporting.reports import REPORTS
from tests.sysproduction.reporting.conftest import END, START

CORN_ANNUAL = 16 * math.sqrt(6)              # points
GILT_ANNUAL = 16 * math.sqrt(0.625 / 3)      # points


def _corn(**kwargs):
    return InstrumentConfig("CORN", pointsize=50.0, currency="USD", asset_class="Ags", **kwargs)


def _configure(blob, **kwargs):
    blob.config = SystradeConfig(**kwargs)


def test_all_instrument_risk(blob):
    risk = markets.all_instrument_risk(blob, START, END)
    assert list(risk.index) == ["GILT", "CORN"]  # GILT's contract carries more risk
    corn = risk.loc["CORN"]
    assert corn["daily_stdev"] == pytest.approx(math.sqrt(6))
    assert corn["annual_pct_stdev"] == pytest.approx(100 * CORN_ANNUAL / 104)
    assert corn["daily_pct_stdev"] == pytest.approx(100 * math.sqrt(6) / 104)
    assert corn["contract_exposure"] == pytest.approx(104 * 50)
    assert corn["annual_risk_per_contract"] == pytest.approx(CORN_ANNUAL * 50)
    gilt = risk.loc["GILT"]
    assert gilt["point_size_base"] == pytest.approx(1300.0)
    assert gilt["annual_risk_per_contract"] == pytest.approx(GILT_ANNUAL * 1300)


def test_minimum_capital_with_pysystemtrade_defaults(blob):
    table = markets.minimum_capital(blob, START, END)
    # 800 √6 / 0.25 = 3200 √6; × 4 / (0.04 × 2.5) = × 40
    assert table.loc["CORN", "minimum_capital_one_contract"] == pytest.approx(3200 * math.sqrt(6))
    assert table.loc["CORN", "minimum_capital_portfolio"] == pytest.approx(128000 * math.sqrt(6))


def test_minimum_capital_follows_the_config(blob):
    _configure(blob, reporting=ReportingConfig(risk_target=0.2, min_contracts_held=2,
                                               instrument_weight=0.1, idm=2.0))
    table = markets.minimum_capital(blob, START, END)
    one = CORN_ANNUAL * 50 / 0.2
    assert table.loc["CORN", "minimum_capital_portfolio"] == pytest.approx(one * 2 / 0.2)


def test_market_quality(blob):
    blob.instruments.add(_corn(spread_cost=0.5, per_block=5.0))
    row = markets.market_quality(blob, START, END).loc["CORN"]
    # cost 0.5 + 5 / 50 = 0.6 points over the annual stdev
    assert row["sr_cost"] == pytest.approx(0.6 / CORN_ANNUAL)
    assert row["volume_contracts"] == 900.0
    assert row["volume_risk"] == pytest.approx(900 * CORN_ANNUAL * 50)
    # 2 × 0.25 × 2.5 × 0.04 = 0.05 over the annual % stdev as a fraction
    assert row["max_leverage"] == pytest.approx(0.05 / (CORN_ANNUAL / 104))


def test_remove_markets_flags_expensive_and_illiquid(blob):
    blob.instruments.add(_corn(spread_cost=0.5))  # 0.5 / 39.19 = 0.0128 > 0.01
    table = markets.remove_markets(blob, START, END)
    assert table.loc["CORN", "fails"] == "expensive"
    assert table.loc["CORN", "suggestion"] == "remove"
    assert table.loc["GILT", "fails"] == "volume_contracts, volume_risk"  # no volumes stored
    assert markets.clean_slate_bad_markets(blob, START, END) == ["CORN", "GILT"]


def test_the_remove_markets_report_measures_instrument_risk_once(blob, monkeypatch):
    """Risk reads every adjusted price series: market_quality measured it twice and the report
    built market_quality twice (remove markets, clean slate)."""
    blob.instruments.add(_corn(spread_cost=0.5))
    measured = []
    real = figures.instrument_risk

    def counted(*args, **kwargs):
        measured.append(args[1:])
        return real(*args, **kwargs)

    monkeypatch.setattr(figures, "instrument_risk", counted)
    report = REPORTS["remove_markets"](blob, START, END)
    assert len(measured) == 1
    sections = {section.title: section for section in report.sections}
    assert sections["Remove"].text == "CORN, GILT"  # GILT: no volumes stored
    assert sections["bad_markets, clean slate"].text == "CORN, GILT"


def test_remove_markets_too_safe(blob):
    _configure(blob, reporting=ReportingConfig(raw_max_leverage=0.5))
    # GILT: 0.05 / (7.30 / 101) = 0.69 > 0.5; CORN 0.13
    table = markets.remove_markets(blob, START, END)
    assert "too_safe" in table.loc["GILT", "fails"]
    assert "too_safe" not in table.loc["CORN", "fails"]


@pytest.mark.parametrize("spread_cost, suggestion", [(0.25, "add_back"), (0.3, "keep")])
def test_a_bad_market_comes_back_only_past_the_hysteresis(blob, spread_cost, suggestion):
    # SR cost 0.25 / 39.19 = 0.0064 and 0.3 / 39.19 = 0.0077: both below 0.01, only the first
    # below 0.01 × (1 - 0.3); volume risk 1.76 m passes 1 m × 1.3
    _configure(blob, reporting=ReportingConfig(min_volume_risk_daily=1_000_000),
               exclude_instrument_lists=ExcludeInstrumentListsConfig(bad_markets=["CORN"]))
    blob.instruments.add(_corn(spread_cost=spread_cost))
    row = markets.remove_markets(blob, START, END).loc["CORN"]
    assert bool(row["bad_now"])
    assert row["suggestion"] == suggestion
    assert "CORN" not in markets.clean_slate_bad_markets(blob, START, END)


def test_duplicate_markets_suggests_the_cheap_liquid_one(blob):
    _configure(blob, reporting=ReportingConfig(min_volume_risk_daily=1_000_000),
               duplicate_instruments=DuplicateInstrumentsConfig(include={"grain": "GILT"},
                                                                exclude={"grain": ["CORN"]}))
    table = markets.duplicate_markets(blob, START, END).set_index("instrument")
    assert table.loc["GILT", "included"] and not table.loc["CORN", "included"]
    assert table.loc["CORN", "best"] and table.loc["CORN", "change"]  # GILT has no volume
    assert not table.loc["GILT", "change"]


def test_duplicate_markets_keeps_a_good_choice(blob):
    _configure(blob, reporting=ReportingConfig(min_volume_risk_daily=1_000_000),
               duplicate_instruments=DuplicateInstrumentsConfig(include={"grain": "CORN"},
                                                                exclude={"grain": "GILT"}))
    table = markets.duplicate_markets(blob, START, END)
    assert not table["change"].any()
    assert table.set_index("instrument").loc["CORN", "best"]


def _ewm_std(values, span=30):
    """Bias-corrected exponentially weighted stdev, newest value weight 1."""
    beta = 1 - 2 / (span + 1)
    weights = [beta ** (len(values) - 1 - i) for i in range(len(values))]
    total = sum(weights)
    mean = sum(w * x for w, x in zip(weights, values, strict=True)) / total
    var = sum(w * (x - mean) ** 2 for w, x in zip(weights, values, strict=True)) / total
    return math.sqrt(var * total ** 2 / (total ** 2 - sum(w * w for w in weights)))


def test_market_moves(blob):
    moves = markets.market_moves(blob, END)
    # 1B: from 2024-01-04 (105) to 2024-01-05 (104), one business day
    assert moves.loc["CORN", "1B_pct"] == pytest.approx(-100 / 105)
    assert moves.loc["CORN", "1B_vol_adjusted"] == pytest.approx(-1 / _ewm_std([2, -1, 4]))
    assert moves.loc["GILT", "1B_pct"] == pytest.approx(100 * 0.75 / 100.25)
    assert math.isnan(moves.loc["CORN", "7D_pct"])  # no price on or before 2023-12-29


def test_market_moves_over_a_custom_period(blob):
    moves = markets.market_moves(blob, END, start=pd.Timestamp("2024-01-02", tz="UTC"))
    # 102 -> 104 over 3 business days; stdev of the one-change history is undefined
    assert moves.loc["CORN", "custom_pct"] == pytest.approx(100 * 2 / 102)
    assert math.isnan(moves.loc["CORN", "custom_vol_adjusted"])
    top, bottom = markets.top_and_bottom(moves, "custom_pct", n=1)
    assert list(top.index) == ["CORN"] and list(bottom.index) == ["GILT"]


def test_spread_cost_suggestions_blend_samples_and_trades(blob):
    blob.instruments.add(_corn(spread_cost=0.2))
    for day, spread in (("2024-01-02", 0.5), ("2024-01-03", 0.3), ("2024-01-04", 0.4)):
        blob.spreads.add("CORN", pd.Timestamp(day, tz="UTC"), spread)
    broker = blob.order_stack("broker")
    t = pd.Timestamp("2024-01-04 14:00", tz="UTC")
    for n, (qty, price) in enumerate(((1, 104.25), (-1, 103.5), (1, 104.0))):
        bid = broker.new_order_id()
        broker.add_order(BrokerOrder(bid, "s1", "CORN", legs=(Leg("20240300", qty),),
                                     mid_price=104.0), t)
        blob.ledger.book_fill(Fill(f"m{n}", "CORN", "20240300", qty, price,
                                   t + pd.Timedelta(minutes=n), broker_order_id=bid))
    row = markets.spread_cost_suggestions(blob, START, END).loc["CORN"]
    assert row["from_samples"] == pytest.approx(0.2)   # median 0.4 / 2
    assert row["from_trades"] == pytest.approx(0.25)   # mean of 0.25, 0.5, 0
    assert row["blended"] == pytest.approx((3 * 0.2 + 3 * 0.25) / 6)
    assert row["difference_pct"] == pytest.approx(12.5)


def write_saved_state(home, strategy="s1"):
    """A saved backtest state in the layout of systems.saved_state (format 1)."""
    folder = home / "backtests" / strategy / "20240105_000000"
    (folder / "stages").mkdir(parents=True)
    (folder / "manifest.json").write_text(json.dumps({
        "format_version": 1, "instruments": ["CORN", "GILT"], "rules": ["ewmac"],
        "stages": ["combined_forecast", "capped_forecast:ewmac"]}))
    (folder / "config.yaml").write_text(yaml.safe_dump({"percentage_vol_target": 20.0}))
    (folder / "summary.json").write_text("{}")
    (folder / "stages" / "combined_forecast.csv").write_text(
        "DATETIME,CORN,GILT\n2024-01-04,5.0,-3.0\n2024-01-05,7.5,\n")
    (folder / "stages" / "capped_forecast__ewmac.csv").write_text(
        "DATETIME,CORN,GILT\n2024-01-05,6.0,-2.0\n")
    return folder


def test_strategy_vol_target_and_forecasts(blob):
    blob.capital.add_strategy_capital("s1", pd.Timestamp("2024-01-05", tz="UTC"), 50_000.0)
    write_saved_state(blob.home)
    state = markets.latest_saved_backtest(blob, "s1")
    target = markets.vol_target(blob, "s1", state.config.percentage_vol_target)
    assert target["annual_cash_vol_target"] == pytest.approx(10_000.0)
    assert target["daily_cash_vol_target"] == pytest.approx(625.0)
    forecasts = markets.latest_forecasts(state)
    assert forecasts.loc["CORN", "combined_forecast"] == 7.5
    assert forecasts.loc["GILT", "combined_forecast"] == -3.0  # carried forward
    assert forecasts.loc["GILT", "ewmac"] == -2.0
    assert markets.strategy_names(blob) == ["s1"]


def test_strategy_without_saved_backtest(blob):
    assert markets.latest_saved_backtest(blob, "s1") is None
    target = markets.vol_target(blob, "s1", None)
    assert math.isnan(target["capital"]) and math.isnan(target["annual_cash_vol_target"])
