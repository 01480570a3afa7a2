"""Price series in the time-series store: per-contract, multiple, adjusted, spot FX, roll calendars.

Libraries and symbols:

| data | library | symbol | columns |
|---|---|---|---|
| per-contract prices | ``futures_contract_prices`` | ``INSTR/YYYYMMDD/<D|H|merged>`` | OPEN HIGH LOW FINAL VOLUME |
| multiple prices | ``multiple_prices`` | ``INSTR`` | CARRY CARRY_CONTRACT PRICE PRICE_CONTRACT FORWARD FORWARD_CONTRACT |
| adjusted prices | ``adjusted_prices`` | ``INSTR`` | price |
| spot FX | ``fx_prices`` | ``EURUSD`` | PRICE |
| roll calendars | ``roll_calendars`` | ``INSTR`` | current_contract next_contract carry_contract |

Prices are in the exchange's quoted units; FX ``PRICE`` is the value in CCY2 of one CCY1.
"""
from __future__ import annotations

import pandas as pd

from syscore.exceptions import InvalidData
from sysdata.price_frames import (
    ADJUSTED_PRICE_COLUMN,
    FX_PRICE_COLUMN,
    validate_contract_prices,
    validate_multiple_prices,
    validate_roll_calendar,
    validate_single_column,
)
from sysdata.timeseries.arctic_store import TimeSeriesStore
from sysobjects.contract_prices import Frequency, FuturesContractPrices, merge_daily_and_hourly
from sysobjects.contracts import validate_contract_date
from sysobjects.instruments import validate_instrument_code

FREQUENCIES = ("D", "H", "merged")


class FuturesContractPriceData:
    """OHLCV bars per contract and frequency (``D`` daily, ``H`` hourly, ``merged``)."""

    library = "futures_contract_prices"

    def __init__(self, store: TimeSeriesStore):
        self.store = store

    @staticmethod
    def symbol(instrument_code: str, contract_date: str, frequency: str = "merged") -> str:
        if frequency not in FREQUENCIES:
            raise InvalidData(f"unknown frequency {frequency!r}; expected one of {FREQUENCIES}")
        contract_date = validate_contract_date(contract_date)
        return f"{validate_instrument_code(instrument_code)}/{contract_date}/{frequency}"

    def write(self, instrument_code: str, contract_date: str, prices: pd.DataFrame,
              frequency: str = "merged") -> None:
        """Replace the stored bars of one contract and frequency."""
        symbol = self.symbol(instrument_code, contract_date, frequency)
        self.store.write(self.library, symbol, validate_contract_prices(prices, symbol))

    def append(self, instrument_code: str, contract_date: str, prices: pd.DataFrame,
               frequency: str = "merged") -> int:
        """Append bars strictly newer than the last stored one; returns rows added."""
        symbol = self.symbol(instrument_code, contract_date, frequency)
        return self.store.append(self.library, symbol, validate_contract_prices(prices, symbol))

    def read(self, instrument_code: str, contract_date: str, frequency: str = "merged",
             start: pd.Timestamp | str | None = None,
             end: pd.Timestamp | str | None = None) -> pd.DataFrame:
        """The stored bars, optionally only those from ``start`` to ``end`` (inclusive, UTC);
        :class:`MissingData` when there are none."""
        return self.store.read(self.library, self.symbol(instrument_code, contract_date, frequency),
                               start=start, end=end)

    def has(self, instrument_code: str, contract_date: str, frequency: str = "merged") -> bool:
        return self.store.has(self.library, self.symbol(instrument_code, contract_date, frequency))

    def delete(self, instrument_code: str, contract_date: str, frequency: str = "merged") -> None:
        self.store.delete(self.library, self.symbol(instrument_code, contract_date, frequency))

    def last_timestamp(self, instrument_code: str, contract_date: str,
                       frequency: str = "merged") -> pd.Timestamp | None:
        """UTC timestamp of the last stored bar (one tail read), or None if there is none."""
        return self.store.last_timestamp(self.library,
                                         self.symbol(instrument_code, contract_date, frequency))

    def merged_is_behind(self, instrument_code: str, contract_date: str) -> bool:
        """True when the merged series does not end where the contract's daily and hourly bars
        end (three tail reads): a crash or a full disk came between storing bars and rewriting
        the merged series. False when there are no daily or hourly bars to derive it from (a
        merged series imported on its own is left alone)."""
        sources = [self.last_timestamp(instrument_code, contract_date, f) for f in ("D", "H")]
        sources = [t for t in sources if t is not None]
        if not sources:
            return False
        return self.last_timestamp(instrument_code, contract_date, "merged") != max(sources)

    def merged_from_bars(self, instrument_code: str, contract_date: str) -> pd.DataFrame:
        """The merged series as derived from the stored daily and hourly bars (daily bar wins
        at a timestamp in both); nothing is written."""
        parts = {}
        for frequency, store_frequency in ((Frequency.DAILY, "D"), (Frequency.HOURLY, "H")):
            if self.has(instrument_code, contract_date, store_frequency):
                frame = self.read(instrument_code, contract_date, store_frequency)
                parts[frequency] = FuturesContractPrices(frame, frequency)
            else:
                parts[frequency] = FuturesContractPrices.empty(frequency)
        return merge_daily_and_hourly(parts[Frequency.DAILY], parts[Frequency.HOURLY]).data

    def contracts_with_prices(self, instrument_code: str, frequency: str = "merged") -> list[str]:
        prefix = f"{instrument_code}/"
        suffix = f"/{frequency}"
        return sorted(
            s[len(prefix):-len(suffix)]
            for s in self.store.symbols(self.library)
            if s.startswith(prefix) and s.endswith(suffix)
        )


