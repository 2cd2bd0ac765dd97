"""The storm rule under concurrency: N copies of one alarm arriving at once give one incident seen N times,
announced once, paged once, each batch's copies costing one DynamoDB write; and a batch whose write fails midway
comes back and counts exactly.

moto applies a DynamoDB write in several Python steps without a lock (read the item, check the condition,
write it back), so concurrent writes to one item can lose an ADD or let two conditional creates both
succeed; DynamoDB applies each single-item write atomically, and firebell relies on exactly that. The
`item_atomic_dynamodb` fixture gives moto that guarantee with one lock around its DynamoDB handler.
bench/storm.py runs the same storm at scale (10,000 copies) against moto's server.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections import Counter
from collections.abc import Iterator

import pytest

from infra.local.lambdas import LocalFunction
from infra.topology import TOPOLOGY
from tests.integration.conftest import CONTACTS, Pipeline, another_copy, load_event

COPIES = 200
WORKERS = 16
BATCH_SIZE = 10  # the intake trigger's batch size
WRITE_OPERATIONS = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})


@pytest.fixture
def item_atomic_dynamodb() -> None:
    from infra.local.moto_patches import serialise_dynamodb

    serialise_dynamodb()  # already done by the pipeline fixture; named here because the storm depends on it


@pytest.fixture
def metrics_namespace(monkeypatch: pytest.MonkeyPatch) -> None:
    """The functions' metrics namespace, as the stack and the local runtime set it (POWERTOOLS_METRICS_NAMESPACE).

    With POWERTOOLS_METRICS_DISABLED, powertools skips the per-invocation flush and so never empties its
    process-wide metric set; at the 100th value of one metric it serialises the set anyway, which raises
    SchemaValidationError without a namespace and fails the record being handled. A storm gets there.
    """
    import importlib

    for spec in TOPOLOGY.functions:
        provider = importlib.import_module(spec.module).metrics.provider
        monkeypatch.setattr(provider, "namespace", "firebell")


class AlarmCosts:
    """Per group of one alarm's copies intake handled (AlertIntake.handle_group): its outcomes and the DynamoDB
    writes made while handling it (failed conditions too)."""

    def __init__(self) -> None:
        self._local = threading.local()
        self._lock = threading.Lock()
        self.handled: list[tuple[list[str], int]] = []

    def count(self, operation: str) -> None:
        charged = getattr(self._local, "writes", None)
        if charged is not None and operation in WRITE_OPERATIONS:
            self._local.writes = charged + 1

    def start(self) -> None:
        self._local.writes = 0

    def finish(self, outcomes: list[str]) -> None:
        writes, self._local.writes = self._local.writes, None
        with self._lock:
            self.handled.append((outcomes, writes))

    def outcomes(self) -> Counter[str]:
        return Counter(outcome for outcomes, _ in self.handled for outcome in outcomes)

    def repeat_groups(self) -> list[tuple[int, int]]:
        """(copies, writes) of each group that only counted repeats."""
        return [(len(outcomes), writes) for outcomes, writes in self.handled if set(outcomes) == {"deduplicated"}]


@pytest.fixture
def alarm_costs(monkeypatch: pytest.MonkeyPatch) -> Iterator[AlarmCosts]:
    from botocore.client import BaseClient

    from firebell.usecases.intake import AlertIntake

    costs = AlarmCosts()
    make_api_call, handle_group = BaseClient._make_api_call, AlertIntake.handle_group

    def counting_api_call(client, operation_name, api_params):  # type: ignore[no-untyped-def]
        if client.meta.service_model.service_name == "dynamodb":
            costs.count(operation_name)
        return make_api_call(client, operation_name, api_params)

    def costed_handle_group(service, group, redelivered):  # type: ignore[no-untyped-def]
        costs.start()
        try:
            results = handle_group(service, group, redelivered)
        except BaseException:
            costs.finish(["failed"] * len(group.arrivals))
            raise
        costs.finish([str(outcome) for outcome, _ in results])
        return results

    monkeypatch.setattr(BaseClient, "_make_api_call", counting_api_call)
    monkeypatch.setattr(AlertIntake, "handle_group", costed_handle_group)
    yield costs


def the_same_alarm(pipeline: Pipeline, copies: int) -> list[dict]:
    """`copies` SQS records of the sample ALARM notification, each its own SNS and SQS message (as N publishes make)."""
    queue_arn = pipeline.resources[("queue_arn", "intake")]
    return [
        {**another_copy(load_event("sqs/intake-alarm.json"))["Records"][0], "eventSourceARN": queue_arn}
        for _ in range(copies)
    ]


def deliver_concurrently(records: list[dict], workers: int) -> list[dict]:
    """`workers` intake instances (one invocation at a time each, like Lambda) take batches off one queue, all at once."""
    batches: queue.Queue[list[dict]] = queue.Queue()
    for start in range(0, len(records), BATCH_SIZE):
        batches.put(records[start : start + BATCH_SIZE])
    ready = threading.Barrier(workers)
    responses: list[dict] = []
    errors: list[BaseException] = []

    def worker(function: LocalFunction) -> None:
        ready.wait()
        while True:
            try:
                batch = batches.get_nowait()
            except queue.Empty:
                return
            try:
                responses.append(function.invoke({"Records": batch}))
            except BaseException as error:
                errors.append(error)

    threads = [
        threading.Thread(target=worker, args=(LocalFunction(TOPOLOGY.function("intake")),)) for _ in range(workers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "an intake worker did not finish"
    if errors:
        raise errors[0]
    return responses


def timeline_kinds(pipeline: Pipeline) -> list[str]:
    status, timeline = pipeline.api("GET", "/incidents/INC-1/timeline")
    assert status == 200
    return [entry["kind"] for entry in timeline["items"]]


def play_notify(pipeline: Pipeline, seconds: float) -> None:
    """The notify event source mapping, for `seconds`: every message on the queue goes to notify."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        event = pipeline.queued("notify", wait_seconds=0.3)
        if event["Records"]:
            assert pipeline.invoke("notify", event) == {"batchItemFailures": []}


