"""A real moto server process on loopback, standing in for AWS in tests, benchmarks and demos.

Everything that talks to it goes over HTTP, exactly as to AWS: boto3 finds it
through ``AWS_ENDPOINT_URL``, in this process and in every subprocess.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from lava_core.errors import BackendError

# Fake credentials: requests must never reach real AWS with real ones.
MOTO_ENVIRONMENT = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                    "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1"}


class MotoServer:
    """``python -m moto.server`` on a free 127.0.0.1 port; its log goes to ``log_path``."""

    def __init__(self, log_path: Path) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 20) -> None:
        """Start it and wait until it answers; BackendError (with the log tail) if it does not."""
        try:
            import moto.server  # noqa: F401, PLC0415 - only to give a clear message when it is missing
        except ImportError as exc:
            msg = "moto's server is not installed: pip install 'lava-core[test]' (moto[server])"
            raise BackendError(msg) from exc
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(  # noqa: S603 - fixed argv
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                with urllib.request.urlopen(f"{self.endpoint}/moto-api/", timeout=1):  # noqa: S310 - loopback
                    return
            except OSError:
                time.sleep(0.1)
        status = self.proc.poll()
        self.stop()
        tail = self.log_path.read_text(errors="replace")[-2000:]
        msg = f"moto server did not start on {self.endpoint} within {timeout:g}s (exit status {status}); log tail:\n{tail}"
        raise BackendError(msg)

    def reset(self) -> None:
        """Forget every table, queue and bucket (``POST /moto-api/reset``)."""
        request = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")  # noqa: S310 - loopback
        with urllib.request.urlopen(request, timeout=10):  # noqa: S310 - loopback
            pass

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


def use_moto_server(endpoint: str) -> dict[str, str | None]:
    """Point boto3 (here and in subprocesses) at ``endpoint`` with fake credentials; returns what to restore."""
    saved = {k: os.environ.get(k) for k in (*MOTO_ENVIRONMENT, "AWS_ENDPOINT_URL", "AWS_PROFILE")}
    os.environ.update(MOTO_ENVIRONMENT, AWS_ENDPOINT_URL=endpoint)
    os.environ.pop("AWS_PROFILE", None)
    return saved


def restore_environment(saved: dict[str, str | None]) -> None:
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
