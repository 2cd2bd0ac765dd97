"""The error model: every exception firebell raises on purpose, in one place.

- Each is explicitly *permanent* (no retry can fix it: a queued message goes to its dead-letter queue, a
  request gets a 4xx) or *transient* (a retry may succeed: throttling, timeouts, a lost optimistic-lock race).
  domain/failures.py also classifies what AWS SDKs raise (`is_transient`, `classify`).
- `HTTP_ANSWERS` is the one exception → HTTP status table; functions/api renders every refusal from it.
- `field_problems` turns a pydantic ValidationError into problems that name their fields, for every caller
  (API answers, dead-letter reasons, config files, admin changes).

Pure: no AWS SDK is imported.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError


@dataclass(frozen=True, slots=True)
class FieldProblem:
    field: str  # `body.title`, `query.at`, `header.If-Match`, `teams[0].manager`, `directory.people['bob'].phone`
    problem: str


# --- the two families -----------------------------------------------------------------------------


class FirebellError(Exception):
    """Raised on purpose. `transient`: the same operation may succeed if retried; `retry_in_place`: at once, in the
    same invocation (firebell/batch.py), rather than only when the queue hands the message out again."""

    transient: ClassVar[bool] = False
    retry_in_place: bool = True  # (an instance may say otherwise: usecases/chat.py's ChatUndelivered)


class PermanentError(FirebellError):
    """No retry can fix it."""


class TransientError(FirebellError):
    """A retry may succeed (a race lost, a resource busy)."""

    transient = True


# --- transient ------------------------------------------------------------------------------------


class ConcurrentUpdate(TransientError):
    """Another writer saved first (optimistic lock or condition lost); the caller reloads and retries."""


class HeldBack(TransientError):
    """An alert's signal not applied because an earlier one of the same alert in its batch failed: both come back
    on the redelivery, so a recovery never overtakes the alarm it recovers from."""

    def __init__(self, dedup_key: str) -> None:
        super().__init__(f"held back behind an earlier signal of {dedup_key[:200]!r} in this batch that failed")


# --- permanent: requests refused by the domain ----------------------------------------------------


class DomainError(PermanentError):
    """A request the domain refuses, with a message meant for the caller."""


class IncidentNotFound(DomainError):
    def __init__(self, incident_id: str) -> None:
        super().__init__(f"incident {incident_id[:100]!r} not found")
        self.incident_id = incident_id


class UnknownSchedule(DomainError):
    def __init__(self, schedule_id: str) -> None:
        super().__init__(f"schedule {schedule_id!r} not found")


class PersonNotFound(DomainError):
    """A person the path names (GET /people/<id>/…) is not in the directory. (A person a body names is
    UnknownPerson: a 422 on that field.)"""

    def __init__(self, person_id: str) -> None:
        super().__init__(f"person {person_id[:128]!r} not found")


class UnknownFeed(DomainError):
    def __init__(self) -> None:
        super().__init__(
            "no calendar feed at this address: it was replaced or revoked, or never existed; "
            "make a new one in the console (or POST /me/calendar-feed)"
        )


class UnknownPerson(DomainError):
    def __init__(self, person: str, field: str = "body.to") -> None:
        super().__init__(f"unknown person {person[:128]!r}")
        self.person = person
        self.problems = [FieldProblem(field, str(self))]


class UnknownService(DomainError):
    """A service a person or tool names (POST /incidents, POST /drills) that the directory does not have. (An alert
    from an unknown service is no refusal: it goes to the default team, as the monitoring tool cannot be asked.)"""

    SHOWN = 20  # services listed in the message; GET /directory has them all

    def __init__(self, service: str, known: Sequence[str], field: str = "body.service") -> None:
        listed = ", ".join(sorted(known)[: self.SHOWN]) or "(none)"
        more = f" and {len(known) - self.SHOWN} more" if len(known) > self.SHOWN else ""
        problem = f"unknown service {service[:128]!r}: use one of {listed}{more} (GET /directory lists them)"
        super().__init__(problem)
        self.service = service
        self.problems = [FieldProblem(field, problem)]


class InvalidTransition(DomainError):
    """An action that the incident's current status does not allow."""

    def __init__(self, reference: str, status: str, action: str, reason: str) -> None:
        super().__init__(f"cannot {action} {reference}: {reason}")
        self.status = status
        self.action = action