def test_concurrent_copies_of_one_alarm_open_one_incident_counted_n_times_and_page_once(
    pipeline: Pipeline, item_atomic_dynamodb: None, metrics_namespace: None, alarm_costs: AlarmCosts
) -> None:
    # Given 200 copies of the same CloudWatch alarm, each its own SQS message from the alarms topic
    records = the_same_alarm(pipeline, COPIES)

    # When 16 intake instances handle them at the same time, in batches of 10
    responses = deliver_concurrently(records, WORKERS)

    # Then every copy was handled (none left to retry): one opened the incident, the rest counted as repeats
    assert len(responses) == COPIES // BATCH_SIZE
    assert all(response == {"batchItemFailures": []} for response in responses)
    assert alarm_costs.outcomes() == {"opened": 1, "deduplicated": COPIES - 1}
    assert pipeline.dead_letters()["intake-dlq"] == []

    # And there is exactly one incident, and it says it was seen 200 times
    status, page = pipeline.api("GET", "/incidents")
    assert status == 200
    assert [incident["reference"] for incident in page["items"]] == ["INC-1"]
    status, incident = pipeline.api("GET", "/incidents/INC-1")
    assert status == 200
    assert incident["occurrences"] == COPIES
    assert incident["status"] == "triggered"

    # And each batch's copies cost one DynamoDB write together: the dedup pointer's count with the notifications'
    # markers, one transaction, plus now and then a (throttled) occurrence entry on the timeline for the whole storm
    repeats = alarm_costs.repeat_groups()
    assert min(writes for _, writes in repeats) == 1
    assert sum(writes for _, writes in repeats) / sum(copies for copies, _ in repeats) <= 0.25, repeats
    assert timeline_kinds(pipeline).count("occurrence") <= 1

    # And classify (the only road to paging) heard of it exactly once
    opened = pipeline.queued("classify", wait_seconds=15, expect=2)
    assert [json.loads(record["body"])["type"] for record in opened["Records"]] == ["incident.opened"]
    assert json.loads(opened["Records"][0]["body"])["incident_id"] == incident["incident_id"]

    # When classify handles it and notify handles whatever the escalation asks for
    assert pipeline.invoke("classify", opened) == {"batchItemFailures": []}
    deadline = time.monotonic() + 10
    while "paged" not in timeline_kinds(pipeline):
        assert time.monotonic() < deadline, "level 1 was never paged"
        play_notify(pipeline, 0.5)
    play_notify(pipeline, 2.0)  # anything else the storm might have set off

    # Then one escalation runs and level 1 was paged once: whoever is on call got one email and one SMS,
    # and nobody got anything twice
    machine = pipeline.resources[("state_machine", "escalation")]
    assert len(pipeline.client("stepfunctions").list_executions(stateMachineArn=machine)["executions"]) == 1
    assert timeline_kinds(pipeline).count("paged") == 1
    _, on_call = pipeline.api("GET", "/schedules/platform-primary/on-call")
    email, phone = CONTACTS[on_call["person"]["id"]]
    received = Counter((message["channel"], recipient) for message in pipeline.outbox() for recipient in message["to"])
    assert received[("email", email)] == 1 and received[("sms", phone)] == 1
    assert max(received.values()) == 1, received


