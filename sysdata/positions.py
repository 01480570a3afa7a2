"""Positions: projections of the ledger (fills and position adjustments).

Positions are whole contracts (int). A strategy/instrument position is keyed
``STRATEGY/INSTRUMENT`` (collection ``strategy_positions``); a contract position
``INSTRUMENT/YYYYMM[DD]`` (``contract_positions``). Their documents are caches
(``position``, the labels, ``timestamp`` of the last change, ``covered_seq``) brought up to date
from the ledger on every read, so reading one position costs one document, the ledger head and
one indexed query whatever the ledger's size.

Nothing writes a position: a fill moves it (:meth:`LedgerData.book_fill`), and anything else is
a :class:`PositionAdjustment` in the ledger. :meth:`PositionData.set_strategy_position` books
the difference to a target *conditionally on the ledger not having moved since the position was
read* (a fill booked in between makes it re-read and book the new difference).
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from syscore.exceptions import ConcurrencyError, InvalidData
from sysdata.contracts import contract_key
from sysdata.ledger import CONTRACT_POSITIONS, PROJECTIONS, STRATEGY_POSITIONS, LedgerData
from sysdata.state.base import Index, StateStore
from sysobjects.contracts import validate_contract_date
from sysobjects.instruments import validate_instrument_code
from sysobjects.orders.records import PositionAdjustment

SET_RETRIES = 20
KIND_PROJECTION = {STRATEGY_POSITIONS: "strategy_position", CONTRACT_POSITIONS: "contract_position"}


def _check_position(position: Any) -> int:
    if isinstance(position, bool) or not isinstance(position, int):
        if isinstance(position, float) and position.is_integer():
            return int(position)
        raise InvalidData(f"a position must be a whole number of contracts, got {position!r}")
    return position


def validate_strategy_name(strategy_name: str) -> str:
    """Return ``strategy_name`` if it can be part of a key (non-empty, no ``/``)."""
    if not strategy_name or "/" in strategy_name:
        raise InvalidData(f"invalid strategy name {strategy_name!r}")
    return strategy_name


def strategy_instrument_key(strategy_name: str, instrument_code: str) -> str:
    """``STRATEGY/INSTRUMENT``, the key of anything held per strategy and instrument."""
    return f"{validate_strategy_name(strategy_name)}/{validate_instrument_code(instrument_code)}"


@dataclass(frozen=True)
class PositionRead:
    """A position and the ledger sequence number it is up to date with."""

    position: int
    covered_seq: int


class PositionData:
    """Strategy and contract positions, read from the ledger's projections."""

    def __init__(self, store: StateStore, ledger: LedgerData | None = None):
        self.store = store
        self.ledger = ledger if ledger is not None else LedgerData(store)
        store.ensure_index(Index(STRATEGY_POSITIONS, ("instrument_code",)))

    strategy_key = staticmethod(strategy_instrument_key)
    contract_key = staticmethod(contract_key)

    # reading ------------------------------------------------------------------------------
    def read_strategy_position(self, strategy_name: str, instrument_code: str) -> PositionRead:
        view = self.ledger.view("strategy_position",
                                self.strategy_key(strategy_name, instrument_code))
        return PositionRead(int(view.state["position"]), view.covered_seq)

    def read_contract_position(self, instrument_code: str, contract_date: str) -> PositionRead:
        view = self.ledger.view("contract_position",
                                self.contract_key(instrument_code, contract_date))
        return PositionRead(int(view.state["position"]), view.covered_seq)

    def get_strategy_position(self, strategy_name: str, instrument_code: str) -> int:
        return self.read_strategy_position(strategy_name, instrument_code).position

    def get_contract_position(self, instrument_code: str, contract_date: str) -> int:
        return self.read_contract_position(instrument_code, contract_date).position

    def all_strategy_positions(self, instrument_code: str | None = None
                               ) -> dict[tuple[str, str], int]:
        """Non-zero strategy positions (of ``instrument_code`` only, if given: one indexed
        query instead of every position)."""
        self.ledger.sweep(["strategy_position"])
        where = None if instrument_code is None else {"instrument_code": instrument_code}
        return {(doc["strategy_name"], doc["instrument_code"]): int(doc["position"])
                for _, doc in self.store.find(STRATEGY_POSITIONS, where) if doc["position"]}

    def all_contract_positions(self) -> dict[tuple[str, str], int]:
        """Non-zero contract positions."""
        self.ledger.sweep(["contract_position"])
        return {(doc["instrument_code"], doc["contract_date"]): int(doc["position"])
                for _, doc in self.store.find(CONTRACT_POSITIONS) if doc["position"]}

    # adjusting ----------------------------------------------------------------------------
    def adjust_position(self, instrument_code: str, quantity: int, timestamp, reason: str,
                        strategy_name: str | None = None, contract_date: str | None = None,
                        based_on: PositionRead | None = None,
                        adjustment_id: str | None = None) -> int:
        """Book a position adjustment (not a fill) of ``quantity`` contracts; returns its ledger
        sequence number. ``based_on``: only if the ledger has not moved since that read
        (ConcurrencyError otherwise). ``adjustment_id`` makes a retried call idempotent."""
        record = PositionAdjustment(adjustment_id or uuid.uuid4().hex, instrument_code,
                                    _check_position(quantity), timestamp, reason,
                                    strategy_name, contract_date)
        return self.ledger.book_adjustment(
            record, expected_head=None if based_on is None else based_on.covered_seq).seq

    def set_strategy_position(self, strategy_name: str, instrument_code: str, position: int,
                              timestamp, reason: str = "set by hand") -> None:
        """Make the position ``position`` by booking the difference (none if already there)."""
        self._set(lambda: self.read_strategy_position(strategy_name, instrument_code),
                  position, dict(instrument_code=instrument_code, strategy_name=strategy_name),
                  timestamp, reason)

    def set_contract_position(self, instrument_code: str, contract_date: str, position: int,
                              timestamp, reason: str = "set by hand") -> None:
        contract_date = validate_contract_date(contract_date)
        self._set(lambda: self.read_contract_position(instrument_code, contract_date),
                  position, dict(instrument_code=instrument_code, contract_date=contract_date),
                  timestamp, reason)

    def _set(self, read, position, labels, timestamp, reason) -> None:
        target = _check_position(position)
        for _ in range(SET_RETRIES):
            current = read()
            if current.position == target:
                return
            try:
                self.adjust_position(quantity=target - current.position, timestamp=timestamp,
                                     reason=reason, based_on=current, **labels)
                return
            except ConcurrencyError:
                continue  # a fill or another adjustment came in: read again
        raise ConcurrencyError(f"position {labels}: the ledger keeps moving; try again")

    # history ------------------------------------------------------------------------------
    def history(self, kind: str, key: str) -> list[dict[str, Any]]:
        """Every change of one position, oldest first: ``position`` after it, ``quantity``,
        ``timestamp``, ``reason`` (fills: ``fill <exec_id>``) and ledger ``seq``
        (``kind`` is the collection name)."""
        projection = KIND_PROJECTION[kind]
        field = PROJECTIONS[projection].field
        out, position = [], 0
        for doc in self.ledger.records(0, None, {field: key}):
            record = doc["record"]
            position += record["quantity"]
            reason = record.get("reason") or f"fill {record.get('exec_id')}"
            out.append({"position": position, "quantity": record["quantity"],
                        "timestamp": record["timestamp"], "reason": reason, "seq": doc["seq"]})
        return out
