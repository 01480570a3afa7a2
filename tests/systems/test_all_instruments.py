"""All 226 instruments of pysystemtrade's data set (degenerate stretches included): every
output is finite wherever the instrument has prices and a position (issue 9)."""
from __future__ import annotations

import json
import logging

import numpy as np
import pytest
import yaml

from systems.run_backtest import run_backtest

logging.getLogger("systems.config").setLevel(logging.ERROR)

WIDE = ("combined_forecast", "notional_position", "buffer_top_pos", "buffer_bot_pos", "buffered_position",
        "instrument_weight")


@pytest.fixture(scope="module")
def all_run(all_instruments_data_dir, backtest_reference, tmp_path_factory):
    merged = yaml.safe_load((backtest_reference / "outputs" / "effective_config.yaml").read_text())
    codes = sorted(p.stem for p in (all_instruments_data_dir / "adjusted_prices_csv").glob("*.csv"))
    config = dict(merged, instrument_weights={c: 1.0 / len(codes) for c in codes},
                  instrument_div_multiplier=2.5, notional_trading_capital=50_000_000)
    folder = tmp_path_factory.mktemp("all_run")
    (folder / "config.yaml").write_text(yaml.safe_dump(config))
    result = run_backtest(folder / "config.yaml", data_dir=all_instruments_data_dir, output_dir=folder / "out")
    return result, folder / "out", codes


def test_every_instrument_runs(all_run):
    result, _, codes = all_run
    assert len(codes) == 226
    assert result.instruments == codes


@pytest.mark.parametrize("name", WIDE)
def test_wide_outputs_are_finite_from_first_position_to_last_price(all_run, name):
    result, _, codes = all_run
    frame = result.stage(name)
    positions = result.stage("subsystem_position")
    prices = result.stage("daily_prices").reindex(frame.index)
    bad = []
    for code in codes:
        first = positions[code].first_valid_index()
        last = prices[code].last_valid_index()
        assert first is not None, f"{code} never has a position"
        values = frame[code].loc[first:last].to_numpy()
        if not np.isfinite(values).all():
            bad.append((code, str(frame.index[frame.index.get_loc(first) + int(np.argmax(~np.isfinite(values)))].date())))
    assert not bad, f"{name}: non-finite values (instrument, first day): {bad[:10]}"


def test_subsystem_position_is_finite_except_without_fx(all_run):
    result, _, codes = all_run
    positions = result.stage("subsystem_position")
    fx = result.stage("fx_rate")
    for code in codes:
        series = positions[code].loc[positions[code].first_valid_index():]
        missing = ~np.isfinite(series.to_numpy())
        without_fx = np.isnan(fx[code].reindex(series.index).to_numpy())
        assert not (missing & ~without_fx).any(), code


def test_portfolio_figures_are_finite(all_run):
    result, out, _ = all_run
    pandl = result.portfolio_pandl
    assert np.isfinite(pandl.to_numpy()).all()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["portfolio_sharpe"] is not None and np.isfinite(summary["portfolio_sharpe"])
    assert summary["portfolio_sharpe_gross"] is not None
    assert all(value is not None for value in summary["stats_percent_net"].values())
    for code, figures in summary["per_instrument"].items():
        assert figures["buffered_position_last"] is not None, code
        if figures["sharpe_net"] is None:  # undefined only for a P&L that never moves
            net = result.stage("pandl_net", code).fillna(0.0)
            assert net.std() == 0.0, code
