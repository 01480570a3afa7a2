"""Run a pysystemtrade-style config and write its outputs.

Outputs (wide CSVs, one column per instrument, ``DATETIME`` index of business days at
midnight UTC): ``combined_forecast.csv``, ``subsystem_position.csv``,
``notional_position.csv``, ``buffer_top_pos.csv``, ``buffer_bot_pos.csv``,
``buffered_position.csv``, ``instrument_weight.csv``, ``portfolio_pandl.csv`` and
``summary.json`` (``portfolio_sharpe`` and more).
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from systems.config import BacktestConfig, load_config
from systems.csv_sim_data import CsvSimData
from systems.output_files import write_wide_csv
from systems.sim_data import SimData
from systems.system import System

log = logging.getLogger(__name__)

WIDE_OUTPUTS = (
    "combined_forecast",
    "subsystem_position",
    "notional_position",
    "buffer_top_pos",
    "buffer_bot_pos",
    "buffered_position",
    "instrument_weight",
)
FLOAT_FORMAT = "%.10g"
OUTPUT_FILES = tuple(f"{name}.csv" for name in WIDE_OUTPUTS) + ("portfolio_pandl.csv", "summary.json")


@dataclass
class BacktestResult:
    """A finished backtest: any stage for any instrument, the portfolio P&L and summary."""

    config: BacktestConfig
    system: System
    output_dir: Path | None = None

    def __str__(self) -> str:
        return self.report()

    def report(self) -> str:
        """A one-screen summary: instruments, period, Sharpe and headline statistics, and
        where the outputs went (what ``run.py ...run_backtest`` prints)."""
        from systems.stats import account_statistics

        pandl = self.portfolio_pandl
        codes = self.instruments
        shown = ", ".join(codes) if len(codes) <= 8 else ", ".join(codes[:4]) + ", ..., " + ", ".join(codes[-2:])
        stats = account_statistics(pandl["portfolio_percent_net"])
        lines = [
            f"backtest: {len(codes)} instruments ({shown})",
            f"period: {pandl.index[0].date()} to {pandl.index[-1].date()} ({len(pandl)} business days)",
            f"capital: {self.config.notional_trading_capital:,.0f} {self.config.base_currency}, "
            f"vol target {self.config.percentage_vol_target:g}% a year",
            f"Sharpe ratio: {self.sharpe:.4f} net of costs, {self.system.sharpe('gross'):.4f} gross",
        ]
        if stats:
            lines.append(
                f"annual return {stats['ann_mean']:.2f}%, annual std {stats['ann_std']:.2f}%, "
                f"max drawdown {stats['max_drawdown']:.2f}% (percent of capital)"
            )
        if self.output_dir is not None:
            lines.append(f"outputs: {self.output_dir} ({', '.join(OUTPUT_FILES)})")
        else:
            lines.append("outputs: none written (give --output-dir to write them)")
        return "\n".join(lines)

    @property
    def instruments(self) -> list[str]:
        return self.system.instruments

    def stage(self, name: str, instrument: str | None = None) -> pd.DataFrame | pd.Series:
        """Stage ``name`` (e.g. ``"vol_scalar"``, ``"capped_forecast:carry"``) for one
        instrument (a Series on its own index) or all (a wide DataFrame)."""
        if instrument is None:
            return self.system.stage_frame(name)
        return self.system.stage(name, instrument)

    @property
    def portfolio_pandl(self) -> pd.DataFrame:
        return self.system.portfolio_pandl

    @property
    def sharpe(self) -> float:
        return self.system.sharpe("net")

    def summary(self) -> dict:
        return self.system.summary()

    def write_outputs(self, directory: str | Path) -> Path:
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        for name in WIDE_OUTPUTS:
            write_wide_csv(self.stage(name), out / f"{name}.csv")
        write_wide_csv(self.portfolio_pandl, out / "portfolio_pandl.csv")
        (out / "summary.json").write_text(json.dumps(self.summary(), indent=1))
        self.output_dir = out
        return out


def run_backtest_on_data(config: BacktestConfig, data: SimData, output_dir: str | Path | None = None) -> BacktestResult:
    """Run ``config`` against any ``SimData``; write outputs when ``output_dir`` is given."""
    return _run_system(System(config, data), output_dir)


def _run_system(system: System, output_dir: str | Path | None) -> BacktestResult:
    result = BacktestResult(config=system.config, system=system)
    _ = result.system.portfolio_pandl  # compute every stage once, vectorised
    if output_dir is not None:
        result.write_outputs(output_dir)
    return result


def run_backtest(
    config_file: str | Path, data_dir: str | Path | None = None, output_dir: str | Path | None = None
) -> BacktestResult:
    """Run a YAML config against a pysystemtrade-layout CSV directory (``data_dir``), or, when
    ``data_dir`` is None, against the stores of ``$SYSTRADE_HOME``; write the wide CSVs and
    ``summary.json`` to ``output_dir`` when given. From the stores, every input is read
    first and the stores are closed before the compute (their mapped files then stop counting
    as the process's memory): the result serves every stage of the configured instruments."""
    config = load_config(config_file)
    if data_dir is not None:
        return run_backtest_on_data(config, CsvSimData(data_dir), output_dir)
    from sysdata.data_blob import DataBlob
    from systems.store_sim_data import StoreSimData

    with DataBlob.from_config(process_name="run_backtest") as data:
        system = System(config, StoreSimData(data))
        _ = system.full_block  # every input is read here: the stores close before the compute
    return _run_system(system, output_dir)
