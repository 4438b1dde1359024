"""`edgeship bench`: measure model files in their CPU runtimes, interleaved, each in its own process.

Every (file, runtime, threads, request shape) gets a worker process that loads the file once. The parent then
drives rounds: in each round every worker runs a short burst of invokes, one worker at a time, in an order
that rotates from round to round. A slow minute on the shared machine therefore lands on every configuration
alike instead of on whichever happened to run then, and per-round samples feed the bootstrap intervals.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable

import numpy as np

from ..errors import EdgeshipError
from ..export.bundle import sha256
from . import identity, runtimes
from .facts import ModelFacts, model_facts
from .signature import FORMATS, RUNTIMES, Signature, TensorSpec, read_signature, with_ranges
from .stats import Summary, summarize

BENCH_SCHEMA_VERSION = 1
Progress = Callable[[str], None]


@dataclass(frozen=True)
class BenchConfig:
    threads: tuple[int, ...] = (1, 2)
    candidates: tuple[int, ...] | None = None  # None: 1 and the bundle's K
    rounds: int = 20
    invokes: int = 100  # per round and configuration
    warmup: int = 20  # invokes after loading, before any timing
    identity: bool = True  # also measure the identity model (overhead floor)
    seed: int = 0

    def __post_init__(self):
        for name in ("rounds", "invokes"):
            if getattr(self, name) < 2:
                raise EdgeshipError(f"--{name}: expected an integer >= 2, got {getattr(self, name)}")
        if not self.threads or min(self.threads) < 1:
            raise EdgeshipError(f"--threads: expected positive integers, got {list(self.threads)}")
        if self.candidates is not None and min(self.candidates) < 1:
            raise EdgeshipError(f"--candidates: expected positive integers, got {list(self.candidates)}")


@dataclass
class Target:
    """One file to measure."""

    label: str  # unique within a run, e.g. "ranker_int8.tflite" or "baseline/ranker_int8.tflite"
    path: Path
    format: str
    group: str = "model"  # model | baseline | identity
    precision: str | None = None
    sha256: str = ""
    verification: dict | None = None  # from the bundle's manifest
    signature: Signature | None = None  # None: no runtime here can execute it (Core ML on Linux)
    facts: ModelFacts | None = None

    def to_dict(self) -> dict:
        return {"label": self.label, "path": str(self.path), "format": self.format, "group": self.group,
                "precision": self.precision, "sha256": self.sha256, "verification": self.verification,
                "inputs": [t.to_dict() for t in self.signature.inputs] if self.signature else None,
                "facts": self.facts.to_dict() if self.facts else None}


@dataclass
class Measurement:
    label: str
    group: str
    runtime: str
    threads: int
    candidates: int | None  # None: the file's own input shape (not an edgeship ranker)
    status: str = "ok"  # ok | skipped | failed
    reason: str = ""
    import_ms: float | None = None
    load_ms: float | None = None
    first_ms: float | None = None
    latency_ms: Summary | None = None
    rounds_ms: list[list[float]] = field(default_factory=list)
    rss_runtime_mb: float | None = None  # after importing the runtime, before loading the model
    peak_rss_mb: float | None = None  # the worker process's high-water mark
    model_rss_mb: float | None = None  # peak minus the identity model's peak in the same runtime and threads
    identity: str | None = None  # label of the identity model measured beside it
    cpus: list[int] = field(default_factory=list)  # the cores the worker was pinned to

    def to_dict(self) -> dict:
        d = asdict(self)
        d["latency_ms"] = self.latency_ms.to_dict() if self.latency_ms else None
        d["rounds_ms"] = [[round(x, 5) for x in r] for r in self.rounds_ms]
        return d


@dataclass
class BenchResult:
    targets: list[Target]
    measurements: list[Measurement]
    config: BenchConfig
    host: dict
    source: dict
    seconds: float

    def to_dict(self) -> dict:
        return {"schema_version": BENCH_SCHEMA_VERSION, "kind": "edgeship-bench", "host": self.host,
                "source": self.source, "config": asdict(self.config), "seconds": round(self.seconds, 1),
                "targets": [t.to_dict() for t in self.targets],
                "measurements": [m.to_dict() for m in self.measurements]}


# --- targets ---------------------------------------------------------------------------------------------------

def bundle_targets(bundle: Path, group: str = "model", prefix: str = "") -> tuple[list[Target], dict]:
    """The artifacts of a bundle, each checked against the manifest's checksum before anything runs."""
    from ..export.check import read_manifest

    manifest = read_manifest(bundle)  # refuses a missing, changed or truncated artifact (exit 1)
    targets = []
    for entry in manifest["artifacts"]:
        path = bundle / entry["path"]
        t = Target(prefix + entry["path"], path, entry["format"], group, entry["precision"], entry["sha256"],
                   entry.get("verification"))
        if path.suffix in RUNTIMES:
            t.signature = with_ranges(read_signature(path), manifest.get("model"))
        targets.append(t)
    return targets, manifest


