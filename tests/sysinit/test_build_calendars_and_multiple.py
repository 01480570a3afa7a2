"""build_roll_calendars and build_multiple_prices through the stores.

Per-contract series are derived from pysystemtrade's reference multiple prices and stored as
merged bars (OPEN=HIGH=LOW=FINAL, VOLUME=1); the reference roll calendars are imported; the built
multiple prices must reproduce the reference over the span each calendar covers (rows where no
contract traded cannot come out of per-contract prices and are the only rows missing). A subset of
the 11 instruments keeps the test quick: SP500_micro (LAST_OF_OLD calendar), CORN (FIRST_OF_NEW,
CarryOffset -1), OAT and EUROSTX (FIRST_OF_NEW, +1); sysobjects' conformance test covers all 11.
"""
from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from syscore.exceptions import ExistingData
from sysdata.csv import pysystemtrade_layout as layout
from sysinit.build_adjusted_prices import build_adjusted_prices
from sysinit.build_multiple_prices import build_multiple_prices, infer_convention
from sysinit.build_roll_calendars import RollCalendarConventions, build_roll_calendars
from sysinit.import_pysystemtrade_csv import import_pysystemtrade_csv
from sysobjects.multiple_prices import CONTRACT_COLUMNS, PRICE_COLUMNS, MultiplePrices
from sysobjects.multiple_prices_build import (
    back_out_roll_calendar,
    contract_prices_from_multiple_prices,
)
from sysobjects.roll_calendar import CalendarConvention, RollCalendar
from tests.blob_helpers import make_blob

SUBSET = ["CORN", "EUROSTX", "OAT", "SP500_micro"]
CONVENTION = {"SP500_micro": CalendarConvention.LAST_OF_OLD}


@pytest.fixture
def blob(tmp_path):
    data = make_blob(tmp_path / "home")
    yield data
    data.close()


def reference_multiple(reference, code) -> MultiplePrices:
    return MultiplePrices(layout.read_multiple_prices(
        reference / layout.MULTIPLE_DIR / f"{code}.csv"))


def store_contract_prices(data, code, multiple: MultiplePrices, volume=1.0) -> int:
    written = 0
    for contract, series in contract_prices_from_multiple_prices(multiple).items():
        if series.empty:
            continue
        bars = pd.DataFrame({"OPEN": series, "HIGH": series, "LOW": series, "FINAL": series,
                             "VOLUME": volume}, index=series.index)
        data.contract_prices.write(code, contract, bars, "merged")
        written += 1
    return written


def import_subset(reference, tmp_path, data, with_multiple=True, codes=SUBSET):
    source = tmp_path / "src"
    shutil.copytree(reference / layout.CONFIG_DIR, source / layout.CONFIG_DIR)
    dirs = [layout.ROLL_CALENDAR_DIR] + ([layout.MULTIPLE_DIR] if with_multiple else [])
    for directory in dirs:
        (source / directory).mkdir()
        for code in codes:
            shutil.copy(reference / directory / f"{code}.csv", source / directory)
    report = import_pysystemtrade_csv(str(source), data=data)
    assert not report.rejected


def assert_matches_reference_span(built: MultiplePrices, reference: MultiplePrices,
                                  calendar: pd.DatetimeIndex, convention: CalendarConvention):
    data = reference.data
    if convention is CalendarConvention.FIRST_OF_NEW:
        span = data[(data.index >= calendar[0]) & (data.index < calendar[-1])]
    else:
        span = data[(data.index > calendar[0]) & (data.index <= calendar[-1])]
    wanted = span[~span[list(PRICE_COLUMNS)].isna().all(axis=1)]
    got = built.data
    assert len(wanted) > 10_000
    assert got.index.equals(wanted.index)
    for column in PRICE_COLUMNS:
        np.testing.assert_array_equal(got[column].to_numpy(), wanted[column].to_numpy(),
                                      err_msg=column)
    for column in CONTRACT_COLUMNS:
        assert (got[column].to_numpy() == wanted[column].to_numpy()).all(), column


