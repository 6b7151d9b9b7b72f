"""Running ``waitless serve --workers N`` as a subprocess for multi-worker tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

from tests.conftest import REDIS_URL, free_port


@contextmanager
def serve(tmp_path, prefix: str, *, workers: int = 2, **env_vars: str) -> Iterator[str]:
    """Start the server against the real Redis; yield its base URL; SIGTERM it afterwards."""
    port = free_port()
    env = {**os.environ, "WAITLESS_REDIS_URL": REDIS_URL, "WAITLESS_REDIS_PREFIX": prefix,
           "WAITLESS_SPOOL_DIR": str(tmp_path / "spool"), **env_vars}
    if "WAITLESS_DATABASE_URL" not in env_vars:
        env.pop("WAITLESS_DATABASE_URL", None)
    process = subprocess.Popen([sys.executable, "-m", "waitless", "serve", "--workers",
                                str(workers), "--port", str(port)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base, process)
        yield base
    finally:
        stop(process)


def wait_healthy(base: str, process: subprocess.Popen, timeout_seconds: float = 60) -> None:
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited with {process.returncode}")
        try:
            urllib.request.urlopen(f"{base}/healthz", timeout=2)
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("server did not become healthy")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
