"""Seeded fault injection for the AWS calls the function handlers make (local runtime, tests, bench/faults.py).

Opt-in: `FIREBELL_FAULT_RATE=0.1 FIREBELL_FAULT_SEED=7 python -m infra.local` (read when the runtime starts,
never at import time). GET /_local/faults shows what was injected; POST /_local/faults {"rate": 0} turns it
off (the harness does, before it measures through the API).

Where the hooks sit (botocore/client.py, BaseClient._make_api_call):
- `before-call.<service>.<operation>`: a handler returning (http_response, parsed) short-circuits the call, so
  the request never reaches AWS and botocore's own retries never see it. These model errors that escaped the
  SDK's retries: throttling (ProvisionedThroughputExceededException for DynamoDB), 500 InternalError,
  503 ServiceUnavailable, and connection errors (raised from the handler).
- `after-call.<service>.<operation>`: raising ReadTimeoutError there means the request took effect and the
  caller believes it failed: the retry it makes must be harmless.
Both are registered on every botocore client made once the injector is installed (handlers' clients come
from `botocore.session.Session.create_client`, pynamodb's included: its connections make their clients the same
way, from the process's session), so the injector does not depend on how the code under test wires its clients.

Which calls: only those a handler invocation makes (`handler_scope`, entered by LocalFunction.invoke), on its own
thread or on the threads it runs work on at once (firebell/concurrency.py runs them in a copy of its context). Left alone, on purpose:
- the SQS pollers' ReceiveMessage/DeleteMessageBatch: Lambda's event source mapping is AWS's code, not the
  handler's (a handler's own SendMessage, e.g. to a DLQ, is in scope);
- moto's Step Functions engine's SDK integrations (AWS's code too), the runtime's /_local views, and the test
  driver (another process altogether);
- timeouts *after* an email (SES) or an SMS (SNS Publish to a phone number) was handed over: neither API
  takes an idempotency key, so such a timeout cannot be told apart from a crash between sending and
  recording, the one window issue 7 allows to repeat a page. They still get every before-call fault.
Draws come from one `random.Random(seed)` under a lock; with several threads the interleaving (hence which
call gets which fault) varies between runs, the rate and the mix do not.
"""

from __future__ import annotations

import os
import random
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import botocore.session
from botocore.awsrequest import AWSResponse
from botocore.exceptions import EndpointConnectionError, ReadTimeoutError

BEFORE_KINDS = ("throttling", "internal_error", "service_unavailable", "connection_error")
AFTER_KINDS = ("read_timeout_after_effect",)
KINDS = BEFORE_KINDS + AFTER_KINDS
_MARK = "firebell_fault_after_call"  # request-context key: before-call chose a timeout for after-call

# (a context variable, not a thread-local: the work a handler runs at once on other threads is its too)
_scope: ContextVar[str | None] = ContextVar("firebell_fault_scope", default=None)


@contextmanager
def handler_scope(function_name: str) -> Iterator[None]:
    """Calls made until exit, here and by work run at once from here, are the handler's (eligible for faults)."""
    token = _scope.set(function_name)
    try:
        yield
    finally:
        _scope.reset(token)


def current_function() -> str | None:
    return _scope.get()


def _error(status: int, code: str) -> tuple[AWSResponse, dict[str, Any]]:
    parsed = {
        "Error": {"Code": code, "Message": "injected by firebell's fault harness"},
        "ResponseMetadata": {"HTTPStatusCode": status, "HTTPHeaders": {}, "RetryAttempts": 0},
    }
    return AWSResponse("http://fault-injector.local", status, {}, None), parsed


def _is_delivery(service: str, operation: str, params: dict[str, Any]) -> bool:
    if service == "ses" and operation in ("SendEmail", "SendRawEmail"):
        return True
    body = params.get("body")
    return service == "sns" and operation == "Publish" and isinstance(body, dict) and bool(body.get("PhoneNumber"))


