"""Email intake: a message to an intake address opens an incident; a reply naming one adds a note to it
(docs/email-intake.md).

The mail function hands over each message SES stored (the bucket and key of its S3 event). The raw message is read
from the mail bucket, parsed (domain/mail.py) and decided on (domain/mail_decisions.py) without further I/O; then
it is opened through AlertIntake.report_once, under an idempotency key derived from its Message-ID (delivered twice,
by SES or by the queue: one incident), or noted through Lifecycle.add_note under a single-use key (one note).
What is ignored is answered with its reason, for the function to log and count: never an incident, never an error.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from ..domain.directory import FirebellConfig
from ..domain.enums import Source
from ..domain.errors import IdempotencyKeyReused, IncidentNotFound, OnceKeyUsed, PermanentError
from ..domain.mail import parse
from ..domain.mail_decisions import AddNote, Ignored, OpenIncident, decide, may_add_note
from ..domain.mail_intake import recipient_of
from ..outbox import Needs, UseOnce
from ..ports import Clock, MailBucket
from .base import Incidents
from .intake import AlertIntake
from .lifecycle import Lifecycle

# How long a reply's single-use key is kept: longer than anything redelivers it (SQS keeps a message 4 days).
_NOTE_ONCE = timedelta(days=15)


class MailOutcome(StrEnum):
    OPENED = "opened"
    NOTED = "noted"
    ALREADY = "already"  # an earlier delivery of this very message opened or noted it
    IGNORED = "ignored"


@dataclass(frozen=True)
class Received:
    outcome: MailOutcome
    reference: str | None = None
    kind: str = ""  # what was ignored: bounce, auto-reply, loop, refused, empty
    reason: str = ""


class NotReceivedMail(PermanentError):
    """What the mail function cannot take for received mail: no S3 event, another bucket, a key outside inbound/."""


class MailIntake:
    NEEDS = Needs(reads_mail=True) | AlertIntake.NEEDS | Lifecycle.NEEDS

    def __init__(
        self,
        bucket: MailBucket,
        intake: AlertIntake,
        lifecycle: Lifecycle,
        incidents: Incidents,
        config: Callable[[], FirebellConfig],
        clock: Clock,
        bucket_name: str,
        local_runtime: bool = False,
    ) -> None:
        self._bucket = bucket
        self._intake = intake
        self._lifecycle = lifecycle
        self._incidents = incidents
        self._config = config
        self._clock = clock
        self._bucket_name = bucket_name
        self._local_runtime = local_runtime

    def receive(self, bucket: str, key: str) -> Received:
        """The message SES stored at s3://`bucket`/`key`, opened, noted or ignored."""
        if bucket != self._bucket_name:
            raise NotReceivedMail(f"s3://{bucket[:100]}/{key[:300]} is not in the mail bucket ({self._bucket_name})")
        address = recipient_of(key)
        if address is None:
            raise NotReceivedMail(f"s3://{bucket}/{key[:300]} is no received message (inbound/<address>/<id>)")
        mail = parse(self._bucket.read(bucket, key))
        directory = self._config().directory
        location = f"s3://{bucket}/{key}"
        decision = decide(mail, directory.email_intake.address(address), directory, location, self._local_runtime)
        if isinstance(decision, Ignored):
            return Received(MailOutcome.IGNORED, kind=decision.kind, reason=decision.reason)
        if isinstance(decision, OpenIncident):
            return self._open(decision)
        return self._note(decision)

    def _open(self, decision: OpenIncident) -> Received:
        try:
            incident, earlier = self._intake.report_once(
                decision.request,
                decision.idempotency_key,
                source=Source.EMAIL,
                custom_details=decision.custom_details,
                links=decision.links,
            )
        except IdempotencyKeyReused:
            # The same message again, decided otherwise (the directory changed in between): it opened one already.
            return Received(MailOutcome.ALREADY, reason="this message opened an incident before")
        return Received(MailOutcome.ALREADY if earlier else MailOutcome.OPENED, incident.reference)

    def _note(self, note: AddNote) -> Received:
        try:
            incident = self._incidents.get(note.reference)
        except IncidentNotFound:
            return Received(
                MailOutcome.IGNORED,
                kind="refused",
                reason=f"a reply from {note.sender} about {note.reference}, which does not exist",
            )
        refused = may_add_note(note, incident.reporter)
        if refused:
            return Received(MailOutcome.IGNORED, incident.reference, "refused", refused)
        once = UseOnce(key=note.once_key, expires_at=self._clock() + _NOTE_ONCE)
        try:
            self._lifecycle.add_note(incident.incident_id, note.by, note.text, once=once)
        except OnceKeyUsed:
            return Received(MailOutcome.ALREADY, incident.reference, reason="this reply was noted before")
        return Received(MailOutcome.NOTED, incident.reference)
