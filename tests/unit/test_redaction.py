"""Phone numbers masked for readers who do not work incidents (firebell/domain/redaction.py)."""

from firebell.domain.access import Caller, Role
from firebell.domain.redaction import sees_contacts, without_phone_numbers


def test_every_e164_number_is_masked_but_its_last_two_digits_wherever_it_is() -> None:
    answer = {
        "items": [
            {"message": "sms to erin <+15550100005> (on call)", "details": {"to": "+447700900123", "n": 3}},
            {"message": "email to erin <erin@example.com>", "details": {"to": ["+15550100005"]}},
        ]
    }
    masked = without_phone_numbers(answer)
    assert masked["items"][0]["message"] == "sms to erin <+•••••••••05> (on call)"
    assert masked["items"][0]["details"] == {"to": "+••••••••••23", "n": 3}
    assert masked["items"][1] == {"message": "email to erin <erin@example.com>", "details": {"to": ["+•••••••••05"]}}
    assert (
        without_phone_numbers("INC-12 at +1 (no number) 2026-12-01T10:00:00+00:00")
        == "INC-12 at +1 (no number) 2026-12-01T10:00:00+00:00"
    )


def test_who_sees_contacts() -> None:
    assert sees_contacts(Caller.machine("arn:aws:iam::123456789012:user/ci"))
    assert sees_contacts(Caller.of_person("alice", [Role.RESPONDER]))
    assert not sees_contacts(Caller.of_person("dave", [Role.VIEWER]))
    assert not sees_contacts(Caller.of_person("gus", [Role.REPORTER]))
