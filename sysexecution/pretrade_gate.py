"""The pre-trade gate: every broker order passes here first; a denial carries its reason.

Pure rules over what the caller has gathered (positions, limits, market state, prices) so the
gate is testable by tables. :func:`evaluate` runs the checks in a fixed order; the first denial
wins, and checks that *resize* (trading state REDUCING, trade limits, notional cap, visible
liquidity) shrink the quantity towards zero without ever reversing it:

1. global trading state: HALTED denies; REDUCING keeps only the part reducing ``|position|``;
   a broker that says trading must halt (``Broker.halt_reason``: IB blind for longer than
   ``ib.disconnect_halt_seconds``) is HALTED too (:func:`evaluate_halted`, checked by the
   caller before it asks the broker for prices);
2. instrument lock (a position break, a manual lock): denied;
3. market open (trading hours): denied when closed;
4. price sanity: a limit price must be on the tick; a price further than ``fat_finger`` (a
   fraction, default 0.05 = 5 %) from the reference price is denied, unless it is within the
   request's ``min_band_ticks`` ticks of it (option legs: :data:`OPTION_BAND_TICKS`, as an
   option worth a few ticks has a 5 % band narrower than its tick);
5. trade limits: resized to the remaining capacity (the smaller of instrument and
   instrument+strategy), denied at zero;
6. maximum notional per order (base currency): resized down to fit;
7. top-of-book liquidity: denied when the side we take is empty or the spread is wider than
   ``max_spread_ticks`` (an option leg: or than :data:`OPTION_SPREAD_FRACTION` of its mid,
   the request's ``spread_allowance_ticks``); resized to the visible size times
   ``book_fraction`` for market orders;
8. submit-rate throttle (a token bucket, :class:`SubmitThrottle`): denied when empty.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from syscore.exceptions import InvalidData
from sysobjects.trading_state import (  # noqa: F401 - re-exported for the gate's callers
    TRADING_STATE_TRANSITIONS,
    TradingState,
    change_trading_state,
)

#: the price band of an option leg's order is at least this many ticks either side of its mid
OPTION_BAND_TICKS = 5
#: an option leg's order accepts a spread up to this fraction of the option's mid (a chain's
#: spread grows with the premium: 2 % of mid on the simulated chains)
OPTION_SPREAD_FRACTION = 0.05


@dataclass(frozen=True)
class GateSettings:
    fat_finger: float = 0.05          #: max |price − reference| / reference
    max_notional: float | None = None  #: per order, base currency; None = no cap
    max_spread_ticks: int = 20         #: widest acceptable bid/ask spread
    book_fraction: float = 1.0         #: share of the visible size a market order may take


@dataclass(frozen=True)
class GateRequest:
    """A proposed broker order. ``quantity`` signed contracts; prices in the instrument's
    price units; ``fx_rate`` converts the instrument currency to base."""

    instrument_code: str
    quantity: int
    position: int                 #: position held in this contract before the order
    reference_price: float
    tick_size: float
    point_size: float
    fx_rate: float = 1.0
    limit_price: float | None = None  #: None = market order
    #: the price band is at least this many ticks either side of the reference (an option
    #: worth a few ticks would otherwise have a band narrower than one tick)
    min_band_ticks: int = 0
    #: the widest acceptable spread for this order (ticks) when wider than the settings'
    #: ``max_spread_ticks`` (option legs: :data:`OPTION_SPREAD_FRACTION` of the mid)
    spread_allowance_ticks: int = 0


@dataclass(frozen=True)
class MarketState:
    is_open: bool
    bid: float | None = None
    ask: float | None = None
    bid_size: int = 0
    ask_size: int = 0


@dataclass(frozen=True)
class GateContext:
    trading_state: TradingState = TradingState.ACTIVE
    locked: bool = False
    lock_reason: str = ""
    #: remaining trade-limit capacity (contracts) per applicable limit; empty = no limits
    trade_limit_remaining: tuple[int, ...] = ()
    market: MarketState = field(default_factory=lambda: MarketState(True))
    throttle_ok: bool = True


@dataclass(frozen=True)
class GateDecision:
    quantity: int               #: what may be sent (0 when denied)
    denial: str = ""            #: why not, when denied
    notes: tuple[str, ...] = ()  #: resizes applied, in order

    @property
    def allowed(self) -> bool:
        return not self.denial and self.quantity != 0


def _shrink(quantity: int, magnitude: int) -> int:
    magnitude = max(0, magnitude)
    return int(math.copysign(min(abs(quantity), magnitude), quantity)) if quantity else 0


def _reducing_part(quantity: int, position: int) -> int:
    if position == 0 or (quantity > 0) == (position > 0):
        return 0
    return _shrink(quantity, abs(position))


def _on_tick(price: float, tick: float) -> bool:
    steps = price / tick
    return abs(steps - round(steps)) <= 1e-6 * max(1.0, abs(steps))


def evaluate(request: GateRequest, context: GateContext,
             settings: GateSettings = GateSettings()) -> GateDecision:
    """Run the checks (see module docstring)."""
    quantity, notes = request.quantity, []

    def deny(reason: str) -> GateDecision:
        return GateDecision(0, reason, tuple(notes))

    if quantity == 0:
        return deny("zero quantity")
    if context.trading_state is TradingState.HALTED:
        return deny("trading state HALTED")
    if context.trading_state is TradingState.REDUCING:
        reduced = _reducing_part(quantity, request.position)
        if reduced == 0:
            return deny("trading state REDUCING: the order does not reduce the position")
        if reduced != quantity:
            notes.append(f"REDUCING: {quantity} cut to {reduced}")
        quantity = reduced
    if context.locked:
        return deny(f"instrument {request.instrument_code} is locked"
                    + (f": {context.lock_reason}" if context.lock_reason else ""))
    if not context.market.is_open:
        return deny("market closed")
    price = request.limit_price if request.limit_price is not None else request.reference_price
    if not (math.isfinite(price) and price > 0 and request.reference_price > 0):
        return deny(f"no sane price (price {price}, reference {request.reference_price})")
    if request.limit_price is not None and not _on_tick(request.limit_price, request.tick_size):
        return deny(f"limit price {request.limit_price} is not on the tick {request.tick_size}")
    distance = abs(price - request.reference_price) / request.reference_price
    band_ticks = request.min_band_ticks * request.tick_size
    if distance > settings.fat_finger and abs(price - request.reference_price) > band_ticks \
            + 1e-9:
        return deny(f"price {price} is {distance:.1%} from the reference "
                    f"{request.reference_price} (limit {settings.fat_finger:.1%})")
    if context.trade_limit_remaining:
        capacity = min(context.trade_limit_remaining)
        if capacity <= 0:
            return deny("trade limit reached")
        if capacity < abs(quantity):
            notes.append(f"trade limit: {quantity} cut to {_shrink(quantity, capacity)}")
            quantity = _shrink(quantity, capacity)
    if settings.max_notional is not None:
        per_contract = price * request.point_size * request.fx_rate
        fits = int(settings.max_notional // per_contract) if per_contract > 0 else 0
        if fits <= 0:
            return deny(f"one contract exceeds the maximum notional {settings.max_notional:,.0f}")
        if fits < abs(quantity):
            notes.append(f"max notional: {quantity} cut to {_shrink(quantity, fits)}")
            quantity = _shrink(quantity, fits)
    market = context.market
    taking_size = market.ask_size if quantity > 0 else market.bid_size
    taking_price = market.ask if quantity > 0 else market.bid
    if taking_price is None or taking_size <= 0:
        return deny("no liquidity on the side we take")
    if market.bid is not None and market.ask is not None:
        spread_ticks = (market.ask - market.bid) / request.tick_size
        widest = max(settings.max_spread_ticks, request.spread_allowance_ticks)
        if spread_ticks > widest + 1e-9:
            return deny(f"spread {spread_ticks:.0f} ticks is wider than {widest}")
    if request.limit_price is None:
        visible = int(taking_size * settings.book_fraction)
        if visible <= 0:
            return deny("visible size too small for a market order")
        if visible < abs(quantity):
            notes.append(f"liquidity: {quantity} cut to {_shrink(quantity, visible)}")
            quantity = _shrink(quantity, visible)
    if not context.throttle_ok:
        return deny("submit rate throttled")
    return GateDecision(quantity, "", tuple(notes))


def spread_price_denial(limit_price: float | None, synthetic_mid: float, reference: float,
                        tick_size: float, settings: GateSettings = GateSettings()) -> str:
    """Price sanity of a spread order (the legs are checked one by one by :func:`evaluate` as
    market orders): a spread limit price (leg 1 minus leg 2; any sign) must be on the tick and
    within ``fat_finger`` of the synthetic mid, measured as a fraction of ``reference`` (a leg's
    price: a spread's own price may be near zero). ``""`` when sane or a market spread."""
    if limit_price is None:
        return ""
    if not math.isfinite(limit_price) or not _on_tick(limit_price, tick_size):
        return f"spread limit price {limit_price} is not on the tick {tick_size}"
    if not (math.isfinite(synthetic_mid) and reference > 0):
        return f"no sane spread price (mid {synthetic_mid}, reference {reference})"
    distance = abs(limit_price - synthetic_mid) / reference
    if distance > settings.fat_finger:
        return (f"spread price {limit_price} is {distance:.1%} of the leg price {reference} "
                f"from the spread's mid {synthetic_mid:g} (limit {settings.fat_finger:.1%})")
    return ""


def evaluate_halted(reason: str) -> GateDecision:
    """The decision when the broker itself says trading must halt (``Broker.halt_reason``,
    e.g. IB blind for longer than ``ib.disconnect_halt_seconds``): as the global HALTED
    state, with the reason."""
    return GateDecision(0, f"trading state HALTED: {reason}")


class SubmitThrottle:
    """Token bucket: at most ``rate`` submits per ``per_seconds``, bursts up to ``rate``.
    Times are seconds on any monotonic scale (pass the clock's)."""

    def __init__(self, rate: int, per_seconds: float):
        if rate <= 0 or per_seconds <= 0:
            raise InvalidData("throttle needs a positive rate and period")
        self.rate, self.per_seconds = rate, per_seconds
        self._tokens = float(rate)
        self._last: float | None = None

    def _refill(self, now: float) -> None:
        if self._last is not None:
            elapsed = max(0.0, now - self._last)
            self._tokens = min(self.rate, self._tokens + elapsed * self.rate / self.per_seconds)
        self._last = now

    def available(self, now: float) -> bool:
        """Whether a submit at ``now`` would be allowed (no token taken)."""
        self._refill(now)
        return self._tokens >= 1.0

    def try_take(self, now: float) -> bool:
        self._refill(now)
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False
