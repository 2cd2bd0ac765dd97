"""Who may do what (docs/access.md): the roles, the caller, every route's rule, and the decision. Pure.

The API handler reads the caller from the request (functions/api/identity.py) and asks `decide` before any
route runs, with the route as the resolver registered it (method + path template such as
`/incidents/<incident_id>`). A route missing from `ROUTES` is refused to everyone (deny by default), and
tests/unit/test_access.py fails when a registered route has no entry.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal


class Role(StrEnum):
    VIEWER = "viewer"  # stakeholders: read incidents, timelines, on-call, schedules
    REPORTER = "reporter"  # any employee: report an incident, read the ones they reported
    RESPONDER = "responder"  # work incidents
    INCIDENT_MANAGER = "incident_manager"  # and stakeholder updates, post-incident reviews
    ADMIN = "admin"  # everything, the admin API included


ALL_ROLES: frozenset[Role] = frozenset(Role)
# Roles add up, and each row of docs/access.md's table includes the ones below it: named once here.
ADMINS = frozenset({Role.ADMIN})
MANAGERS = ADMINS | {Role.INCIDENT_MANAGER}
WORKERS = MANAGERS | {Role.RESPONDER}
READERS = WORKERS | {Role.VIEWER}
REPORTERS = WORKERS | {Role.REPORTER}

MACHINE_PREFIX = "iam:"


@dataclass(frozen=True)
class Caller:
    """Who sent a request, as the gateway (or the local runtime) authenticated them.

    kind: `person` (a directory person: `person` is their id), `stranger` (signed in, but no directory person
    has the token's email), `machine` (an IAM principal: `principal` is its ARN) or `nobody` (`problem` says
    what was wrong with the credentials presented, if any were).
    """

    kind: Literal["person", "stranger", "machine", "nobody"]
    person: str | None = None
    roles: frozenset[Role] = frozenset()
    principal: str | None = None
    email: str | None = None
    problem: str | None = None

    @classmethod
    def of_person(cls, person: str, roles: Iterable[Role]) -> Caller:
        return cls("person", person=person, roles=frozenset(roles))

    @classmethod
    def stranger(cls, email: str | None) -> Caller:
        return cls("stranger", email=email)

    @classmethod
    def machine(cls, principal: str) -> Caller:
        return cls("machine", principal=principal)

    @classmethod
    def nobody(cls, problem: str | None = None) -> Caller:
        return cls("nobody", problem=problem)

    @property
    def actor(self) -> str:
        """What the timeline records as the actor: the directory id, or `iam:<principal ARN>`."""
        if self.kind == "person" and self.person:
            return self.person
        if self.kind == "machine" and self.principal:
            return f"{MACHINE_PREFIX}{self.principal}"
        raise ValueError(f"a {self.kind} caller is no actor")

    @property
    def effective_roles(self) -> frozenset[Role]:
        """A machine's authority is its IAM policy (execute-api:Invoke), as before people signed in: every role."""
        return ALL_ROLES if self.kind == "machine" else self.roles


@dataclass(frozen=True)
class Public:
    """A route anyone may call: `authenticated_by` is the secret that authenticates it instead.
    `local_only`: served by the local runtime alone (deployed, it answers 404 to everyone).
    `signed`: the route checks a request signature itself, and answers 401 to a request without a valid one."""

    authenticated_by: str
    local_only: bool = False
    signed: bool = False


@dataclass(frozen=True)
class Allowed:
    """The roles that may call a route (a machine always may, unless `people_only`); `own`: roles allowed it only on an incident that is
    theirs, as `owns` says: one they reported (`report`), or whose post-incident review they own (`review`). The
    handler checks which incident once it has read it (`owns_incident`)."""

    roles: frozenset[Role]
    own: frozenset[Role] = field(default_factory=frozenset)
    owns: Literal["report", "review"] = "report"
    summary: str = ""
    people_only: bool = False  # about the caller's own person (their calendar feed): no machine's

    @property
    def all_roles(self) -> frozenset[Role]:
        return self.roles | self.own

    @property
    def own_phrase(self) -> str:
        return {"report": "incidents they reported", "review": "incidents whose review they own"}[self.owns]


Rule = Public | Allowed


