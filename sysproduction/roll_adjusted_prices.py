"""Roll an instrument's multiple and adjusted prices: the atomic step of a roll.

``roll_adjusted_prices(instrument_code, confirm)`` appends the roll row(s) to the multiple prices
(an inferred row first when the last PRICE or FORWARD is missing, taking both old contracts'
closes at the last timestamp where both have one, so the roll gap is a matched pair), re-stitches the whole adjusted series, writes both or neither, and moves the roll state
to ``No_Roll``. The roll state must be ``Roll_Adjusted``. Without ``confirm`` it only describes
what it would do.

Both-or-neither across two ArcticDB symbols (which have no transactions):

1. the new multiple and adjusted series are staged (library ``roll_staging``) and a journal
   record is written to the state store (collection ``roll_journal``):
   :class:`sysdata.roll_journal.RollJournalData` (``data.roll_journal``);
2. multiple prices are written, then adjusted prices;
3. roll state ``No_Roll`` and the journal's removal are one state-store change.

If a write raises, the previous multiple prices are written back (an ArcticDB write is atomic
per symbol, so a failed adjusted write left the old adjusted prices) and the journal removed:
nothing changed. If the process dies between the writes, the journal remains and the next
``update_multiple_adjusted_prices`` or ``roll_adjusted_prices`` finishes the roll from the staged
series (``recover_pending_roll``): never one series rolled and the other not. Staged series
with no journal record (the process died before writing the journal, or after removing it in
step 3) are removed by that same next run.

    python run.py sysproduction.roll_adjusted_prices.roll_adjusted_prices --instrument_code CORN --confirm true
"""
from __future__ import annotations

import math

import pandas as pd

from syscore.exceptions import InvalidData
from syscore.formatting import format_contract_id, format_price, format_timestamp
from sysdata.data_blob import DataBlob
from sysdata.roll_journal import ROLL_JOURNAL, STAGING
from syslogdiag.context import get_logger
from sysobjects.adjusted_prices import RollResult, roll_multiple_prices
from sysobjects.contract_dates import carry_contract, forward_contract
from sysobjects.multiple_prices import MultiplePrices
from sysobjects.roll_state import RollState
from sysproduction.process_helpers import blob_for, refuse_ignored
from sysproduction.update_roll_state import priced_contract_position

__all__ = ["ROLL_JOURNAL", "STAGING", "recover_pending_roll", "roll_adjusted_prices",
           "write_roll"]


def _closes(data: DataBlob, code: str, contract: str) -> pd.Series:
    if not data.contract_prices.has(code, contract, "merged"):
        return pd.Series(dtype=float, index=pd.DatetimeIndex([], tz="UTC"))
    return data.contract_prices.read(code, contract, "merged")["FINAL"].dropna()


def last_close(data: DataBlob, code: str, contract: str, when: pd.Timestamp) -> float | None:
    """The contract's last merged close at or before ``when``, or None if it has none."""
    closes = _closes(data, code, contract)
    closes = closes[closes.index <= when]
    return float(closes.iloc[-1]) if len(closes) else None


def last_matched_closes(data: DataBlob, code: str, price_contract: str, forward_contract: str,
                        when: pd.Timestamp) -> tuple[float, float] | None:
    """Closes of both contracts at the last timestamp (at or before ``when``) where both have
    one, so the roll gap compares prices sampled at the same time; None if there is none."""
    both = pd.concat([_closes(data, code, price_contract), _closes(data, code, forward_contract)],
                     axis=1, join="inner")
    both = both[both.index <= when]
    if both.empty:
        return None
    return float(both.iloc[-1, 0]), float(both.iloc[-1, 1])


#: the line a preview (``confirm=False``) ends with, for the command line
NOT_WRITTEN_HINT = "(not written: run again with --confirm true)"


def plan_roll(data: DataBlob, instrument_code: str) -> RollResult:
    """The roll's new multiple prices and re-stitched adjusted prices (nothing written)."""
    multiple = MultiplePrices(data.multiple_prices.read(instrument_code))
    params = data.roll_parameters.get(instrument_code)
    last_ts = multiple.last_timestamp
    price_c, fwd_c, _ = multiple.current_contracts()
    matched = last_matched_closes(data, instrument_code, price_c, fwd_c, last_ts)
    new_fwd = forward_contract(fwd_c, params)
    new_carry = carry_contract(fwd_c, params)
    new_fwd_price = last_close(data, instrument_code, new_fwd, last_ts)
    new_carry_price = last_close(data, instrument_code, new_carry, last_ts)
    return roll_multiple_prices(
        multiple, params,
        inferred_price=matched[0] if matched else None,
        inferred_forward=matched[1] if matched else None,
        new_forward_price=math.nan if new_fwd_price is None else new_fwd_price,
        new_carry_price=math.nan if new_carry_price is None else new_carry_price,
    )