def test_build_multiple_prices_reproduces_reference_both_conventions(
        pysystemtrade_reference, tmp_path, blob):
    import_subset(pysystemtrade_reference, tmp_path, blob)
    references = {}
    for code in SUBSET:
        references[code] = reference_multiple(pysystemtrade_reference, code)
        assert store_contract_prices(blob, code, references[code]) > 20

    with pytest.raises(ExistingData):  # stored multiple prices are never silently replaced
        from sysinit.build_multiple_prices import build_multiple_prices_for_instrument
        build_multiple_prices_for_instrument(blob, "CORN")
    report = build_multiple_prices("ALL", overwrite=True, data=blob)
    assert report.ok, str(report)
    assert sorted(report.results) == SUBSET
    for code in SUBSET:
        expected = CONVENTION.get(code, CalendarConvention.FIRST_OF_NEW)
        result = report.results[code]
        assert (result.convention, result.convention_source) == (expected, "inferred")
        calendar = blob.roll_calendars.read(code).index
        built = MultiplePrices(blob.multiple_prices.read(code))
        assert_matches_reference_span(built, references[code], calendar, expected)
        assert result.rows == len(built)
    # the rebuilt multiple prices adjust cleanly
    assert build_adjusted_prices("ALL", data=blob).ok


def test_explicit_convention_without_stored_multiple_prices(pysystemtrade_reference, tmp_path,
                                                            blob):
    import_subset(pysystemtrade_reference, tmp_path, blob, with_multiple=False,
                  codes=["OAT", "SP500_micro"])
    for code in ("OAT", "SP500_micro"):
        store_contract_prices(blob, code, reference_multiple(pysystemtrade_reference, code))

    report = build_multiple_prices("OAT", data=blob)
    assert "convention of the roll calendar of OAT is unknown" in report.failures["OAT"]
    assert not blob.multiple_prices.has("OAT")

    report = build_multiple_prices("OAT", convention="first_of_new", data=blob)
    assert report.ok
    built = MultiplePrices(blob.multiple_prices.read("OAT"))
    assert_matches_reference_span(built, reference_multiple(pysystemtrade_reference, "OAT"),
                                  blob.roll_calendars.read("OAT").index,
                                  CalendarConvention.FIRST_OF_NEW)
    # read the wrong way, every roll moves one row later (README §3.6)
    wrong = build_multiple_prices("OAT", convention="last_of_old", overwrite=True, data=blob)
    assert wrong.ok
    shifted = MultiplePrices(blob.multiple_prices.read("OAT"))
    late = shifted.index[shifted.roll_positions()]
    one_row_later = built.index[built.roll_positions() + 1]
    assert len(late) > 20 and late.isin(one_row_later).all()


def test_infer_convention_from_backed_out_calendars(pysystemtrade_reference):
    multiple = reference_multiple(pysystemtrade_reference, "EUROSTX")
    for convention in CalendarConvention:
        calendar = back_out_roll_calendar(multiple, convention)
        assert infer_convention(calendar.data.index, multiple) is convention


def test_generated_calendar_round_trip(pysystemtrade_reference, tmp_path, blob):
    """Calendars generated from per-contract prices build multiple prices whose rolls are on the
    generated dates, with a measurable gap at every roll."""
    import_subset(pysystemtrade_reference, tmp_path, blob, with_multiple=False, codes=[])
    for code in ("OAT", "CORN"):
        store_contract_prices(blob, code, reference_multiple(pysystemtrade_reference, code))

    report = build_roll_calendars("ALL", data=blob)
    assert report.ok, str(report)
    assert sorted(report.results) == ["CORN", "OAT"]
    assert report.results["CORN"].carry_required is False  # CORN's carry (-1) has expired by then
    assert report.results["OAT"].carry_required is True
    conventions = RollCalendarConventions(blob.state)
    stored_oat = blob.roll_calendars.read("OAT")
    assert conventions.get("OAT", stored_oat) is CalendarConvention.LAST_OF_OLD
    assert conventions.get("OAT", stored_oat.iloc[:-1]) is None  # another calendar: not covered

    built = build_multiple_prices("ALL", data=blob)
    assert built.ok, str(built)
    assert sorted(built.results) == ["CORN", "OAT"]
    assert built.results["OAT"].convention_source == "recorded"
    for code in ("OAT", "CORN"):
        calendar = RollCalendar(blob.roll_calendars.read(code), CalendarConvention.LAST_OF_OLD)
        multiple = MultiplePrices(blob.multiple_prices.read(code))
        last_old = multiple.index[multiple.roll_positions() - 1]
        # rows 1 .. n-2 are the rolls inside the data (row 0 marks the start, row n-1 its end)
        assert last_old.equals(calendar.data.index[1:-1])
        assert multiple.index[-1] == calendar.data.index[-1]
    assert build_adjusted_prices("ALL", data=blob).ok

    # restated in pysystemtrade's convention, the same rows come out
    first = MultiplePrices(blob.multiple_prices.read("OAT")).data
    assert build_roll_calendars("OAT", convention="first_of_new", overwrite=True, data=blob).ok
    assert conventions.get("OAT", blob.roll_calendars.read("OAT")) is \
        CalendarConvention.FIRST_OF_NEW
    assert build_multiple_prices("OAT", overwrite=True, data=blob).ok
    pd.testing.assert_frame_equal(MultiplePrices(blob.multiple_prices.read("OAT")).data, first)


