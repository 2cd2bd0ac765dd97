"""Secret calendar feed addresses (docs/access.md). Included by app.py.

GET    /me/calendar-feed                  whether I have a feed, since when
POST   /me/calendar-feed                  a new address for my shifts (the previous one stops working)
DELETE /me/calendar-feed                  revoke mine
DELETE /people/<person_id>/calendar-feed  an admin revokes someone's (someone leaving, an address leaked)
GET    /feeds/<token>/calendar.ics        public: the address is the credential (calendar apps cannot sign in)
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponseContentModel, OpenAPIResponseContentSchema
from pydantic import BaseModel, Field

from firebell import wiring
from firebell.domain.errors import UnknownPerson

if __package__:
    from . import guard
else:  # Lambda: this folder is the asset's root
    import guard

router = Router()

_CALENDAR: dict[str, OpenAPIResponseContentSchema | OpenAPIResponseContentModel] = {
    "text/calendar": {"schema": {"type": "string"}}
}


class CalendarFeed(BaseModel):
    active: bool
    created_at: str | None = Field(description="When the current address was made")
    path: str | None = Field(
        description="The address, relative to the API's base URL: given once, when it is made "
        "(only its SHA-256 is kept); null otherwise"
    )


def _me() -> str:
    return guard.caller(router).actor  # a person: these routes' rule is people_only (firebell/domain/access.py)


@router.get("/me/calendar-feed", summary="Whether I have a secret calendar feed address, and since when")
def my_feed() -> CalendarFeed:
    return CalendarFeed(**wiring.calendar_feeds().status(_me()))


@router.post(
    "/me/calendar-feed",
    summary="Make a secret calendar feed address for my shifts (replaces the previous one)",
    responses={201: {"description": "The new address (`path`), shown this once"}},
)
def new_feed() -> Response[CalendarFeed]:
    """Subscribe a calendar app (Google Calendar, Outlook, Apple Calendar) to the API's base URL followed by
    `path`: it shows your shifts on every schedule, overrides applied. Anyone holding the address can read your
    shifts: making a new one, or DELETE, stops the old one at once."""
    feed = CalendarFeed(**wiring.calendar_feeds().issue(_me()))
    return Response[Any](
        HTTPStatus.CREATED, "application/json", feed.model_dump(mode="json"), headers={"Cache-Control": "no-store"}
    )


@router.delete(
    "/me/calendar-feed",
    summary="Revoke my calendar feed address",
    responses={204: {"description": "Revoked (or there was none)"}},
)
def revoke_my_feed() -> Response[None]:
    wiring.calendar_feeds().revoke(_me())
    return Response(HTTPStatus.NO_CONTENT, None, None)


@router.delete(
    "/people/<person_id>/calendar-feed",
    summary="Revoke a person's calendar feed address (admin)",
    responses={204: {"description": "Revoked (or there was none)"}, 422: {"description": "No such person"}},
)
def revoke_a_feed(person_id: str) -> Response[None]:
    if wiring.effective_config().directory.person(person_id) is None:
        raise UnknownPerson(person_id, field="path.person_id")
    wiring.calendar_feeds().revoke(person_id)
    return Response(HTTPStatus.NO_CONTENT, None, None)


@router.get(
    "/feeds/<token>/calendar.ics",
    summary="A person's shifts on every schedule, as an iCalendar feed (secret address)",
    responses={
        200: {"description": "The calendar", "content": _CALENDAR},
        404: {"description": "Not a current feed address (replaced, revoked, or never made)"},
    },
)
def feed_calendar(token: str, days: Annotated[int, Query(ge=1, le=366)] = 56) -> Response[str]:
    calendar = wiring.calendar_feeds().calendar(token, days)
    return Response(
        HTTPStatus.OK, "text/calendar; charset=utf-8", calendar, headers={"Cache-Control": "private, max-age=300"}
    )
