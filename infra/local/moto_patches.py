"""Where moto is weaker than the service it stands in for, locally.

DynamoDB applies each write to an item atomically and isolates transactions; moto runs a request in several
Python steps, so concurrent requests from threads can lose writes or fail with "dictionary changed size during
iteration". One lock around moto's DynamoDB handler gives back DynamoDB's guarantees (throughput is not what the
local runtime is for).

moto also backs up every table a TransactWriteItems touches by deep-copying it whole, before each transaction:
the time and memory grow with the table (a few thousand transactions on a few hundred incidents took a local
runtime past 20 GB). With the lock, backing up just the items the transaction writes is enough to roll back.

A Query of a table reads one partition in DynamoDB; moto's reads and sorts every item of the table first, so each
Query took longer as the table grew (an alarm storm's thousand openings, each reading recent incidents: minutes).
With the lock, the table's Query is handed its partition alone.

EventBridge delivers every event with its `account`; moto's default target input leaves it out.

Step Functions' StopExecution aborts an execution at once, whatever state it is in; moto's leaves one that waits for
a task token blocked until the wait times out (then fails it). firebell stops such runs (an escalation when the
incident is resolved, reminders of a duty done) without answering their tokens first, which would cost transitions.
And StopExecution right after StartExecution stops the run in AWS; moto's run builds its environment on its own
thread, and a stop that arrives first fails with a 500 (AttributeError on `env`).
"""

from __future__ import annotations

import threading

_lock = threading.Lock()
_installed = False
_writes = 0
_READS = ("Get", "BatchGet", "TransactGet", "Query", "Scan", "Describe", "List")


def serialise_dynamodb() -> None:
    """Idempotent: every DynamoDB request moto serves in this process runs alone."""
    global _installed
    if _installed:
        return
    from moto.dynamodb.responses import DynamoHandler

    original = DynamoHandler.call_action

    def call_action(self):  # type: ignore[no-untyped-def]
        global _writes
        with _lock:
            try:
                return original(self)
            finally:
                if not (self.get_endpoint_name(self.headers) or "").startswith(_READS):
                    _writes += 1

    DynamoHandler.call_action = call_action  # type: ignore[method-assign]
    _back_up_items_not_tables()
    _queries_read_their_partition()
    _installed = True


def dynamodb_writes() -> int:
    """How many DynamoDB requests other than reads moto served so far (the local state saves when it grows)."""
    return _writes


def dynamodb_snapshot(account: str, region: str, table_names: list[str]) -> dict[str, list[dict]]:
    """Every item of each table in DynamoDB JSON, as of one instant (no request runs meanwhile: a transaction is in
    or out whole, which a paginated Scan cannot promise). Read from moto's tables: 50 times cheaper than a Scan."""
    from moto.dynamodb.models import dynamodb_backends

    with _lock:
        tables = dynamodb_backends[account][region].tables
        return {name: [item.to_json()["Attributes"] for item in tables[name].all_items()] for name in table_names}


def _queries_read_their_partition() -> None:
    from moto.dynamodb.models.table import Table

    original = Table.query
    index_name_position = 7  # Table.query(hash_key, range_comparison, range_objs, limit, exclusive_start_key,
    #                           scan_index_forward, projection_expressions, index_name, ...), as moto's backend calls it

    def query(self, hash_key, *args, **kwargs):  # type: ignore[no-untyped-def]
        index_name = args[index_name_position - 1] if len(args) >= index_name_position else kwargs.get("index_name")
        if index_name or not self.range_key_attr:
            return original(self, hash_key, *args, **kwargs)
        partition = list(self.items.get(hash_key, {}).values())  # (moto sorts what all_items gives)
        # (for this call only, which runs alone: serialise_dynamodb's lock)
        self.all_items = lambda: partition
        try:
            return original(self, hash_key, *args, **kwargs)
        finally:
            del self.all_items

    Table.query = query  # type: ignore[method-assign]


