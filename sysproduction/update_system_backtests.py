"""The nightly production backtests that set tomorrow's optimal positions (``run_systems``).

For each strategy in the control config's ``strategy_list``:

1. its YAML system config is loaded and ``notional_trading_capital`` set to the strategy's latest
   capital (from ``update_strategy_capital``); the main config's ``exclude_instrument_lists``
   and ``duplicate_instruments`` are added to its own (ignored and excluded duplicate instruments
   are left out, bad markets and trading restrictions get a zero instrument weight);
2. its system function runs on the stores (``StoreSimData``);
3. the buffered optimal position of every instrument is computed, then all are written
   (``optimal_positions``): lower and upper (the buffer's bottom and top, in contracts), the
   reference price (the last PRICE of the multiple prices), its contract and date. An
   instrument with no position (not enough data) or whose last price is older than
   ``MAX_PRICE_AGE`` (7 days) is not written and raises a CRITICAL alert;
4. the whole backtest is saved as data plus its YAML under
   ``$SYSTRADE_HOME/backtests/<strategy>/<YYYYmmdd_HHMMSS>/`` (no pickle; written to a
   temporary directory and renamed into place), reopened with
   :func:`load_strategy_backtest` for diagnostics (any stage, any instrument).

A strategy that fails is alerted and does not stop the others.

    python run.py sysproduction.update_system_backtests.update_system_backtests
"""
from __future__ import annotations

import importlib
import json
import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from syscore.config import load_control_config
from syscore.config_models import StrategyConfig
from syscore.exceptions import ConfigError, MissingData
from sysdata import owned_dirs
from sysdata.data_blob import DataBlob
from sysdata.owned_dirs import DirectoryKind
from syslogdiag.alerts import alert
from syslogdiag.context import get_logger
from sysproduction.process_helpers import ProcessReport, blob_for, each_item
from systems.config import config_from_dict
from systems.saved_state import SavedBacktestState, load_backtest_state, save_backtest_state
from systems.store_sim_data import StoreSimData

PACKAGE_ROOT = Path(__file__).resolve().parent.parent
STATE_DIR_FORMAT = "%Y%m%d_%H%M%S"


def _is_legacy_saved_state(directory: Path) -> bool:
    """A saved backtest state written before ownership marks: a ``manifest.json`` object with
    ``format_version`` and ``stages``."""
    try:
        manifest = json.loads((directory / "manifest.json").read_text())
    except (OSError, ValueError, UnicodeDecodeError):
        return False
    return isinstance(manifest, dict) and {"format_version", "stages"} <= set(manifest)


SAVED_BACKTEST = DirectoryKind("backtest_state", "a saved systrade backtest state",
                               legacy=_is_legacy_saved_state)
MAX_PRICE_AGE = pd.Timedelta(days=7)


@dataclass(frozen=True)
class StrategyBacktest:
    strategy_name: str
    capital: float
    positions_written: int
    skipped: tuple[str, ...]
    saved_to: str

    def __str__(self) -> str:
        text = f"capital {self.capital:,.0f}, {self.positions_written} optimal positions"
        if self.skipped:
            text += f", no position for {list(self.skipped)}"
        return text


def backtests_directory(data: DataBlob) -> Path:
    return data.home / "backtests"


def resolve_config_path(path: str, home: Path) -> Path:
    """``package:<path>``, an absolute path, or a path relative to ``$SYSTRADE_HOME/private``."""
    if path.startswith("package:"):
        resolved = PACKAGE_ROOT / path[len("package:"):]
    else:
        candidate = Path(path).expanduser()
        resolved = candidate if candidate.is_absolute() else home / "private" / candidate
    if not resolved.is_file():
        raise ConfigError(f"strategy backtest_config {path!r}: file not found ({resolved})")
    return resolved


def restrict_instruments(raw: dict, instruments: list[str], strategy_name: str) -> dict:
    """The config limited to ``instruments``: their instrument weights only (the engine
    renormalises weights to sum to 1 each day, so the subset keeps its relative weights)."""
    weights = raw.get("instrument_weights") or {}
    if weights:
        unweighted = [c for c in instruments if c not in weights]
        if unweighted:
            raise ConfigError(f"strategy {strategy_name!r}: instruments {unweighted} have no "
                              "instrument weight in its backtest_config")
        return {**raw, "instrument_weights": {c: weights[c] for c in instruments}}
    return {**raw, "instruments": list(instruments)}