def renamed(record: dict, name: str) -> dict:
    """The record's notification as another alarm of the same account sends it."""
    body = json.loads(record["body"])
    message = json.loads(body["Message"])
    message.update(AlarmName=name, AlarmArn=message["AlarmArn"].rsplit(":", 1)[0] + f":{name}")
    body["Message"] = json.dumps(message)
    return {**record, "body": json.dumps(body)}


@pytest.fixture
def counting_write_faults(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Faults for the transactions that count an alarm's notifications (markers and count), in the order given:
    (dedup key, "after": the write takes effect, then the call times out | "before": it fails before reaching
    DynamoDB). Every other call goes through."""
    from botocore.client import BaseClient
    from botocore.exceptions import EndpointConnectionError, ReadTimeoutError

    faults: list[tuple[str, str]] = []
    make_api_call = BaseClient._make_api_call

    def faulty_api_call(client, operation_name, api_params):  # type: ignore[no-untyped-def]
        puts = [item["Put"]["Item"] for item in api_params.get("TransactItems", []) if "Put" in item]
        counting = {put["pk"]["S"] for put in puts if put["sk"]["S"].startswith("MSG#")}
        if operation_name == "TransactWriteItems" and faults and f"DEDUP#{faults[0][0]}" in counting:
            _, when = faults.pop(0)
            if when == "before":
                raise EndpointConnectionError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com")
            make_api_call(client, operation_name, api_params)
            raise ReadTimeoutError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com")
        return make_api_call(client, operation_name, api_params)

    monkeypatch.setattr(BaseClient, "_make_api_call", faulty_api_call)
    return faults


def test_a_batch_whose_alarm_write_fails_midway_is_redelivered_and_counted_exactly(
    pipeline: Pipeline, counting_write_faults: list[tuple[str, str]]
) -> None:
    from firebell.batch import TRIES_IN_PLACE

    # Given a batch of 10: 7 copies of one alarm with 3 copies of another among them
    copies = the_same_alarm(pipeline, 10)
    stormed = json.loads(json.loads(copies[0]["body"])["Message"])["AlarmArn"]
    batch = copies[:3] + [renamed(r, "orders-latency") for r in copies[3:6]] + copies[6:]
    stormed_ids = [r["messageId"] for n, r in enumerate(batch) if not 3 <= n < 6]
    # and the stormed alarm's counting write takes effect but times out, then fails on each try in place
    counting_write_faults += [(stormed, "after")] + [(stormed, "before")] * (TRIES_IN_PLACE - 1)

    # When intake handles the batch
    response = pipeline.invoke("intake", {"Records": batch})

    # Then the stormed alarm's 7 records, and only they, go back to the queue; the other alarm's were handled
    assert sorted(f["itemIdentifier"] for f in response["batchItemFailures"]) == sorted(stormed_ids)
    assert counting_write_faults == []
    status, page = pipeline.api("GET", "/incidents")
    assert status == 200 and [i["title"].split(":")[0] for i in page["items"]] == ["orders-latency"]

    # When SQS delivers the 7 again
    again = [
        {**r, "attributes": {**r["attributes"], "ApproximateReceiveCount": "2"}}
        for r in batch
        if r["messageId"] in stormed_ids
    ]
    assert pipeline.invoke("intake", {"Records": again}) == {"batchItemFailures": []}

    # Then each alarm has one incident, seen exactly as often as it was sent (the first write's count is not doubled)
    status, page = pipeline.api("GET", "/incidents")
    assert status == 200 and len(page["items"]) == 2
    seen = {}
    for item in page["items"]:
        status, incident = pipeline.api("GET", f"/incidents/{item['reference']}")
        seen[incident["title"].split(":")[0]] = incident["occurrences"]
    assert seen == {"checkout-5xx-rate": 7, "orders-latency": 3}
    assert pipeline.dead_letters()["intake-dlq"] == []
