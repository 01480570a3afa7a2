"""update_total_capital through real stores (ArcticDB LMDB for capital, SQLite / MongoDB for
alerts) with a broker whose account value the test sets, and once with the simulated broker."""
from __future__ import annotations

import logging

import pandas as pd
import pytest

from sysbrokers.objects import AccountValue
from syscore.config_models import SystradeConfig
from syscore.exceptions import InvalidData, MissingData
from syslogdiag.alerts import list_alerts
from sysproduction.process_helpers import Outcome
from sysproduction.update_total_capital import (
    LARGE_CHANGE_SUBJECT,
    TotalCapitalAction,
    preview_capital_update,
    update_total_capital,
)
from tests.blob_helpers import FixedClock, make_blob

START = "2024-03-04 10:00"
HOUR = pd.Timedelta(hours=1)


class AccountValueBroker:
    """Test double with only ``get_account_value``: reports the account value the test set."""

    def __init__(self, clock, net_liquidation=100_000.0, margin_used=0.0, base_currency="USD"):
        self.clock = clock
        self.net_liquidation = net_liquidation
        self.margin_used = margin_used
        self.base_currency = base_currency
        self.polls = 0

    def set(self, net_liquidation, margin_used=None):
        self.net_liquidation = net_liquidation
        if margin_used is not None:
            self.margin_used = margin_used

    def get_account_value(self) -> AccountValue:
        self.polls += 1
        return AccountValue(self.base_currency, {self.base_currency: self.net_liquidation}, {},
                            self.net_liquidation, self.margin_used, self.clock.now())


def capital_blob(home, backend="sqlite", mongo_url=None, method="full", limit=0.10,
                 weights=None, function=None, start=START):
    """A blob on real stores wired to an :class:`AccountValueBroker`: (blob, clock, broker)."""
    clock = FixedClock(start)
    broker = AccountValueBroker(clock)
    blob = make_blob(home, backend, mongo_url, clock=clock, broker_factory=lambda _blob: broker)
    settings = blob.config.model_dump()
    settings["production_capital_method"] = method
    settings["capital_large_change_limit"] = limit
    if weights is not None:
        settings["strategy_capital_allocation"]["strategy_weights"] = weights
    if function is not None:
        settings["strategy_capital_allocation"]["function"] = function
    blob.config = SystradeConfig.model_validate(settings)
    return blob, clock, broker


def capital_alerts(blob):
    return list_alerts(blob.alerts, subject=LARGE_CHANGE_SUBJECT)


# broker values +5%, -3%, +4%, -5.59% from 100 000, with margin
BROKER = [100_000.0, 105_000.0, 101_850.0, 105_924.0, 100_000.0]
MARGIN = [0.0, 12_000.0, 11_500.0, 13_000.0, 9_000.0]
PANDL = [0.0, 5_000.0, -3_150.0, 4_074.0, -5_924.0]
ACC_PNL = [0.0, 5_000.0, 1_850.0, 5_924.0, 0.0]
EXPECTED = {  # method: (total, max) after each poll, worked by hand
    "full": ([100_000.0, 105_000.0, 101_850.0, 105_924.0, 100_000.0],
             [100_000.0, 105_000.0, 101_850.0, 105_924.0, 100_000.0]),
    "half": ([100_000.0, 100_000.0, 96_850.0, 100_000.0, 94_076.0], [100_000.0] * 5),
    "fixed": ([100_000.0] * 5, [100_000.0] * 5),
}


@pytest.mark.parametrize("method", ["full", "half", "fixed"])
def test_methods_through_the_process_with_a_broker_value_sequence(tmp_path, method):
    blob, clock, broker = capital_blob(tmp_path / "home", method=method)
    with blob:
        actions = []
        for value, margin in zip(BROKER, MARGIN, strict=True):
            broker.set(value, margin)
            result = update_total_capital(blob)
            actions.append(result.action)
            clock.current += HOUR
        frame = blob.capital.total_capital()
    assert actions == [TotalCapitalAction.INITIALISED] + [TotalCapitalAction.UPDATED] * 4
    total, maximum = EXPECTED[method]
    expected = pd.DataFrame(
        {"total": total, "broker": BROKER, "max": maximum, "acc_pnl": ACC_PNL, "margin": MARGIN},
        index=pd.date_range(START, periods=5, freq="h", tz="UTC"))
    pd.testing.assert_frame_equal(frame, expected, check_names=False, check_freq=False)
    assert (frame.index == expected.index).all()


