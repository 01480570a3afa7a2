"""Hourly total-capital update: poll the broker, book the p&l, apply the capital method.

One run:

1. polls the broker's account value (``net_liquidation`` and ``margin_used``, both in the base
   currency; the broker's base currency must equal ``base_currency`` in the configuration);
2. with no stored total capital (first run, or after everything was deleted) initialises it
   from the account value: total = high-water mark = broker value, accumulated p&l 0. This is
   logged at WARNING so the operator sees where the figure came from;
3. otherwise measures p&l against the last stored *broker* value and applies
   ``production_capital_method`` (``full`` / ``half`` / ``fixed``; rules in
   :mod:`sysobjects.capital`); accumulated p&l adds the p&l whatever the method;
4. appends one row to the total-capital history (columns ``total``, ``broker``, ``max``,
   ``acc_pnl``, ``margin``) stamped with the data blob's clock (UTC).

An unchanged broker value still adds a row (p&l 0): the history then shows every poll, and a
gap in it means the process did not run. A second run at the same clock instant, or a clock
before the last stored row, is refused with :class:`~syscore.exceptions.InvalidData` and writes
nothing.

Large changes. A p&l of more than ``capital_large_change_limit`` (default 0.10, a fraction of
the last stored broker value; exactly the limit is accepted) is *refused*: a CRITICAL alert
(subject :data:`LARGE_CHANGE_SUBJECT`) is stored and nothing is written. Every later run
refuses again while the broker value stays that far away (the alert system throttles the
repeated subject). Nothing pending is stored: the confirmation is of the broker value *at the
time of confirming*, re-polled, never of an old figure. To confirm, either

* run ``interactive_update_capital_manual`` and choose "confirm a large change" (it re-polls
  the broker, shows the p&l and resulting capital, and asks), or
* ``python run.py update_total_capital.update_total_capital --confirm_large_change``.

A deposit or withdrawal is not p&l: book it with ``interactive_update_capital_manual``
(see ``docs/capital.md``).

    python run.py sysproduction.update_total_capital.update_total_capital
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum

import pandas as pd

from syscore.exceptions import InvalidData, MissingData
from syscore.formatting import format_timestamp
from sysdata.data_blob import DataBlob
from syslogdiag.alerts import alert
from syslogdiag.context import get_logger
from sysobjects.capital import (
    CapitalMethod,
    CapitalState,
    CapitalUpdate,
    LargeCapitalChangeError,
    check_change_size,
    update_capital,
)
from sysproduction.process_helpers import Outcome, blob_for

PROCESS = "update_total_capital"
LARGE_CHANGE_SUBJECT = "Large change in total capital refused"


class TotalCapitalAction(str, Enum):
    """What one run did."""

    INITIALISED = "initialised"  # no stored capital: started from the broker value
    UPDATED = "updated"  # a normal update (p&l within the limit)
    CONFIRMED = "confirmed"  # a large change applied because it was confirmed
    REFUSED = "refused"  # a large change not confirmed: alerted, nothing written


@dataclass(frozen=True)
class TotalCapitalResult:
    """Outcome of one run (amounts in base currency, ``timestamp`` UTC).

    ``state`` is the state written, or for ``REFUSED`` the stored state left unchanged;
    ``broker_account_value`` and ``margin`` are what the broker reported; ``pandl`` is the p&l
    booked (for ``REFUSED``: the p&l that was refused; for ``INITIALISED``: 0).
    """

    action: TotalCapitalAction
    timestamp: pd.Timestamp
    broker_account_value: float
    margin: float
    pandl: float
    state: CapitalState
    alert_id: int | None = None

    @property
    def ok(self) -> bool:
        """False when a large change was refused (the command then exits 1)."""
        return self.action is not TotalCapitalAction.REFUSED

    @property
    def outcome(self) -> Outcome:
        return Outcome.WRITTEN if self.ok else Outcome.REFUSED

    def __str__(self) -> str:
        text = (f"total capital {self.action.value} at {format_timestamp(self.timestamp)}: total "
                f"{self.state.total_capital:,.2f}, broker {self.broker_account_value:,.2f}, "
                f"p&l {self.pandl:,.2f}, max {self.state.maximum_capital:,.2f}, "
                f"accumulated p&l {self.state.accumulated_pandl:,.2f}, margin {self.margin:,.2f}")
        if self.action is TotalCapitalAction.REFUSED:
            text += (" (nothing written; confirm it with interactive_update_capital_manual or "
                     "update_total_capital --confirm_large_change true)")
        return text


@dataclass(frozen=True)
class BrokerCapital:
    """The two figures taken from the broker's account value, in ``currency`` (base)."""

    net_liquidation: float
    margin_used: float
    currency: str
    timestamp: pd.Timestamp