def file_target(path: Path) -> Target:
    if not path.is_file():
        raise EdgeshipError(f"{path}: model file not found")
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise EdgeshipError(f"{path}: expected a .tflite, .onnx or .mlmodel file or a bundle directory")
    t = Target(path.name, path, fmt, sha256=sha256(path))
    if path.suffix.lower() in RUNTIMES:
        try:
            t.signature = read_signature(path)
        except Exception as e:  # a file the runtime cannot even parse is bad input, not a measurement
            raise EdgeshipError(f"{path}: not a readable {fmt} model ({str(e).splitlines()[0][:160]})") from None
    return t


def unique_labels(targets: list[Target]) -> list[Target]:
    """Foreign files named model.onnx in different folders need telling apart in the report."""
    seen: dict[str, int] = {}
    for t in targets:
        seen[t.label] = seen.get(t.label, 0) + 1
    for t in targets:
        if seen[t.label] > 1 and t.group != "identity":
            t.label = f"{t.path.parent.name}/{t.label}"
    return targets


# --- host ------------------------------------------------------------------------------------------------------

def host_info() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "logical_cores": os.cpu_count(), "platform": platform.platform(),
            "python": platform.python_version(),
            "runtimes": {r: runtimes.version(r) for r in ("litert", "onnxruntime")},
            "load_average_1m": _load_average()}


def _load_average() -> float | None:
    return round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None


# --- workers ---------------------------------------------------------------------------------------------------

