"""What a bundle says about itself, as typed records: manifest.json and testvectors.json.

Written with `core.typed.dump`, read back with `read_manifest` / `read_test_vectors`, which check every key and
type and name the file and key of the first problem. `schemas/*.schema.json` describe the same records for apps
and CI without Python (regenerate with `python -m tools.schemas`; a test keeps them in step).
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass, field
from pathlib import Path

from ..core import typed
from ..core.errors import BundleError, EdgeshipError
from ..core.files import read_json
from ..core.tensors import TensorSpec
from ..models.comparison import Comparison
from ..models.encoding import INDEX, TIME, Collisions, Encoders
from ..models.features import FeatureSpec
from ..models.metrics import RankingMetrics
from ..models.search import SearchRecord
from ..models.settings import Convergence
from ..ondevice.contract import CLIENTS, CONTRACT_VERSION, FEATURES, Contract
from ..ondevice.fallback import FALLBACK, FALLBACK_VERSION, Fallback, FallbackRecord
from ..ondevice.personalization import PersonalizationRecord
from ..ondevice.rules import RULES, RULES_VERSION, RulesFile, RulesRecord
from . import formats
from .raw_vectors import RAW_TESTVECTORS, RAW_VERSION, RawVectors

MANIFEST = "manifest.json"
TESTVECTORS = "testvectors.json"
# 2: format-specific facts under the format's own key; quantization candidates grouped
# 3: model.encoding (every field's raw value -> id rule, vocabularies.json, item collisions) replaces item_hashing
# 4: the ORT-format file; 5: one personalization study per trainable file; 6: rules (rules.json); 7: training
# 8: failures[].failed_at (was stage); intervals as {estimate, low, high, level, method}; no integration code
# 9: quality on every test row (metrics.evaluation_lists / evaluation_rows), metrics.comparisons with paired
#    intervals, the references' batch size, training.convergence (the ranker's schedule adapts to the data),
#    search (`edgeship tune`)
# 10: quantization per int8 file name, one candidate per recipe with its bytes, p50 and why it won or lost
MANIFEST_VERSION = 11  # 11: `contract` (the contract version and the clients that read it)
TESTVECTORS_VERSION = 2  # 2: expected outputs carry the file's declared output shape ([1, K], not K values)


@dataclass(frozen=True)
class ApiCheck:
    """The same file through a second API of its runtime, on the same verification requests."""

    api: str
    max_abs_diff: float | None = field(metadata={"doc": "against the first API's scores; null: it did not run"})
    error: str = ""


@dataclass(frozen=True)
class Verification:
    """A saved file, executed by its runtime on the verification requests, against the trained model."""

    runtime: str
    runtime_version: str
    max_abs_diff: float
    ndcg_at_10: float
    ndcg_ratio: float = field(metadata={"doc": "NDCG@10 of the file / NDCG@10 of the trained model"})
    auc: float
    top10_overlap: float
    passed: bool
    requests: int
    reasons: tuple[str, ...] = ()
    ndcg_gated: bool = field(default=True, metadata={
        "doc": "false: too few positives for the NDCG floor to mean anything; the label-free floors decided"})
    rank_correlation: float = field(default=float("nan"), metadata={
        "doc": "Spearman correlation of the file's scores with the trained model's over all real candidates"})
    other_api: ApiCheck | None = field(default=None, metadata={
        "doc": "where the runtime has a second API (LiteRT's CompiledModel beside its Interpreter)"})

    @property
    def quality(self) -> float:
        """What ranks int8 candidates: NDCG@10, or the score rank correlation when NDCG is not gated."""
        return self.ndcg_at_10 if self.ndcg_gated else self.rank_correlation


@dataclass(frozen=True)
class _Entry:
    path: str = field(metadata={"doc": "relative to the bundle"})
    format: str = field(metadata={"choices": formats.NAMES})
    precision: str
    bytes: int
    sha256: str
    inputs: list[TensorSpec]
    outputs: list[TensorSpec]
    verification: Verification
    notes: str = ""
    quantization_method: str | None = None

    @property
    def details(self):
        """Its format's own facts record (under the format's key)."""
        return getattr(self, self.format)

    @property
    def trainable(self) -> bool:
        return formats.get(self.format).trainable(self.details)


# One shipped file: the fields above, then one key per format of the registry holding that format's own facts
# record (null for the other formats), so that adding a format adds its key here without naming it.
ArtifactEntry = dataclasses.make_dataclass(
    "ArtifactEntry", [(f.name, f.record | None, field(default=None, metadata={"doc": f"{f.title} facts"}))
                      for f in formats.FORMATS.values()], bases=(_Entry,), frozen=True)
ArtifactEntry.__module__, ArtifactEntry.__doc__ = __name__, "One shipped file."


class FailedAt(str, enum.Enum):
    CONVERT = "convert"  # the converter raised, or wrote nothing usable
    PARITY = "parity"  # the file ran, but not like the Keras model (export/parity.py)


@dataclass(frozen=True)
class Failure:
    """A format or file that is not in the bundle, and why."""

    format: str
    failed_at: FailedAt
    reason: str
    artifact: str | None = None

    @property
    def what(self) -> str:
        return self.artifact or self.format


@dataclass(frozen=True)
class QuantizationCandidate:
    """One recipe's file for an int8 slot, as measured when the bundle was made."""

    method: str = field(metadata={"doc": "the recipe's method (export/recipes/)"})
    bytes: int
    sha256: str
    shipped: bool
    verification: Verification | None = field(metadata={"doc": "null: the recipe did not convert"})
    p50_us: float | None = field(metadata={"doc": "median invoke on this host, one thread, K candidates; null: "
                                                  "not timed"})
    p50_ratio: float | None = field(metadata={"doc": "p50 / the fp32 file's p50, same runtime, same run"})
    size_ratio: float = field(metadata={"doc": "bytes / the fp32 file's bytes"})
    outcome: str = field(metadata={"doc": "why it won or lost"})


