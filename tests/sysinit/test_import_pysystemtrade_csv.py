"""Migration in from pysystemtrade's CSV layout, and bad input."""
from __future__ import annotations

import shutil

import pytest

from syscore.exceptions import InvalidData
from sysinit.import_pysystemtrade_csv import import_pysystemtrade_csv
from tests.blob_helpers import make_blob


@pytest.fixture
def blob(tmp_path):
    data = make_blob(tmp_path / "home")
    yield data
    data.close()


def test_import_reference_loads_everything(pysystemtrade_reference, blob):
    report = import_pysystemtrade_csv(str(pysystemtrade_reference), data=blob)
    assert not report.rejected
    assert blob.multiple_prices.list_codes() == sorted(
        p.stem for p in (pysystemtrade_reference / "multiple_prices_csv").glob("*.csv"))
    assert blob.fx_prices.list_codes() == ["EURUSD", "GBPUSD", "JPYUSD"]
    corn = blob.instruments.get("CORN")
    assert (corn.pointsize, corn.currency, corn.spread_cost) == (50.0, "USD", 0.125)
    assert blob.roll_parameters.get("GAS_US").hold_roll_cycle == "FGHJKMNQUVXZ"
    assert any("reordered" in n for n in report.notes["GAS_US"])
    assert blob.broker_config.fx_pair("JPYUSD").invert is True
    assert "CORN: loaded instrument config" in report.render()


def test_import_reference_2023_layout(pysystemtrade_reference, tmp_path, blob):
    source = tmp_path / "src"
    shutil.copytree(pysystemtrade_reference / "csvconfig_2023", source / "csvconfig")
    shutil.copytree(pysystemtrade_reference / "sysbrokers_IB_config_2023", source / "sysbrokers_IB")
    report = import_pysystemtrade_csv(str(source), data=blob)
    aex = blob.instruments.get("AEX")
    assert aex.spread_cost == 0.063 and aex.region != ""
    assert blob.broker_config.ib_futures("CORN").price_multiplier == 100.0
    assert "instrument config" in report.loaded["CORN"]


# Small files in pysystemtrade's layouts, written by the tests below: they need no reference data.
NEW_INSTRUMENT_CONFIG = (
    "Instrument,Description,Pointsize,Currency,AssetClass,PerBlock,Percentage,PerTrade,Region\n"
    "AEX,Netherlands equity index AEX,200,EUR,Equity,2.8,0,0,EMEA\n"
    "CORN,Corn,50,USD,Ags,2.92,0,0,US\n"
    "GOLD,Gold,100,USD,Metals,2.5,0,0,US\n")
SPREAD_COSTS = "Instrument,SpreadCost\nAEX,0.063\nCORN,0.16\n"
OLD_INSTRUMENT_CONFIG = (
    "Instrument,Pointsize,Percentage,PerBlock,PerTrade,AssetClass,Currency,Description,Slippage\n"
    "AEX,200,0,2,0,Equity,EUR,Netherlands equity index AEX,0.1\n"
    "CORN,50,0,2.9,0,Ags,USD,Corn,0.125\n")
ROLL_CONFIG = (
    "Instrument,HoldRollCycle,RollOffsetDays,CarryOffset,PricedRollCycle,ExpiryOffset\n"
    "AEX,FGHJKMNQUVXZ,-5,1,FGHJKMNQUVXZ,19\n"
    "CORN,Z,-60,-1,HKNUZ,14\n")
IB_FUTURES_2023 = (
    "Instrument,IBSymbol,IBExchange,IBCurrency,IBMultiplier,priceMagnifier,IgnoreWeekly\n"
    "AEX,EOE,FTA,EUR,200,1,FALSE\n"
    "CORN,ZC,CBOT,USD,5000,100,FALSE\n")
MULTIPLE_HEADER = "DATETIME,CARRY,CARRY_CONTRACT,PRICE,PRICE_CONTRACT,FORWARD,FORWARD_CONTRACT\n"


def _write(path, text: str):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_import_newer_config_layout_with_spreadcosts(tmp_path, blob):
    source = tmp_path / "src"
    _write(source / "csvconfig" / "instrumentconfig.csv", NEW_INSTRUMENT_CONFIG)
    _write(source / "csvconfig" / "spreadcosts.csv", SPREAD_COSTS)
    _write(source / "csvconfig" / "rollconfig.csv", ROLL_CONFIG)
    _write(source / "sysbrokers_IB" / "ib_config_futures.csv", IB_FUTURES_2023)
    report = import_pysystemtrade_csv(str(source), data=blob)
    assert not report.rejected
    assert blob.instruments.list_codes() == ["AEX", "CORN", "GOLD"]
    aex = blob.instruments.get("AEX")
    assert (aex.spread_cost, aex.region, aex.currency, aex.pointsize) == (0.063, "EMEA", "EUR", 200.0)
    assert blob.instruments.get("CORN").spread_cost == 0.16
    assert blob.instruments.get("GOLD").spread_cost == 0.0  # missing from spreadcosts.csv
    assert blob.roll_parameters.get("CORN").hold_roll_cycle == "Z"
    assert blob.broker_config.ib_futures("CORN").price_multiplier == 100.0
    assert "instrument config" in report.loaded["CORN"]
    assert "IB mapping" in report.loaded["AEX"]


