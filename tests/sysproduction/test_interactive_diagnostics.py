"""interactive_diagnostics: each function on real stores (the reporting scenario plus a saved
backtest, logs, alerts and an order), and one scripted session that runs every menu option."""
from __future__ import annotations

import json

import pandas as pd
import pytest

from syscore.dates import iso_utc
from syscore.exceptions import InvalidData, MissingData
from sysobjects.orders.orders import InstrumentOrder
from sysobjects.orders.status import OrderEventType
from sysproduction import diagnostics as diag
from sysproduction.interactive_diagnostics import diagnostics_menu, interactive_diagnostics
from tests.blob_helpers import FixedClock, make_blob
from tests.sysproduction.reporting.conftest import build_scenario

NOW = pd.Timestamp("2024-01-06 08:00", tz="UTC")
SAVED = "20240105_060000"


def save_backtest(home):
    """A saved backtest state as ``save_backtest_state`` lays it out (two stages)."""
    folder = home / "backtests" / "s1" / SAVED
    (folder / "stages").mkdir(parents=True)
    (folder / "config.yaml").write_text("{}\n")
    (folder / "summary.json").write_text(json.dumps({"portfolio_sharpe": 0.5}))
    stages = ["combined_forecast", "buffered_position"]
    (folder / "manifest.json").write_text(json.dumps(
        {"format_version": 1, "instruments": ["CORN", "GILT"], "rules": [], "stages": stages}))
    index = pd.date_range("2024-01-01", periods=3, freq="D").strftime("%Y-%m-%d")
    for stage, (corn, gilt) in zip(stages, [((1.5, 2.5, 3.5), (-1.0, -2.0, -3.0)),
                                            ((1.0, 1.0, 2.0), (0.0, -1.0, -1.0))], strict=True):
        pd.DataFrame({"CORN": corn, "GILT": gilt}, index=pd.Index(index, name="DATETIME")) \
            .to_csv(folder / "stages" / f"{stage}.csv")


def last_value(text: str) -> float:
    """The number at the end of the last line of a printed table."""
    return float(text.splitlines()[-1].split()[-1].replace(",", ""))


def log(data, when, level, levelno, message, **context):
    data.logs.add({"timestamp": iso_utc(when), "level": level, "levelno": levelno,
                   "logger": "test", "message": message, **context})


@pytest.fixture
def blob(tmp_path):
    data = make_blob(tmp_path / "home", clock=FixedClock(NOW))
    build_scenario(data)
    save_backtest(data.home)
    data.capital.add_strategy_capital("s1", "2024-01-05 01:00", 60_000.0)
    log(data, NOW - pd.Timedelta(hours=2), "WARNING", 30, "CORN price stale",
        process_name="update_historical_prices", instrument_code="CORN")
    log(data, NOW - pd.Timedelta(hours=1), "INFO", 20, "GILT fine",
        process_name="update_historical_prices", instrument_code="GILT")
    log(data, NOW - pd.Timedelta(days=3), "ERROR", 40, "old CORN error",
        process_name="update_historical_prices", instrument_code="CORN")
    sent = data.alerts.add("price spike CORN", "a spike", NOW - pd.Timedelta(hours=3))
    data.alerts.set_delivery(sent, "sent", NOW - pd.Timedelta(hours=3))
    data.alerts.add("capital guard", "large change", NOW - pd.Timedelta(hours=1))
    stack = data.order_stack("instrument")
    order = stack.add_order(InstrumentOrder(order_id=stack.new_order_id(), strategy_name="s1",
                                            instrument_code="CORN", trade=2),
                            NOW - pd.Timedelta(days=1))
    stack.apply_event(order.order_id, OrderEventType.CANCELLED, NOW - pd.Timedelta(hours=20),
                      "not needed")
    stack.complete(order.order_id, NOW - pd.Timedelta(hours=19))
    yield data
    data.close()


# --- the functions -------------------------------------------------------------------------------

