"""Email intake on the local runtime: the mail bucket and SES's receipt rules rendered onto moto, and an SMTP listener
on 127.0.0.1 that does what SES receiving does with a message (docs/email-intake.md).

The listener reads the active receipt rule set (moto's SES, as the topology rendered it): a recipient no rule names
is refused (550), as SES refuses it; for each rule that names a recipient it stores the raw message in the rule's
bucket under the rule's prefix and a message id of its own, with Return-Path and Received prepended as SES
prepends them (no spam or authentication verdicts: nothing here checks them). moto's S3 then sends the bucket's
event notification to the mail queue, and the mail function takes it from there, as in AWS.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from email.utils import formatdate
from typing import Any

import boto3

from firebell.domain.mail_intake import EmailIntake, object_prefix
from infra.topology import BucketSpec, MailReceiptSpec, Topology

log = logging.getLogger("firebell.local")
RULE_SET = "firebell-mail"
MAX_MESSAGE_BYTES = 40 * 1024 * 1024  # SES receiving's limit, headers included


def create_bucket(s3: Any, spec: BucketSpec, queue_arn: str) -> str:
    """The bucket as the stack makes it (private, encrypted, expiring), announcing new objects on the queue."""
    name = f"firebell-{spec.name}"
    s3.create_bucket(Bucket=name)
    s3.put_public_access_block(
        Bucket=name,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    s3.put_bucket_encryption(
        Bucket=name,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )
    s3.put_bucket_lifecycle_configuration(
        Bucket=name,
        LifecycleConfiguration={
            "Rules": [
                {
                    "ID": "expire",
                    "Status": "Enabled",
                    "Filter": {"Prefix": ""},
                    "Expiration": {"Days": spec.expire_after_days},
                }
            ]
        },
    )
    s3.put_bucket_notification_configuration(
        Bucket=name,
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "QueueArn": queue_arn,
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": spec.prefix}]}},
                }
            ]
        },
    )
    return name


def create_receipt_rules(ses: Any, spec: MailReceiptSpec, bucket_name: str, intake: EmailIntake) -> str:
    """One rule per intake address, storing into the bucket under the address's prefix; the set made active."""
    ses.create_receipt_rule_set(RuleSetName=RULE_SET)
    after = None
    for address in intake.addresses:
        rule = {
            "Name": spec.rule_name(address.address),
            "Enabled": True,
            "Recipients": [address.address],
            "ScanEnabled": spec.scan_enabled,
            "TlsPolicy": "Require" if spec.require_tls else "Optional",
            "Actions": [{"S3Action": {"BucketName": bucket_name, "ObjectKeyPrefix": object_prefix(address.address)}}],
        }
        ses.create_receipt_rule(RuleSetName=RULE_SET, Rule=rule, **({"After": after} if after else {}))
        after = rule["Name"]
    ses.set_active_receipt_rule_set(RuleSetName=RULE_SET)
    return RULE_SET


def render_mail(topology: Topology, resources: dict[tuple[str, str], str], intake: EmailIntake, region: str) -> None:
    s3, ses = boto3.client("s3", region_name=region), boto3.client("ses", region_name=region)
    for bucket in topology.buckets:
        resources[("bucket", bucket.name)] = create_bucket(s3, bucket, resources[("queue_arn", bucket.notify_queue)])
    if topology.mail_receipt is not None:
        bucket_name = resources[("bucket", topology.mail_receipt.bucket)]
        resources[("receipt_rule_set", "mail")] = create_receipt_rules(ses, topology.mail_receipt, bucket_name, intake)


# --- the SMTP listener -------------------------------------------------------------------------------


class SesReceiving:
    """aiosmtpd's handler: SES receiving, as far as the pipeline can tell (the stored object and its event)."""

    def __init__(self, region: str) -> None:
        self._region = region
        self._lock = threading.Lock()
        self.received: list[dict[str, Any]] = []  # what it stored: GET /_local/health counts them

    def _rules(self) -> list[dict[str, Any]]:
        ses = boto3.client("ses", region_name=self._region)
        active = ses.describe_active_receipt_rule_set()
        return [r for r in active.get("Rules", []) if r.get("Enabled", True)]

    @staticmethod
    def _names(rule: dict[str, Any], recipient: str) -> bool:
        wanted = recipient.strip().lower()
        # (a rule may name a whole domain, or, with a leading dot, its subdomains, as SES's rules may)
        return any(
            r.lower() == wanted
            or r.lower() == wanted.partition("@")[2]
            or (r.startswith(".") and wanted.endswith(r.lower()))
            for r in rule.get("Recipients", [])
        )

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]) -> str:
        rules = await asyncio.get_running_loop().run_in_executor(None, self._rules)
        if not any(self._names(rule, address) for rule in rules):
            return "550 5.1.1 Mailbox does not exist"  # SES refuses recipients no active rule names
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message_id = await asyncio.get_running_loop().run_in_executor(
            None,
            self.store,
            envelope.mail_from or "",
            list(envelope.rcpt_tos),
            envelope.original_content or b"",
            session.host_name or "unknown",
            session.peer[0] if session.peer else "",
        )
        return f"250 Ok {message_id}"

    def store(self, mail_from: str, recipients: list[str], content: bytes, helo: str, peer: str) -> str:
        """The message stored once per rule that names one of its recipients, as SES's S3 action stores it."""
        message_id = uuid.uuid4().hex + uuid.uuid4().hex[:8]  # SES's are 40 lower-case letters and digits
        s3 = boto3.client("s3", region_name=self._region)
        for rule in self._rules():
            named = [r for r in recipients if self._names(rule, r)]
            if not named:
                continue
            received = (
                f"Return-Path: <{mail_from}>\r\n"
                f"Received: from {helo} ([{peer}])\r\n by firebell local SMTP listener with SMTP id {message_id}"
                + (f"\r\n for {named[0]}" if len(named) == 1 else "")
                + f";\r\n {formatdate(time.time())}\r\n"
            )
            for action in rule.get("Actions", []):
                if "S3Action" in action:
                    target = action["S3Action"]
                    key = f"{target.get('ObjectKeyPrefix', '')}{message_id}"
                    s3.put_object(Bucket=target["BucketName"], Key=key, Body=received.encode() + content)
                    with self._lock:
                        self.received.append({"key": key, "from": mail_from, "to": named, "bytes": len(content)})
        return message_id


class SmtpListener:
    """The SMTP listener on 127.0.0.1:`port` (aiosmtpd's Controller: its own thread and event loop)."""

    def __init__(self, port: int, region: str) -> None:
        from aiosmtpd.controller import Controller

        self.port = port
        self.handler = SesReceiving(region)
        self._controller = Controller(
            self.handler, hostname="127.0.0.1", port=port, data_size_limit=MAX_MESSAGE_BYTES, ready_timeout=10
        )

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()

    def view(self) -> dict[str, Any]:
        return {"endpoint": self.url, "received": len(self.handler.received)}
