"""The alpha rebalancer's latest picks per EXO, in the state store (collection ``alpha_picks``).

A record: ``date`` (ISO UTC text, when the picks were made), ``exposure`` (combined exposure,
a fraction of one EXO unit), ``candidates`` (how many members were considered) and
``members`` (each: ``member``, ``weight``, ``in_sample_sharpe``, ``out_of_sample_sharpe``,
``exposure``).
"""
from __future__ import annotations

from typing import Any

from sysdata.state.base import StateStore

ALPHA_PICKS = "alpha_picks"


class AlphaPicksData:
    """The latest picks of each EXO (key: the EXO name), replaced whole by :meth:`put` (one
    atomic single-record write); times ISO UTC text, exposures fractions of one EXO unit."""

    def __init__(self, store: StateStore):
        self.store = store

    def put(self, exo_name: str, picks: dict[str, Any]) -> None:
        """Replace the picks of ``exo_name``."""
        self.store.put(ALPHA_PICKS, exo_name, picks)

    def get(self, exo_name: str) -> dict[str, Any] | None:
        """The picks of ``exo_name``, or None when it was never rebalanced."""
        return self.store.get(ALPHA_PICKS, exo_name)
