"""Posting webhooks over HTTPS (usecases/webhooks.py), with the urllib3 that botocore already brings."""

from __future__ import annotations

import ipaddress
import logging
import socket
from functools import cache
from urllib.parse import urlsplit

import urllib3

from ..domain.webhooks import UnsafeDestination

logger = logging.getLogger(__name__)


@cache
def _pool() -> urllib3.PoolManager:
    # Certificates checked against the system's store (Lambda's has the public CAs); redirects not followed: a
    # webhook's URL is the one an admin gave, and a redirect elsewhere is no delivery.
    return urllib3.PoolManager(num_pools=20, maxsize=4, retries=False)


def _check_destination(url: str, loopback_allowed: bool) -> None:
    """A subscription's host must be on the internet: never the function's own network (the metadata and runtime
    endpoints, loopback, private ranges), whatever name points there. Loopback only in the local runtime."""
    host = urlsplit(url).hostname or ""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except OSError:
        return  # (no such name: the post finds no answer, and is retried)
    for address in addresses:
        ip = ipaddress.ip_address(str(address).split("%")[0])
        if ip.is_loopback and loopback_allowed:
            continue
        if not ip.is_global or ip.is_multicast:
            raise UnsafeDestination(f"{host} resolves to {ip}, not a public address: webhooks go only to the internet")


class UrllibWebhookSender:
    def __init__(self, loopback_allowed: bool = False) -> None:
        self._loopback_allowed = loopback_allowed

    def post(self, url: str, body: str, headers: dict[str, str], timeout_seconds: float) -> int | None:
        _check_destination(url, self._loopback_allowed)
        try:
            response = _pool().request(
                "POST",
                url,
                body=body.encode(),
                headers=headers,
                redirect=False,
                timeout=urllib3.Timeout(connect=min(5.0, timeout_seconds), read=timeout_seconds),
                preload_content=False,
            )
        except urllib3.exceptions.HTTPError as error:  # no answer: a timeout, a refused connection, a TLS failure
            logger.info("webhook post: no answer (%s)", type(error).__name__)  # (not the URL: it may hold a token)
            return None
        # The status is all that counts: the answer's body is not read (a receiver dripping it would hold the post).
        response.close()
        return response.status
