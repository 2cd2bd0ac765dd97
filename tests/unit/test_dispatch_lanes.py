"""Right after a commit, a change's last publishes and starts run at once, in lanes (firebell/dispatch.py, issue 10)."""

from __future__ import annotations

import contextvars
import threading

from firebell import concurrency
from firebell.dispatch import _lanes
from firebell.outbox import Effect, EffectKind


def effect(position: int, kind: EffectKind, machine: str | None = None) -> Effect:
    payload = {"machine": machine, "name": f"run-{position}", "input": {}} if kind is EffectKind.START else {}
    return Effect(effect_id=f"01ABC:1:{position}", incident_id="01ABC", kind=kind, payload=payload)


def test_pages_run_in_order_and_the_publishes_and_starts_after_them_in_lanes():
    email, sms = effect(0, EffectKind.EMAIL), effect(1, EffectKind.SMS)
    escalation, opened, classified = (
        effect(2, EffectKind.START, "escalation"),
        effect(3, EffectKind.PUBLISH),
        effect(4, EffectKind.PUBLISH),
    )
    sla, sla_again = effect(5, EffectKind.START, "sla"), effect(6, EffectKind.START, "sla")

    in_order, lanes = _lanes([email, sms, escalation, opened, classified, sla, sla_again])

    assert in_order == [email, sms]
    # the events in their order in one lane; each machine's starts in order in one
    assert lanes == [[escalation], [opened, classified], [sla, sla_again]]


def test_anything_after_a_stop_or_a_page_keeps_the_order_and_one_lane_is_no_lane():
    stop, start = effect(0, EffectKind.STOP), effect(1, EffectKind.START, "escalation")
    page = effect(2, EffectKind.EMAIL)
    assert _lanes([start, stop]) == ([start, stop], [])  # a start before a stop never overtakes it
    assert _lanes([start, page]) == ([start, page], [])
    assert _lanes([stop, effect(3, EffectKind.PUBLISH), effect(4, EffectKind.PUBLISH)])[1] == []


def test_work_runs_at_once_with_results_and_errors_in_order_and_the_callers_context_carried():
    both_running = threading.Barrier(
        2, timeout=5
    )  # would time out (BrokenBarrierError) if they ran one after the other
    seen: list[str] = []
    local = threading.local()
    local.value = "caller's"
    variable = contextvars.ContextVar("variable", default="unset")
    variable.set("the caller's variable")

    def carrier():
        value = local.value
        return (lambda: setattr(local, "value", value)), (lambda: delattr(local, "value"))

    def first():
        both_running.wait()
        return "first"

    def second():
        both_running.wait()
        seen.extend([local.value, variable.get()])
        raise ValueError("second failed")

    concurrency.carry_into_threads(carrier)
    try:
        results = concurrency.run_at_once([first, second])
    finally:
        concurrency._carriers.remove(carrier)

    assert results[0] == "first" and isinstance(results[1], ValueError)
    assert seen == ["caller's", "the caller's variable"]
    assert concurrency.run_at_once([]) == []