def _back_up_items_not_tables() -> None:
    import copy
    import types

    from moto.dynamodb import models
    from moto.dynamodb.models.table import Table

    # moto's transact_write_items deep-copies whole tables through its module's `copy`: hand it the table itself.
    models.copy = types.SimpleNamespace(
        deepcopy=lambda value, memo=None: value if isinstance(value, Table) else copy.deepcopy(value, memo),
        copy=copy.copy,
    )
    original = models.DynamoDBBackend.transact_write_items

    def transact_write_items(self, transact_items):  # type: ignore[no-untyped-def]
        backups = []
        for entry in transact_items:
            op_type, op = next(iter(entry.items()))
            name = op.get("TableName")
            if name not in self.tables:
                continue
            table = self.get_table(name)
            key = (
                op["Key"]
                if op_type != "Put"
                else {a: op["Item"][a] for a in (table.hash_key_attr, table.range_key_attr) if a is not None}
            )
            current = self.get_item(name, key)
            backups.append((name, key, copy.deepcopy(current.to_json()["Attributes"]) if current else None))
        try:
            return original(self, transact_items)
        except Exception:
            for name, key, attributes in reversed(backups):  # put every item back as it was
                if attributes is not None:
                    self.put_item(name, attributes)
                elif self.get_item(name, key) is not None:
                    self.delete_item(name, key)
            raise

    models.DynamoDBBackend.transact_write_items = transact_write_items


def deliver_events_with_their_account() -> None:
    """Idempotent: events moto's EventBridge hands to a target carry `account`, as EventBridge's do."""
    from moto.events.utils import EventTemplateParser

    template = EventTemplateParser.DEFAULT_EVENT_INPUT_TEMPLATE
    if '"account"' not in template:
        EventTemplateParser.DEFAULT_EVENT_INPUT_TEMPLATE = template.replace(
            '"source": "<source>", ', '"source": "<source>", "account": "<account>", '
        )


_stops_installed = False


def abort_callback_waits_on_stop() -> None:
    """Idempotent: a task waiting for its token ends as soon as its execution is stopped (then ABORTED, as in AWS)."""
    global _stops_installed
    if _stops_installed:
        return
    import time

    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_callback import (
        StateTaskServiceCallback,
    )
    from moto.stepfunctions.parser.asl.eval.callback.callback import CallbackOutcomeSuccess, CallbackOutcomeTimedOut

    original = StateTaskServiceCallback._eval_wait_for_task_token

    def wait_until_answered_timed_out_or_stopped(self, env, timeout_seconds, callback_endpoint, heartbeat_endpoint):  # type: ignore[no-untyped-def]
        if heartbeat_endpoint is not None:
            return original(
                self, env, timeout_seconds, callback_endpoint, heartbeat_endpoint
            )  # (that one checks already)
        deadline = time.monotonic() + timeout_seconds
        while True:
            outcome = callback_endpoint.wait(timeout=min(0.2, max(0.0, deadline - time.monotonic())))
            if outcome is not None:
                return outcome
            if not env.is_running():
                # Stopped: end the wait quietly, as a Wait state does (an error would fail the execution); the program
                # loop then ends it ABORTED without entering another state.
                return CallbackOutcomeSuccess(callback_id=callback_endpoint.callback_id, output="{}")
            if time.monotonic() >= deadline:
                return CallbackOutcomeTimedOut(callback_id=callback_endpoint.callback_id)

    StateTaskServiceCallback._eval_wait_for_task_token = wait_until_answered_timed_out_or_stopped  # type: ignore[method-assign]
    _stops_installed = True


_early_stops_installed = False


