"""to_utc: every input form gives the same tz-aware UTC Timestamp (the fast paths for UTC
Timestamps and ISO text included)."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from syscore.dates import iso_utc, to_utc
from syscore.exceptions import InvalidData

WANT = pd.Timestamp("2024-01-09 14:00", tz="UTC")


@pytest.mark.parametrize("value", [
    WANT,
    pd.Timestamp("2024-01-09 15:00", tz="Europe/Paris"),
    "2024-01-09T14:00:00.000000+00:00",
    "2024-01-09T15:00:00+01:00",
    "2024-01-09T14:00:00Z",
    "2024-01-09 14:00",  # naive: UTC
    dt.datetime(2024, 1, 9, 14, 0, tzinfo=dt.timezone.utc),
])
def test_to_utc_forms(value):
    got = to_utc(value)
    assert got == WANT and str(got.tz) == "UTC" and isinstance(got, pd.Timestamp)
    assert iso_utc(value) == "2024-01-09T14:00:00.000000+00:00"


def test_nanoseconds_and_bad_text():
    assert to_utc("2024-01-09T14:00:00.000000001+00:00").nanosecond == 1
    with pytest.raises(InvalidData):
        to_utc("not a time")
