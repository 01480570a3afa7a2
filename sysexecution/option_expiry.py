"""Stack handler step: option legs that expired at the broker leave the ledger's positions.

For every non-zero contract position in an option code (:mod:`sysobjects.option_instruments`)
whose option the broker reports expired (:meth:`Broker.get_option_expiry`), two position
adjustments are booked per strategy holding it (strategy and contract level together), with
ids derived from the option code and the strategy, so that a rerun books nothing twice:

1. ``option-exercise/<code>/<strategy>``, only when the option ended in the money and its
   future trades on: ``quantity × (+1 call, −1 put)`` futures of the product in the option's
   future month — the future the broker's exercise (or assignment) created;
2. ``option-expiry/<code>/<strategy>``: ``−quantity`` of the option code, to zero.

The exercise is booked first: a crash between the two leaves the option position in place,
so the next pass books the exercise again (a no-op: same id, same content) and then the
expiry.

Fills made before the expiry and not yet booked (the pass drained the broker's events just
before the option expired, and a sale filled in between) are booked first: the broker's
executions in the expired codes (:meth:`Broker.get_executions`, booked once per execution id
by :func:`~sysexecution.broker_fills.book_executions`), so the expiry closes the position the
broker closed. Should a fill in an expired code still be booked after its expiry (a broker
reporting it late), the next pass closes the new remainder with a second pair of adjustments
(ids suffixed ``#2``, ``#3``...: the count of expiry adjustments already booked), never
refusing the pass on an id already used with another quantity. A part of the contract position held by no strategy (there should be none) is closed
the same way at contract level only. The adjustments carry the broker's expiry instant as
timestamp, so the strategy, contract and broker positions agree again after the pass and
reconciliation sees no break. A broker without options (``NotSupportedByBroker``) books
nothing.

Instrument orders still active on an expired option (selling a worthless option that never
found a bid, say) can never trade: they are cancelled (never spawned) or asked to cancel (the
stack handler then cancels their children as for any cancel request).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sysbrokers.errors import NotSupportedByBroker
from sysbrokers.objects import OptionContract, OptionExpiry
from sysdata.data_blob import DataBlob
from sysexecution.broker_fills import book_executions
from sysobjects.option_instruments import OptionSeries, parse_option_code
from sysobjects.orders.status import OrderEventType, OrderStatus


@dataclass
class ExpiryResult:
    expired: list[str] = field(default_factory=list)    #: option codes closed by expiry
    exercised: list[str] = field(default_factory=list)  #: of which exercised into futures
    cancelled: list[int] = field(default_factory=list)  #: instrument orders cancelled

    def __str__(self) -> str:
        text = (f"{len(self.expired)} option position(s) expired "
                f"({len(self.exercised)} exercised into futures)")
        if self.cancelled:
            text += f", orders {', '.join(map(str, self.cancelled))} cancelled"
        return text

    def __bool__(self) -> bool:
        return bool(self.expired or self.cancelled)


def _contract(series: OptionSeries) -> OptionContract:
    return OptionContract(series.product, series.future, series.right, series.strike,
                          series.expiry, series.option_code)


def book_option_expiries(data: DataBlob) -> ExpiryResult:
    """See the module docstring."""
    result = ExpiryResult()
    contract_positions = data.positions.all_contract_positions()
    expired = {code for code, _ in _expired(data, contract_positions)}
    if not expired:
        result.cancelled = _cancel_orders_on_expired(data)
        return result
    # fills made before the expiry that this pass has not booked yet go first
    book_executions(data, [e for e in data.broker.get_executions()
                           if e.instrument_code in expired])
    contract_positions = data.positions.all_contract_positions()
    holders: dict[str, dict[str | None, int]] = {}
    for (strategy, code), quantity in data.positions.all_strategy_positions().items():
        if quantity and parse_option_code(code) is not None:
            holders.setdefault(code, {})[strategy] = quantity
    for (code, month), total in sorted(contract_positions.items()):
        series = parse_option_code(code)
        if series is None or not total:
            continue
        try:
            expiry = data.broker.get_option_expiry(_contract(series))
        except NotSupportedByBroker:
            return result
        if expiry is None:
            continue
        owners = dict(holders.get(code, {}))
        unowned = total - sum(owners.values())
        if unowned:
            owners[None] = unowned
        for strategy, quantity in sorted(owners.items(), key=lambda kv: kv[0] or ""):
            _book(data, series, month, strategy, quantity, expiry)
        result.expired.append(code)
        if expiry.exercised:
            result.exercised.append(code)
    result.cancelled = _cancel_orders_on_expired(data)
    return result


def _expired(data: DataBlob, contract_positions) -> list[tuple[str, OptionExpiry]]:
    """The option codes with a non-zero contract position that the broker reports expired."""
    out = []
    for (code, _month), total in sorted(contract_positions.items()):
        series = parse_option_code(code)
        if series is None or not total:
            continue
        try:
            expiry = data.broker.get_option_expiry(_contract(series))
        except NotSupportedByBroker:
            return []
        if expiry is not None:
            out.append((code, expiry))
    return out


def _cancel_orders_on_expired(data: DataBlob) -> list[int]:
    """Instrument orders still active on an option that has expired (e.g. selling a
    worthless option that never found a bid) can never trade: each is cancelled (one never
    spawned) or asked to cancel (its children are cancelled by the stack handler's usual
    step)."""
    istack, cstack, now, out = data.order_stack("instrument"), data.order_stack("contract"), \
        data.now(), []
    expired: dict[str, bool] = {}
    for order in istack.orders():
        if order.status not in (OrderStatus.INITIALIZED, OrderStatus.WORKING):
            continue
        series = parse_option_code(order.instrument_code)
        if series is None:
            continue
        if order.instrument_code not in expired:
            try:
                expired[order.instrument_code] = data.broker.get_option_expiry(
                    _contract(series)) is not None
            except NotSupportedByBroker:
                expired[order.instrument_code] = False
        if not expired[order.instrument_code]:
            continue
        spawned = bool(order.children) or bool(
            cstack.orders({"parent_id": order.order_id}, include_completed=True))
        event = (OrderEventType.CANCELLED if order.status is OrderStatus.INITIALIZED
                 and not spawned else OrderEventType.CANCEL_REQUESTED)
        istack.apply_event(order, event, now, f"option {order.instrument_code} expired")
        out.append(order.order_id)
    return out


def _book(data: DataBlob, series: OptionSeries, month: str, strategy: str | None,
          quantity: int, expiry: OptionExpiry) -> None:
    code, who = series.code, strategy or "-"
    suffix, n = "", 1  # a later remainder (a fill booked after the expiry): its own ids
    while data.ledger.find_uid(f"adjust:option-expiry/{code}/{who}{suffix}") is not None:
        n += 1
        suffix = f"#{n}"
    if expiry.exercised:
        data.positions.adjust_position(
            series.product, quantity * expiry.future_per_option, expiry.expired_at,
            f"exercise of {quantity:+d} {code} (final {expiry.final_price:g})",
            strategy_name=strategy, contract_date=series.future,
            adjustment_id=f"option-exercise/{code}/{who}{suffix}")
    data.positions.adjust_position(
        code, -quantity, expiry.expired_at,
        f"option expired (final {expiry.final_price:g}, intrinsic {expiry.intrinsic:g})",
        strategy_name=strategy, contract_date=month,
        adjustment_id=f"option-expiry/{code}/{who}{suffix}")
