"""One measured model in its own process: `python -m edgeship.benchmarks.worker`, driven over stdin/stdout.

A process per (artifact, runtime, threads) keeps peak RSS attributable to that one model and lets the parent
interleave many loaded models round by round. Protocol: one JSON object per line each way.

  {"cmd": "load", "path", "format", "call", "threads", "inputs": [TensorSpec...], "warmup", "seed", "cpus"}
      -> {"ok", "import_ms", "load_ms", "first_ms", "rss_runtime_mb"}
  {"cmd": "round", "n", "warmup"}  -> {"ok", "ms": [n latencies]}
  {"cmd": "ping"}                  -> {"ok"}
  {"cmd": "stop"}                  -> {"ok", "peak_rss_mb"}
An unknown command or any failure -> {"ok": false, "error": "one line"}, and the worker exits.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np


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


def _opener(fmt, call: str, feeds: dict):
    """path, threads -> the timed call: scoring a request, or one training step on it (learning rate 0, so the
    file's state, and with it every later step, stays the same)."""
    if call == "infer":
        return lambda path, threads: fmt.open_session(path, threads).invoke
    if call == "second_api":  # the same scoring through the runtime's other API (LiteRT's CompiledModel)
        return lambda path, threads: fmt.second_api()[1](path, threads).invoke

    def train(path, threads):
        trainer = fmt.trainer(path, threads)
        k = feeds["candidates"].shape[1]
        labels, mask = (np.arange(k) == 0).astype(np.float32), np.ones(k, np.float32)
        return lambda f: trainer.train(f, labels, mask, 0.0)

    return train


def _reply(out, payload: dict) -> None:
    out.write(json.dumps(payload) + "\n")
    out.flush()


class UnknownCommand(Exception):
    pass


def serve(stdin, stdout) -> None:
    from ..core import typed
    from ..core.tensors import TensorSpec, synthesize
    from ..export import formats

    invoke = feeds = None
    clock = time.perf_counter
    for line in stdin:
        msg = json.loads(line)
        cmd = msg.get("cmd")
        if cmd == "load":
            if msg.get("cpus") and hasattr(os, "sched_setaffinity"):
                os.sched_setaffinity(0, msg["cpus"])
            fmt = formats.get(msg["format"])
            fmt.runtime  # noqa: B018  our runtime module imported before the clock: the library's import is timed
            t0 = clock()
            fmt.load_runtime()
            import_ms = (clock() - t0) * 1e3
            feeds = synthesize(typed.load(tuple[TensorSpec, ...], msg["inputs"], "worker inputs", toml=False),
                               seed=msg.get("seed", 0))
            rss_runtime = _rss_mb()
            t0 = clock()
            invoke = _opener(fmt, msg.get("call", "infer"), feeds)(Path(msg["path"]), msg["threads"])
            load_ms = (clock() - t0) * 1e3
            t0 = clock()
            invoke(feeds)
            first_ms = (clock() - t0) * 1e3
            for _ in range(msg.get("warmup", 20)):
                invoke(feeds)
            _reply(stdout, {"ok": True, "import_ms": import_ms, "load_ms": load_ms, "first_ms": first_ms,
                            "rss_runtime_mb": rss_runtime})
        elif cmd == "round":
            for _ in range(msg.get("warmup", 2)):  # another worker just ran: refill this one's caches first
                invoke(feeds)
            _reply(stdout, {"ok": True, "ms": timed(invoke, feeds, msg["n"])})
        elif cmd == "ping":  # protocol cost alone (studies/harness_overhead.py)
            _reply(stdout, {"ok": True})
        elif cmd == "stop":
            _reply(stdout, {"ok": True, "peak_rss_mb": _rss_mb()})
            return
        else:
            raise UnknownCommand(f"unknown command {cmd!r} (expected load, round, ping or stop)")


def main() -> int:
    from ..core.errors import one_line

    # the protocol gets its own descriptor; fd 1 goes to stderr, so whatever a runtime's C++ code prints
    # cannot corrupt the stream the parent parses
    stdout = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    try:
        serve(sys.stdin, stdout)
    except Exception as e:  # reported to the parent as data; the parent decides what it means
        error = e.args[0] if isinstance(e, UnknownCommand) else getattr(e, "detail", None) or one_line(e)
        _reply(stdout, {"ok": False, "error": error})
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
