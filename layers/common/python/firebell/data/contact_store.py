"""Contact methods waiting for their verification code (domain/contacts.py): one item per person and kind."""

from __future__ import annotations

from datetime import timedelta

from pynamodb.exceptions import DoesNotExist, PutError, UpdateError

from ..domain.contacts import Kind, Verification
from .items import conditional_failure
from .records import VerificationRecord


def _key(person: str, kind: Kind) -> tuple[str, str]:
    return f"VERIFY#{person}", f"CONTACT#{kind}"


class ContactStore:
    def verification(self, person: str, kind: Kind) -> Verification | None:
        try:
            record = VerificationRecord.get(*_key(person, kind), consistent_read=True)
        except DoesNotExist:
            return None
        return Verification.model_validate(
            {**record.document, "guesses_left": int(record.guesses_left), "revision": int(record.revision or 0)}
        )

    def save_verification(self, verification: Verification) -> bool:
        """Stored if the one it replaces is still the one read (its revision one less); False if another came first."""
        keep_until = max(verification.sent) + timedelta(hours=1)  # (the hour its sending limits look back on)
        previous = verification.revision - 1
        condition = VerificationRecord.pk.does_not_exist() if previous == 0 else VerificationRecord.revision == previous
        try:
            VerificationRecord(
                *_key(verification.person, verification.kind),
                document=verification.model_dump(mode="json", exclude={"guesses_left", "revision"}),
                guesses_left=verification.guesses_left,
                revision=verification.revision,
                expires=int(keep_until.timestamp()),
            ).save(condition=condition)
            return True
        except PutError as error:
            if conditional_failure(error):
                return False
            raise

    def spend_guess(self, person: str, kind: Kind) -> None:
        """One wrong guess fewer left (one atomic update: two guesses at once both count)."""
        try:  # (never below zero: two wrong guesses at once both count, and no third gets through)
            VerificationRecord(*_key(person, kind)).update(
                actions=[VerificationRecord.guesses_left.add(-1)], condition=VerificationRecord.guesses_left > 0
            )
        except UpdateError as error:
            if not conditional_failure(error):
                raise
