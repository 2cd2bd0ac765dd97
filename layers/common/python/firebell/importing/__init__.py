"""`firebell import pagerduty|opsgenie`: read a vendor's teams, people, schedules, escalation policies and services
(from its REST API or from JSON files saved from it) and write a firebell config, with a report of what could not be
mapped and why (docs/importing.md). Runs on people's machines: stdlib (urllib) and pyyaml only."""
