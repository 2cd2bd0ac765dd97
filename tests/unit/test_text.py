"""Text fields (domain/text.py): whatever the source, no control character reaches an incident's text."""

from __future__ import annotations

from pydantic import TypeAdapter

from firebell.domain.models import Signal
from firebell.domain.text import LongText, Title
from firebell.usecases.intake import alarm_signal

from .builders import alarm


def test_a_title_is_one_printable_line() -> None:
    title = TypeAdapter(Title).validate_python(" \x1b[31mdisk\x1b[0m\tfull\r\non web-1\x07\x00\x9b2J\x7f ")
    assert title == "\ufffd[31mdisk\ufffd[0m full  on web-1\ufffd\ufffd\ufffd2J\ufffd"


def test_long_text_keeps_its_lines_and_tabs_but_no_other_control_character() -> None:
    text = TypeAdapter(LongText).validate_python("first\tline\r\nsecond\x1b[2J line\x00")
    assert text == "first\tline\r\nsecond\ufffd[2J line\ufffd"


def test_an_alarm_description_with_escape_codes_makes_a_printable_title() -> None:
    # Given an alarm whose description someone wrote with terminal colour codes
    signal = alarm_signal(alarm(AlarmDescription="\x1b[31mcheckout\x1b[0m errors\x07"))

    # Then the incident's title and details are printable
    assert isinstance(signal, Signal)
    assert "\x1b" not in signal.summary and "\x07" not in signal.summary
    assert signal.summary.endswith("\ufffd[31mcheckout\ufffd[0m errors\ufffd")
