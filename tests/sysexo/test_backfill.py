"""Backfill on the simulated market's option chains: resumable, idempotent, crash-safe."""
from __future__ import annotations

import os
import random
import subprocess
import sys
import threading
from pathlib import Path

import pandas as pd
import pytest
import yaml

from sysdata.data_blob import DataBlob
from sysexo.backfill import EXO_LIBRARY, ExoStore
from sysproduction.exo_backfill import exo_backfill
from tests.blob_helpers import FixedClock, make_blob

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = {
    "products": {"GOLD": {"decision_time": "19:00"}},
    "exos": [
        {"name": "GOLD_CallSpread", "product": "GOLD", "kind": "call_spread"},
        {"name": "GOLD_Smart", "product": "GOLD", "kind": "smart",
         "bullish": [{"type": "future"}], "bearish": [{"type": "future", "quantity": -1}],
         "neutral": [], "ichimoku": {"conversion": 2, "base": 3, "lookahead": 2, "span_b": 4}},
    ],
    "roll_regimes": {"products": {"GOLD": {"roll_months": [2, 4, 6, 8, 10, 12],
                                           "days_before_expiration": 5}}},
}
START, END = "2023-03-01", "2023-04-28"
NAMES = ["GOLD_ContFut", "GOLD_CallSpread", "GOLD_Smart"]


def home_with_settings(home: Path, settings=SETTINGS) -> Path:
    (home / "private").mkdir(parents=True, exist_ok=True)
    (home / "private" / "exo_settings.yaml").write_text(yaml.safe_dump(settings))
    return home


def series(home: Path) -> dict[str, pd.DataFrame]:
    with DataBlob.from_config(home=home) as data:
        store = ExoStore(data.timeseries, data.state)
        return {name: store.series(name) for name in NAMES}


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The uninterrupted backfill, once for the module."""
    home = home_with_settings(tmp_path_factory.mktemp("reference") / "home")
    blob = make_blob(home, clock=FixedClock("2023-05-01 12:00"))
    report = exo_backfill(start=START, end=END, chunk=5, data=blob)
    blob.close()
    assert report.ok, str(report)
    return home, series(home)


def test_backfill_builds_every_exo(reference):
    _, frames = reference
    for name in NAMES:
        frame = frames[name]
        assert len(frame) > 35 and frame.index.is_unique and frame["exo"].notna().all()
    assert frames["GOLD_ContFut"]["rollover"].sum() >= 1  # a roll inside the period
    smart = frames["GOLD_Smart"]["regime"]
    assert smart.iloc[:4].isna().all() and set(smart.dropna()) <= {-1.0, 0.0, 1.0}


def test_rerun_is_a_no_op_and_a_split_run_is_identical(reference, tmp_path):
    _, frames = reference
    home = home_with_settings(tmp_path / "home")
    blob = make_blob(home, clock=FixedClock("2023-05-01 12:00"))
    exo_backfill(start=START, end="2023-03-31", chunk=5, data=blob)   # backfill
    exo_backfill(start=START, end=END, chunk=5, data=blob)            # then "online" days
    again = exo_backfill(start=START, end=END, chunk=5, data=blob)
    blob.close()
    assert sum(r.computed for r in again.results) == 0
    for name, frame in series(home).items():
        pd.testing.assert_frame_equal(frame, frames[name], check_exact=True)


def test_new_exo_built_from_the_start_without_recomputing_others(reference, tmp_path):
    _, frames = reference
    home = home_with_settings(tmp_path / "home", {**SETTINGS, "exos": SETTINGS["exos"][:1]})
    blob = make_blob(home, clock=FixedClock("2023-05-01 12:00"))
    exo_backfill(start=START, end=END, chunk=5, data=blob)
    home_with_settings(home)  # the operator adds the SmartEXO
    report = exo_backfill(start=START, end=END, chunk=5, data=blob)
    blob.close()
    computed = {r.name: r.computed for r in report.results}
    assert computed["GOLD_ContFut"] == 0 and computed["GOLD_CallSpread"] == 0
    assert computed["GOLD_Smart"] == len(frames["GOLD_Smart"])
    pd.testing.assert_frame_equal(series(home)["GOLD_Smart"], frames["GOLD_Smart"])


def test_rows_written_outside_the_backfill_are_repaired(reference, tmp_path):
    _, frames = reference
    home = home_with_settings(tmp_path / "home")
    blob = make_blob(home, clock=FixedClock("2023-05-01 12:00"))
    bogus = pd.DataFrame({c: [1.0] for c in frames["GOLD_ContFut"].columns},
                         index=pd.DatetimeIndex([pd.Timestamp("2023-03-15", tz="UTC")]))
    blob.timeseries.write(EXO_LIBRARY, "GOLD_ContFut", bogus)  # an early online row
    report = exo_backfill(start=START, end=END, chunk=5, data=blob)
    blob.close()
    assert report.results[0].repaired_rows == 1
    pd.testing.assert_frame_equal(series(home)["GOLD_ContFut"], frames["GOLD_ContFut"])


CHILD = """
import sys
from sysproduction.exo_backfill import exo_backfill
def progress(name, done, total):
    print(f"progress {name} {done}", flush=True)
