"""The local runtime's moto behaves as AWS does where firebell relies on it (infra/local/moto_patches.py)."""

from __future__ import annotations

import json
import threading

import boto3
import pytest
from moto import mock_aws

from infra.local.moto_patches import install_local_patches

WAIT_AN_HOUR = {"StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": 3600, "End": True}}}


@pytest.fixture
def stepfunctions(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(variable, "testing")
    install_local_patches()
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        yield boto3.client("stepfunctions", region_name="us-east-1")


def test_a_stop_right_after_the_start_stops_the_run(
    stepfunctions,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    # Given a run whose worker thread has not built its environment yet when StopExecution arrives (held until the
    # stop is on its way, as a loaded machine holds it)
    from moto.stepfunctions.parser.backend.execution import Execution
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

    stop_arrived = threading.Event()
    parse = ExecutionWorker._get_evaluation_entrypoint
    monkeypatch.setattr(ExecutionWorker, "_get_evaluation_entrypoint", lambda self: stop_arrived.wait() and parse(self))
    stop = Execution.stop

    def stop_arriving(self, **kwargs):  # type: ignore[no-untyped-def]
        stop_arrived.set()
        return stop(self, **kwargs)

    monkeypatch.setattr(Execution, "stop", stop_arriving)
    machine = stepfunctions.create_state_machine(
        name="wait", definition=json.dumps(WAIT_AN_HOUR), roleArn="arn:aws:iam::123456789012:role/sfn"
    )["stateMachineArn"]
    run = stepfunctions.start_execution(stateMachineArn=machine)["executionArn"]

    # When it is stopped at once
    stepfunctions.stop_execution(executionArn=run)

    # Then the stop is answered as AWS answers it, and the run ends ABORTED rather than waiting out its hour
    assert stepfunctions.describe_execution(executionArn=run)["status"] == "ABORTED"


def test_a_query_of_the_table_reads_its_partition_alone_and_answers_as_before(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from moto.dynamodb.models.table import Table

    for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(variable, "testing")
    install_local_patches()
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        dynamodb.create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        # Given a small partition among many items of others
        for n in range(300):
            dynamodb.put_item(TableName="t", Item={"pk": {"S": f"OTHER#{n % 7}"}, "sk": {"S": f"{n:04d}"}})
        for sk in ("c", "a", "b", "d"):
            dynamodb.put_item(TableName="t", Item={"pk": {"S": "MINE"}, "sk": {"S": sk}, "v": {"N": "1"}})
        every_item_read = []
        all_items = Table.all_items
        monkeypatch.setattr(Table, "all_items", lambda self: every_item_read.append(1) or all_items(self))

        def query(**extra):  # type: ignore[no-untyped-def]
            answer = dynamodb.query(
                **{
                    "TableName": "t",
                    "KeyConditionExpression": "pk = :pk AND sk < :to",
                    "ExpressionAttributeValues": {":pk": {"S": "MINE"}, ":to": {"S": "d"}},
                    **extra,
                }
            )
            return [item["sk"]["S"] for item in answer["Items"]], answer.get("LastEvaluatedKey")

        # When it is queried, in either order and by pages: what DynamoDB answers
        assert query() == (["a", "b", "c"], None)
        assert query(ScanIndexForward=False, Limit=2) == (
            ["c", "b"],
            {"pk": {"S": "MINE"}, "sk": {"S": "b"}},
        )
        assert query(ExclusiveStartKey={"pk": {"S": "MINE"}, "sk": {"S": "a"}}) == (["b", "c"], None)
        assert query(KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": {"S": "NOBODY"}}) == (
            [],
            None,
        )
        # Then without reading the table's every item (moto's own query did, for each one)
        assert every_item_read == []
