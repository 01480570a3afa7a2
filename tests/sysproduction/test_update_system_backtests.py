"""Nightly production backtests: optimal positions, saved states, failures, clean-up."""
from __future__ import annotations

import gzip
import json
import shutil

import pandas as pd
import pytest

from sysdata.owned_dirs import NotOwnedDirectory
from sysinit.import_pysystemtrade_csv import import_pysystemtrade_csv
from sysproduction.update_system_backtests import (
    backtests_directory,
    clean_truncate_backtest_states,
    list_strategy_backtests,
    load_strategy_backtest,
    save_state_atomically,
    update_system_backtests,
)
from tests.blob_helpers import FixedClock, make_blob

INSTRUMENTS = ["CORN", "EUROSTX", "MXP", "SOFR", "US10", "V2X"]


def gunzip_inputs(source, target):
    for path in source.rglob("*.gz"):
        dest = target / path.relative_to(source).with_suffix("")
        dest.parent.mkdir(parents=True, exist_ok=True)
        with gzip.open(path, "rb") as src, open(dest, "wb") as out:
            shutil.copyfileobj(src, out)
    return target


@pytest.fixture(scope="module")
def home_with_reference(backtest_reference, tmp_path_factory):
    root = tmp_path_factory.mktemp("systems_home")
    inputs = gunzip_inputs(backtest_reference / "inputs", root / "inputs")
    home = root / "home"
    data = make_blob(home, clock=FixedClock("2023-09-01 06:00"))
    import_pysystemtrade_csv(str(inputs), data=data)
    config = backtest_reference / "outputs" / "effective_config.yaml"
    (home / "private").mkdir(parents=True, exist_ok=True)
    (home / "private" / "private_control_config.yaml").write_text(
        "strategy_list:\n"
        f"  reference:\n    backtest_config: {config}\n"
        "  broken:\n    backtest_config: no_such_file.yaml\n")
    data.capital.add_strategy_capital("reference", "2023-08-31 23:00", 250_000.0)
    data.capital.add_strategy_capital("broken", "2023-08-31 23:00", 100_000.0)
    yield data, backtest_reference
    data.close()


def test_optimal_positions_match_reference_buffers(home_with_reference):
    data, reference = home_with_reference
    report = update_system_backtests(data=data)
    assert "reference" in report.results
    assert report.results["reference"].positions_written == 6
    assert "broken" in report.failures and "file not found" in report.failures["broken"]
    assert any(a["subject"] == "update_system_backtests failed for broken" for a in data.alerts.all())
    top = pd.read_csv(reference / "outputs" / "buffer_top_pos.csv", index_col=0)
    bottom = pd.read_csv(reference / "outputs" / "buffer_bot_pos.csv", index_col=0)
    for code in INSTRUMENTS:
        row = data.optimal_positions.current("reference", code)
        assert row["upper"] == pytest.approx(top[code].dropna().iloc[-1], rel=1e-6)
        assert row["lower"] == pytest.approx(bottom[code].dropna().iloc[-1], rel=1e-6)
        multiple = data.multiple_prices.read(code)
        priced = multiple[multiple["PRICE"].notna()]
        assert row["reference_price"] == priced["PRICE"].iloc[-1]
        assert row["reference_contract"] == priced["PRICE_CONTRACT"].iloc[-1]
    # a re-run at the same time writes nothing new
    again = update_system_backtests(data=data)
    assert again.results["reference"].positions_written == 0
    assert len(data.optimal_positions.history("reference", "CORN")) == 1


def test_saved_state_reopens_any_stage(home_with_reference, reference_sharpe):
    data, reference = home_with_reference
    if not list_strategy_backtests("reference", data=data):
        update_system_backtests(data=data)
    state = load_strategy_backtest("reference", data=data)
    assert abs(state.sharpe - reference_sharpe) < 1e-4
    assert state.config.notional_trading_capital == 250_000.0
    combined = state.stage("combined_forecast", "US10")
    expected = pd.read_csv(reference / "outputs" / "combined_forecast.csv", index_col=0)["US10"]
    assert combined.dropna().iloc[-1] == pytest.approx(expected.dropna().iloc[-1], rel=1e-6)
    assert not any(p.suffix == ".pkl" for p in state.directory.rglob("*"))


