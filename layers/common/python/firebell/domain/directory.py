"""The directory: people, on-call schedules, escalation policies, teams and services (config/firebell.yaml,
changed at run time by the admin API). Pure models and the cross-reference checks; loading is config.py's."""

from datetime import datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from .access import Role
from .chat import ChatChannel
from .enums import Priority
from .errors import DemoRoutingKeyRefused
from .mail_intake import EmailIntake
from .notification_rules import NotificationRules
from .problems import Problem
from .routing import Route, RoutingRule, distinct_rule_names, route
from .routing_keys import RoutingKey, StoredRoutingKey, routing_key_sha256
from .rules import Rules
from .schedules import Schedule
from .sending import EmailAddress, Notifications, Ops
from .time_zones import TimeZoneName
from .webhooks import WebhookSubscription


class _Strict(BaseModel):
    # defer_build: a model's validator is built on its first use, so a function builds only the models it uses (cold start).
    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)


class Person(_Strict):
    id: Annotated[str, Field(min_length=1)]
    name: str
    email: EmailAddress | None = None  # an address SES can send to: a typo is refused, not silently unreachable
    phone: Annotated[str | None, Field(pattern=r"^\+[1-9]\d{6,14}$")] = None  # E.164, as SNS SMS needs
    # What they may do when they sign in locally (domain/access.py; deployed, their Cognito groups say it).
    # Everyone may report an incident unless the config says otherwise; [] is someone who is only paged.
    roles: list[Role] = [Role.REPORTER]
    # IANA name: reports count their interruptions in it (business, off hours, sleep); else their first schedule's.
    time_zone: TimeZoneName | None = None
    # Their Slack member id: the buttons and /firebell they use in Slack act as them, with their directory roles.
    slack_user_id: Annotated[str | None, Field(pattern=r"^[UW][A-Z0-9]{2,20}$")] = None
    # How a page reaches them, by urgency (domain/notification_rules.py); none: SMS and email, as always.
    notification_rules: NotificationRules | None = None

    @field_validator("roles")
    @classmethod
    def _each_role_once(cls, roles: list[Role]) -> list[Role]:
        twice = sorted({r.value for r in roles if roles.count(r) > 1})
        if twice:
            raise ValueError(f"listed twice: {', '.join(twice)}")
        return roles

    @model_validator(mode="after")
    def _quiet_hours_have_a_zone(self) -> "Person":
        if self.notification_rules and self.notification_rules.quiet_hours and not self.time_zone:
            raise ValueError(
                "notification_rules.quiet_hours: give the person a time_zone (an IANA name) to keep them in"
            )
        return self

    @property
    def reachable(self) -> bool:
        return bool(self.email or self.phone)


class Target(_Strict):
    """Who a level pages: exactly one of a person, whoever is on call on a schedule, or a team's manager."""

    person: str | None = None
    schedule: str | None = None
    team_manager: str | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> "Target":
        given = [name for name in ("person", "schedule", "team_manager") if getattr(self, name)]
        if len(given) != 1:
            raise ValueError(f"a target names exactly one of person, schedule, team_manager (got {given or 'none'})")
        return self

    @property
    def kind(self) -> str:
        return next(name for name in ("person", "schedule", "team_manager") if getattr(self, name))

    @property
    def ref(self) -> str:
        chosen: str = getattr(self, self.kind)
        return chosen


class PolicyLevel(_Strict):
    # At most a week: a level's wait is a Step Functions Wait, and an unbounded one failed the run (no paging at all).
    delay_minutes: Annotated[float, Field(gt=0, le=7 * 24 * 60)]
    targets: Annotated[list[Target], Field(min_length=1)]


class EscalationPolicy(_Strict):
    id: Annotated[str, Field(min_length=1)]
    levels: Annotated[list[PolicyLevel], Field(min_length=1)]
    # How many more times the whole policy runs after the first pass, before the incident manager is paged.
    repeat: Annotated[int, Field(ge=0, le=9)] = 0


