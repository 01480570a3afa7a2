"""Operator actions on the global trading state (``systrade trading-state``, the order-stack
console): show it with its recent history, set it with a reason.

The stack handler reads the state at every pass, so a change applies from its next loop
(docs/execution.md, "Global trading state").
"""
from __future__ import annotations

import getpass

from sysdata.data_blob import DataBlob
from sysdata.trading_state import TradingStateChange
from sysobjects.trading_state import TradingState


def operator_name() -> str:
    """Who is at the keyboard (the login name; ``unknown`` if it cannot be found)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def show_trading_state(data: DataBlob, history: int = 10) -> str:
    """The current state and the last ``history`` changes, as text (UTC times)."""
    current = data.trading_state.current()
    changes = data.trading_state.history(history)
    lines = [f"trading state: {current.value}"]
    if not changes:
        lines.append("(never set: ACTIVE by default)")
    else:
        lines.append("changes (oldest first):")
        lines += [f"  {change}" for change in changes]
    return "\n".join(lines)


def set_trading_state(data: DataBlob, state: TradingState | str, reason: str,
                      changed_by: str | None = None) -> TradingStateChange | None:
    """Set the state (``ACTIVE``, ``REDUCING``, ``HALTED``, any case) with a ``reason``; the
    change is recorded with the blob's clock and ``changed_by`` (default: the login name).
    Returns the change, or None if the state already was ``state``."""
    who = changed_by or operator_name()
    change = data.trading_state.set(state, reason, data.now(), who)
    if change is not None:
        data.log.warning("trading state %s -> %s by %s: %s", change.previous.value,
                         change.state.value, who, change.reason)
    return change
