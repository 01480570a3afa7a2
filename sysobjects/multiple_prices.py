"""Multiple prices: the priced, forward and carry contracts' prices side by side.

Columns (pysystemtrade layout):

- ``PRICE`` / ``PRICE_CONTRACT``: close of the contract currently held or priced, and its id;
- ``FORWARD`` / ``FORWARD_CONTRACT``: the next contract in the hold cycle (we roll into it);
- ``CARRY`` / ``CARRY_CONTRACT``: the contract used for the carry signal.

Prices are floats in the exchange's quoted units; NaN = that contract had no price at that
timestamp (common for FORWARD and CARRY). Contract ids are normalised text ``YYYYMM`` /
``YYYYMMDD`` (pysystemtrade's ``YYYYMM00`` is accepted on input) and are never empty. The index is
a strictly increasing tz-aware UTC :class:`~pandas.DatetimeIndex`.

Daily merge (:func:`merge_multiple_prices`): fills NaN prices only, never overwrites, and refuses
new rows whose contract labels disagree with the last stored row.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from syscore.exceptions import InvalidData, MissingData
from sysobjects.contracts import validate_contract_date
from sysobjects.timeindex import as_utc_index, checked_frame_index

PRICE = "PRICE"
FORWARD = "FORWARD"
CARRY = "CARRY"
PRICE_CONTRACT = "PRICE_CONTRACT"
FORWARD_CONTRACT = "FORWARD_CONTRACT"
CARRY_CONTRACT = "CARRY_CONTRACT"
PRICE_COLUMNS = (PRICE, FORWARD, CARRY)
CONTRACT_COLUMNS = (PRICE_CONTRACT, FORWARD_CONTRACT, CARRY_CONTRACT)
CONTRACT_COLUMN_FOR = {PRICE: PRICE_CONTRACT, FORWARD: FORWARD_CONTRACT, CARRY: CARRY_CONTRACT}
MULTIPLE_PRICE_COLUMNS = (
    PRICE, PRICE_CONTRACT, FORWARD, FORWARD_CONTRACT, CARRY, CARRY_CONTRACT,
)


class ContractLabelMismatch(InvalidData):
    """New multiple-price rows name other contracts than the last stored row (a roll is due)."""


def normalise_contract_ids(values: pd.Series, what: str) -> pd.Series:
    """Map contract ids (ints, floats like ``20211200.0`` or text) to ``YYYYMM`` / ``YYYYMMDD``.

    Works on the distinct values only; a column that is already normalised is returned as is.
    """
    uniques = pd.unique(values.to_numpy())
    mapping = {}
    for raw in uniques:
        if raw is None or (isinstance(raw, (float, np.floating)) and np.isnan(raw)):
            first = values.index[values.isna().to_numpy()][0]
            raise InvalidData(f"{what}: empty contract id at {first}")
        text = raw
        if isinstance(raw, (float, np.floating)):
            if not float(raw).is_integer():
                raise InvalidData(f"{what}: contract id {raw!r} is not an integer")
            text = int(raw)
        mapping[raw] = validate_contract_date(str(text))
    if values.dtype == object and all(
        isinstance(raw, str) and mapping[raw] == raw for raw in mapping
    ):
        return values
    return values.map(mapping).astype(object)


@dataclass(frozen=True)
class MultiplePrices:
    """Validated multiple prices (see module docstring). Treat ``data`` as read-only."""

    data: pd.DataFrame

    def __post_init__(self) -> None:
        frame = self.data
        index = checked_frame_index(frame, MULTIPLE_PRICE_COLUMNS, "multiple prices")
        clean = pd.DataFrame(index=index)
        clean.index.name = "DATETIME"
        for column in MULTIPLE_PRICE_COLUMNS:
            values = frame[column].set_axis(index)
            if column in PRICE_COLUMNS:
                try:
                    clean[column] = pd.to_numeric(values, errors="raise").astype(float)
                except (TypeError, ValueError) as exc:
                    raise InvalidData(f"multiple prices {column}: not numeric ({exc})") from None
            else:
                clean[column] = normalise_contract_ids(values, f"multiple prices {column}")
        object.__setattr__(self, "data", clean)

    @classmethod
    def _trusted(cls, frame: pd.DataFrame) -> MultiplePrices:
        """Wrap a frame built only from validated pieces (same columns, UTC, increasing)."""
        obj = object.__new__(cls)
        object.__setattr__(obj, "data", frame)
        return obj

    @classmethod
    def empty(cls) -> MultiplePrices:
        frame = pd.DataFrame(
            {c: pd.Series(dtype=float if c in PRICE_COLUMNS else object)
             for c in MULTIPLE_PRICE_COLUMNS},
            index=pd.DatetimeIndex([], tz="UTC"),
        )
        return cls(frame)

    def __len__(self) -> int:
        return len(self.data)

    @property
    def index(self) -> pd.DatetimeIndex:
        return self.data.index

    @property
    def last_timestamp(self) -> pd.Timestamp:
        if self.data.empty:
            raise MissingData("multiple prices are empty")
        return self.data.index[-1]

    def current_contracts(self) -> tuple[str, str, str]:
        """``(PRICE_CONTRACT, FORWARD_CONTRACT, CARRY_CONTRACT)`` on the last row."""
        if self.data.empty:
            raise MissingData("multiple prices are empty: no current contracts")
        last = self.data.iloc[-1]
        return (last[PRICE_CONTRACT], last[FORWARD_CONTRACT], last[CARRY_CONTRACT])

    def roll_positions(self) -> np.ndarray:
        """Row positions ``i`` where ``PRICE_CONTRACT[i] != PRICE_CONTRACT[i-1]``."""
        labels = self.data[PRICE_CONTRACT].to_numpy()
        return np.flatnonzero(labels[1:] != labels[:-1]) + 1


def multiple_prices_from_contract_prices(
    contract_prices: Mapping[str, pd.Series],
    contracts: tuple[str, str, str],
    after: pd.Timestamp | None = None,
) -> MultiplePrices:
    """Candidate multiple-price rows for fixed ``(price, forward, carry)`` contracts.

    ``contract_prices`` maps contract id to its FINAL price series (UTC index). Rows are the union
    of the three series' timestamps strictly after ``after`` (if given), where at least one has
    a price. A contract absent from the mapping gives NaN. Used for the daily update.
    """
    columns = {}
    for column, contract in zip(PRICE_COLUMNS, contracts, strict=True):
        key = validate_contract_date(contract)
        series = _lookup(contract_prices, key)
        if series is None:
            series = pd.Series(dtype=float, index=pd.DatetimeIndex([], tz="UTC"))
        series = series.set_axis(as_utc_index(series.index)).astype(float).dropna()
        if after is not None:
            series = series[series.index > after]
        columns[column] = series
    frame = pd.DataFrame(columns).sort_index()
    frame = frame.dropna(how="all")
    for column, contract in zip(CONTRACT_COLUMNS, contracts, strict=True):
        frame[column] = validate_contract_date(contract)
    return MultiplePrices(frame[list(MULTIPLE_PRICE_COLUMNS)])


def _lookup(contract_prices: Mapping[str, pd.Series], key: str) -> pd.Series | None:
    if key in contract_prices:
        return contract_prices[key]
    for raw, series in contract_prices.items():
        if validate_contract_date(str(raw)) == key:
            return series
    return None


@dataclass(frozen=True)
class MultiplePricesMerge:
    """Result of a daily merge.

    - ``merged``: the updated multiple prices;
    - ``new_rows``: rows appended after the last stored timestamp (what to append downstream);
      new rows without any price are not appended;
    - ``filled``: existing rows in which at least one NaN price was filled;
    - ``ignored``: new rows at or before the last stored timestamp that match no stored row, or
      whose contracts differ from that stored row (history is never rewritten).
    """

    merged: MultiplePrices
    new_rows: pd.DataFrame
    filled: pd.DatetimeIndex
    ignored: pd.DatetimeIndex


def merge_multiple_prices(existing: MultiplePrices, new: MultiplePrices) -> MultiplePricesMerge:
    """Merge ``new`` rows into ``existing``: fill NaNs only, never overwrite, append later rows.

    Raises :class:`ContractLabelMismatch` if any new row after the last stored timestamp names
    contracts other than the last stored row's (a roll must be done first, not merged).
    """
    if len(existing) == 0:
        return MultiplePricesMerge(
            merged=new, new_rows=new.data.copy(), filled=pd.DatetimeIndex([], tz="UTC"),
            ignored=pd.DatetimeIndex([], tz="UTC"),
        )
    old = existing.data
    incoming = new.data
    last_ts = old.index[-1]
    split = int(incoming.index.searchsorted(last_ts, side="right"))
    later = incoming.iloc[split:].dropna(how="all", subset=list(PRICE_COLUMNS))
    earlier = incoming.iloc[:split]

    last_labels = tuple(old.iloc[-1][list(CONTRACT_COLUMNS)])
    if len(later):
        labels = later[list(CONTRACT_COLUMNS)].to_numpy()
        bad = (labels != np.array(last_labels, dtype=object)).any(axis=1)
        if bad.any():
            row = later.iloc[int(bad.argmax())]
            raise ContractLabelMismatch(
                "multiple prices: new row at "
                f"{later.index[int(bad.argmax())]} has contracts "
                f"PRICE={row[PRICE_CONTRACT]} FORWARD={row[FORWARD_CONTRACT]} "
                f"CARRY={row[CARRY_CONTRACT]} but the last stored row "
                f"({last_ts}) has PRICE={last_labels[0]} FORWARD={last_labels[1]} "
                f"CARRY={last_labels[2]}; roll before merging"
            )

    # fill NaNs in stored rows that have the same timestamp and the same contracts
    # only the stored tail that the new data can reach is looked at
    tail_start = int(old.index.searchsorted(earlier.index[0])) if len(earlier) else len(old)
    tail = old.iloc[tail_start:]
    common = earlier.index.intersection(tail.index)
    ignored = earlier.index.difference(common)
    merged = old
    filled = pd.DatetimeIndex([], tz="UTC")
    if len(common):
        old_c = tail.loc[common, list(CONTRACT_COLUMNS)].to_numpy()
        new_c = earlier.loc[common, list(CONTRACT_COLUMNS)].to_numpy()
        same = (old_c == new_c).all(axis=1)
        ignored = ignored.union(common[~same])
        usable = common[same]
        if len(usable):
            before = tail.loc[usable, list(PRICE_COLUMNS)]
            after = before.fillna(earlier.loc[usable, list(PRICE_COLUMNS)])
            changed = (before.isna() & after.notna()).any(axis=1).to_numpy()
            filled = usable[changed]
            if changed.any():
                merged = old.copy()  # never mutate the caller's data
                merged.loc[filled, list(PRICE_COLUMNS)] = after[changed]
    new_rows = later[list(MULTIPLE_PRICE_COLUMNS)]
    if len(new_rows):
        merged = pd.concat([merged, new_rows])
    # both parts were validated and the new rows come strictly after the stored ones
    return MultiplePricesMerge(
        merged=MultiplePrices._trusted(merged), new_rows=new_rows.copy(), filled=filled,
        ignored=ignored,
    )
