"""Store URLs: absolute paths are absolute, relative ones are relative to the home, never the cwd."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from syscore.config_models import SystradeConfig
from syscore.exceptions import ConfigError
from syscore.store_urls import resolve_state_store, resolve_timeseries_uri, sqlite_path

REPO = Path(__file__).resolve().parents[2]
HOME = Path("/srv/trader/home")


@pytest.mark.parametrize("url, expected", [
    ("sqlite", HOME / "state.sqlite"),
    ("sqlite:///var/lib/systrade/state.sqlite", Path("/var/lib/systrade/state.sqlite")),
    ("sqlite:////var/lib/systrade/state.sqlite", Path("/var/lib/systrade/state.sqlite")),
    ("sqlite:other/state.sqlite", HOME / "other" / "state.sqlite"),
    ("sqlite:~/state.sqlite", Path("~/state.sqlite").expanduser()),
    ("sqlite:///~/state.sqlite", Path("~/state.sqlite").expanduser()),
])
def test_sqlite_paths(url, expected):
    assert sqlite_path(url, HOME) == expected
    assert resolve_state_store(url, HOME).path == expected


def test_sqlite_url_with_a_host_is_a_config_error():
    with pytest.raises(ConfigError, match="three slashes"):
        sqlite_path("sqlite://server/state.sqlite", HOME)
    with pytest.raises(ValueError):
        SystradeConfig(state_store="sqlite://server/state.sqlite")
    assert SystradeConfig(state_store="sqlite:rel.sqlite").state_store == "sqlite:rel.sqlite"


def test_mongodb_url_passes_through():
    assert resolve_state_store("mongodb://h:1/db", HOME).url == "mongodb://h:1/db"


@pytest.mark.parametrize("uri, expected", [
    (None, f"lmdb://{HOME / 'arctic'}"),
    ("lmdb:///data/arctic", "lmdb:///data/arctic"),
    ("lmdb://series", f"lmdb://{HOME / 'series'}"),
    ("lmdb://series?map_size=2GB", f"lmdb://{HOME / 'series'}?map_size=2GB"),
    ("s3://host:bucket?access=a&secret=b", "s3://host:bucket?access=a&secret=b"),
])
def test_timeseries_uris(uri, expected):
    assert resolve_timeseries_uri(uri, HOME) == expected


@pytest.mark.parametrize("uri, what", [
    ("lmdb:///", "holds the systrade home"),               # the file-system root
    ("lmdb://..", "holds the systrade home"),              # the home's parent
    ("lmdb:///srv/trader", "holds the systrade home"),
    ("lmdb://.", "holds the systrade home"),               # the home itself
    ("lmdb:///srv/trader/home/", "holds the systrade home"),
    ("lmdb://private", "inside the private config folder"),
    ("lmdb://private/arctic", "inside the private config folder"),
])
def test_a_timeseries_folder_holding_the_home_or_inside_private_is_refused(uri, what):
    """``lmdb:///`` put ArcticDB's folders at the file-system root, ``lmdb://..`` next to the
    home among other people's folders, ``lmdb://private`` into the private config, which every
    CSV backup copies and a restore writes back over the live store."""
    with pytest.raises(ConfigError, match=what):
        resolve_timeseries_uri(uri, HOME)


@pytest.mark.parametrize("url, what", [
    ("sqlite:private/state.sqlite", "inside the private config folder"),
    ("sqlite:///srv/trader/home/private/x/state.sqlite", "inside the private config folder"),
])
def test_a_state_file_inside_private_is_refused(url, what):
    with pytest.raises(ConfigError, match=what):
        resolve_state_store(url, HOME)


WRITE = """
import os, sys
from sysdata.data_blob import DataBlob
from sysobjects.instruments import InstrumentConfig
with DataBlob.from_config() as data:
    code = sys.argv[1]
    data.instruments.add(InstrumentConfig(code, pointsize=1))
    print(data.state.url, data.timeseries.uri, ",".join(data.instruments.list_codes()))
"""


def test_one_store_whatever_the_working_directory(tmp_path):
    """``sqlite:///abs`` and ``lmdb://relative`` name the same stores from any cwd."""
    home, elsewhere, cron_dir = tmp_path / "home", tmp_path / "elsewhere", tmp_path / "cron"
    for directory in (home / "private", elsewhere, cron_dir):
        directory.mkdir(parents=True)
    state_file = tmp_path / "db" / "state.sqlite"
    state_file.parent.mkdir()
    (home / "private" / "private_config.yaml").write_text(
        f"state_store: sqlite://{state_file}\ntimeseries_store: lmdb://series\n")
    env = {**os.environ, "SYSTRADE_HOME": str(home), "PYTHONPATH": str(REPO)}
    outputs = []
    for cwd, code in ((elsewhere, "CORN"), (cron_dir, "WHEAT")):
        result = subprocess.run([sys.executable, "-c", WRITE, code], cwd=cwd, env=env,
                                capture_output=True, text=True, timeout=120,
                                stdin=subprocess.DEVNULL)
        assert result.returncode == 0, result.stderr
        outputs.append(result.stdout.split())
    assert outputs[1][2] == "CORN,WHEAT"  # the second run saw the first run's record
    assert outputs[0][:2] == outputs[1][:2]
    assert outputs[0][1] == f"lmdb://{home / 'series'}"
    assert state_file.exists() and (home / "series").is_dir()
    for cwd in (elsewhere, cron_dir):
        assert list(cwd.iterdir()) == []  # nothing created relative to the working directory