def stop_waits_for_the_run_to_start() -> None:
    """Idempotent: StopExecution stops the run before it answers, as in AWS (DescribeExecution then says ABORTED).
    moto's run builds its environment on its own thread, and a stop that arrives first failed with a 500 (a resolve
    right after the page stops the escalation); and moto answered before the run had ended."""
    global _early_stops_installed
    if _early_stops_installed:
        return
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

    init, build_environment, run, stop = (
        ExecutionWorker.__init__,
        ExecutionWorker._get_evaluation_environment,
        ExecutionWorker._execution_logic,
        ExecutionWorker.stop,
    )

    def init_with_flags(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        init(self, *args, **kwargs)
        self.firebell_started, self.firebell_ended = threading.Event(), threading.Event()
        self.firebell_thread = None

    def build_and_announce(self):  # type: ignore[no-untyped-def]
        self.env = build_environment(self)
        self.firebell_started.set()
        return self.env

    def run_and_announce_the_end(self):  # type: ignore[no-untyped-def]
        self.firebell_thread = threading.current_thread()
        try:
            return run(self)
        finally:
            self.firebell_ended.set()

    def stop_and_wait_for_the_end(self, stop_date, error, cause):  # type: ignore[no-untyped-def]
        # A run whose definition fails to parse never starts: it has failed already, there is nothing to stop.
        if not self.firebell_started.wait(timeout=30):
            return
        stop(self, stop_date=stop_date, error=error, cause=cause)
        if threading.current_thread() is not self.firebell_thread:  # (a run that stops itself cannot wait for itself)
            self.firebell_ended.wait(timeout=30)

    ExecutionWorker.__init__ = init_with_flags  # type: ignore[method-assign]
    ExecutionWorker._get_evaluation_environment = build_and_announce  # type: ignore[method-assign]
    ExecutionWorker._execution_logic = run_and_announce_the_end  # type: ignore[method-assign]
    ExecutionWorker.stop = stop_and_wait_for_the_end  # type: ignore[method-assign]
    _early_stops_installed = True


_variables_installed = False


def jsonpath_variables_without_jsonata() -> None:
    """Idempotent: a JSONPath state's reference to a variable (`$at`, `$step.level`: in a Path field, a Parameters
    value or an intrinsic function's argument) reads the variable, as Step Functions does. moto evaluates every
    variable reference as a JSONata expression, which needs a JVM (jpype) it does not ship."""
    global _variables_installed
    if _variables_installed:
        return
    import re

    from moto.stepfunctions.parser.asl.component.common.query_language import QueryLanguageMode
    from moto.stepfunctions.parser.asl.component.common.string.string_expression import StringVariableSample

    simple = re.compile(r"^\$([A-Za-z_][A-Za-z0-9_]*)((?:\.[A-Za-z_][A-Za-z0-9_]*)*)$")
    original = StringVariableSample._eval_body

    def read_the_variable(self, env):  # type: ignore[no-untyped-def]
        match = simple.match(self.expression) if self.query_language_mode == QueryLanguageMode.JSONPath else None
        if match is None:
            return original(self, env)
        value = env.variable_store.get(match.group(1))
        for field in filter(None, match.group(2).split(".")):
            value = value[field]
        env.stack.append(value)

    StringVariableSample._eval_body = read_the_variable  # type: ignore[method-assign]

    # A catcher whose Next is its own state (a wait that loops: the escalation's next step, the watch again): moto
    # takes "next is this state" for "no catcher chose" and follows the state's End instead.
    from moto.stepfunctions.parser.asl.component.common.catch.catcher_decl import CatcherDecl
    from moto.stepfunctions.parser.asl.component.common.catch.catcher_outcome import CatcherOutcomeCaught
    from moto.stepfunctions.parser.asl.component.state.state import CommonStateField

    catch, set_next = CatcherDecl._eval_body, CommonStateField._set_next

    def remember_the_catch(self, env):  # type: ignore[no-untyped-def]
        catch(self, env)
        if isinstance(env.stack[-1], CatcherOutcomeCaught):
            env.firebell_caught_into = self.next_decl.name

    def follow_the_catch(self, env):  # type: ignore[no-untyped-def]
        caught_into = getattr(env, "firebell_caught_into", None)
        env.firebell_caught_into = None
        if caught_into is not None and caught_into == env.next_state_name:
            return
        set_next(self, env)

    CatcherDecl._eval_body = remember_the_catch  # type: ignore[method-assign]
    CommonStateField._set_next = follow_the_catch  # type: ignore[method-assign]
    _variables_installed = True


def install_local_patches() -> None:
    """Everything the local runtime and the integration tests need of moto to behave as AWS does (each idempotent)."""
    serialise_dynamodb()  # DynamoDB's item atomicity and transaction isolation, which moto lacks under threads
    deliver_events_with_their_account()
    abort_callback_waits_on_stop()
    stop_waits_for_the_run_to_start()
    jsonpath_variables_without_jsonata()
