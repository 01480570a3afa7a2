"""The typed data classes give callers what they used to reach around them for: reads from a
start, tails, last timestamps, the roll state as an enum, the roll journal and the alpha picks;
and no sysproduction module calls the raw stores of a blob any more."""
from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from syscore.exceptions import MissingData
from sysdata.alpha_picks import AlphaPicksData
from sysdata.contracts import RollStateData
from sysdata.optimal_positions import OptimalPositionData
from sysdata.prices import FuturesContractPriceData, MultiplePricesData
from sysdata.roll_journal import ROLL_JOURNAL, STAGING, RollJournalData
from sysobjects.roll_state import RollState

ROOT = Path(__file__).resolve().parents[2]


def multiple(start: str, n: int) -> pd.DataFrame:
    idx = pd.date_range(start, periods=n, freq="D", tz="UTC")
    return pd.DataFrame({"CARRY": np.arange(n, dtype=float), "CARRY_CONTRACT": "20210300",
                         "PRICE": np.arange(n, dtype=float) + 1, "PRICE_CONTRACT": "20210600",
                         "FORWARD": np.nan, "FORWARD_CONTRACT": "20210900"}, index=idx)


def test_multiple_prices_read_from_start_tail_and_last_timestamp(ts_store):
    data = MultiplePricesData(ts_store)
    assert data.last_timestamp("EUR") is None
    data.write("EUR", multiple("2021-01-01", 10))
    assert data.last_timestamp("EUR") == pd.Timestamp("2021-01-10", tz="UTC")
    assert list(data.read("EUR", start="2021-01-08")["PRICE"]) == [8.0, 9.0, 10.0]
    assert list(data.read("EUR", start="2021-01-02", end="2021-01-03")["PRICE"]) == [2.0, 3.0]
    assert list(data.tail("EUR", 2)["PRICE"]) == [9.0, 10.0]
    with pytest.raises(MissingData):
        data.tail("GBP")


def test_contract_prices_read_from_start(ts_store):
    data = FuturesContractPriceData(ts_store)
    idx = pd.date_range("2023-01-02", periods=4, freq="h", tz="UTC")
    close = np.arange(4, dtype=float) + 100
    data.write("CORN", "202312", pd.DataFrame({"OPEN": close, "HIGH": close, "LOW": close,
                                                "FINAL": close, "VOLUME": 1.0}, index=idx))
    assert list(data.read("CORN", "202312", start=idx[2])["FINAL"]) == [102.0, 103.0]


def test_optimal_positions_last_timestamp(ts_store):
    data = OptimalPositionData(ts_store)
    assert data.last_timestamp("trend", "CORN") is None
    when = pd.Timestamp("2024-01-02 21:00", tz="UTC")
    data.add("trend", "CORN", when, 1.0, 2.0, 400.0, "20240300", when)
    assert data.last_timestamp("trend", "CORN") == when


def test_roll_state_as_an_enum(state_store):
    data = RollStateData(state_store)
    assert data.state("CORN") is RollState.NO_ROLL
    data.set("CORN", RollState.ROLL_ADJUSTED)
    assert data.state("CORN") is RollState.ROLL_ADJUSTED
    assert data.states() == {"CORN": RollState.ROLL_ADJUSTED}


def test_roll_journal_stage_finish_and_abandon(state_store, ts_store):
    journal = RollJournalData(state_store, ts_store)
    roll_states = RollStateData(state_store)
    roll_states.set("CORN", RollState.ROLL_ADJUSTED)
    adjusted = pd.DataFrame({"price": [1.0, 2.0]},
                            index=pd.date_range("2021-01-01", periods=2, tz="UTC"))
    journal.stage("CORN", multiple("2021-01-01", 2), adjusted, pd.Timestamp("2021-01-03", tz="UTC"))
    assert journal.pending("CORN")
    assert state_store.get(ROLL_JOURNAL, "CORN") == {"staged_at": "2021-01-03T00:00:00.000000+00:00"}
    assert journal.staged_symbols("CORN") == ["CORN/multiple", "CORN/adjusted"]
    staged_multiple, staged_adjusted = journal.staged("CORN")
    assert list(staged_adjusted["price"]) == [1.0, 2.0] and len(staged_multiple) == 2
    journal.finish("CORN")
    assert not journal.pending("CORN") and journal.staged_symbols("CORN") == []
    assert roll_states.state("CORN") is RollState.NO_ROLL
    journal.stage("CORN", multiple("2021-01-01", 2), adjusted, pd.Timestamp("2021-01-03", tz="UTC"))
    journal.abandon("CORN")
    assert not journal.pending("CORN") and not ts_store.has(STAGING, "CORN/multiple")


def test_alpha_picks(state_store):
    data = AlphaPicksData(state_store)
    assert data.get("GOLD_CallSpread") is None
    data.put("GOLD_CallSpread", {"exposure": 0.5, "members": []})
    assert data.get("GOLD_CallSpread") == {"exposure": 0.5, "members": []}


def raw_store_calls() -> list[str]:
    """Calls of a method of a blob's raw stores (``data.timeseries.read(...)``,
    ``blob.state.put(...)``) or of a typed class's store (``data.x.store.tail(...)``) in
    sysproduction."""
    found = []
    for path in sorted((ROOT / "sysproduction").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            owner = node.func.value
            if not isinstance(owner, ast.Attribute):
                continue
            chain = ast.unparse(owner)
            root = chain.split(".")[0]
            if root in ("data", "blob") and (owner.attr in ("timeseries", "state")
                                             or owner.attr == "store"):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} {ast.unparse(node.func)}")
    return found


def test_no_sysproduction_module_reaches_around_the_typed_classes():
    assert raw_store_calls() == []
