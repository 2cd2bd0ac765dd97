"""The one check behind every "listed twice" a config or a request can be refused with."""

from collections import Counter
from collections.abc import Iterable


def refuse_repeats(values: Iterable[str], said_as: str = "listed twice") -> None:
    """ValueError naming each value given more than once, sorted: `<said_as>: a, b` (a validator's message)."""
    twice = sorted(value for value, times in Counter(values).items() if times > 1)
    if twice:
        raise ValueError(f"{said_as}: {', '.join(twice)}")
