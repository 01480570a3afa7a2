"""``interactive_update_roll_status``: decide roll states, four ways.

1. Manual: type instrument codes; for each the roll report, the suggestion, then a choice among
   the states the transition table allows (``sysobjects.roll_state``).
2. Cycle: every instrument whose priced contract rolls or expires within N days (default config
   ``roll_status_auto_update.days_ahead``), decided by hand as in 1.
3. Auto-decide with confirmation: as 2, but the auto-roll rules (``sysobjects.roll_decision``)
   suggest the state and the operator confirms each (no: unchanged; undecided: as 1).
4. Fully automatic: as 3 without the per-instrument confirmation (one confirmation for the whole
   list first); undecided instruments (``Ask``) are still put to the operator.

Every decision starts with the roll report. Choosing Force, Force_Outright or Close with a
position warns when the trade limits would block the roll
(:func:`sysproduction.roll_status.trade_limit_warning`). Choosing Roll_Adjusted shows what the
price roll appends and asks before writing (modes 1-3; automatic in 4); declined, failed, or
the input ending (Ctrl-D) or Ctrl-C at the question, the roll state goes back to what it was;
end of input also ends a cycle at once (the instruments left are not looked at). A decision is applied only if the instrument's roll state
and priced contract are still those the operator was shown (another process may have rolled it
meanwhile): otherwise nothing is done and it says so. Functions called: ``roll_status.roll_info``,
``roll_status.suggest``, ``update_roll_state.update_roll_state``,
``roll_adjusted_prices.roll_adjusted_prices``.

    python run.py sysproduction.interactive_update_roll_status.interactive_update_roll_status
"""
from __future__ import annotations

from collections.abc import Callable

from syscore.menu import RECOVERABLE, Ask, Console, ConsoleExit, Menu, Option, Say, bound_to
from sysdata.data_blob import DataBlob
from syslogdiag.context import get_logger
from sysobjects.roll_decision import RollInfo, RollSuggestion
from sysobjects.roll_state import RollState, allowed_roll_states
from sysproduction.process_helpers import run_console
from sysproduction.roll_adjusted_prices import NOT_WRITTEN_HINT, roll_adjusted_prices
from sysproduction.roll_status import (
    auto_roll_rules,
    instruments_near_roll,
    roll_info,
    roll_prices_or_restore,
    roll_report_text,
    suggest,
    trade_limit_warning,
)
from sysproduction.update_roll_state import update_roll_state

PROCESS = "interactive_update_roll_status"
NO_CHANGE = "no change"


def _suggestion_text(suggestion: RollSuggestion) -> str:
    state = suggestion.state.value if suggestion.state else "none (decide by hand)"
    return f"  suggested: {state} ({suggestion.reason})"


def apply_roll_state(data: DataBlob, console: Console, info: RollInfo, state: RollState,
                     confirm_price_roll: bool = True) -> None:
    """Set ``state`` (through the transition table); for Roll_Adjusted roll the prices too
    (previewed and confirmed when ``confirm_price_roll``); declined, failed or interrupted (end
    of input, Ctrl-C) before the prices are rolled, the state goes back to ``info.roll_state``."""
    code = info.instrument_code
    now = roll_info(data, code)
    if (now.roll_state, now.priced_contract) != (info.roll_state, info.priced_contract):
        # another process (the unattended roll, a second console) acted while the operator
        # read and decided: a decision on the old figures could roll the prices twice
        console.say(f"{code}: changed since the plan was shown (now {now.roll_state.value}, "
                    f"priced {now.priced_contract}); nothing done: decide again")
        return
    if state is info.roll_state and state is not RollState.ROLL_ADJUSTED:
        console.say(f"{code}: stays {state.value}")
        return
    warning = trade_limit_warning(data, code, state, info.position)
    if warning:
        console.say(warning)
    if state is not info.roll_state:
        console.say(update_roll_state(code, state.value, data=data))
    if state is not RollState.ROLL_ADJUSTED:
        return
    if confirm_price_roll:
        try:
            preview = roll_adjusted_prices(code, confirm=False, data=data)
            # the command line's "run again with --confirm" hint: here the question follows
            console.say(preview.removesuffix("\n" + NOT_WRITTEN_HINT))
            go_on = console.confirm(f"roll the multiple and adjusted prices of {code}?")
        except BaseException:  # a failed preview, end of input or Ctrl-C at the question
            _restore(data, console, info)
            raise
        if not go_on:
            _restore(data, console, info)
            return
    console.say(roll_prices_or_restore(data, code, info.roll_state))


def _restore(data: DataBlob, console: Console, info: RollInfo) -> None:
    if info.roll_state is RollState.ROLL_ADJUSTED:
        return
    data.roll_states.set(info.instrument_code, info.roll_state)
    get_logger(PROCESS, instrument_code=info.instrument_code).info(
        "%s: prices not rolled; roll state put back to %s", info.instrument_code,
        info.roll_state.value)
    console.say(f"{info.instrument_code}: prices not rolled; roll state back to "
                f"{info.roll_state.value}")