@dataclass(frozen=True)
class QuantizationRecord:
    """The int8 candidates of one file (one per recipe) and which one ships."""

    selected: str | None = field(metadata={"doc": "the recipe that ships; null: none was eligible"})
    rule: str
    choose: str = field(metadata={"choices": ("speed", "size", "quality")})
    eligible: str
    fp32_p50_us: float | None
    candidates: dict[str, QuantizationCandidate]


@dataclass(frozen=True)
class FieldRecord:
    """One categorical input field: how the app turns a raw value into the id the model takes."""

    name: str
    input: str = field(metadata={"doc": "the input tensor: context (one column per field) or candidates, history"})
    kind: str = field(metadata={"choices": ("vocabulary", "hash", "time", "index")})
    size: int = field(metadata={"doc": "ids are in [0, size)"})
    rule: str
    vocabulary: int = field(metadata={"doc": "values in its vocabulary (in vocabularies.json); 0 unless vocabulary"})
    examples: dict[str, int]


@dataclass(frozen=True)
class EncodingRecord:
    """vocabularies.json (the file the app loads) and the rule of each field, with the items' collision report."""

    file: str
    sha256: str
    bytes: int
    fields: list[FieldRecord]
    item_collisions: Collisions = field(metadata={
        "doc": "distinct training items that share an id with another one, and the share of impressions they have"})

    def items_line(self) -> str:
        """One sentence on the item ids: their encoding and what it costs this catalogue."""
        item, col = self.fields[-1], self.item_collisions
        head = f"{item.name}: {item.kind}, {item.size:,} ids"
        if not col.distinct:
            return head + " (collisions not measured: ids are computed by the caller)"
        return (f"{head}; {col.colliding:,} of {col.distinct:,} training items ({col.rate:.1%}) share an id with "
                f"another, {col.impression_share:.1%} of impressions"
                + (f"; {col.out_of_vocabulary:.1%} of test impressions out of vocabulary" if col.out_of_vocabulary
                   else ""))

    @staticmethod
    def of(encoders: Encoders, file: str, text: str, item_collisions: Collisions) -> "EncodingRecord":
        import hashlib

        fields = []
        for e in encoders.all:
            samples = list(e.values[:2]) if e.values else (["0", "1", "42", "sku-123"] if e.item else ["a", "b"])
            examples = {} if e.kind in (TIME, INDEX) else {v: int(e.encode([v])[0]) for v in samples}
            fields.append(FieldRecord(e.name, "candidates, history" if e.item else "context", e.kind, e.size,
                                      e.rule(), len(e.values), examples))
        data = text.encode("utf-8")
        return EncodingRecord(file, hashlib.sha256(data).hexdigest(), len(data), fields, item_collisions)


