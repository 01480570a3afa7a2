"""Reports, their text and HTML renderings, and run_reports (files, e-mail, failures, run.py)."""
from __future__ import annotations

import base64
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from syscore.config_models import EmailConfig, SystradeConfig
from syscore.exceptions import InvalidData
from syslogdiag.email_delivery import EmailError
from sysproduction.reporting import reports as reports_module
from sysproduction.reporting.render import to_html, to_text
from sysproduction.reporting.report import FigureSection
from sysproduction.reporting.reports import REPORTS
from sysproduction.run_reports import run_reports
from tests.blob_helpers import FixedClock, make_blob
from tests.syslogdiag.smtp_server import SmtpTestServer
from tests.sysproduction.reporting.conftest import END, START, build_scenario

REPO = Path(__file__).resolve().parents[3]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_registry_names():
    assert sorted(REPORTS) == ["account_curve", "costs", "duplicate_markets", "instrument_risk",
                               "liquidity", "market_monitor", "min_capital", "pnl",
                               "reconcile", "remove_markets", "risk", "roll", "slippage",
                               "status", "strategy", "trades"]


def test_pnl_report_sections_and_residual(blob):
    report = REPORTS["pnl"](blob, START, END)
    text = to_text(report)
    assert "1,800.00 USD over the period" in text
    assert "162.50 USD (account minus instruments" in text  # 1800 - (350 + 1287.5)
    assert report.table("P&L by asset class")["pandl"].to_dict() == {"Ags": 350.0,
                                                                     "Bonds": 1287.5}
    assert [f.title for f in report.figures] == ["Account curve", "P&L by instrument chart"]
    assert report.table("P&L by strategy")["pandl"].to_dict() == {"s1": 1637.5}
    assert "162.50 USD (account minus strategies)" in text


def _images(page: str) -> list[bytes]:
    return [base64.b64decode(m) for m in re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)",
                                                    page)]


def test_html_embeds_every_figure_as_png_and_tables_as_html(blob):
    report = REPORTS["pnl"](blob, START, END)
    page = to_html(report)
    images = _images(page)
    assert len(images) == 2 and all(i.startswith(PNG_MAGIC) for i in images)
    assert "<table" in page and "1,287.50" in page
    assert "src='http" not in page  # self-contained


def test_reconcile_report_shows_buffers_figure_and_break(blob):
    report = REPORTS["reconcile"](blob, START, END)
    assert "1 instrument(s) where strategy and contract positions differ: GILT" in to_text(report)
    assert isinstance(report.section("Positions vs buffers"), FigureSection)
    assert len(_images(to_html(report))) == 1


def test_pnl_report_without_capital_says_so(tmp_path):
    data = make_blob(tmp_path / "h")
    try:
        report = REPORTS["pnl"](data, START, END)
    finally:
        data.close()
    assert "no total capital stored" in to_text(report)
    assert report.figures == []


def test_run_reports_writes_text_and_html_under_the_home(blob):
    run = run_reports(blob, reports=["pnl", "trades"], start=START, end=END)
    assert run.ok, str(run)
    folder = blob.home / "reports" / "2024-01-05"
    assert sorted(p.name for p in folder.iterdir()) == ["pnl.html", "pnl.txt", "trades.html",
                                                        "trades.txt"]
    assert "1,287.50" in (folder / "pnl.txt").read_text()
    assert run.summary == "run_reports: 2 written, 0 failed, 0 e-mailed, 0 e-mail failures"


def test_run_reports_defaults_to_every_report_over_the_last_day(blob):
    run = run_reports(blob)
    assert run.ok, str(run)
    assert sorted(run.written) == sorted(REPORTS)
    assert (blob.home / "reports" / "2024-01-06" / "status.html").exists()  # clock 2024-01-06


def test_unknown_report_is_refused_before_anything_runs(blob):
    with pytest.raises(InvalidData, match="unknown report"):
        run_reports(blob, reports="pnl,nonsense")
    assert not (blob.home / "reports").exists()


def test_a_failing_report_does_not_stop_the_others(blob, monkeypatch):
    def broken(data, start, end):
        raise RuntimeError("boom")

    monkeypatch.setitem(reports_module.REPORTS, "roll", broken)
    run = run_reports(blob, reports=["roll", "pnl"], start=START, end=END)
    assert not run.ok
    assert run.failures == {"roll": "RuntimeError: boom"}
    assert list(run.written) == ["pnl"]


