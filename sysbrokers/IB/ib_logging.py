"""ib_async's own log lines at the level they deserve in systrade's logs.

ib_async logs every error TWS sends at ERROR (``Error 200, reqId 7: No security definition
...``) and a refused connection twice (``API connection failed: ...``, ``Make sure API port on
TWS/IBG is open``). The IB broker turns each of the codes below into its own outcome (an empty
result, :class:`~sysbrokers.errors.UnknownContract`, ``MarketDataUnavailable``,
``OrderRejected``, the next client id, one ``cannot connect`` line), so ib_async's lines for
them are kept in the log at INFO, not shown as errors: a daily price update asking for a
contract month IB does not list yet is not an error. Every other ib_async error keeps its level.
"""
from __future__ import annotations

import logging
import re

#: TWS codes the IB broker handles itself (see the module docstring)
HANDLED_CODES = frozenset({
    162,    # historical data: pacing violation (retried) or "HMDS query returned no data"
    200,    # no security definition: UnknownContract, or empty bars of an unlisted month
    201,    # order rejected: OrderRejected
    202,    # order cancelled: the confirmation of a cancel
    326,    # client id in use: the next id is tried
    354,    # no market data subscription: MarketDataUnavailable
    10197,  # competing live session: MarketDataUnavailable
    10349,  # "order TIF was set to DAY": informational, the order stays live
})

_ERROR_LINE = re.compile(r"^(?:Error|Warning) (\d+), reqId ")
_CONNECT_LINES = ("API connection failed", "Make sure API port on TWS/IBG is open",
                  "Peer closed connection")


class _HandledByBroker(logging.Filter):
    """Lowers ib_async's records about handled codes to INFO (never drops a record)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.INFO and _is_handled(record.getMessage()):
            record.levelno = logging.INFO
            record.levelname = logging.getLevelName(logging.INFO)
        return True


def _is_handled(message: str) -> bool:
    match = _ERROR_LINE.match(message)
    if match:
        return int(match.group(1)) in HANDLED_CODES
    return message.startswith(_CONNECT_LINES)


_FILTER = _HandledByBroker()


def lower_handled_ib_async_logs() -> None:
    """Install the filter on ib_async's wrapper and client loggers (idempotent)."""
    for name in ("ib_async.wrapper", "ib_async.client"):
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
