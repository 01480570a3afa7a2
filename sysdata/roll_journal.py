"""The roll journal: both-or-neither across the multiple and adjusted price series of a roll.

ArcticDB has no transactions across symbols, so a roll (``sysproduction.roll_adjusted_prices``)
stages its two new series in the time-series library ``roll_staging`` (symbols
``<code>/multiple`` and ``<code>/adjusted``) and records a journal entry in the state store
(collection ``roll_journal``, key the instrument code, ``staged_at`` ISO UTC) before writing
the real series. :meth:`RollJournalData.finish` sets the roll state to ``No_Roll`` and removes
the journal entry in one state-store change, then removes the staged series. A journal entry
that survives a crash means "finish this roll from the staged series".
"""
from __future__ import annotations

import pandas as pd

from syscore.dates import iso_utc
from sysdata.contracts import ROLL_STATES
from sysdata.state.base import Delete, Put, StateStore
from sysdata.timeseries.arctic_store import TimeSeriesStore
from sysobjects.instruments import validate_instrument_code
from sysobjects.roll_state import RollState

ROLL_JOURNAL = "roll_journal"
STAGING = "roll_staging"


class RollJournalData:
    """Staged roll series (time-series library ``roll_staging``) and their journal entries
    (state collection ``roll_journal``), per instrument.

    Prices are in the instrument's price units, indexed by tz-aware UTC timestamps; the
    journal's ``staged_at`` is ISO UTC text. Each staged series write is atomic per symbol;
    :meth:`finish` changes the roll state and removes the journal entry atomically (one
    ``StateStore.apply``). Every method may be repeated after a crash (idempotent)."""

    def __init__(self, state: StateStore, timeseries: TimeSeriesStore):
        self.state = state
        self.timeseries = timeseries

    @staticmethod
    def _symbols(code: str) -> tuple[str, str]:
        code = validate_instrument_code(code)
        return f"{code}/multiple", f"{code}/adjusted"

    def pending(self, instrument_code: str) -> bool:
        """True when a roll of ``instrument_code`` was staged and not finished."""
        return self.state.get(ROLL_JOURNAL, instrument_code) is not None

    def staged_symbols(self, instrument_code: str) -> list[str]:
        """The staged series that exist (with or without a journal entry)."""
        return [s for s in self._symbols(instrument_code) if self.timeseries.has(STAGING, s)]

    def stage(self, instrument_code: str, multiple: pd.DataFrame, adjusted: pd.DataFrame,
              when: pd.Timestamp) -> None:
        """Stage both new series, then record the journal entry (``when``: UTC)."""
        multiple_symbol, adjusted_symbol = self._symbols(instrument_code)
        self.timeseries.write(STAGING, multiple_symbol, multiple)
        self.timeseries.write(STAGING, adjusted_symbol, adjusted)
        self.state.put(ROLL_JOURNAL, instrument_code, {"staged_at": iso_utc(when)})

    def staged(self, instrument_code: str) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The staged ``(multiple, adjusted)`` frames; MissingData if either is missing."""
        multiple_symbol, adjusted_symbol = self._symbols(instrument_code)
        return (self.timeseries.read(STAGING, multiple_symbol),
                self.timeseries.read(STAGING, adjusted_symbol))

    def clear_staging(self, instrument_code: str) -> None:
        """Remove the staged series (absent ones are fine)."""
        for symbol in self._symbols(instrument_code):
            self.timeseries.delete(STAGING, symbol)

    def abandon(self, instrument_code: str) -> None:
        """Forget a roll that was undone: remove its journal entry, then its staged series."""
        self.state.delete(ROLL_JOURNAL, instrument_code)
        self.clear_staging(instrument_code)

    def finish(self, instrument_code: str) -> None:
        """The roll is written: roll state ``No_Roll`` and the journal entry's removal in one
        state-store change, then the staged series are removed."""
        self.state.apply([Put(ROLL_STATES, instrument_code, {"state": RollState.NO_ROLL.value}),
                          Delete(ROLL_JOURNAL, instrument_code)])
        self.clear_staging(instrument_code)
