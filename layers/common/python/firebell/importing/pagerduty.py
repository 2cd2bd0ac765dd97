"""PagerDuty's REST API (https://api.pagerduty.com, the shapes of PagerDuty/api-schema's openapiv3.json) → firebell.

Mapping decisions are in docs/importing.md; each loss is reported with its reason."""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, time, timedelta
from typing import Any

from .common import (
    Entry,
    Ids,
    Imported,
    daily_window,
    e164,
    instant,
    is_zone,
    local,
    maybe,
    need,
    objects,
    rotation,
    slug,
    weekly_window,
)
from .sources import HttpSource, ImportError_, JsonObject, Source

API = "https://api.pagerduty.com"
PAGE_SIZE = 100
FETCH_WORKERS = 8
EVENTS_V2 = "events_api_v2_inbound_integration"
ROLES = {  # PagerDuty's account role → firebell roles (docs/access.md)
    "owner": ["responder", "admin"],
    "admin": ["responder", "admin"],
    "manager": ["responder"],
    "user": ["responder"],
    "limited_user": ["responder"],
    "observer": ["viewer"],
    "restricted_access": ["viewer"],
    "read_only_user": ["viewer"],
    "read_only_limited_user": ["viewer"],
}


def http_source(token: str, base_url: str = API) -> HttpSource:
    return HttpSource(
        base_url,
        {"Authorization": f"Token token={token}", "Accept": "application/vnd.pagerduty+json;version=2"},
        _next_page,
    )


def _next_page(page: JsonObject, url: str) -> str | None:
    """Classic offset pagination: `more` says whether another page follows, from offset + limit."""
    if page.get("more") is not True:
        return None
    parts = urllib.parse.urlsplit(url)
    query = [(k, v) for k, v in urllib.parse.parse_qsl(parts.query) if k != "offset"]
    offset, limit = page.get("offset"), page.get("limit")
    offset = offset if isinstance(offset, int) else 0
    limit = limit if isinstance(limit, int) and limit > 0 else PAGE_SIZE
    query.append(("offset", str(offset + limit)))
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


