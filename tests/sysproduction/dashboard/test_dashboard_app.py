"""The dashboard application without a browser (Flask's test client on real stores), and the
``systrade dashboard`` command's refusals."""
from __future__ import annotations

import base64
import os
import subprocess
import sys

import pandas as pd
import pytest

from syscore.exceptions import StartupError
from sysproduction.dashboard.app import create_app
from sysproduction.dashboard.panels import DashboardSettings
from sysproduction.dashboard.server import is_loopback, read_password_file
from tests.blob_helpers import FixedClock, make_blob
from tests.sysproduction.dashboard.conftest import CLI, ROOT


@pytest.fixture
def blob(backend, tmp_path):
    """A blob on each state backend whose broker cannot be reached."""
    def broken_broker(blob):
        raise ConnectionError("gateway down")

    data = make_blob(tmp_path / "home", *backend, clock=FixedClock("2024-03-07 21:00"),
                     broker_factory=broken_broker)
    data.positions.set_strategy_position("trend", "CORN", 3, data.now())
    data.positions.set_contract_position("CORN", "20240500", 3, data.now())
    yield data
    data.close()


def _client(blob, **kwargs):
    app = create_app(blob, DashboardSettings(refresh_seconds=30), **kwargs)
    return app, app.test_client()


def test_a_panel_that_cannot_be_read_says_so_and_the_page_still_answers(blob):
    app, client = _client(blob)
    try:
        overview = client.get("/")
        assert overview.status_code == 200
        text = overview.get_data(as_text=True)
        assert "broker not read: ConnectionError: gateway down" in text
        assert "not recorded" in text  # no total capital stored
        assert 'content="30"' in text  # the meta refresh
        positions = client.get("/positions").get_data(as_text=True)
        assert "broker positions not read: ConnectionError: gateway down" in positions
        assert "trend: 3" in positions and "202405: 3" in positions
        capital = client.get("/capital").get_data(as_text=True)
        assert "unavailable: no data for capital/TOTAL" in capital
        assert client.get("/reports").status_code == 200  # no reports folder yet
    finally:
        app.extensions["systrade_reader"].shutdown()


def test_read_only_and_locked_down(blob):
    app, client = _client(blob)
    try:
        assert client.post("/").status_code == 405
        assert client.get("/reports/2024-01-06/..%2Fstate.sqlite").status_code == 404
        assert client.get("/reports/latest/status.html").status_code == 404
        response = client.get("/prices")
        policy = response.headers["Content-Security-Policy"]
        assert "default-src 'none'" in policy and "script-src" not in policy
        assert response.headers["Cache-Control"] == "no-store"
        assert "<script" not in response.get_data(as_text=True)
    finally:
        app.extensions["systrade_reader"].shutdown()


def test_basic_authentication(blob):
    app, client = _client(blob, user="ops", password="s3cret")

    def auth(credentials: str) -> dict[str, str]:
        return {"Authorization": "Basic " + base64.b64encode(credentials.encode()).decode()}

    try:
        for path in ("/", "/static/dashboard.css", "/reports/2024-01-06/status.html"):
            refused = client.get(path)
            assert refused.status_code == 401
            assert refused.headers["WWW-Authenticate"].startswith("Basic ")
        assert client.get("/", headers=auth("ops:wrong")).status_code == 401
        assert client.get("/", headers=auth("systrade:s3cret")).status_code == 401
        assert client.get("/", headers=auth("ops:s3cret")).status_code == 200
    finally:
        app.extensions["systrade_reader"].shutdown()


def test_working_orders_are_listed_per_stack(blob):
    from sysobjects.orders.orders import InstrumentOrder

    stack = blob.order_stack("instrument")
    when = pd.Timestamp("2024-03-07 20:00", tz="UTC")
    stack.add_order(InstrumentOrder(order_id=stack.new_order_id(), strategy_name="trend",
                                    instrument_code="CORN", trade=-2,
                                    generated_datetime=when), when)
    app, client = _client(blob)
    try:
        page = client.get("/orders").get_data(as_text=True)
        assert "instrument stack: 1" in page and "contract stack: 0" in page
        assert "<td>CORN</td><td>-2</td>" in page
    finally:
        app.extensions["systrade_reader"].shutdown()


def test_loopback_and_password_file(tmp_path):
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("10.1.2.3")
    empty = tmp_path / "empty"
    empty.write_text("\n")
    with pytest.raises(StartupError, match="is empty"):
        read_password_file(empty)
    with pytest.raises(StartupError, match="cannot read"):
        read_password_file(tmp_path / "missing")
    (tmp_path / "pw").write_text("pass word\nignored\n")
    assert read_password_file(tmp_path / "pw") == "pass word"


