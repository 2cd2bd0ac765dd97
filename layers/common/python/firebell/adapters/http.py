"""Posting webhooks over HTTPS (usecases/webhooks.py), with the urllib3 that botocore already brings."""

from __future__ import annotations

import logging
from functools import cache

import urllib3

logger = logging.getLogger(__name__)


@cache
def _pool() -> urllib3.PoolManager:
    # Certificates checked against the system's store (Lambda's has the public CAs); redirects not followed: a
    # webhook's URL is the one an admin gave, and a redirect elsewhere is no delivery.
    return urllib3.PoolManager(num_pools=20, maxsize=4, retries=False)


class UrllibWebhookSender:
    def post(self, url: str, body: str, headers: dict[str, str], timeout_seconds: float) -> int | None:
        try:
            response = _pool().request("POST", url, body=body.encode(), headers=headers, redirect=False,
                                       timeout=urllib3.Timeout(connect=min(5.0, timeout_seconds), read=timeout_seconds),
                                       preload_content=False)
        except urllib3.exceptions.HTTPError as error:  # no answer: a timeout, a refused connection, a TLS failure
            logger.info("webhook %s: no answer (%s)", url, type(error).__name__)
            return None
        try:
            response.read(64 * 1024, decode_content=False)  # (the answer's body says nothing we use: read a little, drop it)
        except urllib3.exceptions.HTTPError:
            pass
        finally:
            response.release_conn()
        return response.status