def with_instrument_exclusions(raw: dict, config) -> dict:
    """The backtest config with the main config's ``exclude_instrument_lists`` and
    ``duplicate_instruments`` added to its own (lists united, duplicate groups of the main
    config winning), so production backtests leave out what production ignores."""
    out = dict(raw)
    lists = {k: list(v or []) for k, v in (raw.get("exclude_instrument_lists") or {}).items()}
    for name, codes in config.exclude_instrument_lists.model_dump().items():
        lists[name] = sorted(set(lists.get(name, [])) | set(codes))
    out["exclude_instrument_lists"] = lists
    duplicates = {k: dict(v or {}) for k, v in (raw.get("duplicate_instruments") or {}).items()}
    for side, groups in config.duplicate_instruments.model_dump().items():
        duplicates[side] = {**duplicates.get(side, {}), **groups}
    out["duplicate_instruments"] = duplicates
    return out


def strategy_capital(data: DataBlob, strategy_name: str) -> float:
    try:
        series = data.capital.strategy_capital(strategy_name)
    except MissingData:
        raise MissingData(f"no capital for strategy {strategy_name!r}: run update_strategy_capital "
                          "(and give the strategy a weight)") from None
    return float(series.iloc[-1])


def system_function(path: str):
    module_name, _, name = path.rpartition(".")
    try:
        return getattr(importlib.import_module(module_name), name)
    except (ImportError, AttributeError, ValueError):
        raise ConfigError(f"strategy system {path!r} cannot be imported") from None


def reference_price(data: DataBlob, instrument_code: str) -> tuple[float, str, pd.Timestamp]:
    """The last PRICE, its contract and timestamp, from the multiple prices."""
    last = data.multiple_prices.last_timestamp(instrument_code)
    if last is None:
        raise MissingData(f"{instrument_code}: no multiple prices")
    tail = data.multiple_prices.read(instrument_code, start=last - pd.Timedelta(days=30))
    priced = tail[tail["PRICE"].notna()]
    if priced.empty:
        raise MissingData(f"{instrument_code}: no PRICE in the last 30 days of multiple prices")
    row = priced.iloc[-1]
    return float(row["PRICE"]), str(row["PRICE_CONTRACT"]), priced.index[-1]


def run_strategy_backtest(data: DataBlob, strategy_name: str,
                          strategy: StrategyConfig) -> StrategyBacktest:
    log = get_logger("update_system_backtests", strategy_name=strategy_name)
    capital = strategy_capital(data, strategy_name)
    raw = yaml.safe_load(resolve_config_path(strategy.backtest_config, data.home).read_text()) or {}
    raw["notional_trading_capital"] = capital
    if strategy.instruments:
        raw = restrict_instruments(raw, strategy.instruments, strategy_name)
    config = config_from_dict(with_instrument_exclusions(raw, data.config))
    result = system_function(strategy.system)(config, StoreSimData(data, strategy.instruments))
    now = data.now()
    rows, no_position, stale, already = [], [], [], []
    for code in result.system.instruments:  # compute every row before writing any
        lower = float(result.stage("buffer_bot_pos", code).iloc[-1])
        upper = float(result.stage("buffer_top_pos", code).iloc[-1])
        if math.isnan(lower) or math.isnan(upper):
            no_position.append(code)
            continue
        last = data.optimal_positions.last_timestamp(strategy_name, code)
        if last is not None and last >= now:
            already.append(code)  # already written at this time: re-runs change nothing
            continue
        price, contract, when = reference_price(data, code)
        if now - when > MAX_PRICE_AGE:
            stale.append(f"{code} (last price {when})")
            continue
        rows.append((code, lower, upper, price, contract, when))
    for code, lower, upper, price, contract, when in rows:
        data.optimal_positions.add(strategy_name, code, now, lower, upper, price, contract, when)
        log.bind(instrument_code=code).info("optimal position %.3f to %.3f (price %s, %s)",
                                            lower, upper, price, contract)
    problems = []
    if no_position:
        problems.append(f"no optimal position for {no_position} (not enough data?)")
    if stale:
        problems.append(f"prices older than {MAX_PRICE_AGE.days} days, optimal position not "
                        f"updated: {stale}")
    if problems:
        alert(data, f"Optimal positions not updated for {strategy_name}",
              f"{strategy_name}: " + "; ".join(problems), logger=log)
    target = save_state_atomically(result, backtests_directory(data) / strategy_name
                                   / now.strftime(STATE_DIR_FORMAT))
    log.info("%s: Sharpe %.3f, saved to %s", strategy_name, result.sharpe, target)
    return StrategyBacktest(strategy_name, capital, len(rows),
                            tuple(no_position + stale + already), str(target))