class Worker:
    def __init__(self, m: Measurement, path: Path, inputs: tuple[TensorSpec, ...]):
        self.m, self.path, self.inputs = m, path, inputs
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen([sys.executable, "-m", "edgeship.benchmarks.worker"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)

    def ask(self, msg: dict) -> dict:
        if self.proc.poll() is not None:
            return {"ok": False, "error": f"worker exited with code {self.proc.returncode}"}
        try:
            self.proc.stdin.write(json.dumps(msg) + "\n")
            self.proc.stdin.flush()
            line = self.proc.stdout.readline()
        except (BrokenPipeError, OSError) as e:
            return {"ok": False, "error": f"worker died ({e})"}
        if not line:
            code = self.proc.wait()
            return {"ok": False, "error": f"the runtime crashed the worker process (exit code {code})"}
        return json.loads(line)

    def fail(self, error: str) -> None:
        self.m.status, self.m.reason = "failed", error
        self.close()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


def _shape_for(signature: Signature, candidates: int | None) -> tuple[tuple[TensorSpec, ...] | None, str]:
    """The inputs for a request of `candidates` items, or None and why that shape cannot be run."""
    if candidates is None:
        return signature.inputs, ""
    k = signature.candidates()
    cand = next(t for t in signature.inputs if t.name == "candidates")
    if 1 in cand.dynamic:  # a free candidate dimension: run the requested count
        return tuple(replace(t, shape=(t.shape[0], candidates, *t.shape[2:]))
                     if t.name in ("candidates", "candidate_features") else t for t in signature.inputs), ""
    if candidates < k:
        return None, f"fixed input shape [1, {k}]: a request with {candidates} candidate(s) is padded to {k}"
    if candidates > k:
        return None, f"fixed input shape [1, {k}]: takes at most {k} candidates per call"
    return signature.inputs, ""


def plan(targets: list[Target], cfg: BenchConfig, scratch: Path) -> list[tuple[Measurement, Path, tuple]]:
    """Every configuration to measure, identity models included, and the skips with their reasons."""
    jobs, identities = [], {}
    for t in targets:
        if t.signature is None:
            continue
        runtime = RUNTIMES[t.path.suffix.lower()]
        k = t.signature.candidates()
        shapes = [None] if k is None else list(cfg.candidates or sorted({1, k}))
        for threads in cfg.threads:
            for c in shapes:
                m = Measurement(t.label, t.group, runtime, threads, c)
                inputs, why = _shape_for(t.signature, c)
                if inputs is None:
                    m.status, m.reason = "skipped", why
                    jobs.append((m, t.path, ()))
                    continue
                if cfg.identity:
                    key = (runtime, threads, inputs)
                    if key not in identities:
                        stem = f"identity_{len(identities)}"
                        path = identity.write(runtime, inputs, scratch, stem)
                        ident = Measurement(f"{stem}{path.suffix}", "identity", runtime, threads, c)
                        identities[key] = ident
                        jobs.append((ident, path, inputs))
                    m.identity = identities[key].label
                jobs.append((m, t.path, inputs))
    return jobs


def run_bench(targets: list[Target], cfg: BenchConfig, source: dict, progress: Progress = print) -> BenchResult:
    started = time.perf_counter()
    host = host_info()
    for t in targets:
        if t.facts is None:
            t.facts = model_facts(t.path)
    with tempfile.TemporaryDirectory(prefix="edgeship-bench-") as scratch:
        jobs = plan(targets, cfg, Path(scratch))
        measurements = [m for m, _, _ in jobs]
        runnable = [(m, p, i) for m, p, i in jobs if m.status == "ok"]
        progress(f"bench: {len(runnable)} configurations ({len(jobs) - len(runnable)} skipped), "
                 f"{cfg.rounds} rounds x {cfg.invokes} invokes each")
        workers = [Worker(m, p, i) for m, p, i in runnable]
        try:
            _load_all(workers, cfg, progress)
            _rounds(workers, cfg, progress)
            for w in workers:
                if w.m.status == "ok":
                    reply = w.ask({"cmd": "stop"})
                    w.m.peak_rss_mb = round(reply["peak_rss_mb"], 1) if reply.get("ok") else None
        finally:
            for w in workers:
                w.close()
    _attach_memory(measurements)
    host["load_average_1m_end"] = _load_average()
    return BenchResult(targets, measurements, cfg, host, source, time.perf_counter() - started)


def pinned_cpus(threads: int) -> list[int]:
    """The cores every worker with this thread count is pinned to: the same ones for all of them.

    Measured without pinning under a busy-loop load on 2 cores: the scheduler kept some worker processes on a
    core shared with a busy loop and their twins on a free one for a whole run, so an unchanged file measured
    1.5x slower than itself in 2 of 20 gate runs. Pinned, all compared workers see the same cores."""
    if not hasattr(os, "sched_getaffinity"):
        return []
    available = sorted(os.sched_getaffinity(0))
    return available[-threads:] if threads <= len(available) else available


def _load_all(workers: list[Worker], cfg: BenchConfig, progress: Progress) -> None:
    # one at a time: a load measured while another model loads beside it would measure both
    for i, w in enumerate(workers, 1):
        m = w.m
        m.cpus = pinned_cpus(m.threads)
        reply = w.ask({"cmd": "load", "path": str(w.path), "runtime": m.runtime, "threads": m.threads,
                       "inputs": [t.to_dict() for t in w.inputs], "warmup": cfg.warmup, "seed": cfg.seed,
                       "cpus": m.cpus})
        if not reply.get("ok"):
            w.fail(f"{m.runtime} cannot run it: {reply.get('error')}")
            progress(f"  load {i}/{len(workers)} {m.label} [{m.runtime}, {m.threads}t]: FAILED {m.reason}")
            continue
        m.import_ms, m.load_ms, m.first_ms = reply["import_ms"], reply["load_ms"], reply["first_ms"]
        m.rss_runtime_mb = round(reply["rss_runtime_mb"], 1)
        progress(f"  load {i}/{len(workers)} {m.label} [{m.runtime}, {m.threads}t, K={m.candidates}]: "
                 f"{m.load_ms:.1f} ms, first invoke {m.first_ms:.2f} ms")


def _rounds(workers: list[Worker], cfg: BenchConfig, progress: Progress) -> None:
    live = [w for w in workers if w.m.status == "ok"]
    t0 = time.perf_counter()
    for r in range(cfg.rounds):
        shift = r % max(len(live), 1)
        for w in live[shift:] + live[:shift]:  # rotate who goes first, so no configuration always runs cold
            if w.m.status != "ok":
                continue
            reply = w.ask({"cmd": "round", "n": cfg.invokes})
            if not reply.get("ok"):
                w.fail(f"{w.m.runtime} failed while running: {reply.get('error')}")
                continue
            w.m.rounds_ms.append(reply["ms"])
        elapsed = time.perf_counter() - t0
        progress(f"  round {r + 1}/{cfg.rounds} done ({elapsed:.1f} s, ~{elapsed / (r + 1) * (cfg.rounds - r - 1):.0f} s left)")
    for w in live:
        if w.m.status == "ok":
            w.m.latency_ms = summarize(np.concatenate(w.m.rounds_ms))


def _attach_memory(measurements: list[Measurement]) -> None:
    by_label = {(m.label, m.runtime, m.threads): m for m in measurements if m.group == "identity"}
    for m in measurements:
        if m.status != "ok" or m.peak_rss_mb is None:
            continue
        ident = by_label.get((m.identity, m.runtime, m.threads)) if m.identity else None
        floor = ident.peak_rss_mb if ident and ident.peak_rss_mb else m.rss_runtime_mb
        m.model_rss_mb = round(max(m.peak_rss_mb - floor, 0.0), 1)


def collect_targets(paths: list[Path]) -> tuple[list[Target], dict]:
    """Targets for bundle directories and loose model files; the source record says where each came from."""
    targets, source = [], {"bundles": [], "files": []}
    for p in paths:
        if p.is_dir():
            found, manifest = bundle_targets(p)
            targets += found
            source["bundles"].append({"path": str(p), "model": manifest.get("model", {}).get("name"),
                                      "generator": manifest.get("generator")})
        else:
            targets.append(file_target(p))
            source["files"].append(str(p))
    return unique_labels(targets), source
