"""One measured model in its own process: `python -m edgeship.benchmarks.worker`, driven over stdin/stdout.

A process per (artifact, runtime, threads) keeps peak RSS attributable to that one model and lets the parent
interleave many loaded models round by round. Protocol: one JSON object per line each way.

  {"cmd": "load", "path", "runtime", "threads", "inputs": [TensorSpec...], "warmup", "cpus"}
      -> {"ok", "import_ms", "load_ms", "first_ms", "rss_runtime_mb", "rss_loaded_mb"}
  {"cmd": "round", "n", "warmup"}  -> {"ok", "ms": [n latencies]}
  {"cmd": "ping"}                  -> {"ok"}
  {"cmd": "stop"}                  -> {"ok", "peak_rss_mb"}
Any failure -> {"ok": false, "error": "one line"} and the worker exits.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from pathlib import Path


def _rss_mb() -> float:
    """This process's peak RSS in MiB. Linux: VmHWM, because ru_maxrss survives exec and would report the
    parent's peak at fork time."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    return peak / (1 << 20) if sys.platform == "darwin" else peak / 1024


def timed(invoke, feeds, n: int) -> list[float]:
    """n invokes, each timed on its own, in ms. The only code between the two clock reads is the invoke."""
    clock, samples = time.perf_counter, []
    for _ in range(n):
        t0 = clock()
        invoke(feeds)
        samples.append((clock() - t0) * 1e3)
    return samples


def _reply(out, payload: dict) -> None:
    out.write(json.dumps(payload) + "\n")
    out.flush()


def serve(stdin, stdout) -> None:
    from . import runtimes
    from .signature import TensorSpec, synthesize

    invoke = feeds = None
    clock = time.perf_counter
    for line in stdin:
        msg = json.loads(line)
        cmd = msg["cmd"]
        if cmd == "load":
            if msg.get("cpus") and hasattr(os, "sched_setaffinity"):
                os.sched_setaffinity(0, msg["cpus"])
            t0 = clock()
            runtimes.import_runtime(msg["runtime"])
            import_ms = (clock() - t0) * 1e3
            feeds = synthesize(tuple(TensorSpec.from_dict(t) for t in msg["inputs"]), seed=msg.get("seed", 0))
            rss_runtime = _rss_mb()
            t0 = clock()
            invoke = runtimes.OPENERS[msg["runtime"]](Path(msg["path"]), msg["threads"])
            load_ms = (clock() - t0) * 1e3
            t0 = clock()
            invoke(feeds)
            first_ms = (clock() - t0) * 1e3
            for _ in range(msg.get("warmup", 20)):
                invoke(feeds)
            _reply(stdout, {"ok": True, "import_ms": import_ms, "load_ms": load_ms, "first_ms": first_ms,
                            "rss_runtime_mb": rss_runtime, "rss_loaded_mb": _rss_mb()})
        elif cmd == "round":
            for _ in range(msg.get("warmup", 2)):  # another worker just ran: refill this one's caches first
                invoke(feeds)
            _reply(stdout, {"ok": True, "ms": timed(invoke, feeds, msg["n"])})
        elif cmd == "ping":  # protocol cost alone (benchmarks/harness_overhead.py)
            _reply(stdout, {"ok": True})
        elif cmd == "stop":
            _reply(stdout, {"ok": True, "peak_rss_mb": _rss_mb()})
            return


def main() -> int:
    # the protocol gets its own descriptor; fd 1 goes to stderr, so whatever a runtime's C++ code prints
    # cannot corrupt the stream the parent parses
    stdout = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    try:
        serve(sys.stdin, stdout)
    except Exception as e:  # reported to the parent as data; the parent decides what it means
        _reply(stdout, {"ok": False, "error": f"{type(e).__name__}: {e}".splitlines()[0]})
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