def test_backtest_stage_print_plot_and_html(blob):
    assert diag.backtest_strategies(blob) == ["s1"]
    assert diag.saved_backtests(blob, "s1") == [SAVED]
    assert diag.backtest_stages(blob, "s1") == ["combined_forecast", "buffered_position"]
    text = diag.backtest_stage_text(blob, "s1", "combined_forecast", "GILT")
    assert last_value(text) == -3.0 and "2024-01-03" in text
    plot = diag.backtest_stage_plot(blob, "s1", "buffered_position", "CORN")
    assert plot.parent == blob.home / "diagnostics" and plot.read_bytes()[:4] == b"\x89PNG"
    page = diag.backtest_stage_html(blob, "s1", "combined_forecast", "CORN", which=SAVED)
    html = page.read_text()
    assert "s1 (20240105_060000): combined_forecast CORN" in html
    assert "data:image/png;base64," in html and "3.5" in html
    with pytest.raises(MissingData, match="XYZ is not in the backtest"):
        diag.backtest_stage(blob, "s1", "combined_forecast", "XYZ")
    with pytest.raises(MissingData, match="no saved backtest 'nope'"):
        diag.backtest_stage(blob, "s1", "combined_forecast", "CORN", which="nope")


def test_reports_ad_hoc_with_a_date_range(blob):
    text = diag.report_text(blob, "roll", "2024-01-01", "2024-01-05 23:59")
    assert "Roll report" in text and "CORN" in text and "Passive" in text
    page = diag.report_html(blob, "account_curve", "2024-01-01", "2024-01-05 23:59")
    assert page.name == "report_account_curve_202401010000_202401052359.html"
    assert "<img" in page.read_text()
    with pytest.raises(InvalidData, match="unknown report"):
        diag.report_text(blob, "nope", "2024-01-01", "2024-01-02")
    with pytest.raises(InvalidData, match="not before end"):
        diag.report_text(blob, "roll", "2024-01-05", "2024-01-01")


def test_logs_filtered_by_attributes_level_and_lookback(blob):
    assert "CORN price stale" in diag.logs_text(blob, 1.0, instrument_code="CORN")
    only_corn = diag.logs_text(blob, 1.0, instrument_code="CORN")
    assert "GILT" not in only_corn and "old CORN error" not in only_corn
    assert "old CORN error" in diag.logs_text(blob, 5.0, min_level="ERROR")
    assert "GILT fine" not in diag.logs_text(blob, 1.0, min_level="WARNING")
    assert diag.logs_text(blob, 1.0, process_name="nobody") == "No log records."


def test_stored_emails_view_and_clear_keeps_unsent(blob):
    text = diag.stored_emails_text(blob)
    assert "[sent] price spike CORN" in text and "[UNSENT] capital guard" in text
    assert "price spike" not in diag.stored_emails_text(blob, unsent_only=True)
    assert diag.clear_stored_emails(blob) == 1
    text = diag.stored_emails_text(blob)
    assert "price spike" not in text and "capital guard" in text


def test_capital_is_printed_as_cash_not_in_scientific_notation(blob):
    blob.capital.add_total(pd.Timestamp("2024-01-06", tz="UTC"), total=1_009_122.09,
                           broker=1_009_122.09, max=1_009_122.09, acc_pnl=9122.09,
                           margin=32_681.99)
    text = diag.total_capital_series_text(blob, "total")
    assert "1,009,122.09" in text.splitlines()[-1] and "e+06" not in text


