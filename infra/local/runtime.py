"""The local renderer: infra/topology.py onto moto, with the function handlers called in-process.

- moto's server on 127.0.0.1:<aws_port> is the AWS endpoint for everything (the handlers, the
  Step Functions engine's own SDK calls, and `aws --endpoint-url` / boto3 from outside);
- each queue trigger gets a poller that feeds batches to its handler the way Lambda's event source
  mapping does (partial batch failures are left on the queue to be retried);
- the api handler is served over HTTP as API Gateway REST proxy events (infra/local/http_api.py);
- emails (SES) and SMS (SNS) that moto captures are the outbox;
- an SMTP listener plays SES receiving for email intake (infra/local/mail.py).
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
import warnings
from pathlib import Path
from typing import Any

import boto3

from infra.local import faults
from infra.local.iam import enforce
from infra.local.lambdas import LocalFunction, QueuePoller, SchedulePoller
from infra.local.render import (
    REGION,
    captured_outbox,
    common_environment,
    dead_letters_view,
    kept_dead_letters,
    peek_dead_letters,
    render_topology,
    restore_dead_letters,
)
from infra.local.state import PeriodicSave, StateDir
from infra.local.tls import TlsFiles, ensure_certificate, https_server_class
from infra.topology import (
    CONFIG_DIR,
    ROOT,
    SLACK_BOT_TOKEN,
    SLACK_SIGNING_SECRET,
    TOPOLOGY,
    ApiTrigger,
    QueueTrigger,
    ScheduleTrigger,
    Topology,
)

log = logging.getLogger("firebell.local")
# The local runtime's own files (gitignored); the generated CA and certificate live in tls/.
TLS_DIR = ROOT / ".firebell" / "tls"


def configure_local_process(aws_url: str, aws_port: int) -> None:
    """Point this process (handlers, boto3, moto's Step Functions engine) at the local AWS endpoint."""
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ENDPOINT_URL": aws_url,
            # moto's Step Functions engine sends its own SDK calls (sqs:sendMessage) to this port.
            "MOTO_PORT": str(aws_port),
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_METRICS_DISABLED": "true",
            "POWERTOOLS_METRICS_NAMESPACE": "firebell",
            "POWERTOOLS_LOG_LEVEL": os.environ.get("POWERTOOLS_LOG_LEVEL", "WARNING"),
        }
    )
    os.environ.pop("AWS_PROFILE", None)
    # Metrics are disabled locally, so every flush would warn that there is nothing to publish.
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request log drowns the timeline


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


