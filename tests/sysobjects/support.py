"""Helpers for sysobjects tests: reference-data loaders and golden files (tests do the I/O)."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pandas as pd

from sysobjects.roll_parameters import RollParameters

REFERENCE_INSTRUMENTS = (
    "CORN", "CRUDE_W", "EDOLLAR", "EUR", "EUROSTX", "GAS_US", "GOLD", "OAT", "SP500_micro",
    "US10", "VIX",
)
GOLDEN = Path(__file__).parent / "golden"


@lru_cache(maxsize=None)
def _read_csv(path: str) -> pd.DataFrame:
    frame = pd.read_csv(path, index_col=0)
    frame.index = pd.to_datetime(frame.index).tz_localize("UTC")
    return frame


class ReferenceData:
    """Reads pysystemtrade reference CSVs (naive timestamps are UTC)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def multiple(self, instrument: str) -> pd.DataFrame:
        return _read_csv(str(self.root / "multiple_prices_csv" / f"{instrument}.csv")).copy()

    def adjusted(self, instrument: str) -> pd.Series:
        return _read_csv(str(self.root / "adjusted_prices_csv" / f"{instrument}.csv"))[
            "price"
        ].copy()

    def calendar(self, instrument: str) -> pd.DataFrame:
        return _read_csv(str(self.root / "roll_calendars_csv" / f"{instrument}.csv")).copy()

    def fx(self, code: str) -> pd.Series:
        return _read_csv(str(self.root / "fx_prices_csv" / f"{code}.csv"))["PRICE"].copy()


def golden_csv(name: str) -> pd.DataFrame:
    return pd.read_csv(GOLDEN / name, comment="#", dtype=str, keep_default_na=False)


@lru_cache(maxsize=None)
def golden_roll_parameters() -> dict[str, RollParameters]:
    table = golden_csv("roll_parameters.csv")
    return {
        row.instrument: RollParameters(
            hold_roll_cycle=row.hold_roll_cycle,
            priced_roll_cycle=row.priced_roll_cycle,
            roll_offset_days=int(row.roll_offset_days),
            carry_offset=int(row.carry_offset),
            expiry_offset=int(row.expiry_offset),
        )
        for row in table.itertuples()
    }
