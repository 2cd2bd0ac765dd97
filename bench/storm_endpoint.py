"""The storm bench's AWS endpoint (bench/storm.py): moto's server on a free port, in a process of its own or in a
thread of the bench's, with DynamoDB made item-atomic, and the CPU time each side used."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def dynamodb_item_atomicity() -> Iterator[None]:
    """DynamoDB applies each write to an item atomically; moto does not (infra/local/moto_patches.py)."""
    from infra.local.moto_patches import serialise_dynamodb

    serialise_dynamodb()
    yield


def answer_later(latency_ms: float) -> None:
    """moto's server answers each request `latency_ms` later, as an AWS service does across the network from a
    Lambda function (a few ms in one region): requests in flight at once wait together, one after another add up."""
    from moto.moto_server import threaded_moto_server

    class FarAway(threaded_moto_server.DomainDispatcherApplication):  # type: ignore[misc]
        def __call__(self, environ: Any, start_response: Any) -> Any:
            time.sleep(latency_ms / 1000)  # (the network's share of a round trip, outside moto's own locks)
            return super().__call__(environ, start_response)

    threaded_moto_server.DomainDispatcherApplication = FarAway


def serve_moto(port: int, latency_ms: float = 0.0) -> None:
    """The child process of `--moto process`: moto's server, DynamoDB made item-atomic, until stdin closes."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    from moto.server import ThreadedMotoServer

    if latency_ms:
        answer_later(latency_ms)

    with dynamodb_item_atomicity():
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        server.start()
        print("ready", flush=True)
        sys.stdin.read()
        server.stop()


class MotoEndpoint:
    """moto's ThreadedMotoServer on a free port: in its own process (default) or in this one (`thread`).

    In its own process moto's request handling has a core and a GIL of its own, as DynamoDB and SNS have
    their own machines: the bench process's CPU time is then the client side alone (the handlers, or boto3).
    """

    def __init__(self, mode: str, latency_ms: float = 0.0) -> None:
        self.mode = mode
        self.latency_ms = latency_ms  # (its own process only: added to each answer, see answer_later)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._child: subprocess.Popen[str] | None = None
        self._server: Any = None
        self._atomicity: Any = None

    def start(self) -> None:
        if self.mode == "process":
            self._child = subprocess.Popen(
                [sys.executable, "-m", "bench.storm_endpoint", str(self.port), str(self.latency_ms)],
                cwd=ROOT,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            if self._child.stdout is None or self._child.stdout.readline().strip() != "ready":
                raise RuntimeError("moto's server process did not start")
            return
        from moto.server import ThreadedMotoServer

        self._atomicity = dynamodb_item_atomicity()
        self._atomicity.__enter__()
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self._server.start()

    def stop(self) -> None:
        if self._child is not None:
            assert self._child.stdin is not None
            self._child.stdin.close()
            try:
                self._child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._child.kill()
                self._child.wait()
        if self._server is not None:
            self._server.stop()
        if self._atomicity is not None:
            self._atomicity.__exit__(None, None, None)

    def cpu_seconds(self) -> tuple[float, float | None]:
        """CPU time (user + system) used so far by this process and, if it has its own, moto's process."""
        own = time.process_time()
        if self._child is None:
            return own, None
        try:
            fields = Path(f"/proc/{self._child.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return own, (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):
            return own, None


def cpu_ms_per(
    before: tuple[float, float | None], after: tuple[float, float | None], count: int
) -> dict[str, float | None]:
    client = (after[0] - before[0]) * 1000 / count
    server = (after[1] - before[1]) * 1000 / count if after[1] is not None and before[1] is not None else None
    return {"bench_process": round(client, 3), "moto_process": round(server, 3) if server is not None else None}


if __name__ == "__main__":  # the child process of `--moto process`
    serve_moto(int(sys.argv[1]), float(sys.argv[2]) if len(sys.argv) > 2 else 0.0)
