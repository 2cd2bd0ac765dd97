"""The fault injector itself (infra/local/faults.py), on moto's in-process mock: it must fault only the
handlers' calls, count what it injects, and place each fault before or after the call's effect."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator

import boto3
import botocore.session
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError
from moto import mock_aws
from pynamodb.connection import Connection

from firebell import wiring
from infra.local.faults import FaultInjector, handler_scope, install_from_env

REGION = "us-east-1"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        yield


@pytest.fixture
def injector() -> Iterator[FaultInjector]:
    made: list[FaultInjector] = []

    def make(kinds: tuple[str, ...], rate: float = 1.0) -> FaultInjector:
        made.append(FaultInjector(rate, seed=3, kinds=kinds).install())
        # As in the local runtime, where it is installed before any client is made: the process's clients
        # (pynamodb's shared one too) are made from here on, hooked. An earlier test's would not be.
        wiring.reset()
        return made[-1]

    yield make  # type: ignore[misc]
    for one in made:
        one.uninstall()


def queue() -> tuple[object, str]:
    """A handler-style client (botocore session, as adapters/aws.py makes them) and a queue URL."""
    sqs = botocore.session.get_session().create_client("sqs", region_name=REGION)
    return sqs, boto3.client("sqs", region_name=REGION).create_queue(QueueName="faults")["QueueUrl"]


def messages_in(url: str) -> int:
    attributes = boto3.client("sqs", region_name=REGION).get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
    )
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


def test_a_before_call_fault_is_counted_and_leaves_no_effect(aws: None, injector) -> None:
    faults = injector(("throttling",))
    sqs, url = queue()

    with handler_scope("notify"), pytest.raises(ClientError) as raised:
        sqs.send_message(QueueUrl=url, MessageBody="page")

    assert raised.value.response["Error"]["Code"] == "ThrottlingException"
    assert messages_in(url) == 0
    assert faults.snapshot()["by_operation"] == {"sqs.SendMessage": 1}
    assert faults.snapshot()["by_kind"] == {"throttling": 1}


def test_an_after_call_fault_leaves_the_effect_and_raises_a_read_timeout(aws: None, injector) -> None:
    faults = injector(("read_timeout_after_effect",))
    sqs, url = queue()

    with handler_scope("notify"), pytest.raises(ReadTimeoutError):
        sqs.send_message(QueueUrl=url, MessageBody="page")

    assert messages_in(url) == 1
    assert faults.snapshot()["faults_injected"] == 1


def test_connection_errors_and_5xx_bypass_the_sdk_retries(aws: None, injector) -> None:
    faults = injector(("connection_error",))
    sqs, url = queue()  # clients made after install are hooked
    with handler_scope("classify"), pytest.raises(EndpointConnectionError):
        sqs.send_message(QueueUrl=url, MessageBody="x")
    faults.uninstall()
    faults = injector(("service_unavailable",))
    sqs, _ = queue()  # a client made under the second injector
    with handler_scope("classify"), pytest.raises(ClientError) as raised:
        sqs.send_message(QueueUrl=url, MessageBody="x")
    # One attempt, no retry: botocore would have retried a real 503 up to its retry budget.
    assert raised.value.response["ResponseMetadata"]["RetryAttempts"] == 0
    assert raised.value.response["Error"]["Code"] == "ServiceUnavailable"
    assert messages_in(url) == 0


def test_calls_outside_a_handler_are_never_faulted(aws: None, injector) -> None:
    faults = injector(("throttling",))
    sqs, url = queue()

    sqs.send_message(QueueUrl=url, MessageBody="the test driver's own call")

    assert messages_in(url) == 1
    assert faults.snapshot()["faults_injected"] == 0 and faults.snapshot()["eligible_calls"] == 0


def test_work_a_handler_runs_at_once_is_faulted_as_its_own_and_other_threads_are_not(aws: None, injector) -> None:
    from firebell.concurrency import run_at_once

    faults = injector(("throttling",))
    sqs, url = queue()

    def send() -> None:
        sqs.send_message(QueueUrl=url, MessageBody="sent")

    # A thread of its own (as moto's Step Functions engine starts them): not the handler's, even while it runs
    outside = threading.Thread(target=send)
    with handler_scope("notify"):
        outside.start()
        outside.join()
        # The handler's work on threads of its own (firebell/concurrency.py: the opening's reads, the effects' lanes)
        answers = run_at_once([send, send])

    assert messages_in(url) == 1  # the outside thread's
    assert all(isinstance(a, ClientError) for a in answers), answers
    assert faults.snapshot()["faults_injected"] == 2


def test_pynamodb_clients_are_hooked_too(aws: None, injector) -> None:
    boto3.client("dynamodb", region_name=REGION).create_table(
        TableName="t",
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
    )
    faults = injector(("throttling",))
    connection = Connection(region=REGION)
    connection.describe_table("t")  # pynamodb reads the key schema first; outside a handler: not faulted

    with handler_scope("intake"), pytest.raises(Exception) as raised:
        connection.put_item("t", "INCIDENT#1", attributes={"title": {"S": "x"}})

    assert "ProvisionedThroughputExceededException" in str(raised.value)
    assert boto3.client("dynamodb", region_name=REGION).scan(TableName="t")["Count"] == 0
    assert faults.snapshot()["by_operation"] == {"dynamodb.PutItem": 1}


def test_a_delivered_email_never_gets_a_timeout_after_it(aws: None, injector) -> None:
    # SES takes no idempotency key: a timeout after delivery is the window issue 7 allows to repeat a page.
    boto3.client("ses", region_name=REGION).verify_email_identity(EmailAddress="firebell@example.com")
    faults = injector(("read_timeout_after_effect",))
    ses = botocore.session.get_session().create_client("ses", region_name=REGION)

    with handler_scope("notify"):
        ses.send_email(
            Source="firebell@example.com",
            Destination={"ToAddresses": ["a@example.com"]},
            Message={"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "b"}}},
        )

    assert faults.snapshot()["faults_injected"] == 0 and faults.snapshot()["eligible_calls"] == 1


def test_the_rate_and_the_seed_decide_the_faults(aws: None, injector) -> None:
    def run() -> tuple[int, dict]:
        faults = FaultInjector(0.1, seed=11, kinds=("throttling", "internal_error")).install()
        sqs, url = queue()
        failed = 0
        with handler_scope("intake"):
            for i in range(400):
                try:
                    sqs.send_message(QueueUrl=url, MessageBody=str(i))
                except ClientError:
                    failed += 1
        faults.uninstall()
        return failed, faults.snapshot()["by_kind"]

    first, second = run(), run()
    assert first == second  # one thread: the same seed gives the same faults
    assert 20 <= first[0] <= 60  # ~10 % of 400


def test_the_runtime_opts_in_only_when_asked() -> None:
    assert install_from_env({}) is None
    assert install_from_env({"FIREBELL_FAULT_RATE": "0"}) is None  # the harness's control run: no injector
    installed = install_from_env({"FIREBELL_FAULT_RATE": "0.2", "FIREBELL_FAULT_SEED": "5"})
    try:
        assert installed is not None and (installed.rate, installed.seed) == (0.2, 5)
    finally:
        installed.uninstall()
    assert "FIREBELL_FAULT_RATE" not in os.environ  # nothing read or set at import time