# --- stored state ----------------------------------------------------------------------------

def has_total_capital(data: DataBlob) -> bool:
    """True when at least one total-capital row is stored."""
    try:
        return not data.capital.total_capital().empty
    except MissingData:
        return False


def capital_state_from_row(row: pd.Series) -> CapitalState:
    """The :class:`CapitalState` held in one stored row."""
    return CapitalState(
        total_capital=float(row["total"]),
        maximum_capital=float(row["max"]),
        broker_account_value=float(row["broker"]),
        accumulated_pandl=float(row["acc_pnl"]),
    )


def stored_capital_state(data: DataBlob) -> CapitalState:
    """The state in the last stored row; :class:`MissingData` when nothing is stored."""
    return capital_state_from_row(data.capital.last_total())


def last_stored_timestamp(data: DataBlob) -> pd.Timestamp | None:
    """UTC timestamp of the last stored row, or ``None``."""
    try:
        frame = data.capital.total_capital()
    except MissingData:
        return None
    return None if frame.empty else frame.index[-1]


def write_capital_row(data: DataBlob, timestamp: pd.Timestamp, state: CapitalState,
                      margin: float) -> None:
    """Append one row at ``timestamp`` (UTC), which must be after the last stored row."""
    last = last_stored_timestamp(data)
    if last is not None and timestamp <= last:
        raise InvalidData(
            f"total capital: the clock ({timestamp}) is not after the last stored row ({last}); "
            f"nothing written")
    data.capital.add_total(
        timestamp,
        total=state.total_capital,
        broker=state.broker_account_value,
        max=state.maximum_capital,
        acc_pnl=state.accumulated_pandl,
        margin=margin,
    )


# --- broker ----------------------------------------------------------------------------------