class FaultInjector:
    def __init__(self, rate: float, seed: int, kinds: tuple[str, ...] = KINDS) -> None:
        if not 0 <= rate <= 1:
            raise ValueError(f"fault rate must be within [0, 1], not {rate}")
        unknown = set(kinds) - set(KINDS)
        if unknown or not kinds:
            raise ValueError(f"fault kinds must be a non-empty subset of {KINDS}, not {kinds}")
        self.rate = rate
        self.seed = seed
        self.kinds = tuple(kinds)
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self.injected: Counter[tuple[str, str]] = Counter()  # (kind, "service.Operation")
        self.calls: Counter[str] = Counter()  # every eligible call seen, faulted or not
        self._original_create_client: Any = None

    # --- installing --------------------------------------------------------------------------------

    def install(self) -> FaultInjector:
        if self._original_create_client is not None:
            return self
        original = self._original_create_client = botocore.session.Session.create_client
        injector = self

        def create_client(session: botocore.session.Session, *args: Any, **kwargs: Any) -> Any:
            client = original(session, *args, **kwargs)
            # register_first: before any other before-call handler can answer the call instead of us.
            client.meta.events.register_first("before-call", injector._before_call)
            client.meta.events.register_first("after-call", injector._after_call)
            return client

        botocore.session.Session.create_client = create_client  # type: ignore[method-assign]
        return self

    def uninstall(self) -> None:
        """Stops faults everywhere (clients already made keep a handler that now does nothing)."""
        if self._original_create_client is not None:
            botocore.session.Session.create_client = self._original_create_client  # type: ignore[method-assign]
            self._original_create_client = None
        self.rate = 0.0

    # --- the hooks ---------------------------------------------------------------------------------

    def _draw(self, kinds: tuple[str, ...]) -> str | None:
        with self._lock:
            if not self.rate or self._random.random() >= self.rate:
                return None
            return self._random.choice(kinds)

    def _before_call(self, model: Any, params: dict[str, Any], context: dict[str, Any], **_: Any) -> Any:
        if current_function() is None or self._original_create_client is None:
            return None
        service, operation = model.service_model.service_id.hyphenize(), model.name
        name = f"{service}.{operation}"
        kinds = self.kinds
        if _is_delivery(service, operation, params):
            kinds = tuple(k for k in kinds if k not in AFTER_KINDS)
        with self._lock:
            self.calls[name] += 1
        kind = self._draw(kinds) if kinds else None
        if kind is None:
            return None
        if kind in AFTER_KINDS:
            context[_MARK] = kind  # counted when after-call sees the call succeed
            return None
        with self._lock:
            self.injected[(kind, name)] += 1
        if kind == "connection_error":
            raise EndpointConnectionError(endpoint_url=f"https://{service}.us-east-1.amazonaws.com/")
        if kind == "throttling":
            return _error(
                400, "ProvisionedThroughputExceededException" if service == "dynamodb" else "ThrottlingException"
            )
        if kind == "internal_error":
            return _error(500, "InternalServerError" if service == "dynamodb" else "InternalError")
        return _error(503, "ServiceUnavailable")

    def _after_call(self, http_response: Any, model: Any, context: dict[str, Any], **_: Any) -> None:
        kind = context.pop(_MARK, None)
        if kind is None or http_response.status_code >= 300:
            return  # a call that failed by itself needs no help
        with self._lock:
            self.injected[(kind, f"{model.service_model.service_id.hyphenize()}.{model.name}")] += 1
        raise ReadTimeoutError(endpoint_url=f"https://{model.service_model.endpoint_prefix}.us-east-1.amazonaws.com/")

    # --- what happened -----------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            by_kind: Counter[str] = Counter()
            by_operation: Counter[str] = Counter()
            for (kind, operation), n in self.injected.items():
                by_kind[kind] += n
                by_operation[operation] += n
            return {
                "rate": self.rate,
                "seed": self.seed,
                "faults_injected": sum(self.injected.values()),
                "eligible_calls": sum(self.calls.values()),
                "by_kind": dict(sorted(by_kind.items())),
                "by_operation": dict(sorted(by_operation.items())),
            }


def install_from_env(environ: dict[str, str] | None = None) -> FaultInjector | None:
    """The runtime's opt-in: FIREBELL_FAULT_RATE (0–1) and FIREBELL_FAULT_SEED (default 7).

    (moto's DynamoDB is serialised by the runtime itself, infra/local/moto_patches.py: a miscount is firebell's,
    never the emulator's.)
    """
    environ = os.environ if environ is None else environ
    if "FIREBELL_FAULT_RATE" not in environ:
        return None
    rate = float(environ.get("FIREBELL_FAULT_RATE") or 0)
    if not rate:
        return None
    return FaultInjector(rate, int(environ.get("FIREBELL_FAULT_SEED") or 7)).install()
