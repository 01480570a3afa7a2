"""Migration in from pysystemtrade's CSV layout, and bad input."""
from __future__ import annotations

import io
import re
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
    assert "  instrument config: " in report.render()
    assert report.ok
    # a rerun finds every price file equal to what it stored (contract ids, NaN, doubles)
    again = import_pysystemtrade_csv(str(pysystemtrade_reference), data=blob)
    assert again.ok, again.render()
    assert "  multiple prices: 0 loaded, 11 unchanged, 0 rejected" in again.render()
    assert "  roll calendar: 0 loaded, 11 unchanged, 0 rejected" in again.render()
    assert "  FX prices: 0 loaded, 3 unchanged, 0 rejected" in again.render()


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
    assert not report.ok  # the command exits 1
    assert str(report).splitlines()[0].endswith("1 rejected")


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
    assert "(--overwrite true replaces it)" in report.rejected["GOOD"][0]
    assert blob.adjusted_prices.read_series("GOOD").iloc[0] == 1.5
    import_pysystemtrade_csv(str(source), overwrite=True, data=blob)
    assert blob.adjusted_prices.read_series("GOOD").iloc[0] == 9.9


# Garbage in a price file: rejected with file, line and reason; nothing of that file stored; the
# rest of the import goes on and the report is not ok (the command exits non-zero).
MULTIPLE_ROW = "2020-01-02 23:00:00,380.0,20200300,385.5,20200500,390.0,20200700\n"
ROLL_CALENDAR_HEADER = "DATE_TIME,current_contract,next_contract,carry_contract\n"
GARBAGE = {
    # pandas reads "2020-01-03 23:0" as 23:00 and the missing price as NaN: a NaN row stored
    "cut mid-timestamp": (
        "adjusted_prices_csv", "DATETIME,price\n2020-01-02 23:00:00,1.5\n2020-01-03 23:0\n",
        r"adjusted_prices_csv/CORN\.csv: line 3: 1 fields, the header has 2"),
    "cut mid-timestamp, multiple prices": (
        "multiple_prices_csv", MULTIPLE_HEADER + MULTIPLE_ROW + "2020-01-03 23:0\n",
        r"multiple_prices_csv/CORN\.csv: line 3: 1 fields, the header has 7"),
    # "1.25" cut to "1" is still a number
    "cut mid-number, no line end": (
        "adjusted_prices_csv", "DATETIME,price\n2020-01-02 23:00:00,1.5\n2020-01-03 23:00:00,1",
        r"adjusted_prices_csv/CORN\.csv: line 3: no line end"),
    "inf": (
        "multiple_prices_csv", MULTIPLE_HEADER + MULTIPLE_ROW
        + "2020-01-03 23:00:00,381.0,20200300,inf,20200500,391.0,20200700\n",
        r"CORN\.csv: line 3: column PRICE: value 'inf' is not finite"),
    "1e308": (
        "multiple_prices_csv", MULTIPLE_HEADER
        + "2020-01-03 23:00:00,1e308,20200300,386.0,20200500,391.0,20200700\n",
        r"CORN\.csv: line 2: column CARRY: value '1e308' is beyond the largest price accepted"),
    "minus inf adjusted": (
        "adjusted_prices_csv", "DATETIME,price\n2020-01-02 23:00:00,-inf\n",
        r"adjusted_prices_csv/CORN\.csv: line 2: column price: value '-inf' is not finite"),
    "contract month 13": (
        "multiple_prices_csv", MULTIPLE_HEADER + MULTIPLE_ROW
        + "2020-01-03 23:00:00,381.0,20201300,386.0,20200500,391.0,20200700\n",
        r"line 3: column CARRY_CONTRACT: value '20201300' is not a contract id"),
    "calendar contract month 13": (
        "roll_calendars_csv", ROLL_CALENDAR_HEADER + "2020-02-20 23:00:00,20200300,20201300,"
        "20200500\n", r"roll_calendars_csv/CORN\.csv: line 2: column next_contract: value "
                      r"'20201300' is not a contract id"),
    "NUL byte": (
        "adjusted_prices_csv", "DATETIME,price\n2020-01-02 23:00:00,1.5\n"
        "2020-01-03 23:00:00,3\x007.25\n", r"CORN\.csv: line 3: NUL byte"),
    "naive after offset, same instant": (
        "adjusted_prices_csv", "DATETIME,price\n2020-01-02 23:00:00+01:00,1.5\n"
        "2020-01-02 22:00:00,1.6\n", r"CORN\.csv: line 3: same instant as line 2 "
                                      r"\(2020-01-02 22:00:00 UTC\)"),
    "header only": (
        "multiple_prices_csv", MULTIPLE_HEADER, r"CORN\.csv: no data rows \(header only\)"),
    # a price dated 2099 sat after every bar a daily update brings (the clock says 2024-01-02)
    "far in the future": (
        "adjusted_prices_csv", "DATETIME,price\n2020-01-02 23:00:00,1.5\n2099-01-02 23:00:00,1.6\n",
        r"adjusted_prices_csv/CORN\.csv: line 3: 2099-01-02 23:00:00 UTC is in the future"),
    "future, multiple prices": (
        "multiple_prices_csv", MULTIPLE_HEADER + MULTIPLE_ROW
        + "2024-01-04 00:00:00,381.0,20200300,386.0,20200500,391.0,20200700\n",
        r"multiple_prices_csv/CORN\.csv: line 3: 2024-01-04 00:00:00 UTC is in the future"),
    # pandas renamed the second column price.1 and the first was stored: a guess
    "column named twice": (
        "adjusted_prices_csv", "DATETIME,price,price\n2020-01-02 23:00:00,1.5,1500\n",
        r"adjusted_prices_csv/CORN\.csv: line 1: column 'price' appears twice in the header"),
}


