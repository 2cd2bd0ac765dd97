"""AWS-backed implementations of the ports. The only place (with data/) that talks to AWS SDKs."""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from functools import cache
from typing import Any

import botocore.session
from botocore.exceptions import ClientError

from ..domain.audience import NOT_WANTED, WANTED
from ..domain.enums import TaskOutcome
from ..domain.models import IncidentEvent

MAKING_CLIENTS = threading.Lock()


@cache
def session() -> botocore.session.Session:
    """One botocore session per process: its loaders and parsed service models are shared by every client
    (a session each costs them again: issue 10 measured 7 clients at 370 ms and 95 MB, 88 ms and 47 MB from one)."""
    return botocore.session.get_session()


_clients: dict[tuple[str, str], Any] = {}


def client(service: str, region: str) -> Any:
    """One client per service per container, made on first use (never at import time).

    botocore rather than boto3: boto3's import pulls in s3transfer, ~90 ms of cold start we never use.
    """
    made = _clients.get((service, region))
    if made is None:
        # A Session is not thread-safe while it makes clients (the clients themselves are); threads that ask for the
        # same one at once (firebell/concurrency.py) wait for the first to make it rather than make one each.
        with MAKING_CLIENTS:
            made = _clients.get((service, region))
            if made is None:
                made = _clients[(service, region)] = session().create_client(service, region_name=region)
    return made


def forget_clients() -> None:
    _clients.clear()


class SnsEventPublisher:
    def __init__(self, topic_arn: str, region: str) -> None:
        self._topic_arn = topic_arn
        self._region = region

    def publish(self, event: IncidentEvent, audience: Mapping[str, bool] | None = None) -> None:
        attributes = {"type": {"DataType": "String", "StringValue": event.type.value}}
        for consumer, wanted in (audience or {}).items():  # what the subscriptions filter on (domain/audience.py)
            attributes[consumer] = {"DataType": "String", "StringValue": WANTED if wanted else NOT_WANTED}
        client("sns", self._region).publish(
            TopicArn=self._topic_arn, Message=event.model_dump_json(), MessageAttributes=attributes
        )


# Answers a machine steers by: sent as SendTaskFailure with error `firebell.<outcome>`, which the escalation machine's
# catchers route (infra/statemachines/escalation.asl.json); the rest (stop, done, reopened, wait) are SendTaskSuccess.
ROUTED_AS_ERRORS = frozenset({"acknowledged", "escalate", "touched"})


def answer_error(outcome: str) -> str:
    return f"firebell.{outcome}"


class StepFunctionsWorkflows:
    def __init__(self, state_machine_arns: dict[str, str], region: str) -> None:
        self._arns = state_machine_arns
        self._region = region

    def execution_arn(self, machine: str, name: str) -> str:
        prefix, machine_name = self._arns[machine].split(":stateMachine:")
        return f"{prefix}:execution:{machine_name}:{name}"

    def start(self, machine: str, name: str, payload: dict[str, Any]) -> str:
        sfn = client("stepfunctions", self._region)
        # Execution names are unique per machine: a redelivered message cannot start a second one.
        try:
            started = sfn.start_execution(stateMachineArn=self._arns[machine], name=name, input=json.dumps(payload))
            execution_arn: str = started["executionArn"]
            return execution_arn
        except ClientError as error:
            if error.response["Error"]["Code"] != "ExecutionAlreadyExists":
                raise
        return self.execution_arn(machine, name)

    def answer(self, task_token: str, outcome: TaskOutcome, **details: Any) -> bool:
        try:
            output = json.dumps({"outcome": outcome, **details})
            if outcome in ROUTED_AS_ERRORS:
                # The escalation machine catches these straight into its next state (no Choice to pay for).
                client("stepfunctions", self._region).send_task_failure(
                    taskToken=task_token, error=answer_error(outcome), cause=output
                )
            else:
                client("stepfunctions", self._region).send_task_success(taskToken=task_token, output=output)
            return True
        except ClientError as error:
            # The wait already ended (timed out to its next step, or answered by someone else).
            if error.response["Error"]["Code"] in ("TaskTimedOut", "InvalidToken", "TaskDoesNotExist"):
                return False
            raise

    def stop(self, execution_id: str, cause: str) -> None:
        try:
            client("stepfunctions", self._region).stop_execution(executionArn=execution_id, cause=cause[:256])
        except ClientError as error:
            if error.response["Error"]["Code"] not in ("ExecutionDoesNotExist", "ExecutionNotRunning"):
                raise


class SecretsManagerSecret:
    """A signing key (the ack links', the webhooks'), read once per container."""

    def __init__(self, secret_arn: str, region: str) -> None:
        self._arn = secret_arn
        self._region = region
        self._value: bytes | None = None

    def __call__(self) -> bytes:
        if self._value is None:
            self._value = (
                client("secretsmanager", self._region).get_secret_value(SecretId=self._arn)["SecretString"].encode()
            )
        return self._value


def sms_attributes(origination: str = "") -> dict[str, dict[str, str]]:
    """SNS Publish's SMS attributes: transactional (delivery over price), from the deployer's origination identity
    if one is given: a number in E.164 (+…) or an alphanumeric sender ID; else SNS picks one of the account's."""
    attributes = {"AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"}}
    if origination.startswith("+"):
        attributes["AWS.MM.SMS.OriginationNumber"] = {"DataType": "String", "StringValue": origination}
    elif origination:
        attributes["AWS.SNS.SMS.SenderID"] = {"DataType": "String", "StringValue": origination}
    return attributes


