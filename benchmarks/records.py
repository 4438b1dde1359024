"""What `edgeship bench` and `gate` write and read back, as typed records: bench.json.

Written with `core.typed.dump`, read with `read_bench`, which checks every key and type and names the file
and key of the first problem. `schemas/bench.schema.json` describes the same record.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path

from ..core import typed
from ..core.errors import InputError
from ..core.files import read_json
from ..core.outcome import Outcome
from ..core.tensors import Signature
from ..export.formats import NAMES as FORMAT_NAMES
from ..export.manifest import Verification
from ..export.types import ModelFacts
from .stats import Summary

BENCH_JSON = "bench.json"
BENCH_KIND = "edgeship-bench"
# 2: typed records; a target's signature (inputs and outputs) instead of its inputs
# 3: status pass | fail | skip (core.outcome)
# 4: profiles: where each file's time goes per operator type
BENCH_VERSION = 4


class Group(str, enum.Enum):
    MODEL = "model"
    BASELINE = "baseline"  # another bundle measured in the same rounds (gate --baseline)
    IDENTITY = "identity"  # a model with the same inputs and no computation: the runtime's overhead floor


@dataclass(frozen=True)
class BenchConfig:
    threads: tuple[int, ...] = field(default=(1, 2), metadata={"nonempty": True, "min": 1})
    candidates: tuple[int, ...] | None = field(default=None, metadata={
        "nonempty": True, "min": 1, "doc": "request sizes measured; null: 1 and the bundle's K"})
    rounds: int = field(default=20, metadata={"min": 2})
    invokes: int = field(default=100, metadata={"min": 2, "doc": "timed invokes per round and configuration"})
    warmup: int = 20  # invokes after loading, before any timing
    identity: bool = True  # also measure the identity model (overhead floor)
    seed: int = 0
    # also where each file's time goes per operator type (in the bench process, after the timed rounds)
    profile: bool = True
    # also each file through its runtime's second API where it has one (LiteRT's CompiledModel)
    second_api: bool = True

    def __post_init__(self):
        for name in ("rounds", "invokes"):
            if getattr(self, name) < 2:
                raise InputError(f"expected an integer >= 2, got {getattr(self, name)}", option=name)
        for name in ("threads", "candidates"):
            values = getattr(self, name)
            if values is not None and (not values or min(values) < 1):
                raise InputError(f"expected positive integers, got {list(values)}", option=name)


@dataclass
class Target:
    """One file to measure."""

    label: str = field(metadata={"doc": "unique within a run, e.g. ranker_int8.tflite or baseline/ranker_int8.tflite"})
    path: Path
    format: str = field(metadata={"choices": FORMAT_NAMES})
    group: Group = Group.MODEL
    precision: str | None = None
    sha256: str = ""
    verification: Verification | None = field(default=None, metadata={"doc": "from the bundle's manifest"})
    signature: Signature | None = field(default=None, metadata={
        "doc": "null: no runtime here can execute it (Core ML on Linux)"})
    facts: ModelFacts | None = None
    trainable: bool = field(default=False, metadata={"doc": "learns on the device: its train call is timed too"})


@dataclass
class Measurement:
    """One (file, runtime, threads, request size) configuration, timed in its own worker process."""

    label: str
    group: Group
    runtime: str
    threads: int
    candidates: int | None = field(metadata={"doc": "null: the file's own input shape (not an edgeship ranker)"})
    call: str = field(default="infer", metadata={"choices": ("infer", "train", "second_api"),
                                                 "doc": "what one timed invoke is: scoring a request, one "
                                                        "on-device training step on it, or scoring through the "
                                                        "runtime's second API (named in runtime)"})
    status: Outcome = Outcome.PASS
    reason: str = ""
    import_ms: float | None = None
    load_ms: float | None = None
    first_ms: float | None = None
    latency_ms: Summary | None = None
    rounds_ms: list[list[float]] = field(default_factory=list, metadata={
        "doc": "per interleaved round, the latency of each timed invoke in ms"})
    rss_runtime_mb: float | None = field(default=None, metadata={
        "doc": "after importing the runtime, before loading the model"})
    peak_rss_mb: float | None = field(default=None, metadata={"doc": "the worker process's high-water mark"})
    model_rss_mb: float | None = field(default=None, metadata={
        "doc": "peak minus the identity model's peak in the same runtime and threads"})
    identity: str | None = field(default=None, metadata={"doc": "label of the identity model measured beside it"})
    cpus: list[int] = field(default_factory=list, metadata={"doc": "the cores the worker was pinned to"})

    @property
    def name(self) -> str:
        """How reports call it: the file, and the call when it is not scoring."""
        return self.label if self.call == "infer" else f"{self.label} · {self.call}"


@dataclass(frozen=True)
class Host:
    cpu: str
    logical_cores: int | None
    platform: str
    python: str
    runtimes: dict[str, str]
    load_average_1m: float | None
    load_average_1m_end: float | None = None


@dataclass(frozen=True)
class OpTime:
    op: str
    nodes: int = field(metadata={"doc": "ops (LiteRT) or nodes per run (ONNX Runtime) of this type"})
    us: float = field(metadata={"doc": "µs per invoke spent in them (LiteRT: can be slightly negative for a "
                                       "type whose prefix differences are noise)"})
    share: float


@dataclass(frozen=True)
class OpProfile:
    """Where one file's time goes, per operator type, measured by its format's own method."""

    label: str
    runtime: str
    method: str
    total_us: float = field(metadata={"doc": "per invoke as the method measures it (a profiler adds its own "
                                             "cost: compare shares, not these µs with p50)"})
    ops: list[OpTime]


@dataclass
class BenchResult:
    """bench.json: every file measured, how, on which host, and the raw per-round samples."""

    schema_version: int = field(metadata={"choices": (BENCH_VERSION,)})
    kind: str = field(metadata={"choices": (BENCH_KIND,)})
    host: Host
    source: dict = field(metadata={"doc": "what was measured: bundles and loose files, or the gate's inputs"})
    config: BenchConfig
    seconds: float
    targets: list[Target]
    measurements: list[Measurement]
    profiles: list[OpProfile] = field(default_factory=list)

    def models(self) -> dict[str, Target]:
        return {t.label: t for t in self.targets if t.group == Group.MODEL}

    def identity_of(self, m: Measurement) -> Measurement | None:
        return next((x for x in self.measurements if x.group == Group.IDENTITY and x.label == m.identity
                     and x.runtime == m.runtime and x.threads == m.threads), None)


def read_bench(path: Path) -> BenchResult:
    """A bench.json written by this version's schema (a folder: its bench.json); one line for anything else."""
    if path.is_dir():
        path = path / BENCH_JSON
    data = read_json(path, BENCH_JSON)
    if not isinstance(data, dict) or data.get("kind") != BENCH_KIND:
        raise InputError(f"{path}: not an edgeship bench.json (kind must be {BENCH_KIND!r})")
    if data.get("schema_version") != BENCH_VERSION:
        raise InputError(f"{path}: schema_version: expected {BENCH_VERSION}, got {data.get('schema_version')!r}")
    return typed.load(BenchResult, data, str(path), toml=False)


SCHEMAS = {"bench.schema.json": (BenchResult, "edgeship bench.json")}
