"""``interactive_controls``: an operator console over the trading controls in the state store.

Menus (each option asks its inputs with typed prompts and calls the function named):

1. Trade limits (:class:`~sysdata.controls.TradeLimitData`): view with what is left now, change
   (``set_limit``), reset the trades counted (``reset``, confirmed).
2. Position limits (:class:`~sysdata.controls.PositionLimitData`): view, change (``set_limit``),
   auto-populate from risk (``propose_position_limits`` previewed, then
   ``apply_position_limits`` confirmed).
3. Overrides (:class:`~sysdata.controls.OverrideData`): view, set (``set``, confirmed).
4. Broker client ids (:class:`~sysdata.process_control.ClientIdData`): view with owners, release
   one (``release``, confirmed).
5. Process control (:mod:`sysproduction.process_control_ops`): view, change status
   (GO/STOP/NO-RUN/PAUSE), mark close, mark dead processes as crashed, view configuration.
6. Trading state (:mod:`sysproduction.trading_state_ops`): view with history, set with a
   reason (confirmed).
7. Update configuration (:mod:`sysproduction.control_config_ops`): spread costs from samples
   and fills (all or each, confirmed), price multipliers checked against the broker, roll
   parameters viewed and one field changed (``set_roll_parameter``, confirmed).

Trade limits also has auto-populate from risk (``propose_trade_limits`` previewed, then
``apply_trade_limits`` confirmed).

Every change is logged under the process name ``interactive_controls``. End of input (no
terminal) ends the console.

    python run.py sysproduction.interactive_controls.interactive_controls
"""
from __future__ import annotations

from syscontrol.process_status import ProcessStatus
from syscore.config import load_control_config
from syscore.exceptions import MissingData
from syscore.menu import Ask, Console, Menu, Option, Say, bound_to
from sysdata.controls import (
    ALL_STRATEGIES,
    MAX_POSITION_LIMIT,
    MAX_TRADE_LIMIT,
    MAX_TRADE_LIMIT_PERIOD_DAYS,
    OverrideData,
)
from sysdata.data_blob import DataBlob
from sysobjects.trading_state import TradingState
from sysproduction import control_config_ops as cc
from sysproduction import process_control_ops as pc
from sysproduction.process_helpers import run_console
from sysproduction.trading_state_ops import set_trading_state, show_trading_state

PROCESS = "interactive_controls"
STATUSES = tuple(status.value for status in ProcessStatus)
STATES = tuple(state.value for state in TradingState)
OVERRIDE_KEY_HINT = {"strategy": "strategy name", "instrument": "instrument code",
                     "strategy_instrument": "strategy/INSTRUMENT", "contract": "INSTRUMENT/YYYYMM"}


# --- shared questions ----------------------------------------------------------------------------

def _strategy(console: Console) -> str:
    return console.text("strategy (ALL for every strategy)", default=ALL_STRATEGIES)


def _instrument(console: Console) -> str:
    return console.text("instrument code").upper()


def _process(data: DataBlob, console: Console, allow_all: bool = True) -> str:
    names = [row.name for row in pc.list_processes(data)]
    return console.choice("process", [*names, pc.ALL] if allow_all else names)


def _say_table(console: Console, header: str, rows: list[str], empty: str) -> None:
    """``header`` over ``rows``, one a line; ``empty`` alone when there are no rows."""
    console.say("\n".join([header, *rows]) if rows else empty)


# --- trade and position limits -------------------------------------------------------------------

def _view_trade_limits(data: DataBlob, console: Console) -> None:
    now = data.now()
    limits = sorted(data.trade_limits.all_limits(),
                    key=lambda d: (d["strategy_name"], d["instrument_code"], d["period_days"]))

    def row(doc: dict) -> str:
        left = data.trade_limits.remaining(doc["instrument_code"], doc["period_days"], now,
                                           doc["strategy_name"])
        return (f"{doc['strategy_name']}/{doc['instrument_code']}  {doc['period_days']}d  "
                f"{doc['limit']}  {left}")

    _say_table(console, "strategy/instrument  period  limit  remaining now",
               [row(doc) for doc in limits], "no trade limits set")


