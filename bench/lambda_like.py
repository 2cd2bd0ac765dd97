"""Handlers run as Lambda runs them, each in a fresh interpreter, against a local AWS endpoint (bench/cold_start.py,
bench/memory.py).

- Code: the layer built by infra/cdk/layer.py's bundler, as `make synth` builds it (pinned wheels for the Lambda
  platform, firebell, config/, everything compiled to bytecode for the runtime's Python), and each function's
  folder as CDK ships it (bytecode excluded). The child imports from these alone (`-I -S`: no site-packages).
- Environment: what Lambda sets (LAMBDA_TASK_ROOT, AWS_LAMBDA_FUNCTION_NAME, credentials, the X-Ray daemon's
  address, _X_AMZN_TRACE_ID with Sampled=1: active tracing), what the stack sets (infra/cdk/stack.py) and the
  function's own variables from infra/topology.py; plus AWS_ENDPOINT_URL, the one thing Lambda would not set.
- AWS: moto's server in a process of its own (bench/storm.py's MotoEndpoint) with the topology rendered onto it
  (infra/local/render.py), so the events make real SDK calls over HTTP. The incidents an event needs (classify's
  opened incident, notify's classified one) are made beforehand by this process, through the use cases.
- X-Ray: a UDP socket stands in for the daemon and counts the segments each child sends (tracing really on).
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from bench import output
from infra.topology import CONFIG_DIR, ROOT, TOPOLOGY, FunctionSpec

PROBE = ROOT / "bench" / "lambda_probe.py"
REGION = "us-east-1"
BASELINE = "botocore.session"


@dataclass(frozen=True)
class Deployment:
    """What Lambda would extract: the layer (/opt) and each function's code (/var/task)."""

    opt: Path
    tasks: dict[str, Path]

    @property
    def site(self) -> Path:
        return self.opt / "python"


def build_deployment(folder: Path, source: Path = ROOT) -> Deployment:
    """The layer and each function's folder as `make synth` builds them (pip fetches the layer's wheels), from `source`:
    this tree, or another commit's (`source_of`), built by that commit's own infra/cdk/layer.py."""
    recipe = _layer_recipe(source)
    recipe.LayerBundler(
        source / "layers" / "common" / "python" / "firebell",
        source / "config",
        recipe.runtime_requirements(source / "pyproject.toml"),
    ).bundle(folder / "opt")
    tasks = {}
    for spec in TOPOLOGY.functions:
        tasks[spec.name] = folder / "task" / spec.name
        if hasattr(recipe, "FunctionBundler"):
            recipe.FunctionBundler(source / "functions" / spec.name).bundle(tasks[spec.name])
        else:  # before the functions shipped bytecode: their folders as they were (`exclude=["__pycache__", "*.pyc"]`)
            shutil.copytree(
                source / "functions" / spec.name,
                tasks[spec.name],
                ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
            )
    return Deployment(folder / "opt", tasks)


