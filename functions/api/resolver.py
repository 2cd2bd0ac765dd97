"""The API's resolver: Powertools' REST resolver with its per-request state kept per thread.

Lambda runs one invocation per container at a time, and Powertools relies on it: the current event is a class
attribute (BaseRouter.current_event) and the matched route and its arguments sit in one dict (`context`). The
local runtime and the tests run several "containers" of this function as threads of one process (three API
containers racing on one incident, tests/integration/test_single_flight.py): there, one thread's request could
read another's route or body. Each thread keeping its own event and context keeps them apart, as separate
containers are. In Lambda there is one thread, and this changes nothing.
"""

from __future__ import annotations

import threading
from typing import Any
from urllib.parse import unquote

from aws_lambda_powertools.event_handler import APIGatewayRestResolver


class PerThreadRestResolver(APIGatewayRestResolver):
    _request = threading.local()

    @property
    def context(self) -> dict[str, Any]:
        state = self._request.__dict__
        if "context" not in state:
            state["context"] = {}
        context: dict[str, Any] = state["context"]
        return context

    @context.setter
    def context(self, value: dict[str, Any]) -> None:
        self._request.context = value

    @property
    def current_event(self) -> Any:
        return self._request.event

    @current_event.setter
    def current_event(self, value: Any) -> None:
        self._request.event = value

    def resolve(self, event: Any, context: Any) -> dict[str, Any]:
        raw = event if isinstance(event, dict) else event.raw_event
        if "%" in (raw.get("path") or "") and (decoded := _decoded(raw["path"])) is not None:
            raw = {**raw, "path": decoded}
        # Powertools sets the class attribute, which other threads share; reads go to this thread's copy.
        self._request.event = self._to_proxy_event(raw)
        return super().resolve(raw, context)


def _decoded(path: str) -> str | None:
    """A REST API hands over `path` as sent, percent-encoded, and Powertools takes route arguments from it as they
    are: `/admin/people/ann%40ops` (a browser's encodeURIComponent) must find `ann@ops`. Decoded only when that
    changes no segment boundary and yields text (no '%2F', no invalid UTF-8, no control character): anything else
    stays as sent, for the route to refuse as it always did."""
    try:
        decoded = unquote(path, errors="strict")
    except UnicodeDecodeError:
        return None
    if decoded.count("/") != path.count("/") or any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in decoded):
        return None
    return decoded