def _change_trade_limit(data: DataBlob, console: Console) -> None:
    strategy, code = _strategy(console), _instrument(console)
    period = console.integer("period (days)", default=1, minimum=1,
                             maximum=MAX_TRADE_LIMIT_PERIOD_DAYS)
    limit = console.integer("maximum contracts traded in the period", minimum=0,
                            maximum=MAX_TRADE_LIMIT)
    data.trade_limits.set_limit(code, period, limit, strategy)
    data.log.info("trade limit %s/%s/%dd set to %d", strategy, code, period, limit)
    console.say(f"trade limit {strategy}/{code}/{period}d set to {limit}")


def _reset_trade_limit(data: DataBlob, console: Console) -> None:
    strategy, code = _strategy(console), _instrument(console)
    period = console.integer("period (days)", default=1, minimum=1)
    data.trade_limits.get(code, period, strategy)  # MissingData before asking to confirm
    if not console.confirm(f"forget the trades counted against {strategy}/{code}/{period}d?"):
        console.say("nothing changed")
        return
    data.trade_limits.reset(code, period, strategy)
    data.log.warning("trade limit %s/%s/%dd reset", strategy, code, period)
    console.say(f"trade limit {strategy}/{code}/{period}d reset")


def _risk_settings(data: DataBlob, console: Console, traded_daily: bool = True
                   ) -> cc.AutoLimitSettings:
    """The auto-populate inputs: capital defaulting to the latest total capital (none stored:
    no default, the operator types it), the others to the ``reporting`` config
    (``traded_daily``: also ask the fraction traded a day)."""
    defaults = data.config.reporting
    return cc.AutoLimitSettings(
        capital=console.number(f"capital ({data.config.base_currency})",
                               default=cc.latest_total_capital(data), minimum=0.01),
        risk_target=console.number("risk target (annual, 0.25 = 25%)",
                                   default=defaults.risk_target, minimum=0.001, maximum=10),
        idm=console.number("instrument diversification multiplier", default=defaults.idm,
                           minimum=0.1, maximum=100),
        instrument_weight=console.number("instrument weight", default=defaults.instrument_weight,
                                         minimum=0.0001, maximum=1),
        max_position_traded_daily=console.number(
            "fraction of a standard position traded a day",
            default=defaults.max_position_traded_daily, minimum=0.0001, maximum=100)
        if traded_daily else defaults.max_position_traded_daily)


def _auto_populate_trade_limits(data: DataBlob, console: Console) -> None:
    settings = _risk_settings(data, console)
    periods = _periods(console)
    proposals = cc.propose_trade_limits(data, settings, periods)
    console.say("\n".join([cc.PROPOSAL_HEADER, *map(str, proposals)]))
    changes = [p for p in proposals if p.current != p.proposed]
    if not changes:
        console.say("every limit is already as proposed: nothing changed")
        return
    if not console.confirm(f"set these {len(changes)} trade limit(s) (strategy ALL)?"):
        console.say("nothing changed")
        return
    console.say(f"{cc.apply_trade_limits(data, proposals)} trade limit(s) set")


def _periods(console: Console) -> tuple[int, ...]:
    default = ",".join(str(p) for p in cc.AUTO_TRADE_LIMIT_PERIODS)
    while True:
        text = console.text("periods in days, comma separated", default=default)
        parts = [part.strip() for part in text.split(",") if part.strip()]
        if parts and all(part.isdigit() and 1 <= int(part) <= MAX_TRADE_LIMIT_PERIOD_DAYS
                         for part in parts):
            return tuple(sorted({int(part) for part in parts}))
        console.say(f"not a list of whole numbers of days from 1 to "
                    f"{MAX_TRADE_LIMIT_PERIOD_DAYS}: {text!r}")


