"""End-to-end fixture: the local runtime as a user starts it (`python -m infra.local`), in its own process."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from dataclasses import dataclass

import pytest

from infra.local.demo import stop_process
from infra.topology import ROOT

TIME_SCALE = 0.01  # level 1: 5 min → 3 s, level 2: 10 min → 6 s


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass(frozen=True)
class RunningPipeline:
    api_url: str
    aws_url: str
    resources: dict[str, str]
    process: subprocess.Popen


@pytest.fixture(scope="module")
def local_pipeline() -> Iterator[RunningPipeline]:
    """The runtime with the repository's own config/, as `make run` starts it."""
    with running_pipeline(ROOT / "config", TIME_SCALE) as pipeline:
        yield pipeline


@contextmanager
def running_pipeline(config_dir: Path, time_scale: float, state_dir: Path | None = None, *args: str) -> Iterator[RunningPipeline]:
    """`state_dir`: where it keeps its state (default: a temporary folder of its own, never the repository's)."""
    if state_dir is None:
        with tempfile.TemporaryDirectory(prefix="firebell-state-") as temporary:
            with running_pipeline(config_dir, time_scale, Path(temporary), *args) as pipeline:
                yield pipeline
        return
    api_port, aws_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "FIREBELL_STATE_DIR"))}
    process = subprocess.Popen(
        [sys.executable, "-m", "infra.local", "--no-demo", f"--api-port={api_port}", f"--aws-port={aws_port}",
         f"--time-scale={time_scale}", f"--config-dir={config_dir}", f"--state-dir={state_dir}", *args],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    api_url = f"http://127.0.0.1:{api_port}"
    deadline = time.monotonic() + 60
    health = None
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(f"{api_url}/_local/health", timeout=2) as response:
                health = json.loads(response.read())
                break
        except urllib.error.HTTPError as unhealthy:  # up, though a check fails (503): started all the same
            health = json.loads(unhealthy.read())
            break
        except OSError:
            time.sleep(0.2)
    if health is None:
        process.kill()
        pytest.fail(f"local runtime did not start:\n{process.communicate()[0]}")
    try:
        yield RunningPipeline(api_url, f"http://127.0.0.1:{aws_port}", health["resources"], process)
    finally:
        stop_process(process)
