"""Back-adjusted ("Panama") prices and the roll step's pure part.

Rule (pysystemtrade, README §2), on multiple prices in time order:

- a roll happens at row ``i`` when ``PRICE_CONTRACT[i] != PRICE_CONTRACT[i-1]``;
- its gap is ``d_i = FORWARD[i-1] − PRICE[i-1]``, both sampled on the last row before the roll;
- ``adjusted[j] = PRICE[j] + Σ_{rolls i > j} d_i``: the latest contract is unadjusted, history is
  shifted; computed as a suffix cumulative sum (vectorised);
- NaN PRICE stays NaN (the row is kept); a NaN gap raises :class:`InvalidData` naming the date and
  contracts; a roll whose previous row's FORWARD_CONTRACT is not the new PRICE_CONTRACT raises too.

Between rolls adjusted prices are extended with the raw PRICE of new multiple-price rows, NaN rows
dropped (README §2.3); at a roll the multiple prices get an optional inferred row and a roll row,
then the whole adjusted series is re-stitched.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from syscore.exceptions import InvalidData, MissingData
from sysobjects.contract_dates import carry_contract, forward_contract
from sysobjects.multiple_prices import (
    CARRY,
    CARRY_CONTRACT,
    FORWARD,
    FORWARD_CONTRACT,
    MULTIPLE_PRICE_COLUMNS,
    PRICE,
    PRICE_CONTRACT,
    MultiplePrices,
)
from sysobjects.roll_parameters import RollParameters
from sysobjects.timeindex import as_utc_index, check_strictly_increasing

ADJUSTED_PRICE_NAME = "price"
ROLL_ROW_STEP = pd.Timedelta(seconds=1)


@dataclass(frozen=True)
class AdjustedPrices:
    """Back-adjusted price series (float, PRICE units, UTC index, strictly increasing).

    NaN values are allowed (rows where PRICE was NaN before the last roll).
    """

    data: pd.Series

    def __post_init__(self) -> None:
        series = self.data
        if isinstance(series, pd.DataFrame):
            if series.shape[1] != 1:
                raise InvalidData("adjusted prices need exactly one column")
            series = series.iloc[:, 0]
        if not isinstance(series, pd.Series):
            raise InvalidData(f"adjusted prices must be a Series, got {type(series).__name__}")
        index = as_utc_index(series.index, "adjusted prices index")
        check_strictly_increasing(index, "adjusted prices")
        try:
            values = pd.to_numeric(series, errors="raise").astype(float)
        except (TypeError, ValueError) as exc:
            raise InvalidData(f"adjusted prices: not numeric ({exc})") from None
        clean = pd.Series(values.to_numpy(), index=index, name=ADJUSTED_PRICE_NAME)
        clean.index.name = "DATETIME"
        object.__setattr__(self, "data", clean)

    def __len__(self) -> int:
        return len(self.data)

    @classmethod
    def _trusted(cls, series: pd.Series) -> AdjustedPrices:
        """Wrap a series built only from validated pieces (float, UTC, increasing)."""
        obj = object.__new__(cls)
        object.__setattr__(obj, "data", series)
        return obj


def roll_gaps(multiple: MultiplePrices) -> pd.DataFrame:
    """One row per roll: the roll timestamp (first row of the new contract) and its gap.

    Columns: ``last_old`` (timestamp of row ``i-1``), ``old_contract``, ``new_contract``,
    ``gap`` (= FORWARD − PRICE on row ``i-1``). Raises :class:`InvalidData` on a NaN gap or a
    forward contract that is not the new priced contract.
    """
    frame = multiple.data
    rolls = multiple.roll_positions()
    before = rolls - 1
    price = frame[PRICE].to_numpy()
    fwd = frame[FORWARD].to_numpy()
    price_c = frame[PRICE_CONTRACT].to_numpy()
    fwd_c = frame[FORWARD_CONTRACT].to_numpy()
    gap = fwd[before] - price[before]
    index = frame.index
    wrong = fwd_c[before] != price_c[rolls]
    if wrong.any():
        k = int(wrong.argmax())
        raise InvalidData(
            f"roll at {index[rolls[k]]} from {price_c[before[k]]} to {price_c[rolls[k]]}: the "
            f"previous row ({index[before[k]]}) has FORWARD_CONTRACT {fwd_c[before[k]]}, so the "
            "roll gap cannot be measured"
        )
    bad = np.isnan(gap)
    if bad.any():
        k = int(bad.argmax())
        raise InvalidData(
            f"roll at {index[rolls[k]]} from {price_c[before[k]]} to {price_c[rolls[k]]}: no "
            f"matched prices on {index[before[k]]} (PRICE={price[before[k]]}, "
            f"FORWARD={fwd[before[k]]}); cannot measure the roll gap"
        )
    return pd.DataFrame(
        {
            "last_old": index[before],
            "old_contract": price_c[before],
            "new_contract": price_c[rolls],
            "gap": gap,
        },
        index=index[rolls],
    )


def panama_adjust(multiple: MultiplePrices) -> AdjustedPrices:
    """Panama back-adjusted prices from multiple prices (one value per multiple-price row)."""
    frame = multiple.data
    n = len(frame)
    if n == 0:
        return AdjustedPrices(pd.Series(dtype=float, index=pd.DatetimeIndex([], tz="UTC")))
    gaps = roll_gaps(multiple)
    step = np.zeros(n)
    step[multiple.roll_positions()] = gaps["gap"].to_numpy()
    # adjustment[j] = sum of step[i] for i > j  (suffix sum, excluding j)
    suffix = np.cumsum(step[::-1])[::-1]
    adjustment = np.append(suffix[1:], 0.0)
    values = frame[PRICE].to_numpy() + adjustment
    return AdjustedPrices(pd.Series(values, index=frame.index))


def adjusted_prices_as_stored(multiple: MultiplePrices) -> tuple[AdjustedPrices, int]:
    """Panama-adjusted prices as the live system stores them: NaN-PRICE rows are kept before the
    last roll and dropped from the last roll on (between rolls only priced rows are appended,
    README §2.3). Returns the series and how many rows were dropped."""
    full = panama_adjust(multiple).data
    rolls = multiple.roll_positions()
    start = int(rolls[-1]) if len(rolls) else 0
    drop = (np.arange(len(full)) >= start) & np.isnan(full.to_numpy())
    return AdjustedPrices(full[~drop]), int(drop.sum())


def extend_adjusted_prices(
    adjusted: AdjustedPrices, multiple: MultiplePrices
) -> tuple[AdjustedPrices, pd.Series]:
    """Append raw PRICE of multiple-price rows after the last adjusted timestamp (no roll).

    Rows with NaN PRICE are dropped. Raises :class:`InvalidData` if the priced contract changes
    among the new rows or differs from the one priced at the last adjusted timestamp: that is a
    roll, which needs a full re-stitch (:func:`panama_adjust`). Returns the extended series and
    the appended values.
    """
    frame = multiple.data
    if len(adjusted) == 0:
        full = panama_adjust(multiple)
        return full, full.data.copy()
    last_ts = adjusted.data.index[-1]
    split = int(frame.index.searchsorted(last_ts, side="right"))
    new = frame.iloc[split:]
    if new.empty:
        return adjusted, pd.Series(dtype=float, index=pd.DatetimeIndex([], tz="UTC"),
                                   name=ADJUSTED_PRICE_NAME)
    upto = frame.iloc[:split]
    if upto.empty:
        raise MissingData(
            f"multiple prices start after the last adjusted price ({last_ts}): cannot extend"
        )
    contract = upto[PRICE_CONTRACT].iloc[-1]
    differs = new[PRICE_CONTRACT].to_numpy() != contract
    if differs.any():
        at = new.index[int(differs.argmax())]
        raise InvalidData(
            f"priced contract changes from {contract} to "
            f"{new[PRICE_CONTRACT].iloc[int(differs.argmax())]} at {at}: re-stitch the adjusted "
            "prices instead of extending them"
        )
    added = new[PRICE].dropna().rename(ADJUSTED_PRICE_NAME)
    extended = pd.concat([adjusted.data, added])
    extended.index.name = adjusted.data.index.name
    return AdjustedPrices._trusted(extended), added


def fill_adjusted_prices(
    adjusted: AdjustedPrices, multiple: MultiplePrices, filled: pd.DatetimeIndex
) -> tuple[AdjustedPrices, pd.Series]:
    """Give an adjusted value to multiple-price rows whose PRICE was filled in after the
    adjusted prices had already passed them (timestamps ``filled``, at or before the last
    adjusted price, that have a PRICE but no adjusted value).

    The value is the row's PRICE plus the offset the adjusted series holds for that priced
    contract (adjusted − PRICE on the nearest row of the same contract that has both; zero for
    the contract priced now). Rows whose contract has no such row are left out. Returns the
    series with the values inserted and the inserted values.
    """
    series = adjusted.data
    empty = pd.Series(dtype=float, index=pd.DatetimeIndex([], tz="UTC"), name=ADJUSTED_PRICE_NAME)
    if len(series) == 0 or len(filled) == 0:
        return adjusted, empty
    frame = multiple.data
    known = series.dropna()
    wanted = [t for t in filled if t <= series.index[-1] and t in frame.index
              and not np.isnan(frame.at[t, PRICE]) and t not in known.index]
    if not wanted:
        return adjusted, empty
    both = frame.loc[frame.index.intersection(known.index)]
    both = both[both[PRICE].notna()]
    offsets = known.loc[both.index] - both[PRICE]
    values = {}
    for t in wanted:
        same = offsets[(both[PRICE_CONTRACT] == frame.at[t, PRICE_CONTRACT]).to_numpy()]
        if len(same) == 0:
            continue
        nearest = int(np.argmin(np.abs((same.index - t).asi8)))
        values[t] = float(frame.at[t, PRICE]) + float(same.iloc[nearest])
    if not values:
        return adjusted, empty
    inserted = pd.Series(values, name=ADJUSTED_PRICE_NAME).sort_index()
    inserted.index = as_utc_index(inserted.index, "filled adjusted prices")
    combined = pd.concat([series[~series.index.isin(inserted.index)], inserted]).sort_index()
    combined.index.name = series.index.name
    return AdjustedPrices(combined), inserted


@dataclass(frozen=True)
class RollResult:
    """Outcome of a roll: new multiple prices, the rows appended to them, re-stitched prices."""

    multiple_prices: MultiplePrices
    new_rows: pd.DataFrame
    adjusted_prices: AdjustedPrices


def _last_valid(frame: pd.DataFrame, column: str, contract_column: str, contract: str) -> float:
    mask = (frame[contract_column] == contract).to_numpy() & frame[column].notna().to_numpy()
    if not mask.any():
        raise MissingData(f"no {column} price for contract {contract} in the multiple prices")
    return float(frame[column].to_numpy()[np.flatnonzero(mask)[-1]])


def roll_multiple_prices(
    multiple: MultiplePrices,
    roll_parameters: RollParameters,
    *,
    inferred_price: float | None = None,
    inferred_forward: float | None = None,
    new_forward_price: float = np.nan,
    new_carry_price: float = np.nan,
) -> RollResult:
    """Roll the priced contract into the forward one and re-stitch adjusted prices (README §2.3).

    1. If the last row's PRICE or FORWARD is NaN, append an *inferred* row 1 s later holding the
       old contracts' prices: ``inferred_price`` / ``inferred_forward`` if given (e.g. the latest
       per-contract closes), else the last non-NaN PRICE / FORWARD for those contracts. CARRY is NaN.
    2. Append the *roll row* 1 s after the (new) last row: PRICE = the old forward's price on the
       row before, PRICE_CONTRACT = old FORWARD_CONTRACT, FORWARD_CONTRACT / CARRY_CONTRACT from
       the roll parameters, FORWARD = ``new_forward_price``, CARRY = ``new_carry_price``
       (NaN when unknown).
    3. Re-stitch the whole adjusted series with :func:`panama_adjust`.
    """
    frame = multiple.data
    if frame.empty:
        raise MissingData("cannot roll empty multiple prices")
    last_ts = frame.index[-1]
    last = frame.iloc[-1]
    price_c, fwd_c = last[PRICE_CONTRACT], last[FORWARD_CONTRACT]
    carry_c = last[CARRY_CONTRACT]
    rows = []
    ts = last_ts
    price_value, fwd_value = last[PRICE], last[FORWARD]
    if np.isnan(price_value) or np.isnan(fwd_value):
        price_value = (
            float(inferred_price) if inferred_price is not None
            else _last_valid(frame, PRICE, PRICE_CONTRACT, price_c)
        )
        fwd_value = (
            float(inferred_forward) if inferred_forward is not None
            else _last_valid(frame, FORWARD, FORWARD_CONTRACT, fwd_c)
        )
        ts = ts + ROLL_ROW_STEP
        rows.append((ts, price_value, price_c, fwd_value, fwd_c, np.nan, carry_c))
    new_price_c = fwd_c
    new_fwd_c = forward_contract(new_price_c, roll_parameters)
    new_carry_c = carry_contract(new_price_c, roll_parameters)
    ts = ts + ROLL_ROW_STEP
    rows.append((
        ts, fwd_value, new_price_c, float(new_forward_price), new_fwd_c,
        float(new_carry_price), new_carry_c,
    ))
    new_rows = pd.DataFrame(
        [r[1:] for r in rows],
        index=pd.DatetimeIndex([r[0] for r in rows]),
        columns=[PRICE, PRICE_CONTRACT, FORWARD, FORWARD_CONTRACT, CARRY, CARRY_CONTRACT],
    )[list(MULTIPLE_PRICE_COLUMNS)]
    rolled = MultiplePrices(pd.concat([frame, new_rows]))
    return RollResult(
        multiple_prices=rolled,
        new_rows=rolled.data.iloc[-len(new_rows):].copy(),
        adjusted_prices=panama_adjust(rolled),
    )