class _SingleSymbolFamily:
    """One symbol per code; subclasses say how a code and a frame are checked."""

    library: str
    what: str  # names the data in error messages, e.g. "multiple prices EDOLLAR"

    def __init__(self, store: TimeSeriesStore):
        self.store = store

    @staticmethod
    def _check(code: str) -> str:
        return validate_instrument_code(code)

    def _validate(self, frame, what: str) -> pd.DataFrame:
        raise NotImplementedError

    def write(self, code: str, prices) -> None:
        """Replace the stored series of ``code``."""
        self.store.write(self.library, self._check(code),
                         self._validate(prices, f"{self.what} {code}"))

    def append(self, code: str, prices) -> int:
        """Append rows strictly newer than the last stored one; returns rows added."""
        return self.store.append(self.library, self._check(code),
                                 self._validate(prices, f"{self.what} {code}"))

    def read(self, code: str, start: pd.Timestamp | str | None = None,
             end: pd.Timestamp | str | None = None) -> pd.DataFrame:
        """The stored series of ``code``, optionally only the rows from ``start`` to ``end``
        (inclusive, UTC); :class:`MissingData` when there is none."""
        return self.store.read(self.library, code, start=start, end=end)

    def read_many(self, codes: list[str], columns: list[str] | None = None) -> list[pd.DataFrame]:
        """The stored series of ``codes`` (in order; only ``columns`` when given) in one
        batched read; :class:`MissingData` naming the first code that has none."""
        return self.store.read_many(self.library, [self._check(c) for c in codes], columns)

    def tail(self, code: str, rows: int = 1) -> pd.DataFrame:
        """The last ``rows`` rows, without reading the whole series; :class:`MissingData` when
        there is none."""
        return self.store.tail(self.library, code, rows)

    def last_timestamp(self, code: str) -> pd.Timestamp | None:
        """UTC timestamp of the last stored row (one tail read), or None if there is none."""
        return self.store.last_timestamp(self.library, code)

    def has(self, code: str) -> bool:
        return self.store.has(self.library, code)

    def delete(self, code: str) -> None:
        self.store.delete(self.library, code)

    def list_codes(self) -> list[str]:
        return self.store.symbols(self.library)


class MultiplePricesData(_SingleSymbolFamily):
    """Multiple prices per instrument; contract columns are ``YYYYMMDD`` text."""

    library = "multiple_prices"
    what = "multiple prices"

    def _validate(self, frame, what: str) -> pd.DataFrame:
        return validate_multiple_prices(frame, what)


class AdjustedPricesData(_SingleSymbolFamily):
    """Back-adjusted prices per instrument (column ``price``)."""

    library = "adjusted_prices"
    what = "adjusted prices"

    def _validate(self, frame, what: str) -> pd.DataFrame:
        return validate_single_column(frame, ADJUSTED_PRICE_COLUMN, what)

    def read_series(self, instrument_code: str) -> pd.Series:
        return self.read(instrument_code)[ADJUSTED_PRICE_COLUMN]

    def read_tail(self, instrument_code: str, rows: int = 1) -> pd.Series:
        """The last ``rows`` adjusted prices (cheap: does not read the whole series)."""
        return self.store.tail(self.library, instrument_code, rows)[ADJUSTED_PRICE_COLUMN]


class FxPricesData(_SingleSymbolFamily):
    """Daily spot FX per pair code such as ``EURUSD`` (column ``PRICE``)."""

    library = "fx_prices"
    what = "FX prices"

    @staticmethod
    def _check(code: str) -> str:
        if not isinstance(code, str) or len(code) != 6 or not code.isalpha() or not code.isupper():
            raise InvalidData(f"FX code {code!r} is not six capital letters like EURUSD")
        return code

    def _validate(self, frame, what: str) -> pd.DataFrame:
        return validate_single_column(frame, FX_PRICE_COLUMN, what)

    def read_series(self, fx_code: str) -> pd.Series:
        return self.read(fx_code)[FX_PRICE_COLUMN]


class RollCalendarData(_SingleSymbolFamily):
    """Roll calendars per instrument (columns current_contract next_contract carry_contract)."""

    library = "roll_calendars"
    what = "roll calendar"

    def _validate(self, frame, what: str) -> pd.DataFrame:
        return validate_roll_calendar(frame, what)