def test_prices_capital_positions_orders_and_configuration(blob):
    assert "900.0" in diag.contract_prices_text(blob, "CORN", "20240300")
    assert diag.contracts_with_prices(blob, "CORN") == ["202403"]
    assert "20240500" in diag.multiple_prices_text(blob, "CORN")
    assert last_value(diag.adjusted_prices_text(blob, "GILT")) == 101.0
    assert "1.3" in diag.fx_prices_text(blob, "GBPUSD")
    assert "60,000.00" in diag.strategy_capital_text(blob, "s1")
    assert last_value(diag.total_capital_series_text(blob, "acc_pnl")) == 2800.0
    with pytest.raises(InvalidData, match="unknown capital series"):
        diag.total_capital_series_text(blob, "cash")
    history = diag.strategy_position_history_text(blob, "s1", "CORN")
    rows = [line.split()[1:3] for line in history.splitlines()[1:]]
    assert rows == [["2", "2"], ["-1", "-3"]]  # position after each change, the change
    assert "CORN/202403\n" in diag.contract_position_history_text(blob, "CORN")
    assert "104.0" in diag.optimal_positions_text(blob, "s1", "CORN")
    assert "CORN" in diag.orders_text(blob, "instrument")
    assert diag.orders_text(blob, "broker") == "no historic broker orders"
    detail = diag.order_detail_text(blob, "instrument", 1)
    assert "status: COMPLETED" in detail and "#2 2024-01-05 12:00:00+00:00 cancelled not needed" in detail
    assert "pointsize: 50.0" in diag.instrument_config_text(blob, "CORN")
    text = diag.contract_config_text(blob, "CORN")
    assert "roll state: Passive" in text
    assert "202403: expiry 2024-03-14 (approximate), sampling no" in text


# --- the console: every option, by scripted input -------------------------------------------------

#: menu path -> (answers after choosing it, text that must appear after it)
SESSION = {
    "1.1": (["1", "", "1", "2", "print", ""], "2024-01-03"),
    "2.1": (["roll", "2024-01-05 23:59", "5d"], "Roll report"),
    "2.2": (["pnl", "", ""], "HTML written:"),
    "3.1": (["2", "WARNING", "", "corn", ""], "CORN price stale"),
    "4.1": (["n"], "[UNSENT] capital guard"),
    "4.2": (["y"], "deleted 1 stored alerts"),
    "5.1": (["CORN", "1", "", "5"], "900.0"),
    "5.2": (["CORN", ""], "20240500"),
    "5.3": (["GILT", "3"], "101.0"),
    "5.4": (["GBPUSD", ""], "1.3"),
    "6.1": (["s1", ""], "60,000.00"),
    "6.2": (["max", ""], "102,800.00"),
    "7.1": (["s1", "GILT", ""], "101.0"),
    "7.2": (["s1", "CORN", ""], "set"),
    "7.3": (["GILT", ""], "GILT/202403\n"),
    "7.4": (["instrument", "", ""], "COMPLETED"),
    "7.5": (["instrument", "1"], "not needed"),
    "8.1": (["GILT"], "currency: GBP"),
    "8.2": (["CORN"], "2024-03-14"),
}


def leaf_paths(menu) -> set[str]:
    return {key for key, option in menu.walk() if callable(option.action)}


def test_every_option_runs_from_scripted_input(blob):
    assert set(SESSION) == leaf_paths(diagnostics_menu(blob))  # no option left out
    for path, (answers, expected) in SESSION.items():
        top, sub = path.split(".")
        said: list[str] = []
        script = [top, sub, *answers, "0", "0"]
        asked: list[str] = []

        def ask(prompt, script=script, asked=asked):
            asked.append(prompt)
            return script.pop(0)

        interactive_diagnostics(blob, ask=ask, say=said.append)
        text = "\n".join(said)
        assert not script, (path, asked)
        assert "error:" not in text, (path, text)
        assert expected in text, (path, text)


def test_bad_input_is_one_line_and_the_console_goes_on(blob):
    said: list[str] = []
    answers = iter(["8", "1", "NOPE", "0", "9", "0"])
    interactive_diagnostics(blob, ask=lambda prompt: next(answers), say=said.append)
    text = "\n".join(said)
    assert "error: " in text and "NOPE" in text and "unknown choice '9'" in text


def test_end_of_input_ends_without_traceback(blob):
    def no_stdin(prompt):
        raise EOFError

    said: list[str] = []
    interactive_diagnostics(blob, ask=no_stdin, say=said.append)
    assert said and said[0].startswith("\nDiagnostics")