def _adjusted_frame(result: RollResult) -> pd.DataFrame:
    return result.adjusted_prices.data.rename("price").to_frame()


def recover_pending_roll(data: DataBlob, instrument_code: str) -> bool:
    """Finish a roll whose process died between its writes; True if one was finished.

    Staged series without a journal record are leftovers of a roll that died before its
    journal was written (nothing was changed) or after its last step (everything was): they
    are removed."""
    journal = data.roll_journal
    if not journal.pending(instrument_code):
        leftovers = journal.staged_symbols(instrument_code)
        if leftovers:
            journal.clear_staging(instrument_code)
            get_logger("roll_adjusted_prices", instrument_code=instrument_code).warning(
                "%s: removed staged prices left by an interrupted roll: %s", instrument_code,
                leftovers)
        return False
    log = get_logger("roll_adjusted_prices", instrument_code=instrument_code)
    multiple, adjusted = journal.staged(instrument_code)
    data.multiple_prices.write(instrument_code, multiple)
    data.adjusted_prices.write(instrument_code, adjusted)
    journal.finish(instrument_code)
    log.warning("%s: finished an interrupted roll from its staged prices", instrument_code)
    return True


def write_roll(data: DataBlob, instrument_code: str, result: RollResult) -> None:
    """Write multiple and adjusted prices of a roll, both or neither (module docstring)."""
    old_multiple = data.multiple_prices.read(instrument_code)
    new_multiple = result.multiple_prices.data
    new_adjusted = _adjusted_frame(result)
    journal = data.roll_journal
    journal.stage(instrument_code, _storable_multiple(new_multiple), new_adjusted, data.now())
    try:
        data.multiple_prices.write(instrument_code, new_multiple)
        data.adjusted_prices.write(instrument_code, new_adjusted)
    except BaseException:
        # An ArcticDB write is atomic per symbol: the adjusted prices still hold their old
        # version, so putting the old multiple prices back undoes the roll. If even that fails,
        # the journal stays and the next run finishes the roll forward instead.
        log = get_logger("roll_adjusted_prices", instrument_code=instrument_code)
        try:
            data.multiple_prices.write(instrument_code, old_multiple)
        except Exception:
            log.critical("%s: roll failed and could not be undone; the next price update will "
                         "finish it from the staged prices", instrument_code)
            raise
        journal.abandon(instrument_code)
        raise
    journal.finish(instrument_code)


def _storable_multiple(frame: pd.DataFrame) -> pd.DataFrame:
    from sysdata.price_frames import validate_multiple_prices

    return validate_multiple_prices(frame, "staged multiple prices")


def describe_roll(instrument_code: str, result: RollResult) -> str:
    rows = result.new_rows
    lines = [f"{instrument_code}: roll appends {len(rows)} row(s) to the multiple prices:"]
    for ts, row in rows.iterrows():
        columns = "  ".join(
            f"{name} {format_price(row[name])} ({format_contract_id(row[f'{name}_CONTRACT'])})"
            for name in ("PRICE", "FORWARD", "CARRY"))
        lines.append(f"  {format_timestamp(ts)}  {columns}")
    lines.append(f"  adjusted prices re-stitched: {len(result.adjusted_prices.data)} values, "
                 f"last {format_price(result.adjusted_prices.data.iloc[-1])}")
    return "\n".join(lines)


def roll_adjusted_prices(instrument_code: str, confirm: bool = False,
                         data: DataBlob | None = None) -> str:
    """Roll ``instrument_code`` (see module docstring); returns a description of the roll."""
    with blob_for(data, "roll_adjusted_prices") as blob:
        log = get_logger("roll_adjusted_prices", instrument_code=instrument_code)
        blob.instruments.require(instrument_code)
        refuse_ignored(blob, instrument_code, "rolled")
        recover_pending_roll(blob, instrument_code)
        state = blob.roll_states.state(instrument_code)
        if state is not RollState.ROLL_ADJUSTED:
            raise InvalidData(
                f"{instrument_code}: roll state is {state.value}; set it to "
                f"{RollState.ROLL_ADJUSTED.value} before rolling the adjusted prices")
        contract, position = priced_contract_position(blob, instrument_code)
        if position != 0:
            raise InvalidData(
                f"{instrument_code}: {position} contracts are held in the priced contract "
                f"{format_contract_id(contract)}; close or roll the position before rolling the "
                f"prices")
        result = plan_roll(blob, instrument_code)
        description = describe_roll(instrument_code, result)
        if not confirm:
            return description + "\n" + NOT_WRITTEN_HINT
        write_roll(blob, instrument_code, result)
        log.info("rolled: %s", description)
        return description + "\nwritten; roll state is now No_Roll"