report = exo_backfill(start=sys.argv[1], end=sys.argv[2], chunk=5, progress=progress)
print("done" if report.ok else report, flush=True)
"""


def test_sigkill_at_random_points_then_rerun_gives_the_uninterrupted_series(reference, tmp_path):
    _, frames = reference
    home = home_with_settings(tmp_path / "home")
    (home / "private" / "private_config.yaml").write_text("clock: real\n")
    env = {**os.environ, "SYSTRADE_HOME": str(home), "PYTHONPATH": str(ROOT)}
    rng = random.Random(20261203)
    kills = 0
    for _ in range(6):
        child = subprocess.Popen([sys.executable, "-c", CHILD, START, END], cwd=ROOT, env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        target = rng.randint(1, 6)  # kill after this many progress lines
        lines: list[str] = []
        seen = threading.Event()

        def read(child=child, lines=lines, seen=seen, target=target):
            for line in child.stdout:
                lines.append(line)
                if sum(1 for x in lines if x.startswith("progress")) >= target:
                    seen.set()
            seen.set()

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        seen.wait(timeout=300)
        if child.poll() is None:
            child.kill()
            kills += 1
        child.wait(timeout=60)
        reader.join(timeout=60)
    final = subprocess.run([sys.executable, "-c", CHILD, START, END], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=600)
    assert final.returncode == 0 and "done" in final.stdout, final.stderr
    assert kills >= 3
    for name, frame in series(home).items():
        pd.testing.assert_frame_equal(frame, frames[name], check_exact=True)


CLI = "import sys; from syscore.cli import main; sys.exit(main(sys.argv[1:]))"


def run_cli(home, *words):
    env = {**os.environ, "SYSTRADE_HOME": str(home), "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", CLI, *words], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def test_exo_check_is_silent_when_clean_and_names_the_key_otherwise(tmp_path):
    home = home_with_settings(tmp_path / "home")
    clean = run_cli(home, "exo", "check")
    assert (clean.returncode, clean.stdout, clean.stderr) == (0, "", "")
    bad = {**SETTINGS, "exos": [{"name": "X", "product": "GOLD", "kind": "iron_condor"}]}
    home_with_settings(home, bad)
    result = run_cli(home, "exo", "check")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "exo_settings.yaml" in result.stderr and "iron_condor" in result.stderr
    home_with_settings(home, {**SETTINGS, "roll_regimes": {"products": {"GOLD": {
        "roll_months": [0]}}}})
    result = run_cli(home, "exo", "check")
    assert "roll_regimes.products.GOLD.roll_months" in result.stderr


def test_viewer_page_shows_every_exo(reference):
    import re

    from sysexo.settings import load_exo_settings
    from sysexo.viewer import render_viewer

    home, frames = reference
    with DataBlob.from_config(home=home) as data:
        page = render_viewer(ExoStore(data.timeseries, data.state),
                             load_exo_settings(home / "private" / "exo_settings.yaml"),
                             pd.Timestamp(END).date())
    for name in NAMES:
        assert f"id='{name}'" in page
    assert len(re.findall(r"src='data:image/png;base64,[A-Za-z0-9+/=]{1000,}'", page)) == 3
    assert page.count("class=warn") >= 3  # fewer than 200 rows: flagged