def test_phantom_roll_extends_to_today(pysystemtrade_reference, tmp_path, blob):
    """Without a phantom roll a generated calendar stops at its last real roll; with one, the
    build runs on the last contract up to its last price."""
    import_subset(pysystemtrade_reference, tmp_path, blob, with_multiple=False, codes=[])
    reference = reference_multiple(pysystemtrade_reference, "OAT")
    store_contract_prices(blob, "OAT", reference)
    newest = blob.contract_prices.contracts_with_prices("OAT")[-1]
    blob.contract_prices.delete("OAT", newest, "merged")  # so the last roll is well before the end
    assert build_roll_calendars("OAT", data=blob).ok
    blob.clock.current = pd.Timestamp("2021-12-01", tz="UTC")
    plain = build_multiple_prices("OAT", data=blob).results["OAT"]
    with pytest.raises(ExistingData):
        from sysinit.build_multiple_prices import build_multiple_prices_for_instrument
        build_multiple_prices_for_instrument(blob, "OAT", phantom_roll_days=7)
    extended = build_multiple_prices("OAT", overwrite=True, phantom_roll_days=7,
                                     data=blob).results["OAT"]
    assert plain.last < pd.Timestamp("2021-09-01", tz="UTC")
    assert extended.last > pd.Timestamp("2021-11-29", tz="UTC")
    assert extended.rolls == plain.rolls + 1 and extended.rows > plain.rows
    # the phantom roll is not stored in the calendar
    assert blob.roll_calendars.read("OAT").index[-1] <= plain.last


def _store_synthetic_chain(data, code="TEST"):
    """Quarterly contracts with daily FINAL prices over 2019-10 .. 2021-02 (no reference data)."""
    from sysobjects.roll_parameters import RollParameters

    data.roll_parameters.add(code, RollParameters("HMUZ", "HMUZ", roll_offset_days=-5,
                                                  carry_offset=1, expiry_offset=15))
    days = pd.bdate_range("2019-10-01 23:00", "2021-02-26 23:00", tz="UTC")
    for offset, contract in enumerate(["20200300", "20200600", "20200900", "20201200",
                                       "20210300", "20210600"]):
        series = pd.Series(100.0 + offset + np.arange(len(days)) * 0.01, index=days)
        bars = pd.DataFrame({"OPEN": series, "HIGH": series, "LOW": series, "FINAL": series,
                             "VOLUME": 1.0})
        data.contract_prices.write(code, contract, bars, "merged")


def test_build_roll_calendars_refuses_to_replace_without_overwrite(blob):
    _store_synthetic_chain(blob)
    first = build_roll_calendars("TEST", data=blob)
    assert first.ok, str(first)
    stored = blob.roll_calendars.read("TEST")
    shorter = stored.iloc[:-1]
    blob.roll_calendars.write("TEST", shorter)  # e.g. a calendar edited or imported since

    again = build_roll_calendars("TEST", data=blob)
    assert not again.ok
    assert "already stored" in again.failures["TEST"]
    assert "--overwrite true" in again.failures["TEST"]
    pd.testing.assert_frame_equal(blob.roll_calendars.read("TEST"), shorter)

    replaced = build_roll_calendars("TEST", overwrite=True, data=blob)
    assert replaced.ok, str(replaced)
    pd.testing.assert_frame_equal(blob.roll_calendars.read("TEST"), stored)