def _view_position_limits(data: DataBlob, console: Console) -> None:
    limits = sorted(data.position_limits.all_limits(),
                    key=lambda d: (d["strategy_name"], d["instrument_code"]))
    _say_table(console, "strategy/instrument  limit (contracts, absolute)",
               [f"{doc['strategy_name']}/{doc['instrument_code']}  {doc['limit']}"
                for doc in limits], "no position limits set")


def _change_position_limit(data: DataBlob, console: Console) -> None:
    strategy, code = _strategy(console), _instrument(console)
    old = data.position_limits.get_limit(code, strategy)
    limit = console.integer("maximum absolute position (contracts)", default=old, minimum=0,
                            maximum=MAX_POSITION_LIMIT)
    data.position_limits.set_limit(code, limit, strategy)
    data.log.info("position limit %s/%s set to %d (was %s)", strategy, code, limit, old)
    console.say(f"position limit {strategy}/{code} set to {limit} (was {old})")


def _auto_populate_position_limits(data: DataBlob, console: Console) -> None:
    settings = _risk_settings(data, console, traded_daily=False)
    ratio = console.number("maximum forecast over average forecast", default=cc.MAX_FORECAST_RATIO,
                           minimum=0.1, maximum=100)
    proposals = cc.propose_position_limits(data, settings, ratio)
    console.say("\n".join([cc.POSITION_PROPOSAL_HEADER + "  (contracts, strategy ALL)",
                           *map(str, proposals)]))
    changes = [p for p in proposals if p.current != p.proposed]
    if not changes:
        console.say("every position limit is already as proposed: nothing changed")
        return
    if not console.confirm(f"set these {len(changes)} position limit(s) (strategy ALL)?"):
        console.say("nothing changed")
        return
    console.say(f"{cc.apply_position_limits(data, proposals)} position limit(s) set")


# --- overrides -----------------------------------------------------------------------------------

def _view_overrides(data: DataBlob, console: Console) -> None:
    overrides = sorted(data.overrides.all(), key=lambda d: (d["kind"], d["key"]))
    _say_table(console, "kind  key  multiplier (0 close only, 1 none)",
               [f"{doc['kind']}  {doc['key']}  {doc['value']:g}" for doc in overrides],
               "no overrides set (every multiplier is 1)")


def _set_override(data: DataBlob, console: Console) -> None:
    kind = console.choice("kind", OverrideData.KINDS)
    key = console.text(f"key ({OVERRIDE_KEY_HINT[kind]})")
    old = data.overrides.get(kind, key)
    value = console.number("multiplier (0 close only, 1 no override)", default=old,
                           minimum=0, maximum=1)
    if not console.confirm(f"set the {kind} override {key} from {old:g} to {value:g}?"):
        console.say("nothing changed")
        return
    data.overrides.set(kind, key, value)
    data.log.warning("override %s %s set to %g (was %g)", kind, key, value, old)
    console.say(f"override {kind} {key} set to {value:g}")


# --- broker client ids ---------------------------------------------------------------------------

def _view_client_ids(data: DataBlob, console: Console) -> None:
    _say_table(console, "client id  owner (host:pid)",
               [f"{cid}  {owner}" for cid, owner in sorted(data.client_ids.owners().items())],
               "no broker client ids allocated")


def _release_client_id(data: DataBlob, console: Console) -> None:
    owners = data.client_ids.owners()
    if not owners:
        raise MissingData("no broker client ids allocated")
    chosen = console.choice("client id", [str(cid) for cid in sorted(owners)])
    client_id = int(chosen)
    if not console.confirm(f"release client id {client_id} held by {owners[client_id]} "
                           f"(only if that process is gone)?"):
        console.say("nothing released")
        return
    data.client_ids.release(client_id)
    data.log.warning("broker client id %d of %s released", client_id, owners[client_id])
    console.say(f"client id {client_id} released")


# --- process control -----------------------------------------------------------------------------

