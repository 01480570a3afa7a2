"""Backfill and daily update of EXO series: resumable, idempotent, crash-safe.

Series go to the time-series store (library ``exo_series``, one symbol per EXO, one row per
day at 00:00 UTC of the decision day); each EXO's position after its last computed day goes to
the state store (collection ``exo_state``) as plain data (no pickle).

Days are computed in chunks (default 20): rows are appended to the series first (rows at or
before the stored end are skipped, so an append is idempotent), then the state is written. A
crash between the two leaves the series ahead of the state; the rerun recomputes the chunk from
the state (deterministically the same rows) and skips what is stored. So SIGKILL at any point
and a rerun give exactly the uninterrupted series. A newly added EXO starts from ``start``
without recomputing the others; every EXO continues from its own last day.

If the series holds rows that the state does not cover (rows written by an online update
before a backfill, say), the backfill rewrites the series from its own results for the days
it computes (no manual deletion).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from syscore.exceptions import MissingData
from sysdata.state.base import StateStore
from sysdata.timeseries.arctic_store import TimeSeriesStore
from sysexo.engine import ExoDefinition, ExoMarket, ExoRow, ExoState, exo_day
from sysexo.ichimoku import IchimokuSettings, ichimoku_regime
from sysexo.positions import Instrument, Position
from sysexo.roll_regimes import RollRegime
from sysobjects.black76 import OptionRight

EXO_LIBRARY = "exo_series"
EXO_STATE = "exo_state"
#: an EXO series is backfilled enough for online updates (and alpha rebalancing) with at least
#: this many rows and a last row at most this many days old
MIN_ROWS = 200
MAX_AGE_DAYS = 7
COLUMNS = ["exo", "delta", "rollover", "futures_executed", "futures_opened", "options_executed",
           "options_opened", "regime", "strikes_clamped"]


def _instrument_doc(i: Instrument) -> dict[str, Any]:
    return {"future_id": i.future_id, "expiry": i.expiry.isoformat(),
            "right": i.right.value if i.right else None, "strike": i.strike,
            "option_code": i.option_code}


def _instrument(doc: dict[str, Any]) -> Instrument:
    return Instrument(doc["future_id"], dt.date.fromisoformat(doc["expiry"]),
                      OptionRight(doc["right"]) if doc["right"] else None, doc["strike"],
                      doc.get("option_code", ""))


def state_to_doc(state: ExoState, last_day: dt.date) -> dict[str, Any]:
    return {"last_day": last_day.isoformat(), "regime": state.regime,
            "realised": state.position.realised,
            "legs": [{"instrument": _instrument_doc(i), "quantity": q, "entry": e}
                     for i, (q, e) in state.position.legs.items()]}


def state_from_doc(doc: dict[str, Any]) -> tuple[ExoState, dt.date]:
    legs = {_instrument(leg["instrument"]): (float(leg["quantity"]), float(leg["entry"]))
            for leg in doc["legs"]}
    return (ExoState(Position(legs, float(doc["realised"])), doc.get("regime")),
            dt.date.fromisoformat(doc["last_day"]))


class ExoStore:
    def __init__(self, timeseries: TimeSeriesStore, state: StateStore):
        self.timeseries, self.state = timeseries, state

    def load(self, name: str) -> tuple[ExoState, dt.date | None]:
        doc = self.state.get(EXO_STATE, name)
        if doc is None:
            return ExoState(), None
        return state_from_doc(doc)

    def series(self, name: str) -> pd.DataFrame:
        try:
            return self.timeseries.read(EXO_LIBRARY, name)
        except MissingData:
            return pd.DataFrame(columns=COLUMNS)

    def last_stored_day(self, name: str) -> dt.date | None:
        last = self.timeseries.last_timestamp(EXO_LIBRARY, name) \
            if self.timeseries.has(EXO_LIBRARY, name) else None
        return None if last is None else last.date()

    def save(self, name: str, rows: list[ExoRow], state: ExoState, last_day: dt.date) -> None:
        frame = rows_frame(rows)
        stored = self.last_stored_day(name)
        if stored is not None and stored >= last_day:
            pass  # a rerun after a crash between append and state: rows already stored
        elif stored is not None:
            frame = frame[frame.index > pd.Timestamp(stored, tz="UTC")]
            self.timeseries.append(EXO_LIBRARY, name, frame)
        else:
            self.timeseries.append(EXO_LIBRARY, name, frame)
        self.state.put(EXO_STATE, name, state_to_doc(state, last_day))

    def reset_ahead_of_state(self, name: str, last_day: dt.date | None) -> int:
        """Drop series rows after the state's last day (written outside this backfill);
        returns how many."""
        series = self.series(name)
        if series.empty:
            return 0
        keep = series.iloc[:0] if last_day is None else series[
            series.index <= pd.Timestamp(last_day, tz="UTC")]
        dropped = len(series) - len(keep)
        if dropped:
            if keep.empty:
                self.timeseries.delete(EXO_LIBRARY, name)
            else:
                self.timeseries.write(EXO_LIBRARY, name, keep)
        return dropped


def rows_frame(rows: list[ExoRow]) -> pd.DataFrame:
    frame = pd.DataFrame([r.as_dict() for r in rows],
                         index=pd.DatetimeIndex([pd.Timestamp(r.day, tz="UTC") for r in rows]),
                         columns=COLUMNS)
    frame["rollover"] = frame["rollover"].astype(float)
    frame["regime"] = pd.to_numeric(frame["regime"], errors="coerce").astype(float)
    for column in COLUMNS:
        frame[column] = frame[column].astype(float)
    return frame


def backfill_problem(frame: pd.DataFrame, today: dt.date, min_rows: int = MIN_ROWS,
                     max_age_days: int = MAX_AGE_DAYS) -> str:
    """Why an EXO series is not backfilled enough for online updates ("" when it is)."""
    if len(frame) < min_rows:
        return f"{len(frame)} rows stored (at least {min_rows} needed)"
    last = frame.index[-1].date()
    if (today - last).days > max_age_days:
        return f"last row {last} is more than {max_age_days} days old"
    return ""


@dataclass(frozen=True)
class BackfillResult:
    name: str
    computed: int
    first_day: dt.date | None
    last_day: dt.date | None
    repaired_rows: int = 0


def backfill_exo(definition: ExoDefinition, market: ExoMarket, regime: RollRegime,
                 days: list[dt.date], store: ExoStore, chunk: int = 20,
                 smart_regimes: pd.Series | None = None,
                 progress: Callable[[str, int, int], None] | None = None) -> BackfillResult:
    """Compute every day of ``days`` after the EXO's last computed day (see module docstring).
    ``smart_regimes``: the Ichimoku regime per day (UTC-midnight index) for SmartEXOs."""
    state, last_day = store.load(definition.name)
    repaired = store.reset_ahead_of_state(definition.name, last_day)
    todo = [d for d in days if last_day is None or d > last_day]
    done = 0
    for start in range(0, len(todo), chunk):
        rows = []
        for day in todo[start:start + chunk]:
            regime_today = None
            if definition.kind == "smart":
                value = smart_regimes.get(pd.Timestamp(day, tz="UTC")) \
                    if smart_regimes is not None else None
                regime_today = None if value is None or pd.isna(value) else int(value)
            state, row, _ = exo_day(definition, state, day, market, regime, regime_today)
            rows.append(row)
        store.save(definition.name, rows, state, rows[-1].day)
        done += len(rows)
        if progress is not None:
            progress(definition.name, done, len(todo))
    return BackfillResult(definition.name, done, todo[0] if todo else None,
                          todo[-1] if todo else None, repaired)


def smart_regimes_for(store: ExoStore, continuous_future_name: str,
                      settings: IchimokuSettings | None = None) -> pd.Series:
    """The Ichimoku regime per day of the stored continuous-future EXO (empty when none)."""
    series = store.series(continuous_future_name)
    if series.empty:
        return pd.Series(dtype=float)
    return ichimoku_regime(series["exo"], settings or IchimokuSettings())