def _source_with_garbage(tmp_path, directory: str, content: str, code: str = "CORN"):
    source = _minimal_source(tmp_path)
    _write(source / "adjusted_prices_csv" / "AEX.csv", "DATETIME,price\n2020-01-02 23:00:00,600\n")
    path = source / directory / f"{code}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode())
    return source


@pytest.mark.parametrize("case", sorted(GARBAGE))
def test_garbage_price_file_rejected_with_file_line_and_reason(tmp_path, blob, case):
    directory, content, message = GARBAGE[case]
    source = _source_with_garbage(tmp_path, directory, content)
    report = import_pysystemtrade_csv(str(source), data=blob)
    assert len(report.rejected["CORN"]) == 1, report.render()
    assert re.search(message, report.rejected["CORN"][0]), report.rejected["CORN"][0]
    for family in (blob.multiple_prices, blob.adjusted_prices, blob.roll_calendars):
        assert not family.has("CORN")  # nothing of that file stored
    assert blob.adjusted_prices.has("AEX")  # the rest goes on
    assert not report.ok


@pytest.mark.parametrize("rate, reason", [("0", "is not a positive FX rate"),
                                          ("-1.2", "is not a positive FX rate"),
                                          ("inf", "is not finite"),
                                          ("1.3e-300", "is below the smallest FX rate "
                                                       "accepted (1e-09)")])
def test_zero_negative_or_infinite_fx_rate_rejected(tmp_path, blob, rate, reason):
    source = _source_with_garbage(
        tmp_path, "fx_prices_csv",
        f"DATETIME,PRICE\n2020-01-01 00:00:00,1.12\n2020-01-02 00:00:00,{rate}\n", code="EURUSD")
    report = import_pysystemtrade_csv(str(source), data=blob)
    assert len(report.rejected["EURUSD"]) == 1
    assert f"fx_prices_csv/EURUSD.csv: line 3: column PRICE: value '{rate}' {reason}" in \
        report.rejected["EURUSD"][0]
    assert not blob.fx_prices.has("EURUSD")
    assert not report.ok


def test_empty_fx_day_is_a_missing_rate_not_garbage(tmp_path, blob):
    # pysystemtrade's KRWUSD has an empty rate on 2014-01-20
    source = _source_with_garbage(
        tmp_path, "fx_prices_csv", "DATETIME,PRICE\n2014-01-17 00:00:00,0.000941\n"
        "2014-01-20 00:00:00,\n2014-01-21 00:00:00,0.000937\n", code="KRWUSD")
    report = import_pysystemtrade_csv(str(source), data=blob)
    assert not report.rejected, report.render()
    assert blob.fx_prices.read_series("KRWUSD").isna().sum() == 1


def test_prices_parsed_as_pysystemtrade_parses_them(tmp_path, blob):
    """pandas' default parser reads 2.631 and 2.6310000000000002 as one double, so PRICE - CARRY
    is exactly 0, as in pysystemtrade (which then drops that carry row)."""
    source = _minimal_source(tmp_path)
    _write(source / "multiple_prices_csv" / "CORN.csv", MULTIPLE_HEADER +
           "2020-01-02 23:00:00,2.6310000000000002,20200500,2.631,20200500,2.7,20200700\n")
    _write(source / "adjusted_prices_csv" / "CORN.csv",
           "DATETIME,price\n2020-01-02 23:00:00,2.6310000000000002\n")
    report = import_pysystemtrade_csv(str(source), data=blob)
    assert not report.rejected, report.render()
    stored = blob.multiple_prices.read("CORN")
    assert stored["PRICE"].iloc[0] - stored["CARRY"].iloc[0] == 0.0
    assert blob.adjusted_prices.read_series("CORN").iloc[0] == stored["PRICE"].iloc[0]


@pytest.mark.parametrize("files", [[], ["notes.txt", "prices/CORN.csv"],
                                   ["multiple_prices_csv/CORN.csv.gz"]])
def test_folder_without_pysystemtrade_layout_is_an_error(tmp_path, blob, files):
    source = tmp_path / "src"
    source.mkdir()
    for name in files:
        _write(source / name, "x\n")
    with pytest.raises(InvalidData, match="nothing of pysystemtrade's CSV layout") as info:
        import_pysystemtrade_csv(str(source), data=blob)
    assert "\n" not in str(info.value)
    if files and files[0].endswith(".gz"):
        assert "gunzip" in str(info.value)
    assert not blob.instruments.list_codes()


