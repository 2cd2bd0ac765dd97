"""The directory as every signed-in person may read it (docs/access.md): who is who, the teams, schedules,
escalation policies and services; what the console's pickers and the report form use. Included by app.py.
Admins read and change the whole of it, sources included, through the admin API (functions/api/admin.py)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler.api_gateway import Router

from firebell import wiring

router = Router()


@router.get(
    "/directory",
    summary="The directory: people, teams, schedules, escalation policies, services (no phone numbers or routing keys)",
)
def readable_directory() -> dict[str, Any]:
    return {"directory": wiring.effective_config().directory.readable()}
