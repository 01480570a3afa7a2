"""The EXO engine: one decision a day per EXO, from yesterday's position to today's row.

An EXO is defined by data (:class:`ExoDefinition`): a product, a *kind* and its parameters.
Structure kinds are leg templates relative to the at-the-money strike of the active option
chain (offsets count strikes *that have quotes*, as traders read a chain; an offset beyond the
quoted strikes takes the outermost quoted strike on that side, and the day's row counts such
legs in ``strikes_clamped``, since the structure is then narrower than its template):

| kind | legs (offset from ATM, quantity) |
|---|---|
| ``continuous_future`` | long 1 front future |
| ``bullish_collar`` | long future, long put −5, short call +5 |
| ``bullish_broken_wing_collar`` | long put −5, long future, short call +5, long call +9 |
| ``bearish_broken_wing_collar`` | the mirror: short future, long call +5, short put −5, long put −9 |
| ``call_spread`` | long call −2, short call +10 |
| ``put_spread`` | long put +2, short put −10 |
| ``long_call`` | long call at the money |

A **delta-target** EXO (``kind: delta_target``) holds one option series (``option``: type and
offset from ATM) sized so that its delta equals ``target_delta`` (futures equivalent); when the
position's delta leaves ``target_delta ± band`` it closes everything and opens a new position
on today's ATM-relative strike (a *rebalance*); a roll closes and reopens like any kind.

``legs`` in the definition replaces a kind's template. A **SmartEXO** (``kind: smart``) maps the
Ichimoku regime of the product's ``continuous_future`` EXO (+1/−1/0) to three templates
(``bullish``, ``bearish``, ``neutral``); a regime change closes everything and opens the new
template; an unknown regime (not enough history) holds nothing.

Each day (:func:`exo_day`): price yesterday's legs; if any leg is within the regime's
``days_before_expiration`` of expiry, close all (a *rollover*); open the template when flat; write
the row: ``exo`` (realised + unrealised P&L since inception, account currency), ``delta``
(futures equivalent), ``rollover``, futures/options executed and opened, ``regime`` and
``strikes_clamped`` (option legs opened that day at the outermost quoted strike because their
offset lay beyond the chain).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, model_validator

from syscore.exceptions import InvalidData, MissingData
from sysexo.positions import Instrument, Position, Transaction
from sysexo.roll_regimes import (
    ActiveChain,
    FutureContract,
    OptionExpiry,
    RollRegime,
    active_chain,
    needs_roll,
)
from sysobjects.black76 import OptionRight


class LegTemplate(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["future", "call", "put"]
    offset: int = 0
    quantity: float = 1.0


def _legs(*items: tuple[str, int, float]) -> tuple[LegTemplate, ...]:
    return tuple(LegTemplate(type=t, offset=o, quantity=q) for t, o, q in items)


TEMPLATES: dict[str, tuple[LegTemplate, ...]] = {
    "continuous_future": _legs(("future", 0, 1)),
    "bullish_collar": _legs(("future", 0, 1), ("put", -5, 1), ("call", 5, -1)),
    "bullish_broken_wing_collar": _legs(("put", -5, 1), ("future", 0, 1), ("call", 5, -1),
                                        ("call", 9, 1)),
    "bearish_broken_wing_collar": _legs(("call", 5, 1), ("future", 0, -1), ("put", -5, -1),
                                        ("put", -9, 1)),
    "call_spread": _legs(("call", -2, 1), ("call", 10, -1)),
    "put_spread": _legs(("put", 2, 1), ("put", -10, -1)),
    "long_call": _legs(("call", 0, 1)),
}


class ExoDefinition(BaseModel):
    """One EXO, as settings data."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    product: str
    kind: str
    legs: tuple[LegTemplate, ...] | None = None
    bullish: tuple[LegTemplate, ...] = ()
    bearish: tuple[LegTemplate, ...] = ()
    neutral: tuple[LegTemplate, ...] = ()
    ichimoku: dict[str, int] = Field(default_factory=dict)
    #: delta_target kind: the position's target delta (futures equivalent), its band (the
    #: position is rebuilt when |delta - target| > band) and the option series to hold
    target_delta: float | None = None
    band: float | None = None
    option: LegTemplate | None = None

    @model_validator(mode="after")
    def _delta_target_parameters(self) -> ExoDefinition:
        if self.kind != "delta_target":
            return self
        if self.target_delta is None or self.target_delta == 0:
            raise ValueError(f"EXO {self.name}: delta_target needs a non-zero target_delta")
        if self.band is None or self.band <= 0:
            raise ValueError(f"EXO {self.name}: delta_target needs a positive band")
        if self.option is None or self.option.type == "future":
            raise ValueError(f"EXO {self.name}: delta_target needs option: {{type: call|put, "
                             f"offset: N}}")
        return self

    def template(self) -> tuple[LegTemplate, ...]:
        if self.legs is not None:
            return self.legs
        if self.kind == "delta_target":
            return (self.option.model_copy(update={"quantity": 1.0}),)
        if self.kind not in TEMPLATES:
            raise InvalidData(f"EXO {self.name}: unknown kind {self.kind!r}; known: "
                              f"{', '.join(sorted(TEMPLATES))}, smart")
        return TEMPLATES[self.kind]

    def template_for_regime(self, regime: int | None) -> tuple[LegTemplate, ...]:
        if regime is None:
            return ()
        return {1: self.bullish, -1: self.bearish, 0: self.neutral}[regime]


