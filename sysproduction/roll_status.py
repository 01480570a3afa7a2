"""Roll status: what the roll report shows per instrument, the auto-roll suggestion, the
trade-limit check for a forced roll, and the unattended ``auto_update_roll_status`` (the method
of the ``run_auto_roll_status`` process).

The console (``interactive_update_roll_status``) and the unattended process call these same
functions. Changes go through :func:`sysproduction.update_roll_state.update_roll_state` (the
transition table) and :func:`sysproduction.roll_adjusted_prices.roll_adjusted_prices` (both
price series or neither). Days are calendar days from the blob's clock (UTC date); volumes are
average daily contracts (:func:`sysobjects.roll_decision.average_daily_volume`).

    python run.py sysproduction.roll_status.auto_update_roll_status --enabled true
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from sysdata.data_blob import DataBlob
from syslogdiag.context import get_logger
from sysobjects.multiple_prices import MultiplePrices
from sysobjects.roll_decision import (
    AutoRollRules,
    RollInfo,
    RollSuggestion,
    average_daily_volume,
    force_roll_trade_size,
    suggest_roll_state,
)
from sysobjects.roll_state import RollState, allowed_roll_states
from sysproduction.process_helpers import (
    Outcome,
    ProcessReport,
    blob_for,
    each_item,
    stored_multiple_tail,
)
from sysproduction.roll_adjusted_prices import roll_adjusted_prices
from sysproduction.update_roll_state import update_roll_state

PROCESS = "auto_update_roll_status"
FORCED_STATES = (RollState.FORCE, RollState.FORCE_OUTRIGHT, RollState.CLOSE)


def auto_roll_rules(data: DataBlob) -> AutoRollRules:
    """The configured rules (``roll_status_auto_update``)."""
    return AutoRollRules.from_config(data.config.roll_status_auto_update)


def _contract_volume(data: DataBlob, code: str, contract: str, now: pd.Timestamp) -> float:
    for frequency in ("D", "merged"):  # daily bars when stored: hourly ones would double count
        if data.contract_prices.has(code, contract, frequency):
            prices = data.contract_prices.read(code, contract, frequency)
            if "VOLUME" in prices.columns:
                return average_daily_volume(prices["VOLUME"], now)
    return math.nan


def roll_info(data: DataBlob, instrument_code: str) -> RollInfo:
    """The roll report's figures for one instrument (:class:`RollInfo`)."""
    last = stored_multiple_tail(data, instrument_code)
    priced, forward, _ = MultiplePrices(last).current_contracts()
    now = data.now()
    today = now.tz_convert("UTC").tz_localize(None).normalize()
    days_to_expiry = days_to_roll = None
    if data.contracts.has(instrument_code, priced):
        expiry = data.contracts.get(instrument_code, priced).expiry_date
        if expiry is not None:
            days_to_expiry = (pd.Timestamp(expiry) - today).days
            if data.roll_parameters.has(instrument_code):
                offset = data.roll_parameters.get(instrument_code).roll_offset_days
                days_to_roll = days_to_expiry + offset
    return RollInfo(
        instrument_code=instrument_code,
        roll_state=data.roll_states.state(instrument_code),
        priced_contract=priced, forward_contract=forward,
        position=data.positions.get_contract_position(instrument_code, priced),
        days_to_expiry=days_to_expiry, days_to_roll=days_to_roll,
        priced_volume=_contract_volume(data, instrument_code, priced, now),
        forward_volume=_contract_volume(data, instrument_code, forward, now),
    )


def _days(value: int | None) -> str:
    return "?" if value is None else str(value)


def roll_report_text(info: RollInfo) -> str:
    """The roll report for one instrument (shown before any decision)."""
    return "\n".join([
        f"Roll report {info.instrument_code}: state {info.roll_state.value}",
        f"  priced {info.priced_contract} (position {info.position}), forward "
        f"{info.forward_contract}",
        f"  days to roll {_days(info.days_to_roll)}, days to expiry "
        f"{_days(info.days_to_expiry)}",
        f"  volumes (contracts/day): priced {info.priced_volume:.1f}, forward "
        f"{info.forward_volume:.1f}, relative {info.relative_volume:.2f}",
    ])


def rollable_instruments(data: DataBlob) -> list[str]:
    """Instruments with multiple prices, not ignored (``ignore_instruments``), sorted."""
    ignored = data.config.ignored_instruments
    return sorted(c for c in data.multiple_prices.list_codes() if c not in ignored)


def instruments_near_roll(data: DataBlob, days_ahead: int | None = None) -> list[RollInfo]:
    """Roll info of instruments whose priced contract rolls or expires within ``days_ahead``
    days (default config ``days_ahead``), soonest first; instruments without an expiry are
    left out."""
    days_ahead = auto_roll_rules(data).days_ahead if days_ahead is None else days_ahead
    infos = []
    for code in rollable_instruments(data):
        info = roll_info(data, code)
        if info.days_to_act is not None and info.days_to_act <= days_ahead:
            infos.append(info)
    return sorted(infos, key=lambda i: (i.days_to_act, i.instrument_code))


def suggest(data: DataBlob, instrument_code: str,
            rules: AutoRollRules | None = None) -> tuple[RollInfo, RollSuggestion]:
    info = roll_info(data, instrument_code)
    return info, suggest_roll_state(info, rules or auto_roll_rules(data))