def _allow(
    roles: frozenset[Role],
    summary: str,
    own: frozenset[Role] = frozenset(),
    owns: Literal["report", "review"] = "report",
    people_only: bool = False,
) -> Allowed:
    return Allowed(roles, own, owns, summary, people_only)


def _own_feed() -> Allowed:
    return _allow(ALL_ROLES, "manage their calendar feed", people_only=True)


_REPORTER = frozenset({Role.REPORTER})


_INCIDENT = "/incidents/<incident_id>"
_KEY = "the routing key in the body, an integration key of one service"

# method, path template (as the resolver registers it) → rule. Every route has a line: see the module's docstring.
ROUTES: dict[tuple[str, str], Rule] = {
    # The API's own description.
    ("GET", "/openapi.json"): _allow(ALL_ROLES, "read the API document"),
    ("GET", "/docs"): _allow(ALL_ROLES, "read the API document"),
    # Who am I; the local runtime's pick-a-person sign-in.
    ("GET", "/auth/me"): _allow(ALL_ROLES, "ask who they are"),
    ("POST", "/auth/local/sign-in"): Public(
        "nothing: the local runtime lets anyone pick a person of the config", local_only=True
    ),
    ("POST", "/auth/local/sign-out"): Public("nothing: it only drops the session cookie", local_only=True),
    ("GET", "/auth/local/people"): Public("nothing: the people the local sign-in offers", local_only=True),
    # Incidents.
    ("POST", "/incidents"): _allow(REPORTERS, "report an incident"),
    # A reporter lists only what they reported (GET /incidents?reporter=me: "follow their own reports").
    ("GET", "/incidents"): _allow(READERS, "list incidents", own=_REPORTER),
    ("GET", _INCIDENT): _allow(READERS, "read incidents", own=_REPORTER),
    ("GET", f"{_INCIDENT}/timeline"): _allow(READERS, "read timelines", own=_REPORTER),
    ("GET", f"{_INCIDENT}/similar"): _allow(READERS, "read similar incidents"),
    ("POST", f"{_INCIDENT}/acknowledge"): _allow(WORKERS, "acknowledge incidents"),
    ("POST", f"{_INCIDENT}/resolve"): _allow(WORKERS, "resolve incidents"),
    ("POST", f"{_INCIDENT}/notes"): _allow(WORKERS, "add notes"),
    ("POST", f"{_INCIDENT}/hold"): _allow(WORKERS, "put incidents on hold"),
    ("POST", f"{_INCIDENT}/resume"): _allow(WORKERS, "resume incidents"),
    ("POST", f"{_INCIDENT}/escalate"): _allow(WORKERS, "escalate incidents"),
    ("POST", f"{_INCIDENT}/reassign"): _allow(WORKERS, "reassign incidents"),
    # The reporter confirms a resolution: inside the confirmation window they may say it is not fixed (ITIL).
    ("POST", f"{_INCIDENT}/reopen"): _allow(WORKERS, "reopen incidents", own=_REPORTER),
    ("POST", f"{_INCIDENT}/updates"): _allow(MANAGERS, "post stakeholder updates"),
    # A review is owned by whoever resolved the incident (usecases/duties.py), reminded until it is done.
    ("POST", f"{_INCIDENT}/review"): _allow(
        MANAGERS, "complete post-incident reviews", own=frozenset({Role.RESPONDER}), owns="review"
    ),
    ("PUT", f"{_INCIDENT}/review"): _allow(
        MANAGERS, "write post-incident reviews", own=frozenset({Role.RESPONDER}), owns="review"
    ),
    ("POST", f"{_INCIDENT}/review/actions"): _allow(
        MANAGERS, "add post-incident actions", own=frozenset({Role.RESPONDER}), owns="review"
    ),
    # Whoever does an action says it is done (its owner need not own the review).
    ("POST", f"{_INCIDENT}/review/actions/<number>/done"): _allow(WORKERS, "complete post-incident actions"),
    ("GET", f"{_INCIDENT}/review.md"): _allow(READERS, "read post-incident reviews", own=_REPORTER),
    # On call.
    ("GET", "/schedules/<schedule_id>/on-call"): _allow(READERS, "read who is on call"),
    ("GET", "/schedules/<schedule_id>/calendar.ics"): _allow(READERS, "read schedules"),
    ("GET", "/on-call"): _allow(READERS, "read who is on call"),
    ("GET", "/people/<person_id>/shifts"): _allow(READERS, "read schedules"),
    ("GET", "/reports"): _allow(READERS, "read reports"),
    ("POST", "/drills"): _allow(MANAGERS, "run drills"),
    ("POST", "/drills/<incident_id>/end"): _allow(MANAGERS, "run drills"),
    ("GET", "/drills/<incident_id>"): _allow(READERS, "read drill reports"),
    ("GET", "/reports/incidents.csv"): _allow(READERS, "read reports"),
    # A person's secret calendar feed address (functions/api/feeds.py): their own; an admin may revoke anyone's.
    ("GET", "/me/notifications"): _allow(ALL_ROLES, "read how they are reached", people_only=True),
    ("PUT", "/me/notification-rules"): _allow(ALL_ROLES, "set how they are reached", people_only=True),
    ("POST", "/me/contact-methods"): _allow(ALL_ROLES, "add their contact methods", people_only=True),
    ("POST", "/me/contact-methods/verify"): _allow(ALL_ROLES, "add their contact methods", people_only=True),
    ("GET", "/me/calendar-feed"): _own_feed(),
    ("POST", "/me/calendar-feed"): _own_feed(),
    ("DELETE", "/me/calendar-feed"): _own_feed(),
    ("DELETE", "/people/<person_id>/calendar-feed"): _allow(ADMINS, "revoke someone's calendar feed"),
    # The directory without phone numbers or routing keys: the report form's services, the console's pickers.
    ("GET", "/directory"): _allow(ALL_ROLES, "read the directory"),
    # Problem management (functions/api/problems.py): records by incident managers, links by whoever works incidents.
    ("GET", "/problems/<problem_id>"): _allow(READERS, "read a problem record"),
    ("PUT", "/problems/<problem_id>"): _allow(MANAGERS, "write a problem record"),
    ("POST", f"{_INCIDENT}/problem"): _allow(WORKERS, "link an incident to a problem record"),
    # The admin API.
    ("GET", "/admin/directory"): _allow(ADMINS, "read the admin directory"),
    ("GET", "/admin/<kind>"): _allow(ADMINS, "read the admin directory"),
    ("GET", "/admin/<kind>/<entry_id>"): _allow(ADMINS, "read the admin directory"),
    ("PUT", "/admin/<kind>/<entry_id>"): _allow(ADMINS, "change the directory"),
    ("DELETE", "/admin/<kind>/<entry_id>"): _allow(ADMINS, "change the directory"),
    ("POST", "/admin/<kind>/<entry_id>/revert"): _allow(ADMINS, "change the directory"),
    ("GET", "/admin/webhooks/<entry_id>/secret"): _allow(ADMINS, "read a webhook's signing secret"),
    ("POST", "/admin/webhooks/dead-letters/replay"): _allow(ADMINS, "replay dead-lettered webhook events"),
    # Taking or giving a shift is a responder's (docs/access.md): an override, checked like any directory change.
    ("POST", "/admin/schedules/<entry_id>/overrides"): _allow(WORKERS, "take or give a shift"),
    ("POST", "/admin/services/<entry_id>/maintenance-windows"): _allow(ADMINS, "change the directory"),
    # Secrets other than a person's or a machine's credentials.
    ("GET", "/ack/<token>"): Public("the acknowledgement link's HMAC-signed, expiring, single-use token"),
    ("POST", "/ack/<token>"): Public("the acknowledgement link's HMAC-signed, expiring, single-use token"),
    ("POST", "/chat/slack/interactions"): Public(
        "Slack's request signature (the app's signing secret; 5 minutes; each request once)", signed=True
    ),
    ("POST", "/chat/slack/commands"): Public(
        "Slack's request signature (the app's signing secret; 5 minutes; each request once)", signed=True
    ),
    ("GET", "/feeds/<token>/calendar.ics"): Public(
        "the person's secret calendar feed token in the path (stored as SHA-256, revocable)"
    ),
    ("POST", "/v2/enqueue"): Public(f"{_KEY} (PagerDuty Events API v2)"),
    ("POST", "/v2/change/enqueue"): Public(f"{_KEY} (PagerDuty Change Events)"),
    ("POST", "/v1/alertmanager/<routing_key>"): Public(
        "the routing key in the path, an integration key of one service (Alertmanager)"
    ),
}