class ExoMarket(Protocol):
    """What the engine needs of a market (the simulator's option chains, or stored data)."""

    def futures(self, product: str) -> list[FutureContract]: ...

    def option_expiries(self, product: str, future_id: str) -> list[OptionExpiry]: ...

    def future_price(self, product: str, future_id: str, day: dt.date) -> float: ...

    def strikes(self, product: str, future_id: str, option: OptionExpiry,
                day: dt.date) -> list[float]: ...

    def option_quote(self, product: str, instrument: Instrument,
                     day: dt.date) -> tuple[float, float]: ...

    def point_value(self, product: str) -> float: ...


@dataclass(frozen=True)
class ExoState:
    position: Position = field(default_factory=Position)
    regime: int | None = None


@dataclass(frozen=True)
class ExoRow:
    day: dt.date
    exo: float
    delta: float
    rollover: bool
    futures_executed: int
    futures_opened: int
    options_executed: int
    options_opened: int
    regime: int | None = None
    strikes_clamped: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"exo": self.exo, "delta": self.delta, "rollover": self.rollover,
                "futures_executed": self.futures_executed, "futures_opened": self.futures_opened,
                "options_executed": self.options_executed, "options_opened": self.options_opened,
                "regime": self.regime, "strikes_clamped": self.strikes_clamped}


def _quote(market: ExoMarket, product: str, instrument: Instrument,
           day: dt.date) -> tuple[float, float]:
    if not instrument.is_option:
        return market.future_price(product, instrument.future_id, day), 1.0
    return market.option_quote(product, instrument, day)


def _open(template: tuple[LegTemplate, ...], chain: ActiveChain, market: ExoMarket,
          product: str, day: dt.date) -> tuple[list[Instrument], int]:
    """The instruments of ``template`` on ``chain``, and how many option legs were clamped to
    the outermost quoted strike."""
    future = chain.future
    clamped = 0
    instruments = []
    strikes: list[float] = []
    atm = 0
    if any(leg.type != "future" for leg in template):
        if chain.option is None:
            raise MissingData(f"{product}: no option chain on {day} for an options EXO")
        strikes = sorted(market.strikes(product, future.contract_id, chain.option, day))
        if not strikes:
            raise MissingData(f"{product}: no quoted strikes on {day}")
        forward = market.future_price(product, future.contract_id, day)
        atm = min(range(len(strikes)), key=lambda i: (abs(strikes[i] - forward), strikes[i]))
    for leg in template:
        if leg.type == "future":
            instruments.append(Instrument(future.contract_id, future.expiry))
            continue
        # an offset beyond the quoted strikes (near expiry the wings are worth less than a
        # tick) takes the outermost quoted strike on that side
        index = min(max(atm + leg.offset, 0), len(strikes) - 1)
        clamped += index != atm + leg.offset
        right = OptionRight.CALL if leg.type == "call" else OptionRight.PUT
        instruments.append(Instrument(future.contract_id, chain.option.expiry, right,
                                      strikes[index], chain.option.option_code))
    return instruments, clamped


def exo_day(definition: ExoDefinition, state: ExoState, day: dt.date, market: ExoMarket,
            regime: RollRegime, smart_regime: int | None = None) -> tuple[ExoState, ExoRow,
                                                                           list[Transaction]]:
    """One day of one EXO (see module docstring). ``smart_regime``: today's regime for a
    SmartEXO (from its continuous-future EXO)."""
    product, point_value = definition.product, market.point_value(definition.product)
    position = state.position
    transactions: list[Transaction] = []
    clamped = 0
    quotes = {i: _quote(market, product, i, day) for i in position.legs}
    rollover = bool(position.legs) and needs_roll(day, [i.expiry for i in position.legs], regime)
    smart = definition.kind == "smart"
    regime_change = smart and smart_regime != state.regime
    delta_target = definition.kind == "delta_target" and definition.legs is None
    if delta_target and position.legs and not rollover:
        held = position.delta({i: q[1] for i, q in quotes.items()})
        regime_change = abs(held - definition.target_delta) > definition.band
    if rollover or regime_change:
        closing = position.closing_transactions(day, {i: q[0] for i, q in quotes.items()})
        for tx in closing:
            position = position.apply(tx, point_value)
        transactions += closing
    if not position.legs:
        template = definition.template_for_regime(smart_regime) if smart else \
            definition.template()
        if template:
            chain = active_chain(day, market.futures(product), {
                f.contract_id: market.option_expiries(product, f.contract_id)
                for f in market.futures(product)}, regime)
            instruments, clamped = _open(template, chain, market, product, day)
            for leg, instrument in zip(template, instruments, strict=True):
                price, leg_delta = _quote(market, product, instrument, day)
                quantity = leg.quantity
                if delta_target:
                    if abs(leg_delta) < 1e-6:
                        raise MissingData(f"{definition.name}: {instrument} has no delta on "
                                          f"{day}; cannot size a delta-target position")
                    quantity = definition.target_delta / leg_delta
                tx = Transaction(day, instrument, quantity, price, opening=True)
                position = position.apply(tx, point_value)
                transactions.append(tx)
    quotes = {i: _quote(market, product, i, day) for i in position.legs}
    value = position.value({i: q[0] for i, q in quotes.items()}, point_value)
    delta = position.delta({i: q[1] for i, q in quotes.items()})
    futures = [t for t in transactions if not t.instrument.is_option]
    options = [t for t in transactions if t.instrument.is_option]
    row = ExoRow(day, value, delta, rollover, len(futures), len([t for t in futures if t.opening]),
                 len(options), len([t for t in options if t.opening]),
                 smart_regime if smart else None, clamped)
    return replace(state, position=position, regime=smart_regime if smart else None), row, \
        transactions
