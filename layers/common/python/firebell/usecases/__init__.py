"""Use cases, one module per process: alert intake & dedup (intake), lifecycle commands (lifecycle), paging &
escalation (escalation), SLA clocks (sla_clocks), communications & duties (duties, messages), resolution &
closure (resolution). Each reads the incident once, decides into a Change (no I/O), and hands it to
Incidents.change, which commits it in one transaction and dispatches its effects."""
