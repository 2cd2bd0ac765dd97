"""Contact methods waiting for their verification code (domain/contacts.py): one item per person and kind."""

from __future__ import annotations

from datetime import timedelta

from pynamodb.exceptions import DoesNotExist

from ..domain.contacts import Kind, Verification
from .records import VerificationRecord


def _key(person: str, kind: Kind) -> tuple[str, str]:
    return f"VERIFY#{person}", f"CONTACT#{kind}"


class ContactStore:
    def verification(self, person: str, kind: Kind) -> Verification | None:
        try:
            record = VerificationRecord.get(*_key(person, kind), consistent_read=True)
        except DoesNotExist:
            return None
        return Verification.model_validate({**record.document, "guesses_left": int(record.guesses_left)})

    def save_verification(self, verification: Verification) -> None:
        keep_until = max(verification.sent) + timedelta(hours=1)  # (the hour its sending limits look back on)
        VerificationRecord(*_key(verification.person, verification.kind), document=verification.model_dump(mode="json", exclude={"guesses_left"}),
                           guesses_left=verification.guesses_left, expires=int(keep_until.timestamp())).save()

    def spend_guess(self, person: str, kind: Kind) -> None:
        """One wrong guess fewer left (one atomic update: two guesses at once both count)."""
        VerificationRecord(*_key(person, kind)).update(actions=[VerificationRecord.guesses_left.add(-1)])