class AwsMessenger:
    """Email through SES, SMS through SNS; Slack direct messages through `slack` (() → the Slack Web API client,
    made on first use: a function without the bot token's grant fails only if it is asked to send one)."""

    def __init__(self, region: str, slack: Any = None, sms_origination: str = "") -> None:
        self._region = region
        self._slack = slack
        self._sms_attributes = sms_attributes(sms_origination)

    def send_chat(self, user: str, text: str) -> str:
        if self._slack is None:
            raise RuntimeError("this function sends no Slack messages (no bot token is configured)")
        message_id: str = self._slack().post(user, {"text": text, "unfurl_links": False})
        return message_id

    def send_email(self, sender: str, to: str, subject: str, body: str) -> str:
        response = client("ses", self._region).send_email(
            Source=sender,
            Destination={"ToAddresses": [to]},
            Message={"Subject": {"Data": subject}, "Body": {"Text": {"Data": body}}},
        )
        message_id: str = response["MessageId"]
        return message_id

    def send_sms(self, phone: str, text: str) -> str:
        response = client("sns", self._region).publish(
            PhoneNumber=phone,
            Message=text,
            MessageAttributes=self._sms_attributes,
        )
        message_id: str = response["MessageId"]
        return message_id


class S3MailBucket:
    """Received mail, as SES's receipt rule stores it in the mail bucket (docs/email-intake.md)."""

    def __init__(self, region: str) -> None:
        self._region = region

    def read(self, bucket: str, key: str) -> bytes:
        body: bytes = client("s3", self._region).get_object(Bucket=bucket, Key=key)["Body"].read()
        return body


class SqsRedriveDeadLetters:
    """Dead-letters a message to its source queue's DLQ (from the queue's redrive policy), with the reason."""

    def __init__(self, region: str) -> None:
        self._region = region
        self._policies: dict[str, tuple[str, int]] = {}

    def _policy(self, source_queue_arn: str) -> tuple[str, int]:
        if source_queue_arn not in self._policies:
            sqs = client("sqs", self._region)
            _, _, _, _, account, name = source_queue_arn.split(":")
            url = sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
            attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"])["Attributes"]
            policy = json.loads(attributes["RedrivePolicy"])
            _, _, _, _, dlq_account, dlq_name = policy["deadLetterTargetArn"].split(":")
            dlq_url = sqs.get_queue_url(QueueName=dlq_name, QueueOwnerAWSAccountId=dlq_account)["QueueUrl"]
            self._policies[source_queue_arn] = (dlq_url, int(policy["maxReceiveCount"]))
        return self._policies[source_queue_arn]

    def max_receive_count(self, source_queue_arn: str) -> int:
        return self._policy(source_queue_arn)[1]

    def retry_after(self, source_queue_arn: str, receipt_handle: str, seconds: int) -> None:
        """Have SQS hand the message out again in `seconds` (its visibility timeout; at most 12 hours)."""
        _, _, _, _, account, name = source_queue_arn.split(":")
        sqs = client("sqs", self._region)
        url = sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
        sqs.change_message_visibility(
            QueueUrl=url, ReceiptHandle=receipt_handle, VisibilityTimeout=min(seconds, 43_200)
        )

    def send(self, source_queue_arn: str, body: str, reason: str, attempts: int) -> None:
        client("sqs", self._region).send_message(
            QueueUrl=self._policy(source_queue_arn)[0],
            MessageBody=body,
            MessageAttributes={
                "reason": {"DataType": "String", "StringValue": reason[:1024] or "unknown"},
                "source": {"DataType": "String", "StringValue": source_queue_arn},
                "attempts": {"DataType": "Number", "StringValue": str(attempts)},
            },
        )


class SqsReplay:
    """Moves dead-lettered messages back to the queue they came from, with their body (not their reason)."""

    def __init__(self, dlq_url: str, queue_url: str, region: str) -> None:
        self._dlq_url = dlq_url
        self._queue_url = queue_url
        self._region = region

    def move(self, limit: int) -> list[str]:
        """Up to `limit` messages moved (each sent before it is deleted: a failure in between repeats one, which the
        deliveries' marks make harmless); their reasons."""
        sqs = client("sqs", self._region)
        reasons: list[str] = []
        while len(reasons) < limit:
            # (a short long-poll: SQS's short poll samples a few servers and may answer nothing while messages wait)
            batch = sqs.receive_message(
                QueueUrl=self._dlq_url,
                MaxNumberOfMessages=min(10, limit - len(reasons)),
                WaitTimeSeconds=1,
                MessageAttributeNames=["reason"],
            ).get("Messages", [])
            if not batch:
                break
            sent = sqs.send_message_batch(
                QueueUrl=self._queue_url,
                Entries=[{"Id": str(i), "MessageBody": m["Body"]} for i, m in enumerate(batch)],
            )
            moved = [batch[int(entry["Id"])] for entry in sent.get("Successful", [])]
            if moved:
                sqs.delete_message_batch(
                    QueueUrl=self._dlq_url,
                    Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(moved)],
                )
            reasons += [m.get("MessageAttributes", {}).get("reason", {}).get("StringValue", "") for m in moved]
            if len(moved) < len(batch):  # the rest come back after their visibility timeout: try again later
                break
        return reasons