def poll_broker_capital(data: DataBlob) -> BrokerCapital:
    """The broker's net liquidation value and margin used, in the base currency.

    :class:`InvalidData` when the broker's base currency is not the configured
    ``base_currency`` or a figure is not a finite number (margin must also be >= 0).
    """
    account = data.broker.get_account_value()
    expected = data.config.base_currency
    if account.base_currency != expected:
        raise InvalidData(
            f"broker account is in {account.base_currency}, but base_currency is {expected}: "
            f"total capital must be in one currency")
    net, margin = account.net_liquidation, account.margin_used
    for name, value in (("net_liquidation", net), ("margin_used", margin)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise InvalidData(f"broker account {name} is not a finite number: {value!r}")
    if margin < 0:
        raise InvalidData(f"broker account margin_used is negative: {margin!r}")
    return BrokerCapital(float(net), float(margin), account.base_currency, account.timestamp)


# --- the update ------------------------------------------------------------------------------

def capital_method(data: DataBlob) -> CapitalMethod:
    """``production_capital_method`` from the configuration."""
    return CapitalMethod(data.config.production_capital_method)


def preview_capital_update(data: DataBlob, broker_value: float) -> tuple[CapitalUpdate, bool]:
    """What an update to ``broker_value`` would give (nothing written), and whether it is a
    large change that needs confirming. :class:`MissingData` when nothing is stored."""
    previous = stored_capital_state(data)
    update = update_capital(previous, broker_value, capital_method(data), confirmed=True,
                            limit=data.config.capital_large_change_limit)
    return update, is_large_change(previous, update.pandl, data.config.capital_large_change_limit)


def is_large_change(previous: CapitalState, pandl: float, limit: float) -> bool:
    """True when ``pandl`` exceeds ``limit`` of the previous broker value (needs confirming)."""
    try:
        check_change_size(previous, pandl, limit)
    except LargeCapitalChangeError:
        return True
    return False


def initialise_from_broker(data: DataBlob, broker: BrokerCapital) -> TotalCapitalResult:
    """Start the history from the broker value (total = high-water mark = broker value)."""
    log = get_logger(PROCESS, type="capital")
    if broker.net_liquidation <= 0:
        raise InvalidData(
            f"cannot initialise total capital from a broker account value of "
            f"{broker.net_liquidation}; initialise it by hand (interactive_update_capital_manual)")
    now = data.now()
    state = CapitalState.initial(broker.net_liquidation)
    write_capital_row(data, now, state, broker.margin_used)
    log.warning("no total capital stored: initialised from the broker account value %.2f %s",
                broker.net_liquidation, broker.currency)
    return TotalCapitalResult(TotalCapitalAction.INITIALISED, now, broker.net_liquidation,
                              broker.margin_used, 0.0, state)


def apply_broker_capital(data: DataBlob, broker: BrokerCapital,
                         confirm_large_change: bool = False) -> TotalCapitalResult:
    """Book ``broker`` against the stored capital and append a row (see module docstring).

    Raises :class:`LargeCapitalChangeError` (nothing written, no alert) for an unconfirmed large
    change; :func:`update_total_capital` turns that into the alert.
    """
    if not has_total_capital(data):
        return initialise_from_broker(data, broker)
    log = get_logger(PROCESS, type="capital")
    previous = stored_capital_state(data)
    limit = data.config.capital_large_change_limit
    update = update_capital(previous, broker.net_liquidation, capital_method(data),
                            confirmed=confirm_large_change, limit=limit)
    large = is_large_change(previous, update.pandl, limit)
    now = data.now()
    write_capital_row(data, now, update.state, broker.margin_used)
    action = TotalCapitalAction.CONFIRMED if large else TotalCapitalAction.UPDATED
    if large:
        log.warning("large capital change confirmed: p&l %.2f on broker value %.2f -> %.2f",
                    update.pandl, previous.broker_account_value, broker.net_liquidation)
    log.info("total capital %.2f (p&l %.2f, broker %.2f, max %.2f, margin %.2f)",
             update.state.total_capital, update.pandl, broker.net_liquidation,
             update.state.maximum_capital, broker.margin_used)
    return TotalCapitalResult(action, now, broker.net_liquidation, broker.margin_used,
                              update.pandl, update.state)


def refuse_large_change(data: DataBlob, broker: BrokerCapital,
                        error: LargeCapitalChangeError) -> TotalCapitalResult:
    """Store the CRITICAL alert for a refused large change; writes no capital."""
    log = get_logger(PROCESS, type="capital")
    previous = stored_capital_state(data)
    pandl = broker.net_liquidation - previous.broker_account_value
    body = (f"{error}. Broker account value {broker.net_liquidation:,.2f} {broker.currency} "
            f"against the last stored {previous.broker_account_value:,.2f}; total capital "
            f"stays {previous.total_capital:,.2f} and nothing was written. If the figure is "
            f"right, confirm it with interactive_update_capital_manual (confirm a large change) "
            f"or `run.py update_total_capital.update_total_capital --confirm_large_change true`; "
            f"book a deposit or withdrawal as a cash flow instead.")
    alert_id = alert(data, LARGE_CHANGE_SUBJECT, body, logger=log)
    return TotalCapitalResult(TotalCapitalAction.REFUSED, data.now(), broker.net_liquidation,
                              broker.margin_used, pandl, previous, alert_id)


def update_total_capital(data: DataBlob | None = None,
                         confirm_large_change: bool = False) -> TotalCapitalResult:
    """Poll the broker and update total capital (module docstring).

    ``confirm_large_change`` applies a p&l over ``capital_large_change_limit`` instead of
    refusing it with a CRITICAL alert. Returns what was done; other failures (broker, store,
    currency mismatch) raise.
    """
    with blob_for(data, PROCESS) as blob:
        broker = poll_broker_capital(blob)
        try:
            return apply_broker_capital(blob, broker, confirm_large_change)
        except LargeCapitalChangeError as error:
            return refuse_large_change(blob, broker, error)
