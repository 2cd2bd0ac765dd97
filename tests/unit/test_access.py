"""Who may do what (firebell/domain/access.py), who a request comes from (functions/api/identity.py) and the local
sign-in's sessions (firebell/domain/sessions.py): pure, no AWS."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from firebell.domain.access import (
    ALL_ROLES,
    ROUTES,
    Allowed,
    Caller,
    Public,
    Role,
    decide,
    owns_incident,
    roles_from_groups,
    route_table_markdown,
)
from firebell.domain.sessions import SESSION_HOURS, InvalidSession, issue, verify
from functions.api.app import app
from functions.api.identity import IdentitySources, caller_of, cognito_groups, session_token

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
SECRET = b"unit-test-session-secret"
ACK = "/incidents/<incident_id>/acknowledge"


def person(*roles: Role) -> Caller:
    return Caller.of_person("pat", roles)


# --- the route table ----------------------------------------------------------------------------------


def registered_routes() -> set[tuple[str, str]]:
    return {(route.method, route.path) for route in (*app._static_routes, *app._dynamic_routes)}


def test_every_registered_route_has_a_rule_and_every_rule_a_route() -> None:
    """Deny by default would refuse a new route to everyone: this names the route to give a rule instead."""
    registered = registered_routes()
    assert len(registered) >= 30
    assert sorted(registered - set(ROUTES)) == [], "routes without a rule in firebell/domain/access.py ROUTES"
    assert sorted(set(ROUTES) - registered) == [], "rules for routes the API does not register"


def test_a_route_without_a_rule_is_refused_to_everyone_even_a_machine() -> None:
    for caller in (Caller.machine("arn:aws:iam::123456789012:user/ci"), person(*ALL_ROLES), Caller.nobody()):
        decision = decide("POST", "/incidents/<incident_id>/teleport", caller)
        assert (decision.status, decision.code) == (403, "forbidden"), caller
        assert "no access rule" in decision.message


def test_what_each_role_may_do_as_docs_access_md_says() -> None:
    """The roles table of docs/access.md, route by route for the everyday ones (the full walk is
    tests/integration/test_access.py)."""
    may = {
        Role.VIEWER: {
            ("GET", "/incidents"),
            ("GET", "/incidents/<incident_id>"),
            ("GET", "/schedules/<schedule_id>/on-call"),
        },
        Role.REPORTER: {("POST", "/incidents"), ("GET", "/incidents"), ("GET", "/incidents/<incident_id>")},
        Role.RESPONDER: {
            ("POST", "/incidents"),
            ("GET", "/incidents"),
            ("POST", ACK),
            ("POST", "/incidents/<incident_id>/reopen"),
        },
        Role.INCIDENT_MANAGER: {
            ("POST", ACK),
            ("POST", "/incidents/<incident_id>/updates"),
            ("POST", "/incidents/<incident_id>/review"),
        },
        Role.ADMIN: set(ROUTES),
    }
    may_not = {
        Role.VIEWER: {("POST", "/incidents"), ("POST", ACK), ("GET", "/admin/directory")},
        Role.REPORTER: {("POST", ACK), ("GET", "/schedules/<schedule_id>/on-call")},
        Role.RESPONDER: {("POST", "/incidents/<incident_id>/updates"), ("PUT", "/admin/<kind>/<entry_id>")},
        Role.INCIDENT_MANAGER: {("GET", "/admin/directory"), ("DELETE", "/admin/<kind>/<entry_id>")},
        Role.ADMIN: set(),
    }
    for role in Role:
        for method, path in may[role]:
            assert decide(method, path, person(role), local_runtime=True).allowed, (role, method, path)
        for method, path in may_not[role]:
            assert decide(method, path, person(role)).status == 403, (role, method, path)


def test_a_refusal_names_the_callers_roles_and_the_ones_needed() -> None:
    decision = decide("POST", "/incidents/<incident_id>/updates", person(Role.RESPONDER, Role.VIEWER))
    assert (decision.status, decision.code) == (403, "forbidden")
    assert (
        decision.message == "viewer, responder may not post stakeholder updates; needs one of incident_manager, admin"
    )
    assert decide("POST", ACK, person()).message.startswith("no role may not acknowledge incidents")


def test_nobody_is_401_and_says_why() -> None:
    assert (decide("GET", "/incidents", Caller.nobody()).status, decide("GET", "/incidents", Caller.nobody()).code) == (
        401,
        "unauthenticated",
    )
    expired = decide("GET", "/incidents", Caller.nobody("the session token has expired"))
    assert expired.status == 401 and expired.message.startswith("the session token has expired: sign in")


def test_a_machine_may_call_every_route_but_a_persons_own_and_acts_as_its_principal() -> None:
    machine = Caller.machine("arn:aws:iam::123456789012:role/deployer")
    refused = {
        (method, path) for method, path in ROUTES if not decide(method, path, machine, local_runtime=True).allowed
    }
    # (a person's own: their calendar feed, how they are reached, their contact methods)
    assert refused == {(m, "/me/calendar-feed") for m in ("GET", "POST", "DELETE")} | {
        ("GET", "/me/notifications"),
        ("PUT", "/me/notification-rules"),
        ("POST", "/me/contact-methods"),
        ("POST", "/me/contact-methods/verify"),
    }
    assert "only a signed-in person" in decide("POST", "/me/calendar-feed", machine).message
    assert machine.actor == "iam:arn:aws:iam::123456789012:role/deployer"


def test_a_signed_in_stranger_is_403_not_in_directory() -> None:
    decision = decide("GET", "/auth/me", Caller.stranger("mallory@example.com"))
    assert (decision.status, decision.code) == (403, "not_in_directory")
    assert "'mallory@example.com' is no person of the directory" in decision.message


def test_public_routes_need_nothing_and_local_ones_exist_only_locally() -> None:
    assert decide("POST", "/v2/enqueue", Caller.nobody()).allowed
    assert decide("POST", "/ack/<token>", Caller.nobody()).allowed
    assert decide("POST", "/auth/local/sign-in", Caller.nobody(), local_runtime=True).allowed
    deployed = decide("POST", "/auth/local/sign-in", Caller.nobody(), local_runtime=False)
    assert (deployed.status, deployed.code) == (404, "local_only")
    assert all(
        isinstance(rule, Public)
        for (_, path), rule in ROUTES.items()
        if path.startswith(("/auth/local/", "/v2/", "/v1/", "/ack/"))
    )


def test_a_reporter_reads_and_reopens_only_their_own_reports() -> None:
    reporter = person(Role.REPORTER)
    for method, path in (
        ("GET", "/incidents/<incident_id>"),
        ("GET", "/incidents/<incident_id>/timeline"),
        ("POST", "/incidents/<incident_id>/reopen"),
    ):
        decision = decide(method, path, reporter)
        assert decision.allowed and decision.own_only, path
        assert owns_incident(reporter, decision.rule, reporter="pat", review_owner="pat")
        assert not owns_incident(reporter, decision.rule, reporter="bob", review_owner="pat")
    assert not decide("GET", "/incidents/<incident_id>", person(Role.REPORTER, Role.VIEWER)).own_only


def test_a_responder_completes_only_the_reviews_they_own() -> None:
    responder = person(Role.RESPONDER)
    decision = decide("POST", "/incidents/<incident_id>/review", responder)
    assert decision.allowed and decision.own_only
    assert owns_incident(responder, decision.rule, reporter="bob", review_owner="pat")
    assert not owns_incident(responder, decision.rule, reporter="pat", review_owner="bob")
    assert not owns_incident(responder, decision.rule, reporter="pat", review_owner=None)
    assert not decide("POST", "/incidents/<incident_id>/review", person(Role.INCIDENT_MANAGER)).own_only


def test_roles_add_up() -> None:
    both = person(Role.VIEWER, Role.REPORTER)
    assert decide("POST", "/incidents", both).allowed and decide("GET", "/incidents", both).allowed
    assert all(isinstance(rule, Public) or Role.ADMIN in rule.roles for rule in ROUTES.values())
    workers = [rule for rule in ROUTES.values() if isinstance(rule, Allowed) and Role.RESPONDER in rule.roles]
    assert all(Role.INCIDENT_MANAGER in rule.roles for rule in workers)


def test_nobody_and_strangers_are_no_actors() -> None:
    assert Caller.of_person("alice", [Role.RESPONDER]).actor == "alice"
    for caller in (Caller.nobody(), Caller.stranger("x@example.com")):
        with pytest.raises(ValueError):
            _ = caller.actor


# --- Cognito groups ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "claim",
    [
        "responder,admin",
        "responder, admin",
        "[responder admin]",
        "[responder,admin]",
        '["responder","admin"]',
        ["responder", "admin"],
        "responder admin",
    ],
)
def test_cognito_groups_however_api_gateway_wrote_them(claim) -> None:
    assert cognito_groups(claim) == ["responder", "admin"]


def test_one_group_none_and_other_groups() -> None:
    assert (
        cognito_groups("viewer") == ["viewer"]
        and cognito_groups(None) == []
        and cognito_groups("") == []
        and cognito_groups("[]") == []
    )
    assert roles_from_groups(["us-east-1_Pool_Google", "responder", "admins"]) == {Role.RESPONDER}


# --- sessions ---------------------------------------------------------------------------------------


def test_a_session_carries_the_person_and_roles_for_twelve_hours() -> None:
    token, session = issue("alice", [Role.RESPONDER, Role.ADMIN], SECRET, NOW)
    assert session.expires_at == NOW + timedelta(hours=SESSION_HOURS)
    read = verify(token, SECRET, NOW + timedelta(hours=SESSION_HOURS) - timedelta(seconds=1))
    assert (read.person, read.roles) == ("alice", {Role.RESPONDER, Role.ADMIN})
    with pytest.raises(InvalidSession, match="expired"):
        verify(token, SECRET, NOW + timedelta(hours=SESSION_HOURS))


@pytest.mark.parametrize(
    "tamper",
    [
        lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),  # the signature
        lambda t: "x" + t,  # the payload
        lambda t: "",
        lambda t: "not-a-token",
        lambda t: "a" * 5000,
    ],
)
def test_a_session_token_altered_or_not_ours_is_refused(tamper) -> None:
    token, _ = issue("alice", [Role.RESPONDER], SECRET, NOW)
    with pytest.raises(InvalidSession, match="not one this runtime signed"):
        verify(tamper(token), SECRET, NOW)


def test_a_session_signed_with_another_secret_is_refused() -> None:
    token, _ = issue("carol", [Role.ADMIN], b"another state folder's secret", NOW)
    with pytest.raises(InvalidSession):
        verify(token, SECRET, NOW)


# --- reading the caller off the event -----------------------------------------------------------------


class _Directory:
    def person_by_email(self, email: str):
        from firebell.domain.directory import Person

        people = {
            "bob@example.com": Person(id="bob", name="Bob", email="bob@example.com", roles=[]),
            "ida@example.com": Person(id="ida", name="Ida", email="ida@example.com", roles=[Role.INCIDENT_MANAGER]),
        }
        return people.get(email.casefold())


def sources(local_runtime: bool = True, secret: bytes | None = SECRET) -> IdentitySources:
    return IdentitySources(
        local_runtime=local_runtime, session_secret=secret, directory=lambda: _Directory(), now=lambda: NOW
    )


def event(headers: dict[str, str] | None = None, **context) -> dict:
    return {"headers": headers or {}, "requestContext": {"identity": {"sourceIp": "203.0.113.9"}, **context}}


def test_cognito_claims_name_the_directory_person_by_email_with_their_groups_as_roles() -> None:
    caller = caller_of(
        event(authorizer={"claims": {"email": "Bob@Example.com", "cognito:groups": "responder,viewer"}}), sources()
    )
    assert (caller.kind, caller.person, caller.roles) == ("person", "bob", {Role.RESPONDER, Role.VIEWER})
    stranger = caller_of(
        event(authorizer={"claims": {"email": "eve@example.com", "cognito:groups": "admin"}}), sources()
    )
    assert (stranger.kind, stranger.email) == ("stranger", "eve@example.com")
    assert caller_of(event(authorizer={"claims": {"sub": "x", "token_use": "access"}}), sources()).kind == "stranger"


def test_the_directorys_roles_add_to_the_groups_so_people_from_an_idp_need_no_cognito_group() -> None:
    federated = caller_of(event(authorizer={"claims": {"email": "ida@example.com"}}), sources())
    assert (federated.person, federated.roles) == ("ida", {Role.INCIDENT_MANAGER})
    both = caller_of(event(authorizer={"claims": {"email": "ida@example.com", "cognito:groups": "[admin]"}}), sources())
    assert both.roles == {Role.INCIDENT_MANAGER, Role.ADMIN}
    nothing = caller_of(event(authorizer={"claims": {"email": "bob@example.com"}}), sources())
    assert nothing.roles == frozenset()  # `roles: []` in the directory and no group: only paged


def test_an_iam_principal_is_a_machine() -> None:
    caller = caller_of(
        event(identity={"userArn": "arn:aws:iam::123456789012:user/ci", "sourceIp": "1.2.3.4"}), sources()
    )
    assert (caller.kind, caller.actor) == ("machine", "iam:arn:aws:iam::123456789012:user/ci")


@pytest.mark.parametrize(
    "headers",
    [
        lambda t: {"Authorization": f"Bearer {t}"},
        lambda t: {"authorization": f"bearer {t}"},
        lambda t: {"Cookie": f"theme=dark; firebell_session={t}; other=1"},
    ],
)
def test_a_local_session_is_read_from_the_bearer_header_or_the_cookie(headers) -> None:
    token, _ = issue("alice", [Role.RESPONDER], SECRET, NOW)
    caller = caller_of(event(headers(token)), sources())
    assert (caller.kind, caller.person, caller.roles) == ("person", "alice", {Role.RESPONDER})


def test_a_local_session_counts_only_in_the_local_runtime() -> None:
    """Deployed, API Gateway's authorizers are the only way in: a token of the local kind is nobody's."""
    token, _ = issue("alice", [Role.ADMIN], SECRET, NOW)
    assert caller_of(event({"Authorization": f"Bearer {token}"}), sources(local_runtime=False)).kind == "nobody"
    assert caller_of(event({"Authorization": f"Bearer {token}"}), sources(secret=None)).kind == "nobody"


def test_an_invalid_or_expired_session_is_nobody_saying_why() -> None:
    token, _ = issue("alice", [Role.ADMIN], SECRET, NOW - timedelta(hours=13))
    assert caller_of(event({"Authorization": f"Bearer {token}"}), sources()).problem == "the session token has expired"
    assert (
        caller_of(event({"Authorization": "Bearer forged"}), sources()).problem
        == "the session token is not one this runtime signed"
    )
    assert caller_of(event({"Authorization": "Basic YWxpY2U6"}), sources()) == Caller.nobody()
    assert caller_of({}, sources()) == Caller.nobody()


def test_session_token_prefers_the_header_and_ignores_other_cookies() -> None:
    assert session_token({"Authorization": "Bearer a", "Cookie": "firebell_session=b"}) == "a"
    assert session_token({"Cookie": "firebell_sessionx=b; x=firebell_session"}) is None
    assert session_token({}) is None


def test_docs_access_md_shows_the_route_table_as_it_is() -> None:
    text = (Path(__file__).parents[2] / "docs" / "access.md").read_text(encoding="utf-8")
    shown = text.split("<!-- route-table -->\n", 1)[1].split("<!-- /route-table -->", 1)[0]
    assert shown == route_table_markdown(), (
        "docs/access.md: paste `python -m firebell.domain.access` between the route-table markers"
    )
