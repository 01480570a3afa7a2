"""The end-to-end demo: a sandbox home trading the simulated market on a simulated clock.

``systrade demo`` (what ``make demo`` runs) on a fresh home:

1. writes ``private_config.yaml`` with ``clock: simulated`` (only if the file does not exist) and
   starts the simulated clock at ``DEMO_START``;
2. loads configuration for ``DEMO_INSTRUMENTS`` from the simulator's universe;
3. collects FX history and ``DEMO_HISTORY_YEARS`` of daily bars for every contract of each
   chain, builds roll calendars, multiple and adjusted prices from them, then samples the
   current chains and collects their hourly bars;
4. runs ``days`` simulated business days (default 5) through the real process control: every
   process of the control config is launched at the start of its window and runs its methods
   on their timers, in simulated time (:mod:`sysproduction.simulated_days`);
5. prints a status report, then per instrument the optimal range (lower/upper buffer), the
   strategy, contract and broker positions and the orders and fills of the last day, the
   breaks, and a summary — all read from the stores through the functions ``systrade status``
   uses (:mod:`sysproduction.system_status`). It fails (non-zero exit from ``systrade demo``)
   if a process crashed, a method failed or a process was left running, on any position break
   (contracts vs broker, strategies vs contracts), and on any order still working after the
   stack handler's end of day (a stuck order).

Run it again on the same home and it carries on from where the clock stopped.

It lives in sysinit (the top of ARCHITECTURE.md's table) because its first run initialises the
home with sysinit's functions; sysproduction never imports sysinit.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from syscore.exceptions import ConfigError
from syscore.home import private_dir, systrade_home
from sysdata.data_blob import DataBlob
from sysinit.init_from_sim_universe import init_from_sim_universe
from sysinit.init_history_from_broker import init_history_from_broker
from syslogdiag.logging_setup import setup_blob_logging, teardown_logging
from sysproduction.blob import production_blob
from sysproduction.process_helpers import summary_line
from sysproduction.simulated_days import all_closed, run_simulated_days
from sysproduction.system_status import collect_status, format_positions, trades_since

DEMO_INSTRUMENTS = "SP500_micro,EUROSTX,US10,BUND,GOLD,CRUDE_W,CORN,EUR"
DEMO_START = pd.Timestamp("2024-06-03 22:30", tz="UTC")
DEMO_HISTORY_YEARS = 5


def ensure_demo_config(home: Path, instruments: str | None = None) -> bool:
    """Create a private config for a simulated-clock demo; False if one already exists.
    ``instruments`` other than the default: the demo strategy trades them with equal weights
    (``private/demo_system.yaml``, a copy of the package's futures system; instrument
    diversification multiplier 1.8 up to 8 instruments, else 2.5)."""
    path = private_dir(home) / "private_config.yaml"
    if path.exists():
        return False
    codes = None
    if instruments is not None and instruments != DEMO_INSTRUMENTS:
        codes = demo_codes(instruments)  # refused here, before anything is written
    path.parent.mkdir(parents=True, exist_ok=True)
    backtest = "package:systems/provided/futures_system.yaml"
    if codes is not None:
        backtest = write_demo_system(home, codes)
    path.write_text("# written by `systrade demo`: a sandbox on the simulated market and clock\n"
                    "clock: simulated\nbroker: sim\nlogging:\n  console: false\n"
                    "strategy_capital_allocation:\n  strategy_weights: {demo: 1.0}\n")
    control = private_dir(home) / "private_control_config.yaml"
    if not control.exists():
        control.write_text("# written by `systrade demo`\nstrategy_list:\n  demo:\n"
                           f"    backtest_config: {backtest}\n"
                           "# in simulated time a stack-handler pass every 30 minutes is plenty;\n"
                           "# the best algo's timings fit that loop (passive for one pass, then\n"
                           "# aggressive, cancelled after three)\n"
                           "process_configuration:\n  run_stack_handler:\n    methods:\n"
                           "      stack_handler_pass:\n        frequency: 30\n"
                           "        arguments: {execution: {passive_seconds: 1800, "
                           "total_seconds: 5400}}\n")
    return True


def demo_codes(instruments: str) -> list[str]:
    """``ALL``: every instrument of the simulated market's universe; else the listed codes.
    Raises ``ConfigError`` (naming the universe's codes) for a code the universe does not have
    or an empty list, so that a new demo home is not left half-made with a strategy over
    instruments it cannot trade."""
    from sysbrokers.sim.universe import load_universe

    universe = sorted(load_universe().instruments)
    if instruments == "ALL":
        return universe
    codes = [code.strip() for code in instruments.split(",") if code.strip()]
    unknown = [code for code in codes if code not in universe]
    if unknown or not codes:
        what = f"not in the simulated market's universe: {', '.join(unknown)}" if unknown \
            else "no instrument codes given"
        raise ConfigError(f"--instruments: {what}; nothing was created. Choose from ALL or "
                          f"{', '.join(universe)}")
    return codes


def write_demo_system(home: Path, codes: list[str]) -> str:
    """``private/demo_system.yaml``: the package's futures system with equal instrument weights
    over ``codes``; returns the ``backtest_config`` value naming it."""
    import yaml

    from sysproduction.update_system_backtests import resolve_config_path

    source = resolve_config_path("package:systems/provided/futures_system.yaml", home)
    config = yaml.safe_load(source.read_text())
    config["instrument_weights"] = {code: round(1.0 / len(codes), 6) for code in codes}
    config["instrument_div_multiplier"] = 1.8 if len(codes) <= 8 else 2.5
    (private_dir(home) / "demo_system.yaml").write_text(
        "# written by `systrade demo`: the package's futures system, equal weights\n"
        + yaml.safe_dump(config, sort_keys=False))
    return "demo_system.yaml"


def initialise(data: DataBlob, out: Callable[[str], None],
               instruments: str = DEMO_INSTRUMENTS) -> None:
    """First run: configs of ``instruments`` (comma-separated codes, or ``ALL``: the simulated
    market's 30-instrument universe), FX, ``DEMO_HISTORY_YEARS`` of rolled history, contract
    chains, total and strategy capital (so the first night's backtest has capital)."""
    from sysproduction.update_fx_prices import update_fx_prices
    from sysproduction.update_historical_prices import update_historical_prices
    from sysproduction.update_sampled_contracts import update_sampled_contracts
    from sysproduction.update_strategy_capital import update_strategy_capital
    from sysproduction.update_total_capital import update_total_capital

    out(init_from_sim_universe(instruments, data=data))
    out(summary_line(update_fx_prices(data=data)))
    history = init_history_from_broker(years=DEMO_HISTORY_YEARS, data=data)
    out(str(history))
    out(summary_line(update_sampled_contracts(data=data)))
    out(summary_line(update_historical_prices(data=data)))
    out(f"update_total_capital: {update_total_capital(data=data)}")
    out(str(update_strategy_capital(data=data)))  # the header line and one line per strategy


def status_report(data: DataBlob) -> str:
    lines = [f"simulated time: {data.now()}", "instrument    last adjusted price   at"]
    for code in data.adjusted_prices.list_codes():
        last = data.adjusted_prices.read_tail(code)
        lines.append(f"{code:<13} {last.iloc[-1]:>19.4f}   {last.index[-1]}")
    for code in data.fx_prices.list_codes():
        fx = data.fx_prices.read_series(code)
        lines.append(f"{code:<13} {fx.iloc[-1]:>19.6f}   {fx.index[-1]}")
    try:
        total = data.capital.last_total()
        lines.append(f"total capital: {total['total']:,.2f} {data.config.base_currency} "
                     f"(broker {total['broker']:,.2f})")
    except Exception:
        lines.append("total capital: not yet recorded")
    keys = data.optimal_positions.list_keys()
    if keys:
        lines.append("optimal positions (strategy instrument: lower .. upper contracts)")
        for strategy, code in keys:
            row = data.optimal_positions.current(strategy, code)
            lines.append(f"  {strategy} {code:<12} {row['lower']:>8.2f} .. {row['upper']:>8.2f}")
    alerts = data.alerts.all()
    lines.append(f"alerts stored: {len(alerts)}")
    for item in alerts[-5:]:
        lines.append(f"  {item['timestamp']}  {item['subject']}")
    return "\n".join(lines)


def reports_written_since(home: Path, since: float) -> tuple[Path, tuple[str, ...]] | None:
    """The newest ``$SYSTRADE_HOME/reports/<date>/`` folder holding reports written at or after
    ``since`` (wall-clock seconds, as ``time.time()``) and their names, sorted; None when this
    run wrote none (``run_reports`` did not run, e.g. with ``--stop-before``)."""
    root = home / "reports"
    if not root.is_dir():
        return None
    for folder in sorted((p for p in root.iterdir() if p.is_dir()), reverse=True):
        names = sorted(p.stem for p in folder.glob("*.html") if p.stat().st_mtime >= since)
        if names:
            return folder, tuple(names)
    return None


def run_demo(days: int = 5, out: Callable[[str], None] = print,
             stop_before: str | None = None, instruments: str | None = None,
             broker: str = "sim") -> DemoResult:
    """Run the demo in ``$SYSTRADE_HOME`` for ``days`` simulated business days through process
    control; ``stop_before``: leave the home just before that process on the last day;
    ``instruments``: for a new home, the codes to trade (default :data:`DEMO_INSTRUMENTS`;
    ``ALL``: the 30-instrument universe); refused for a home already initialised.
    ``broker``: ``sim`` (the processes use the simulated broker directly) or ``ib`` (they
    reach it through ib_async and the fake TWS, run for the days: :mod:`sysinit.demo_ib`;
    initialisation and the final report use the simulated broker directly)."""
    if broker not in ("sim", "ib"):
        raise ConfigError(f"demo broker must be sim or ib, got {broker!r}")
    home = systrade_home()
    if ensure_demo_config(home, instruments):
        out(f"new demo home {home}: simulated clock and market")
    data = production_blob(home, process_name="demo")
    try:
        setup_blob_logging(data, "demo")
        if data.config.clock != "simulated":
            raise ConfigError(f"{home} is not a demo home (clock is {data.config.clock!r}); "
                              "use an empty SYSTRADE_HOME")
        if broker == "sim" and _traded_through_ib(data):
            # its fills are on the ledger under IB's execution ids; the simulated broker names
            # the same fills by its own ids, and the stack handler would book them again
            raise ConfigError(
                f"{home} has traded through IB (systrade demo --broker ib): run it with "
                "--broker ib again; with --broker sim its fills would be booked a second time "
                "under the simulated broker's execution ids (use an empty SYSTRADE_HOME for a "
                "--broker sim demo)")
        if broker == "sim" and data.config.broker != "sim":
            # the processes would trade through the configured broker, not the simulated one
            raise ConfigError(
                f"{home} is not a demo home for --broker sim: private_config.yaml says broker: "
                f"{data.config.broker} (a demo home says 'broker: sim'; --broker ib points it "
                "at a fake TWS only while it runs); put 'broker: sim' back or use --broker ib")
        if not data.instruments.list_codes():
            data.clock.set(DEMO_START)
            out(f"initialising at {data.now()}")
            initialise(data, out, instruments or DEMO_INSTRUMENTS)
        elif instruments is not None:
            raise ConfigError(f"{home} is initialised already: --instruments only applies to "
                              "a new demo home")
        started = data.now()
        wall_started = time.time()
        if broker == "ib":
            from sysinit.demo_ib import fake_tws_for_home

            # the fake TWS serves the simulated broker's book for the days: the demo's own
            # broker lets go of it (the stores stay open: the demo's log goes on to them)
            data.release_broker()
            with fake_tws_for_home(home) as port:
                out(f"running {days} simulated business days through process control, "
                    f"broker ib: ib_async to the fake TWS on 127.0.0.1:{port}")
                launches = run_simulated_days(home, days, out=out, stop_before=stop_before)
        else:
            out(f"running {days} simulated business days through process control")
            launches = run_simulated_days(home, days, out=out, stop_before=stop_before)
        states = all_closed(home)
        out(status_report(data))
        status = collect_status(data)  # orders and fills since midnight of the last day
        out("\n".join(format_positions(status)))
        result = DemoResult(launches, states, status, run_totals(trades_since(data, started)),
                            reports_written_since(home, wall_started))
        out(result.summary())
        return result
    finally:
        teardown_logging()
        if data is not None:
            data.close()


def _traded_through_ib(data: DataBlob) -> bool:
    """Whether the IB broker ever recorded an order in this home."""
    from sysbrokers.IB.orders import ORDERS

    return next(iter(data.state.find(ORDERS)), None) is not None


def _problem(launch) -> str:
    if launch.error:
        return launch.error
    if launch.outcome is None:
        return "did not finish"
    if launch.outcome.refused_running:
        return launch.outcome.reason
    return "failed: " + ", ".join(launch.outcome.failures)


def run_totals(trades: dict[str, dict[str, int]]) -> dict[str, int]:
    """Sum of :func:`~sysproduction.system_status.trades_since` over instruments."""
    totals = {"orders": 0, "fills": 0, "filled": 0}
    for counts in trades.values():
        for key in totals:
            totals[key] += counts[key]
    return totals


def status_problems(status: dict) -> list[str]:
    """Breaks, unreadable positions and stuck orders in a
    :func:`~sysproduction.system_status.collect_status` result."""
    found = []
    positions = status["positions"]
    if "error" in positions:
        return [f"positions unreadable: {positions['error']}"]
    if positions["broker_error"]:
        found.append(f"broker positions unreadable: {positions['broker_error']}")
    found += [f"position break: {b['instrument']} {b['contract']}: ours {b['ours']}, broker "
              f"{b['broker']}" for b in positions["breaks"]]
    found += [f"position break: {b['instrument']}: strategies {b['strategies']}, contracts "
              f"{b['contracts']}" for b in positions.get("internal_breaks", [])]
    working = status["working_orders"]
    if "error" in working:
        found.append(f"orders unreadable: {working['error']}")
    else:
        found += [f"stuck orders: {count} {stack} order(s) still working after the stack "
                  "handler's end of day" for stack, count in working.items() if count]
    return found


@dataclass(frozen=True)
class DemoResult:
    """What the demo did: every launch, the process states at the end, the home's status at
    the end (:func:`~sysproduction.system_status.collect_status`) and the orders and fills of
    the whole run (:func:`run_totals`)."""

    launches: list
    process_states: dict[str, str]
    status: dict | None = None
    trades: dict[str, int] | None = None
    reports: tuple[Path, tuple[str, ...]] | None = None  # newest folder written, report names

    @property
    def problems(self) -> list[str]:
        found = [f"{launch.process} on {launch.day}: {_problem(launch)}"
                 for launch in self.launches if not launch.ok]
        found += [f"process {name} is {state}" for name, state in self.process_states.items()
                  if state not in ("finished", "never ran")]
        if self.status is not None:
            found += status_problems(self.status)
        return found

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        ran = len([launch for launch in self.launches if launch.ok])
        closed = ", ".join(f"{n} {s}" for n, s in sorted(self.process_states.items()))
        lines = [f"processes: {ran} of {len(self.launches)} launches ran cleanly; {closed}"]
        cpu: dict[str, float] = {}
        for launch in self.launches:
            cpu[launch.process] = cpu.get(launch.process, 0.0) + launch.cpu_seconds
        if cpu:
            lines.append("CPU seconds per process: " + ", ".join(
                f"{name} {seconds:.1f}" for name, seconds in
                sorted(cpu.items(), key=lambda item: -item[1])))
        if self.trades is not None:
            lines.append(f"trades over the run: {self.trades['orders']} instrument orders, "
                         f"{self.trades['fills']} fills, net {self.trades['filled']:+d} "
                         "contracts")
        if self.reports is not None:
            folder, names = self.reports
            lines.append(f"reports: {len(names)} written to {folder} (<name>.txt and "
                         f"<name>.html): {', '.join(names)}")
        lines += [f"PROBLEM: {problem}" for problem in self.problems]
        lines.append("demo: ok" if self.ok else f"demo: {len(self.problems)} problem(s)")
        return "\n".join(lines)
