"""Email intake's reading and deciding (domain/mail.py, domain/mail_decisions.py), on messages shaped as real mail
programs and SES make them: the raw ones in tests/unit/mail/ (their sources in its README), the rest built with
Python's email package as a mail program would."""

from __future__ import annotations

import base64
from email.message import EmailMessage
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from firebell.domain.directory import Directory, FirebellConfig
from firebell.domain.mail import parse, title_of, without_quotes
from firebell.domain.mail_decisions import (
    TEXT_LIMIT,
    AddNote,
    Ignored,
    OpenIncident,
    authenticated,
    decide,
    may_add_note,
)
from firebell.domain.mail_intake import EmailIntake, object_prefix, recipient_of

from .conftest import with_directory

SAMPLES = Path(__file__).parent / "mail"
LOCATION = "s3://firebell-mail/inbound/incidents@example.com/8hk2q0v7mc3f6b1lpd2r9u4e5o0s7t1a2n3m4k01"


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def message(
    subject: str = "Checkout is slow for EU customers",
    sender: str = "Alice Ops <alice@example.com>",
    text: str | None = "Since 10:05 UTC p99 is above 4 s.",
    **headers: str,
) -> EmailMessage:
    built = EmailMessage()
    built["From"] = sender
    built["To"] = "incidents@example.com"
    built["Subject"] = subject
    built["Message-ID"] = "<report-1@example.com>"
    for name, value in headers.items():
        built[name.replace("_", "-")] = value
    if text is not None:
        built.set_content(text)
    return built


@pytest.fixture
def directory(shipped_config: FirebellConfig) -> Directory:
    return shipped_config.directory


def decided(
    raw: bytes | EmailMessage, directory: Directory, local: bool = True, address: str = "incidents@example.com"
):
    mail = parse(raw if isinstance(raw, bytes) else raw.as_bytes())
    return decide(mail, directory.email_intake.address(address), directory, LOCATION, local_runtime=local)


# --- reading ---------------------------------------------------------------------------------------


def test_a_plain_report_opens_an_incident_by_its_sender(directory: Directory) -> None:
    decision = decided(message(), directory)
    assert isinstance(decision, OpenIncident)
    assert decision.request.title == "Checkout is slow for EU customers"
    assert decision.request.description == "Since 10:05 UTC p99 is above 4 s."
    assert decision.request.reporter == "alice"  # the directory person with that email
    assert decision.custom_details["email"]["from"] == "alice@example.com"
    assert decision.custom_details["email"]["original"] == LOCATION
    # to the checkout address: checkout's incident
    checkout = decided(message(), directory, address="checkout-incidents@example.com")
    assert isinstance(checkout, OpenIncident) and checkout.request.service == "checkout"


def test_a_sender_the_directory_does_not_know_reports_as_their_address(directory: Directory) -> None:
    decision = decided(message(sender="Pat Contractor <Pat.Contractor@Example.com>"), directory)
    assert isinstance(decision, OpenIncident) and decision.request.reporter == "pat.contractor@example.com"


def test_an_html_only_message_is_read_as_its_text(directory: Directory) -> None:
    built = message(text=None)
    built.set_content(
        "<html><head><style>p{color:red}</style></head><body><p>Checkout <b>down</b> &amp; slow</p>"
        "<ul><li>EU</li><li>US</li></ul><script>alert(1)</script></body></html>",
        subtype="html",
    )
    mail = parse(built.as_bytes())
    assert mail.text == "Checkout down & slow\n\n- EU\n- US"


def test_attachments_are_listed_with_name_type_size_and_where_they_are(directory: Directory) -> None:
    built = message()
    built.add_attachment(b"%PDF-1.7 " + b"x" * 2000, maintype="application", subtype="pdf", filename="postmortem.pdf")
    built.add_attachment(b"\x89PNG\r\n" + b"\0" * 500, maintype="image", subtype="png", filename="p99 graph.png")
    decision = decided(built, directory)
    assert isinstance(decision, OpenIncident)
    listed = decision.custom_details["email"]["attachments"]
    assert [(a["filename"], a["content_type"], a["size"]) for a in listed] == [
        ("postmortem.pdf", "application/pdf", 2009),
        ("p99 graph.png", "image/png", 506),
    ]
    assert all(a["location"].startswith(f"{LOCATION}#part=") for a in listed)
    assert [link["text"] for link in decision.links][1:] == [
        "postmortem.pdf (application/pdf, 2,009 bytes)",
        "p99 graph.png (image/png, 506 bytes)",
    ]
    assert decision.request.description == "Since 10:05 UTC p99 is above 4 s."  # the body, not the files