def test_import_older_config_layout_with_slippage(tmp_path, blob):
    source = tmp_path / "src"
    _write(source / "csvconfig" / "instrumentconfig.csv", OLD_INSTRUMENT_CONFIG)
    _write(source / "csvconfig" / "rollconfig.csv", ROLL_CONFIG)
    _write(source / "multiple_prices_csv" / "CORN.csv", MULTIPLE_HEADER +
           "2020-01-02 23:00:00,380.0,20200300,385.5,20200500,390.0,20200700\n"
           "2020-01-03 23:00:00,381.0,20200300,386.0,20200500,391.0,20200700\n")
    report = import_pysystemtrade_csv(str(source), data=blob)
    assert not report.rejected
    corn = blob.instruments.get("CORN")
    assert (corn.pointsize, corn.currency, corn.spread_cost, corn.region) == (50.0, "USD", 0.125, "")
    assert blob.instruments.get("AEX").spread_cost == 0.1
    assert blob.multiple_prices.has("CORN")
    assert "multiple prices (2 rows)" in report.loaded["CORN"]


def test_missing_directory_is_clear_error(tmp_path, blob):
    with pytest.raises(InvalidData, match="source directory not found"):
        import_pysystemtrade_csv(str(tmp_path / "nope"), data=blob)
    assert blob.state.collections() == []


def _minimal_source(tmp_path):
    """A source with an instrument config for AEX and CORN and an empty prices directory."""
    source = tmp_path / "src"
    _write(source / "csvconfig" / "instrumentconfig.csv", OLD_INSTRUMENT_CONFIG)
    (source / "multiple_prices_csv").mkdir()
    return source


def test_unknown_instrument_prices_rejected(tmp_path, blob):
    source = _minimal_source(tmp_path)
    (source / "multiple_prices_csv" / "NOTAREALTHING.csv").write_text(
        "DATETIME,CARRY,CARRY_CONTRACT,PRICE,PRICE_CONTRACT,FORWARD,FORWARD_CONTRACT\n"
        "2020-01-01 23:00:00,1.0,20200300,2.0,20200600,3.0,20200900\n")
    report = import_pysystemtrade_csv(str(source), data=blob)
    assert any("unknown instrument" in r for r in report.rejected["NOTAREALTHING"])
    assert not blob.multiple_prices.has("NOTAREALTHING")


@pytest.mark.parametrize("content, message", [
    ("DATETIME,CARRY,PRICE\n2020-01-01 23:00:00,1.0,2.0\n", "missing columns"),
    ("DATETIME,CARRY,CARRY_CONTRACT,PRICE,PRICE_CONTRACT,FORWARD,FORWARD_CONTRACT\n"
     "2020-01-01 23:00:00,1.0,20200300,2.0,20200600,3.0,20200900\n"
     "yesterday,1.0,20200300,2.0,20200600,3.0,20200900\n", "line 3: cannot read 'yesterday'"),
    ("DATETIME,CARRY,CARRY_CONTRACT,PRICE,PRICE_CONTRACT,FORWARD,FORWARD_CONTRACT\n"
     "2020-01-01 23:00:00,1.0,20200300,abc,20200600,3.0,20200900\n", "non-numeric value 'abc'"),
])
def test_bad_price_csv_rejected_with_one_message_and_nothing_written(
        tmp_path, blob, content, message):
    source = _minimal_source(tmp_path)
    (source / "multiple_prices_csv" / "CORN.csv").write_text(content)
    report = import_pysystemtrade_csv(str(source), data=blob)
    assert len(report.rejected["CORN"]) == 1
    assert message in report.rejected["CORN"][0]
    assert not blob.multiple_prices.has("CORN")


def test_bad_config_rows_rejected_rest_loaded(tmp_path, blob):
    source = tmp_path / "src"
    (source / "csvconfig").mkdir(parents=True)
    (source / "csvconfig" / "instrumentconfig.csv").write_text(
        "Instrument,Pointsize,Percentage,PerBlock,PerTrade,AssetClass,Currency,Description,Slippage\n"
        "GOOD,50,0,2,0,Ags,USD,Fine,0.1\n"
        "BAD,fifty,0,2,0,Ags,USD,Broken,0.1\n")
    report = import_pysystemtrade_csv(str(source), data=blob)
    assert blob.instruments.list_codes() == ["GOOD"]
    assert "Pointsize is not a number" in report.rejected["BAD"][0]


def test_stored_series_are_not_replaced_without_overwrite(tmp_path, blob):
    source = tmp_path / "src"
    (source / "csvconfig").mkdir(parents=True)
    (source / "csvconfig" / "instrumentconfig.csv").write_text(
        "Instrument,Pointsize,Percentage,PerBlock,PerTrade,AssetClass,Currency,Description,Slippage\n"
        "GOOD,50,0,2,0,Ags,USD,Fine,0.1\n")
    (source / "adjusted_prices_csv").mkdir()
    (source / "adjusted_prices_csv" / "GOOD.csv").write_text("DATETIME,price\n2020-01-01 23:00:00,1.5\n")
    import_pysystemtrade_csv(str(source), data=blob)
    (source / "adjusted_prices_csv" / "GOOD.csv").write_text("DATETIME,price\n2020-01-01 23:00:00,9.9\n")
    report = import_pysystemtrade_csv(str(source), data=blob)
    assert "already stored" in report.rejected["GOOD"][0]
    assert blob.adjusted_prices.read_series("GOOD").iloc[0] == 1.5
    import_pysystemtrade_csv(str(source), overwrite=True, data=blob)
    assert blob.adjusted_prices.read_series("GOOD").iloc[0] == 9.9