def decide_by_hand(data: DataBlob, console: Console, code: str) -> None:
    """Roll report, suggestion, then a choice among the allowed states."""
    info, suggestion = suggest(data, code)
    console.say(roll_report_text(info))
    console.say(_suggestion_text(suggestion))
    allowed = [s.value for s in allowed_roll_states(info.roll_state, info.position != 0)]
    for state in allowed:
        console.say(f"  {state}: {RollState.from_name(state).explanation}")
    default = suggestion.state.value if suggestion.state and suggestion.state.value in allowed \
        else NO_CHANGE
    chosen = console.choice(f"new roll state for {code}", [*allowed, NO_CHANGE],
                            default=default)
    if chosen == NO_CHANGE:
        console.say(f"{code}: unchanged ({info.roll_state.value})")
        return
    apply_roll_state(data, console, info, RollState.from_name(chosen))


def _near_roll(data: DataBlob, console: Console) -> list[RollInfo]:
    days = console.integer("instruments rolling or expiring within how many days",
                           default=auto_roll_rules(data).days_ahead, minimum=0)
    infos = instruments_near_roll(data, days)
    if not infos:
        console.say(f"no instrument rolls or expires within {days} days")
    else:
        console.say("to review: " + ", ".join(
            f"{i.instrument_code} ({i.days_to_act} days)" for i in infos))
    return infos


def _each(console: Console, codes: list[str], decide: Callable[[str], None]) -> None:
    """``decide`` each instrument; one failing says ``error: CODE: ...`` and the next goes on.
    End of input (:class:`ConsoleExit`) ends the cycle: the operator is gone."""
    for code in codes:
        try:
            decide(code)
        except ConsoleExit:
            raise
        except RECOVERABLE as exc:
            console.say(f"error: {code}: {exc}")


def resolve_instrument_code(data: DataBlob, typed: str) -> str:
    """The configured instrument code for ``typed``, matched without regard to case
    (``held`` -> ``HELD``, ``sp500_MICRO`` -> ``SP500_micro``): codes are not all upper case.
    An exact match wins; otherwise ``typed`` upper-cased, which ``require`` then refuses by name
    when it is unknown."""
    if data.instruments.has(typed):
        return typed
    matches = [code for code in data.instruments.list_codes() if code.upper() == typed.upper()]
    return matches[0] if len(matches) == 1 else typed.upper()


def mode_manual(data: DataBlob, console: Console) -> None:
    codes = console.text("instrument codes (comma-separated)")

    def decide(code: str) -> None:
        data.instruments.require(code)
        decide_by_hand(data, console, code)

    _each(console, [resolve_instrument_code(data, c.strip()) for c in codes.split(",")
                    if c.strip()], decide)


def mode_cycle_manual(data: DataBlob, console: Console) -> None:
    _each(console, [i.instrument_code for i in _near_roll(data, console)],
          lambda code: decide_by_hand(data, console, code))


def mode_auto_confirm(data: DataBlob, console: Console) -> None:
    _each(console, [i.instrument_code for i in _near_roll(data, console)],
          lambda code: _auto_confirm_one(data, console, code))


def _auto_confirm_one(data: DataBlob, console: Console, code: str) -> None:
    info, suggestion = suggest(data, code)
    console.say(roll_report_text(info))
    console.say(_suggestion_text(suggestion))
    if suggestion.state is None:
        decide_by_hand(data, console, info.instrument_code)
    elif suggestion.state is info.roll_state and \
            suggestion.state is not RollState.ROLL_ADJUSTED:
        console.say(f"{info.instrument_code}: stays {info.roll_state.value}")
    elif console.confirm(f"set {info.instrument_code} to {suggestion.state.value}?"):
        apply_roll_state(data, console, info, suggestion.state)
    else:
        console.say(f"{info.instrument_code}: unchanged ({info.roll_state.value})")


def mode_automatic(data: DataBlob, console: Console) -> None:
    plan = [suggest(data, near.instrument_code) for near in _near_roll(data, console)]
    if not plan:
        return
    for info, suggestion in plan:
        console.say(f"{roll_report_text(info)}\n{_suggestion_text(suggestion)}")
    if not console.confirm(f"apply the suggestions to {len(plan)} instruments, rolling prices "
                           f"without asking?"):
        console.say("nothing changed")
        return
    suggested = {info.instrument_code: suggestion.state for info, suggestion in plan}
    planned = {info.instrument_code: info for info, _ in plan}

    def apply(code: str) -> None:
        if suggested[code] is None:
            decide_by_hand(data, console, code)
        else:
            apply_roll_state(data, console, planned[code], suggested[code],
                             confirm_price_roll=False)

    _each(console, list(suggested), apply)


def roll_status_menu(data: DataBlob) -> Menu:
    on = bound_to(data)
    return Menu("Roll status", (
        Option("manual: type instrument codes, decide by hand", on(mode_manual)),
        Option("cycle instruments near their roll, decide by hand", on(mode_cycle_manual)),
        Option("cycle, auto-decide, confirm each", on(mode_auto_confirm)),
        Option("cycle, fully automatic (one confirmation)", on(mode_automatic)),
    ))


def interactive_update_roll_status(data: DataBlob | None = None, ask: Ask = input,
                                   say: Say = print) -> None:
    """Run the roll-status console until ``0`` or end of input (module docstring)."""
    run_console(data, PROCESS, roll_status_menu, ask, say)
