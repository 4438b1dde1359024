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
from dataclasses import replace
from pathlib import Path
from typing import Callable

import numpy as np

from ..core import typed
from ..core.errors import EdgeshipError, InputError, one_line
from ..core.files import sha256
from ..core.outcome import Outcome
from ..core.tensors import Signature, TensorSpec, synthesize
from ..export import formats
from ..export.manifest import Manifest
from ..export.reader import read_manifest
from .records import (BENCH_KIND, BENCH_VERSION, BenchConfig, BenchResult, Group, Host, Measurement, OpProfile,
                      OpTime, Target)
from .stats import summarize

Progress = Callable[[str], None]


class WorkerError(Exception):
    """A worker process answered with an error, or died: the configuration it measures fails, not the run."""


# --- targets ---------------------------------------------------------------------------------------------------

def bundle_targets(bundle: Path, group: Group = Group.MODEL, prefix: str = "",
                   error: type[EdgeshipError] = InputError) -> tuple[list[Target], Manifest]:
    """The artifacts of a bundle, each checked against the manifest's checksum before anything runs. error:
    what a changed or missing artifact is to the caller (a gate's input, or a baseline)."""
    manifest = read_manifest(bundle, error)
    ranges = manifest.model.feature_spec.value_ranges()
    targets = []
    for entry in manifest.artifacts:
        path = bundle / entry.path
        fmt = formats.get(entry.format)
        signature = fmt.signature(path, error).with_ranges(ranges) if fmt.timed else None
        targets.append(Target(prefix + entry.path, path, entry.format, group, entry.precision, entry.sha256,
                              entry.verification, signature, trainable=entry.trainable and fmt.timed))
    return targets, manifest


def is_bundle(path: Path) -> bool:
    """A folder that is not itself a folder-shaped model (a .mlpackage is a model file here)."""
    return path.is_dir() and formats.for_path(path) is None


def file_target(path: Path) -> Target:
    """A loose model file, ours or foreign: everything the harness needs is read before anything runs, so a
    file its library cannot read is one line of bad input."""
    if not path.exists():
        raise InputError(f"{path}: model file not found")
    fmt = formats.for_path(path)
    if fmt is None:
        raise InputError(f"{path}: expected a {formats.suffixes()} file or a bundle directory")
    signature = fmt.signature(path) if fmt.timed else None
    return Target(path.name, path, fmt.name, sha256=sha256(path), signature=signature, facts=fmt.facts(path))


def unique_labels(targets: list[Target]) -> list[Target]:
    """Foreign files named model.onnx in different folders need telling apart in the report."""
    seen: dict[str, int] = {}
    for t in targets:
        seen[t.label] = seen.get(t.label, 0) + 1
    for t in targets:
        if seen[t.label] > 1 and t.group != Group.IDENTITY:
            t.label = f"{t.path.parent.name}/{t.label}"
    return targets


# --- host ------------------------------------------------------------------------------------------------------

def host_info() -> Host:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    runtimes = {f.runtime: f.runtime_version() for f in formats.FORMATS.values() if f.timed}
    return Host(cpu, os.cpu_count(), platform.platform(), platform.python_version(), runtimes, _load_average())


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
        """The worker's reply; WorkerError when it answers with an error or is gone."""
        if self.proc.poll() is not None:
            raise WorkerError(f"worker exited with code {self.proc.returncode}")
        try:
            self.proc.stdin.write(json.dumps(msg) + "\n")
            self.proc.stdin.flush()
            line = self.proc.stdout.readline()
        except (BrokenPipeError, OSError) as e:
            raise WorkerError(f"worker died ({e})") from None
        if not line:
            code = self.proc.wait()
            raise WorkerError(f"the runtime crashed the worker process (exit code {code})")
        reply = json.loads(line)
        if not reply.get("ok"):
            raise WorkerError(reply.get("error") or "the worker gave no reason")
        return reply

    def fail(self, error: str) -> None:
        self.m.status, self.m.reason = Outcome.FAIL, error
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
    cand = signature.input("candidates")
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
        fmt = formats.get(t.format)
        runtime = fmt.runtime
        k = t.signature.candidates()
        shapes = [None] if k is None else list(cfg.candidates or sorted({1, k}))
        for threads in cfg.threads:
            for c in shapes:
                m = Measurement(t.label, t.group, runtime, threads, c)
                inputs, why = _shape_for(t.signature, c)
                if inputs is None:
                    m.status, m.reason = Outcome.SKIP, why
                    jobs.append((m, t.path, ()))
                    continue
                if cfg.identity:
                    key = (fmt.name, threads, inputs)
                    if key not in identities:
                        path = fmt.write_identity(inputs, scratch / f"identity_{len(identities)}{fmt.suffix}")
                        identities[key] = ident = Measurement(path.name, Group.IDENTITY, runtime, threads, c)
                        jobs.append((ident, path, inputs))
                    m.identity = identities[key].label
                jobs.append((m, t.path, inputs))
                if t.trainable:  # what the app pays after a request with taps: one train step
                    jobs.append((replace(m, call="train", rounds_ms=[], cpus=[]), t.path, inputs))
                second = fmt.second_api() if cfg.second_api and t.group == Group.MODEL else None
                if second is not None:  # the API the runtime now recommends, beside the one verification uses
                    jobs.append((replace(m, call="second_api", runtime=f"{runtime} · {second[0].split(' (')[0]}",
                                         identity=None, rounds_ms=[], cpus=[]), t.path, inputs))
    return jobs