class LocalRuntime:
    def __init__(
        self,
        api_port: int = 3000,
        aws_port: int = 4566,
        time_scale: float = 0.01,
        config_dir: Path = CONFIG_DIR,
        topology: Topology = TOPOLOGY,
        state_dir: Path | None = None,
        fresh: bool = False,
        save_interval: float = 1.0,
        tls_port: int | None = None,
        tls_dir: Path = TLS_DIR,
        smtp_port: int | None = None,
    ) -> None:
        """`state_dir`: kept across restarts there (infra/local/state.py), else in memory only; `fresh`: forget it.
        `smtp_port`: where the SMTP listener of email intake listens (None: no listener)."""
        self.api_port = api_port
        self.smtp_port = smtp_port
        self.smtp: Any = None  # infra.local.mail.SmtpListener, once started
        self.tls_port = tls_port  # None: no HTTPS listener
        self.tls_dir = tls_dir
        self.tls: TlsFiles | None = None
        self.aws_port = aws_port
        self.time_scale = time_scale
        self.config_dir = config_dir
        self.topology = topology
        self.api_url = f"http://127.0.0.1:{api_port}"
        self.aws_url = f"http://127.0.0.1:{aws_port}"
        self.https_url = f"https://127.0.0.1:{tls_port}" if tls_port is not None else None
        self.resources: dict[tuple[str, str], str] = {}
        self.functions: dict[str, LocalFunction] = {}
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._moto_server: Any = None
        self._http: Any = None
        self._https: Any = None
        self.started_at = time.time()
        self.heartbeat: Any = None  # infra.local.health.HeartbeatTimer, when the topology has monitoring
        self.faults: faults.FaultInjector | None = None
        self.state = StateDir(state_dir) if state_dir is not None else None
        self.fresh = fresh
        self._save_interval = save_interval
        self._saver: PeriodicSave | None = None
        self._earlier_outbox: list[dict[str, Any]] = []
        self.restored: dict[str, int] = {}  # items loaded per table from the state folder
        self.kept_from: dict[str, Any] | None = None  # the manifest of the save they came from
        self.rearmed: list[str] = []  # references whose timers were re-armed at start
        self.slack: Any = None  # infra.local.slack_stand_in.SlackStandIn, unless FIREBELL_SLACK_API_URL names a Slack

    # --- lifecycle -------------------------------------------------------------------------------

    def start(self) -> LocalRuntime:
        for port in (self.api_port, self.aws_port, self.tls_port, self.smtp_port):
            if port is not None and not port_is_free(port):
                raise RuntimeError(
                    f"port {port} on 127.0.0.1 is in use: pass --api-port/--aws-port/--tls-port/--smtp-port "
                    "(or FIREBELL_API_PORT/FIREBELL_AWS_PORT/FIREBELL_TLS_PORT/FIREBELL_SMTP_PORT)"
                )
        if self.tls_port is not None:  # before anything starts: a folder it cannot write fails here, saying so
            try:
                self.tls = ensure_certificate(self.tls_dir)
            except OSError as error:
                raise RuntimeError(
                    f"cannot keep the local CA and certificate in {self.tls_dir}: {error}; pass --tls-dir "
                    "(or FIREBELL_TLS_DIR)"
                ) from error
        if self.state is not None:
            self.state.take()
            if self.fresh:
                self.state.erase()
        configure_local_process(self.aws_url, self.aws_port)
        self._start_moto()
        self._render_resources()
        self._start_slack()
        self._restore_state()
        self._shorten_visibility_timeouts()
        self._export_function_environment()
        self.started_at = time.time()
        # Before the HTTP server exists, so that GET /_local/health always finds it; beats wait on the queue
        # until intake's poller starts.
        self._start_heartbeat()
        # Opt-in fault injection (infra/local/faults.py), installed before any handler makes a client.
        self.faults = faults.install_from_env()
        self._start_functions()
        self._start_smtp()
        self._rearm_timers()
        self._start_saving()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self.smtp is not None:
            self.smtp.stop()
        for server in (self._http, self._https):
            if server is not None:
                server.shutdown()
                server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        if self._saver is not None:  # after every function stopped: nothing changes any more
            self._saver.save_if_changed("clean stop", always=True)
        if self.slack is not None:
            self.slack.close()
            os.environ.pop("FIREBELL_SLACK_API_URL", None)
        if self._moto_server is not None:
            self._moto_server.stop()
        if self.faults is not None:
            self.faults.uninstall()
        if self.state is not None:
            self.state.release()

    def __enter__(self) -> LocalRuntime:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    # --- set-up ----------------------------------------------------------------------------------

    def _start_moto(self) -> None:
        from moto.core.config import default_user_config
        from moto.server import ThreadedMotoServer

        from infra.local.moto_patches import install_local_patches

        # Run state machines for real (Wait states wait, task tokens work, SDK integrations execute).
        default_user_config["stepfunctions"]["execute_state_machine"] = True
        install_local_patches()
        self._moto_server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.aws_port, verbose=False)
        self._moto_server.start()

    def _render_resources(self) -> None:
        secret_values = self.state.secrets() if self.state is not None else {}
        # The Slack app's secrets when given (a test's own Slack stand-in, or a real workspace's app); else kept or made.
        for name, variable in (
            (SLACK_BOT_TOKEN, "FIREBELL_SLACK_BOT_TOKEN"),
            (SLACK_SIGNING_SECRET, "FIREBELL_SLACK_SIGNING_SECRET"),
        ):
            if os.environ.get(variable):
                secret_values[name] = os.environ[variable]
        self.resources = render_topology(self.topology, self.config_dir, self.api_url, secret_values)

    def _start_slack(self) -> None:
        """Slack, standing in (infra/local/slack_stand_in.py), unless FIREBELL_SLACK_API_URL says where Slack is."""
        if os.environ.get("FIREBELL_SLACK_API_URL"):
            return
        from infra.local.slack_stand_in import SlackStandIn

        secretsmanager = boto3.client("secretsmanager", region_name=REGION)
        value = lambda name: secretsmanager.get_secret_value(SecretId=self.resources[("secret", name)])["SecretString"]  # noqa: E731
        self.slack = SlackStandIn(value(SLACK_BOT_TOKEN), value(SLACK_SIGNING_SECRET))
        os.environ["FIREBELL_SLACK_API_URL"] = self.slack.api_url

    def _restore_state(self) -> None:
        """What the state folder kept, into the new tables, before any function runs."""
        if self.state is None:
            return
        self.kept_from = self.state.manifest
        self._earlier_outbox = self.state.outbox()
        self.restored = self.state.load_tables(self.topology, self.resources)
        restore_dead_letters(self.resources, self.state.dead_letters())

    def _rearm_timers(self) -> None:
        """Executions are not kept: the timers each kept incident's state implies start again (functions/outbox)."""
        if not any(self.restored.values()):
            return
        from functions.outbox.app import BACKFILL_FACTS, REARM_TIMERS

        answer = self.functions["outbox"].invoke(
            {"source": "firebell.local", "detail-type": REARM_TIMERS, "detail": {}}
        )
        self.rearmed = answer["rearmed"]
        # State kept by an older firebell may hold closed incidents without the reports' facts.
        self.functions["outbox"].invoke({"source": "firebell.local", "detail-type": BACKFILL_FACTS, "detail": {}})

    def _start_saving(self) -> None:
        if self.state is None:
            return
        from infra.local.moto_patches import dynamodb_writes

        state = self.state
        self._saver = PeriodicSave(
            lambda how: state.save(
                self.topology, self.resources, self.outbox(), how, kept_dead_letters(self.topology, self.resources)
            ),
            lambda: (dynamodb_writes(), len(self.outbox()), len(kept_dead_letters(self.topology, self.resources))),
            self._save_interval,
            self._stop,
        )
        self._saver.start()
        self._threads.append(self._saver)

    def _shorten_visibility_timeouts(self) -> None:
        """FIREBELL_VISIBILITY_TIMEOUT=<s>: retry failed records after seconds, not minutes (fault harness, demos).

        The topology's 180 s (six times the functions' timeout) would make every retried record wait 3 minutes.
        """
        seconds = os.environ.get("FIREBELL_VISIBILITY_TIMEOUT")
        if not seconds:
            return
        sqs = boto3.client("sqs", region_name=REGION)
        for queue in self.topology.queues:
            sqs.set_queue_attributes(
                QueueUrl=self.resources[("queue_url", queue.name)], Attributes={"VisibilityTimeout": str(int(seconds))}
            )

    def _export_function_environment(self) -> None:
        # Only what every function shares; each function's own variables are its own (LocalFunction).
        os.environ.update(common_environment(self.config_dir, self.time_scale))
        # The local sign-in's signing secret (the api function's; no stack ever sets it): kept with the state, so
        # a session outlives a restart; without a state folder, one for this run.
        os.environ["FIREBELL_SESSION_SECRET"] = (
            self.state.session_secret() if self.state is not None else secrets.token_urlsafe(32)
        )
        enforce(self.topology, self.resources)  # each function's calls held to its role, as AWS would
        from firebell import wiring

        wiring.reset()

    def _start_functions(self) -> None:
        from infra.local.http_api import start_http_api

        api: LocalFunction | None = None
        for spec in self.topology.functions:
            function = self.functions[spec.name] = LocalFunction(spec)
            if isinstance(spec.trigger, QueueTrigger):
                poller = QueuePoller(
                    function,
                    spec.trigger,
                    self.resources[("queue_url", spec.trigger.queue)],
                    self.resources[("queue_arn", spec.trigger.queue)],
                    self._stop,
                )
                poller.start()
                self._threads.append(poller)
            elif isinstance(spec.trigger, ScheduleTrigger):
                schedule = SchedulePoller(function, spec.trigger.local_interval_seconds, self._stop)
                schedule.start()
                self._threads.append(schedule)
            elif isinstance(spec.trigger, ApiTrigger):
                api = function
        if api is not None:  # once every function exists: GET /_local/health reads them all
            self._http = start_http_api(self, api, self.api_port)
            if self.tls is not None:
                self._https = start_http_api(self, api, self.tls_port, https_server_class(self.tls), name="https-api")

    def _start_smtp(self) -> None:
        """SES receiving, played on 127.0.0.1: what it stores reaches the mail function through the bucket's events."""
        if self.smtp_port is None:
            return
        from infra.local.mail import SmtpListener

        self.smtp = SmtpListener(self.smtp_port, REGION)
        self.smtp.start()

    def _start_heartbeat(self) -> None:
        from infra.local.health import HeartbeatTimer, heartbeat_interval

        if self.topology.monitoring is None:
            return
        spec = self.topology.monitoring.heartbeat
        self.heartbeat = HeartbeatTimer(
            spec, self.resources[("queue_url", spec.queue)], heartbeat_interval(spec, self.time_scale), self._stop
        )
        self.heartbeat.start()
        self._threads.append(self.heartbeat)

    # --- what happened ---------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        from infra.local.health import local_health

        return local_health(self)

    def outbox(self) -> list[dict[str, Any]]:
        """Emails, then SMS, oldest first: those kept from earlier runs, then this run's."""
        current = captured_outbox()
        return [m for channel in ("email", "sms") for m in (*self._earlier_outbox, *current) if m["channel"] == channel]

    def dead_letters(self) -> dict[str, list[dict[str, Any]]]:
        return peek_dead_letters(self.topology, self.resources)

    def dead_letters_view(self) -> dict[str, Any]:
        return dead_letters_view(self.topology, self.resources)
