"""The error model (domain/errors.py): every error firebell raises on purpose is permanent or transient, every
refusal has one HTTP answer, AWS errors are classified, and pydantic errors name their fields."""

from __future__ import annotations

import inspect
from http import HTTPStatus

import pytest
from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError
from pydantic import BaseModel, ValidationError
from pynamodb.exceptions import PutError, TransactWriteError

from firebell.domain import errors
from firebell.domain.errors import (
    ConcurrentUpdate,
    DomainError,
    FieldProblem,
    InvalidPayload,
    PermanentError,
    TransientError,
    field_problems,
    http_answer,
    http_body,
)
from firebell.domain.failures import Retry, classify


def raised_on_purpose() -> list[type[Exception]]:
    return [
        cls
        for _, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, errors.FirebellError) and cls.__module__ == errors.__name__
    ]


def test_every_error_is_explicitly_permanent_or_transient():
    for cls in raised_on_purpose():
        if cls is errors.FirebellError:
            continue
        assert issubclass(cls, PermanentError) != issubclass(cls, TransientError), cls


def test_every_refusal_of_a_request_has_an_http_answer():
    """A DomainError or an invalid payload without a row would answer 500: each has its own row, or a parent's."""
    for cls in raised_on_purpose():
        if cls in (DomainError, InvalidPayload, errors.DirectoryProblem) or not issubclass(
            cls, DomainError | InvalidPayload
        ):
            continue
        assert any(parent in errors.HTTP_ANSWERS for parent in cls.__mro__), f"{cls.__name__} has no HTTP answer"


def test_refusals_are_4xx_and_the_table_names_each_code_once():
    assert all(400 <= answer.status < 500 for answer in errors.HTTP_ANSWERS.values())
    codes = [a.code for cls, a in errors.HTTP_ANSWERS.items() if cls is not errors.DirectoryBusy]
    assert len(codes) == len(set(codes))


def test_http_answer_follows_the_class_hierarchy():
    assert (
        http_answer(errors.InvalidEntry("bad", [FieldProblem("body.phone", "bad")]))
        == errors.HTTP_ANSWERS[errors.InvalidRequest]
    )
    assert http_answer(RuntimeError("bug")) is None


def test_http_body_names_the_fields():
    """The error's own problems win; otherwise the row's field names what the refusal is about."""
    entry = errors.InvalidEntry(
        "invalid request: body.phone", [FieldProblem("body.phone", "String should match pattern")]
    )
    assert http_body(entry, http_answer(entry)) == {
        "error": "validation_failed",
        "message": "invalid request: body.phone",
        "fields": [{"field": "body.phone", "problem": "String should match pattern"}],
    }
    person = errors.UnknownPerson("zed")
    assert http_body(person, http_answer(person)) == {
        "error": "unknown_person",
        "message": "unknown person 'zed'",
        "fields": [{"field": "body.to", "problem": "unknown person 'zed'"}],
    }
    assert "fields" not in http_body(errors.IncidentNotFound("x"), http_answer(errors.IncidentNotFound("x")))
    assert http_answer(errors.VersionMismatch("stale")).status == HTTPStatus.PRECONDITION_FAILED


