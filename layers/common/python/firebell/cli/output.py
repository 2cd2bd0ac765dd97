"""--output json (the API's answer, as it came) or table (columns a person reads at a glance)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, TextIO

# The fields `incidents show` (and what answers with an incident) lists, one a line.
INCIDENT_DETAIL = (
    "reference",
    "title",
    "status",
    "priority",
    "impact",
    "urgency",
    "service",
    "team",
    "category",
    "assignee",
    "incident_manager",
    "reporter",
    "opened_at",
    "acknowledged_by",
    "acknowledged_at",
    "resolved_by",
    "resolved_at",
    "resolution_notes",
    "occurrences",
    "last_seen_at",
    "sla_status",
    "description",
)


def cell(value: Any, limit: int | None = 60) -> str:
    """A value as a table shows it: long text cut to `limit` (None: whole, for a field on a line of its own)."""
    if value is None:
        return "-"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    text = str(value)
    return text if limit is None or len(text) <= limit else text[: limit - 1] + "…"


def table(rows: Sequence[dict[str, Any]], columns: Sequence[str], out: TextIO) -> None:
    if not rows:
        print("(none)", file=out)
        return
    shown = [[cell(_dig(row, column)) for column in columns] for row in rows]
    widths = [max(len(column), *(len(r[i]) for r in shown)) for i, column in enumerate(columns)]
    print("  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip(), file=out)
    for r in shown:
        print("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip(), file=out)


def fields(record: dict[str, Any], names: Sequence[str], out: TextIO) -> None:
    width = max(len(n) for n in names)
    for name in names:
        value = _dig(record, name)
        if value not in (None, "", [], {}):
            print(f"{name.ljust(width)}  {cell(value, limit=None)}", file=out)  # a URL or a description whole


def emit(answer: Any, how: str, out: TextIO, columns: Sequence[str] = (), detail: Sequence[str] = ()) -> None:
    if how == "json" or (not columns and not detail):
        print(json.dumps(answer, indent=2, ensure_ascii=False), file=out)
    elif columns:
        table(answer, columns, out)
    else:
        fields(answer, detail, out)


def _dig(record: dict[str, Any], dotted: str) -> Any:
    value: Any = record
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value