def test_report_has_totals_per_kind_and_speaks_command_line(tmp_path, blob):
    source = _source_with_garbage(tmp_path, "multiple_prices_csv", MULTIPLE_HEADER)
    _write(source / "csvconfig" / "rollconfig.csv", ROLL_CONFIG)
    aex = source / "adjusted_prices_csv" / "AEX.csv"
    first_aex = aex.read_text()
    import_pysystemtrade_csv(str(source), data=blob)
    _write(source / "adjusted_prices_csv" / "CORN.csv", "DATETIME,price\n2020-01-02 23:00:00,1\n")
    aex.write_text(first_aex.replace("600", "601"))
    report = import_pysystemtrade_csv(str(source), data=blob)
    text = report.render()
    lines = text.splitlines()
    assert lines[0] == f"import_pysystemtrade_csv from {source}: 5 loaded, 2 rejected"
    assert "  instrument config: 2 loaded, 0 rejected" in lines
    assert "  roll config: 2 loaded, 0 rejected" in lines
    assert "  multiple prices: 0 loaded, 1 rejected" in lines
    assert "  adjusted prices: 1 loaded, 1 rejected" in lines
    assert "rejected (nothing of these was stored):" in lines
    assert "  AEX adjusted prices: already stored and different, not replaced (--overwrite true " \
           "replaces it)" in lines
    assert "  CORN multiple prices: multiple_prices_csv/CORN.csv: no data rows (header only)" \
        in lines
    for python in ("Timestamp(", "['", "overwrite=", "None", "defaultdict", str(source / "m")):
        assert python not in text.split(": ", 1)[1]
    assert str(report) == text
    assert blob.adjusted_prices.read_series("AEX").iloc[0] == 600.0

    # a rerun after fixing the bad file: files equal to what is stored are unchanged, not refused
    aex.write_text(first_aex)
    (source / "multiple_prices_csv" / "CORN.csv").unlink()
    again = import_pysystemtrade_csv(str(source), data=blob)
    assert again.ok, again.render()
    assert "  adjusted prices: 0 loaded, 2 unchanged, 0 rejected" in again.render().splitlines()


def test_import_command_prints_report_once_and_exits_non_zero_on_rejection(
        tmp_path, systrade_home, capsys):
    from syscore.run_function import run_function

    source = _source_with_garbage(tmp_path, "multiple_prices_csv", MULTIPLE_HEADER)
    out, err = io.StringIO(), io.StringIO()
    code = run_function(["sysinit.import_pysystemtrade_csv.import_pysystemtrade_csv",
                         "--source_dir", str(source)], stdout=out, stderr=err)
    printed = out.getvalue() + err.getvalue() + "".join(capsys.readouterr())  # + log console
    assert code == 1
    assert printed.count("import_pysystemtrade_csv from") == 1, printed
    assert "3 loaded, 1 rejected" in out.getvalue()
    # each rejection once on the console (the report line); it was also a WARNING on stderr
    assert printed.count("CORN multiple prices") == 1, printed
    log_file = systrade_home / "logs" / "import_pysystemtrade_csv.log"
    assert "rejected CORN multiple prices" in log_file.read_text()  # the detail is kept there

    (source / "multiple_prices_csv" / "CORN.csv").unlink()
    out, err = io.StringIO(), io.StringIO()
    code = run_function(["sysinit.import_pysystemtrade_csv.import_pysystemtrade_csv",
                         "--source_dir", str(source), "--overwrite", "true"],
                        stdout=out, stderr=err)
    assert code == 0, out.getvalue() + err.getvalue()
    assert "3 loaded, 0 rejected" in out.getvalue()


def test_import_command_on_folder_without_layout_is_one_line_error(tmp_path, systrade_home):
    from syscore.run_function import run_function

    (tmp_path / "empty").mkdir()
    out, err = io.StringIO(), io.StringIO()
    code = run_function(["sysinit.import_pysystemtrade_csv.import_pysystemtrade_csv",
                         "--source_dir", str(tmp_path / "empty")], stdout=out, stderr=err)
    assert code == 1
    assert out.getvalue() == ""
    assert len(err.getvalue().strip().splitlines()) == 1
    assert "nothing of pysystemtrade's CSV layout" in err.getvalue()


def test_optional_tick_size_column(tmp_path, blob):
    source = tmp_path / "src"
    lines = NEW_INSTRUMENT_CONFIG.strip().splitlines()
    rows = [lines[0] + ",TickSize"] + [
        line + (",0.25" if line.startswith("CORN,") else ",") for line in lines[1:]]
    _write(source / "csvconfig" / "instrumentconfig.csv", "\n".join(rows) + "\n")
    _write(source / "csvconfig" / "rollconfig.csv", ROLL_CONFIG)
    report = import_pysystemtrade_csv(str(source), data=blob)
    assert not report.rejected
    assert blob.instruments.get("CORN").tick_size == 0.25
    assert blob.instruments.get("AEX").tick_size is None  # empty: not known