@dataclass(frozen=True)
class Decision:
    """`status` None: allowed (`own_only`: only on an incident that is the caller's, as the rule's `owns` says);
    else 401, 403 or 404 with `code` and `message` for the caller."""

    status: int | None
    code: str = ""
    message: str = ""
    own_only: bool = False
    rule: Rule | None = None

    @property
    def allowed(self) -> bool:
        return self.status is None


def role_names(roles: Iterable[Role]) -> str:
    ordered = [role.value for role in Role if role in set(roles)]
    return ", ".join(ordered) if ordered else "no role"


def decide(method: str, path: str, caller: Caller, local_runtime: bool = False) -> Decision:
    """May `caller` call the route registered as `method` `path`? Deny by default."""
    rule = ROUTES.get((method.upper(), path))
    if isinstance(rule, Public):
        if rule.local_only and not local_runtime:
            return Decision(
                404, "local_only", f"{method.upper()} {path} exists only in the local runtime (make run)", rule=rule
            )
        return Decision(None, rule=rule)
    if rule is None:
        return Decision(
            403, "forbidden", f"{method.upper()[:20]} {path[:200]} is open to nobody (it has no access rule)"
        )
    if caller.kind == "nobody":
        why = caller.problem or "no credentials"
        return Decision(
            401,
            "unauthenticated",
            f"{why}: sign in (Authorization: Bearer <token>) or sign the request with SigV4",
            rule=rule,
        )
    if caller.kind == "stranger":
        who = f"{caller.email!r}" if caller.email else "a token without an email claim"
        return Decision(
            403, "not_in_directory", f"{who} is no person of the directory: ask an admin to add them", rule=rule
        )
    if caller.kind == "machine" and rule.people_only:
        return Decision(
            403, "forbidden", f"an IAM principal may not {rule.summary}: only a signed-in person has one", rule=rule
        )
    roles = caller.effective_roles
    if roles & rule.roles:
        return Decision(None, rule=rule)
    if roles & rule.own:
        return Decision(None, own_only=True, rule=rule)
    return Decision(
        403,
        "forbidden",
        f"{role_names(roles)} may not {rule.summary}; needs one of {role_names(rule.all_roles)}",
        rule=rule,
    )


