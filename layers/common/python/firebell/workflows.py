"""Names of the state machines (infra/statemachines/<name>.asl.json); the adapter maps them to ARNs."""

ESCALATION = "escalation"
SLA = "sla"
REMINDER = "reminder"
RESOLUTION = "resolution"
MAINTENANCE = "maintenance"
QUIET = "quiet"
DIGEST = "digest"  # waits for an SMS digest window to end

ALL = (ESCALATION, SLA, REMINDER, RESOLUTION, MAINTENANCE, QUIET, DIGEST)
