"""Start and stop a MongoDB-wire-protocol server (nx-27017) on 127.0.0.1 for tests."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pymongo


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class MongoTestServer:
    """An nx-27017 process on a free port, its data under ``workdir``; stops on :meth:`stop`."""

    def __init__(self, workdir: Path):
        self.port = free_port()
        self.workdir = workdir
        exe = Path(sys.executable).parent / "nx-27017"
        command = [str(exe)] if exe.exists() else [sys.executable, "-m", "nx_27017"]
        command += [
            "--host", "127.0.0.1", "-p", str(self.port),
            "--data-dir", str(workdir / "data"),
            "--log-file", str(workdir / "nx.log"),
            "--pid-file", str(workdir / "nx.pid"),
        ]
        (workdir / "data").mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )
        self.url = f"mongodb://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                client = pymongo.MongoClient(self.url, serverSelectionTimeoutMS=500)
                client.admin.command("ping")
                client.close()
                break
            except pymongo.errors.PyMongoError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"nx-27017 did not start on port {self.port}") from None
                time.sleep(0.1)

    def stop(self) -> None:
        stop_process(self.process)


def stop_process(process: subprocess.Popen) -> None:
    """Terminate a test server process, killing it if it does not stop within 10 s."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def mongo_base_url(tmp_factory) -> tuple[str, MongoTestServer | None]:
    configured = os.environ.get("SYSTRADE_MONGO_URL")
    if configured:
        return configured.rstrip("/"), None
    server = MongoTestServer(tmp_factory.mktemp("mongo"))
    return server.url, server