def save_state_atomically(result, target: Path) -> Path:
    """Save into a temporary sibling directory, then rename it into place, so a crash never
    leaves a half-written state that would count as the latest. Only a saved state (or an
    empty folder) is ever replaced: see :mod:`sysdata.owned_dirs`."""
    target = owned_dirs.absolute(target)
    with owned_dirs.exclusive(target):  # a second save at the same time is refused
        owned_dirs.recover_interrupted_swap(target, SAVED_BACKTEST)
        partial = owned_dirs.start_partial(target, SAVED_BACKTEST)  # refuses a folder not ours
        save_backtest_state(result, partial)
        return owned_dirs.swap_into_place(partial, target, SAVED_BACKTEST)


def update_system_backtests(data: DataBlob | None = None) -> ProcessReport:
    """Run every configured strategy's backtest (see module docstring)."""
    with blob_for(data, "update_system_backtests") as blob:
        strategies = load_control_config(blob.home).strategy_list
        return each_item(blob, "update_system_backtests", list(strategies.items()),
                         lambda item: item[0],
                         lambda item: run_strategy_backtest(blob, item[0], item[1]))


def list_strategy_backtests(strategy_name: str, data: DataBlob | None = None) -> list[str]:
    """Saved backtest states of a strategy, oldest first (``YYYYmmdd_HHMMSS``, UTC)."""
    with blob_for(data, "list_strategy_backtests") as blob:
        folder = backtests_directory(blob) / strategy_name
        if not folder.is_dir():
            return []
        return sorted(p.name for p in folder.iterdir()
                      if p.is_dir() and not p.name.endswith((".partial", ".old")))


def load_strategy_backtest(strategy_name: str, which: str = "latest",
                           data: DataBlob | None = None) -> SavedBacktestState:
    """Reopen a saved backtest (``latest`` or a ``YYYYmmdd_HHMMSS`` name) for diagnostics."""
    with blob_for(data, "load_strategy_backtest") as blob:
        names = list_strategy_backtests(strategy_name, data=blob)
        if not names:
            raise MissingData(f"no saved backtests for strategy {strategy_name!r}")
        name = names[-1] if which == "latest" else which
        if name not in names:
            raise MissingData(f"no saved backtest {name!r} for {strategy_name!r}; have {names}")
        return load_backtest_state(backtests_directory(blob) / strategy_name / name)


def clean_truncate_backtest_states(days: int | None = None, data: DataBlob | None = None) -> str:
    """Delete saved backtest states older than ``days`` (default config
    ``backtest_state_retention_days``, 5) measured from the clock's now; the latest state of each
    strategy is always kept. Only folders that are saved states (named ``YYYYmmdd_HHMMSS`` and
    carrying a state's mark or ``manifest.json``) are ever deleted."""
    with blob_for(data, "clean_truncate_backtest_states") as blob:
        keep_days = blob.config.backtest_state_retention_days if days is None else days
        cutoff = blob.now() - pd.Timedelta(days=keep_days)
        removed = []
        root = backtests_directory(blob)
        folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.is_symlink()) \
            if root.is_dir() else []
        for folder in folders:
            states = []  # only saved states: anything else in the folder is never touched
            for path in sorted(folder.iterdir()):
                try:
                    stamp = pd.Timestamp(pd.to_datetime(path.name, format=STATE_DIR_FORMAT),
                                         tz="UTC")
                except ValueError:
                    continue
                if owned_dirs.is_owned(path, SAVED_BACKTEST):
                    states.append((path, stamp))
            for state, stamp in states[:-1]:
                if stamp < cutoff:
                    owned_dirs.remove_owned(state, SAVED_BACKTEST)
                    removed.append(f"{folder.name}/{state.name}")
        get_logger("clean_truncate_backtest_states").info("removed %d saved backtests", len(removed))
        return f"removed {len(removed)} saved backtest states older than {keep_days} days"