def _view_processes(data: DataBlob, console: Console) -> None:
    lines = ["process  status  run state  alive  pid  host  last start  last end"]
    for row in pc.list_processes(data):
        start = f"{row.last_start:%Y-%m-%d %H:%M}" if row.last_start else "-"
        end = f"{row.last_end:%Y-%m-%d %H:%M}" if row.last_end else "-"
        lines.append(f"{row.name}  {row.status}  {row.run_state}  "
                     f"{'yes' if row.alive else 'no'}  {row.pid or '-'}  {row.host or '-'}  "
                     f"{start}  {end}")
    console.say("\n".join(lines))


def _change_status(data: DataBlob, console: Console) -> None:
    name = _process(data, console)
    status = console.choice("new status", STATUSES)
    if not console.confirm(f"set {name} to {status}?"):
        console.say("nothing changed")
        return
    names = pc.set_process_status(data, name, status)
    console.say(f"status {status}: {', '.join(names)}")


def _mark_close(data: DataBlob, console: Console) -> None:
    name = _process(data, console)
    if not console.confirm(f"mark {name} as closed (only if you know it is not running)?"):
        console.say("nothing changed")
        return
    names = pc.mark_process_close(data, name)
    console.say(f"marked closed where running or crashed: {', '.join(names)}")


def _mark_dead(data: DataBlob, console: Console) -> None:
    if not console.confirm("mark every running process whose pid is dead on this host "
                           "as crashed?"):
        console.say("nothing changed")
        return
    marked = pc.mark_dead_processes(data)
    console.say(f"marked crashed: {', '.join(marked)}" if marked else "no dead processes found")


def _process_config(data: DataBlob, console: Console) -> None:
    configuration = load_control_config(data.home).process_configuration
    name = console.choice("process", sorted(configuration))
    fields = configuration[name].model_dump()
    console.say("\n".join([f"{name}:"] + [f"  {key}: {value}" for key, value in fields.items()]))


# --- update configuration ----------------------------------------------------------------------

def _update_spread_costs(data: DataBlob, console: Console) -> None:
    days = console.integer("calendar days of samples and fills", default=250, minimum=1,
                           maximum=cc.MAX_SPREAD_COST_DAYS_BACK)
    suggestions = cc.suggest_spread_costs(data, days)
    if not suggestions:
        console.say(f"no spread samples or fills with a mid price in the last {days} days: "
                    f"nothing to suggest")
        return
    console.say("\n".join([cc.SUGGESTION_HEADER + "  (price points)", *map(str, suggestions)]))
    how = console.choice("update", ("all", "each", "none"))
    if how == "none":
        console.say("nothing changed")
        return
    if how == "all" and not console.confirm(
            f"set the spread cost of these {len(suggestions)} instrument(s) as suggested?"):
        console.say("nothing changed")
        return
    # every answer first, then one atomic write: end of input half-way writes nothing
    chosen = {item.instrument_code: item.suggested for item in suggestions
              if how == "all" or console.yes_no(
                  f"{item.instrument_code}: spread_cost {item.configured:g} -> "
                  f"{item.suggested:.6g}?")}
    cc.set_spread_costs(data, chosen)
    console.say(f"spread cost updated: {', '.join(chosen)}" if chosen else "nothing changed")


def _check_multipliers(data: DataBlob, console: Console) -> None:
    console.say(str(cc.check_price_multipliers(data)))


def _view_roll_parameters(data: DataBlob, console: Console) -> None:
    codes = sorted(data.roll_parameters.list_codes())
    _say_table(console, cc.ROLL_HEADER,
               [cc.format_roll_parameters(code, data.roll_parameters.get(code))
                for code in codes], "no roll parameters stored")