def test_encoded_subjects_and_other_charsets_are_decoded(directory: Directory) -> None:
    raw = (
        b"From: =?iso-8859-1?q?Ren=E9e_L=F6we?= <renee@example.com>\r\nTo: incidents@example.com\r\n"
        b"Subject: =?iso-8859-1?q?Caf=E9_kasse_f=E4llt_aus?= =?utf-8?b?4pyI?=\r\nMessage-ID: <x1@example.com>\r\n"
        b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=windows-1252\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
    ) + "Kasse zeigt “Fehler 42” – seit 9 Uhr.".encode("windows-1252")
    mail = parse(raw)
    assert mail.subject == "Café kasse fällt aus✈"  # (RFC 2047: the space between two encoded words is no text)
    assert mail.sender_name == "Renée Löwe" and mail.sender == "renee@example.com"
    assert mail.text == "Kasse zeigt “Fehler 42” – seit 9 Uhr."
    unknown = raw.replace(b"windows-1252", b"x-no-such-charset")
    assert "Kasse zeigt" in parse(unknown).text  # read with replacements, never refused


def test_a_huge_body_is_cut_to_the_limit_saying_where_the_whole_is(directory: Directory) -> None:
    decision = decided(message(text="checkout log line\n" * 20_000), directory)
    assert isinstance(decision, OpenIncident)
    assert len(decision.request.description) <= TEXT_LIMIT
    assert decision.request.description.endswith(f"the whole message is kept at {LOCATION}]")


def test_a_subject_too_long_or_empty_still_makes_a_title(directory: Directory) -> None:
    long = decided(message(subject="Checkout " * 200), directory)
    assert isinstance(long, OpenIncident) and len(long.request.title) == 1024 and long.request.title.endswith("…")
    empty = decided(message(subject=""), directory)
    assert isinstance(empty, OpenIncident) and empty.request.title == "Email from Alice Ops"


def test_subject_prefixes_and_quotes() -> None:
    assert title_of("Re: AW: Fwd: Re[2]: SV: Checkout down") == "Checkout down"
    assert without_quotes("Fixed it.\n\n-- \nBob\nOn-call lead") == "Fixed it."
    outlook = "Done, see the runbook.\r\n\r\n________________________________\r\nFrom: firebell <firebell@example.com>\r\nSent: Tuesday\r\n"
    assert without_quotes(outlook.replace("\r\n", "\n")) == "Done, see the runbook."
    wrapped = "Looking.\n\nOn Tue, 1 Dec 2026 at 11:05, firebell <\nfirebell@example.com> wrote:\n> paged"
    assert without_quotes(wrapped) == "Looking."
    assert without_quotes("On call today: Bob.\nHe is on it.") == "On call today: Bob.\nHe is on it."


# --- replies --------------------------------------------------------------------------------------------


def test_a_reply_as_ses_stored_it_is_a_note_by_its_sender_without_what_it_quotes(directory: Directory) -> None:
    # (SES's verdicts are in it: checked as in AWS)
    decision = decided(sample("ses-gmail-reply.eml"), directory, local=False)
    assert isinstance(decision, AddNote)
    assert decision.reference == "INC-7" and decision.by == "bob"
    assert decision.text == "Rolled back deploy 4711; p99 is back under 400 ms. Watching it for an hour."
    again = decided(sample("ses-gmail-reply.eml"), directory, local=False)
    assert isinstance(again, AddNote) and again.once_key == decision.once_key  # the same message notes once


def test_who_may_add_the_note(directory: Directory) -> None:
    def note(sender: str) -> AddNote:
        decision = decided(message("Re: [firebell] INC-7 P2 triggered", sender=sender, text="More detail."), directory)
        assert isinstance(decision, AddNote)
        return decision

    assert may_add_note(note("bob@example.com"), reporter="erin") is None  # a responder works any incident
    assert "may not add notes" in may_add_note(note("dave@example.com"), reporter="erin")  # a viewer
    assert "which they did not report" in may_add_note(note("gus@example.com"), reporter="erin")  # a reporter...
    assert may_add_note(note("gus@example.com"), reporter="gus") is None  # ... on what they reported
    assert may_add_note(note("pat@example.com"), reporter="pat@example.com") is None  # who reported it by mail
    assert "is no person of the directory" in may_add_note(note("pat@example.com"), reporter="erin")