class InvalidAckLink(DomainError):
    """An acknowledgement link that is forged, expired, used, or for an incident that moved on."""


class UnknownRoutingKey(DomainError):
    def __init__(self) -> None:
        super().__init__("no service has this routing key")
        self.problems = [FieldProblem("path.routing_key", "is not the integration key of any service")]


class DemoRoutingKeyRefused(DomainError):
    """A routing key marked demo (published in the docs) sent to a deployed firebell."""

    def __init__(self) -> None:
        super().__init__(
            "this is a demo routing key, accepted only by the local runtime: "
            "send a key of your own (python -m firebell.keys new, docs/security.md)"
        )


class IdempotencyKeyReused(DomainError):
    """The Idempotency-Key was used before with a different request body."""


# --- permanent: who may call (domain/access.py decides; docs/access.md) -------------------------------------


class Unauthenticated(DomainError):
    """No credentials, or ones that are invalid or expired."""


class Forbidden(DomainError):
    """Authenticated, but none of the caller's roles may call the route (or not on this incident)."""


class NotInDirectory(Forbidden):
    """Signed in, but no directory person has the token's email."""


class LocalOnly(DomainError):
    """A route the local runtime alone serves (its pick-a-person sign-in)."""


# --- permanent: directory administration ------------------------------------------------------------


class DirectoryProblem(DomainError):
    def __init__(self, message: str, problems: list[FieldProblem]) -> None:
        super().__init__(message)
        self.problems = problems


class InvalidDirectory(DirectoryProblem):
    """The directory a change would make is not valid; `problems` name paths inside it."""


class UnknownKind(DomainError):
    def __init__(self, kind: str, known: Iterable[str]) -> None:
        super().__init__(f"no such kind {kind!r}: use one of {', '.join(known)}")


class EntryNotFound(DomainError):
    def __init__(self, kind: str, entry_id: str) -> None:
        super().__init__(f"{kind} {entry_id!r} not found")


class VersionMismatch(DomainError):
    """If-Match named another version than the entry has now."""


class DirectoryBusy(TransientError):
    """Other admin changes kept landing first; the caller may simply try again."""


# --- permanent: inputs that are wrong in themselves -------------------------------------------------


class InvalidPayload(PermanentError, ValueError):
    """A payload or request that is wrong in itself; `problems` name the fields at fault."""

    def __init__(self, message: str | None = None, problems: Sequence[FieldProblem] = ()) -> None:
        super().__init__(message or "; ".join(f"{p.field}: {p.problem}" for p in problems))
        self.problems = list(problems)


class InvalidJson(InvalidPayload):
    pass


class PayloadTooLarge(InvalidPayload):
    pass


class InvalidRequest(InvalidPayload):
    """Well-formed, but the content is wrong (types, missing fields, limits)."""


class InvalidHeader(InvalidPayload):
    pass


class InvalidEntry(InvalidRequest):
    """An admin change that is wrong on its own (types, missing fields, id mismatch)."""


class UnsupportedMediaType(InvalidPayload):
    """A body in a format the API does not read (it reads JSON only)."""

    def __init__(self, content_type: str) -> None:
        problem = f"is {content_type[:100]!r}: send application/json"
        super().__init__(
            f"unsupported Content-Type {content_type[:100]!r}: the API reads JSON",
            [FieldProblem("header.Content-Type", problem)],
        )


class TooManyRequests(DomainError):
    """The caller must wait before asking again (e.g. another verification code)."""


