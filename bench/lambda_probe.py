"""One Lambda "container" in a fresh interpreter: import a handler module, hand it events, say what it cost.

Run by bench/lambda_like.py as `python -I -S -B lambda_probe.py JOB RESULT`: no site-packages (only the built
layer and the function's folder are importable, as in Lambda), no bytecode written (/opt and /var/task are
read-only there). Standard library only before the clock starts: Lambda's runtime has already parsed the event
(json) when it calls the handler, so the probe does the same before timing.

JOB (JSON): {"paths": [...], "module": "app", "handler": "handler" | null, "events": [...], "function": name,
             "memory_mb": n}
RESULT (JSON): import_ms, after_event_ms (cumulative from before the import; wall clock), the same in CPU time
               of this process (import_cpu_ms, after_event_cpu_ms: what a busy machine's other processes do not
               inflate, and without the AWS endpoint's own time), responses, and the peak RSS (VmHWM) after the
               import, the first event and the last.
"""

import json
import os
import sys
import time
import uuid


def peak_rss_kib() -> int:
    """The process's peak resident set so far (VmHWM): what Lambda holds against the function's memory."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


class Context:
    """What Lambda hands the handler besides the event (the attributes powertools reads)."""

    def __init__(self, function: str, memory_mb: int) -> None:
        self.function_name = function
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = memory_mb
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{function}"
        self.log_group_name = f"/aws/lambda/{function}"
        self.log_stream_name = "bench"
        self.aws_request_id = str(uuid.uuid4())
        self._deadline = time.monotonic() + 30

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def trace_header() -> str:
    """A sampled trace, as Lambda sets _X_AMZN_TRACE_ID before each invocation when tracing is active."""
    return f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};Parent={uuid.uuid4().hex[:16]};Sampled=1"


def main(job_path: str, result_path: str) -> None:
    with open(job_path) as file:
        job = json.load(file)
    sys.path[:0] = job["paths"]
    events = job["events"]
    contexts = [Context(job["function"], job["memory_mb"]) for _ in events]
    responses, after_event_ms, after_event_cpu_ms = [], [], []
    os.environ["_X_AMZN_TRACE_ID"] = trace_header()

    start, start_cpu = time.perf_counter(), time.process_time()
    module = __import__(job["module"], fromlist=["_"])
    import_ms, import_cpu_ms = (time.perf_counter() - start) * 1000, (time.process_time() - start_cpu) * 1000
    rss_after_import = peak_rss_kib()
    handler = getattr(module, job["handler"]) if job["handler"] else None
    for event, context in zip(events, contexts, strict=True):
        responses.append(handler(event, context))
        after_event_ms.append((time.perf_counter() - start) * 1000)
        after_event_cpu_ms.append((time.process_time() - start_cpu) * 1000)
        if len(after_event_ms) == 1:
            rss_after_first = peak_rss_kib()
        os.environ["_X_AMZN_TRACE_ID"] = trace_header()  # the next invocation's

    result = {
        "import_ms": import_ms,
        "after_event_ms": after_event_ms,
        "import_cpu_ms": import_cpu_ms,
        "after_event_cpu_ms": after_event_cpu_ms,
        "responses": responses,
        "peak_rss_kib": {
            "import": rss_after_import,
            "first_event": rss_after_first if events else rss_after_import,
            "last_event": peak_rss_kib(),
        },
        "modules": len(sys.modules),
    }
    with open(result_path, "w") as file:
        json.dump(result, file, default=str)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
