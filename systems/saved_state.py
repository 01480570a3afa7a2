"""Save a finished backtest as data (CSV stage outputs + YAML config) and reopen it.

Layout of a saved state directory::

    config.yaml            the validated configuration (pysystemtrade key names)
    manifest.json          format version, instruments, rules, list of saved stages
    summary.json           headline figures
    portfolio_pandl.csv    portfolio daily P&L
    stages/<name>.csv      one wide CSV per stage (``DATETIME`` x instruments, 17 digits);
                           rule stages are named ``<stage>__<rule>.csv``

No pickle: a saved state is plain data, readable by any tool and safe to open.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from systems.config import BacktestConfig, config_from_dict
from systems.exceptions import BacktestStateError
from systems.instrument_block import INSTRUMENT_STAGES, RULE_STAGES
from systems.output_files import write_wide_csv
from systems.system import PORTFOLIO_STAGES

FORMAT_VERSION = 1


def _stage_file(name: str) -> str:
    return name.replace(":", "__") + ".csv"


def save_backtest_state(result, directory: str | Path) -> Path:
    """Write every stage of ``result`` (a ``BacktestResult``) and its config to ``directory``."""
    out = Path(directory)
    stages_dir = out / "stages"
    stages_dir.mkdir(parents=True, exist_ok=True)
    system = result.system
    names = list(INSTRUMENT_STAGES) + list(PORTFOLIO_STAGES)
    for rule in system.full_block.rule_names:
        names.extend(f"{stage}:{rule}" for stage in RULE_STAGES)
    for name in names:
        write_wide_csv(result.stage(name), stages_dir / _stage_file(name), digits=17)
    write_wide_csv(result.portfolio_pandl, out / "portfolio_pandl.csv", digits=17)
    config_dict = result.config.model_dump(mode="json", exclude_none=True)
    (out / "config.yaml").write_text(yaml.safe_dump(config_dict, sort_keys=True))
    (out / "summary.json").write_text(json.dumps(result.summary(), indent=1))
    manifest = {
        "format_version": FORMAT_VERSION,
        "instruments": list(system.instruments),
        "rules": list(system.full_block.rule_names),
        "stages": names,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return out


@dataclass
class SavedBacktestState:
    """A reopened backtest: stages are read lazily from CSV."""

    directory: Path
    config: BacktestConfig
    instruments: list[str]
    rules: list[str]
    stage_names: list[str]
    summary: dict
    _cache: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)

    def stage(self, name: str, instrument: str | None = None) -> pd.DataFrame | pd.Series:
        if name not in self.stage_names:
            raise BacktestStateError(f"stage {name!r} is not in the saved state {self.directory}")
        if name not in self._cache:
            self._cache[name] = _read_wide(self.directory / "stages" / _stage_file(name))
        frame = self._cache[name]
        return frame if instrument is None else frame[instrument]

    @property
    def portfolio_pandl(self) -> pd.DataFrame:
        return _read_wide(self.directory / "portfolio_pandl.csv")

    @property
    def sharpe(self) -> float:
        return float(self.summary["portfolio_sharpe"])


def _read_wide(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path, index_col=0).astype(float)
    frame.index = pd.DatetimeIndex(pd.to_datetime(frame.index, format="ISO8601"), name="DATETIME")
    return frame


def load_backtest_state(directory: str | Path) -> SavedBacktestState:
    """Reopen a directory written by ``save_backtest_state``."""
    path = Path(directory)
    try:
        manifest = json.loads((path / "manifest.json").read_text())
        config_data = yaml.safe_load((path / "config.yaml").read_text())
        summary = json.loads((path / "summary.json").read_text())
    except FileNotFoundError as exc:
        raise BacktestStateError(f"{path} is not a saved backtest state: {exc}") from exc
    if manifest.get("format_version") != FORMAT_VERSION:
        raise BacktestStateError(
            f"{path}: saved state format {manifest.get('format_version')} is not supported "
            f"(expected {FORMAT_VERSION})"
        )
    config = config_from_dict(config_data, source=str(path / "config.yaml"))
    return SavedBacktestState(
        directory=path,
        config=config,
        instruments=list(manifest["instruments"]),
        rules=list(manifest["rules"]),
        stage_names=list(manifest["stages"]),
        summary=summary,
    )
