"""Whatever a vendor's answers hold, an import either succeeds or stops with ImportError_ naming what is wrong:
never another exception (which the command would show as a traceback). Hypothesis breaks one value anywhere in the
fixtures' answers (a wrong type, null, a missing key) and runs the whole import on them."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firebell.importing import opsgenie, pagerduty, writer
from firebell.importing.common import Ids
from firebell.importing.sources import ImportError_, JsonObject

FIXTURES = Path(__file__).parents[1] / "fixtures" / "import"
AS_OF = datetime(2026, 1, 10, tzinfo=UTC)


def answers(vendor: str) -> dict[str, Any]:
    folder = FIXTURES / vendor
    return {str(f.relative_to(folder).with_suffix("")): json.loads(f.read_text()) for f in folder.rglob("*.json")}


ANSWERS = {vendor: answers(vendor) for vendor in ("pagerduty", "opsgenie")}


class MemorySource:
    def __init__(self, files: dict[str, Any]) -> None:
        self.files = files

    def _answers(self, path: str) -> list[Any]:
        key = "/".join(p for p in path.split("/") if p and p not in ("v1", "v2"))
        if key not in self.files:
            raise ImportError_(f"{key}: missing")
        found = self.files[key]
        answers = found if isinstance(found, list) else [found]
        if not answers or not all(isinstance(a, dict) for a in answers):
            raise ImportError_(f"{key}: not an object")
        return answers

    def get(self, path: str, params: Mapping[str, str | list[str]] | None = None) -> JsonObject:
        answer: JsonObject = self._answers(path)[0]
        return answer

    def pages(self, path: str, params: Mapping[str, str | list[str]] | None = None) -> Iterator[JsonObject]:
        yield from self._answers(path)


JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=True),
    st.text(max_size=12),
    st.sampled_from(["", "P1", "2026-13-45T99:00:00Z", "none", "24:00", "Europe/Nowhere", "weekly_restriction"]),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
)


@st.composite
def broken(draw: st.DrawFn, vendor: str) -> dict[str, Any]:
    files = copy.deepcopy(ANSWERS[vendor])
    name = draw(st.sampled_from(sorted(files)))
    holder: Any = files
    key: Any = name
    while draw(st.integers(0, 5)):  # most often deeper: the odd values hide in nested objects
        value = holder[key]
        if isinstance(value, dict) and value:
            holder, key = value, draw(st.sampled_from(sorted(value)))
        elif isinstance(value, list) and value:
            holder, key = value, draw(st.integers(0, len(value) - 1))
        else:
            break
    if isinstance(holder, dict) and draw(st.booleans()):
        del holder[key]
    else:
        holder[key] = draw(JUNK)
    return files


def run_import(vendor: str, files: dict[str, Any]) -> None:
    source = MemorySource(files)
    ids = Ids({}, {})
    if vendor == "pagerduty":
        imported = pagerduty.convert(pagerduty.read(source, AS_OF, 90), ids, AS_OF)
    else:
        imported = opsgenie.convert(opsgenie.read(source), ids, AS_OF)
    plan = writer.Plan({}, {})
    outcome = writer.merge(plan, imported, ids, "fb@example.com")
    writer.validate(outcome.document)  # problems are a list, not an exception
    writer.dump_yaml(outcome.document)


@pytest.mark.parametrize("vendor", ["pagerduty", "opsgenie"])
def test_the_fixtures_import(vendor: str) -> None:
    run_import(vendor, copy.deepcopy(ANSWERS[vendor]))


@pytest.mark.parametrize("vendor", ["pagerduty", "opsgenie"])
@settings(max_examples=200)
@given(data=st.data())
def test_one_broken_value_is_an_import_error_or_nothing(vendor: str, data: st.DataObject) -> None:
    files = data.draw(broken(vendor))
    try:
        run_import(vendor, files)
    except ImportError_ as error:
        assert str(error)


def test_a_priority_condition_whose_value_is_a_list_is_no_priority() -> None:
    # (found by the test above: `expectedValue: ["P5"]` in a notification rule's criteria raised TypeError)
    files = copy.deepcopy(ANSWERS["opsgenie"])
    rule = files["users/u-ada/notification-rules/nr-u-ada-low"]["data"]
    rule["criteria"]["conditions"][0]["expectedValue"] = ["P5"]
    try:
        run_import("opsgenie", files)
    except ImportError_ as error:
        assert str(error)
