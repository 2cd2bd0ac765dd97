"""Merging an import into a config file: ids stable across imports (a sidecar file maps source ids to firebell ids),
entries added by hand kept, the result validated as the functions load it, then written with its report."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .common import Entry, Ids, Imported
from .sources import ImportError_

KINDS = ("people", "schedules", "escalation_policies", "teams", "services")
# What an import writes of each kind; other fields of an entry (slack_user_id, stakeholders, alarm_name_prefixes …)
# are the user's and survive a re-import.
MANAGED = {
    "people": {"name", "email", "phone", "time_zone", "notification_rules"},
    "schedules": {"name", "time_zone", "layers", "overrides"},
    "escalation_policies": {"levels", "repeat"},
    "teams": {"name", "escalation_policy", "manager", "incident_managers"},
    "services": {"team", "escalation_policy"},
}
# Fields only one vendor's import writes (PagerDuty has no team routing rules: one you add to its team stays).
MANAGED_BY = {"opsgenie": {"teams": {"routing_rules"}}}


# The kinds counted (config keys and the vendors' own words) whose singular is not the plural less its "s".
_SINGULAR = {"people": "person", "escalation_policies": "escalation policy", "escalation policies": "escalation policy"}


def counted(counts: dict[str, int]) -> str:
    """`1 team, 3 escalation policies`: each kind with its count, singular for one."""
    return ", ".join(f"{n} {_kind_name(kind, n)}" for kind, n in counts.items())


def _kind_name(kind: str, n: int) -> str:
    if n != 1:
        return kind.replace("_", " ")
    return _SINGULAR.get(kind) or kind.replace("_", " ").removesuffix("s")


HEADER = "# Written by `firebell import` (docs/importing.md); entries you add by hand are kept on the next import.\n"


def orphaned(config: Path) -> bool:
    """The file was written by an import but the ids it gave are gone (the config copied without its sidecar):
    importing into it would add every entry again beside itself, as if added by hand."""
    if not config.exists() or sidecar_path(config).exists():
        return False
    with config.open("rb") as file:
        return file.readline() == HEADER.encode()


def sidecar_path(config: Path) -> Path:
    return config.with_name(config.stem + ".import-ids.json")


def report_path(config: Path, vendor: str) -> Path:
    return config.with_name(f"{config.stem}.{vendor}-import.md")


@dataclass
class Plan:
    """The existing file and the ids a vendor's earlier imports gave."""

    document: dict[str, Any]
    mapping: dict[str, dict[str, str]]  # vendor → source key → firebell id

    def ids(self, vendor: str) -> Ids:
        known = self.mapping.get(vendor, {})
        owned = _owned(known)
        reserved = {
            kind: {str(e.get("id")) for e in self.document.get(kind) or [] if isinstance(e, dict)}
            - owned.get(kind, set())
            for kind in KINDS
        }
        emails = {
            str(p["email"]).casefold(): str(p["id"])
            for p in self.document.get("people") or []
            if isinstance(p, dict) and isinstance(p.get("email"), str) and str(p.get("id")) in reserved["people"]
        }
        return Ids(known, reserved, emails)


def _owned(known: dict[str, str]) -> dict[str, set[str]]:
    owned: dict[str, set[str]] = {}
    for key, firebell_id in known.items():
        owned.setdefault(key.split(":", 1)[0], set()).add(firebell_id)
    return owned


def load_plan(config: Path) -> Plan:
    document: dict[str, Any] = {}
    if config.exists():
        from ..config import parse_yaml

        try:
            loaded = parse_yaml(config.read_bytes())
        except Exception as error:
            raise ImportError_(f"{config}: not valid YAML: {error}") from None
        if loaded is not None and not isinstance(loaded, dict):
            raise ImportError_(f"{config}: expected a mapping at the top level")
        document = loaded or {}
        for kind in KINDS:
            if not isinstance(document.get(kind) or [], list):
                raise ImportError_(f"{config}: {kind}: expected a list of entries")
    mapping: dict[str, dict[str, str]] = {}
    side = sidecar_path(config)
    if side.exists():
        try:
            mapping = json.loads(side.read_text("utf-8"))
        except ValueError as error:
            raise ImportError_(f"{side}: not JSON ({error})") from None
        if not isinstance(mapping, dict) or not all(isinstance(v, dict) for v in mapping.values()):
            raise ImportError_(f"{side}: expected {{vendor: {{source key: firebell id}}}}")
    return Plan(document, mapping)


@dataclass
class Outcome:
    document: dict[str, Any]
    counts_out: dict[str, int]
    removed: list[str] = field(default_factory=list)  # imported before, gone from the source now
    kept_by_hand: dict[str, int] = field(default_factory=dict)


