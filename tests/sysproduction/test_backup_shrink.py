"""A backup holding data is never replaced by a much smaller one (the stores lost data)."""
from __future__ import annotations

import json

import pandas as pd
import pytest

from sysdata.backup import BackupWouldShrink
from sysproduction.backup_db_to_csv import backup_db_to_csv
from tests.blob_helpers import FixedClock, make_blob


def test_lost_series_do_not_replace_the_last_good_backup(tmp_path):
    blob = make_blob(tmp_path / "home", clock=FixedClock("2024-03-07 21:00"))
    index = pd.date_range("2024-01-01", periods=5, freq="D", tz="UTC")
    for code in ("CORN", "GOLD", "US10", "BUND"):
        blob.timeseries.write("adjusted_prices", code, pd.DataFrame({"price": range(5)},
                                                                     index=index))
    target = tmp_path / "backup"
    backup_db_to_csv(destination=str(target), data=blob)
    before = (target / "MANIFEST.json").read_text()
    for code in ("CORN", "GOLD", "US10"):  # three of four series vanish from the store
        blob.timeseries.delete("adjusted_prices", code)
    with pytest.raises(BackupWouldShrink, match="holds 4 time series but the stores now hold 1"):
        backup_db_to_csv(destination=str(target), data=blob)
    assert (target / "MANIFEST.json").read_text() == before  # the good backup is untouched
    summary = backup_db_to_csv(destination=str(target), allow_shrink=True, data=blob)
    assert summary.startswith("backup_db_to_csv: 1 series written")
    counts = json.loads((target / "MANIFEST.json").read_text())["counts"]
    assert counts["timeseries/adjusted_prices"] == 1
    blob.close()