def test_reports_are_emailed_as_text_when_email_is_configured(blob):
    server = SmtpTestServer("plain")
    try:
        blob.config = SystradeConfig(email=EmailConfig(
            host="127.0.0.1", port=server.port, to="ops@example.com",
            sender="systrade@example.com", use_tls=False).model_dump())
        run = run_reports(blob, reports=["pnl"], start=START, end=END)
    finally:
        server.stop()
    assert run.emailed == ["pnl"]
    assert server.inbox.subjects() == ["systrade report: Profit and loss report 2024-01-05"]
    message = server.inbox.messages[0]
    assert message.get_content_type() == "multipart/alternative"
    text_part, html_part = message.get_payload()
    assert "162.50 USD" in text_part.get_payload(decode=True).decode("utf-8")
    html = html_part.get_payload(decode=True).decode("utf-8")
    assert html_part.get_content_type() == "text/html" and "162.50" in html and "<img" in html


def test_an_email_failure_is_reported_and_files_are_still_written(blob):
    blob.config = SystradeConfig(email=EmailConfig(
        host="127.0.0.1", port=9, to="ops@example.com", use_tls=False).model_dump())
    run = run_reports(blob, reports=["pnl"], start=START, end=END)
    assert not run.ok and "pnl" in run.email_failures
    assert (blob.home / "reports" / "2024-01-05" / "pnl.txt").exists()


class _DownSender:
    def __init__(self):
        self.attempts = 0

    def send(self, subject, body, html=None):
        self.attempts += 1
        raise EmailError("cannot send e-mail via mail.example.com:587: TimeoutError")


def test_after_an_email_failure_the_other_reports_are_written_not_mailed(blob):
    down = _DownSender()
    run = run_reports(blob, reports=["pnl", "trades"], start=START, end=END, sender=down)
    assert down.attempts == 1  # one timeout, not one per report
    assert set(run.written) == {"pnl", "trades"} and not run.ok
    assert set(run.email_failures) == {"pnl", "trades"}
    assert "earlier e-mail failure" in run.email_failures["trades"]


def test_run_py_runs_reports_ad_hoc(tmp_path):
    home = tmp_path / "home"
    data = make_blob(home, clock=FixedClock("2024-01-06 08:00"))
    build_scenario(data)
    data.close()
    env = {**os.environ, "SYSTRADE_HOME": str(home)}
    result = subprocess.run(
        [sys.executable, str(REPO / "run.py"), "sysproduction.run_reports.run_reports",
         "--reports", "pnl,trades", "--start", "2024-01-01", "--end", "2024-01-05T23:59"],
        cwd=REPO, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
        timeout=120)
    assert result.returncode == 0, result.stderr
    assert "run_reports: 2 written, 0 failed" in result.stdout
    assert "1,287.50" in (home / "reports" / "2024-01-05" / "pnl.txt").read_text()


