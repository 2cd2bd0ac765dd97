"""Outbox relay: on a schedule, carries out effects that committed but were not done right after their commit
(a function crashed between commit and dispatch, or an effect failed and was given back)."""

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from firebell import wiring

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    found = wiring.outbox_relay().run()
    if found:
        logger.warning("outbox relay found pending effects", extra={"effects": found})
    metrics.add_metric(name="OutboxEffectsRelayed", unit=MetricUnit.Count, value=found)
    return {"effects": found}