@dataclass(frozen=True)
class ModelRecord:
    name: str
    parameters: int
    candidates: int = field(metadata={"doc": "K: candidates scored per call, fixed in every file"})
    feature_spec: FeatureSpec
    encoding: EncodingRecord
    note: str | None = None


@dataclass(frozen=True)
class Metrics:
    """How the trained model ranks on held-out requests, beside the oracle and the rule baseline."""

    data: str
    source: dict
    notes: list[str]
    test_requests: int = field(metadata={"doc": "test lists every file was executed on at export (the first of the "
                                                "evaluation lists)"})
    reliable: bool = field(metadata={"doc": "false: too few positives for these figures to mean anything"})
    min_positives: int
    ndcg_definition: str | None = None
    model: RankingMetrics | None = None
    oracle: RankingMetrics | None = None
    rule_baseline: RankingMetrics | None = None
    reference_dnn: RankingMetrics | None = field(default=None, metadata={
        "doc": "--reference: an fp32 DNN without mobile limits, exact vocabularies, trained on the same split"})
    logistic_regression: RankingMetrics | None = field(default=None, metadata={
        "doc": "--reference: a logistic regression over the same features and split"})
    reference_parameters: dict[str, int] = field(default_factory=dict)
    reference_training: dict[str, Convergence] = field(default_factory=dict, metadata={
        "doc": "--reference: how each reference's training ended; a capped one is no converged yardstick"})
    evaluation_lists: int = field(default=0, metadata={
        "doc": "lists the scorers above are measured on: every test row (0: only the test_requests lists)"})
    evaluation_rows: int = 0
    comparisons: list[Comparison] = field(default_factory=list, metadata={
        "doc": "--reference: the Keras model and each shipped file against each reference on the evaluation lists"})

    def scorers(self) -> dict[str, RankingMetrics]:
        return {n: m for n in ("model", "reference_dnn", "logistic_regression", "rule_baseline", "oracle")
                if (m := getattr(self, n)) is not None}


STRATEGY = "MultiWorkerMirroredStrategy"


@dataclass(frozen=True)
class TrainingRecord:
    """How the model was trained: one process, or tf.distribute's MultiWorkerMirroredStrategy on N workers."""

    strategy: str = field(metadata={"choices": ("single process", STRATEGY)})
    workers: int
    shards: list[list[str]] = field(metadata={"doc": "per worker, the files it read (file i -> worker i mod N)"})
    global_batch: int
    per_worker_batch: int
    steps_per_epoch: int | None = field(default=None, metadata={"doc": "None: one pass over the train split"})
    convergence: Convergence | None = field(default=None, metadata={
        "doc": "how the ranker's training ended: epochs run, the best (kept) epoch, whether the cap cut it short"})


@dataclass(frozen=True)
class ContractRecord:
    """Which contract features.json is written in, and the client libraries that read it."""

    version: int = CONTRACT_VERSION
    clients: dict[str, str] = field(default_factory=lambda: dict(CLIENTS), metadata={
        "doc": "package -> the version that reads this contract (npm: @edgeship/client; Maven: "
               "dev.edgeship:edgeship-client)"})


@dataclass(frozen=True)
class Manifest:
    """manifest.json: what is in a bundle, how each file was made and verified, and how to call it."""

    schema_version: int = field(metadata={"choices": (MANIFEST_VERSION,)})
    generator: str
    model: ModelRecord
    artifacts: list[ArtifactEntry]
    failures: list[Failure]
    quantization: dict[str, QuantizationRecord] = field(metadata={
        "doc": "per int8 file name: every recipe's candidate and the one that ships"})
    metrics: Metrics
    seed: int | None
    config: dict = field(metadata={"doc": "the run configuration, with where it came from"})
    versions: dict[str, str]
    fallback: FallbackRecord | None = field(default=None, metadata={
        "doc": "fallback.json, the ranking without a model (data with training rows only)"})
    personalization: list[PersonalizationRecord] = field(default_factory=list, metadata={
        "doc": "the study of each trainable file (built-in data only: a log has no users to follow)"})
    files: dict[str, str] = field(default_factory=dict, metadata={
        "doc": "sha256 of each bundle file an app reads besides the artifacts (features.json, vocabularies.json, "
               "testvectors.json, testvectors_raw.json, rules.json, fallback.json)"})
    rules: RulesRecord | None = field(default=None, metadata={
        "doc": "rules.json and how the rankings do under it (None: no test lists to measure on)"})
    training: TrainingRecord | None = field(default=None, metadata={
        "doc": "the strategy, the workers and each worker's shard files (None: a model trained elsewhere)"})
    search: SearchRecord | None = field(default=None, metadata={
        "doc": "`edgeship tune` chose this model: its budget, the trials, the chosen and the runner-up trial"})
    contract: ContractRecord = field(default_factory=ContractRecord)


