"""The directory as the admin API changes it: config/firebell.yaml is the baseline, overlay entries on top.

An overlay entry (kind, id) replaces the file's entry with that id, adds one the file does not have, or,
as a tombstone, removes it. The result must pass the same `Directory` validation as the file; a change
that would break it is refused with the problems, each naming a path inside the directory, e.g.
``escalation_policies['platform-default'].levels[1].targets[0].person: unknown person 'bob'``.
Entries are named by id rather than by list position, because positions shift as entries come and go.

Pure (`apply_overlay`, `entry_sources`, `validate_entry`); the use cases over a store of overlay entries
are in directory_admin.py.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ValidationError

from .domain.chat import ChatChannel
from .domain.directory import Directory, EscalationPolicy, Person, Service, Team
from .domain.errors import FieldProblem, InvalidDirectory, InvalidEntry, UnknownKind, field_problems
from .domain.problems import Problem
from .domain.schedules import Schedule
from .domain.webhooks import WebhookSubscription

Source = Literal["file", "admin"]

# The directory lists the admin API manages, with the model of one entry (the URL spelling in `ALIASES`).
KINDS: dict[str, type[BaseModel]] = {
    "people": Person,
    "schedules": Schedule,
    "escalation_policies": EscalationPolicy,
    "teams": Team,
    "services": Service,
    "problems": Problem,
    "webhooks": WebhookSubscription,
    "chat_channels": ChatChannel,
}
ALIASES = {"escalation-policies": "escalation_policies", "chat-channels": "chat_channels"}

# Ids an admin may use (the file's own ids are whatever the file says); also keeps them DynamoDB-key safe.
ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$")
MAX_DOCUMENT_BYTES = 256 * 1024  # one entry, as stored JSON; a DynamoDB item holds at most 400 KB


# --- the overlay, pure -----------------------------------------------------------------------------


@dataclass(frozen=True)
class OverlayEntry:
    kind: str
    id: str
    document: dict[str, Any] = field(default_factory=dict)  # the entry as JSON; empty for a tombstone
    deleted: bool = False
    version: int = 0  # as stored (optimistic locking); 0 before it is first stored
    updated_at: datetime | None = None
    updated_by: str | None = None


@dataclass(frozen=True)
class OverlayState:
    """Every stored overlay entry, and the revision of the directory they were read at."""

    revision: int = 0
    entries: dict[tuple[str, str], OverlayEntry] = field(default_factory=dict)


def canonical_kind(kind: str) -> str:
    kind = ALIASES.get(kind, kind)
    if kind not in KINDS:
        raise UnknownKind(kind, KINDS)
    return kind


@dataclass(frozen=True)
class MergedDirectory:
    """The effective directory as JSON, before validation, and where each entry came from."""

    document: dict[str, Any]
    sources: dict[str, dict[str, Source]]
    removed: dict[str, list[str]]  # file entries a tombstone removes

    def entry(self, kind: str, entry_id: str) -> dict[str, Any] | None:
        return next((e for e in self.document[kind] if e.get("id") == entry_id), None)

    def ids(self, kind: str) -> list[Any]:
        return [e.get("id") if isinstance(e, dict) else None for e in self.document[kind]]


def dump(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json", exclude_none=True)


def merge(base: Directory, entries: Iterable[OverlayEntry]) -> MergedDirectory:
    document = dump(base)
    overlay: dict[str, dict[str, OverlayEntry]] = {kind: {} for kind in KINDS}
    for entry in entries:
        overlay[canonical_kind(entry.kind)][entry.id] = entry
    sources: dict[str, dict[str, Source]] = {}
    removed: dict[str, list[str]] = {}
    for kind, changes in overlay.items():
        merged: list[dict[str, Any]] = []
        kind_sources: dict[str, Source] = {}
        in_file = set()
        for item in document.get(kind, []):
            in_file.add(item["id"])
            change = changes.get(item["id"])
            if change is None:
                merged.append(item)
                kind_sources[item["id"]] = "file"
            elif change.deleted:
                removed.setdefault(kind, []).append(item["id"])
            else:
                merged.append(change.document)
                kind_sources[item["id"]] = "admin"
        # Entries the file does not have come after the file's, in id order (services match alarms in order).
        for entry_id in sorted(set(changes) - in_file):
            if not changes[entry_id].deleted:
                merged.append(changes[entry_id].document)
                kind_sources[entry_id] = "admin"
        document[kind] = merged
        sources[kind] = kind_sources
    return MergedDirectory(document, sources, removed)


_INDEXED = re.compile(rf"^({'|'.join(KINDS)})\[(\d+)\]")


def _by_id(path: str, merged: MergedDirectory) -> str:
    """`teams[2].manager` → `teams['platform'].manager`: the id says which entry, a position does not."""

    def name(match: re.Match[str]) -> str:
        kind, index = match.group(1), int(match.group(2))
        ids = merged.ids(kind)
        return f"{kind}[{ids[index]!r}]" if index < len(ids) and isinstance(ids[index], str) else match.group(0)

    return _INDEXED.sub(name, path, count=1)


def _problems(error: ValidationError, merged: MergedDirectory) -> list[FieldProblem]:
    problems: list[FieldProblem] = []
    for e, named in zip(error.errors(), field_problems(error), strict=True):
        if not e["loc"] and e["type"] == "value_error":
            # The directory's cross-reference check reports every problem in one message: "path: what; …".
            for part in named.problem.split("; "):
                path, _, what = part.partition(": ")
                problems.append(FieldProblem(_by_id(path, merged), what) if what else FieldProblem("(directory)", part))
        else:
            problems.append(FieldProblem(_by_id(named.field, merged), named.problem))
    return problems


def validate_merged(merged: MergedDirectory) -> Directory:
    try:
        return Directory.model_validate(merged.document)
    except ValidationError as error:
        problems = _problems(error, merged)
        raise InvalidDirectory(
            "the directory would not be valid: " + "; ".join(f"{p.field}: {p.problem}" for p in problems), problems
        ) from None


def apply_overlay(base: Directory, entries: Iterable[OverlayEntry]) -> Directory:
    """The effective directory: the file's entries, replaced or removed by the overlay's, plus its new ones.

    Raises InvalidDirectory (with every problem, by path) if the result does not validate.
    """
    return validate_merged(merge(base, entries))


def entry_sources(base: Directory, entries: Iterable[OverlayEntry]) -> dict[str, dict[str, Source]]:
    """For each kind, each effective entry's id → "file" or "admin" (admin also when it replaces the file's)."""
    return merge(base, entries).sources


def validate_entry(kind: str, entry_id: str, body: Any) -> BaseModel:
    """One entry as the admin API receives it; problems name request fields (`body.phone`, `path.id`)."""
    kind = canonical_kind(kind)
    if not ID_PATTERN.match(entry_id):
        raise InvalidEntry(
            f"invalid {kind} id",
            [FieldProblem("path.id", f"an id is 1-128 letters, digits and . _ @ + - (got {entry_id!r})")],
        )
    if not isinstance(body, dict):
        raise InvalidEntry(
            "the body must be a JSON object", [FieldProblem("body", f"expected a JSON object with the {kind} entry")]
        )
    if "id" in body and body["id"] != entry_id:
        raise InvalidEntry(
            "the id in the body differs from the one in the path",
            [FieldProblem("body.id", f"must equal the id in the path ({entry_id!r}); got {body['id']!r}")],
        )
    return parse_entry(KINDS[kind], {**body, "id": entry_id})


M = TypeVar("M", bound=BaseModel)


def parse_entry(model: type[M], body: Any, prefix: str = "body") -> M:
    if not isinstance(body, dict):
        raise InvalidEntry("the body must be a JSON object", [FieldProblem(prefix, "expected a JSON object")])
    try:
        parsed = model.model_validate(body)
    except ValidationError as error:
        problems = field_problems(error, prefix=(prefix,))
        raise InvalidEntry("invalid request: " + ", ".join(p.field for p in problems), problems) from None
    if len(json.dumps(dump(parsed)).encode()) > MAX_DOCUMENT_BYTES:
        raise InvalidEntry(
            "entry too large", [FieldProblem(prefix, f"an entry is at most {MAX_DOCUMENT_BYTES // 1024} KiB as JSON")]
        )
    return parsed
