"""Request bodies keep the limits their OpenAPI schema documents (schemathesis found a title one over the limit accepted)."""

import pytest
from pydantic import ValidationError

from firebell.domain.requests import IncidentCreate, ResolveRequest


def test_a_title_is_limited_as_sent_and_kept_stripped() -> None:
    limit = IncidentCreate.model_json_schema()["properties"]["title"]["maxLength"]
    assert IncidentCreate(title="\t" + "x" * (limit - 1)).title == "x" * (limit - 1)
    with pytest.raises(ValidationError) as refused:
        IncidentCreate(title="\t" + "x" * limit)
    assert [error["loc"] for error in refused.value.errors()] == [("title",)]


@pytest.mark.parametrize("blank", ["", " ", "\t\n"])
def test_a_required_text_must_not_be_blank(blank: str) -> None:
    with pytest.raises(ValidationError) as refused:
        ResolveRequest(resolution_notes=blank)
    assert [error["loc"] for error in refused.value.errors()] == [("resolution_notes",)]
