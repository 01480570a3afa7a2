"""Two homes with different host names share one MongoDB-wire state store and one ArcticDB
on an S3-protocol server (moto), all on 127.0.0.1: process control and prices across hosts."""
from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pandas as pd
import psutil
import pytest
import yaml

from syscontrol.control import ProcessControl
from syscontrol.process_status import RunState
from sysdata.data_blob import DataBlob
from tests.s3_server import SECRET, S3TestServer
from tests.syscontrol.test_process_subprocess import wait_until, work_method

ROOT = Path(__file__).resolve().parents[2]
LAUNCH = ("import sys; from sysproduction.process_launcher import launch_main; "
          "launch_main(sys.argv[1])")


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    server = S3TestServer(tmp_path_factory.mktemp("s3"))
    yield server
    server.stop()


def make_home(root: Path, state_url: str, ts_uri: str, flags: Path) -> Path:
    home = root
    (home / "private").mkdir(parents=True)
    (home / "private" / "private_config.yaml").write_text(yaml.safe_dump(
        {"state_store": state_url, "timeseries_store": ts_uri}))
    (home / "private" / "private_control_config.yaml").write_text(yaml.safe_dump(
        {"process_configuration": {"run_test": {
            "start_time": "00:00", "end_time": "00:00", "run_on_weekends": True,
            "methods": {"work": work_method(flags, max_executions=1)}}}}))
    return home


def env_for(home: Path, host: str) -> dict[str, str]:
    return {**os.environ, "SYSTRADE_HOME": str(home), "SYSTRADE_HOST": host,
            "PYTHONPATH": str(ROOT)}


@pytest.fixture
def two_hosts(tmp_path, s3, mongo_url):
    database = f"m{uuid.uuid4().hex[:10]}"
    ts_uri = s3.bucket(f"b{uuid.uuid4().hex[:10]}")
    flags = tmp_path / "flags"
    flags.mkdir()
    a = make_home(tmp_path / "a", f"{mongo_url}/{database}", ts_uri, flags)
    b = make_home(tmp_path / "b", f"{mongo_url}/{database}", ts_uri, flags)
    return a, b, flags


def test_prices_written_on_a_are_read_on_b(two_hosts):
    a, b, _ = two_hosts
    frame = pd.DataFrame({"PRICE": [1.0812, 1.0840]},
                         index=pd.DatetimeIndex(["2024-03-06", "2024-03-07"], tz="UTC"))
    with DataBlob.from_config(home=a) as data:
        data.timeseries.write("fx_prices", "EURUSD", frame)
    with DataBlob.from_config(home=b) as data:
        read = data.timeseries.read("fx_prices", "EURUSD")
    assert read["PRICE"].tolist() == [1.0812, 1.0840]


def test_process_on_a_refused_on_b_and_seen_dead_from_b(two_hosts):
    a, b, flags = two_hosts
    first = subprocess.Popen([sys.executable, "-c", LAUNCH, "run_test"], cwd=ROOT,
                             env=env_for(a, "host-a"), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    wait_until(lambda: (flags / "work.started.0").exists(), "host A's process to start")
    second = subprocess.run([sys.executable, "-c", LAUNCH, "run_test"], cwd=ROOT,
                            env=env_for(b, "host-b"), capture_output=True, text=True,
                            timeout=120)
    assert second.returncode == 1, second.stderr
    assert f"already running: pid {first.pid} on host host-a" in second.stdout
    first.kill()
    first.communicate(timeout=60)
    with DataBlob.from_config(home=b) as data:
        control = ProcessControl(data.process_control)
        now = dt.datetime.now(dt.timezone.utc)
        # from B, A's PID means nothing: only the heartbeat tells, and it is still fresh
        assert control.mark_dead(now, "host-b", psutil.pid_exists) == []
        later = now + control.heartbeat_timeout + dt.timedelta(minutes=1)
        assert control.mark_dead(later, "host-b", psutil.pid_exists) == ["run_test"]
        assert control.record("run_test").run_state is RunState.CRASHED


def test_unreachable_s3_fails_fast_with_one_line(tmp_path, mongo_url):
    from tests.mongo_server import free_port
    from tests.s3_server import arctic_uri

    home = make_home(tmp_path / "c", f"{mongo_url}/m{uuid.uuid4().hex[:10]}",
                     arctic_uri(free_port(), "nothing"), tmp_path)
    result = subprocess.run([sys.executable, "-c", LAUNCH, "run_test"], cwd=ROOT,
                            env=env_for(home, "host-c"), capture_output=True, text=True,
                            timeout=120)
    # the message comes from the connect probe at open (3 s bound), not ArcticDB's retries
    # (~26 s per call): the operator hears at once
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert "S3 endpoint 127.0.0.1" in lines[0]
    assert "secret=***" in lines[0] and SECRET not in lines[0]
