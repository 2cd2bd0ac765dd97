"""PagerDuty's schedules (layers, restrictions, overrides), escalation policies, teams and services → firebell
(docs/importing.md). The people are pagerduty.py's; ids come in as `people`/`schedules`/`policies` maps."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from ..domain.routing_keys import routing_key_sha256
from .common import (
    MAX_LEVEL_MINUTES,
    MAX_TURN_HOURS,
    Entry,
    Ids,
    Imported,
    daily_window,
    distinct_name,
    ident,
    instant,
    is_zone,
    items_of,
    local,
    maybe,
    name_id,
    need,
    objects,
    rotation,
    slug,
    weekly_window,
)
from .sources import ImportError_

EVENTS_V2 = "events_api_v2_inbound_integration"


# --- schedules --------------------------------------------------------------------------------------------------


def map_schedules(
    schedules: list[tuple[str, dict[str, Any], list[tuple[str, dict[str, Any]]]]],
    people: dict[str, str],
    ids: Ids,
    out: Imported,
    as_of: datetime,
) -> dict[str, str]:
    found: dict[str, str] = {}
    for where, schedule, overrides in schedules:
        out.count("schedules")
        schedule_id = need(schedule, "id", str, where)
        name = maybe(schedule, "name", str, where, schedule_id)
        zone_name = need(schedule, "time_zone", str, where)
        if not is_zone(zone_name):
            out.skip("schedule", schedule_id, name, f"time_zone {zone_name!r} is not an IANA time zone name")
            continue
        tz = ZoneInfo(zone_name)
        layers: list[Entry] = []
        api_layers = objects(schedule, "schedule_layers", where)
        # The API lists the top layer first (PagerDuty's terraform provider reverses it to get Layer 1 first);
        # firebell lists the bottom layer first: later layers win.
        for number, (layer_where, layer) in enumerate(reversed(api_layers), start=1):
            out.count("schedule layers")
            mapped = _layer(schedule_id, name, number, layer_where, layer, people, tz, out, as_of)
            if mapped is not None:
                # PagerDuty does not keep layer names distinct; firebell does (an override or the console names one).
                mapped["name"] = distinct_name(mapped["name"], {existing["name"] for existing in layers})
                layers.append(mapped)
        if not layers:
            out.skip("schedule", schedule_id, name, "no layer in force could be mapped")
            continue
        entry: Entry = {
            "id": ids.of(f"schedules:{schedule_id}", name_id(name, "schedule", schedule_id)),
            "name": name,
            "time_zone": zone_name,
            "layers": layers,
        }
        kept = []
        for override_where, override in overrides:
            out.count("overrides")
            user_id = str(need(need(override, "user", dict, override_where), "id", str, f"{override_where}.user"))
            start, end = (
                instant(override.get("start"), f"{override_where}.start"),
                instant(override.get("end"), f"{override_where}.end"),
            )
            if user_id not in people:
                out.skip("override", str(override.get("id")), name, f"user {user_id} is not among the users read")
            elif end <= start:
                out.skip("override", str(override.get("id")), name, f"ends ({end}) before it starts ({start})")
            elif end > as_of:  # one over before the import has nothing to carry
                kept.append({"person": people[user_id], "start": start.isoformat(), "end": end.isoformat()})
        if kept:
            entry["overrides"] = kept
        found[schedule_id] = entry["id"]
        out.schedules[f"schedules:{schedule_id}"] = entry
    return found


def _layer(
    schedule_id: str,
    schedule_name: str,
    number: int,
    where: str,
    layer: dict[str, Any],
    people: dict[str, str],
    tz: Any,
    out: Imported,
    as_of: datetime,
) -> Entry | None:
    label = maybe(layer, "name", str, where, f"Layer {number}")
    what = f"{schedule_name} / {label}"
    layer_id = str(layer.get("id") or f"{schedule_id}/{number}")
    end = layer.get("end")
    if end is not None and instant(end, f"{where}.end") <= as_of:
        out.notes.append(f"{what}: ended before the import ({end}), not carried over")
        return None
    turn = need(layer, "rotation_turn_length_seconds", int, where)
    if turn <= 0 or turn % 3600:
        out.skip("layer", layer_id, what, f"a turn of {turn} seconds is not a whole number of hours")
        return None
    if turn // 3600 > MAX_TURN_HOURS:
        out.skip("layer", layer_id, what, f"a turn of {turn} seconds is longer than a year")
        return None
    virtual_start = instant(layer.get("rotation_virtual_start"), f"{where}.rotation_virtual_start")
    start = instant(layer.get("start"), f"{where}.start")
    if end is not None:
        out.skip("layer", layer_id, what, f"ends at {end}: firebell layers do not end; remove it from the config then")
    members = []
    for user_where, item in objects(layer, "users", where):
        user_id = need(need(item, "user", dict, user_where), "id", str, f"{user_where}.user")
        if user_id in people:
            members.append(people[user_id])
        else:
            out.skip("layer", layer_id, what, f"member {user_id} is not among the users read: left out of the turn")
    if not members:
        out.skip("layer", layer_id, what, "no members")
        return None
    # The turns count from rotation_virtual_start, the layer counts from `start`: firebell's rotation begins at the
    # first handoff at or after `start`, with the member whose turn that is (its members rotated to begin there).
    origin, step = local(virtual_start, tz), timedelta(seconds=turn)
    begins = local(start, tz)
    skipped_turns = max(0, -(-(begins - origin) // step))
    if (begins - origin) % step and begins > origin:
        out.skip(
            "layer",
            layer_id,
            what,
            f"starts at {start.isoformat()}, inside a turn: firebell starts it at the next handoff",
        )
    origin += skipped_turns * step
    first = skipped_turns % len(members)
    entry: Entry = {"name": slug(label, f"layer-{number}"), "rotation": rotation(turn // 3600, origin)}
    entry["members"] = members[first:] + members[:first]
    restrictions = []
    for restriction_where, restriction in objects(layer, "restrictions", where, required=False):
        kind = need(restriction, "type", str, restriction_where)
        seconds = need(restriction, "duration_seconds", int, restriction_where)
        start_of_day = _time_of_day(need(restriction, "start_time_of_day", str, restriction_where), restriction_where)
        if kind == "daily_restriction" and 0 < seconds <= 86400:
            restrictions.append(daily_window(start_of_day, seconds))
        elif kind == "weekly_restriction" and 0 < seconds <= 7 * 86400:
            day = need(restriction, "start_day_of_week", int, restriction_where)
            if not 1 <= day <= 7:
                raise ImportError_(f"{restriction_where}.start_day_of_week: {day} is not 1 (Monday) to 7 (Sunday)")
            restrictions.append(weekly_window(day - 1, start_of_day, seconds))
        else:
            out.skip("layer", layer_id, what, f"restriction {kind} of {seconds} seconds cannot be expressed")
            return None
    if restrictions and not out.restrictions:
        out.unrestricted("layer", layer_id, what)
        return None
    if restrictions:
        entry["restrictions"] = restrictions
    return entry


def _time_of_day(value: str, where: str) -> time:
    try:
        return time.fromisoformat(value.removesuffix("Z"))
    except ValueError:
        raise ImportError_(f"{where}.start_time_of_day: {value[:20]!r} is not HH:MM:SS") from None


# --- escalation policies, teams, services -------------------------------------------------------------------------


def map_policies(
    policies: list[tuple[str, dict[str, Any]]],
    people: dict[str, str],
    schedules: dict[str, str],
    ids: Ids,
    out: Imported,
) -> dict[str, str]:
    found: dict[str, str] = {}
    for where, policy in policies:
        out.count("escalation policies")
        policy_id = need(policy, "id", str, where)
        name = maybe(policy, "name", str, where, policy_id)
        levels = []
        for rule_where, rule in objects(policy, "escalation_rules", where):
            delay = need(rule, "escalation_delay_in_minutes", int, rule_where)
            targets = []
            for target_where, target in objects(rule, "targets", rule_where):
                kind = need(target, "type", str, target_where).removesuffix("_reference")
                target_id = need(target, "id", str, target_where)
                if kind == "user" and target_id in people:
                    targets.append({"person": people[target_id]})
                elif kind in ("schedule", "schedule_v3") and target_id in schedules:
                    targets.append({"schedule": schedules[target_id]})
                else:
                    out.skip(
                        "escalation_rule", str(rule.get("id")), name, f"target {kind} {target_id} was not imported"
                    )
            if rule.get("escalation_rule_assignment_strategy") not in (None, "assign_to_everyone"):
                out.skip("escalation_rule", str(rule.get("id")), name, "round robin: firebell pages every target")
            if not targets:
                continue
            if delay < 1:
                out.skip("escalation_rule", str(rule.get("id")), name, f"delay {delay} minutes: firebell waits 1")
            if delay > MAX_LEVEL_MINUTES:
                out.skip("escalation_rule", str(rule.get("id")), name, f"delay {delay} minutes: firebell waits a week")
            levels.append({"delay_minutes": min(max(delay, 1), MAX_LEVEL_MINUTES), "targets": targets})
        if not levels:
            out.skip("escalation_policy", policy_id, name, "no rule with a target that was imported")
            continue
        loops = maybe(policy, "num_loops", int, where, 0)
        if loops > 9:
            out.skip("escalation_policy", policy_id, name, f"repeats {loops} times: firebell repeats at most 9")
        entry: Entry = {
            "id": ids.of(f"escalation_policies:{policy_id}", name_id(name, "policy", policy_id)),
            "levels": levels,
        }
        entry["repeat"] = min(max(loops, 0), 9)
        found[policy_id] = entry["id"]
        out.escalation_policies[f"escalation_policies:{policy_id}"] = entry
    return found


def map_teams(
    teams: list[tuple[str, dict[str, Any], list[tuple[str, dict[str, Any]]]]],
    users: list[tuple[str, dict[str, Any]]],
    raw_policies: list[tuple[str, dict[str, Any]]],
    raw_services: list[tuple[str, dict[str, Any]]],
    people: dict[str, str],
    policies: dict[str, str],
    ids: Ids,
    out: Imported,
) -> dict[str, str]:
    owners = [people[u["id"]] for _, u in users if u.get("role") in ("owner", "admin") and ident(u) in people]
    policy_of_team: dict[str, str] = {}
    for _, policy in sorted(raw_policies, key=lambda item: str(item[1].get("name", ""))):
        for team in items_of(policy, "teams"):
            if isinstance(team, dict) and ident(policy) in policies:
                policy_of_team.setdefault(str(team.get("id")), policies[policy["id"]])
    for _, service in raw_services:  # else the policy of a service the team owns
        ep = service.get("escalation_policy") or {}
        for team in items_of(service, "teams"):
            if isinstance(team, dict) and ident(ep) in policies:
                policy_of_team.setdefault(str(team.get("id")), policies[ep["id"]])
    found: dict[str, str] = {}
    for where, team, members in teams:
        out.count("teams")
        team_id = need(team, "id", str, where)
        name = maybe(team, "name", str, where, team_id)
        team_policy = policy_of_team.get(team_id)
        if team_policy is None:
            out.skip("team", team_id, name, "no escalation policy of (or serving) this team was imported")
            continue
        managers, everyone = [], []
        for member_where, member in members:
            user_id = need(need(member, "user", dict, member_where), "id", str, f"{member_where}.user")
            if user_id in people:
                everyone.append(people[user_id])
                if member.get("role") == "manager":
                    managers.append(people[user_id])
        incident_managers = managers or [p for p in everyone if p in owners] or owners[:1]
        if not incident_managers:
            out.skip("team", team_id, name, "no team manager and no account owner or admin to be its incident manager")
            continue
        why = "its members with the manager role" if managers else "no member has the manager role: owners/admins"
        out.notes.append(f"team {name}: policy {team_policy}; incident managers {', '.join(incident_managers)} ({why})")
        entry: Entry = {
            "id": ids.of(f"teams:{team_id}", name_id(name, "team", team_id)),
            "name": name,
            "escalation_policy": team_policy,
        }
        if managers:
            entry["manager"] = managers[0]
        entry["incident_managers"] = incident_managers
        found[team_id] = entry["id"]
        out.teams[f"teams:{team_id}"] = entry
        for person in out.people.values():
            if person["id"] in incident_managers and "incident_manager" not in person["roles"]:
                person["roles"].append("incident_manager")
    return found


def map_services(
    services: list[tuple[str, dict[str, Any]]], teams: dict[str, str], policies: dict[str, str], ids: Ids, out: Imported
) -> None:
    team_of_policy = {entry["escalation_policy"]: entry["id"] for entry in reversed(list(out.teams.values()))}
    for where, service in services:
        out.count("services")
        service_id = need(service, "id", str, where)
        name = maybe(service, "name", str, where, service_id)
        if service.get("status") == "disabled":
            out.skip("service", service_id, name, "disabled in PagerDuty")
            continue
        policy_ref = need(service, "escalation_policy", dict, where)
        policy = policies.get(str(policy_ref.get("id")))
        own_teams = [teams[t["id"]] for t in items_of(service, "teams") if ident(t) in teams]
        team = own_teams[0] if own_teams else team_of_policy.get(policy or "")
        if team is None or policy is None:
            out.skip("service", service_id, name, "neither its team nor its escalation policy was imported")
            continue
        entry: Entry = {"id": ids.of(f"services:{service_id}", name_id(name, "service", service_id)), "team": team}
        if policy != next(t["escalation_policy"] for t in out.teams.values() if t["id"] == team):
            entry["escalation_policy"] = policy
        keys = []
        for integration_where, integration in objects(service, "integrations", where, required=False):
            out.count("integrations")
            kind = maybe(integration, "type", str, integration_where, "")
            key = integration.get("integration_key")
            label = f"{name} / {integration.get('name') or kind}"
            if kind == EVENTS_V2 and isinstance(key, str) and key:
                keys.append({"sha256": routing_key_sha256(key)})
            elif kind == EVENTS_V2:
                out.skip("integration", str(integration.get("id")), label, "no integration_key in the answer")
            else:
                out.skip(
                    "integration",
                    str(integration.get("id")),
                    label,
                    f"{kind or 'this kind'}: firebell takes Events API v2 routing keys (its /v2/enqueue), CloudWatch "
                    "through SNS and Alertmanager: point the sender at firebell",
                )
        if keys:
            entry["routing_keys"] = keys
        for field, label in (("auto_resolve_timeout", "auto-resolve"), ("acknowledgement_timeout", "ack timeout")):
            if service.get(field):
                out.skip("service", service_id, name, f"{label} after {service[field]} s has no firebell equivalent")
        urgency_rule = service.get("incident_urgency_rule")
        if isinstance(urgency_rule, dict) and urgency_rule.get("type") == "use_support_hours":
            out.skip(
                "service",
                service_id,
                name,
                "urgency by support hours: firebell's urgency comes from config/rules.yaml; route by hours with "
                "the team's routing_rules (docs/schedules.md)",
            )
        elif isinstance(urgency_rule, dict) and urgency_rule.get("urgency") == "low":
            out.skip("service", service_id, name, "every incident low urgency: set that in config/rules.yaml")
        out.services[f"services:{service_id}"] = entry
