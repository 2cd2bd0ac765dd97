"""Text fields as the API and the integrations take them (pure)."""

from typing import Annotated, Any

from pydantic import AfterValidator, StringConstraints
from pydantic_core import PydanticCustomError


def _stripped(value: str) -> str:
    return value.strip()


def _stripped_not_blank(value: str) -> str:
    if not (value := value.strip()):  # the error pydantic's strip_whitespace gave, so every message stays as it was
        raise PydanticCustomError(
            "string_too_short", "String should have at least {min_length} character", {"min_length": 1}
        )
    return value


def text(max_length: int, *, required: bool = True) -> Any:
    """A string kept without its surrounding whitespace; a required one must not be blank.

    The limit applies to the string as sent, which is what the OpenAPI schema says: pydantic's own
    strip_whitespace checks the length after stripping, so it accepted longer strings than documented."""
    return Annotated[
        str,
        StringConstraints(min_length=1 if required else 0, max_length=max_length),
        AfterValidator(_stripped_not_blank if required else _stripped),
    ]
