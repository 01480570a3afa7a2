"""The three order stacks (instrument, contract, broker) and their history, in the state store.

An order is stored as a mapping with at least ``order_id`` (int, allocated atomically per stack
by :meth:`OrderStackData.new_order_id`). Active orders live in ``<stack>_stack``; a completed or
cancelled order is moved to ``<stack>_history`` atomically. Keys are the zero-padded id so key
order is id order.
"""
from __future__ import annotations

from typing import Any

from syscore.exceptions import ExistingData, InvalidData, MissingData
from sysdata.state.base import Delete, Insert, Operation, Put, StateStore

STACKS = ("instrument", "contract", "broker")


def order_key(order_id: int) -> str:
    if isinstance(order_id, bool) or not isinstance(order_id, int) or order_id <= 0:
        raise InvalidData(f"order id must be a positive integer, got {order_id!r}")
    return f"{order_id:012d}"


class OrderStackData:
    def __init__(self, store: StateStore, stack: str):
        if stack not in STACKS:
            raise InvalidData(f"unknown order stack {stack!r}; expected one of {STACKS}")
        self.store = store
        self.stack = stack
        self.active = f"{stack}_stack"
        self.history_collection = f"{stack}_history"

    def new_order_id(self) -> int:
        """Allocate an id no other process will ever get (ids may have gaps)."""
        return self.store.next_id(f"{self.stack}_order_id")

    def _check(self, order: dict[str, Any]) -> str:
        if not isinstance(order, dict) or "order_id" not in order:
            raise InvalidData("an order must be a mapping with an 'order_id'")
        return order_key(order["order_id"])

    def add_order_op(self, order: dict[str, Any]) -> Operation:
        key = self._check(order)
        return Insert(self.active, key, order)

    def add_order(self, order: dict[str, Any]) -> None:
        """Put a new order on the stack; :class:`ExistingData` if the id is taken."""
        key = self._check(order)
        if self.store.exists(self.history_collection, key):
            raise ExistingData(f"{self.stack} order {order['order_id']} is already in history")
        self.store.apply([self.add_order_op(order)])

    def update_order_op(self, order: dict[str, Any]) -> Operation:
        return Put(self.active, self._check(order), order)

    def update_order(self, order: dict[str, Any]) -> None:
        key = self._check(order)
        if not self.store.exists(self.active, key):
            raise MissingData(f"{self.stack} order {order['order_id']} is not on the stack")
        self.store.apply([self.update_order_op(order)])

    def get_order(self, order_id: int) -> dict[str, Any]:
        doc = self.store.get(self.active, order_key(order_id))
        if doc is None:
            raise MissingData(f"{self.stack} order {order_id} is not on the stack")
        return doc

    def has_order(self, order_id: int) -> bool:
        return self.store.exists(self.active, order_key(order_id))

    def order_ids(self, where: dict[str, Any] | None = None) -> list[int]:
        return [int(k) for k in self.store.keys(self.active, where)]

    def orders(self, where: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        return [doc for _, doc in self.store.find(self.active, where)]

    def archive_order_ops(self, order: dict[str, Any]) -> list[Operation]:
        key = self._check(order)
        return [Put(self.history_collection, key, order), Delete(self.active, key)]

    def archive_order(self, order_id: int) -> None:
        """Move an order from the stack to history in one atomic change."""
        self.store.apply(self.archive_order_ops(self.get_order(order_id)))

    def historic_order(self, order_id: int) -> dict[str, Any]:
        doc = self.store.get(self.history_collection, order_key(order_id))
        if doc is None:
            raise MissingData(f"{self.stack} order {order_id} is not in history")
        return doc

    def historic_orders(self, where: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        return [doc for _, doc in self.store.find(self.history_collection, where)]
