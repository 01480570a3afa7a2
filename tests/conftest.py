"""Shared pytest fixtures.

Reference data (pysystemtrade conformance) is found through ``SYSTRADE_REFERENCE_DATA``
(default ``../shared/reference`` relative to the repository root). Tests that need it use the
``reference_dir`` / ``pysystemtrade_reference`` / ``backtest_reference`` fixtures, which skip with
a clear reason where the data is absent; figures of the reference backtest (its Sharpe ratio) are
read from it (``reference_sharpe``), never typed into tests.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


def _reference_root() -> Path:
    configured = os.environ.get("SYSTRADE_REFERENCE_DATA")
    if configured:
        return Path(configured).expanduser().resolve()
    return (REPO_ROOT / ".." / "shared" / "reference").resolve()


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    root = _reference_root()
    if not root.is_dir():
        pytest.skip(f"reference data not found at {root} (set SYSTRADE_REFERENCE_DATA)")
    return root


@pytest.fixture(scope="session")
def pysystemtrade_reference(reference_dir: Path) -> Path:
    path = reference_dir / "pysystemtrade"
    if not path.is_dir():
        pytest.skip(f"pysystemtrade reference data not found at {path}")
    return path


@pytest.fixture(scope="session")
def backtest_reference(reference_dir: Path) -> Path:
    path = reference_dir / "pysystemtrade_backtest"
    if not path.is_dir():
        pytest.skip(f"pysystemtrade backtest reference not found at {path}")
    return path


@pytest.fixture(scope="session")
def backtest_reference_summary(backtest_reference: Path) -> dict:
    """The reference run's ``outputs/summary.json``: ``portfolio_sharpe`` (net of costs),
    ``portfolio_sharpe_gross``, per-instrument figures (see the folder's README)."""
    return json.loads((backtest_reference / "outputs" / "summary.json").read_text())


@pytest.fixture(scope="session")
def reference_sharpe(backtest_reference_summary: dict) -> float:
    """The reference portfolio Sharpe ratio, net of costs, read from the reference data."""
    return float(backtest_reference_summary["portfolio_sharpe"])


@pytest.fixture
def systrade_home(tmp_path, monkeypatch) -> Path:
    """An isolated SYSTRADE_HOME for one test."""
    home = tmp_path / "home"
    (home / "private").mkdir(parents=True)
    monkeypatch.setenv("SYSTRADE_HOME", str(home))
    return home


@pytest.fixture(params=["sqlite", "mongodb"])
def sim_broker_env(request, systrade_home):
    """``(blob, clock)`` on each state backend: a blob on real stores whose broker is the
    simulated broker, its clock starting at 2024-01-09 15:00 UTC (a Tuesday: every market in
    the universe is open: ``tests.blob_helpers.SIM_START``); see
    :func:`tests.blob_helpers.sim_broker_blob`."""
    from tests.blob_helpers import SIM_START, sim_broker_blob

    url = request.getfixturevalue("mongo_url") if request.param == "mongodb" else None
    with sim_broker_blob(systrade_home, request.param, url, start=SIM_START) as data_and_clock:
        yield data_and_clock


@pytest.fixture(scope="session")
def mongo_url(tmp_path_factory):
    """Base URL of a real MongoDB-wire-protocol server: ``SYSTRADE_MONGO_URL`` if set, else an
    nx-27017 process started on a free 127.0.0.1 port for this test session and stopped after."""
    from tests.mongo_server import mongo_base_url

    url, server = mongo_base_url(tmp_path_factory)
    yield url
    if server is not None:
        server.stop()
