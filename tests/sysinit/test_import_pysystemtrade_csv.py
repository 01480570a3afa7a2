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


def test_import_newer_config_layout_with_spreadcosts(pysystemtrade_reference, tmp_path, blob):
    source = tmp_path / "src"
    shutil.copytree(pysystemtrade_reference / "csvconfig_2023", source / "csvconfig")
    shutil.copytree(pysystemtrade_reference / "sysbrokers_IB_config_2023", source / "sysbrokers_IB")
    report = import_pysystemtrade_csv(str(source), data=blob)
    aex = blob.instruments.get("AEX")
    assert aex.spread_cost == 0.063 and aex.region != ""
    assert blob.broker_config.ib_futures("CORN").price_multiplier == 100.0
    assert "instrument config" in report.loaded["CORN"]


def test_missing_directory_is_clear_error(tmp_path, blob):
    with pytest.raises(InvalidData, match="source directory not found"):
        import_pysystemtrade_csv(str(tmp_path / "nope"), data=blob)
    assert blob.state.collections() == []


def _minimal_source(tmp_path, pysystemtrade_reference):
    source = tmp_path / "src"
    (source / "csvconfig").mkdir(parents=True)
    shutil.copy(pysystemtrade_reference / "csvconfig" / "instrumentconfig.csv", source / "csvconfig")
    (source / "multiple_prices_csv").mkdir()
    return source


def test_unknown_instrument_prices_rejected(pysystemtrade_reference, tmp_path, blob):
    source = _minimal_source(tmp_path, pysystemtrade_reference)
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
        pysystemtrade_reference, tmp_path, blob, content, message):
    source = _minimal_source(tmp_path, pysystemtrade_reference)
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
