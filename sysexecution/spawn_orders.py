"""Stack handler step: spawn contract orders from new instrument orders, by roll state.

For every instrument order that is ``INITIALIZED``, unlocked, not a zero trade and not yet
spawned, the contract orders come from :func:`sysexecution.contract_spawning.spawn_contract_trades`
(roll state from ``data.roll_states``, priced and forward contracts from the last multiple-price
row, the priced contract position from the ledger's projection). An order whose roll state makes
it wait (e.g. Force with an increasing trade, Roll_Adjusted) stays ``INITIALIZED``. An option
leg (an instrument code in the format of :mod:`sysobjects.option_instruments`) is never
rolled: its whole trade goes to its one contract, the underlying future's month in its code.

Crash safety: each child is created with ``parent_id`` before the parent's ``SENT`` event lists
the children. After a crash in between, the next call finds the children by ``parent_id`` and
adopts them; if only some were created (a crash between two children of a zero-crossing Passive
trade), the rest of the parent's trade is spawned again by the same rules, so the children's
outright legs always add up to the parent's trade. Never two sets of children.

Races: the ``SENT`` event is conditional on the instrument order being unchanged since it was
read. If another process changed it meanwhile (the order generator cancelled it, an operator
locked or netted it), the children made in this call are cancelled before anything is sent
(they are ``INITIALIZED``: broker orders are made in a later step of the same pass) and the
order is decided again from fresh data on the next pass. Children cancelled that way, with no
fill, do not count as spawned. A child left ``INITIALIZED`` by a crash right after such a
conflict has a finished parent: :func:`sysexecution.order_completion.propagate_cancels`
cancels it.
"""
from __future__ import annotations

from collections.abc import Callable

from syscore.exceptions import ConcurrencyError, MissingData
from sysdata.data_blob import DataBlob
from sysexecution.contract_spawning import spawn_contract_trades
from sysobjects.contracts import validate_contract_date
from sysobjects.option_instruments import parse_option_code
from sysobjects.orders.orders import ContractOrder, ContractOrderType, InstrumentOrder, Leg
from sysobjects.orders.status import OrderEventType, OrderStatus
from sysobjects.roll_state import RollState

Contracts = Callable[[DataBlob, str], tuple[str, str]]


def current_contracts(data: DataBlob, instrument_code: str) -> tuple[str, str]:
    """``(priced, forward)`` contract ids from the last multiple-price row (MissingData if
    the instrument has no multiple prices)."""
    row = data.multiple_prices.store.tail(data.multiple_prices.library, instrument_code, 1)
    return str(row["PRICE_CONTRACT"].iloc[-1]), str(row["FORWARD_CONTRACT"].iloc[-1])


def spawn_contract_orders(data: DataBlob, contracts: Contracts = current_contracts
                          ) -> dict[int, tuple[int, ...]]:
    """Spawn every spawnable instrument order; ``{instrument order id: child ids}`` of those
    spawned (or adopted) in this call."""
    stack = data.order_stack("instrument")
    spawned = {}
    for order in stack.orders({"status": OrderStatus.INITIALIZED.value}):
        if order.locked or order.trade == 0 or order.children:
            continue
        children = spawn_one(data, order, contracts)
        if children:
            spawned[order.order_id] = children
    return spawned


def spawn_one(data: DataBlob, order: InstrumentOrder,
              contracts: Contracts = current_contracts) -> tuple[int, ...]:
    """Spawn (or finish spawning) one instrument order; its children's ids, () if it waits."""
    contract_stack = data.order_stack("contract")
    existing = [child for child in
                contract_stack.orders({"parent_id": order.order_id}, include_completed=True)
                if not _abandoned(child)]
    done = sum(leg.trade for child in existing if not child.is_spread for leg in child.legs)
    remaining = order.trade - done
    new_ids = []
    if remaining:
        series = parse_option_code(order.instrument_code)
        if series is not None:  # an option leg: its own contract, never rolled
            priced_id = forward_id = series.future
            state = RollState.NO_ROLL
        else:
            try:
                priced_id, forward_id = contracts(data, order.instrument_code)
            except MissingData:
                return ()
            state = RollState.from_name(data.roll_states.get(order.instrument_code))
        priced = data.positions.get_contract_position(order.instrument_code, priced_id)
        # children already made but not yet filled will move the priced position
        priced_key = validate_contract_date(priced_id)
        priced += sum(rest for child in existing
                      for leg, rest in zip(child.legs, child.remaining, strict=True)
                      if leg.contract_date == priced_key)
        now = data.now()
        for trade in spawn_contract_trades(state, remaining, priced, priced_id, forward_id):
            child = ContractOrder(
                order_id=contract_stack.new_order_id(), strategy_name=order.strategy_name,
                instrument_code=order.instrument_code, parent_id=order.order_id,
                legs=tuple(Leg(leg.contract_id, leg.quantity) for leg in trade.legs),
                order_type=ContractOrderType(order.order_type.value)
                if order.order_type.value in {t.value for t in ContractOrderType}
                else ContractOrderType.BEST,
                reference_price=order.reference_price, limit_price=order.limit_price,
                manual_trade=order.manual_trade, roll_order=order.roll_order,
                generated_datetime=now)
            contract_stack.add_order(child, now, reason=f"spawned from instrument order "
                                                        f"{order.order_id} ({state.value})")
            new_ids.append(child.order_id)
    children = tuple(sorted([c.order_id for c in existing] + new_ids))
    if not children:
        return ()
    try:
        data.order_stack("instrument").apply_event(
            order, OrderEventType.SENT, data.now(),
            reason=f"contract orders {list(children)}", changes={"children": list(children)})
    except ConcurrencyError:
        for child_id in new_ids:
            contract_stack.apply_event(
                child_id, OrderEventType.CANCELLED, data.now(),
                reason=f"instrument order {order.order_id} changed while it was being spawned")
        return ()
    return children


def _abandoned(child: ContractOrder) -> bool:
    """A child cancelled before it was ever sent or filled (a spawn that lost a race)."""
    return child.status is OrderStatus.CANCELLED and not child.children and not any(child.filled)
