from __future__ import annotations

import datetime as dt

import pytest

from syscore.exceptions import InvalidData, MissingData, UnknownInstrument
from sysdata.contracts import FuturesContractData, RollStateData
from sysdata.instruments import InstrumentData, RollParametersData
from sysobjects.contracts import FuturesContract
from sysobjects.instruments import InstrumentConfig
from sysobjects.roll_parameters import RollParameters

CORN = InstrumentConfig("CORN", "Corn", 50, "USD", "Ags", per_block=2.9, spread_cost=0.125)


def test_instrument_config_roundtrip(state_store):
    data = InstrumentData(state_store)
    data.add(CORN)
    assert data.get("CORN") == CORN
    assert data.list_codes() == ["CORN"]
    with pytest.raises(UnknownInstrument, match="NOPE"):
        data.get("NOPE")
    data.delete("CORN")
    assert not data.has("CORN")


def test_instrument_config_validation():
    with pytest.raises(InvalidData, match="pointsize"):
        InstrumentConfig("X", pointsize=0)
    with pytest.raises(InvalidData, match="currency"):
        InstrumentConfig("X", currency="DOLLARS")
    with pytest.raises(InvalidData, match="instrument code"):
        InstrumentConfig("BAD CODE")


def test_roll_parameters_roundtrip(state_store):
    data = RollParametersData(state_store)
    params = RollParameters("Z", "HKNUZ", -60, -1, 14)
    data.add("CORN", params)
    assert data.get("CORN") == params
    with pytest.raises(UnknownInstrument):
        data.get("WHEAT")


def test_roll_parameters_validation():
    with pytest.raises(InvalidData, match="not in calendar order"):
        RollParameters("Z", "FGHJKMNQUXVZ")
    with pytest.raises(InvalidData, match="not in priced"):
        RollParameters("F", "HZ")
    with pytest.raises(InvalidData, match="carry_offset"):
        RollParameters("Z", "Z", carry_offset=2)


def test_contracts_roundtrip_and_sampling(state_store):
    data = FuturesContractData(state_store)
    data.add(FuturesContract("CORN", "202312", dt.date(2023, 12, 14), True, True))
    data.add(FuturesContract("CORN", "20240300", dt.date(2024, 3, 14), False, False))
    data.add(FuturesContract("US10", "202312", None, False, True))
    assert [c.contract_date for c in data.for_instrument("CORN")] == ["202312", "202403"]
    assert [c.contract_date for c in data.for_instrument("CORN", sampling_only=True)] == ["202312"]
    data.set_sampling("CORN", "202403", True)
    assert data.get("CORN", "202403").sampling
    assert data.get("CORN", "202312").expiry_date == dt.date(2023, 12, 14)
    assert data.instruments_with_contracts() == ["CORN", "US10"]
    with pytest.raises(MissingData):
        data.get("CORN", "209912")
    with pytest.raises(InvalidData):
        FuturesContract("CORN", "2023")


def test_roll_states(state_store):
    data = RollStateData(state_store)
    assert data.get("CORN") == "No_Roll"
    data.set("CORN", "Passive")
    assert data.get("CORN") == "Passive"
    with pytest.raises(InvalidData, match="unknown roll state"):
        data.set("CORN", "Sideways")
    assert data.all() == {"CORN": "Passive"}
