"""Conformance with pysystemtrade 1.80's chapter-15 backtest (reference outputs)."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

RTOL = 1e-5
ATOL = 1e-8  # reference CSVs carry 10 significant digits


def _read(path):
    return pd.read_csv(path, index_col=0, parse_dates=True)


def _assert_close(ours: pd.DataFrame, ref: pd.DataFrame, rtol=RTOL, atol=ATOL):
    assert list(ours.columns) == list(ref.columns)
    assert ours.index.equals(ref.index)
    assert (ours.isna() == ref.isna()).all().all(), "NaN pattern differs"
    a, b = ours.to_numpy(), ref.to_numpy()
    ok = np.isclose(a, b, rtol=rtol, atol=atol, equal_nan=True)
    if not ok.all():
        i, j = np.argwhere(~ok)[0]
        pytest.fail(f"{ours.columns[j]} on {ours.index[i].date()}: ours {a[i, j]!r}, ref {b[i, j]!r}")


@pytest.mark.parametrize(
    "name",
    ["combined_forecast", "subsystem_position", "notional_position", "buffer_top_pos", "buffer_bot_pos"],
)
def test_positions_match_reference(name, reference_run, backtest_reference):
    _, out = reference_run
    _assert_close(_read(out / f"{name}.csv"), _read(backtest_reference / "outputs" / f"{name}.csv"))


def test_buffered_positions_match_exactly(reference_run, backtest_reference):
    _, out = reference_run
    ours = _read(out / "buffered_position.csv")
    ref = _read(backtest_reference / "outputs" / "buffered_position.csv")
    _assert_close(ours, ref, rtol=0, atol=0)


def test_instrument_weights_match_reference(reference_run, backtest_reference):
    _, out = reference_run
    _assert_close(
        _read(out / "instrument_weight.csv"), _read(backtest_reference / "outputs" / "instrument_weight.csv"),
        atol=1e-12,
    )


def test_portfolio_sharpe_matches(reference_run, backtest_reference_summary):
    result, out = reference_run
    ref = backtest_reference_summary
    summary = json.loads((out / "summary.json").read_text())
    assert summary["portfolio_sharpe"] == pytest.approx(ref["portfolio_sharpe"], abs=1e-6)
    assert result.system.sharpe("gross") == pytest.approx(ref["portfolio_sharpe_gross"], abs=1e-6)


def test_portfolio_pandl_matches(reference_run, backtest_reference):
    _, out = reference_run
    ours = _read(out / "portfolio_pandl.csv")
    ref = _read(backtest_reference / "outputs" / "portfolio_pandl.csv")
    assert ours.index.equals(ref.index)
    for column in ("portfolio_percent_net", "portfolio_net_base_ccy", "portfolio_gross_base_ccy"):
        np.testing.assert_allclose(ours[column], ref[column], rtol=1e-6, atol=1e-4)


INTERMEDIATES = {
    "daily_prices": "daily_price",
    "daily_returns_volatility": "daily_returns_vol",
    "raw_carry": "raw_carry",
    "raw_forecast:carry": "raw_forecast:carry",
    "raw_forecast:ewmac16_64": "raw_forecast:ewmac16_64",
    "capped_forecast:ewmac64_256": "capped_forecast:ewmac64_256",
    "forecast_weight:carry": "forecast_weight:carry",
    "underlying_price": "underlying_price",
    "block_value": "block_value",
    "price_volatility": "price_volatility",
    "instrument_currency_vol": "instrument_currency_vol",
    "fx_rate": "fx_rate",
    "instrument_value_vol": "instrument_value_vol",
    "vol_scalar": "vol_scalar",
    "pandl_gross": "pandl_gross_base_ccy",
    "pandl_net": "pandl_net_base_ccy",
}


@pytest.mark.parametrize("instrument", ["CORN", "EUROSTX", "MXP", "SOFR", "US10", "V2X"])
def test_intermediate_series_match_per_instrument_files(instrument, reference_run, backtest_reference):
    result, _ = reference_run
    ref = pd.read_csv(
        backtest_reference / "outputs" / "per_instrument" / f"{instrument}.csv.gz", index_col=0, parse_dates=True
    )
    for ours_name, ref_name in INTERMEDIATES.items():
        ours = result.stage(ours_name, instrument).reindex(ref.index)
        expected = ref[ref_name]
        if ours_name.startswith("pandl"):
            ours = ours.fillna(0.0)
            expected = expected.fillna(0.0)
            ok = np.isclose(ours, expected, rtol=1e-6, atol=1e-5)
        else:
            ok = np.isclose(ours, expected, rtol=RTOL, atol=ATOL, equal_nan=True)
        assert ok.all(), f"{instrument} {ours_name}: first mismatch {ours.index[~ok][0].date()}"


def test_outputs_written(reference_run):
    _, out = reference_run
    for name in ("combined_forecast", "subsystem_position", "notional_position", "buffer_top_pos",
                 "buffer_bot_pos", "buffered_position", "portfolio_pandl"):
        assert (out / f"{name}.csv").read_text().startswith("DATETIME,")
    assert "portfolio_sharpe" in json.loads((out / "summary.json").read_text())


def test_statistics_match_pysystemtrade_stats(reference_run, backtest_reference):
    result, _ = reference_run
    ref = json.loads((backtest_reference / "outputs" / "summary.json").read_text())["portfolio_stats_percent"]
    ours = result.summary()["stats_percent_net"]
    for key, text in ref.items():
        assert f"{ours[key]:.4g}" == f"{float(text):.4g}", key


def test_per_instrument_sharpe_matches(reference_run, backtest_reference):
    result, _ = reference_run
    ref = json.loads((backtest_reference / "outputs" / "summary.json").read_text())["per_instrument"]
    ours = result.summary()["per_instrument"]
    for code, figures in ref.items():
        assert ours[code]["sharpe_net"] == pytest.approx(figures["sharpe_instrument_net"], abs=1e-9)
        assert ours[code]["buffered_position_last"] == figures["buffered_position_last"]
        assert ours[code]["notional_position_last"] == pytest.approx(figures["notional_position_last"], rel=1e-9)
