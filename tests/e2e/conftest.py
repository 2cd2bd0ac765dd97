"""End-to-end fixture: the local runtime as a user starts it (`python -m infra.local`), in its own process."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from infra.local.demo import http, stop_process, wait_for
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
    https_url: str
    ca_file: Path  # the CA the runtime made on start: what a client trusts to reach https_url
    smtp_port: int  # email intake's SMTP listener (infra/local/mail.py)


@pytest.fixture(scope="module")
def local_pipeline() -> Iterator[RunningPipeline]:
    """The runtime with the repository's own config/, as `make run` starts it."""
    with running_pipeline(ROOT / "config", TIME_SCALE) as pipeline:
        yield pipeline


@contextmanager
def running_pipeline(
    config_dir: Path,
    time_scale: float,
    state_dir: Path | None = None,
    *args: str,
    demo: bool = False,
    tls_dir: Path | None = None,
) -> Iterator[RunningPipeline]:
    """`state_dir`: where it keeps its state (default: a temporary folder of its own, never the repository's).
    `demo`: play the demo first, as `make run` does (the fixture yields once it passed). `tls_dir`: where the runtime
    keeps its CA and certificate (default: a folder of its own, removed after)."""
    if state_dir is None:
        with (
            tempfile.TemporaryDirectory(prefix="firebell-state-") as temporary,
            running_pipeline(config_dir, time_scale, Path(temporary), *args, demo=demo, tls_dir=tls_dir) as pipeline,
        ):
            yield pipeline
        return
    api_port, aws_port, tls_port, smtp_port = free_port(), free_port(), free_port(), free_port()
    own_tls_dir = tls_dir is None
    tls_dir = Path(tempfile.mkdtemp(prefix="firebell-tls-")) if tls_dir is None else tls_dir
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "FIREBELL_STATE_DIR"))} | {
        "PYTHONUNBUFFERED": "1"
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "infra.local",
            *([] if demo else ["--no-demo"]),
            f"--api-port={api_port}",
            f"--aws-port={aws_port}",
            f"--tls-port={tls_port}",
            f"--smtp-port={smtp_port}",
            f"--tls-dir={tls_dir}",
            f"--time-scale={time_scale}",
            f"--config-dir={config_dir}",
            f"--state-dir={state_dir}",
            *args,
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    api_url = f"http://127.0.0.1:{api_port}"

    def health() -> dict[str, Any] | None:
        if process.poll() is not None:
            return {"exited": process.returncode}
        try:
            with urllib.request.urlopen(f"{api_url}/_local/health", timeout=2) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as unhealthy:  # up, though a check fails (503): started all the same
            return json.loads(unhealthy.read())
        except OSError:  # not listening yet
            return None

    try:
        started: dict[str, Any] | None = wait_for(
            "the local runtime answering /_local/health", health, 60, interval=0.2
        )
    except AssertionError:
        started = None
    if started is None or "exited" in started:
        process.kill()
        pytest.fail(f"local runtime did not start:\n{process.communicate()[0]}")
    if demo:
        wait_for_demo(process)
    try:
        yield RunningPipeline(
            api_url,
            f"http://127.0.0.1:{aws_port}",
            started["resources"],
            process,
            f"https://127.0.0.1:{tls_port}",
            tls_dir / "ca.pem",
            smtp_port,
        )
    finally:
        stop_process(process)
        if own_tls_dir:
            shutil.rmtree(tls_dir, ignore_errors=True)


def pagerduty_incident(pipeline: RunningPipeline, dedup_key: str, service: str = "checkout") -> dict[str, Any]:
    """The incident a PagerDuty client's dedup key names, as GET /incidents shows it."""
    status, page = http("GET", f"{pipeline.api_url}/incidents?limit=100")
    assert status == 200
    [incident] = [i for i in page["items"] if i["dedup_key"] == f"pagerduty:{service}:{dedup_key}"]
    return incident


def wait_for_demo(process: subprocess.Popen) -> None:
    """Read the runtime's output until the demo's verdict (it prints nothing more until stopped, so the pipe cannot fill)."""
    seen = []
    for line in process.stdout:
        seen.append(line)
        if line.startswith("demo passed"):
            return
        if line.startswith("demo FAILED"):
            break
    process.kill()
    pytest.fail("the demo did not pass:\n" + "".join(seen) + process.communicate()[0])
