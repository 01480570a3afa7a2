"""Methods for process-control subprocess tests: they wait for files the test creates."""
from __future__ import annotations

import time
from pathlib import Path

LIMIT_SECONDS = 60.0


def _wait_for(path: Path) -> None:
    deadline = time.monotonic() + LIMIT_SECONDS
    while not path.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path} never appeared")
        time.sleep(0.02)


def work(data, flag_dir: str, name: str = "work") -> None:
    """Record that ``name`` started (a file ``<name>.started.<n>``), then wait for ``go``."""
    folder = Path(flag_dir)
    count = len(list(folder.glob(f"{name}.started.*")))
    (folder / f"{name}.started.{count}").touch()
    _wait_for(folder / "go")


def finish(data, flag_dir: str) -> None:
    (Path(flag_dir) / "completion.ran").touch()
