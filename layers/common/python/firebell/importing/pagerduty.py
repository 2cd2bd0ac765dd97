"""PagerDuty's REST API (https://api.pagerduty.com, the shapes of PagerDuty/api-schema's openapiv3.json) → firebell.

Mapping decisions are in docs/importing.md; each loss is reported with its reason."""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

from .common import (
    Entry,
    Ids,
    Imported,
    e164,
    follow_ups,
    ident,
    is_address,
    is_zone,
    maybe,
    need,
    objects,
)
from .pagerduty_directory import map_policies, map_schedules, map_services, map_teams
from .sources import HttpSource, JsonObject, Source

API = "https://api.pagerduty.com"
PAGE_SIZE = 100
FETCH_WORKERS = 8
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
    schedules = map_schedules(raw["schedules"], people, ids, out, as_of)
    policies = map_policies(raw["escalation_policies"], people, schedules, ids, out)
    teams = map_teams(
        raw["teams"], raw["users"], raw["escalation_policies"], raw["services"], people, policies, ids, out
    )
    map_services(raw["services"], teams, policies, ids, out)
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
        person: Entry = {"id": ids.person(f"people:{user_id}", email), "name": name}
        if is_address(email):
            person["email"] = email
        else:
            out.skip("user", user_id, name, f"email {email[:80]!r} is not an address: imported without one")
        methods = {m_id: m for _, m in objects(user, "contact_methods", where, required=False) if (m_id := ident(m))}
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
        if isinstance(user.get("notification_rules"), list) and not rules:
            out.notes.append(
                f"{name}: no notification rules in PagerDuty (it told them of nothing); firebell's default pages them "
                "by SMS and email"
            )
        return None
    return follow_ups(user_id, name, steps, out)