class Team(_Strict):
    id: Annotated[str, Field(min_length=1)]
    name: str
    escalation_policy: str
    manager: str | None = None
    incident_managers: Annotated[list[str], Field(min_length=1)]
    stakeholders: list[str] = []
    # Working-hours routing (domain/routing.py): the first rule matching when paging starts picks the policy.
    routing_rules: list[RoutingRule] = []

    _distinct_rules = field_validator("routing_rules")(distinct_rule_names)


class MaintenanceWindow(_Strict):
    start: AwareDatetime
    end: AwareDatetime
    reason: str = ""

    @model_validator(mode="after")
    def _ordered(self) -> "MaintenanceWindow":
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class Service(_Strict):
    id: Annotated[str, Field(min_length=1)]
    team: str
    escalation_policy: str | None = None  # the team's policy unless set
    namespaces: list[str] = []
    alarm_name_prefixes: list[str] = []
    # Integration keys monitoring tools send with their events (PagerDuty routing_key, Alertmanager URL), as
    # their SHA-256 only (domain/routing_keys.py): anyone holding a key can open incidents on this service.
    routing_keys: list[RoutingKey] = []
    # Resolve an alert-raised incident by itself once its alert has been quiet this long (off when unset).
    auto_resolve_quiet_minutes: Annotated[float | None, Field(gt=0)] = None
    maintenance_windows: list[MaintenanceWindow] = []

    def maintenance_at(self, at: datetime) -> MaintenanceWindow | None:
        return next((w for w in self.maintenance_windows if w.start <= at < w.end), None)