def owns_incident(caller: Caller, rule: Allowed, reporter: str, review_owner: str | None) -> bool:
    """For a caller allowed a route only on what is theirs: is this incident theirs, as the rule means it?"""
    owner = reporter if rule.owns == "report" else review_owner
    return caller.kind == "person" and owner is not None and caller.person == owner


def own_only_refusal(caller: Caller, rule: Allowed) -> str:
    return f"{role_names(caller.roles)} may {rule.summary} only on {rule.own_phrase}; needs one of {role_names(rule.roles)}"


def roles_from_groups(groups: Iterable[str]) -> frozenset[Role]:
    """The roles named among a person's groups (Cognito groups of the same names); other groups are ignored."""
    known = {role.value: role for role in Role}
    return frozenset(known[g] for g in groups if g in known)


def route_table_markdown() -> str:
    """ROUTES as docs/access.md shows it: one row a route, one column a role and a machine (tests/unit/test_access.py
    holds the document to it; `python -m firebell.domain.access` prints it)."""
    heads = [role.value for role in Role] + ["machine (IAM)"]
    rows = ["| route | " + " | ".join(heads) + " |", "|---|" + "---|" * len(heads)]
    for (method, path), rule in ROUTES.items():
        if isinstance(rule, Public):
            cells = ["public" + (", local only" if rule.local_only else "")] * len(heads)
        else:
            cells = ["yes" if role in rule.roles else "own" if role in rule.own else "—" for role in Role]
            cells.append("—" if rule.people_only else "yes")
        rows.append(f"| `{method} {path}` | " + " | ".join(cells) + " |")
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    print(route_table_markdown(), end="")
