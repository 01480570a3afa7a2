"""Fixtures for backtest tests: the pysystemtrade reference run, computed once per session."""
from __future__ import annotations

import gzip
import logging
import shutil
from pathlib import Path

import pytest

from systems.run_backtest import run_backtest


def gunzip_tree(source: Path, target: Path) -> Path:
    """Copy ``source`` to ``target``, gunzipping every ``*.gz`` file."""
    for path in source.rglob("*"):
        if path.is_dir():
            continue
        rel = path.relative_to(source)
        if path.suffix == ".gz":
            dest = target / rel.with_suffix("")
            dest.parent.mkdir(parents=True, exist_ok=True)
            with gzip.open(path, "rb") as src, open(dest, "wb") as out:
                shutil.copyfileobj(src, out)
        else:
            dest = target / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, dest)
    return target


@pytest.fixture(scope="session")
def reference_data_dir(backtest_reference: Path, tmp_path_factory) -> Path:
    return gunzip_tree(backtest_reference / "inputs", tmp_path_factory.mktemp("pst_inputs"))


@pytest.fixture(scope="session")
def reference_run(backtest_reference: Path, reference_data_dir: Path, tmp_path_factory):
    """(result, output directory) of the reference config run against the reference inputs."""
    out = tmp_path_factory.mktemp("pst_outputs")
    logging.getLogger("systems.config").setLevel(logging.ERROR)
    result = run_backtest(
        backtest_reference / "outputs" / "effective_config.yaml", data_dir=reference_data_dir, output_dir=out
    )
    return result, out


@pytest.fixture(scope="session")
def all_instruments_data_dir(reference_dir: Path, tmp_path_factory) -> Path:
    """pysystemtrade's full data set (226 instruments), unpacked once per session."""
    source = reference_dir / "pysystemtrade_all"
    if not source.is_dir():
        pytest.skip(f"pysystemtrade's 226-instrument data set not found at {source} (set SYSTRADE_REFERENCE_DATA)")
    return gunzip_tree(source, tmp_path_factory.mktemp("pst_all"))
