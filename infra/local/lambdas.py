"""Lambda, locally: a function's handler imported once and invoked in-process with its own environment and role,
one invocation at a time (one container), and what triggers it: the SQS event source mapping (a poller per queue
trigger) and EventBridge schedules."""

from __future__ import annotations

import importlib
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3

from firebell.container import running_as
from infra.local import faults
from infra.local.render import ACCOUNT_ID, REGION, Resources, own_environment, rendered, sqs_lambda_record
from infra.topology import FunctionSpec, QueueTrigger

log = logging.getLogger("firebell.local")


@dataclass
class LambdaContext:
    """Enough of Lambda's context object for powertools."""

    function_name: str
    memory_limit_in_mb: int
    timeout_seconds: int
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    _deadline: float = 0.0

    def __post_init__(self) -> None:
        self.invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{self.function_name}"
        self.function_version = "$LATEST"
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + self.timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class LocalFunction:
    """One function 'container': its handler imported once, one invocation at a time (like one Lambda instance)."""

    def __init__(self, spec: FunctionSpec, resources: Resources | None = None) -> None:
        self.spec = spec
        # Its own variables only, over the process's common ones: a variable it was not given fails here too.
        self.environment = own_environment(spec, resources if resources is not None else rendered())
        self._handler: Callable[[dict, Any], Any] = getattr(
            importlib.import_module(spec.module), spec.handler.rsplit(".", 1)[1]
        )
        self._lock = threading.Lock()
        self.invocations = 0
        self.errors = 0

    def invoke(self, event: dict) -> Any:
        with self._lock:
            self.invocations += 1
            context = LambdaContext(self.spec.name, self.spec.memory_mb, self.spec.timeout_seconds)
            try:
                environment = {**os.environ, **self.environment}
                # The AWS calls made in here are the handler's, with its environment and its role.
                with faults.handler_scope(self.spec.name), running_as(self.spec.name, environment):
                    return self._handler(event, context)
            except Exception:
                self.errors += 1
                raise


class QueuePoller(threading.Thread):
    """Lambda's SQS event source mapping, locally: long-poll, invoke with a batch, delete what succeeded."""

    def __init__(
        self, function: LocalFunction, trigger: QueueTrigger, queue_url: str, queue_arn: str, stop: threading.Event
    ) -> None:
        super().__init__(name=f"poller-{trigger.queue}", daemon=True)
        self._function = function
        self._trigger = trigger
        self._queue_url = queue_url
        self._queue_arn = queue_arn
        self._stopping = stop
        self._sqs = boto3.client("sqs", region_name=REGION)

    def run(self) -> None:
        while not self._stopping.is_set():
            try:
                self._poll_once()
            except Exception:  # a broken batch must not stop the pipeline; the messages stay queued
                log.exception("poller %s failed", self._trigger.queue)
                self._stopping.wait(1)

    def _poll_once(self) -> None:
        messages = self._sqs.receive_message(
            QueueUrl=self._queue_url,
            MaxNumberOfMessages=self._trigger.batch_size,
            WaitTimeSeconds=1,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return
        event = {"Records": [sqs_lambda_record(m, self._queue_arn) for m in messages]}
        try:
            response = self._function.invoke(event) or {}
        except Exception:
            log.exception("%s failed on a batch of %d; it will be retried", self._function.spec.name, len(messages))
            return
        failed = {item["itemIdentifier"] for item in response.get("batchItemFailures", [])}
        done = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(done), 10):
            self._sqs.delete_message_batch(
                QueueUrl=self._queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done[start : start + 10])
                ],
            )


class SchedulePoller(threading.Thread):
    """An EventBridge schedule, locally: invoke the function every `interval` seconds until stopped."""

    def __init__(self, function: LocalFunction, interval: float, stop: threading.Event) -> None:
        super().__init__(name=f"schedule-{function.spec.name}", daemon=True)
        self._function = function
        self._interval = interval
        self._stopping = stop

    def run(self) -> None:
        while not self._stopping.wait(self._interval):
            try:
                self._function.invoke({"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}})
            except Exception:
                log.exception("scheduled %s failed", self._function.spec.name)