def merge(plan: Plan, imported: Imported, ids: Ids, sender: str | None) -> Outcome:
    document = dict(plan.document)
    owned = _owned(plan.mapping.get(imported.vendor, {}))
    outcome = Outcome(document, {})
    fresh_by_kind = imported.kinds()
    for kind in KINDS:
        fresh = {entry["id"]: entry for entry in fresh_by_kind[kind].values()}
        merged: list[Entry] = []
        placed: set[str] = set()
        for entry in document.get(kind) or []:
            entry_id = str(entry.get("id")) if isinstance(entry, dict) else None
            if entry_id in fresh:
                managed = MANAGED[kind] | MANAGED_BY.get(imported.vendor, {}).get(kind, set())
                merged.append(_update(managed, kind, entry, fresh[entry_id]))
                placed.add(str(entry_id))
            elif entry_id is not None and entry_id in owned.get(kind, set()):  # gone from the source
                outcome.removed.append(f"{kind} {entry_id}")
            else:
                merged.append(entry)
                outcome.kept_by_hand[kind] = outcome.kept_by_hand.get(kind, 0) + 1
        merged += [entry for entry_id, entry in fresh.items() if entry_id not in placed]
        document[kind] = merged
        outcome.counts_out[kind] = len(fresh)
    if not isinstance(document.get("notifications"), dict):
        if not sender:
            raise ImportError_("the config has no notifications.sender yet: give --sender ADDRESS (firebell's From)")
        document["notifications"] = {"sender": sender}
    elif sender:
        document["notifications"] = {**document["notifications"], "sender": sender}
    team_ids = [t.get("id") for t in document["teams"] if isinstance(t, dict)]
    if document.get("default_team") not in team_ids and team_ids:
        document["default_team"] = team_ids[0]
    ordered = {key: document[key] for key in ("notifications",) if key in document}
    ordered.update({key: value for key, value in document.items() if key not in ordered})
    outcome.document = ordered
    return outcome


def _update(managed: set[str], kind: str, existing: Entry, fresh: Entry) -> Entry:
    kept = {key: value for key, value in existing.items() if key not in managed}
    updated = {**fresh, **{k: v for k, v in kept.items() if k not in fresh or k in ("roles", "routing_keys")}}
    if kind == "services" and existing.get("routing_keys") and fresh.get("routing_keys"):
        # keys added by hand stay beside the imported ones
        seen = {k.get("sha256") for k in existing["routing_keys"] if isinstance(k, dict)}
        updated["routing_keys"] = list(existing["routing_keys"]) + [
            k for k in fresh["routing_keys"] if k["sha256"] not in seen
        ]
    return {key: updated[key] for key in [*fresh, *(k for k in updated if k not in fresh)]}


def restrictions_supported() -> bool:
    from ..domain.schedules import Layer

    return "restrictions" in Layer.model_fields


def validate(document: dict[str, Any]) -> list[str]:
    from pydantic import ValidationError

    from ..domain.directory import Directory
    from ..domain.errors import field_problems

    try:
        Directory.model_validate(document)
    except ValidationError as error:
        return [f"{p.field}: {p.problem}" for p in field_problems(error)]
    return []


def dump_yaml(document: dict[str, Any]) -> str:
    import importlib

    yaml: Any = importlib.import_module("yaml")  # (pyyaml ships no type stubs)

    header = HEADER
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml's emitter: a 1,247-schedule file in a second
    text: str = yaml.dump(
        document, Dumper=dumper, sort_keys=False, allow_unicode=True, width=120, default_flow_style=None
    )
    return header + text


def report(imported: Imported, outcome: Outcome, source: str) -> str:
    lines = [f"# Import from {imported.vendor} ({source})", "", "## Read", ""]
    lines += [f"- {kind}: {n}" for kind, n in imported.counts_in.items()]
    lines += ["", "## Written", ""]
    lines += [f"- {kind}: {n}" for kind, n in outcome.counts_out.items()]
    if outcome.kept_by_hand:
        lines += ["", "Kept from the file (added by hand or by another import): "]
        lines[-1] += counted(outcome.kept_by_hand)
    if outcome.removed:
        lines += ["", "## Removed (imported before, gone from the source)", ""]
        lines += [f"- {what}" for what in outcome.removed]
    lines += ["", f"## Not mapped ({len(imported.not_mapped)})", ""]
    lines += [f"- {item.line()}" for item in imported.not_mapped] or ["- nothing"]
    lines += ["", f"## Choices made ({len(imported.notes)})", ""]
    lines += [f"- {note}" for note in dict.fromkeys(imported.notes)] or ["- none"]
    return "\n".join(lines) + "\n"
