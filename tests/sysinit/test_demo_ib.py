"""``systrade demo --broker ib``: the same simulated days through ib_async and the fake TWS
process end with the same positions as through the simulated broker directly."""
from __future__ import annotations

import subprocess

import pytest

from sysinit.demo import run_demo

CODES = "SP500_micro,BUND"


def _positions(result) -> dict:
    return {row["instrument"]: (row["strategies"], row["contracts"], row["broker"])
            for row in result.status["positions"]["instruments"]}


def _fake_tws_processes() -> list[str]:
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True)
    return [line for line in ps.stdout.splitlines() if "sysbrokers.IB.fake_tws" in line]


def _ib_orders(home) -> list:
    from sysproduction.blob import production_blob

    with production_blob(home, process_name="test") as data:
        return list(data.state.find("ib_orders"))


@pytest.fixture
def two_homes(tmp_path, monkeypatch):
    homes = {}
    for name in ("sim", "ib"):
        home = tmp_path / name
        (home / "private").mkdir(parents=True)
        homes[name] = home
    return homes


def test_demo_through_ib_ends_with_the_same_positions_as_through_the_sim_broker(
        two_homes, monkeypatch, capfd):
    results, texts = {}, {}
    for name, home in two_homes.items():
        monkeypatch.setenv("SYSTRADE_HOME", str(home))
        lines: list[str] = []
        results[name] = run_demo(days=2, out=lines.append, instruments=CODES, broker=name)
        texts[name] = "\n".join(lines)
    # the demo's log went on to its open store (it closed the store under its own logging:
    # 'StateStoreHandler failed ... closed database', and ArcticDB's LMDB re-open warnings)
    err = capfd.readouterr().err
    assert "StateStoreHandler failed" not in err and "LMDB path" not in err, err[-2000:]
    sim, ib = results["sim"], results["ib"]
    assert sim.ok, sim.problems
    assert ib.ok, (ib.problems, texts["ib"][-3000:])
    assert "broker ib: ib_async to the fake TWS on 127.0.0.1:" in texts["ib"]
    assert sim.trades["fills"] > 0
    assert _positions(ib) == _positions(sim)
    assert any(row[2] for row in _positions(ib).values()), "nothing held at the broker"
    # the IB home's orders went through the IB broker (its book of IB orders), the sim's not
    assert _ib_orders(two_homes["ib"]) and not _ib_orders(two_homes["sim"])
    # the fake TWS is stopped and the home is a sim home again
    home = two_homes["ib"]
    assert "broker: ib" not in (home / "private" / "private_config.yaml").read_text()
    assert not [p for p in _fake_tws_processes() if str(home) in p]


def test_demo_with_the_sim_broker_refuses_a_home_configured_for_ib(tmp_path, monkeypatch):
    """A home whose config says broker: ib (a --broker ib run killed before it put the config
    back, or pointed at a TWS by hand) traded through IB while 'systrade demo' said nothing of
    it and its final report read the simulated book."""
    from syscore.exceptions import ConfigError

    home = tmp_path / "home"
    (home / "private").mkdir(parents=True)
    (home / "private" / "private_config.yaml").write_text(
        "clock: simulated\nbroker: ib\nib:\n  port: 1\n")
    monkeypatch.setenv("SYSTRADE_HOME", str(home))
    with pytest.raises(ConfigError, match="not a demo home for --broker sim: .*broker: ib"):
        run_demo(days=1, out=lambda _line: None)
    from sysproduction.blob import production_blob

    with production_blob(home, process_name="test") as data:
        assert data.instruments.list_codes() == []  # refused before initialising anything


def test_demo_with_the_sim_broker_refuses_a_home_that_traded_through_ib(tmp_path,
                                                                        monkeypatch):
    """After 'systrade demo --broker ib' the ledger holds the fills under IB's execution ids;
    a following '--broker sim' run booked the same fills again under the simulated broker's
    ids (position break: ours 18, broker 9)."""
    from syscore.exceptions import ConfigError
    from sysproduction.blob import production_blob

    home = tmp_path / "home"
    (home / "private").mkdir(parents=True)
    (home / "private" / "private_config.yaml").write_text("clock: simulated\nbroker: sim\n")
    with production_blob(home, process_name="test") as data:  # what an IB run leaves
        data.state.put("ib_orders", "1", {"order": {"order_id": "1"}})
    monkeypatch.setenv("SYSTRADE_HOME", str(home))
    with pytest.raises(ConfigError, match="has traded through IB .*--broker ib again"):
        run_demo(days=1, out=lambda _line: None)
    with production_blob(home, process_name="test") as data:
        assert data.instruments.list_codes() == []  # refused before initialising anything


def test_a_fake_tws_that_cannot_start_is_one_error_and_the_config_is_untouched(tmp_path):
    from syscore.exceptions import StartupError
    from sysinit.demo_ib import fake_tws_for_home

    home = tmp_path / "home"
    (home / "private").mkdir(parents=True)
    config = home / "private" / "private_config.yaml"
    config.write_text("broker: nonsense\n")
    with pytest.raises(StartupError, match="the fake TWS did not start: .*home"):
        with fake_tws_for_home(home):
            raise AssertionError("not reached")
    assert config.read_text() == "broker: nonsense\n"
    assert not [p for p in _fake_tws_processes() if str(home) in p]


def test_the_config_is_put_back_and_the_fake_stopped_when_the_run_fails(tmp_path):
    from sysinit.demo_ib import fake_tws_for_home

    home = tmp_path / "home"
    (home / "private").mkdir(parents=True)
    config = home / "private" / "private_config.yaml"
    config.write_text("clock: simulated\n")
    with pytest.raises(RuntimeError, match="a process crashed"):
        with fake_tws_for_home(home) as port:
            assert f"port: {port}" in config.read_text()
            assert "broker: ib" in config.read_text()
            raise RuntimeError("a process crashed")
    assert config.read_text() == "clock: simulated\n"
    assert not [p for p in _fake_tws_processes() if str(home) in p]