def test_result_reports_pandl_and_state(tmp_path):
    blob, clock, broker = capital_blob(tmp_path / "home", method="half")
    with blob:
        results = []
        for value in BROKER:
            broker.set(value)
            results.append(update_total_capital(blob))
            clock.current += HOUR
    assert [r.pandl for r in results] == pytest.approx(PANDL)
    assert [r.state.total_capital for r in results] == EXPECTED["half"][0]
    assert results[2].timestamp == pd.Timestamp(START, tz="UTC") + 2 * HOUR
    assert "p&l -3,150.00" in str(results[2])
    assert str(results[2]).startswith("total capital updated at 2024-03-04 12:00 UTC: ")


def test_first_run_initialises_from_the_broker_and_logs_it(tmp_path, caplog):
    blob, _, broker = capital_blob(tmp_path / "home")
    broker.set(250_000.0, 30_000.0)
    with blob, caplog.at_level(logging.INFO, logger="systrade"):
        with pytest.raises(MissingData):
            blob.capital.total_capital()
        result = update_total_capital(blob)
        row = blob.capital.last_total()
    assert result.action is TotalCapitalAction.INITIALISED and result.pandl == 0
    assert row.to_dict() == {"total": 250_000.0, "broker": 250_000.0, "max": 250_000.0,
                             "acc_pnl": 0.0, "margin": 30_000.0}
    assert row.name == pd.Timestamp(START, tz="UTC")
    assert any("initialised from the broker account value 250000.00" in r.getMessage()
               and r.levelno == logging.WARNING for r in caplog.records)


def test_unchanged_broker_value_adds_a_row_with_zero_pandl(tmp_path):
    blob, clock, broker = capital_blob(tmp_path / "home")
    with blob:
        update_total_capital(blob)
        broker.set(103_000.0)
        clock.current += HOUR
        update_total_capital(blob)
        clock.current += HOUR
        again = update_total_capital(blob)
        frame = blob.capital.total_capital()
    assert again.action is TotalCapitalAction.UPDATED and again.pandl == 0
    assert len(frame) == 3
    assert frame.iloc[-1].to_dict() == frame.iloc[-2].to_dict()
    assert frame["acc_pnl"].tolist() == [0.0, 3_000.0, 3_000.0]


def test_second_run_at_the_same_instant_is_refused_and_writes_nothing(tmp_path):
    blob, _, broker = capital_blob(tmp_path / "home")
    with blob:
        update_total_capital(blob)
        broker.set(101_000.0)
        with pytest.raises(InvalidData, match="not after the last stored row"):
            update_total_capital(blob)
        assert len(blob.capital.total_capital()) == 1


@pytest.mark.parametrize("method, confirmed_total", [
    ("full", 115_000.0), ("half", 100_000.0), ("fixed", 100_000.0)])
def test_large_change_is_refused_with_alert_until_confirmed(tmp_path, backend, method,
                                                            confirmed_total, caplog):
    name, url = backend
    blob, clock, broker = capital_blob(tmp_path / "home", name, url, method=method)
    with blob:
        update_total_capital(blob)
        before = blob.capital.total_capital()
        broker.set(115_000.0, 5_000.0)  # +15%, over the 10% limit
        for _ in range(2):  # refused every run while it stands; nothing written
            clock.current += HOUR
            with caplog.at_level(logging.CRITICAL, logger="systrade"):
                refused = update_total_capital(blob)
            assert refused.action is TotalCapitalAction.REFUSED
            assert not refused.ok and refused.outcome is Outcome.REFUSED  # exit code 1
            assert "--confirm_large_change true" in str(refused)
            assert refused.pandl == 15_000.0 and refused.state.total_capital == 100_000.0
            pd.testing.assert_frame_equal(blob.capital.total_capital(), before)
        alerts = capital_alerts(blob)
        assert len(alerts) == 2 and refused.alert_id == alerts[-1]["alert_id"]
        assert "15.0%" in alerts[0]["body"]
        assert "--confirm_large_change true" in alerts[0]["body"]
        assert any(r.levelno == logging.CRITICAL and LARGE_CHANGE_SUBJECT in r.getMessage()
                   for r in caplog.records)

        preview, large = preview_capital_update(blob, 115_000.0)
        assert large and preview.state.total_capital == confirmed_total
        pd.testing.assert_frame_equal(blob.capital.total_capital(), before)

        clock.current += HOUR
        confirmed = update_total_capital(blob, confirm_large_change=True)
        frame = blob.capital.total_capital()
        assert len(capital_alerts(blob)) == 2  # confirming raises no new alert
    assert confirmed.action is TotalCapitalAction.CONFIRMED
    assert len(frame) == 2
    assert frame.iloc[-1].to_dict() == {
        "total": confirmed_total, "broker": 115_000.0,
        "max": 115_000.0 if method == "full" else 100_000.0,
        "acc_pnl": 15_000.0, "margin": 5_000.0}
    assert frame.index[-1] == pd.Timestamp(START, tz="UTC") + 3 * HOUR