def _listed(
    source: Source, path: str, key: str, params: dict[str, Any] | None = None
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Each object of a paginated list, with its path for errors (users[0], users[1] … across pages)."""
    n = 0
    for page in source.pages(path, {"limit": str(PAGE_SIZE), **(params or {})}):
        for _, item in objects(page, key, ""):
            yield f"{key}[{n}]", item
            n += 1


def read(source: Source, as_of: datetime, override_days: int) -> JsonObject:
    """Everything the import needs, as the API answers it (fetched concurrently where it is one GET per object)."""
    teams = list(_listed(source, "/teams", "teams"))
    users = list(_listed(source, "/users", "users", {"include[]": ["contact_methods", "notification_rules"]}))
    listed_schedules = list(_listed(source, "/schedules", "schedules"))
    policies = list(_listed(source, "/escalation_policies", "escalation_policies"))
    services = list(_listed(source, "/services", "services", {"include[]": ["integrations"]}))
    window = {"since": as_of.isoformat(), "until": (as_of + timedelta(days=override_days)).isoformat()}

    def members(item: tuple[str, dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
        where, team = item
        team_id = need(team, "id", str, where)
        return list(_listed(source, f"/teams/{_q(team_id)}/members", "members"))

    def schedule(item: tuple[str, dict[str, Any]]) -> tuple[dict[str, Any], list[tuple[str, dict[str, Any]]]]:
        where, listed = item
        schedule_id = need(listed, "id", str, where)
        full = need(source.get(f"/schedules/{_q(schedule_id)}"), "schedule", dict, f"GET /schedules/{schedule_id}")
        overrides = objects(source.get(f"/schedules/{_q(schedule_id)}/overrides", window), "overrides", "")
        return full, overrides

    with ThreadPoolExecutor(FETCH_WORKERS) as pool:
        team_members = list(pool.map(members, teams))
        schedules = list(pool.map(schedule, listed_schedules))
    return {
        "teams": [(where, team, team_members[i]) for i, (where, team) in enumerate(teams)],
        "users": users,
        "schedules": [(f"schedules[{i}]", full, overrides) for i, (full, overrides) in enumerate(schedules)],
        "escalation_policies": policies,
        "services": services,
    }


def _q(value: str) -> str:
    return urllib.parse.quote(value, safe="")


def convert(raw: JsonObject, ids: Ids, as_of: datetime, restrictions: bool = True) -> Imported:
    out = Imported("pagerduty", restrictions)
    people = _people(raw["users"], ids, out)
    schedules = _schedules(raw["schedules"], people, ids, out, as_of)
    policies = _policies(raw["escalation_policies"], people, schedules, ids, out)
    teams = _teams(raw["teams"], raw["users"], raw["escalation_policies"], raw["services"], people, policies, ids, out)
    _services(raw["services"], teams, policies, ids, out)
    return out


# --- people -----------------------------------------------------------------------------------------------------


def _people(users: list[tuple[str, dict[str, Any]]], ids: Ids, out: Imported) -> dict[str, str]:
    """PagerDuty user id → firebell person id."""
    found: dict[str, str] = {}
    for where, user in users:
        out.count("users")
        user_id = need(user, "id", str, where)
        name = maybe(user, "name", str, where, user_id)
        email = need(user, "email", str, where)
        person: Entry = {"id": ids.of(f"people:{user_id}", slug(email.split("@")[0], "person")), "name": name}
        person["email"] = email
        methods = {m_id: m for _, m in objects(user, "contact_methods", where, required=False) if (m_id := m.get("id"))}
        out.count("contact methods", len(methods))
        phone = _phone(user_id, name, methods, out)
        if phone:
            person["phone"] = phone
        zone_name = maybe(user, "time_zone", str, where, "")
        if zone_name and is_zone(zone_name):
            person["time_zone"] = zone_name
        elif zone_name:
            out.skip("user", user_id, name, f"time_zone {zone_name!r} is not an IANA name: left out")
        role = maybe(user, "role", str, where, "user")
        person["roles"] = list(ROLES.get(role, ["responder"]))
        rules = _notification_rules(user_id, name, where, user, methods, out)
        if rules:
            person["notification_rules"] = rules
        found[user_id] = person["id"]
        out.people[f"people:{user_id}"] = person
    return found


def _phone(user_id: str, name: str, methods: dict[str, dict[str, Any]], out: Imported) -> str | None:
    """The first SMS-capable number (an SMS method, else a voice one: firebell pages numbers by SMS)."""
    for kind in ("sms_contact_method", "phone_contact_method"):
        for method in methods.values():
            if method.get("type") != kind:
                continue
            number = e164(f"{method.get('country_code', '')}{method.get('address', '')}")
            if number:
                return number
            out.skip("contact_method", str(method.get("id")), name, f"{method.get('address')!r} is not a phone number")
    return None


_CHANNELS = {
    "email_contact_method": "email",
    "sms_contact_method": "sms",
    "phone_contact_method": "sms",
}


def _notification_rules(
    user_id: str, name: str, where: str, user: dict[str, Any], methods: dict[str, dict[str, Any]], out: Imported
) -> Entry | None:
    rules = objects(user, "notification_rules", where, required=False)
    out.count("notification rules", len(rules))
    steps: dict[str, list[tuple[int, str]]] = {"high": [], "low": []}
    for rule_where, rule in rules:
        urgency = maybe(rule, "urgency", str, rule_where, "high")
        delay = need(rule, "start_delay_in_minutes", int, rule_where)
        reference = need(rule, "contact_method", dict, rule_where)
        method = methods.get(str(reference.get("id")), {})
        kind = str(method.get("type") or reference.get("type", "")).removesuffix("_reference")
        channel = _CHANNELS.get(kind)
        if urgency not in steps or channel is None:
            why = f"a {kind or 'contact'} notification" if channel is None else f"urgency {urgency!r}"
            out.skip("notification_rule", str(rule.get("id")), name, f"{why} has no firebell channel")
            continue
        if kind == "phone_contact_method":
            out.notes.append(f"{name}: a phone call notification rule becomes SMS to the same number")
        steps[urgency].append((delay, channel))
    if not any(steps.values()):
        return None
    return follow_ups(user_id, name, steps, out)


def follow_ups(source_id: str, name: str, steps: dict[str, list[tuple[int, str]]], out: Imported) -> Entry | None:
    """Per urgency, channels at once (delay 0) and later ones as firebell's follow-up (every N minutes, k times).
    None when the result is firebell's default (SMS and email at once for both urgencies)."""
    rules: Entry = {}
    for urgency, timed in steps.items():
        at_once = list(dict.fromkeys(channel for delay, channel in timed if delay == 0))
        delays = sorted({delay for delay, _ in timed if delay > 0})
        rule: Entry = {"via": at_once}
        if delays:
            every = min(max(delays[0], 1), 120)
            times = min(len(delays), 10)
            later = list(dict.fromkeys(channel for delay, channel in sorted(timed) if delay > 0))
            if delays != [every * (k + 1) for k in range(len(delays))]:
                out.skip(
                    "notification_rule",
                    source_id,
                    name,
                    f"{urgency} urgency steps at {delays} minutes are not evenly spaced: firebell follows up every "
                    f"{every} minutes, {times} times",
                )
            rule["follow_up"] = {"every_minutes": every, "times": times, "via": later}
        rules[urgency] = rule
    if not rules.get("high", {}).get("via") and "follow_up" not in rules.get("high", {}):
        out.skip("notification_rule", source_id, name, "no high-urgency rule firebell can send: left to the default")
        rules.pop("high", None)
    for urgency in ("high", "low"):
        rules.setdefault(urgency, {"via": []} if urgency == "low" and steps.get("high") else {"via": ["sms", "email"]})
    default = {"via": ["sms", "email"]}
    same = all(set(rules[u].get("via", [])) == set(default["via"]) and "follow_up" not in rules[u] for u in rules)
    return None if same else rules


# --- schedules --------------------------------------------------------------------------------------------------


def _schedules(
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
        from zoneinfo import ZoneInfo

        tz = ZoneInfo(zone_name)
        layers: list[Entry] = []
        api_layers = objects(schedule, "schedule_layers", where)
        # The API lists the top layer first (PagerDuty's terraform provider reverses it to get Layer 1 first);
        # firebell lists the bottom layer first: later layers win.
        for number, (layer_where, layer) in enumerate(reversed(api_layers), start=1):
            out.count("schedule layers")
            mapped = _layer(schedule_id, name, number, layer_where, layer, people, tz, out, as_of)
            if mapped is not None:
                layers.append(mapped)
        if not layers:
            out.skip("schedule", schedule_id, name, "no layer in force could be mapped")
            continue
        entry: Entry = {
            "id": ids.of(f"schedules:{schedule_id}", slug(name, "schedule")),
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
            elif end > start and end > as_of:
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
    virtual_start = instant(layer.get("rotation_virtual_start"), f"{where}.rotation_virtual_start")
    start = instant(layer.get("start"), f"{where}.start")
    if end is not None:
        out.skip("layer", layer_id, what, f"ends at {end}: firebell layers do not end; remove it from the config then")
    if start > as_of and start > virtual_start and (start - virtual_start).total_seconds() % turn:
        out.skip(
            "layer",
            layer_id,
            what,
            f"starts at {start.isoformat()}, inside a turn: firebell puts its member on call from that turn's start",
        )
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
    entry: Entry = {
        "name": slug(label, f"layer-{number}"),
        "rotation": rotation(turn // 3600, local(virtual_start, tz)),
    }
    entry["members"] = members
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


def _policies(
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
            levels.append({"delay_minutes": max(delay, 1), "targets": targets})
        if not levels:
            out.skip("escalation_policy", policy_id, name, "no rule with a target that was imported")
            continue
        loops = maybe(policy, "num_loops", int, where, 0)
        if loops > 9:
            out.skip("escalation_policy", policy_id, name, f"repeats {loops} times: firebell repeats at most 9")
        entry: Entry = {"id": ids.of(f"escalation_policies:{policy_id}", slug(name, "policy")), "levels": levels}
        entry["repeat"] = min(max(loops, 0), 9)
        found[policy_id] = entry["id"]
        out.escalation_policies[f"escalation_policies:{policy_id}"] = entry
    return found


def _teams(
    teams: list[tuple[str, dict[str, Any], list[tuple[str, dict[str, Any]]]]],
    users: list[tuple[str, dict[str, Any]]],
    raw_policies: list[tuple[str, dict[str, Any]]],
    raw_services: list[tuple[str, dict[str, Any]]],
    people: dict[str, str],
    policies: dict[str, str],
    ids: Ids,
    out: Imported,
) -> dict[str, str]:
    owners = [people[u["id"]] for _, u in users if u.get("role") in ("owner", "admin") and u.get("id") in people]
    policy_of_team: dict[str, str] = {}
    for _, policy in sorted(raw_policies, key=lambda item: str(item[1].get("name", ""))):
        for team in policy.get("teams") or []:
            if isinstance(team, dict) and policy.get("id") in policies:
                policy_of_team.setdefault(str(team.get("id")), policies[policy["id"]])
    for _, service in raw_services:  # else the policy of a service the team owns
        ep = service.get("escalation_policy") or {}
        for team in service.get("teams") or []:
            if isinstance(team, dict) and isinstance(ep, dict) and ep.get("id") in policies:
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
        if not managers:
            out.notes.append(
                f"team {name}: no member with the manager role; incident manager: {', '.join(incident_managers)}"
            )
        entry: Entry = {
            "id": ids.of(f"teams:{team_id}", slug(name, "team")),
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


def _services(
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
        own_teams = [teams[t["id"]] for t in service.get("teams") or [] if isinstance(t, dict) and t.get("id") in teams]
        team = own_teams[0] if own_teams else team_of_policy.get(policy or "")
        if team is None or policy is None:
            out.skip("service", service_id, name, "neither its team nor its escalation policy was imported")
            continue
        entry: Entry = {"id": ids.of(f"services:{service_id}", slug(name, "service")), "team": team}
        if policy != next(t["escalation_policy"] for t in out.teams.values() if t["id"] == team):
            entry["escalation_policy"] = policy
        keys = []
        for integration_where, integration in objects(service, "integrations", where, required=False):
            out.count("integrations")
            kind = maybe(integration, "type", str, integration_where, "")
            key = integration.get("integration_key")
            label = f"{name} / {integration.get('name') or kind}"
            if kind == EVENTS_V2 and isinstance(key, str) and key:
                from ..domain.routing_keys import routing_key_sha256

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
        out.services[f"services:{service_id}"] = entry
