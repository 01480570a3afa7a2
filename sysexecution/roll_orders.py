"""Stack handler step: force-roll orders for instruments in Force, Force_Outright or Close.

For each such instrument with a position in the priced contract and no roll order already
active, an instrument order (``roll_order``, trade 0, strategy :data:`ROLL_STRATEGY`,
type ``zero_roll_order``) is put on the stack with its contract children from
:func:`sysexecution.contract_spawning.force_roll_trades` (Force: one spread; Force_Outright: two
outrights; Close: close the priced only). Roll fills move contract positions only (no strategy
position). Crash safety as in :mod:`sysexecution.spawn_orders`: the parent first, children with
``parent_id``, then the parent's ``SENT``; a rerun finds the active roll order and finishes it
(children it has are adopted) instead of adding a second one.
"""
from __future__ import annotations

from sysdata.data_blob import DataBlob
from sysexecution.contract_spawning import force_roll_trades
from sysexecution.spawn_orders import Contracts, current_contracts
from sysobjects.orders.orders import (
    ContractOrder,
    ContractOrderType,
    InstrumentOrder,
    InstrumentOrderType,
    Leg,
)
from sysobjects.orders.status import OrderEventType, OrderStatus
from sysobjects.roll_state import RollState

ROLL_STRATEGY = "_ROLL_PSEUDO_STRATEGY"
ROLLING_STATES = (RollState.FORCE, RollState.FORCE_OUTRIGHT, RollState.CLOSE)


def generate_force_roll_orders(data: DataBlob, contracts: Contracts = current_contracts
                               ) -> dict[str, tuple[int, ...]]:
    """``{instrument: contract order ids}`` of the roll orders created or finished now."""
    made = {}
    for code, name in sorted(data.roll_states.all().items()):
        state = RollState.from_name(name)
        if state not in ROLLING_STATES:
            continue
        ids = roll_one(data, code, state, contracts)
        if ids:
            made[code] = ids
    return made


def roll_one(data: DataBlob, instrument_code: str, state: RollState,
             contracts: Contracts = current_contracts) -> tuple[int, ...]:
    stack = data.order_stack("instrument")
    active = [o for o in stack.orders({"strategy_name": ROLL_STRATEGY,
                                       "instrument_code": instrument_code}) if o.roll_order]
    if any(o.status is not OrderStatus.INITIALIZED or o.children for o in active):
        return ()  # a roll order is already under way
    cstack = data.order_stack("contract")
    now = data.now()
    if active:
        parent = active[0]
        existing = cstack.orders({"parent_id": parent.order_id}, include_completed=True)
    else:
        priced_id, forward_id = contracts(data, instrument_code)
        priced = data.positions.get_contract_position(instrument_code, priced_id)
        trades = force_roll_trades(state, priced, priced_id, forward_id)
        if not trades:
            return ()
        parent = stack.add_order(InstrumentOrder(
            order_id=stack.new_order_id(), strategy_name=ROLL_STRATEGY,
            instrument_code=instrument_code, trade=0, roll_order=True,
            order_type=InstrumentOrderType.ZERO_ROLL, generated_datetime=now), now,
            reason=f"force roll ({state.value}): {priced} in {priced_id} to {forward_id}")
        existing = []
    if not existing:
        priced_id, forward_id = contracts(data, instrument_code)
        priced = data.positions.get_contract_position(instrument_code, priced_id)
        for trade in force_roll_trades(state, priced, priced_id, forward_id):
            child = ContractOrder(
                order_id=cstack.new_order_id(), strategy_name=ROLL_STRATEGY,
                instrument_code=instrument_code, parent_id=parent.order_id,
                legs=tuple(Leg(leg.contract_id, leg.quantity) for leg in trade.legs),
                order_type=ContractOrderType.BEST, roll_order=True, generated_datetime=now)
            cstack.add_order(child, now, reason=f"roll order {parent.order_id}")
            existing.append(child)
    # a crash after some children of a Force_Outright roll: the missing outright is not
    # re-created here (the contract positions decide it next time the roll state is checked)
    ids = tuple(sorted(c.order_id for c in existing))
    if not ids:
        stack.apply_event(parent.order_id, OrderEventType.CANCELLED, now, "nothing to roll")
        return ()
    stack.apply_event(parent.order_id, OrderEventType.SENT, now,
                      reason=f"roll contract orders {list(ids)}", changes={"children": list(ids)})
    return ids
