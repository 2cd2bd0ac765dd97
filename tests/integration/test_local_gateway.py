"""The local API gateway (infra/local/http_api.py) when a client goes away: a client that disconnects before its
answer is read is its own business, not an error of firebell's, and leaves no traceback in the runtime's log."""

from __future__ import annotations

import logging
import socket
import struct
import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from typing import Any

import pytest

from infra.local.http_api import start_http_api


class Observed(ThreadingHTTPServer):
    """The gateway's server, saying when a connection's handling is over (after any error it reported)."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.handled = threading.Event()

    def shutdown_request(self, request: Any) -> None:  # socketserver's last step for every connection
        super().shutdown_request(request)
        self.handled.set()


class UnreadableOutbox:
    """A runtime whose outbox cannot be read: an error of the runtime's own, which must still be reported."""

    def outbox(self) -> list[Any]:
        raise RuntimeError("the outbox table is gone")


def gateway(runtime: Any) -> Iterator[Observed]:
    # The paths asked for here (the console's, /_local/outbox) never reach the api function.
    server = start_http_api(runtime, None, 0, server_class=Observed)  # type: ignore[arg-type]
    assert isinstance(server, Observed)
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def console_gateway() -> Iterator[Observed]:
    yield from gateway(None)


def ask_and_hang_up(server: Observed, path: str) -> None:
    """Send a request, then close at once with a reset (SO_LINGER 0), as a client that gives up does."""
    client = socket.create_connection(server.server_address[:2])
    client.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())
    client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    client.close()
    assert server.handled.wait(30), "the gateway never finished with the connection"


def test_a_client_hanging_up_before_reading_its_answer_leaves_no_traceback(console_gateway, capsys, caplog) -> None:
    caplog.set_level(logging.DEBUG, logger="firebell.local")

    ask_and_hang_up(console_gateway, "/")

    assert capsys.readouterr().err == ""
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert any("went away" in r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG)


def test_an_error_of_the_runtimes_own_is_still_reported(capsys) -> None:
    for server in gateway(UnreadableOutbox()):
        connection = socket.create_connection(server.server_address[:2])
        with connection:
            connection.sendall(b"GET /_local/outbox HTTP/1.1\r\nHost: localhost\r\n\r\n")
            assert server.handled.wait(30)
    err = capsys.readouterr().err
    assert "Traceback" in err and "RuntimeError: the outbox table is gone" in err
