from __future__ import annotations

import pandas as pd
import pytest

from syscore.exceptions import InvalidData, MissingData, StoreError
from sysdata.broker_config import BrokerConfigData, FxPairConfig, IBFuturesConfig
from sysdata.controls import (
    MAX_POSITION_LIMIT,
    MAX_TRADE_LIMIT,
    MAX_TRADE_LIMIT_PERIOD_DAYS,
    InstrumentLockData,
    OverrideData,
    PositionLimitData,
    TradeLimitData,
)
from sysdata.logs import AlertData, LogData
from sysdata.process_control import ClientIdData, ProcessControlData


def test_locks(state_store):
    locks = InstrumentLockData(state_store)
    locks.lock("CORN", "2024-01-01", reason="reconcile")
    assert locks.is_locked("CORN") and not locks.is_locked("US10")
    assert locks.locked_instruments() == ["CORN"]
    assert (locks.reason("CORN"), locks.reason("US10")) == ("reconcile", None)
    locks.unlock("CORN")
    assert locks.locked_instruments() == [] and locks.reason("CORN") is None


def test_trade_limits_rolling_window(state_store):
    limits = TradeLimitData(state_store)
    limits.set_limit("CORN", 1, 5)
    limits.record_trade("CORN", 3, "2024-01-01 10:00")
    assert limits.remaining("CORN", 1, "2024-01-01 12:00") == 2
    limits.record_trade("CORN", -4, "2024-01-01 13:00")
    assert limits.remaining("CORN", 1, "2024-01-01 14:00") == 0
    # the first trade drops out of the one-day window
    assert limits.remaining("CORN", 1, "2024-01-02 11:00") == 1
    limits.reset("CORN", 1)
    assert limits.remaining("CORN", 1, "2024-01-02 11:00") == 5
    with pytest.raises(MissingData):
        limits.get("US10", 1)
    with pytest.raises(InvalidData):
        limits.set_limit("CORN", 0, 5)


def test_position_limits_and_overrides(state_store):
    limits = PositionLimitData(state_store)
    limits.set_limit("CORN", 10)
    limits.set_limit("CORN", 4, strategy_name="trend")
    assert limits.get_limit("CORN") == 10 and limits.get_limit("CORN", "trend") == 4
    assert limits.get_limit("US10") is None
    overrides = OverrideData(state_store)
    assert overrides.get("instrument", "CORN") == 1.0
    overrides.set("instrument", "CORN", 0.0)
    assert overrides.get("instrument", "CORN") == 0.0
    with pytest.raises(InvalidData):
        overrides.set("instrument", "CORN", 1.5)
    with pytest.raises(InvalidData):
        overrides.set("planet", "CORN", 0.5)


def test_process_control_and_client_ids(state_store):
    control = ProcessControlData(state_store)
    assert control.get("run_systems")["status"] == "GO"
    control.update("run_systems", status="STOP", pid=123, run_state="running")
    record = control.get("run_systems")
    assert (record["status"], record["pid"], record["run_state"]) == ("STOP", 123, "running")
    with pytest.raises(InvalidData):
        control.update("run_systems", run_state="sleeping")
    with pytest.raises(InvalidData):
        control.update("run_systems", status="MAYBE")
    with pytest.raises(InvalidData):
        control.update("run_systems", colour="red")
    ids = ClientIdData(state_store)
    assert [ids.allocate(1, 3) for _ in range(3)] == [1, 2, 3]
    with pytest.raises(StoreError, match="no free"):
        ids.allocate(1, 3)
    ids.release(2)
    assert ids.allocate(1, 3) == 2


def test_logs_and_alerts(state_store):
    logs = LogData(state_store)
    logs.add({"timestamp": "2024-01-01T10:00:00.000000+00:00", "level": "INFO", "levelno": 20,
              "message": "a", "instrument_code": "CORN"})
    logs.add({"timestamp": "2024-01-02T10:00:00.000000+00:00", "level": "ERROR", "levelno": 40,
              "message": "b", "instrument_code": "US10"})
    assert [r["message"] for r in logs.find(instrument_code="CORN")] == ["a"]
    assert [r["message"] for r in logs.find(since="2024-01-02")] == ["b"]
    assert [r["message"] for r in logs.find(min_level=30)] == ["b"]
    assert logs.delete_before("2024-01-02") == 1
    alerts = AlertData(state_store)
    first = alerts.add("Spike in CORN", "details", "2024-01-01")
    alerts.add("Spike in CORN", "again", "2024-01-02")
    assert len(alerts.unsent()) == 2
    alerts.mark_sent(first, "2024-01-01 00:01")
    assert alerts.last_sent("Spike in CORN")["alert_id"] == first
    assert len(alerts.unsent()) == 1