def test_clean_truncate_keeps_recent_and_latest(home_with_reference, tmp_path):
    data, _ = home_with_reference
    folder = backtests_directory(data) / "reference"
    update_system_backtests(data=data)
    latest = list_strategy_backtests("reference", data=data)[-1]
    for name in ("20230801_060000", "20230829_060000"):  # 31 and 3 days old
        shutil.copytree(folder / latest, folder / name, dirs_exist_ok=True)
    message = clean_truncate_backtest_states(data=data)
    names = list_strategy_backtests("reference", data=data)
    assert "20230801_060000" not in names
    assert "20230829_060000" in names and latest in names
    assert "removed 1" in message


def test_strategy_limited_to_its_instruments(home_with_reference, backtest_reference):
    data, _ = home_with_reference
    config = backtest_reference / "outputs" / "effective_config.yaml"
    (data.home / "private" / "private_control_config.yaml").write_text(
        "strategy_list:\n"
        f"  pair:\n    backtest_config: {config}\n    instruments: [CORN, US10]\n"
        f"  wrong:\n    backtest_config: {config}\n    instruments: [CORN, GOLD]\n")
    data.capital.add_strategy_capital("pair", "2023-08-31 23:00", 100_000.0)
    data.capital.add_strategy_capital("wrong", "2023-08-31 23:00", 100_000.0)
    try:
        report = update_system_backtests(data=data)
    finally:
        (data.home / "private" / "private_control_config.yaml").unlink()
    assert report.results["pair"].positions_written == 2
    assert sorted(c for s, c in data.optimal_positions.list_keys() if s == "pair") == ["CORN", "US10"]
    assert "GOLD" in report.failures["wrong"] and "no instrument weight" in report.failures["wrong"]


def test_stale_prices_are_not_written_and_alerted(home_with_reference):
    data, _ = home_with_reference
    (data.home / "private" / "private_control_config.yaml").write_text(
        "strategy_list:\n  late:\n    backtest_config: package:systems/provided/futures_system.yaml\n"
        "    instruments: [CORN]\n")
    data.capital.add_strategy_capital("late", "2023-08-31 23:00", 100_000.0)
    original = data.clock.current
    data.clock.current = FixedClock("2023-10-01 06:00").now()  # a month after the last price
    try:
        report = update_system_backtests(data=data)
    finally:
        data.clock.current = original
        (data.home / "private" / "private_control_config.yaml").unlink()
    assert report.results["late"].positions_written == 0
    assert not any(s == "late" for s, _ in data.optimal_positions.list_keys())
    alerts = [a for a in data.alerts.all() if a["subject"] == "Optimal positions not updated for late"]
    assert alerts and "CORN" in alerts[-1]["body"] and "older than 7 days" in alerts[-1]["body"]


# saved states: only saved states are ever replaced or deleted --------------------------------
def _saved_state_like(path, stamp="x"):
    """A folder that looks like a saved state written before ownership marks."""
    path.mkdir(parents=True)
    (path / "manifest.json").write_text(json.dumps({"format_version": 1, "stages": [],
                                                    "stamp": stamp}))


def test_save_state_refuses_a_folder_that_is_not_a_saved_state(tmp_path):
    folder = tmp_path / "20240102_120000"
    folder.mkdir()
    (folder / "mine.txt").write_text("mine")
    with pytest.raises(NotOwnedDirectory, match="not a saved systrade backtest state"):
        save_state_atomically(None, folder)  # refused before anything is computed or written
    assert [p.name for p in folder.iterdir()] == ["mine.txt"]
    assert not (tmp_path / "20240102_120000.partial").exists()


def test_clean_truncate_deletes_only_saved_states(tmp_path):
    data = make_blob(tmp_path / "home", clock=FixedClock("2024-01-10 06:00"))
    try:
        root = backtests_directory(data)
        root.mkdir(parents=True)
        (root / "README.txt").write_text("my notes about these backtests")
        strategy = root / "trend"
        _saved_state_like(strategy / "20240101_060000")  # old: removed
        mine = strategy / "20240102_060000"  # named like a state, but a user's folder
        mine.mkdir()
        (mine / "analysis.ipynb").write_text("mine")
        _saved_state_like(strategy / "20240109_060000")  # the latest: kept
        message = clean_truncate_backtest_states(days=5, data=data)
        assert "removed 1" in message
        assert sorted(p.name for p in strategy.iterdir()) == ["20240102_060000",
                                                              "20240109_060000"]
        assert (mine / "analysis.ipynb").read_text() == "mine"
        assert (root / "README.txt").read_text() == "my notes about these backtests"
    finally:
        data.close()
