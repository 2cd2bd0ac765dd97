"""Outbox relay: on a schedule, carries out effects that committed but were not done right after their commit
(a function crashed between commit and dispatch, or an effect failed and was given back).

Invoked with {"detail-type": "Re-arm timers"} it starts again the timers every incident's state implies: after the
executions were lost and the incidents kept (the local runtime does it at each start with kept state; in AWS, after
restoring the table into a new stack). With {"detail-type": "Backfill report facts"} it works out the reports' facts
of closed incidents that have none (closed before the reports kept them), as their closing change would have.
"""

from firebell import startup

startup.begin()  # no garbage collections while the import runs (firebell/startup.py)

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from firebell import wiring
from firebell.tracing import lazy_tracer

logger = Logger()
tracer = lazy_tracer()
metrics = Metrics()
REARM_TIMERS = "Re-arm timers"
BACKFILL_FACTS = "Backfill report facts"


@startup.first_event
@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if event.get("detail-type") == REARM_TIMERS:
        rearmed = wiring.timer_rearm().rearm_all()
        logger.info("timers re-armed", extra={"incidents": rearmed})
        metrics.add_metric(name="IncidentsRearmed", unit=MetricUnit.Count, value=len(rearmed))
        return {"rearmed": rearmed}
    if event.get("detail-type") == BACKFILL_FACTS:
        added = wiring.reports().backfill()
        logger.info("report facts backfilled", extra={"incidents": added})
        return {"backfilled": added}
    found = wiring.outbox_relay().run()
    if found:
        logger.warning("outbox relay found pending effects", extra={"effects": found})
    metrics.add_metric(name="OutboxEffectsRelayed", unit=MetricUnit.Count, value=found)
    return {"effects": found}


startup.done()  # the import's objects frozen out of later collections, and collecting resumes
