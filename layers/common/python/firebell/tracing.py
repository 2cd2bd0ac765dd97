"""powertools' Tracer with the X-Ray SDK imported on first use and only the AWS SDK patched.

`Tracer()` as it comes imports the X-Ray SDK when the handler module is imported (even with tracing off) and
patches every library the SDK knows that is importable (sqlite3, http.client, pynamodb, ...). firebell's only
calls out are AWS calls, and they all go through botocore (pynamodb's too): patching pynamodb as well traced
each DynamoDB call twice. Here the recorder is imported, configured and botocore patched when the first
subsegment opens (the handler's, in Lambda): never at import, never where nothing is traced.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, cast

from aws_lambda_powertools import Tracer

from .concurrency import carry_into_threads

if TYPE_CHECKING:
    from aws_lambda_powertools.tracing.base import BaseProvider

# The libraries whose calls are traced: every AWS call (botocore clients, and pynamodb through them).
TRACED_LIBRARIES = ("botocore",)


class LazyXrayProvider:
    """The X-Ray recorder as powertools' Tracer drives it (its provider interface), loaded on first use."""

    def __init__(self, modules: Sequence[str] = TRACED_LIBRARIES) -> None:
        self._modules = tuple(modules)
        self._recorder: Any = None

    def recorder(self) -> Any:
        if self._recorder is None:
            from aws_xray_sdk.core import patch, xray_recorder

            # Each subsegment sent as it closes, as Tracer configures its own X-Ray provider (powertools #283).
            xray_recorder.configure(streaming_threshold=0)
            patch(self._modules)  # does nothing while tracing is disabled (Tracer disables the SDK then)
            self._recorder = xray_recorder
            carry_into_threads(_trace_entity_of(xray_recorder))  # work run at once is traced where its caller is
        return self._recorder

    def in_subsegment(self, name: str | None = None, **kwargs: Any) -> Any:
        return self.recorder().in_subsegment(name=name, **kwargs)

    def in_subsegment_async(self, name: str | None = None, **kwargs: Any) -> Any:
        return self.recorder().in_subsegment_async(name=name, **kwargs)

    def put_annotation(self, key: str, value: Any) -> None:
        self.recorder().put_annotation(key=key, value=value)

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        self.recorder().put_metadata(key=key, value=value, namespace=namespace)

    def patch(self, modules: Sequence[str]) -> None:
        from aws_xray_sdk.core import patch

        patch(modules)

    def patch_all(self) -> None:
        self.patch(self._modules)


def _trace_entity_of(recorder: Any) -> Callable[[], tuple[Callable[[], None], Callable[[], None]]]:
    """The recorder's context is per thread: a thread firebell.concurrency starts records its calls under the
    (sub)segment current in the thread that started it, as the X-Ray SDK documents for threads."""

    def carrier() -> tuple[Any, Any]:
        entity = recorder.get_trace_entity()
        return (lambda: recorder.set_trace_entity(entity)), recorder.clear_trace_entities

    return carrier


def lazy_tracer() -> Tracer:
    """A function's Tracer: tracing as configured (on in Lambda, POWERTOOLS_TRACE_DISABLED elsewhere), X-Ray lazily."""
    # (duck-typed: powertools' provider interface, without importing the X-Ray SDK until a trace needs it)
    return Tracer(provider=cast("BaseProvider", LazyXrayProvider()), auto_patch=False)
