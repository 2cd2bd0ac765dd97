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


def serve_moto(port: int) -> None:
    """The child process of `--moto process`: moto's server, DynamoDB made item-atomic, until stdin closes."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    from moto.server import ThreadedMotoServer

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

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._child: subprocess.Popen[str] | None = None
        self._server: Any = None
        self._atomicity: Any = None

    def start(self) -> None:
        if self.mode == "process":
            self._child = subprocess.Popen(
                [sys.executable, "-m", "bench.storm_endpoint", str(self.port)],
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
    serve_moto(int(sys.argv[1]))