def _change_roll_parameter(data: DataBlob, console: Console) -> None:
    code = _instrument(console)
    current = data.roll_parameters.get(code)  # UnknownInstrument before asking more
    console.say("\n".join([cc.ROLL_HEADER, cc.format_roll_parameters(code, current)]))
    field = console.choice("field to change", cc.ROLL_FIELDS)
    hint = ("month letters FGHJKMNQUVXZ" if field.endswith("cycle")
            else "-1 or +1" if field == "carry_offset" else "whole number")
    text = console.text(f"new {field} ({hint})", default=str(getattr(current, field)))
    old, new = cc.propose_roll_parameter(data, code, field, text)  # InvalidData: one line
    if getattr(new, field) == getattr(old, field):
        console.say(f"{field} of {code} is already {getattr(old, field)}: nothing changed")
        return
    if not console.confirm(f"set {field} of {code} from {getattr(old, field)} to "
                           f"{getattr(new, field)} (other fields kept)?"):
        console.say("nothing changed")
        return
    cc.set_roll_parameter(data, code, field, getattr(new, field))
    console.say("roll parameters now:\n" + "\n".join(
        [cc.ROLL_HEADER, cc.format_roll_parameters(code, data.roll_parameters.get(code))]))


# --- trading state -------------------------------------------------------------------------------

def _view_trading_state(data: DataBlob, console: Console) -> None:
    console.say(show_trading_state(data))


def _set_trading_state(data: DataBlob, console: Console) -> None:
    console.say(f"trading state now: {data.trading_state.current().value}")
    state = console.choice("new state", STATES)
    reason = console.text("reason (recorded)")
    if not console.confirm(f"set the trading state to {state}?"):
        console.say("nothing changed")
        return
    change = set_trading_state(data, state, reason)
    console.say(f"trading state already {state}: nothing recorded" if change is None
                else f"trading state set: {change}")


# --- the menu ------------------------------------------------------------------------------------

def controls_menu(data: DataBlob) -> Menu:
    on = bound_to(data)
    return Menu("Controls (times UTC; changes are logged)", (
        Option("Trade limits", Menu("Trade limits (contracts per rolling period)", (
            Option("view trade limits and what is left", on(_view_trade_limits)),
            Option("change a trade limit", on(_change_trade_limit)),
            Option("reset a trade limit's count", on(_reset_trade_limit)),
            Option("auto-populate trade limits from risk", on(_auto_populate_trade_limits)),
        ))),
        Option("Position limits", Menu("Position limits (absolute contracts)", (
            Option("view position limits", on(_view_position_limits)),
            Option("change a position limit", on(_change_position_limit)),
            Option("auto-populate position limits from risk",
                   on(_auto_populate_position_limits)),
        ))),
        Option("Overrides", Menu("Overrides (position multipliers)", (
            Option("view overrides", on(_view_overrides)),
            Option("set an override", on(_set_override)),
        ))),
        Option("Broker client ids", Menu("Broker client ids", (
            Option("view allocated client ids", on(_view_client_ids)),
            Option("release a client id", on(_release_client_id)),
        ))),
        Option("Process control", Menu("Process control", (
            Option("view processes", on(_view_processes)),
            Option("change status (GO/STOP/NO-RUN/PAUSE)", on(_change_status)),
            Option("mark a process as closed", on(_mark_close)),
            Option("mark dead processes as crashed", on(_mark_dead)),
            Option("view a process's configuration", on(_process_config)),
        ))),
        Option("Trading state", Menu("Global trading state", (
            Option("view trading state and history", on(_view_trading_state)),
            Option("set trading state (with a reason)", on(_set_trading_state)),
        ))),
        Option("Update configuration", Menu("Update configuration", (
            Option("spread costs from sampled spreads and fills", on(_update_spread_costs)),
            Option("check price multipliers against the broker", on(_check_multipliers)),
            Option("view roll parameters", on(_view_roll_parameters)),
            Option("change a roll parameter", on(_change_roll_parameter)),
        ))),
    ))


def interactive_controls(data: DataBlob | None = None, ask: Ask = input,
                         say: Say = print) -> None:
    """Run the controls console until ``0`` or end of input (module docstring)."""
    run_console(data, PROCESS, controls_menu, ask, say)
