"""Contact details only for those who work incidents (docs/access.md): viewers and reporters read incidents and
timelines, which name where each page went, but not people's phone numbers (GET /directory hides them too).
Pure: masks every E.164 number in a JSON-like value."""

from __future__ import annotations

import re
from typing import Any

from .access import WORKERS, Caller

_E164 = re.compile(r"\+[1-9]\d{6,14}\b")


def _mask(number: re.Match[str]) -> str:
    digits = number.group(0)
    return "+" + "•" * (len(digits) - 3) + digits[-2:]  # the last two digits: enough to tell two phones apart


def without_phone_numbers(value: Any) -> Any:
    if isinstance(value, str):
        return _E164.sub(_mask, value)
    if isinstance(value, dict):
        return {key: without_phone_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [without_phone_numbers(item) for item in value]
    return value


def sees_contacts(caller: Caller) -> bool:
    return caller.kind == "machine" or bool(caller.effective_roles & WORKERS)
