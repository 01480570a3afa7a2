"""Current positions and their history, in the state store.

Positions are whole contracts (int). A strategy/instrument position is keyed
``STRATEGY/INSTRUMENT``; a contract position ``INSTRUMENT/YYYYMM[DD]``. Each change writes the
new current value and one history record in a single atomic change, and the ``*_ops`` methods
return those operations so callers can combine them with other records (a fill and its position
change) in one :meth:`StateStore.apply`.
"""
from __future__ import annotations

from typing import Any

from syscore.dates import iso_utc
from syscore.exceptions import InvalidData
from sysdata.contracts import contract_key
from sysdata.state.base import Insert, Operation, Put, StateStore
from sysobjects.contracts import validate_contract_date
from sysobjects.instruments import validate_instrument_code

STRATEGY_POSITIONS = "strategy_positions"
CONTRACT_POSITIONS = "contract_positions"
POSITION_HISTORY = "position_history"


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


class PositionData:
    def __init__(self, store: StateStore):
        self.store = store

    # strategy / instrument --------------------------------------------------------------
    strategy_key = staticmethod(strategy_instrument_key)

    def get_strategy_position(self, strategy_name: str, instrument_code: str) -> int:
        return self._current(STRATEGY_POSITIONS, self.strategy_key(strategy_name, instrument_code))

    def strategy_position_ops(self, strategy_name: str, instrument_code: str, position: int,
                              timestamp, reason: str = "") -> list[Operation]:
        key = self.strategy_key(strategy_name, instrument_code)
        return self._ops(STRATEGY_POSITIONS, key, position, timestamp, reason,
                         {"strategy_name": strategy_name, "instrument_code": instrument_code})

    def set_strategy_position(self, strategy_name: str, instrument_code: str, position: int,
                              timestamp, reason: str = "") -> None:
        self.store.apply(self.strategy_position_ops(strategy_name, instrument_code, position,
                                                    timestamp, reason))

    def all_strategy_positions(self) -> dict[tuple[str, str], int]:
        return {
            (doc["strategy_name"], doc["instrument_code"]): int(doc["position"])
            for _, doc in self.store.find(STRATEGY_POSITIONS)
        }

    # contract ---------------------------------------------------------------------------
    contract_key = staticmethod(contract_key)

    def get_contract_position(self, instrument_code: str, contract_date: str) -> int:
        return self._current(CONTRACT_POSITIONS, self.contract_key(instrument_code, contract_date))

    def contract_position_ops(self, instrument_code: str, contract_date: str, position: int,
                              timestamp, reason: str = "") -> list[Operation]:
        key = self.contract_key(instrument_code, contract_date)
        return self._ops(CONTRACT_POSITIONS, key, position, timestamp, reason,
                         {"instrument_code": instrument_code,
                          "contract_date": validate_contract_date(contract_date)})

    def set_contract_position(self, instrument_code: str, contract_date: str, position: int,
                              timestamp, reason: str = "") -> None:
        self.store.apply(self.contract_position_ops(instrument_code, contract_date, position,
                                                    timestamp, reason))

    def all_contract_positions(self) -> dict[tuple[str, str], int]:
        return {
            (doc["instrument_code"], doc["contract_date"]): int(doc["position"])
            for _, doc in self.store.find(CONTRACT_POSITIONS)
        }

    # current value and history ----------------------------------------------------------
    def _current(self, collection: str, key: str) -> int:
        doc = self.store.get(collection, key)
        return int(doc["position"]) if doc else 0

    def _ops(self, collection: str, key: str, position: Any, timestamp, reason: str,
             labels: dict[str, str]) -> list[Operation]:
        position = _check_position(position)
        stamp = iso_utc(timestamp)
        seq = self.store.next_id("position_history")
        current = {"position": position, "timestamp": stamp, **labels}
        history = {"kind": collection, "key": key, "position": position, "timestamp": stamp,
                   "reason": reason, **labels}
        return [Put(collection, key, current), Insert(POSITION_HISTORY, f"{seq:012d}", history)]

    def history(self, kind: str, key: str) -> list[dict[str, Any]]:
        """History records of one position, oldest first (``kind`` is the collection name)."""
        return [doc for _, doc in self.store.find(POSITION_HISTORY, {"kind": kind, "key": key})]