def test_run_py_unknown_report_exits_non_zero_with_one_line(tmp_path):
    home = tmp_path / "home"
    make_blob(home).close()
    env = {**os.environ, "SYSTRADE_HOME": str(home)}
    result = subprocess.run(
        [sys.executable, str(REPO / "run.py"), "sysproduction.run_reports.run_reports",
         "--reports", "nonsense"], cwd=REPO, env=env, stdin=subprocess.DEVNULL,
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "unknown report" in result.stderr and "Traceback" not in result.stderr


def test_reconcile_report_survives_an_unreachable_broker(blob):
    import socket

    with socket.socket() as probe:  # a port nobody listens on: the gateway is down
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    blob.config = SystradeConfig(broker="ib", ib={"port": port})
    report = REPORTS["reconcile"](blob, START, END)
    text = to_text(report)
    assert f"broker positions not read: broker 'ib': cannot connect to IB at 127.0.0.1:{port}" in text
    assert "Optimal vs actual" in text


def test_account_curve_report_has_its_plot(blob):
    report = REPORTS["account_curve"](blob, START, END)
    assert report.table("Accumulated p&l by day").iloc[:, 0].tolist() == [600.0, 1800.0]
    assert len(_images(to_html(report))) == 1


def test_risk_report_shows_margin(blob):
    blob.capital.add_total(pd.Timestamp("2024-01-05 12:00", tz="UTC"), total=104_000.0,
                           broker=104_000.0, max=104_000.0, acc_pnl=4000.0, margin=5_200.0)
    report = REPORTS["risk"](blob, START, END)
    text = to_text(report)
    assert "margin used 5,200.00 USD of total capital 104,000.00 USD (5.00 %)" in text


def test_risk_report_has_risk_by_strategy_and_beta_loadings(blob):
    report = REPORTS["risk"](blob, START, END)
    assert list(report.table("Risk by strategy").index) == ["s1", "TOTAL"]
    assert report.table("Risk by strategy").loc["s1", "risk"] == pytest.approx(9_975.97,
                                                                               abs=0.01)
    assert sorted(report.table("Beta loadings").index) == ["Ags", "Bonds"]
    text, html = to_text(report), to_html(report)
    for title in ("Risk by strategy", "Beta loadings"):
        assert title in text and title in html


def test_strategy_report_renders_targets_buffers_and_forecasts(blob):
    from tests.sysproduction.reporting.test_markets import write_saved_state

    blob.capital.add_strategy_capital("s1", pd.Timestamp("2024-01-05", tz="UTC"), 50_000.0)
    write_saved_state(blob.home)
    report = REPORTS["strategy"](blob, START, END)
    assert report.table("s1: vol target").loc["s1", "annual_cash_vol_target"] == 10_000.0
    assert report.table("s1: forecasts").loc["CORN", "combined_forecast"] == 7.5
    assert report.table("s1: positions vs buffers").loc["GILT", "outside_buffer"]
    images = _images(to_html(report))
    assert len(images) == 1 and images[0].startswith(PNG_MAGIC)
    assert "s1: forecasts" in to_text(report)


def test_strategy_report_without_a_saved_backtest_says_so(blob):
    text = to_text(REPORTS["strategy"](blob, START, END))
    assert "no saved backtest" in text


def test_remove_and_duplicate_market_reports_give_their_suggestions(blob):
    from syscore.config_models import DuplicateInstrumentsConfig, ReportingConfig

    blob.config = SystradeConfig(
        reporting=ReportingConfig(min_volume_risk_daily=1_000_000),
        duplicate_instruments=DuplicateInstrumentsConfig(include={"grain": "GILT"},
                                                         exclude={"grain": "CORN"}))
    remove = to_text(REPORTS["remove_markets"](blob, START, END))
    assert "Remove\n------\nGILT" in remove  # no volume stored for GILT
    duplicate = to_text(REPORTS["duplicate_markets"](blob, START, END))
    assert "grain: trade CORN instead of GILT" in duplicate


def test_market_reports_render_to_text_and_html(blob):
    for name in ("slippage", "instrument_risk", "min_capital", "market_monitor"):
        report = REPORTS[name](blob, START, END)
        assert report.name == name
        assert "<table" in to_html(report) or "(none)" in to_html(report)
    text = to_text(REPORTS["min_capital"](blob, START, END))
    assert "313,534.69" in text  # CORN: 128000 × √6
    monitor = REPORTS["market_monitor"](blob, START, END)
    assert monitor.table("1B: top 6 (vol-adjusted)").index[0] == "GILT"


def test_reconcile_report_lists_our_recent_trades(blob):
    from sysobjects.orders.records import Fill

    blob.ledger.book_fill(Fill("r1", "GILT", "20240300", 1, 100.5,
                               pd.Timestamp("2024-01-02 14:00", tz="UTC"), strategy_name="s1"))
    table = REPORTS["reconcile"](blob, START, END).table("Our recent trades")
    assert table[["instrument", "quantity", "price"]].to_dict("records") == [
        {"instrument": "GILT", "quantity": 1, "price": 100.5}]


def test_spread_costs_in_price_points_are_not_rounded_to_two_decimals(blob):
    # a BUND-like half-spread of 0.005 was shown as 0.00 (suggested) and 0.01 (configured),
    # the difference as -0.00 (float noise of 145.39 - 145.38)
    from sysobjects.instruments import InstrumentConfig
    blob.instruments.add(InstrumentConfig("GILT", pointsize=1000.0, currency="GBP",
                                          asset_class="Bonds", spread_cost=0.005))
    for hours, (bid, ask) in ((3, (145.38, 145.39)), (2, (145.37, 145.38))):
        blob.spreads.add("GILT", END - pd.Timedelta(hours=hours), ask - bid)
    for name in ("slippage", "costs"):
        report = REPORTS[name](blob, START, END)
        assert "0.005" in to_html(report), name
    rows = {name: next(line for line in to_text(REPORTS[name](blob, START, END)).splitlines()
                       if line.startswith("GILT")).split() for name in ("slippage", "costs")}
    # samples, from_samples, fills, from_trades, blended, configured, difference_pct
    assert rows["slippage"] == ["GILT", "2", "0.005", "0", "NaN", "0.005", "0.005", "0.00"]
    # samples, median spread, suggested, fills, median slippage, configured, cash, commission
    assert rows["costs"] == ["GILT", "2", "0.01", "0.005", "0", "NaN", "0.005", "6.50", "0.00"]
    table = REPORTS["slippage"](blob, START, END).table("Spread cost suggestions")
    assert table.loc["GILT", "blended"] == 0.005 and table.loc["GILT", "difference_pct"] == 0.0
    # the cash column stays at 2 decimals: 0.005 × 1000 × GBPUSD 1.30 = 6.50