class Directory(_Strict):
    """config/firebell.yaml: who is paged, for what, and from which address."""

    notifications: Notifications
    ops: Ops = Field(default_factory=Ops)  # (not `= Ops()`: that would build Ops's validator at import; issue 10)
    people: Annotated[list[Person], Field(min_length=1)]
    schedules: list[Schedule] = []
    escalation_policies: Annotated[list[EscalationPolicy], Field(min_length=1)]
    teams: Annotated[list[Team], Field(min_length=1)]
    services: list[Service] = []
    problems: list[Problem] = []  # ITIL problem records and known errors (domain/problems.py)
    webhooks: list[WebhookSubscription] = []  # outgoing webhooks (domain/webhooks.py): admins only, never in readable()
    chat_channels: list[
        ChatChannel
    ] = []  # Slack, Teams, Google Chat (domain/chat.py): admins only, never in readable()
    # Mail that opens incidents (domain/mail_intake.py, docs/email-intake.md): the file's alone, no admin kind.
    email_intake: EmailIntake = Field(default_factory=EmailIntake)
    default_team: str
    # Demo routing keys work only where the loader says so (the local runtime): refused unless set.
    _demo_keys_accepted: bool = PrivateAttr(default=False)

    def readable(self) -> dict[str, list[dict[str, Any]]]:
        """What every signed-in person may read (GET /directory): who is who and what pages whom; not phone
        numbers, routing keys (even hashed) or the ops contacts, which the admin API shows admins."""

        def dump(entries: list[Any], hidden: set[str] | None = None) -> list[dict[str, Any]]:
            return [
                entry.model_dump(mode="json", exclude=hidden, exclude_none=True) for entry in entries
            ]  # as /admin/ shows them

        return {
            "people": dump(self.people, {"phone"}),
            "teams": dump(self.teams),
            "schedules": dump(self.schedules),
            "escalation_policies": dump(self.escalation_policies),
            "services": dump(self.services, {"routing_keys"}),
            "problems": dump(self.problems),
        }

    @model_validator(mode="after")
    def _references_exist(self) -> "Directory":
        people = {p.id for p in self.people}
        teams = {t.id for t in self.teams}
        known = {"person": people, "schedule": {s.id for s in self.schedules}, "team_manager": teams}
        policies = {p.id for p in self.escalation_policies}
        problems: list[str] = []
        for kind, items in (
            ("people", self.people),
            ("schedules", self.schedules),
            ("escalation_policies", self.escalation_policies),
            ("teams", self.teams),
            ("services", self.services),
            ("problems", self.problems),
            ("webhooks", self.webhooks),
            ("chat_channels", self.chat_channels),
        ):
            ids = [item.id for item in items]
            problems += [f"{kind}: duplicate id {i!r}" for i in sorted({i for i in ids if ids.count(i) > 1})]
        emails: dict[str, str] = {}
        slack_users: dict[str, str] = {}
        for pi, person in enumerate(self.people):
            if person.email:  # a signed-in email must name one person (Cognito's email claim → directory id)
                owner = emails.setdefault(person.email.casefold(), person.id)
                if owner != person.id:
                    problems.append(
                        f"people[{pi}].email: {person.email!r} is also person {owner!r}'s (one email, one person)"
                    )
            if person.slack_user_id:  # a click in Slack acts as one person
                owner = slack_users.setdefault(person.slack_user_id, person.id)
                if owner != person.id:
                    problems.append(f"people[{pi}].slack_user_id: {person.slack_user_id!r} is also person {owner!r}'s")
        for si, schedule in enumerate(self.schedules):
            for li, layer in enumerate(schedule.layers):
                problems += [
                    f"schedules[{si}].layers[{li}].members: unknown person {m!r}"
                    for m in layer.members
                    if m not in people
                ]
            problems += [
                f"schedules[{si}].overrides[{oi}].person: unknown person {o.person!r}"
                for oi, o in enumerate(schedule.overrides)
                if o.person not in people
            ]
        for pi, policy in enumerate(self.escalation_policies):
            for li, level in enumerate(policy.levels):
                problems += [
                    f"escalation_policies[{pi}].levels[{li}].targets[{ti}].{t.kind}: unknown {t.kind.replace('_', ' ')} {t.ref!r}"
                    for ti, t in enumerate(level.targets)
                    if t.ref not in known[t.kind]
                ]
        for ti, team in enumerate(self.teams):
            if team.escalation_policy not in policies:
                problems.append(f"teams[{ti}].escalation_policy: unknown policy {team.escalation_policy!r}")
            problems += [
                f"teams[{ti}].routing_rules[{ri}].escalation_policy: unknown policy {rule.escalation_policy!r}"
                for ri, rule in enumerate(team.routing_rules)
                if rule.escalation_policy is not None and rule.escalation_policy not in policies
            ]
            if team.manager and team.manager not in people:
                problems.append(f"teams[{ti}].manager: unknown person {team.manager!r}")
            for field in ("incident_managers", "stakeholders"):
                problems += [
                    f"teams[{ti}].{field}: unknown person {p!r}" for p in getattr(team, field) if p not in people
                ]
        for si, service in enumerate(self.services):
            if service.team not in teams:
                problems.append(f"services[{si}].team: unknown team {service.team!r}")
            if service.escalation_policy and service.escalation_policy not in policies:
                problems.append(f"services[{si}].escalation_policy: unknown policy {service.escalation_policy!r}")
        service_ids = {s.id for s in self.services}
        for kind, subscribers in (("webhooks", self.webhooks), ("chat_channels", self.chat_channels)):
            for wi, subscriber in enumerate(subscribers):
                problems += [f"{kind}[{wi}].teams: unknown team {t!r}" for t in subscriber.teams if t not in teams]
                problems += [
                    f"{kind}[{wi}].services: unknown service {s!r}" for s in subscriber.services if s not in service_ids
                ]
        for ai, intake in enumerate(self.email_intake.addresses):
            if intake.service and intake.service not in service_ids:
                problems.append(f"email_intake.addresses[{ai}].service: unknown service {intake.service!r}")
            if intake.address == self.notifications.sender.lower():
                problems.append(
                    f"email_intake.addresses[{ai}].address: {intake.address!r} is notifications.sender, the "
                    "address firebell sends from (its own mail would come back to it)"
                )
        for pi, problem in enumerate(self.problems):
            problems += [
                f"problems[{pi}].match.services: unknown service {s!r}"
                for s in problem.match.services
                if s not in service_ids
            ]
        key_owners: dict[str, str] = {}
        for si, service in enumerate(self.services):
            for ki, key in enumerate(service.routing_keys):
                if key.sha256 in key_owners:
                    problems.append(
                        f"services[{si}].routing_keys[{ki}]: listed before, for service {key_owners[key.sha256]!r} "
                        "(a key identifies one service)"
                    )
                key_owners.setdefault(key.sha256, service.id)
        for team in self.teams:
            manager_targets = [
                f"escalation_policies[{pi}].levels[{li}]"
                for pi, policy in enumerate(self.escalation_policies)
                for li, level in enumerate(policy.levels)
                for t in level.targets
                if t.team_manager == team.id and not team.manager
            ]
            problems += [f"{where}: team {team.id!r} has no manager to page" for where in manager_targets]
        if self.default_team not in teams:
            problems.append(f"default_team: unknown team {self.default_team!r}")
        problems += self._unreachable_targets()
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def _unreachable_targets(self) -> list[str]:
        """Everyone a page can reach must have an email or a phone. An error, not a warning: a target without one
        is a hole in the rota (the weeks that member is on call, the level pages nobody) that a warning in a
        function's log would not close; the incident managers are the last level."""
        people = {p.id: p for p in self.people}
        teams = {t.id: t for t in self.teams}
        schedules = {s.id: s for s in self.schedules}
        silent = {pid for pid, p in people.items() if not p.reachable}
        paged_by: dict[str, list[str]] = {}
        problems: list[str] = []

        def flag(where: str, named: str, who: list[str], what: str) -> None:
            unreachable = [p for p in dict.fromkeys(who) if p in silent]
            for pid in unreachable:
                paged_by.setdefault(pid, []).append(named)
            if unreachable:
                problems.append(
                    f"{where}: {', '.join(map(repr, unreachable))} ({what}) "
                    f"{'has' if len(unreachable) == 1 else 'have'} no email or phone to be paged at"
                )

        for pi, policy in enumerate(self.escalation_policies):
            for li, level in enumerate(policy.levels):
                for ti, target in enumerate(level.targets):
                    where = f"escalation_policies[{pi}].levels[{li}].targets[{ti}].{target.kind}"
                    named = f"escalation_policies[{policy.id!r}].levels[{li}]"
                    if target.kind == "person":
                        flag(where, named, [target.ref], "the person paged")
                    elif target.kind == "schedule" and target.ref in schedules:
                        schedule = schedules[target.ref]
                        who = [m for layer in schedule.layers for m in layer.members] + [
                            o.person for o in schedule.overrides
                        ]
                        flag(where, named, who, f"on call in turn on schedule {target.ref!r}")
                    elif (
                        target.kind == "team_manager" and target.ref in teams and (manager := teams[target.ref].manager)
                    ):
                        flag(where, named, [manager], f"manager of team {target.ref!r}")
        for ti, team in enumerate(self.teams):
            flag(
                f"teams[{ti}].incident_managers",
                f"teams[{team.id!r}].incident_managers",
                list(team.incident_managers),
                "paged when no level acknowledges",
            )
        for pi, person in enumerate(self.people):
            if person.id in paged_by:
                problems.append(
                    f"people[{pi}].email: neither email nor phone, yet paged by {', '.join(paged_by[person.id])}"
                )
        return problems

    def person(self, person_id: str) -> Person | None:
        """None once someone has left the config (an incident keeps the policy it opened with)."""
        return next((p for p in self.people if p.id == person_id), None)

    def person_by_email(self, email: str) -> Person | None:
        """The person a signed-in email belongs to (Cognito's `email` claim), compared case-insensitively."""
        wanted = email.strip().casefold()
        return next((p for p in self.people if p.email and p.email.casefold() == wanted), None)

    def person_by_slack_user(self, slack_user_id: str) -> Person | None:
        return next((p for p in self.people if p.slack_user_id and p.slack_user_id == slack_user_id), None)

    def team(self, team_id: str | None) -> Team:
        """The team, or the default team if it no longer exists."""
        found = next((t for t in self.teams if t.id == team_id), None)
        return found or next(t for t in self.teams if t.id == self.default_team)

    def service(self, service_id: str | None) -> Service | None:
        return next((s for s in self.services if s.id == service_id), None)

    def _routing_key_entry(self, routing_key: str) -> tuple[Service, StoredRoutingKey] | None:
        """The service a presented key belongs to, and its stored entry (demo or not)."""
        presented = routing_key_sha256(routing_key)
        for service in self.services:
            for key in service.routing_keys:
                if key.matches(presented):
                    return service, key
        return None

    def service_for_routing_key(self, routing_key: str) -> Service | None:
        """The service whose integration key this is (None: nobody's). DemoRoutingKeyRefused for a demo key,
        unless this directory was loaded for the local runtime (`accepting_demo_keys`)."""
        found = self._routing_key_entry(routing_key)
        if found is None:
            return None
        service, key = found
        if key.demo and not self._demo_keys_accepted:
            raise DemoRoutingKeyRefused()
        return service

    def accepting_demo_keys(self) -> "Directory":
        accepting = self.model_copy()
        accepting._demo_keys_accepted = True
        return accepting

    def demo_keys_only(self) -> bool:
        """True if services have routing keys and every one is a demo key: no monitoring tool can reach a
        deployed firebell."""
        keys = [k for s in self.services for k in s.routing_keys]
        return bool(keys) and all(k.demo for k in keys)

    def schedule(self, schedule_id: str) -> Schedule | None:
        return next((s for s in self.schedules if s.id == schedule_id), None)

    def policy_for(self, team_id: str | None, service_id: str | None, policy_id: str | None = None) -> EscalationPolicy:
        """The policy named (the one a routing rule chose), else the service's own, else its team's. A named policy
        an admin has removed since falls back to those: paging someone beats paging nobody."""
        service = self.service(service_id)
        team_policy = self.team(team_id).escalation_policy  # (validated: it exists)
        for wanted in (policy_id, service.escalation_policy if service else None, team_policy):
            found = next((p for p in self.escalation_policies if p.id == wanted), None)
            if found is not None:
                return found
        raise LookupError(f"team policy {team_policy!r} is not in the directory")

    def route_for(self, team_id: str | None, service_id: str | None, priority: Priority | None, at: datetime) -> Route:
        """Which policy pages an incident whose paging starts at `at`: the team's first matching routing rule,
        else the service's own policy, else the team's (domain/routing.py)."""
        service, team = self.service(service_id), self.team(team_id)
        return route(
            team.routing_rules, priority, at, service.escalation_policy if service else None, team.escalation_policy
        )


class FirebellConfig(_Strict):
    """What firebell runs on: the directory (config/firebell.yaml) and the rules (config/rules.yaml)."""

    directory: Directory
    rules: Rules

    def accepting_demo_keys(self) -> "FirebellConfig":
        return self.model_copy(update={"directory": self.directory.accepting_demo_keys()})

    def sending_from(self, sender: str) -> "FirebellConfig":
        """This config with another notifications.sender: the deployer's address (checked by the CDK app)."""
        notifications = self.directory.notifications.model_copy(update={"sender": sender})
        directory = self.directory.model_copy(update={"notifications": notifications})
        return self.model_copy(update={"directory": directory})