def test_a_reply_that_only_quotes_adds_nothing(directory: Directory) -> None:
    decision = decided(message("Re: INC-7", text="On Tue, 1 Dec 2026, firebell wrote:\n> paged"), directory)
    assert isinstance(decision, Ignored) and decision.kind == "empty"


def test_a_new_message_that_mentions_a_reference_opens_an_incident(directory: Directory) -> None:
    decision = decided(message("Checkout down again, like INC-7"), directory)
    assert isinstance(decision, OpenIncident)


# --- what is ignored, and why -------------------------------------------------------------------------


def test_an_out_of_office_reply_is_ignored(directory: Directory) -> None:
    decision = decided(sample("outlook-out-of-office.eml"), directory)
    assert decision == Ignored(
        "auto-reply", "an automatic reply or bulk mail from carol@example.com (Auto-Submitted: auto-replied)"
    )
    for headers in (
        {"X_Autoreply": "yes"},
        {"X_Autorespond": "yes"},
        {"Precedence": "bulk"},
        {"Precedence": "junk"},
        {"List_Id": "<ops.example.com>"},
    ):
        assert decided(message(**headers), directory).kind == "auto-reply", headers
    assert decided(message("Out of Office: back Monday"), directory).kind == "auto-reply"
    assert isinstance(decided(message(Auto_Submitted="no"), directory), OpenIncident)


def test_a_bounce_is_ignored(directory: Directory) -> None:
    decision = decided(sample("bounce-delivery-status.eml"), directory)
    assert isinstance(decision, Ignored) and decision.kind == "bounce"
    mail = parse(sample("bounce-delivery-status.eml"))
    assert mail.report_type == "delivery-status" and mail.return_path == ""
    assert decided(message(sender="postmaster@example.com"), directory).kind == "bounce"


def test_firebell_s_own_mail_coming_back_is_a_loop(directory: Directory) -> None:
    assert decided(message(sender="firebell <firebell@example.com>"), directory).kind == "loop"
    assert decided(message(sender="checkout-incidents@example.com"), directory).kind == "loop"


def test_senders_outside_the_allowed_domains_are_refused(directory: Directory, shipped_config: FirebellConfig) -> None:
    refused = decided(message(sender="Mallory <mallory@example.net>"), directory)
    assert isinstance(refused, Ignored) and refused.kind == "refused" and "example.net is not allowed" in refused.reason
    nobody = with_directory(shipped_config, lambda d: d["email_intake"].update(allowed_sender_domains=[])).directory
    assert "allowed_sender_domains is empty" in decided(message(), nobody).reason


def test_garbage_and_a_message_without_a_sender_are_refused_not_raised(directory: Directory) -> None:
    for raw in (
        b"\x00\xff\xfe garbage \r\n\r\n\x80",
        b"",
        b"Subject: hello\r\n\r\nno From",
        b"From: <>\r\n\r\n",
        b"From: " + b"a" * 300 + b"@example.com\r\n\r\n",
        b"From: =?x-bad?q?=ZZ?= <\r\n\r\n",
    ):
        decision = decided(raw, directory)
        assert decision == Ignored("refused", "the message names no sender address (From)"), raw


def test_in_aws_ses_must_vouch_for_the_sender(directory: Directory) -> None:
    reply = sample("ses-gmail-reply.eml")
    assert isinstance(decided(reply, directory, local=False), AddNote)
    spam = reply.replace(b"X-SES-Spam-Verdict: PASS", b"X-SES-Spam-Verdict: FAIL")
    assert "spam check failed" in decided(spam, directory, local=False).reason
    forged = (
        reply.replace(b"dkim=pass header.i=@example.com", b"dkim=fail header.i=@example.com")
        .replace(b"dmarc=pass", b"dmarc=fail")
        .replace(b"spf=pass", b"spf=softfail")
    )
    assert "could not authenticate" in decided(forged, directory, local=False).reason
    # a message that brings its own Authentication-Results (SES prepends its own above any)
    unverified = message(Authentication_Results="amazonses.com; dmarc=pass header.from=example.com").as_bytes()
    assert isinstance(decided(unverified, directory, local=False), OpenIncident)  # the topmost is read: this one
    stripped = message().as_bytes()
    assert "no SES authentication results" in decided(stripped, directory, local=False).reason
    assert isinstance(decided(stripped, directory, local=True), OpenIncident)  # locally nothing vouches


