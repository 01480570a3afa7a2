"""Change an instrument's roll state, enforcing the transition table.

The allowed changes depend on the current state and on whether a position is held in the
currently priced contract (``sysobjects.roll_state``): for example ``Roll_Adjusted`` is only
reachable with no position in the priced contract.

    python run.py sysproduction.update_roll_state.update_roll_state --instrument_code CORN --new_state Passive
"""
from __future__ import annotations

from sysdata.data_blob import DataBlob
from syslogdiag.context import get_logger
from sysobjects.multiple_prices import MultiplePrices
from sysobjects.roll_state import RollState, allowed_roll_states, check_roll_state_transition
from sysproduction.process_helpers import blob_for, refuse_ignored, stored_multiple_tail


def priced_contract_position(data: DataBlob, instrument_code: str) -> tuple[str, int]:
    """The priced contract (``YYYYMM``) and the position held in it (contracts)."""
    last_row = stored_multiple_tail(data, instrument_code)
    price_contract = MultiplePrices(last_row).current_contracts()[0]
    return price_contract, data.positions.get_contract_position(instrument_code, price_contract)


def allowed_next_roll_states(instrument_code: str, data: DataBlob | None = None) -> list[str]:
    """The states ``instrument_code`` may move to now, recommended first."""
    with blob_for(data, "update_roll_state") as blob:
        current = blob.roll_states.state(instrument_code)
        _, position = priced_contract_position(blob, instrument_code)
        return [s.value for s in allowed_roll_states(current, position != 0)]


def update_roll_state(instrument_code: str, new_state: str, data: DataBlob | None = None) -> str:
    """Move ``instrument_code`` to ``new_state`` if the transition table allows it, else raise
    :class:`sysobjects.roll_state.InvalidRollStateTransition` naming the allowed states."""
    with blob_for(data, "update_roll_state") as blob:
        blob.instruments.require(instrument_code)
        refuse_ignored(blob, instrument_code, "rolled")
        current = blob.roll_states.state(instrument_code)
        requested = RollState.from_name(new_state)
        contract, position = priced_contract_position(blob, instrument_code)
        check_roll_state_transition(current, requested, position != 0)
        blob.roll_states.set(instrument_code, requested.value)
        get_logger("update_roll_state", instrument_code=instrument_code).info(
            "roll state %s -> %s (position %d in priced contract %s)", current.value,
            requested.value, position, contract)
        return f"{instrument_code}: roll state {current.value} -> {requested.value}"