def test_latest_log_records_are_the_last_added_oldest_first(state_store):
    logs = LogData(state_store)
    for n in range(12):  # ids beyond 9 and 10: key order must be numeric, not text
        logs.add({"timestamp": f"2024-01-01T10:{n:02d}:00+00:00", "level": "INFO",
                  "levelno": 40 if n % 3 == 0 else 20, "message": f"m{n}"})
    assert [r["message"] for r in logs.latest(3)] == ["m9", "m10", "m11"]
    assert [r["message"] for r in logs.latest(2, min_level=30)] == ["m6", "m9"]
    assert len(logs.latest(100)) == 12


def test_broker_config(state_store):
    data = BrokerConfigData(state_store)
    data.add_fx_pairs([FxPairConfig("JPYUSD", "USD", "JPY", True)])
    assert data.fx_pair("JPYUSD").invert is True
    data.add_ib_futures([IBFuturesConfig("CORN", "ZC", "CBOT", "USD", 5000, 100.0)])
    assert data.ib_futures("CORN").price_multiplier == 100.0
    with pytest.raises(MissingData):
        data.fx_pair("EURUSD")
    with pytest.raises(InvalidData):
        FxPairConfig("EURUSD", "EURO", "USD")


def test_strategy_trade_counts_against_its_limit_and_all(state_store):
    limits = TradeLimitData(state_store)
    limits.set_limit("CORN", 1, 10)
    limits.set_limit("CORN", 1, 4, strategy_name="trend")
    limits.record_trade("CORN", 3, "2024-01-01 10:00", strategy_name="trend")
    assert limits.remaining("CORN", 1, "2024-01-01 11:00", strategy_name="trend") == 1
    assert limits.remaining("CORN", 1, "2024-01-01 11:00") == 7
    limits.set_limit("CORN", 1, 12)  # changing the limit keeps the trades
    assert limits.remaining("CORN", 1, "2024-01-01 11:00") == 9


@pytest.mark.parametrize("period", [MAX_TRADE_LIMIT_PERIOD_DAYS + 1, 200_000, True])
def test_trade_limit_period_longer_than_ten_years_is_refused(state_store, period):
    # a 200,000-day window cannot be subtracted from a date: stored, it made every later
    # look at the limits fail (remaining, the console's view, the roll warnings)
    limits = TradeLimitData(state_store)
    with pytest.raises(InvalidData):
        limits.set_limit("CORN", period, 5)
    assert limits.all_limits() == []
    limits.set_limit("CORN", MAX_TRADE_LIMIT_PERIOD_DAYS, 5)
    assert limits.remaining("CORN", MAX_TRADE_LIMIT_PERIOD_DAYS, "2024-01-01") == 5


@pytest.mark.parametrize("limit", [MAX_TRADE_LIMIT + 1, 10**300, True, -1])
def test_trade_limit_beyond_a_billion_contracts_is_refused(state_store, limit):
    limits = TradeLimitData(state_store)
    with pytest.raises(InvalidData):
        limits.set_limit("CORN", 1, limit)
    assert limits.all_limits() == []
    limits.set_limit("CORN", 1, MAX_TRADE_LIMIT)
    assert limits.get("CORN", 1)["limit"] == MAX_TRADE_LIMIT


@pytest.mark.parametrize("limit", [MAX_POSITION_LIMIT + 1, 10**300, True, -1])
def test_position_limit_beyond_a_billion_contracts_is_refused(state_store, limit):
    limits = PositionLimitData(state_store)
    with pytest.raises(InvalidData):
        limits.set_limit("CORN", limit)
    assert limits.all_limits() == []


def test_trade_recorded_under_a_ref_counts_once_and_can_be_forgotten(state_store):
    limits = TradeLimitData(state_store)
    now = pd.Timestamp("2024-01-09 15:00", tz="UTC")
    limits.set_limit("SP500_micro", 1, 5)
    limits.set_limit("SP500_micro", 1, 4, "trend")
    limits.set_limit("SP500_micro", 1, 0, "other")
    for _ in range(2):  # recorded again after a crash: counted once
        limits.record_trade("SP500_micro", -2, now, "trend", ref="B/7")
    assert limits.remaining("SP500_micro", 1, now) == 3
    assert sorted(limits.remaining_for("SP500_micro", "trend", now)) == [2, 3]
    assert sorted(limits.remaining_for("SP500_micro", "trend", now, exclude_ref="B/7")) == [4, 5]
    assert limits.remaining_for("GOLD", "trend", now) == ()
    limits.forget_trade("SP500_micro", "B/7")
    assert sorted(limits.remaining_for("SP500_micro", "trend", now)) == [4, 5]
