"""Names of the state machines (infra/statemachines/<name>.asl.json); the adapter maps them to ARNs."""

ESCALATION = "escalation"
SLA = "sla"
REMINDER = "reminder"
RESOLUTION = "resolution"
MAINTENANCE = "maintenance"
QUIET = "quiet"

ALL = (ESCALATION, SLA, REMINDER, RESOLUTION, MAINTENANCE, QUIET)