def trade_limit_warning(data: DataBlob, instrument_code: str, state: RollState,
                        position: int) -> str | None:
    """A warning when a trade limit of the instrument has less room left than the forced roll
    needs (:func:`~sysobjects.roll_decision.force_roll_trade_size`), else None."""
    if state not in FORCED_STATES or position == 0:
        return None
    needed = force_roll_trade_size(position, state)
    blocked = []
    for limit in data.trade_limits.all_limits():
        if limit["instrument_code"] != instrument_code:
            continue
        left = data.trade_limits.remaining(instrument_code, limit["period_days"], data.now(),
                                           limit["strategy_name"])
        if left < needed:
            blocked.append(f"{limit['strategy_name']}/{limit['period_days']}d has {left} left")
    if not blocked:
        return None
    return (f"WARNING: {state.value} of {instrument_code} trades {needed} contracts but the "
            f"trade limits would block it ({'; '.join(blocked)}): raise or reset the limit "
            f"(interactive_controls) or the roll orders will not trade")


@dataclass(frozen=True)
class RollStatusChange:
    """What happened to one instrument: states before/after, whether prices were rolled."""

    instrument_code: str
    before: RollState
    after: RollState
    reason: str
    prices_rolled: bool = False
    warning: str | None = None

    @property
    def outcome(self) -> Outcome:
        return Outcome.DONE if self.before is not self.after or self.prices_rolled \
            else Outcome.UNCHANGED

    def __str__(self) -> str:
        change = (f"{self.before.value} -> {self.after.value}" if self.before is not self.after
                  else f"stays {self.after.value}")
        text = f"{self.instrument_code}: {change}" + (", prices rolled" if self.prices_rolled
                                                      else "") + f" ({self.reason})"
        return text + (f"; {self.warning}" if self.warning else "")


def roll_prices_or_restore(data: DataBlob, instrument_code: str, previous: RollState) -> str:
    """Roll the adjusted prices (state must be Roll_Adjusted); on failure put the roll state
    back to ``previous`` (the state before Roll_Adjusted was set) and raise."""
    try:
        return roll_adjusted_prices(instrument_code, confirm=True, data=data)
    except Exception:
        if previous is not RollState.ROLL_ADJUSTED:
            data.roll_states.set(instrument_code, previous)
            get_logger(PROCESS, instrument_code=instrument_code).warning(
                "%s: rolling the prices failed; roll state put back to %s", instrument_code,
                previous.value)
        raise


def auto_roll_instrument(data: DataBlob, instrument_code: str,
                         rules: AutoRollRules | None = None,
                         near_only: bool = False) -> RollStatusChange:
    """The unattended decision for one instrument: the suggestion (``Ask`` resolves to
    ``Force``), applied if allowed, and the prices rolled when the state is Roll_Adjusted.
    ``near_only``: leave it alone unless it rolls or expires within ``rules.days_ahead``."""
    log = get_logger(PROCESS, instrument_code=instrument_code)
    rules = rules or auto_roll_rules(data)
    info, suggestion = suggest(data, instrument_code, rules)
    if near_only and (info.days_to_act is None or info.days_to_act > rules.days_ahead):
        when = "no expiry known" if info.days_to_act is None else \
            f"rolls or expires in {info.days_to_act} days"
        return RollStatusChange(instrument_code, info.roll_state, info.roll_state,
                                f"{when}: not within {rules.days_ahead} days")
    state, reason = suggestion.state, suggestion.reason
    if state is None and suggestion.allowed:  # Ask: unattended, a position must roll
        if RollState.FORCE in allowed_roll_states(info.roll_state, info.position != 0):
            state, reason = RollState.FORCE, f"{reason}; unattended: Force"
    if state is None:
        log.warning("%s: roll state left at %s: %s", instrument_code, info.roll_state.value,
                    reason)
        return RollStatusChange(instrument_code, info.roll_state, info.roll_state, reason)
    if state is not info.roll_state:
        update_roll_state(instrument_code, state.value, data=data)
    warning = trade_limit_warning(data, instrument_code, state, info.position)
    if warning:
        log.warning(warning)
    rolled = False
    if state is RollState.ROLL_ADJUSTED:
        roll_prices_or_restore(data, instrument_code, info.roll_state)
        rolled, state = True, RollState.NO_ROLL
    change = RollStatusChange(instrument_code, info.roll_state, state, reason, rolled, warning)
    log.info("%s (reason=%s)", change, reason)
    return change


def auto_update_roll_status(data: DataBlob | None = None,
                         enabled: bool | None = None) -> ProcessReport:
    """Every instrument rolling or expiring within ``days_ahead`` days (config
    ``roll_status_auto_update``) through :func:`auto_roll_instrument`, soonest first; one
    failing does not stop the others (alerted). For unattended use (the
    ``run_auto_roll_status`` process); instruments further from their roll are not looked at
    (a liquid forward months ahead is no reason to roll).

    Opt-in: unless ``enabled`` (default: config ``roll_status_auto_update.unattended_enabled``,
    false) nothing is looked at or changed and the report is empty (one INFO line says so)."""
    with blob_for(data, PROCESS) as blob:
        rules = auto_roll_rules(blob)
        if enabled is None:
            enabled = blob.config.roll_status_auto_update.unattended_enabled
        if not enabled:
            get_logger(PROCESS).info("auto_update_roll_status is off (roll_status_auto_update."
                                     "unattended_enabled is false): nothing changed")
            return ProcessReport(PROCESS)
        return each_item(blob, PROCESS, rollable_instruments(blob), lambda code: code,
                         lambda code: auto_roll_instrument(blob, code, rules, near_only=True))