def run_bench(targets: list[Target], cfg: BenchConfig, source: dict, progress: Progress = print) -> BenchResult:
    started = time.perf_counter()
    host = host_info()
    for t in targets:
        if t.facts is None:
            t.facts = formats.get(t.format).facts(t.path)
    with tempfile.TemporaryDirectory(prefix="edgeship-bench-") as scratch:
        jobs = plan(targets, cfg, Path(scratch))
        measurements = [m for m, _, _ in jobs]
        runnable = [(m, p, i) for m, p, i in jobs if m.status == Outcome.PASS]
        progress(f"bench: {len(runnable)} configurations ({len(jobs) - len(runnable)} skipped), "
                 f"{cfg.rounds} rounds x {cfg.invokes} invokes each")
        workers = [Worker(m, p, i) for m, p, i in runnable]
        try:
            _load_all(workers, cfg, progress)
            _rounds(workers, cfg, progress)
            for w in workers:
                if w.m.status == Outcome.PASS:
                    try:
                        w.m.peak_rss_mb = round(w.ask({"cmd": "stop"})["peak_rss_mb"], 1)
                    except WorkerError:
                        w.m.peak_rss_mb = None
        finally:
            for w in workers:
                w.close()
    _attach_memory(measurements)
    trainable = {t.label for t in targets if t.trainable}
    profiles = _profiles([j for j in runnable if j[0].label not in trainable], progress) if cfg.profile else []
    host = replace(host, load_average_1m_end=_load_average())
    return BenchResult(BENCH_VERSION, BENCH_KIND, host, source, cfg, round(time.perf_counter() - started, 1),
                       targets, measurements, profiles)


def _profiles(jobs, progress: Progress) -> list[OpProfile]:
    """Each model file's time per operator type, one file at a time in this process (after the timed rounds,
    so it disturbs none of them), on the same synthesized request its worker timed, at its largest K."""
    done, out = set(), []
    for m, path, inputs in sorted(jobs, key=lambda j: -(j[0].candidates or 0)):
        fmt = formats.for_path(path)
        if m.group != Group.MODEL or m.call != "infer" or m.threads != 1 or m.label in done or not fmt.profiled:
            continue
        done.add(m.label)
        progress(f"  profile {m.label} [{m.runtime}]: where the time goes per operator type")
        try:
            method, (total, ops) = fmt.op_profile(path, synthesize(inputs, seed=0))
        except Exception as e:  # a profile is extra: a file its method cannot cut still has its timings
            progress(f"  profile {m.label}: not measured ({one_line(e, 200)})")
            continue
        out.append(OpProfile(m.label, m.runtime, method, round(total, 2), [
            OpTime(op, nodes, round(us, 2), round(us / total, 4) if total else 0.0) for op, nodes, us in ops]))
    return out


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
        try:
            reply = w.ask({"cmd": "load", "path": str(w.path), "format": formats.for_path(w.path).name,
                           "call": m.call, "threads": m.threads, "inputs": typed.dump(w.inputs), "warmup": cfg.warmup,
                           "seed": cfg.seed, "cpus": m.cpus})
        except WorkerError as e:
            w.fail(f"{m.runtime} cannot run it: {e}")
            progress(f"  load {i}/{len(workers)} {m.name} [{m.runtime}, {m.threads}t]: FAILED {m.reason}")
            continue
        m.import_ms, m.load_ms, m.first_ms = reply["import_ms"], reply["load_ms"], reply["first_ms"]
        m.rss_runtime_mb = round(reply["rss_runtime_mb"], 1)
        progress(f"  load {i}/{len(workers)} {m.name} [{m.runtime}, {m.threads}t, K={m.candidates}]: "
                 f"{m.load_ms:.1f} ms, first invoke {m.first_ms:.2f} ms")


def _rounds(workers: list[Worker], cfg: BenchConfig, progress: Progress) -> None:
    live = [w for w in workers if w.m.status == Outcome.PASS]
    t0 = time.perf_counter()
    for r in range(cfg.rounds):
        shift = r % max(len(live), 1)
        for w in live[shift:] + live[:shift]:  # rotate who goes first, so no configuration always runs cold
            if w.m.status != Outcome.PASS:
                continue
            try:
                reply = w.ask({"cmd": "round", "n": cfg.invokes})
            except WorkerError as e:
                w.fail(f"{w.m.runtime} failed while running: {e}")
                continue
            w.m.rounds_ms.append([round(x, 5) for x in reply["ms"]])
        elapsed = time.perf_counter() - t0
        progress(f"  round {r + 1}/{cfg.rounds} done ({elapsed:.1f} s, ~{elapsed / (r + 1) * (cfg.rounds - r - 1):.0f} s left)")
    for w in live:
        if w.m.status == Outcome.PASS:
            w.m.latency_ms = summarize(np.concatenate(w.m.rounds_ms))


def _attach_memory(measurements: list[Measurement]) -> None:
    by_label = {(m.label, m.runtime, m.threads): m for m in measurements if m.group == Group.IDENTITY}
    for m in measurements:
        if m.status != Outcome.PASS or m.peak_rss_mb is None:
            continue
        ident = by_label.get((m.identity, m.runtime, m.threads)) if m.identity else None
        floor = ident.peak_rss_mb if ident and ident.peak_rss_mb else m.rss_runtime_mb
        m.model_rss_mb = round(max(m.peak_rss_mb - floor, 0.0), 1)


def collect_targets(paths: list[Path]) -> tuple[list[Target], dict]:
    """Targets for bundle directories and loose model files; the source record says where each came from."""
    targets, source = [], {"bundles": [], "files": []}
    for p in paths:
        if is_bundle(p):
            found, manifest = bundle_targets(p)
            targets += found
            source["bundles"].append({"path": str(p), "model": manifest.model.name, "generator": manifest.generator})
        else:
            targets.append(file_target(p))
            source["files"].append(str(p))
    return unique_labels(targets), source
