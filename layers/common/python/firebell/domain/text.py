"""Text fields as the API and the integrations take them (pure)."""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from annotated_types import GroupedMetadata, MaxLen, MinLen
from pydantic import AfterValidator
from pydantic_core import PydanticCustomError


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

    def __iter__(self) -> Iterator[Any]:
        yield MinLen(1 if self.required else 0)
        yield MaxLen(self.max_length)
        yield AfterValidator(_stripped_not_blank if self.required else _stripped)


Title = Annotated[str, Text(1024)]
LongText = Annotated[str, Text(65_536, required=False)]
Actor = Annotated[str, Text(256)]
Name = Annotated[str, Text(128)]
