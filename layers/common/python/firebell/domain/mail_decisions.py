"""What email intake does with one received message (docs/email-intake.md). Pure.

`decide` turns a message (domain/mail.py), the address it came to and the directory into one of: ignore it (and
why), open an incident, or add a note to the incident its subject names; `may_add_note` says whether its sender
may add that note, as the API's POST /incidents/{id}/notes would.

Ignored, in this order, each with its reason: a message without a sender address; bounces (a null envelope sender,
MAILER-DAEMON or postmaster, a multipart/report delivery status); auto-replies and bulk mail (Auto-Submitted other
than `no`, X-Autoreply, X-Autorespond, Precedence bulk/junk/list, a List-Id, an out-of-office subject); loops (mail
from firebell's own sender or from one of its intake addresses); senders outside the allowed domains; and, when SES
received it, a spam or virus verdict or a sender SES could not authenticate as its From domain.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any, Literal

from .access import Caller
from .access import decide as access_decision
from .directory import Directory, Person
from .mail import InboundMail, title_of, without_quotes
from .mail_intake import EmailIntake, IntakeAddress
from .requests import IncidentCreate

TITLE_LIMIT = 1024  # as the API's IncidentCreate (domain/models.py Title)
TEXT_LIMIT = 65_536  # description and notes
AUTHSERV = "amazonses.com"  # SES names itself so in the Authentication-Results it prepends
_OUT_OF_OFFICE = re.compile(
    r"^\s*(?:out of (?:the )?office|automatic reply|auto(?:matic)?[- ]?reply|autoreply|"
    r"abwesenheitsnotiz|absence du bureau|r[ée]ponse automatique)\b",
    re.IGNORECASE,
)
_BULK = frozenset({"bulk", "junk", "list"})
_BOUNCERS = frozenset({"mailer-daemon", "postmaster"})
_METHOD = re.compile(r"\b(spf|dkim|dmarc)=(\w+)", re.IGNORECASE)


# --- what intake does with a message --------------------------------------------------------------


@dataclass(frozen=True)
class Ignored:
    kind: Literal["bounce", "auto-reply", "loop", "refused", "empty"]
    reason: str


@dataclass(frozen=True)
class OpenIncident:
    request: IncidentCreate
    idempotency_key: str  # from the Message-ID: the same message delivered twice opens one incident
    custom_details: dict[str, Any]
    links: list[dict[str, str]]


@dataclass(frozen=True)
class AddNote:
    reference: str
    by: str  # the directory person, else the sender's address
    person: Person | None
    sender: str
    text: str
    once_key: str  # from the Message-ID: the same reply delivered twice notes once


Decision = Ignored | OpenIncident | AddNote


def decide(
    mail: InboundMail, recipient: IntakeAddress | None, directory: Directory, location: str, local_runtime: bool = False
) -> Decision:
    """What to do with `mail`, received at `recipient` and stored at `location` (s3://bucket/key).
    `local_runtime`: no SES verdicts to require (the local SMTP listener adds none)."""
    intake: EmailIntake = directory.email_intake
    ignored = _unwanted(mail, intake, directory.notifications.sender) or _refused(mail, intake, local_runtime)
    if ignored:
        return ignored
    person = directory.person_by_email(mail.sender)
    by = person.id if person else mail.sender
    identity = hashlib.sha256((mail.message_id or location).encode("utf-8", "surrogatepass")).hexdigest()[:40]
    reference = mail.reference
    if reference and mail.replying:
        text = without_quotes(mail.text)
        if not text:
            return Ignored("empty", f"a reply about {reference} from {mail.sender} that adds no text to what it quotes")
        return AddNote(reference, by, person, mail.sender, _limited(text, TEXT_LIMIT, location), f"MAIL#{identity}")
    if (
        person is not None
        and not access_decision("POST", "/incidents", Caller.of_person(person.id, person.roles)).allowed
    ):
        return Ignored(
            "refused",
            f"{person.id} ({mail.sender}) may not report incidents: their roles are "
            f"{', '.join(r.value for r in person.roles) or 'none'}",
        )
    title = _limited(title_of(mail.subject), TITLE_LIMIT, None) or f"Email from {mail.sender_name or mail.sender}"
    description = _limited(mail.text, TEXT_LIMIT, location)
    request = IncidentCreate(
        title=title, description=description, reporter=by, service=recipient.service if recipient else None
    )
    return OpenIncident(request, f"mail:{identity}", _details(mail, recipient, location), _links(mail, location))


def may_add_note(note: AddNote, reporter: str) -> str | None:
    """None when the sender may add a note to an incident reported by `reporter`; else why not. Whoever reported
    it may (the reporter adding what they know, as a service desk's caller does), and so may whoever POST …/notes
    lets (domain/access.py: the roles that work incidents)."""
    if reporter in (note.sender, note.person.id if note.person else None):
        return None
    if note.person is None:
        return f"{note.sender} is no person of the directory and did not report {note.reference}"
    decision = access_decision(
        "POST", "/incidents/<incident_id>/notes", Caller.of_person(note.person.id, note.person.roles)
    )
    if decision.allowed and not decision.own_only:
        return None
    roles = ", ".join(r.value for r in note.person.roles) or "no role"
    return f"{note.person.id} ({roles}) may not add notes to {note.reference}, which they did not report"


def _unwanted(mail: InboundMail, intake: EmailIntake, own_sender: str) -> Ignored | None:
    """Mail no person wrote to firebell: bounces, auto-replies and bulk mail, firebell's own mail coming back."""
    if not mail.sender:
        return Ignored("refused", "the message names no sender address (From)")
    local_part = mail.sender.partition("@")[0]
    if mail.return_path == "" or local_part in _BOUNCERS or mail.report_type == "delivery-status":
        return Ignored("bounce", f"a delivery status notification (bounce) from {mail.sender}")
    auto = (mail.header("auto-submitted") or "no").split(";")[0].strip().lower()
    precedence = (mail.header("precedence") or "").strip().lower()
    if (
        auto != "no"
        or mail.header("x-autoreply")
        or mail.header("x-autorespond")
        or precedence in _BULK
        or mail.header("list-id")
        or _OUT_OF_OFFICE.match(mail.subject)
    ):
        what = (
            f"Auto-Submitted: {auto}"
            if auto != "no"
            else f"Precedence: {precedence}"
            if precedence in _BULK
            else "a mailing list's"
            if mail.header("list-id")
            else "an out-of-office subject"
            if _OUT_OF_OFFICE.match(mail.subject)
            else "X-Autoreply/X-Autorespond"
        )
        return Ignored("auto-reply", f"an automatic reply or bulk mail from {mail.sender} ({what})")
    if mail.sender == own_sender.lower() or intake.address(mail.sender):
        return Ignored("loop", f"mail from firebell's own address {mail.sender}: answering it would loop")
    return None


def _refused(mail: InboundMail, intake: EmailIntake, local_runtime: bool) -> Ignored | None:
    domain = mail.sender_domain
    if domain not in intake.allowed_sender_domains:
        allowed = ", ".join(intake.allowed_sender_domains) or "none: email_intake.allowed_sender_domains is empty"
        return Ignored(
            "refused", f"{mail.sender}: the domain {domain} is not allowed to open incidents (allowed: {allowed})"
        )
    if local_runtime or not intake.require_authentication:
        return None
    for header, verdict in (("x-ses-virus-verdict", "virus"), ("x-ses-spam-verdict", "spam")):
        if (mail.header(header) or "").strip().upper() == "FAIL":
            return Ignored("refused", f"SES's {verdict} check failed for the message from {mail.sender}")
    results = mail.header("authentication-results") or ""
    if results.split(";")[0].strip().lower() != AUTHSERV:
        return Ignored("refused", f"the message from {mail.sender} carries no SES authentication results to check")
    if not authenticated(results, domain):
        return Ignored(
            "refused",
            f"SES could not authenticate {mail.sender} as its domain {domain} "
            f"(neither DMARC, nor SPF or DKIM aligned with it, passed)",
        )
    return None


def authenticated(results: str, domain: str) -> bool:
    """True when SES's Authentication-Results vouch for `domain`: DMARC passed, or SPF (the envelope sender) or
    DKIM (the signing domain) passed for that domain, its parent or a subdomain (DMARC's relaxed alignment)."""
    methods = list(_METHOD.finditer(results))
    for i, found in enumerate(methods):
        method, verdict = found[1].lower(), found[2].lower()
        if verdict != "pass":
            continue
        if method == "dmarc":
            return True
        # (a method's properties run to the next method: SES writes spf's envelope-from after a ';')
        segment = results[found.end() : methods[i + 1].start() if i + 1 < len(methods) else len(results)]
        vouched = re.search(
            r"(?:smtp\.mailfrom|envelope-from)=(?:[^\s;@]*@)?([\w.-]+)"
            if method == "spf"
            else r"header\.[id]=(?:[^\s;@]*@)?([\w.-]+)",
            segment,
        )
        signed = vouched[1].lower().strip(".") if vouched else ""
        if "." in signed and (signed == domain or signed.endswith(f".{domain}") or domain.endswith(f".{signed}")):
            return True
    return False


def _limited(text: str, limit: int, location: str | None) -> str:
    text = text.strip()
    if len(text) <= limit:
        return text
    note = f"\n\n[… cut at {limit:,} characters; the whole message is kept at {location}]" if location else "…"
    return text[: limit - len(note)].rstrip() + note


def _details(mail: InboundMail, recipient: IntakeAddress | None, location: str) -> dict[str, Any]:
    return {
        "email": {
            "from": mail.sender,
            "from_name": mail.sender_name,
            "to": recipient.address if recipient else None,
            "subject": mail.subject,
            "message_id": mail.message_id,
            "original": location,
            "attachments": [
                {
                    "filename": a.filename,
                    "content_type": a.content_type,
                    "size": a.size,
                    "location": f"{location}#part={a.part}",
                }
                for a in mail.attachments
            ],
        }
    }


def _links(mail: InboundMail, location: str) -> list[dict[str, str]]:
    links = [{"href": location, "text": f"The original email ({mail.size:,} bytes)"}]
    links += [
        {"href": f"{location}#part={a.part}", "text": f"{a.filename} ({a.content_type}, {a.size:,} bytes)"}
        for a in mail.attachments
    ]
    return links