class MethodNotAllowed(DomainError):
    """The path exists, but not with this method; `allowed` goes into the Allow header."""

    def __init__(self, method: str, path: str, allowed: Sequence[str]) -> None:
        super().__init__(f"{method[:20]} is not allowed on {path[:200]}: use {', '.join(allowed)}")
        self.allowed = list(allowed)


class InvalidCursor(InvalidPayload):
    def __init__(self, cursor: str, reason: str = "is not one this API returned") -> None:
        super().__init__(f"cursor {reason}", [FieldProblem("query.cursor", reason)])
        self.cursor = cursor


class PermanentMessageError(PermanentError):
    """A queued message that no retry can fix: it goes to the dead-letter queue with this reason."""


class OnceKeyUsed(InvalidAckLink):
    """A single-use key (an acknowledgement link's nonce) was used before."""

    def __init__(self, key: str) -> None:
        super().__init__("this acknowledgement link was already used")
        self.key = key


class IdempotencyKeyTaken(Exception):
    """Another request with the same Idempotency-Key opened an incident first; the caller returns that one."""

    def __init__(self, key: str) -> None:
        super().__init__("idempotency key already bound to an incident")
        self.key = key


class ConfigError(PermanentError, ValueError):
    """A configuration file that cannot be read or does not validate (names the file and the path in it)."""


# --- one exception → HTTP status table ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HttpAnswer:
    status: HTTPStatus
    code: str  # the `error` member of the JSON body
    field: str | None = None  # the request field the refusal is about, when it is always the same one


HTTP_ANSWERS: dict[type[Exception], HttpAnswer] = {
    IncidentNotFound: HttpAnswer(HTTPStatus.NOT_FOUND, "incident_not_found"),
    UnknownSchedule: HttpAnswer(HTTPStatus.NOT_FOUND, "schedule_not_found"),
    PersonNotFound: HttpAnswer(HTTPStatus.NOT_FOUND, "person_not_found", "path.person_id"),
    UnknownFeed: HttpAnswer(HTTPStatus.NOT_FOUND, "feed_not_found", "path.token"),
    UnknownPerson: HttpAnswer(HTTPStatus.UNPROCESSABLE_ENTITY, "unknown_person", "body.to"),
    UnknownService: HttpAnswer(HTTPStatus.UNPROCESSABLE_ENTITY, "unknown_service", "body.service"),
    InvalidTransition: HttpAnswer(HTTPStatus.CONFLICT, "invalid_transition"),
    # A link is the only thing a person holds: once it cannot acknowledge, it is gone for good.
    InvalidAckLink: HttpAnswer(HTTPStatus.GONE, "invalid_ack_link"),
    UnknownRoutingKey: HttpAnswer(HTTPStatus.NOT_FOUND, "unknown_routing_key"),
    # The key is known but not valid here: forbidden, not unknown (the sender should learn why).
    DemoRoutingKeyRefused: HttpAnswer(HTTPStatus.FORBIDDEN, "demo_routing_key"),
    IdempotencyKeyReused: HttpAnswer(
        HTTPStatus.UNPROCESSABLE_ENTITY, "idempotency_key_reused", "header.Idempotency-Key"
    ),
    InvalidDirectory: HttpAnswer(HTTPStatus.UNPROCESSABLE_ENTITY, "invalid_directory"),
    UnknownKind: HttpAnswer(HTTPStatus.NOT_FOUND, "unknown_kind", "path.kind"),
    EntryNotFound: HttpAnswer(HTTPStatus.NOT_FOUND, "entry_not_found"),
    VersionMismatch: HttpAnswer(HTTPStatus.PRECONDITION_FAILED, "version_mismatch", "header.If-Match"),
    DirectoryBusy: HttpAnswer(HTTPStatus.CONFLICT, "concurrent_update"),
    ConcurrentUpdate: HttpAnswer(HTTPStatus.CONFLICT, "concurrent_update"),
    InvalidJson: HttpAnswer(HTTPStatus.BAD_REQUEST, "invalid_json", "body"),
    PayloadTooLarge: HttpAnswer(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "payload_too_large", "body"),
    InvalidRequest: HttpAnswer(HTTPStatus.UNPROCESSABLE_ENTITY, "validation_failed"),
    InvalidHeader: HttpAnswer(HTTPStatus.BAD_REQUEST, "invalid_header"),
    InvalidCursor: HttpAnswer(HTTPStatus.BAD_REQUEST, "invalid_cursor", "query.cursor"),
    UnsupportedMediaType: HttpAnswer(
        HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", "header.Content-Type"
    ),
    MethodNotAllowed: HttpAnswer(HTTPStatus.METHOD_NOT_ALLOWED, "method_not_allowed"),
    TooManyRequests: HttpAnswer(HTTPStatus.TOO_MANY_REQUESTS, "too_many_requests"),
    Unauthenticated: HttpAnswer(HTTPStatus.UNAUTHORIZED, "unauthenticated"),
    Forbidden: HttpAnswer(HTTPStatus.FORBIDDEN, "forbidden"),
    NotInDirectory: HttpAnswer(HTTPStatus.FORBIDDEN, "not_in_directory"),
    LocalOnly: HttpAnswer(HTTPStatus.NOT_FOUND, "local_only"),
}


