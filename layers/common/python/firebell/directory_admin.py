"""Directory administration (the admin API's use cases) over a store of overlay entries (DynamoDB in
data/directory_store.py): read the effective directory and where each entry comes from, put, delete, revert,
append overrides and maintenance windows, each validated against the whole directory (directory_overlay.py)
and written under optimistic locking. `TtlCache` keeps the effective config in each container for a few seconds.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

from pydantic import BaseModel, ValidationError

from .directory_overlay import (
    KINDS,
    MergedDirectory,
    OverlayEntry,
    OverlayState,
    Source,
    apply_overlay,
    canonical_kind,
    dump,
    merge,
    parse_entry,
    validate_entry,
    validate_merged,
)
from .domain.directory import Directory, FirebellConfig, MaintenanceWindow
from .domain.errors import (
    ConcurrentUpdate,
    DirectoryBusy,
    EntryNotFound,
    FieldProblem,
    InvalidDirectory,
    VersionMismatch,
    field_problems,
)
from .domain.schedules import Override

logger = logging.getLogger(__name__)


# --- use cases -------------------------------------------------------------------------------------


class DirectoryOverlayStore(Protocol):
    def load(self) -> OverlayState:
        """Every overlay entry (tombstones too), strongly consistent, with the directory revision."""
        ...

    def put(self, entry: OverlayEntry, *, expected_revision: int) -> OverlayEntry:
        """Store the entry (its `version` is the one read) if the directory is still at `expected_revision`.

        Returns it as stored (new version). Raises ConcurrentUpdate when another change landed first.
        """
        ...

    def remove(self, entry: OverlayEntry, *, expected_revision: int) -> None:
        """Drop the entry (so the file's applies again) under the same condition; ConcurrentUpdate otherwise."""
        ...


@dataclass(frozen=True)
class EntryView:
    kind: str
    id: str
    entry: BaseModel
    source: Source
    in_file: bool
    version: int  # of the overlay entry; 0 while the file's entry applies unchanged
    updated_at: datetime | None = None
    updated_by: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "id": self.id,
            "source": self.source,
            "in_file": self.in_file,
            "version": self.version,
            "updated_at": self.updated_at.isoformat() if self.updated_at else None,
            "updated_by": self.updated_by,
            "entry": dump(self.entry),
        }


@dataclass(frozen=True)
class DirectorySnapshot:
    revision: int
    directory: Directory  # the effective one; the file's alone when the overlay no longer fits the file
    sources: dict[str, dict[str, Source]]
    removed: dict[str, list[str]]
    problems: list[FieldProblem]  # why the overlay is not applied (the file changed under it); empty normally

    def to_json(self) -> dict[str, Any]:
        return {
            "revision": self.revision,
            "directory": dump(self.directory),
            "sources": self.sources,
            "removed_from_file": self.removed,
            "problems": [{"field": p.field, "problem": p.problem} for p in self.problems],
        }


_ATTEMPTS = 5


def _model(kind: str, entry_id: str, merged: MergedDirectory) -> BaseModel:
    document = merged.entry(kind, entry_id)
    try:
        return KINDS[kind].model_validate(document)
    except ValidationError as error:  # an entry stored before a change to the format
        problems = field_problems(error, prefix=(f"{kind}[{entry_id!r}]",))
        raise InvalidDirectory(f"stored {kind} {entry_id!r} is no longer valid", problems) from None


def _in_directory_terms(error: InvalidDirectory) -> InvalidDirectory:
    return InvalidDirectory(
        str(error),
        [
            FieldProblem("directory." + p.field if not p.field.startswith("(") else p.field, p.problem)
            for p in error.problems
        ],
    )