def test_alignment_of_spf_and_dkim_with_the_from_domain() -> None:
    ses = "amazonses.com; spf=pass (spfCheck: x) client-ip=1.2.3.4; envelope-from=a@{spf}; helo=x; dkim={dkim} header.i=@{signer};"
    assert authenticated(ses.format(spf="example.com", dkim="fail", signer="x.org"), "example.com")
    assert authenticated(ses.format(spf="bounces.example.com", dkim="fail", signer="x.org"), "example.com")
    assert authenticated(ses.format(spf="x.org", dkim="pass", signer="mail.example.com"), "example.com")
    assert not authenticated(ses.format(spf="x.org", dkim="pass", signer="example.com.evil.org"), "example.com")
    assert not authenticated(ses.format(spf="com", dkim="pass", signer="com"), "example.com")


# --- configuration ------------------------------------------------------------------------------------


def test_the_configuration_names_what_is_wrong(shipped_config: FirebellConfig) -> None:
    def broken(change) -> str:
        with pytest.raises(ValueError) as refused:
            with_directory(shipped_config, lambda d: change(d["email_intake"]))
        return str(refused.value)

    assert "email_intake.addresses[1].service: unknown service 'payments'" in broken(
        lambda e: e["addresses"][1].update(service="payments")
    )
    assert "is notifications.sender" in broken(lambda e: e["addresses"].append({"address": "Firebell@example.com"}))
    assert "listed twice: incidents@example.com" in broken(
        lambda e: e["addresses"].append({"address": "INCIDENTS@example.com"})
    )
    assert "is not a domain name" in broken(lambda e: e.update(allowed_sender_domains=["example"]))
    assert EmailIntake().allowed_sender_domains == []  # (nobody's mail is heard until someone says whose)


def test_keys_name_the_address_a_message_came_to() -> None:
    key = object_prefix("Incidents@Example.com") + "8hk2q0v7mc3f6b1lpd2r9u4e5o0s7t1a2n3m4k01"
    assert recipient_of(key) == "incidents@example.com"
    assert recipient_of("inbound/incidents@example.com/") is None and recipient_of("elsewhere/x@y.z/1") is None


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.one_of(
        st.binary(max_size=2000),
        st.lists(
            st.sampled_from(
                [
                    b"From: ",
                    b"Subject: =?",
                    b"Content-Type: multipart/mixed; boundary=x",
                    b"--x",
                    b"\r\n",
                    b"=?utf-8?b?",
                    b"<>",
                    b"@",
                    b"Re: INC-1",
                    b"\xff\xfe",
                    b"Content-Transfer-Encoding: base64",
                    b'charset="x"',
                    b"Return-Path: <>",
                ]
            ),
            max_size=40,
        ).map(b"".join),
    )
)
def test_no_message_makes_reading_or_deciding_raise(directory: Directory, raw: bytes) -> None:
    for local in (True, False):
        assert isinstance(decided(raw, directory, local=local), (Ignored, OpenIncident, AddNote))
        assert isinstance(
            decided(b"From: alice@example.com\r\n" + raw, directory, local=local), (Ignored, OpenIncident, AddNote)
        )


def test_control_characters_in_a_subject_or_body_never_reach_the_incident(directory: Directory) -> None:
    # Given a report whose RFC 2047 subject carries an ESC colour sequence, a BEL and a NUL, and whose body an ESC
    raw = (
        b"From: Alice Ops <alice@example.com>\r\nTo: incidents@example.com\r\n"
        b"Subject: =?utf-8?b?"
        + base64.b64encode(b"red \x1b[31mALERT\x1b[0m bell\x07 nul\x00 end")
        + b"?=\r\nMessage-ID: <ctl@example.com>\r\nContent-Type: text/plain\r\n\r\nline one\r\n\x1b[2Jline two\r\n"
    )

    # When intake decides on it
    decision = decided(raw, directory)

    # Then the incident it opens holds no control character: each is U+FFFD (a line break stays in the text)
    assert isinstance(decision, OpenIncident)
    assert decision.request.title == "red \ufffd[31mALERT\ufffd[0m bell\ufffd nul\ufffd end"
    assert "\ufffd[2Jline two" in decision.request.description and "\x1b" not in decision.request.description
