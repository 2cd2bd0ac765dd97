"""Routing keys: the integration keys monitoring tools send (PagerDuty `routing_key`, the Alertmanager URL).

A key is a secret like a password, so neither config/firebell.yaml nor the admin API ever holds one: they hold
its SHA-256 (`python -m firebell.keys new` makes a key and prints it once). A plain SHA-256, not a slow
password hash: generated keys carry 128 random bits, far beyond any guessing a slow hash would guard against.

A key marked `demo: true` is published in the docs; only the local runtime accepts it (docs/security.md).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

# 16 random bytes as 32 hex characters: the shape of PagerDuty's own integration keys.
KEY_BYTES = 16
FINGERPRINT_LENGTH = 8

PLAIN_KEY_REFUSED = (
    "is a routing key in plain text: store only its SHA-256 as {sha256: <hex>} "
    "(python -m firebell.keys new makes a key; python -m firebell.keys hash hashes one you have)"
)


def _no_plain_keys(value: Any) -> Any:
    # A bare string is a key someone pasted: refused without echoing it (the error may be logged or answered).
    if isinstance(value, str):
        raise ValueError(PLAIN_KEY_REFUSED)
    return value


def routing_key_sha256(routing_key: str) -> str:
    return hashlib.sha256(routing_key.encode("utf-8", errors="surrogatepass")).hexdigest()


def fingerprint(routing_key: str) -> str:
    """What logs name a key by (its hash's first characters): which key a sender uses, e.g. before removing it."""
    return routing_key_sha256(routing_key)[:FINGERPRINT_LENGTH]


def new_routing_key() -> str:
    return secrets.token_hex(KEY_BYTES)


class StoredRoutingKey(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    # Published in the docs for `make run`: refused by a deployed function.
    demo: bool = False

    def matches(self, presented_sha256: str) -> bool:
        return hmac.compare_digest(self.sha256, presented_sha256)


# An entry of services[].routing_keys, in config and in admin changes.
RoutingKey = Annotated[StoredRoutingKey, BeforeValidator(_no_plain_keys)]