class FieldError(BaseModel):
    field: str = Field(description="Where: `body.title`, `query.cursor`, `header.Content-Type`, `path.kind`, …")
    problem: str


class ErrorBody(BaseModel):
    """Every refusal's body, from the handler (http_body below) and from the gateway in front of it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "error": "validation_failed",
                    "message": "invalid request: body.title",
                    "fields": [{"field": "body.title", "problem": "Field required"}],
                }
            ]
        }
    )

    error: str = Field(
        description="What went wrong, as a stable code: validation_failed, invalid_json, incident_not_found, …"
    )
    message: str = Field(description="The same for a person to read")
    fields: list[FieldError] | None = Field(None, description="The request fields at fault, when there are any")


def http_answer(error: BaseException) -> HttpAnswer | None:
    """The row for the error's class or its nearest ancestor in the table; None: not a refusal (a 500)."""
    for cls in type(error).__mro__:
        if cls in HTTP_ANSWERS:
            return HTTP_ANSWERS[cls]
    return None


def error_body(code: str, message: str, problems: Sequence[FieldProblem] = ()) -> dict[str, Any]:
    """An ErrorBody as JSON-ready data: {"error", "message", "fields"?}."""
    fields = [FieldError(field=p.field, problem=p.problem) for p in problems] or None
    return ErrorBody(error=code, message=message, fields=fields).model_dump(exclude_none=True)


def http_body(error: BaseException, answer: HttpAnswer) -> dict[str, Any]:
    """The ErrorBody for a refusal: fields from the error's own problems, else the row's field."""
    problems: list[FieldProblem] | None = getattr(error, "problems", None)
    if not problems and answer.field:
        problems = [FieldProblem(answer.field, str(error))]
    return error_body(answer.code, str(error), problems or ())


# --- pydantic errors → named fields ---------------------------------------------------------------------


def field_path(loc: Iterable[Any]) -> str:
    """("teams", 0, "manager") → teams[0].manager"""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def field_problems(
    error: ValidationError | Sequence[dict[str, Any]], prefix: Sequence[str | int] = ()
) -> list[FieldProblem]:
    """Each problem of a pydantic ValidationError (or its `.errors()` list), named by its field path under `prefix`."""
    details = error if isinstance(error, Sequence) else error.errors(include_url=False, include_input=False)
    return [
        FieldProblem(
            field_path((*prefix, *detail["loc"])) or "(top level)", str(detail["msg"]).removeprefix("Value error, ")
        )
        for detail in details
    ]


def describe(error: BaseException) -> str:
    """One line a person can act on: the error's type and, for a ValidationError, each offending field."""
    if isinstance(error, ValidationError):
        problems = "; ".join(f"{p.field}: {p.problem}" for p in field_problems(error))
        return f"ValidationError ({error.title}): {problems}"
    return f"{type(error).__name__}: {error}"