def _dashboard(home, *args):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("SYSTRADE_DASHBOARD_PASSWORD", None)
    return subprocess.run([sys.executable, "-c", CLI, "--home", str(home), "dashboard",
                           "--port", "0", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)


def test_a_folder_that_is_not_an_initialised_home_is_refused_and_left_alone(tmp_path):
    home = tmp_path / "home"
    (home / "private").mkdir(parents=True)
    result = _dashboard(home)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "not an initialised systrade home" in result.stderr
    assert "Traceback" not in result.stderr
    assert sorted(p.name for p in home.iterdir()) == ["private"]  # no store created


def test_listening_beyond_loopback_needs_a_password(tmp_path):
    home = tmp_path / "home"
    blob = make_blob(home)
    blob.close()
    from syscore.config import load_config
    from sysdata.home_record import open_home_stores

    opened = open_home_stores(home, load_config(home))
    opened.state.close()
    opened.timeseries.close()
    result = _dashboard(home, "--host", "0.0.0.0")
    assert result.returncode == 2
    assert "refusing to serve on 0.0.0.0 without a password" in result.stderr
    assert result.stderr.count("\n") == 1


def test_a_port_in_use_is_refused_in_one_line(tmp_path):
    import socket

    home = tmp_path / "home"
    blob = make_blob(home)
    blob.close()
    from syscore.config import load_config
    from sysdata.home_record import open_home_stores

    opened = open_home_stores(home, load_config(home))
    opened.state.close()
    opened.timeseries.close()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        result = _dashboard(home, "--port", str(taken.getsockname()[1]))
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and "cannot listen on" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_symlink_in_the_reports_folder_is_not_followed_out_of_it(blob, tmp_path):
    # a link named like a report (or a date folder linked elsewhere) must not serve a file
    # outside <home>/reports: the private config, the state store, ~/.ssh
    secret = tmp_path / "outside" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text("password: hunter2\n")
    folder = blob.home / "reports" / "2024-03-07"
    folder.mkdir(parents=True)
    (folder / "status.txt").write_text("all well\n")
    (folder / "leak.txt").symlink_to(secret)
    (blob.home / "reports" / "2024-03-06").symlink_to(secret.parent, target_is_directory=True)
    app, client = _client(blob)
    try:
        assert client.get("/reports/2024-03-07/status.txt").status_code == 200
        assert client.get("/reports/2024-03-07/leak.txt").status_code == 404
        assert client.get("/reports/2024-03-06/secret.txt").status_code == 404
        listing = client.get("/reports").get_data(as_text=True)
        assert "status.txt" in listing
        assert "leak.txt" not in listing and "2024-03-06" not in listing
    finally:
        app.extensions["systrade_reader"].shutdown()


def test_one_bad_log_record_does_not_turn_the_page_into_an_error(blob):
    # a log record whose time cannot be read (written by hand, another version, a bad disk)
    # is shown as it is; the page and the other lines still answer
    blob.logs.add({"levelno": 40, "level": "ERROR", "timestamp": "2024-03-07T20:00:00+00:00",
                   "process_name": "run_reports", "message": "a good line"})
    blob.logs.add({"levelno": 40, "level": "ERROR", "timestamp": "not a time",
                   "message": "a record without a process or a time"})
    app, client = _client(blob)
    try:
        response = client.get("/activity")
        assert response.status_code == 200
        text = response.get_data(as_text=True)
        assert "not a time" in text and "a record without a process or a time" in text
        assert "a good line" in text and "2024-03-07 20:00" in text
    finally:
        app.extensions["systrade_reader"].shutdown()


def test_the_account_curve_is_drawn_on_the_overview_and_the_capital_page(blob):
    for day, acc_pnl in ((1, 0.0), (4, 150.0), (6, 420.0)):
        blob.capital.add_total(pd.Timestamp(f"2024-03-0{day} 21:00", tz="UTC"),
                               total=100_000 + acc_pnl, broker=100_000 + acc_pnl,
                               max=100_000 + acc_pnl, acc_pnl=acc_pnl, margin=0.0)
    app, client = _client(blob)
    try:
        for page in ("/", "/capital"):
            text = client.get(page).get_data(as_text=True)
            assert 'id="account-curve"' in text, page
            assert 'src="data:image/svg+xml;base64,' in text, page
    finally:
        app.extensions["systrade_reader"].shutdown()