class DirectoryAdmin:
    def __init__(
        self,
        store: DirectoryOverlayStore,
        base: Callable[[], FirebellConfig],
        clock: Callable[[], datetime],
        on_change: Callable[[], None] = lambda: None,
    ) -> None:
        self._store = store
        self._base = base
        self._clock = clock
        self._on_change = on_change

    # --- reading -------------------------------------------------------------------------------

    def effective_config(self) -> FirebellConfig:
        """The config every function uses. If the overlay no longer fits the file (a deploy removed
        something an admin entry needs), the file applies alone until an admin fixes it, and it is logged."""
        base = self._base()
        state = self._store.load()
        if not state.entries:
            return base
        try:
            directory = apply_overlay(base.directory, state.entries.values())
        except InvalidDirectory as error:
            logger.error("directory overlay not applied, using config/firebell.yaml alone: %s", error)
            return base
        return base.model_copy(update={"directory": directory})

    def _read(self) -> tuple[Directory, OverlayState, MergedDirectory]:
        """The file's directory, the stored overlay, and the two merged (not yet validated)."""
        base = self._base().directory
        state = self._store.load()
        return base, state, merge(base, state.entries.values())

    def snapshot(self) -> DirectorySnapshot:
        base, state, merged = self._read()
        try:
            return DirectorySnapshot(state.revision, validate_merged(merged), merged.sources, merged.removed, [])
        except InvalidDirectory as error:
            file_only = merge(base, [])
            return DirectorySnapshot(state.revision, base, file_only.sources, {}, error.problems)

    def list(self, kind: str) -> list[EntryView]:
        kind = canonical_kind(kind)
        base, state, merged = self._read()
        return [self._view(kind, entry_id, merged, state, base) for entry_id in merged.ids(kind)]

    def get(self, kind: str, entry_id: str) -> EntryView:
        kind = canonical_kind(kind)
        base, state, merged = self._read()
        if merged.entry(kind, entry_id) is None:
            raise EntryNotFound(kind, entry_id)
        return self._view(kind, entry_id, merged, state, base)

    def _view(
        self, kind: str, entry_id: str, merged: MergedDirectory, state: OverlayState, base: Directory
    ) -> EntryView:
        stored = state.entries.get((kind, entry_id))
        return EntryView(
            kind=kind,
            id=entry_id,
            entry=_model(kind, entry_id, merged),
            source=merged.sources[kind][entry_id],
            in_file=any(e.id == entry_id for e in getattr(base, kind)),
            version=stored.version if stored else 0,
            updated_at=stored.updated_at if stored else None,
            updated_by=stored.updated_by if stored else None,
        )

    # --- changing ------------------------------------------------------------------------------

    def put(
        self, kind: str, entry_id: str, body: Any, *, if_match: int | None = None, by: str | None = None
    ) -> tuple[EntryView, bool]:
        """Create or replace an entry; returns it and whether it is new."""
        kind = canonical_kind(kind)
        entry = validate_entry(kind, entry_id, body)
        view, existed = self._change(kind, entry_id, lambda _: entry, if_match=if_match, by=by)
        assert view is not None
        return view, not existed

    def delete(self, kind: str, entry_id: str, *, if_match: int | None = None, by: str | None = None) -> None:
        """Remove an entry from the effective directory (a tombstone hides the file's entry too)."""
        kind = canonical_kind(kind)

        def change(current: BaseModel | None) -> None:
            if current is None:
                raise EntryNotFound(kind, entry_id)
            return None

        self._change(kind, entry_id, change, if_match=if_match, by=by)

    def revert(self, kind: str, entry_id: str, *, if_match: int | None = None) -> EntryView | None:
        """Drop the admin change: the file's entry applies again (None when the file has none)."""
        kind = canonical_kind(kind)
        for _ in range(_ATTEMPTS):
            base = self._base().directory
            state = self._store.load()
            stored = state.entries.get((kind, entry_id))
            if stored is None:
                raise EntryNotFound(kind, entry_id)
            self._check_version(kind, entry_id, stored, if_match)
            rest = {key: e for key, e in state.entries.items() if key != (kind, entry_id)}
            merged = merge(base, rest.values())
            try:
                validate_merged(merged)
            except InvalidDirectory as error:
                raise _in_directory_terms(error) from None
            try:
                self._store.remove(stored, expected_revision=state.revision)
            except ConcurrentUpdate:
                continue
            self._on_change()
            if merged.entry(kind, entry_id) is None:
                return None
            return self._view(kind, entry_id, merged, OverlayState(state.revision + 1, rest), base)
        raise DirectoryBusy("other directory changes kept landing first; try again")

    def add_override(self, schedule_id: str, body: Any, *, by: str | None = None) -> EntryView:
        """Append a temporary on-call override ({person, start, end}) to a schedule."""
        return self._append("schedules", schedule_id, "overrides", parse_entry(Override, body), by=by)

    def add_maintenance_window(self, service_id: str, body: Any, *, by: str | None = None) -> EntryView:
        """Append a maintenance window ({start, end, reason}): incidents for the service page nobody during it."""
        return self._append("services", service_id, "maintenance_windows", parse_entry(MaintenanceWindow, body), by=by)

    def link_incident(self, problem_id: str, reference: str, *, by: str | None = None) -> EntryView:
        """Link an incident (its reference) to a problem record; linking it again changes nothing (not even its
        version: an incident manager's edit that read it before is not refused for it)."""
        current = self.get("problems", problem_id)
        if reference in current.entry.incidents:  # type: ignore[attr-defined]
            return current

        def change(current: BaseModel | None) -> BaseModel:
            if current is None:
                raise EntryNotFound("problems", problem_id)
            linked = current.incidents  # type: ignore[attr-defined]
            return current if reference in linked else current.model_copy(update={"incidents": [*linked, reference]})

        view, _ = self._change("problems", problem_id, change, by=by, appended="incidents")
        assert view is not None
        return view

    def update_person(self, person_id: str, changes: dict[str, Any], *, by: str | None = None) -> EntryView:
        """Some fields of a person's entry (their own rules, a verified contact), validated as a whole entry."""

        def change(current: BaseModel | None) -> BaseModel:
            if current is None:
                raise EntryNotFound("people", person_id)
            return validate_entry("people", person_id, {**dump(current), **changes})

        view, _ = self._change("people", person_id, change, by=by)
        assert view is not None
        return view

    def _append(self, kind: str, entry_id: str, field_name: str, item: BaseModel, *, by: str | None) -> EntryView:
        """Append `item` to the list `field_name` of an existing entry."""

        def change(current: BaseModel | None) -> BaseModel:
            if current is None:
                raise EntryNotFound(kind, entry_id)
            return current.model_copy(update={field_name: [*getattr(current, field_name), item]})

        view, _ = self._change(kind, entry_id, change, by=by, appended=field_name)
        assert view is not None
        return view

    def _check_version(self, kind: str, entry_id: str, stored: OverlayEntry | None, if_match: int | None) -> None:
        current = stored.version if stored else 0
        if if_match is not None and if_match != current:
            raise VersionMismatch(
                f"{kind} {entry_id!r} is at version {current}, not {if_match}: read it again and reapply your change"
            )

    def _change(
        self,
        kind: str,
        entry_id: str,
        change: Callable[[BaseModel | None], BaseModel | None],
        *,
        if_match: int | None = None,
        by: str | None = None,
        appended: str | None = None,
    ) -> tuple[EntryView | None, bool]:
        """Read, change one entry, validate the whole directory, store only if nothing changed meanwhile.

        Returns the entry as now (None once deleted) and whether it existed before."""
        for _ in range(_ATTEMPTS):
            base = self._base().directory
            state = self._store.load()
            stored = state.entries.get((kind, entry_id))
            self._check_version(kind, entry_id, stored, if_match)
            merged = merge(base, state.entries.values())
            current = _model(kind, entry_id, merged) if merged.entry(kind, entry_id) is not None else None
            updated = change(current)
            entry = OverlayEntry(
                kind=kind,
                id=entry_id,
                document=dump(updated) if updated is not None else {},
                deleted=updated is None,
                version=stored.version if stored else 0,
                updated_at=self._clock(),
                updated_by=by,
            )
            entries = {**state.entries, (kind, entry_id): entry}
            after = merge(base, entries.values())
            try:
                validate_merged(after)
            except InvalidDirectory as error:
                raise self._in_request_terms(error, kind, entry_id, after, appended) from None
            try:
                saved = self._store.put(entry, expected_revision=state.revision)
            except ConcurrentUpdate:
                continue
            self._on_change()
            if updated is None:
                return None, current is not None
            view = self._view(
                kind, entry_id, after, OverlayState(state.revision + 1, {**entries, (kind, entry_id): saved}), base
            )
            return view, current is not None
        raise DirectoryBusy("other directory changes kept landing first; try again")

    @staticmethod
    def _in_request_terms(
        error: InvalidDirectory, kind: str, entry_id: str, merged: MergedDirectory, appended: str | None
    ) -> InvalidDirectory:
        """Problems inside the entry being written name the request body; the rest name the directory."""
        own = f"{kind}[{entry_id!r}]"
        problems = []
        for p in error.problems:
            if p.field == own or p.field.startswith((own + ".", own + "[")):
                inside = p.field[len(own) :]
                rest: str | None = inside
                if appended:
                    # POST …/overrides sent one item: `overrides[3].person` is the body's `person`.
                    items = (merged.entry(kind, entry_id) or {}).get(appended, [])
                    last = f".{appended}[{len(items) - 1}]"
                    rest = inside[len(last) :] if inside.startswith(last) else None
                if rest is not None:
                    problems.append(FieldProblem("body" + rest, p.problem))
                    continue
            problems += _in_directory_terms(InvalidDirectory("", [p])).problems
        return InvalidDirectory(str(error), problems)


# --- the effective config in each container ------------------------------------------------------

T = TypeVar("T")


class TtlCache(Generic[T]):
    """Loads at most once per `ttl_seconds`; `invalidate()` forces the next `get()` to load.

    If a reload fails and a value was loaded before, the stale value is served (and the failure logged):
    a DynamoDB hiccup must not stop paging with the directory it had a few seconds ago.
    """

    def __init__(
        self, load: Callable[[], T], ttl_seconds: float, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self._load = load
        self._ttl = ttl_seconds
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._value: tuple[float, T] | None = None
        self._stale = False

    def get(self) -> T:
        with self._lock:
            now = self._monotonic()
            if self._value is not None and not self._stale and now - self._value[0] < self._ttl:
                return self._value[1]
            try:
                value = self._load()
            except Exception:
                if self._value is None:
                    raise
                logger.exception(
                    "reloading the directory failed; using the one loaded %.0f s ago", now - self._value[0]
                )
                self._value = (now, self._value[1])  # try again after another ttl, not on every call
                self._stale = False
                return self._value[1]
            self._value = (now, value)
            self._stale = False
            return value

    def invalidate(self) -> None:
        with self._lock:
            self._stale = True
