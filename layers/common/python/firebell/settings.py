"""Function settings from the environment, validated once per container on first use."""

import os
from functools import cache

from pydantic import BaseModel, Field


class Settings(BaseModel):
    table_name: str = Field(min_length=1)
    region: str = Field(min_length=1)
    events_topic_arn: str = ""
    escalation_state_machine_arn: str = ""
    config_dir: str = "/opt/firebell/config"
    time_scale: float = Field(default=1.0, gt=0)
    public_api_url: str = ""


_ENV = {
    "table_name": "TABLE_NAME",
    "region": "AWS_REGION",
    "events_topic_arn": "EVENTS_TOPIC_ARN",
    "escalation_state_machine_arn": "ESCALATION_STATE_MACHINE_ARN",
    "config_dir": "FIREBELL_CONFIG_DIR",
    "time_scale": "FIREBELL_TIME_SCALE",
    "public_api_url": "PUBLIC_API_URL",
}


@cache
def get_settings() -> Settings:
    return Settings.model_validate({field: os.environ[var] for field, var in _ENV.items() if var in os.environ})
