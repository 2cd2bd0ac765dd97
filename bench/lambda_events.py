"""Representative events for each function, in the formats events/ holds, against the rendered topology
(bench/lambda_like.py). What an event needs in the table first (an opened incident for classify, a classified one
for notify and for the API's reads and acknowledgements) is made here, through the use cases, before the child
that handles the event starts: only the child is measured.

- intake: a new alarm each (an SNS-wrapped CloudWatch notification, one record, as a quiet pipeline sees them);
  in longer runs every third is a repeat of the previous alarm and every fourth the OK of an earlier one.
- classify: incident.opened of a freshly opened incident.
- notify: the escalation state machine's level-1 page request for a freshly classified incident (its plan read
  back from the execution that classify started).
- api: POST /incidents by an IAM caller (events/api/create-incident.json); in longer runs also the list, one
  incident, its timeline and an acknowledgement, in turn.
- outbox: EventBridge's scheduled event (nothing left pending: the usual case).
- webhooks: incident.opened of a freshly opened incident, as the events topic delivers it (no subscription in the
  shipped config: the event is read and nothing is posted).
- chat: the same, for the chat function (no chat channel in the shipped config).
- mail: a new report to the intake address (events/email/report.eml) with the verdicts and authentication results
  SES prepends (tests/unit/mail/README.md), stored in the mail bucket as SES's S3 action stores it; the event is
  the S3 notification that moto's bucket sent to the mail queue, received from it.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from typing import Any

from infra.topology import ROOT, TOPOLOGY

EVENTS = ROOT / "events"


def _fixture(path: str) -> dict[str, Any]:
    return json.loads((EVENTS / path).read_text())


class Events:
    def __init__(self, resources: dict) -> None:
        from bench.storm import sns_envelope_template

        self._resources = resources
        self._envelope = sns_envelope_template(resources)  # what SNS really delivers to the intake queue
        self._alarm = _fixture("cloudwatch/alarm-state-alarm.json")
        self._ok = _fixture("cloudwatch/alarm-state-ok.json")
        self._report = _fixture("api/create-incident.json")

    def for_function(self, name: str, count: int) -> list[dict[str, Any]]:
        return [getattr(self, f"_{name}")(i) for i in range(count)]

    # --- what the events need --------------------------------------------------------------------------

    def _alarm_named(self, name: str, ok: bool = False) -> dict[str, Any]:
        template = self._ok if ok else self._alarm
        arn = template["AlarmArn"].rsplit(":", 1)[0]
        return {**template, "AlarmName": name, "AlarmArn": f"{arn}:{name}"}

    def _record(self, queue: str, message: dict[str, Any]) -> dict[str, Any]:
        from infra.local.render import sqs_lambda_record

        return sqs_lambda_record(message, self._resources[("queue_arn", queue)])

    def _sqs_message(self, body: str) -> dict[str, Any]:
        now = str(int(time.time() * 1000))
        attributes = {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": now,
            "ApproximateFirstReceiveTimestamp": now,
            "SenderId": "AIDAIENQZJOLO23YVJ4VO",
        }
        return {
            "MessageId": str(uuid.uuid4()),
            "ReceiptHandle": uuid.uuid4().hex,
            "Body": body,
            "Attributes": attributes,
        }

    def _as(self, function: str):
        from firebell.container import running_as
        from infra.local.render import own_environment

        return running_as(function, {**os.environ, **own_environment(TOPOLOGY.function(function), self._resources)})

    def _open(self) -> Any:
        """A new incident, opened by intake's use case from a new alarm."""
        from bench.storm import alarm_message
        from firebell import wiring
        from functions.intake.app import alarm_details

        message = alarm_message(
            self._alarm_named(f"bench-seed-{uuid.uuid4().hex[:8]}"), self._envelope, int(time.time() * 1000)
        )
        with self._as("intake"):
            alarm, message_id = alarm_details(message["Body"])
            _, incident_id = wiring.intake().handle_alarm(alarm, message_id=message_id)
            return wiring.incidents().get(incident_id)

    def _classified(self) -> Any:
        from firebell import wiring

        incident = self._open()
        with self._as("classify"):
            return wiring.escalation().classify(incident.incident_id).incident

    # --- per function ----------------------------------------------------------------------------------

    def _intake(self, i: int) -> dict[str, Any]:
        from bench.storm import alarm_message

        if i == 0:
            self._names: list[str] = []
        if i % 4 == 3:
            name, ok = self._names[i - 3], True  # the OK of an alarm opened earlier
        elif i % 4 == 2:
            name, ok = self._names[i - 1], False  # the same alarm again: counted, not opened
        else:
            name, ok = f"bench-alarm-{uuid.uuid4().hex[:8]}", False
        self._names.append(name)
        alarm = self._alarm_named(name, ok)
        return {"Records": [self._record("intake", alarm_message(alarm, self._envelope, int(time.time() * 1000)))]}

    def _opened(self, queue: str) -> dict[str, Any]:
        """incident.opened of a freshly opened incident, as the events topic delivers it to `queue`."""
        incident = self._open()
        body = {
            "type": "incident.opened",
            "incident_id": incident.incident_id,
            "reference": incident.reference,
            "occurred_at": incident.opened_at.isoformat(),
        }
        return {"Records": [self._record(queue, self._sqs_message(json.dumps(body)))]}

    def _classify(self, _: int) -> dict[str, Any]:
        return self._opened("classify")

    def _notify(self, _: int) -> dict[str, Any]:
        import boto3

        incident = self._classified()
        execution = incident.escalation.execution_arn
        plan = json.loads(
            boto3.client("stepfunctions", region_name="us-east-1").describe_execution(executionArn=execution)["input"]
        )
        body = {
            "type": "escalation.page",
            "execution": execution,
            "incident_id": incident.incident_id,
            "level": plan["levels"][0],
            "round": 1,
            "retrigger": False,
            "task_token": uuid.uuid4().hex * 4,
        }
        return {"Records": [self._record("notify", self._sqs_message(json.dumps(body)))]}

    def _api(self, i: int) -> dict[str, Any]:
        event = dict(self._report)  # (only its top-level keys are replaced)
        event["requestContext"] = {
            **event["requestContext"],
            "requestId": str(uuid.uuid4()),
            "requestTimeEpoch": int(time.time() * 1000),
        }
        kind = i % 5
        if kind == 0:
            return event
        path = "/incidents"
        if kind in (2, 3, 4):
            path += f"/{self._classified().reference}" + {2: "", 3: "/timeline", 4: "/acknowledge"}[kind]
        method = "POST" if kind == 4 else "GET"
        event["requestContext"] = {**event["requestContext"], "httpMethod": method, "path": f"/prod{path}"}
        return {
            **event,
            "path": path,
            "httpMethod": method,
            "pathParameters": {"proxy": path[1:]},
            "body": "{}" if method == "POST" else None,
        }

    def _webhooks(self, _: int) -> dict[str, Any]:
        return self._opened("webhooks")

    def _chat(self, _: int) -> dict[str, Any]:
        return self._opened("chat")

    def _mail(self, i: int) -> dict[str, Any]:
        import boto3

        from infra.local.mail import SesReceiving

        sender, recipient = "alice@example.com", "incidents@example.com"
        ses_headers = (
            "X-SES-Spam-Verdict: PASS\r\nX-SES-Virus-Verdict: PASS\r\n"
            f"Authentication-Results: amazonses.com;\r\n spf=pass client-ip=192.0.2.10; envelope-from={sender};\r\n"
            " dkim=pass header.i=@example.com;\r\n dmarc=pass header.from=example.com;\r\n"
        )
        report = (EVENTS / "email" / "report.eml").read_text().replace("docs-report-1", f"bench-{uuid.uuid4().hex}")
        SesReceiving("us-east-1").store(sender, [recipient], (ses_headers + report).encode(), "mail.example.com", "")
        sqs, url = boto3.client("sqs", region_name="us-east-1"), self._resources[("queue_url", "mail")]
        while True:  # (past the s3:TestEvent a bucket sends when its notifications are configured)
            (message,) = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, WaitTimeSeconds=10)["Messages"]
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            if "ObjectCreated" in message["Body"]:
                return {"Records": [self._record("mail", message)]}

    def _outbox(self, _: int) -> dict[str, Any]:
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": "123456789012",
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "region": "us-east-1",
            "resources": ["arn:aws:events:us-east-1:123456789012:rule/firebell-outbox"],
            "detail": {},
        }