def client_error(code: str, status: int = 400, **extra) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": "…"}, "ResponseMetadata": {"HTTPStatusCode": status}, **extra}, "Op"
    )


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (client_error("ThrottlingException"), Retry.TRANSIENT),
        (client_error("ProvisionedThroughputExceededException"), Retry.TRANSIENT),
        (client_error("RequestLimitExceeded"), Retry.TRANSIENT),
        (client_error("TransactionConflictException"), Retry.TRANSIENT),
        (client_error("ServiceUnavailable", 503), Retry.TRANSIENT),
        (client_error("InternalServerError", 500), Retry.TRANSIENT),
        (client_error("SomethingNew", 502), Retry.TRANSIENT),  # any 5xx
        (
            client_error(
                "TransactionCanceledException", CancellationReasons=[{"Code": "None"}, {"Code": "TransactionConflict"}]
            ),
            Retry.TRANSIENT,
        ),
        (
            client_error("TransactionCanceledException", CancellationReasons=[{"Code": "ThrottlingError"}]),
            Retry.TRANSIENT,
        ),
        (
            client_error("TransactionCanceledException", CancellationReasons=[{"Code": "ValidationError"}]),
            Retry.PERMANENT,
        ),
        (
            client_error("TransactionCanceledException", CancellationReasons=[{"Code": "ConditionalCheckFailed"}]),
            Retry.UNKNOWN,
        ),
        (
            ClientError(
                {
                    "Error": {
                        "Code": "TransactionCanceledException",
                        "Message": "Transaction cancelled, please refer cancellation reasons for specific reasons [None, TransactionConflict]",
                    }
                },
                "TransactWriteItems",
            ),
            Retry.TRANSIENT,
        ),
        (client_error("ConditionalCheckFailedException"), Retry.UNKNOWN),  # its caller decides
        (client_error("ValidationException"), Retry.PERMANENT),
        (client_error("AccessDeniedException"), Retry.PERMANENT),
        (ReadTimeoutError(endpoint_url="https://x"), Retry.TRANSIENT),
        (ConnectTimeoutError(endpoint_url="https://x"), Retry.TRANSIENT),
        (EndpointConnectionError(endpoint_url="https://x"), Retry.TRANSIENT),
        (TimeoutError(), Retry.TRANSIENT),
        (ConcurrentUpdate("lost"), Retry.TRANSIENT),
        (errors.DirectoryBusy("busy"), Retry.TRANSIENT),
        (errors.IncidentNotFound("x"), Retry.PERMANENT),
        (errors.PermanentMessageError("x"), Retry.PERMANENT),
        (RuntimeError("a bug"), Retry.UNKNOWN),
        (KeyError("a bug"), Retry.UNKNOWN),
    ],
    ids=lambda v: v.value if isinstance(v, Retry) else type(v).__name__,
)
def test_classify(error, expected):
    assert classify(error) is expected


def test_pynamodb_wrappers_are_judged_by_what_aws_answered():
    assert (
        classify(PutError("put failed", cause=client_error("ProvisionedThroughputExceededException")))
        is Retry.TRANSIENT
    )
    assert classify(PutError("put failed", cause=client_error("ValidationException"))) is Retry.PERMANENT
    conflict = client_error("TransactionCanceledException", CancellationReasons=[{"Code": "TransactionConflict"}])
    assert classify(TransactWriteError("transaction failed", cause=conflict)) is Retry.TRANSIENT


def test_invalid_messages_are_permanent():
    class Message(BaseModel):
        incident_id: str

    with pytest.raises(ValidationError) as caught:
        Message.model_validate({})
    assert classify(caught.value) is Retry.PERMANENT


class Level(BaseModel):
    delay_minutes: float


class Policy(BaseModel):
    id: str
    levels: list[Level]


def test_field_problems_name_each_field_with_its_position():
    with pytest.raises(ValidationError) as caught:
        Policy.model_validate({"levels": [{"delay_minutes": 1}, {"delay_minutes": "soon"}]})
    assert field_problems(caught.value, prefix=("body",)) == [
        FieldProblem("body.id", "Field required"),
        FieldProblem(
            "body.levels[1].delay_minutes", "Input should be a valid number, unable to parse string as a number"
        ),
    ]


def test_field_problems_drop_pydantics_value_error_prefix():
    class Window(BaseModel):
        end: int

        def model_post_init(self, _: object) -> None:
            if self.end < 0:
                raise ValueError("end must be after start")

    with pytest.raises(ValidationError) as caught:
        Window.model_validate({"end": -1})
    assert [p.problem for p in field_problems(caught.value)] == ["end must be after start"]
