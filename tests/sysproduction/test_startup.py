import datetime as dt
import os

import pytest

from syscontrol.control import ProcessControl
from syscontrol.process_status import RunState
from sysproduction.startup import startup
from tests.blob_helpers import FixedClock, make_blob
from tests.process_helpers import dead_pid


@pytest.fixture
def blob(tmp_path, monkeypatch):
    monkeypatch.setenv("SYSTRADE_HOST", "host-a")
    data = make_blob(tmp_path / "home", clock=FixedClock("2024-03-07 06:00"))
    yield data
    data.close()


def test_startup_closes_this_hosts_dead_records_and_client_ids(blob):
    control = ProcessControl(blob.process_control)
    now = blob.now().to_pydatetime()
    control.claim_start("run_dead_here", "host-a", dead_pid(), now, lambda pid: False)
    control.claim_start("run_other_host", "host-b", 12, now, lambda pid: False)
    blob.client_ids.allocate(1, 10, owner="host-a:123")
    blob.client_ids.allocate(1, 10, owner="host-b:456")
    blob.client_ids.allocate(1, 10)
    report = startup(data=blob)
    assert report.closed == ("run_dead_here",)
    assert report.client_ids_released == (1, 3)
    assert blob.client_ids.in_use() == [2]
    assert control.record("run_dead_here").run_state is RunState.FINISHED
    assert control.record("run_other_host").run_state is RunState.RUNNING
    assert "processes marked closed: run_dead_here" in str(report)


def test_startup_leaves_a_live_process_of_this_host(blob):
    control = ProcessControl(blob.process_control)
    now = dt.datetime.now(dt.timezone.utc)
    control.claim_start("run_live", "host-a", os.getpid(), now, lambda pid: False)
    assert startup(data=blob).closed == ()
    assert control.record("run_live").run_state is RunState.RUNNING
