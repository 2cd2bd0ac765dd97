"""The commands: each parses its own flags and makes one or two API calls (the API decides; the CLI shows)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from .client import Api, CliError, api_path
from .login import login_cognito, login_local, whoami
from .output import INCIDENT_DETAIL, emit
from .profiles import Profile, ProfileError, checked_endpoint, save_profile
from .report_commands import register_reports

if TYPE_CHECKING:
    from firebell.domain.directory import Directory

INCIDENT_COLUMNS = ("reference", "status", "priority", "service", "team", "assignee", "opened_at", "title")
TIMELINE_COLUMNS = ("at", "kind", "actor", "message")
DIRECTORY_KINDS = (
    "people",
    "schedules",
    "escalation_policies",
    "teams",
    "services",
    "problems",
    "webhooks",
    "chat_channels",
)


def _incident_action(action: str, *body_fields: str) -> Callable[[argparse.Namespace, Api, TextIO], None]:
    def run(args: argparse.Namespace, api: Api, out: TextIO) -> None:
        body = {name: getattr(args, name) for name in body_fields if getattr(args, name, None) is not None}
        answer = api.call("POST", api_path("incidents", args.incident, action), body)
        if isinstance(answer, dict) and "reference" in answer:
            emit(answer, args.output, out, detail=INCIDENT_DETAIL)
        elif args.output == "table" and isinstance(answer, dict) and ("kind" in answer or "items" in answer):
            # (a note or a stakeholder update answers with what it put on the timeline: shown as the timeline is)
            emit(answer.get("items", [answer]), args.output, out, columns=TIMELINE_COLUMNS)
        else:
            emit(answer, args.output, out)

    return run


def register(sub: argparse._SubParsersAction[Any]) -> None:
    _register_session(sub)
    _register_incidents(sub)
    _register_oncall(sub)
    register_reports(sub)
    _register_config_and_admin(sub)


# --- signing in and profiles --------------------------------------------------------------------


def _register_session(sub: argparse._SubParsersAction[Any]) -> None:
    login = sub.add_parser("login", help="sign in: --as <person> locally, the hosted sign-in for a deployed console")
    login.add_argument("--as", dest="person", help="local runtime: the person of the config to act as")
    login.set_defaults(run=_login)
    sub.add_parser("logout", help="forget this profile's sign-in").set_defaults(run=_logout)
    sub.add_parser("whoami", help="who the API takes you for, and your roles").set_defaults(
        run=lambda a, api, out: emit(whoami(api), a.output, out, detail=("person", "name", "kind", "roles"))
    )
    profile = sub.add_parser("profile", help="named endpoints: set or show").add_subparsers(
        dest="action", required=True
    )
    put = profile.add_parser("set", help="create or change a profile")
    put.add_argument("name")
    put.add_argument("--endpoint", required=True)
    put.add_argument("--auth", choices=("local", "sigv4", "cognito"), default="local")
    put.add_argument("--aws-profile")
    put.add_argument("--region")
    put.set_defaults(run=_profile_set)
    profile.add_parser("show", help="the profile in use").set_defaults(
        run=lambda a, api, out: emit(
            vars(api.profile), a.output, out, detail=("name", "endpoint", "auth", "aws_profile", "region")
        )
    )


def _login(args: argparse.Namespace, api: Api, out: TextIO) -> None:
    profile = api.profile
    if profile.auth == "sigv4":
        print(
            f"profile {profile.name} signs each request with AWS profile {profile.aws_profile or 'default'}: nothing to sign in to",
            file=out,
        )
        return
    if profile.auth == "local":
        if not args.person:
            raise ProfileError("the local runtime signs in a person of its config: firebell login --as <person id>")
        login_local(profile, api.tokens, args.person)
    else:
        login_cognito(profile, api.tokens, say=lambda text: print(text, file=sys.stderr))
    me = whoami(api)
    print(
        f"signed in as {me.get('person')} ({', '.join(me.get('roles') or []) or 'no roles'}) on {api.base_url}",
        file=out,
    )


def _logout(args: argparse.Namespace, api: Api, out: TextIO) -> None:
    forgot = api.tokens.forget(api.profile.name)
    print("signed out" if forgot else "was not signed in", file=out)


def _profile_set(args: argparse.Namespace, api: Api, out: TextIO) -> None:
    endpoint = checked_endpoint(args.endpoint, "--endpoint")
    path = save_profile(Profile(args.name, endpoint, args.auth, args.aws_profile, args.region))
    print(f"profile {args.name} saved in {path}", file=out)


# --- incidents --------------------------------------------------------------------------------------


def _register_incidents(sub: argparse._SubParsersAction[Any]) -> None:
    incidents = sub.add_parser("incidents", help="list, show, timeline").add_subparsers(dest="action", required=True)
    listing = incidents.add_parser("list", help="newest first")
    listing.add_argument("--status")
    listing.add_argument("--priority")
    listing.add_argument("--team")
    listing.add_argument(
        "--reporter", help="who reported them: a person's id, or me (a reporter's list is always their own)"
    )
    listing.add_argument("--limit", type=int, default=25)
    listing.add_argument("--all", action="store_true", help="follow the cursor to the last page")
    listing.set_defaults(run=_list_incidents)
    show = incidents.add_parser("show", help="one incident, by INC- reference or id")
    show.add_argument("incident")
    show.set_defaults(
        run=lambda a, api, out: emit(
            api.call("GET", api_path("incidents", a.incident)), a.output, out, detail=INCIDENT_DETAIL
        )
    )
    timeline = incidents.add_parser("timeline", help="every change and notification, oldest first")
    timeline.add_argument("incident")
    timeline.set_defaults(
        run=lambda a, api, out: emit(
            api.call("GET", api_path("incidents", a.incident, "timeline"))["items"]
            if a.output == "table"
            else api.call("GET", api_path("incidents", a.incident, "timeline")),
            a.output,
            out,
            columns=TIMELINE_COLUMNS,
        )
    )

    actions: list[tuple[str, str, str, tuple[tuple[str, dict[str, Any]], ...]]] = [
        ("ack", "acknowledge", "acknowledge: paging stops", ()),
        ("resolve", "resolve", "resolve, with notes", (("--notes", {"dest": "resolution_notes", "required": True}),)),
        ("note", "notes", "add a note to the timeline", (("text", {}),)),
        ("escalate", "escalate", "page the next level now", (("--reason", {}),)),
        (
            "reassign",
            "reassign",
            "reassign to a person, who is paged",
            (("--to", {"required": True}), ("--reason", {})),
        ),
        ("hold", "hold", "on hold: SLA clocks pause", (("--reason", {}),)),
        ("resume", "resume", "off hold: SLA clocks run again", ()),
        ("reopen", "reopen", "reopen a resolved incident", (("--reason", {}),)),
        ("update", "updates", "post a stakeholder update", (("message", {}),)),
        ("review", "review", "complete the post-incident review", (("--summary", {"required": True}),)),
    ]
    for name, action, help_text, options in actions:
        command = sub.add_parser(name, help=help_text)
        command.add_argument("incident", help="INC- reference or id")
        for flag, settings in options:
            command.add_argument(flag, **settings)
        body_fields = tuple(settings.get("dest") or flag.lstrip("-").replace("-", "_") for flag, settings in options)
        command.set_defaults(run=_incident_action(action, *body_fields))

    report = sub.add_parser("report", help="report an incident (self-service)")
    report.add_argument("title")
    report.add_argument("--description", default="")
    report.add_argument("--service")
    report.add_argument("--impact", choices=("high", "medium", "low"))
    report.add_argument("--urgency", choices=("high", "medium", "low"))
    report.add_argument("--idempotency-key", help="the same key twice opens one incident (safe to retry)")
    report.set_defaults(run=_report)


def _list_incidents(args: argparse.Namespace, api: Api, out: TextIO) -> None:
    query = {
        "status": args.status,
        "priority": args.priority,
        "team": args.team,
        "reporter": args.reporter,
        "limit": args.limit,
    }
    items: list[dict[str, Any]] = []
    page = api.call("GET", "/incidents", query=query)
    items += page["items"]
    while args.all and page.get("cursor"):
        page = api.call("GET", "/incidents", query={**query, "cursor": page["cursor"]})
        items += page["items"]
    emit(
        items if args.output == "table" else {"items": items, "cursor": page.get("cursor")},
        args.output,
        out,
        columns=INCIDENT_COLUMNS,
    )


def _report(args: argparse.Namespace, api: Api, out: TextIO) -> None:
    body = {
        "title": args.title,
        "description": args.description,
        "service": args.service,
        "impact": args.impact,
        "urgency": args.urgency,
    }
    headers = {"Idempotency-Key": args.idempotency_key} if args.idempotency_key else None
    answer = api.call("POST", "/incidents", {k: v for k, v in body.items() if v is not None}, headers=headers)
    emit(answer, args.output, out, detail=INCIDENT_DETAIL)


# --- on call ------------------------------------------------------------------------------------------


def _register_oncall(sub: argparse._SubParsersAction[Any]) -> None:
    oncall = sub.add_parser("oncall", help="who is on call, and your shifts").add_subparsers(
        dest="action", required=True
    )
    now = oncall.add_parser("now", help="on every schedule now (or --at a time)")
    now.add_argument("--at", help="an ISO 8601 time with its offset, e.g. 2026-12-24T09:00:00Z")
    now.add_argument("--schedule", help="one schedule only")
    now.set_defaults(run=_oncall_now)
    at = oncall.add_parser("at", help="on every schedule at a time")
    at.add_argument("at")
    at.add_argument("--schedule")
    at.set_defaults(run=_oncall_now)
    mine = oncall.add_parser("mine", help="your upcoming shifts (or --person someone's)")
    mine.add_argument("--person")
    mine.add_argument("--days", type=int, default=28)
    mine.set_defaults(run=_my_shifts)
    feed = oncall.add_parser(
        "feed", help="your secret calendar feed address: make (a new one replaces the old), show, revoke"
    )
    feed.add_argument("what", choices=("new", "show", "revoke"), nargs="?", default="show")
    feed.set_defaults(run=_calendar_feed)


def _calendar_feed(args: argparse.Namespace, api: Api, out: TextIO) -> None:
    method = {"new": "POST", "show": "GET", "revoke": "DELETE"}[args.what]
    answer = api.call(method, "/me/calendar-feed")
    if args.what == "revoke":
        answer = {"active": False, "created_at": None, "path": None}
    if answer.get("path"):  # a calendar app needs the whole address; it is shown this once
        answer["url"] = api.base_url.rstrip("/") + answer["path"]
    emit(answer, args.output, out, detail=("active", "created_at", "url"))


def _oncall_now(args: argparse.Namespace, api: Api, out: TextIO) -> None:
    if args.schedule:
        answer = api.call("GET", api_path("schedules", args.schedule, "on-call"), query={"at": args.at})
        rows = [{"schedule": answer["schedule"], "person": answer["person"], "at": answer["at"]}]
        rows[0]["vacancy"] = answer.get("vacancy")
    else:
        answer = api.call("GET", "/on-call", query={"at": args.at})
        rows = [{**row, "at": answer["at"]} for row in answer["schedules"]]
    emit(
        rows if args.output == "table" else answer,
        args.output,
        out,
        # (vacancy: why nobody is on call, e.g. "outside its hours"; empty when someone is)
        columns=("schedule", "person.id", "person.name", "vacancy", "at"),
    )


def _my_shifts(args: argparse.Namespace, api: Api, out: TextIO) -> None:
    person = args.person or whoami(api).get("person")
    if not person:
        raise CliError("the API knows you as no person of the directory: pass --person")
    answer = api.call("GET", api_path("people", person, "shifts"), query={"days": args.days})
    emit(
        answer["shifts"] if args.output == "table" else answer,
        args.output,
        out,
        columns=("schedule", "start", "end", "source"),
    )


# --- config and the admin directory ------------------------------------------------------------------


def _register_config_and_admin(sub: argparse._SubParsersAction[Any]) -> None:
    config = sub.add_parser("config", help="check a config folder before deploying it").add_subparsers(
        dest="action", required=True
    )
    validate = config.add_parser("validate", help="load config/ as the functions would; the first problem named")
    validate.add_argument("folder", nargs="?", default="config")
    validate.set_defaults(run=_validate_config)

    admin = sub.add_parser("admin", help="the directory through the admin API").add_subparsers(
        dest="action", required=True
    )
    listing = admin.add_parser("list", help="one kind of entry")
    listing.add_argument("kind", choices=DIRECTORY_KINDS)
    listing.set_defaults(run=lambda a, api, out: emit(api.call("GET", api_path("admin", a.kind)), a.output, out))
    get = admin.add_parser("get", help="one entry")
    get.add_argument("kind", choices=DIRECTORY_KINDS)
    get.add_argument("id")
    get.set_defaults(run=lambda a, api, out: emit(api.call("GET", api_path("admin", a.kind, a.id)), a.output, out))
    put = admin.add_parser("put", help="create or replace an entry from a JSON file (- for stdin)")
    put.add_argument("kind", choices=DIRECTORY_KINDS)
    put.add_argument("id")
    put.add_argument("file")
    put.add_argument("--if-match", help="the entry's version you read: refused if it changed since")
    put.set_defaults(run=_admin_put)
    delete = admin.add_parser("delete", help="remove an entry")
    delete.add_argument("kind", choices=DIRECTORY_KINDS)
    delete.add_argument("id")
    delete.add_argument("--if-match")
    delete.set_defaults(
        run=lambda a, api, out: emit(
            api.call(
                "DELETE", api_path("admin", a.kind, a.id), headers={"If-Match": a.if_match} if a.if_match else None
            )
            or {"deleted": a.id},
            "json",
            out,
        )
    )
    override = admin.add_parser("override", help="take or give a shift: someone on call on a schedule for a while")
    override.add_argument("schedule")
    override.add_argument("--person", required=True)
    override.add_argument("--start", required=True)
    override.add_argument("--end", required=True)
    override.set_defaults(
        run=lambda a, api, out: emit(
            api.call(
                "POST",
                api_path("admin", "schedules", a.schedule, "overrides"),
                {"person": a.person, "start": a.start, "end": a.end},
            ),
            "json",
            out,
        )
    )


def _validate_config(args: argparse.Namespace, api: Api, out: TextIO) -> None:
    from pydantic import ValidationError

    from firebell.config import load_config, load_directory

    folder = Path(args.folder)
    try:
        if (folder / "firebell.yaml").is_file() and not (folder / "rules.yaml").exists():
            # An import writes firebell.yaml alone: check it, then say what the functions need besides
            directory = load_directory(folder / "firebell.yaml")
            raise CliError(
                f"{folder}: firebell.yaml is valid ({_counts(directory)}) but has no rules.yaml beside it, which the "
                f"functions load too: copy config/rules.yaml into {folder}"
            )
        config = load_config(folder)
    except (ValidationError, ValueError, OSError) as error:
        raise CliError(f"{folder}: {error}") from None
    print(f"{folder}: valid — {_counts(config.directory)}", file=out)


def _counts(directory: Directory) -> str:
    from firebell.importing.writer import counted

    return counted(
        {
            "people": len(directory.people),
            "teams": len(directory.teams),
            "schedules": len(directory.schedules),
            "escalation_policies": len(directory.escalation_policies),
            "services": len(directory.services),
        }
    )


def _admin_put(args: argparse.Namespace, api: Api, out: TextIO) -> None:
    text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text(encoding="utf-8")
    try:
        body = json.loads(text)
    except json.JSONDecodeError as error:
        raise CliError(f"{args.file}: not JSON ({error})") from None
    headers = {"If-Match": args.if_match} if args.if_match else None
    emit(api.call("PUT", api_path("admin", args.kind, args.id), body, headers=headers), "json", out)