@pytest.mark.parametrize("value, refused", [
    (110_000.0, False), (90_000.0, False), (110_001.0, True), (89_999.0, True),
    (88_000.0, True)])
def test_limit_edges(tmp_path, value, refused):
    blob, clock, broker = capital_blob(tmp_path / "home")
    with blob:
        update_total_capital(blob)
        broker.set(value)
        clock.current += HOUR
        result = update_total_capital(blob)
        rows = len(blob.capital.total_capital())
        alerts = len(capital_alerts(blob))
    assert (result.action is TotalCapitalAction.REFUSED) is refused
    assert rows == (1 if refused else 2)
    assert alerts == (1 if refused else 0)


def test_configured_limit_is_used(tmp_path):
    blob, clock, broker = capital_blob(tmp_path / "home", limit=0.02)
    with blob:
        update_total_capital(blob)
        broker.set(103_000.0)
        clock.current += HOUR
        assert update_total_capital(blob).action is TotalCapitalAction.REFUSED


def test_confirming_a_small_change_is_a_plain_update(tmp_path):
    blob, clock, broker = capital_blob(tmp_path / "home")
    with blob:
        update_total_capital(blob)
        broker.set(101_000.0)
        clock.current += HOUR
        assert update_total_capital(blob, confirm_large_change=True).action \
            is TotalCapitalAction.UPDATED


@pytest.mark.parametrize("currency, value, margin, message", [
    ("EUR", 100_000.0, 0.0, "broker account is in EUR"),
    ("USD", float("nan"), 0.0, "net_liquidation is not a finite number"),
    ("USD", 100_000.0, -1.0, "margin_used is negative"),
])
def test_bad_broker_figures_write_nothing(tmp_path, currency, value, margin, message):
    blob, _, broker = capital_blob(tmp_path / "home")
    broker.base_currency = currency
    broker.set(value, margin)
    with blob:
        with pytest.raises(InvalidData, match=message):
            update_total_capital(blob)
        with pytest.raises(MissingData):
            blob.capital.total_capital()


def test_zero_broker_value_cannot_initialise(tmp_path):
    blob, _, broker = capital_blob(tmp_path / "home")
    broker.set(0.0)
    with blob:
        with pytest.raises(InvalidData, match="initialise it by hand"):
            update_total_capital(blob)


def test_reinitialises_after_all_rows_were_deleted_since_a_date(tmp_path):
    blob, clock, broker = capital_blob(tmp_path / "home")
    with blob:
        update_total_capital(blob)
        blob.capital.delete_total_since(pd.Timestamp(START, tz="UTC"))
        assert blob.capital.total_capital().empty
        broker.set(150_000.0)
        clock.current += HOUR
        result = update_total_capital(blob)
        frame = blob.capital.total_capital()
    assert result.action is TotalCapitalAction.INITIALISED
    assert frame["total"].tolist() == [150_000.0]


def test_with_the_simulated_broker(tmp_path):
    """The default broker: account value and margin move with a filled order."""
    from sysbrokers.sim.broker import SimBroker
    from sysbrokers.sim.market import default_market

    clock = FixedClock("2024-01-09 15:00")  # a Tuesday: the market is open
    market = default_market(42)  # the configured default seed
    blob = make_blob(tmp_path / "home", clock=clock, broker_factory=lambda b: SimBroker(
        clock=b.clock, home=b.home, market=market))
    with blob:
        first = update_total_capital(blob)
        assert first.action is TotalCapitalAction.INITIALISED
        assert first.broker_account_value == pytest.approx(blob.config.sim.initial_cash)
        blob.broker.place_order("SP500_micro", "202403", 5)
        clock.current += pd.Timedelta(days=1)
        account = blob.broker.get_account_value()
        second = update_total_capital(blob)
        frame = blob.capital.total_capital()
    assert second.action is TotalCapitalAction.UPDATED
    assert second.broker_account_value == pytest.approx(account.net_liquidation)
    assert second.pandl == pytest.approx(account.net_liquidation - first.broker_account_value)
    assert second.pandl != 0
    assert frame["margin"].iloc[-1] == pytest.approx(account.margin_used) and account.margin_used > 0
    assert frame["acc_pnl"].iloc[-1] == pytest.approx(second.pandl)
