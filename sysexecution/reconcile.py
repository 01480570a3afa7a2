"""Reconciliation rules: our books against the broker's, and against themselves.

Pure comparisons over what the handler gathered; the handler acts on the result (locks,
alerts, adopting or cancelling orders, booking recovered fills once through the ledger).

- :func:`position_breaks`: contract positions we hold on the books vs the broker's, per
  (instrument, contract); a contract missing on one side counts as 0.
- :func:`lock_changes`: instruments to lock (a new break) and to unlock (a break lock whose break
  cleared). Only locks this module set (reason :data:`BREAK_LOCK_REASON`) are ever lifted; an
  operator's manual lock stays.
- :func:`missed_executions`: broker executions whose id our ledger has not booked (fills that
  arrived while we were down or disconnected), in broker time order.
- :func:`order_differences`: broker open orders we do not know (orphans: adopt when their
  client ref is ours, else cancel and alert) and orders we think are working that the broker no
  longer has (vanished: ask for their executions, then close them).
- :func:`internal_breaks`: per instrument, the sum of strategy positions vs the sum of contract
  positions.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

BREAK_LOCK_REASON = "position break"


@dataclass(frozen=True)
class PositionBreak:
    instrument_code: str
    contract_id: str
    ours: int
    broker: int

    def __str__(self) -> str:
        return (f"{self.instrument_code} {self.contract_id}: ours {self.ours}, broker "
                f"{self.broker}")


def position_breaks(ours: Mapping[tuple[str, str], int],
                    broker: Mapping[tuple[str, str], int]) -> list[PositionBreak]:
    """Every (instrument, contract) where the two sides differ, sorted."""
    keys = sorted(set(ours) | set(broker))
    return [PositionBreak(code, contract, int(ours.get((code, contract), 0)),
                          int(broker.get((code, contract), 0)))
            for code, contract in keys
            if int(ours.get((code, contract), 0)) != int(broker.get((code, contract), 0))]


@dataclass(frozen=True)
class LockChanges:
    lock: tuple[str, ...]
    unlock: tuple[str, ...]


def lock_changes(breaks: Iterable[PositionBreak | InternalBreak],
                 locks: Mapping[str, str], reason: str = BREAK_LOCK_REASON) -> LockChanges:
    """``locks``: currently locked instrument → lock reason. New breaks lock (once: an
    instrument already locked is not locked again, so its alert is raised once); locks with
    ``reason`` whose break cleared are lifted; other locks are left."""
    broken = {b.instrument_code for b in breaks}
    lock = tuple(sorted(code for code in broken if code not in locks))
    unlock = tuple(sorted(code for code, why in locks.items()
                          if why == reason and code not in broken))
    return LockChanges(lock, unlock)


@dataclass(frozen=True)
class BrokerExecution:
    """The part of a broker execution reconciliation needs."""

    execution_id: str
    broker_order_id: str
    client_ref: str
    contract_key: tuple[str, str]
    quantity: int
    price: float
    time: str  #: ISO UTC


def missed_executions(booked_ids: set[str],
                      broker_executions: Iterable[BrokerExecution]) -> list[BrokerExecution]:
    """Broker executions not yet in our ledger, oldest first; each id once even if the broker
    reports it twice."""
    seen: set[str] = set()
    missed = []
    for execution in sorted(broker_executions, key=lambda e: (e.time, e.execution_id)):
        if execution.execution_id in booked_ids or execution.execution_id in seen:
            continue
        seen.add(execution.execution_id)
        missed.append(execution)
    return missed


@dataclass(frozen=True)
class OpenOrder:
    broker_order_id: str
    client_ref: str


@dataclass(frozen=True)
class OrderDifferences:
    adopt: tuple[OpenOrder, ...]   #: at the broker with one of our client refs, unknown here
    foreign: tuple[OpenOrder, ...]  #: at the broker, not ours: cancel and alert
    vanished: tuple[str, ...]      #: our working broker-order ids the broker no longer has


def order_differences(our_working: Mapping[str, str], broker_open: Iterable[OpenOrder],
                      is_our_ref) -> OrderDifferences:
    """``our_working``: broker order id → client ref of the orders we think are working;
    ``is_our_ref(ref)``: whether a client ref was made by this system."""
    broker_open = list(broker_open)
    at_broker = {order.broker_order_id for order in broker_open}
    unknown = [o for o in broker_open if o.broker_order_id not in our_working]
    return OrderDifferences(
        adopt=tuple(o for o in unknown if is_our_ref(o.client_ref)),
        foreign=tuple(o for o in unknown if not is_our_ref(o.client_ref)),
        vanished=tuple(sorted(oid for oid in our_working if oid not in at_broker)))


@dataclass(frozen=True)
class InternalBreak:
    instrument_code: str
    strategies: int
    contracts: int


def internal_breaks(strategy_positions: Mapping[tuple[str, str], int],
                    contract_positions: Mapping[tuple[str, str], int]) -> list[InternalBreak]:
    """Keys: (strategy, instrument) and (instrument, contract)."""
    by_strategy: dict[str, int] = {}
    for (_, code), position in strategy_positions.items():
        by_strategy[code] = by_strategy.get(code, 0) + int(position)
    by_contract: dict[str, int] = {}
    for (code, _), position in contract_positions.items():
        by_contract[code] = by_contract.get(code, 0) + int(position)
    return [InternalBreak(code, by_strategy.get(code, 0), by_contract.get(code, 0))
            for code in sorted(set(by_strategy) | set(by_contract))
            if by_strategy.get(code, 0) != by_contract.get(code, 0)]
