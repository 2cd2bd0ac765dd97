"""Function settings from the environment, validated once per container on first use."""

from pydantic import BaseModel, Field

from .container import environ, per_function


class Settings(BaseModel):
    table_name: str = Field(min_length=1)
    region: str = Field(min_length=1)
    events_topic_arn: str = ""
    escalation_state_machine_arn: str = ""
    sla_state_machine_arn: str = ""
    reminder_state_machine_arn: str = ""
    resolution_state_machine_arn: str = ""
    maintenance_state_machine_arn: str = ""
    quiet_state_machine_arn: str = ""
    digest_state_machine_arn: str = ""
    ack_secret_arn: str = ""  # AWS: Secrets Manager holds the ack-link signing key
    ack_secret: str = ""  # local runtime and tests: the key itself
    webhook_secret_arn: str = ""  # Secrets Manager holds the key each webhook subscription's secret derives from
    webhooks_queue_url: str = ""  # where dead-lettered webhook events are replayed to ...
    webhooks_dlq_url: str = ""  # ... from
    slack_bot_token_arn: str = ""  # Secrets Manager: the Slack app's bot token (xoxb-…), for posting and updating
    slack_signing_secret_arn: str = ""  # Secrets Manager: the Slack app's signing secret, which verifies its requests
    slack_api_url: str = ""  # Slack's Web API unless set (the local runtime's stand-in)
    console_url: str = ""  # where chat messages link to (the console); the API's URL when unset (the local runtime)
    mail_bucket: str = ""  # where SES stores received mail (email intake reads it)
    config_dir: str = "/opt/firebell/config"
    time_scale: float = Field(default=1.0, gt=0)
    public_api_url: str = ""
    # The outbox relay leaves effects younger than this to the function that committed them.
    outbox_grace_seconds: float = Field(default=10.0, ge=0)
    # How long a dispatcher holds an effect it claimed: longer than an effect can take (the function's timeout).
    outbox_lease_seconds: float = Field(default=60.0, gt=0)
    # The deployer's sender address (cdk -c firebell:sender): replaces config/firebell.yaml's notifications.sender.
    sender: str = ""
    # SMS origination identity (cdk -c firebell:sms-origination): an E.164 number or an alphanumeric sender ID.
    sms_origination: str = ""
    # Set only by the local runtime (infra/local/render.py), never by the stack: demo routing keys work here alone.
    local_runtime: bool = False
    # Signs the local sign-in's sessions: made once per state folder by the local runtime, which alone sets it.
    session_secret: str = ""

    def state_machine_arns(self) -> dict[str, str]:
        from .workflows import ALL

        return {name: getattr(self, f"{name}_state_machine_arn") for name in ALL}


_ENV = {
    "table_name": "TABLE_NAME",
    "region": "AWS_REGION",
    "events_topic_arn": "EVENTS_TOPIC_ARN",
    "escalation_state_machine_arn": "ESCALATION_STATE_MACHINE_ARN",
    "sla_state_machine_arn": "SLA_STATE_MACHINE_ARN",
    "reminder_state_machine_arn": "REMINDER_STATE_MACHINE_ARN",
    "resolution_state_machine_arn": "RESOLUTION_STATE_MACHINE_ARN",
    "maintenance_state_machine_arn": "MAINTENANCE_STATE_MACHINE_ARN",
    "quiet_state_machine_arn": "QUIET_STATE_MACHINE_ARN",
    "digest_state_machine_arn": "DIGEST_STATE_MACHINE_ARN",
    "ack_secret_arn": "ACK_SECRET_ARN",
    "ack_secret": "FIREBELL_ACK_SECRET",
    "webhook_secret_arn": "WEBHOOK_SECRET_ARN",
    "webhooks_queue_url": "WEBHOOKS_QUEUE_URL",
    "slack_bot_token_arn": "SLACK_BOT_TOKEN_ARN",
    "slack_signing_secret_arn": "SLACK_SIGNING_SECRET_ARN",
    "slack_api_url": "FIREBELL_SLACK_API_URL",
    "console_url": "CONSOLE_URL",
    "webhooks_dlq_url": "WEBHOOKS_DLQ_URL",
    "mail_bucket": "MAIL_BUCKET",
    "config_dir": "FIREBELL_CONFIG_DIR",
    "time_scale": "FIREBELL_TIME_SCALE",
    "public_api_url": "PUBLIC_API_URL",
    "outbox_grace_seconds": "FIREBELL_OUTBOX_GRACE_SECONDS",
    "outbox_lease_seconds": "FIREBELL_OUTBOX_LEASE_SECONDS",
    "sender": "FIREBELL_SENDER",
    "sms_origination": "FIREBELL_SMS_ORIGINATION",
    "local_runtime": "FIREBELL_LOCAL_RUNTIME",
    "session_secret": "FIREBELL_SESSION_SECRET",
}
LOCAL_RUNTIME_VARIABLE = _ENV["local_runtime"]
SENDER_VARIABLE = _ENV["sender"]
SMS_ORIGINATION_VARIABLE = _ENV["sms_origination"]


@per_function
def get_settings() -> Settings:
    env = environ()
    return Settings.model_validate({field: env[var] for field, var in _ENV.items() if var in env})
