"""What each person sets for themselves (docs/notification-rules.md). Included by app.py.
GET  /me/notifications               my contact methods, notification rules and codes on their way
PUT  /me/notification-rules          how pages reach me, by urgency (and my time zone, for quiet hours)
POST /me/contact-methods             a new email address or phone number: a code goes to it
POST /me/contact-methods/verify      the code: the contact method goes into the directory
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from pydantic import BaseModel, ConfigDict, Field

from firebell import wiring
from firebell.domain.contacts import ContactMethod
from firebell.domain.notification_rules import NotificationRules
from firebell.domain.text import Text

if __package__:
    from . import guard
else:  # Lambda: this folder is the asset's root
    import guard

router = Router()


class RulesUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)
    notification_rules: NotificationRules | None = Field(description="null: a page is SMS and email, as without rules")
    time_zone: Annotated[str, Text(64)] | None = Field(None, description="An IANA name; quiet hours are kept in it")


class CodeEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)
    kind: Literal["email", "phone"]
    code: Annotated[str, Text(12)]


def _me() -> str:
    return guard.caller(router).actor  # a person: these routes' rule is people_only (firebell/domain/access.py)


@router.get("/me/notifications", summary="My contact methods, notification rules, and codes on their way")
def my_notifications() -> dict[str, Any]:
    return wiring.my_contacts().show(_me())


@router.put("/me/notification-rules", summary="How pages reach me, by urgency: at once, follow-ups, quiet hours")
def set_my_rules(request: RulesUpdate) -> dict[str, Any]:
    """Takes effect within 15 s (the functions' directory cache), like an admin's change, and shows as mine."""
    return wiring.my_contacts().set_rules(_me(), request.notification_rules, request.time_zone)


@router.post(
    "/me/contact-methods",
    summary="Add or change my email or phone: a code is sent to it",
    responses={202: {"description": "The code is on its way (valid 10 minutes)"}},
)
def add_contact_method(request: ContactMethod) -> Response[dict[str, Any]]:
    """Nothing changes until the code comes back (POST /me/contact-methods/verify): a mistyped number pages nobody."""
    return Response(HTTPStatus.ACCEPTED, "application/json", wiring.my_contacts().send_code(_me(), request))


@router.post("/me/contact-methods/verify", summary="The code sent to my new email or phone: it goes into the directory")
def verify_contact_method(request: CodeEntry) -> dict[str, Any]:
    return wiring.my_contacts().verify(_me(), request.kind, request.code)
