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

    def read(self, instrument_code: str, contract_date: str, frequency: str = "merged") -> pd.DataFrame:
        return self.store.read(self.library, self.symbol(instrument_code, contract_date, frequency))

    def has(self, instrument_code: str, contract_date: str, frequency: str = "merged") -> bool:
        return self.store.has(self.library, self.symbol(instrument_code, contract_date, frequency))

    def delete(self, instrument_code: str, contract_date: str, frequency: str = "merged") -> None:
        self.store.delete(self.library, self.symbol(instrument_code, contract_date, frequency))

    def contracts_with_prices(self, instrument_code: str, frequency: str = "merged") -> list[str]:
        prefix = f"{instrument_code}/"
        suffix = f"/{frequency}"
        return sorted(
            s[len(prefix):-len(suffix)]
            for s in self.store.symbols(self.library)
            if s.startswith(prefix) and s.endswith(suffix)
        )


class _SingleSymbolFamily:
    library: str

    def __init__(self, store: TimeSeriesStore):
        self.store = store

    def read(self, code: str) -> pd.DataFrame:
        return self.store.read(self.library, code)

    def has(self, code: str) -> bool:
        return self.store.has(self.library, code)

    def delete(self, code: str) -> None:
        self.store.delete(self.library, code)

    def list_codes(self) -> list[str]:
        return self.store.symbols(self.library)


class MultiplePricesData(_SingleSymbolFamily):
    """Multiple prices per instrument; contract columns are ``YYYYMMDD`` text."""

    library = "multiple_prices"

    def write(self, instrument_code: str, prices: pd.DataFrame) -> None:
        validate_instrument_code(instrument_code)
        self.store.write(self.library, instrument_code,
                         validate_multiple_prices(prices, f"multiple prices {instrument_code}"))

    def append(self, instrument_code: str, prices: pd.DataFrame) -> int:
        validate_instrument_code(instrument_code)
        return self.store.append(self.library, instrument_code,
                                 validate_multiple_prices(prices, f"multiple prices {instrument_code}"))


class AdjustedPricesData(_SingleSymbolFamily):
    """Back-adjusted prices per instrument (column ``price``)."""

    library = "adjusted_prices"

    def write(self, instrument_code: str, prices: pd.DataFrame | pd.Series) -> None:
        validate_instrument_code(instrument_code)
        self.store.write(self.library, instrument_code, validate_single_column(
            prices, ADJUSTED_PRICE_COLUMN, f"adjusted prices {instrument_code}"))

    def append(self, instrument_code: str, prices: pd.DataFrame | pd.Series) -> int:
        validate_instrument_code(instrument_code)
        return self.store.append(self.library, instrument_code, validate_single_column(
            prices, ADJUSTED_PRICE_COLUMN, f"adjusted prices {instrument_code}"))

    def read_series(self, instrument_code: str) -> pd.Series:
        return self.read(instrument_code)[ADJUSTED_PRICE_COLUMN]

    def read_tail(self, instrument_code: str, rows: int = 1) -> pd.Series:
        """The last ``rows`` adjusted prices (cheap: does not read the whole series)."""
        return self.store.tail(self.library, instrument_code, rows)[ADJUSTED_PRICE_COLUMN]


class FxPricesData(_SingleSymbolFamily):
    """Daily spot FX per pair code such as ``EURUSD`` (column ``PRICE``)."""

    library = "fx_prices"

    @staticmethod
    def _check(code: str) -> str:
        if not isinstance(code, str) or len(code) != 6 or not code.isalpha() or not code.isupper():
            raise InvalidData(f"FX code {code!r} is not six capital letters like EURUSD")
        return code

    def write(self, fx_code: str, prices: pd.DataFrame | pd.Series) -> None:
        self.store.write(self.library, self._check(fx_code),
                         validate_single_column(prices, FX_PRICE_COLUMN, f"FX prices {fx_code}"))

    def append(self, fx_code: str, prices: pd.DataFrame | pd.Series) -> int:
        return self.store.append(self.library, self._check(fx_code),
                                 validate_single_column(prices, FX_PRICE_COLUMN, f"FX prices {fx_code}"))

    def read_series(self, fx_code: str) -> pd.Series:
        return self.read(fx_code)[FX_PRICE_COLUMN]


class RollCalendarData(_SingleSymbolFamily):
    """Roll calendars per instrument (columns current_contract next_contract carry_contract)."""

    library = "roll_calendars"

    def write(self, instrument_code: str, calendar: pd.DataFrame) -> None:
        validate_instrument_code(instrument_code)
        self.store.write(self.library, instrument_code,
                         validate_roll_calendar(calendar, f"roll calendar {instrument_code}"))
