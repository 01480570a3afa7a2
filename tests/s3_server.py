"""Start and stop an S3-protocol server (moto in server mode) on 127.0.0.1 for tests."""
from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.mongo_server import free_port, stop_process

ACCESS, SECRET, REGION = "systrade-test", "systrade-test-secret", "us-east-1"


class S3TestServer:
    """A moto server on a free port; ``bucket(name)`` creates a bucket; stops on :meth:`stop`."""

    def __init__(self, workdir: Path):
        self.port = free_port()
        exe = Path(sys.executable).parent / "moto_server"
        command = [str(exe)] if exe.exists() else [sys.executable, "-m", "moto.server"]
        command += ["-H", "127.0.0.1", "-p", str(self.port)]
        workdir.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(command, stdout=(workdir / "moto.log").open("wb"),
                                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                        start_new_session=True)
        self.endpoint = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(self.endpoint, timeout=1).close()
                break
            except Exception:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"moto server did not start on {self.port}") from None
                time.sleep(0.1)

    def bucket(self, name: str) -> str:
        """Create ``name`` and return the ArcticDB URI of it."""
        import boto3

        client = boto3.client("s3", endpoint_url=self.endpoint, aws_access_key_id=ACCESS,
                              aws_secret_access_key=SECRET, region_name=REGION)
        client.create_bucket(Bucket=name)
        return arctic_uri(self.port, name)

    def stop(self) -> None:
        stop_process(self.process)


def arctic_uri(port: int, bucket: str) -> str:
    return (f"s3://127.0.0.1:{bucket}?port={port}&access={ACCESS}&secret={SECRET}"
            f"&region={REGION}")
