"""Text fields as the API and the integrations take them (pure): bounded, trimmed, printable."""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from annotated_types import GroupedMetadata, MaxLen, MinLen
from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

# What no text of an incident means, wherever it came from (an alarm's description, an email's subject, a chat
# message): C0 and C1 controls and DEL. The API refuses them (domain/wire.py); from an alert or an email, which
# cannot be refused without losing the page, they become U+FFFD, so that an ESC never reaches a terminal
# (`firebell incidents list`), an email subject or an SMS. A one-line field (a title, a name) also takes tab, CR
# and LF as spaces: a line break in an email subject is a header of its own.
_NOT_TEXT = {c: "\ufffd" for c in [*range(0x00, 0x20), *range(0x7F, 0xA0)]}
_KEPT_IN_TEXT = {ord(c): c for c in "\t\n\r"}
_PRINTABLE = str.maketrans({**_NOT_TEXT, **_KEPT_IN_TEXT})
_ONE_LINE = str.maketrans({**_NOT_TEXT, **{ord(c): " " for c in "\t\n\r"}})


def _printable(value: str) -> str:
    return value.translate(_PRINTABLE)


def _one_line(value: str) -> str:
    return value.translate(_ONE_LINE)


def _stripped(value: str) -> str:
    return value.strip()


def _stripped_not_blank(value: str) -> str:
    if not (value := value.strip()):  # the error pydantic's strip_whitespace gave, so every message stays as it was
        raise PydanticCustomError(
            "string_too_short", "String should have at least {min_length} character", {"min_length": 1}
        )
    return value


@dataclass(frozen=True)
class Text(GroupedMetadata):
    """A string field's metadata, `Annotated[str, Text(200)]`: kept without its surrounding whitespace; a required
    one must not be blank.

    The limit applies to the string as sent, which is what the OpenAPI schema says: pydantic's own
    strip_whitespace checks the length after stripping, so it accepted longer strings than documented.
    (Metadata rather than a function returning the Annotated type, so type checkers read the field as a str.)"""

    max_length: int
    required: bool = True
    one_line: bool = True

    def __iter__(self) -> Iterator[Any]:
        yield MinLen(1 if self.required else 0)
        yield MaxLen(self.max_length)
        yield AfterValidator(_one_line if self.one_line else _printable)
        yield AfterValidator(_stripped_not_blank if self.required else _stripped)


Title = Annotated[str, Text(1024)]
LongText = Annotated[str, Text(65_536, required=False, one_line=False)]
Actor = Annotated[str, Text(256)]
Name = Annotated[str, Text(128)]