def _layer_recipe(source: Path) -> ModuleType:
    """infra/cdk/layer.py of `source` (it imports the CDK: only when a deployment is built)."""
    if source == ROOT:
        return importlib.import_module("infra.cdk.layer")
    spec = importlib.util.spec_from_file_location(
        f"layer_of_{abs(hash(source))}", source / "infra" / "cdk" / "layer.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def source_of(commit: str, folder: Path) -> Path:
    """What a deployment is built from (the package, functions, config, pins), as of `commit`."""
    archive = subprocess.run(
        ["git", "archive", commit, "layers/common", "functions", "config", "pyproject.toml", "infra/cdk/layer.py"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder


class XrayDaemon:
    """Stands in for the X-Ray daemon on a UDP port: counts the (sub)segment documents the handlers send."""

    def __init__(self) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.settimeout(0.2)
        self.address = f"127.0.0.1:{self._socket.getsockname()[1]}"
        self._names: list[str] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._receive, name="xray-daemon", daemon=True)
        self._thread.start()

    def _receive(self) -> None:
        while not self._stopping.is_set():
            try:
                data = self._socket.recv(65536)
            except TimeoutError:
                continue
            document = data.split(b"\n", 1)[-1]  # '{"format": "json", "version": 1}\n{segment}'
            try:
                name = json.loads(document).get("name", "?")
            except ValueError:
                name = "?"
            with self._lock:
                self._names.append(name)

    def take(self) -> list[str]:
        """Names of the segments received since the last take."""
        with self._lock:
            names, self._names = self._names, []
        return names

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join()
        self._socket.close()


class LambdaLike:
    """The endpoint, the rendered topology and the daemon, for one bench run."""

    def __init__(self, aws_url: str, resources: dict, xray: XrayDaemon, home: Path) -> None:
        self.aws_url = aws_url
        self.resources = resources
        self.xray = xray
        self._home = home

    def environment(self, spec: FunctionSpec, deployment: Deployment) -> dict[str, str]:
        from infra.cdk.functions import stack_environment
        from infra.local.render import own_environment

        host, port = self.xray.address.split(":")
        return {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
            "HOME": str(self._home),
            "LAMBDA_TASK_ROOT": str(deployment.tasks[spec.name]),
            "LAMBDA_RUNTIME_DIR": "/var/runtime",
            "AWS_LAMBDA_FUNCTION_NAME": spec.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.11",
            "_HANDLER": spec.handler,
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": "bench",
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            # Active tracing: Lambda names the daemon; _X_AMZN_TRACE_ID (sampled) is set per invocation by the probe.
            "AWS_XRAY_DAEMON_ADDRESS": self.xray.address,
            "_AWS_XRAY_DAEMON_ADDRESS": host,
            "_AWS_XRAY_DAEMON_PORT": port,
            "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
            "AWS_ENDPOINT_URL": self.aws_url,  # not Lambda's: the local AWS endpoint
            **stack_environment(spec.name, config_dir=str(deployment.opt / "firebell" / "config")),
            **own_environment(spec, self.resources),
        }

    def run(
        self,
        deployment: Deployment,
        spec: FunctionSpec,
        events: list[dict[str, Any]],
        module: str = "app",
        flags: tuple[str, ...] = (),
        wrapper: tuple[str, ...] = (),
    ) -> dict[str, Any]:
        """A fresh interpreter imports `module` (from the function's folder, then the layer) and hands each event to
        its handler (none for the baseline, `module=BASELINE`). The probe's result, the segments it sent, and the
        responses checked: a failed record or a 4xx/5xx is an error here, not a fast sample."""
        task = deployment.tasks[spec.name]
        handler = "handler" if module == "app" else None
        job = {
            "paths": [str(task), str(deployment.site)],
            "module": module,
            "handler": handler,
            "events": events if handler else [],
            "function": spec.name,
            "memory_mb": spec.memory_mb,
        }
        with tempfile.TemporaryDirectory(prefix="firebell-probe-") as folder:
            job_path, result_path = Path(folder) / "job.json", Path(folder) / "result.json"
            job_path.write_text(json.dumps(job))
            self.xray.take()
            # To see where the time goes: `flags` such as -X importtime, a `wrapper` such as valgrind (reports in `stderr`).
            done = subprocess.run(
                [*wrapper, sys.executable, "-I", "-S", "-B", *flags, str(PROBE), str(job_path), str(result_path)],
                env=self.environment(spec, deployment),
                cwd=task,
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
            if done.returncode != 0:
                raise RuntimeError(f"{spec.name} ({module}) failed:\n{done.stderr.strip()[-4000:]}")
            result = json.loads(result_path.read_text())
        result["segments"] = self.xray.take()
        result["stderr"] = done.stderr
        for response in result["responses"]:
            failed = response.get("batchItemFailures") if isinstance(response, dict) else None
            status = response.get("statusCode", 200) if isinstance(response, dict) else 200
            if failed or status >= 400:
                raise RuntimeError(f"{spec.name}: an event failed: {str(response)[:2000]}\n{done.stdout[-4000:]}")
        return result


@contextmanager
def lambda_like(aws_latency_ms: float = 0.0) -> Iterator[LambdaLike]:
    """moto's server with the topology on it (each answer `aws_latency_ms` later), and the daemon."""
    from bench.storm import configure_process
    from bench.storm_endpoint import MotoEndpoint

    endpoint = MotoEndpoint("process", aws_latency_ms)
    configure_process(endpoint.url, endpoint.port)
    from firebell import wiring
    from infra.local.render import common_environment, render_topology

    xray = XrayDaemon()
    endpoint.start()
    try:
        with tempfile.TemporaryDirectory(prefix="firebell-lambda-like-") as folder:
            resources = render_topology(TOPOLOGY, CONFIG_DIR, "https://api.example.com/prod")
            os.environ.update(common_environment(CONFIG_DIR, 1.0))  # for the use cases this process runs to seed
            wiring.reset()
            home = Path(folder) / "home"
            home.mkdir()
            yield LambdaLike(endpoint.url, resources, xray, home)
    finally:
        endpoint.stop()
        xray.stop()


@contextmanager
def measured_builds(
    before: str | None, aws_latency_ms: float = 0.0
) -> Iterator[tuple[dict[str, Deployment], LambdaLike, Any]]:
    """This tree's deployment ("after") and, given a commit, that commit's ("before"), built by their own recipes;
    the endpoint; and the maker of representative events (bench/lambda_events.py)."""
    with tempfile.TemporaryDirectory(prefix="firebell-bench-") as temporary:
        folder = Path(temporary)
        deployments = {"after": build_deployment(folder / "after")}
        if before:
            deployments["before"] = build_deployment(folder / "before", source_of(before, folder / "before-source"))
        with lambda_like(aws_latency_ms) as env:
            from bench.lambda_events import Events

            yield deployments, env, Events(env.resources)


def run_facts(bench: str, argv: list[str] | None) -> dict[str, Any]:
    """What a result says of its run: the command, when, which code, on what."""
    from bench.latency import commit
    from bench.storm_report import machine

    about = machine()
    return {
        "command": f"python -m bench.{bench} " + " ".join(argv if argv is not None else sys.argv[1:]),
        "date": about["date"],
        "commit": commit(),
        "machine": f"{about['processor']}, {about['cpu_count']} CPUs, Python {about['python']}",
        "packages": about["packages"],
    }


def write_result(
    out: Path, stem: str, result: dict[str, Any], before: str | None, measured: dict[str, Any], text
) -> None:
    """`measured`'s rows into the result (the `before` commit's beside), written as <stem>.json and .md (`text`)."""
    result["functions"] = measured["after"]
    if "before" in measured:
        result["before"] = {"commit": before, "functions": measured["before"]}
    report = text(result)
    print(report)
    output.write(out, stem, result, report)