@dataclass(frozen=True)
class VectorCase:
    inputs: dict[str, list] = field(metadata={"doc": "each input as a batch of one, nested lists"})
    expected: dict[str, list] = field(metadata={
        "doc": "per file (bundle-relative path): its scores, nested in the file's declared output shape"})


@dataclass(frozen=True)
class TrainingVector:
    """One `train` call of a trainable file, from its shipped state, on the inputs of cases[case]: the loss it
    returns and what `infer` gives afterwards. `reset` then gives cases[case].expected[file] again."""

    file: str
    case: int
    labels: list[float]
    mask: list[float]
    learning_rate: float
    loss: float
    scores_after: list = field(metadata={"doc": "infer's scores after the call, in the declared output shape"})
    atol: float


@dataclass(frozen=True)
class Vectors:
    """testvectors.json: each shipped file's own output on a few requests, for an app's unit tests."""

    schema_version: int = field(metadata={"choices": (TESTVECTORS_VERSION,)})
    output: str
    cases: list[VectorCase] = field(metadata={"nonempty": True})
    atol: dict[str, float] = field(metadata={"doc": "per file: how far another CPU's runtime may drift"})
    training: list[TrainingVector] = field(default_factory=list, metadata={"doc": "per trainable file"})


def _read(cls, path: Path, what: str, version: int, error: type[EdgeshipError]):
    data = read_json(path, what, error=error)
    found = data.get("schema_version") if isinstance(data, dict) else None
    if found != version:  # an older or newer file: said before any key is checked
        raise error(f"{path}: schema_version: expected {version}, got {found!r}")
    return typed.load(cls, data, str(path), toml=False, error=error)


def read_manifest_file(path: Path, error: type[EdgeshipError] = BundleError) -> Manifest:
    return _read(Manifest, path, MANIFEST, MANIFEST_VERSION, error)


def read_test_vectors(path: Path, error: type[EdgeshipError] = BundleError) -> Vectors:
    return _read(Vectors, path, TESTVECTORS, TESTVECTORS_VERSION, error)


def read_contract_file(path: Path, error: type[EdgeshipError] = BundleError) -> Contract:
    return _read(Contract, path, FEATURES, CONTRACT_VERSION, error)


def read_raw_vectors(path: Path, error: type[EdgeshipError] = BundleError) -> RawVectors:
    return _read(RawVectors, path, RAW_TESTVECTORS, RAW_VERSION, error)


def read_rules(path: Path, error: type[EdgeshipError] = BundleError) -> RulesFile:
    return _read(RulesFile, path, RULES, RULES_VERSION, error)


def read_fallback(path: Path, error: type[EdgeshipError] = BundleError) -> Fallback:
    return _read(Fallback, path, FALLBACK, FALLBACK_VERSION, error)


SCHEMAS = {  # file in schemas/ -> (record, title)
    "manifest.schema.json": (Manifest, "edgeship bundle manifest.json"),
    "testvectors.schema.json": (Vectors, "edgeship bundle testvectors.json"),
    "features.schema.json": (Contract, "edgeship bundle features.json: the raw-input contract"),
    "testvectors_raw.schema.json": (RawVectors, "edgeship bundle testvectors_raw.json"),
    "fallback.schema.json": (Fallback, "edgeship bundle fallback.json: the ranking without a model"),
    "rules.schema.json": (RulesFile, "edgeship bundle rules.json: business rules on top of every ranking"),
}
