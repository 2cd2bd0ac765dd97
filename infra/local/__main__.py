"""`python -m infra.local`: start the pipeline on localhost, play the demo, serve until Ctrl-C.

--demo-only   play the demo and exit (status 0 only if every step happened)
--no-demo     just serve
--fresh       forget the state kept in --state-dir (default .firebell/state/) and start empty
"""

import argparse
import logging
import os
import signal
import sys
import threading
from pathlib import Path

from infra.local.demo import Demo, DemoFailed, confirmation_seconds, level_timeouts
from infra.local.runtime import TLS_DIR, LocalRuntime
from infra.local.state import DEFAULT_STATE_DIR
from infra.local.tls import trust_hint
from infra.topology import ALARMS_TOPIC, CONFIG_DIR, EVENTS_TOPIC


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m infra.local", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--api-port",
        type=int,
        default=int(os.environ.get("FIREBELL_API_PORT", 3000)),
        help="HTTP API port (default 3000, like sam local)",
    )
    parser.add_argument(
        "--aws-port",
        type=int,
        default=int(os.environ.get("FIREBELL_AWS_PORT", 4566)),
        help="AWS-compatible endpoint port (default 4566, like LocalStack)",
    )
    parser.add_argument(
        "--tls-port",
        type=int,
        default=int(os.environ.get("FIREBELL_TLS_PORT", 3443)),
        help="HTTPS API port (default 3443), the same routes as --api-port",
    )
    parser.add_argument(
        "--smtp-port",
        type=int,
        default=int(os.environ.get("FIREBELL_SMTP_PORT", 2525)),
        help="SMTP port of email intake's listener, which plays SES receiving (default 2525; docs/email-intake.md)",
    )
    parser.add_argument(
        "--tls-dir",
        type=Path,
        default=Path(os.environ.get("FIREBELL_TLS_DIR", TLS_DIR)),
        help="where the local CA and certificate are made on first start (default .firebell/tls/)",
    )
    parser.add_argument(
        "--time-scale",
        type=float,
        default=float(os.environ.get("FIREBELL_TIME_SCALE", 0.01)),
        help="multiply escalation delays (default 0.01: 5 min → 3 s)",
    )
    parser.add_argument(
        "--config-dir",
        type=Path,
        default=Path(os.environ.get("FIREBELL_CONFIG_DIR", CONFIG_DIR)),
        help="firebell.yaml and rules.yaml (default config/)",
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=Path(os.environ.get("FIREBELL_STATE_DIR", DEFAULT_STATE_DIR)),
        help="where incidents, the outbox and the directory changes are kept across restarts (default .firebell/state/)",
    )
    parser.add_argument(
        "--fresh", action="store_true", help="forget what the state folder kept and start empty (INC-1 again)"
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--demo-only", action="store_true", help="play the demo and exit")
    mode.add_argument("--no-demo", action="store_true", help="serve without playing the demo")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    runtime = LocalRuntime(
        api_port=args.api_port,
        aws_port=args.aws_port,
        time_scale=args.time_scale,
        config_dir=args.config_dir,
        tls_port=args.tls_port,
        tls_dir=args.tls_dir,
        state_dir=args.state_dir.resolve(),
        fresh=args.fresh,
        smtp_port=args.smtp_port,
    )
    try:
        runtime.start()
    except RuntimeError as error:
        print(f"firebell: {error}", file=sys.stderr)
        return 2
    alarms_topic = runtime.resources[("topic", ALARMS_TOPIC)]
    print(
        f"firebell is running locally (no AWS account)\n"
        f"  console         {runtime.api_url}/   (the web console: sign in as anyone in config/firebell.yaml, no password; docs/console.md)\n"
        f"  HTTP API        {runtime.api_url}   (GET /openapi.json, /docs, /incidents; outbox at /_local/outbox, health at /_local/health)\n"
        f"  HTTPS API       {runtime.https_url}  (the same routes; {trust_hint(runtime.tls)})\n"
        f"  AWS endpoint    {runtime.aws_url}   (aws --endpoint-url {runtime.aws_url} …, region us-east-1, any credentials)\n"
        f"  SMTP (mail in)  {runtime.smtp.url}   (mail to an email_intake address of config/firebell.yaml opens an incident; docs/email-intake.md)\n"
        f"  alarms topic    {alarms_topic}\n"
        f"  events topic    {runtime.resources[('topic', EVENTS_TOPIC)]}\n"
        f"  state folder    {runtime.state.path}   (kept across restarts; --fresh starts empty)\n"
        f"                  {kept_state(runtime)}\n"
    )
    # Ctrl-C and SIGTERM both end in the clean stop that saves the state, also when started in the background
    # (a shell's `&` makes the process ignore SIGINT).
    signal.signal(signal.SIGINT, _stop_once)
    signal.signal(signal.SIGTERM, _stop_once)
    status = 0
    try:
        if not args.no_demo:
            demo = Demo(
                runtime.api_url,
                runtime.aws_url,
                alarms_topic,
                level_timeouts(args.config_dir, args.time_scale),
                confirmation_seconds=confirmation_seconds(args.config_dir, args.time_scale),
            )
            try:
                demo.play()
                print(f"\ndemo passed: {len(demo.steps_passed)} steps")
            except DemoFailed as failure:
                print(f"\ndemo FAILED after {len(demo.steps_passed)} steps: {failure}", file=sys.stderr)
                status = 1
        if not args.demo_only:
            print(
                f"\nserving until Ctrl-C; try (sign in as anyone of the config, then act as them):\n"
                f'  curl -s -c .firebell/alice.cookies -XPOST {runtime.api_url}/auth/local/sign-in -d \'{{"person":"alice"}}\'\n'
                f'  curl -s -b .firebell/alice.cookies -XPOST {runtime.api_url}/incidents -d \'{{"title":"Checkout is slow"}}\'\n'
                f"  AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test .venv/bin/aws --endpoint-url {runtime.aws_url} --region us-east-1 sns publish --topic-arn {alarms_topic} --message file://events/cloudwatch/alarm-metric-math.json"
            )
            # Until Ctrl-C or SIGTERM. Python runs signal handlers in the main thread only, and the OS may deliver the
            # signal to any of the runtime's threads: a wait without a timeout would then never wake to run it.
            idle = threading.Event()
            while not idle.wait(0.5):
                pass
    except KeyboardInterrupt:
        pass
    finally:
        _ignore_stopping_signals()
        runtime.stop()
        if runtime.state is not None:
            print(f"stopped; state saved in {runtime.state.path}")
    return status


def _ignore_stopping_signals() -> None:
    for stopping_signal in (signal.SIGINT, signal.SIGTERM):  # a second one must not cut the state's save short
        signal.signal(stopping_signal, signal.SIG_IGN)


def _stop_once(signum: int, frame: object) -> None:
    """Ctrl-C or SIGTERM: the clean stop. Further signals are ignored from the first on: a second one arriving while
    the first's KeyboardInterrupt unwinds a lock wait (threading.Event.wait) ended the run in a RuntimeError."""
    _ignore_stopping_signals()
    raise KeyboardInterrupt


def kept_state(runtime: LocalRuntime) -> str:
    manifest = runtime.kept_from
    if not any(runtime.restored.values()) or manifest is None:
        return "nothing kept: a new state" + (" (--fresh)" if runtime.fresh else "")
    rearmed = f"; timers re-armed: {', '.join(runtime.rearmed)}" if runtime.rearmed else "; no timers to re-arm"
    return f"{sum(runtime.restored.values())} items and {len(runtime.outbox())} sent messages kept from {manifest['saved_at']} ({manifest['saved_by']}){rearmed}"


if __name__ == "__main__":
    sys.exit(main())
