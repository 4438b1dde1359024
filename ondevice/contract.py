"""The raw-input contract (features.json): how an app turns the request it holds into the model's tensors, and
what to do with the scores. Everything the app needs is data here, nothing only in prose.

`Contract.of(...)` writes it from the training-side encoders and feature spec; `RawEncoder` is an independent
reading of the written file (plus vocabularies.json), exactly what an app implements: the bundle's raw test
vectors are made with it, and tests check that it reproduces the tensors the model was trained on.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np

from ..core.tensors import TensorSpec
from ..models.encoding import HASH, INDEX, TIME, VOCABULARY, Encoders
from ..models.features import (CANDIDATE_FEATURES, CANDIDATES, CANONICAL, CONTEXT, FEATURE_CLIP, HISTORY, PAD_ID,
                               SCORES, FeatureSpec, canonical)

FEATURES = "features.json"
CONTRACT_VERSION = 2  # 2: hash offsets, the canonical string of a raw value, index parsing, error codes, merge
# the client libraries that read this contract version, released with edgeship's version (clients/*; a test checks
# pyproject.toml, package.json and pom.xml agree)
CLIENTS = {"@edgeship/client": "0.1.0", "dev.edgeship:edgeship-client": "0.1.0"}
# what an app's encoder reports instead of a tensor (ContractError.code); features.json lists them
ERRORS = {
    "missing_context": "the request's context has no value for a column's `source` key (or it is null)",
    "missing_timestamp": "a time column needs the request's timestamp and there is none",
    "missing_feature": "a candidate's raw numeric features lack a non-constant feature (or it is null, not a number, "
                       "or not finite)",
    "bad_value": "an index value that is not an integer (or a string of one); a categorical value that is a list, "
                 "an object, or a number with a fraction (pass such a value as the string the log holds)",
    "out_of_range": "an index value outside [0, size)",
    "too_many_candidates": "more than k candidates in one call (score them in calls of k: candidates.merge)",
    "length_mismatch": "features (or attributes, when given) do not have one entry per item",
}
CONSTANT = "constant"
TIMESTAMP = "timestamp"


@dataclass(frozen=True)
class HashFunction:
    """32-bit FNV-1a over the UTF-8 bytes of the value written as a string."""

    name: str = "fnv1a_32"
    offset_basis: int = 0x811C9DC5
    prime: int = 0x01000193
    rule: str = "h = offset_basis; for each UTF-8 byte b of canonical(value): h = ((h XOR b) * prime) mod 2^32"


class ContractError(ValueError):
    """A raw request the contract cannot encode: `code` is one of ERRORS, `field` names what is wrong."""

    def __init__(self, code: str, field: str, detail: str = ""):
        super().__init__(f"{code}: {field}" + (f" ({detail})" if detail else ""))
        self.code, self.field = code, field


@dataclass(frozen=True)
class RawValues:
    """How a raw value is read before any rule: the same in every client."""

    canonical: str = field(default=CANONICAL, metadata={
        "doc": "the string form of a categorical value (vocabulary and hash fields, item ids, rules' `when`)"})
    index: str = ("an integer, a number without a fraction, or a string of decimal digits with an optional leading "
                  "'-' ('04' is 4); anything else: bad_value; outside [0, size): out_of_range")
    missing: str = ("a context key, timestamp or feature the contract needs and the request lacks (or holds null): "
                    "an error, never a default; the app ranks with fallback.json instead")


@dataclass(frozen=True)
class Vocabulary:
    """Where a field's values are: vocabularies.json, fields[i] with this name, its `values` list."""

    file: str
    field: str
    count: int = field(metadata={"doc": "number of values in the list"})
    first: int = field(metadata={"doc": "id of values[0]; values[i] -> first + i"})
    oov: int = field(metadata={"doc": "id of any value not in the list"})


@dataclass(frozen=True)
class ContextColumn:
    """One column of the `context` input."""

    column: int
    name: str
    source: str = field(metadata={
        "doc": "the raw request's context key; 'timestamp' (see `time`); 'constant' (always 0)"})
    kind: str = field(metadata={"choices": (VOCABULARY, HASH, TIME, INDEX, CONSTANT)})
    size: int = field(metadata={"doc": "ids are in [0, size)"})
    rule: str
    vocabulary: Vocabulary | None = None
    buckets: int | None = field(default=None, metadata={
        "doc": "hash: id = offset + fnv1a_32(canonical(value)) mod (buckets - offset)"})
    offset: int | None = field(default=None, metadata={"doc": "hash: the first id a value can get (0)"})


@dataclass(frozen=True)
class TimeRule:
    """How the request's timestamp becomes the hour and weekday columns."""

    unit: str = "seconds since 1970-01-01T00:00:00Z (unix time); fractions are dropped (floor)"
    time_zone: str = "UTC (not the phone's local time: the training log's hours were UTC)"
    hour: str = "floor(t / 3600) mod 24"
    weekday: str = "(floor(t / 86400) + 3) mod 7; Monday = 0 ... Sunday = 6"


@dataclass(frozen=True)
class ItemRule:
    """How an item id (a string) becomes the id in `candidates` and `history`."""

    kind: str = field(metadata={"choices": (VOCABULARY, HASH, INDEX)})
    size: int
    rule: str
    padding: int = field(metadata={"doc": "the id of an empty slot in history and candidates"})
    vocabulary: Vocabulary | None = None
    buckets: int | None = field(default=None, metadata={
        "doc": "hash: id = offset + fnv1a_32(canonical(id)) mod (buckets - offset)"})
    offset: int | None = field(default=None, metadata={"doc": "hash: the first id an item can get (1: 0 is padding)"})
    oov: int | None = field(default=None, metadata={"doc": "vocabulary: the id of an unseen item"})


@dataclass(frozen=True)
class HistoryRule:
    length: int
    rule: str


@dataclass(frozen=True)
class NumericFeature:
    """One column of `candidate_features`: x -> clip((x - mean) * scale, -clip, clip)."""

    index: int
    name: str
    mean: float
    scale: float
    clip: float | None = field(metadata={"doc": "null: no clipping (the built-in data's features are scaled already)"})
    constant: bool = field(default=False, metadata={"doc": "no raw value: always 0"})


@dataclass(frozen=True)
class CandidateRule:
    k: int = field(metadata={"doc": "candidates per call, fixed in every file"})
    rule: str
    merge: str = ("n > k: call c scores items [c*k, (c+1)*k), each call padded like a short list; the n scores are "
                  "concatenated in the given order; rules.json applies once, to all n, after the merge; equal scores "
                  "keep the given order")


@dataclass(frozen=True)
class OutputRule:
    name: str
    shape: list[int]
    meaning: str
    ranking: str


@dataclass(frozen=True)
class InputRecord:
    name: str
    dtype: str
    shape: list[int]


@dataclass(frozen=True)
class TensorIO:
    name: str
    dtype: str
    shape: list[int]


@dataclass(frozen=True)
class FileIO:
    """One shipped model file's inputs in the file's own positional order, and its scores output."""

    inputs: list[TensorIO] = field(metadata={
        "doc": "in the order the file declares them (a positional API takes them so); feed by name where you can"})
    output: TensorIO = field(metadata={
        "doc": "shape as the file declares it, or as its runtime returns it where the file declares none"})


@dataclass(frozen=True)
class Contract:
    """features.json: from a raw request (context values, a timestamp, item ids, raw numeric features) to the
    model's four inputs, and from its scores to a ranked list of item ids."""

    schema_version: int = field(metadata={"choices": (CONTRACT_VERSION,)})
    inputs: list[InputRecord]
    context: list[ContextColumn]
    time: TimeRule | None
    items: ItemRule
    history: HistoryRule
    candidate_features: list[NumericFeature]
    candidates: CandidateRule
    output: OutputRule
    hash: HashFunction
    raw_values: RawValues = RawValues()
    errors: dict[str, str] = field(default_factory=lambda: dict(ERRORS))
    files: dict[str, FileIO] = field(default_factory=dict, metadata={
        "doc": "per model file of the bundle: its inputs (names, positional order, dtypes, shapes) and output; the "
               "dtypes differ by file (Core ML NeuralNetwork files take float32 ids)"})

    @staticmethod
    def of(spec: FeatureSpec, encoders: Encoders, k: int, vocabularies: str,
           inputs: tuple[TensorSpec, ...]) -> "Contract":
        context = []
        by_name = {e.name: e for e in encoders.context}
        for i, f in enumerate(spec.context_fields):
            e = by_name.get(f.name)
            if e is None:  # a log without context columns: the model's one constant column
                context.append(ContextColumn(i, f.name, CONSTANT, CONSTANT, f.cardinality, "always 0"))
                continue
            source = TIMESTAMP if e.kind == TIME else e.name
            context.append(ContextColumn(
                i, e.name, source, e.kind, e.size, e.rule(),
                vocabulary=Vocabulary(vocabularies, e.name, len(e.values), e.first, e.oov)
                if e.kind == VOCABULARY else None, buckets=e.size if e.kind == HASH else None,
                offset=0 if e.kind == HASH else None))
        item = encoders.item
        items = ItemRule(item.kind, item.size, item.rule(), PAD_ID,
                         vocabulary=Vocabulary(vocabularies, item.name, len(item.values), item.first, item.oov)
                         if item.kind == VOCABULARY else None, buckets=item.size if item.kind == HASH else None,
                         offset=1 if item.kind == HASH else None, oov=item.oov if item.kind == VOCABULARY else None)
        scaled = spec.feature_mean is not None
        numeric = [NumericFeature(j, name, spec.feature_mean[j] if scaled else 0.0,
                                  spec.feature_scale[j] if scaled else 1.0, FEATURE_CLIP if scaled else None,
                                  constant=name == CONSTANT)
                   for j, name in enumerate(spec.item_features)]
        return Contract(
            schema_version=CONTRACT_VERSION,
            inputs=[InputRecord(s.name, s.dtype, list(s.shape)) for s in inputs],
            context=context, time=TimeRule() if any(c.kind == TIME for c in context) else None, items=items,
            history=HistoryRule(spec.history_len, f"the user's recent item ids, most recent first, each encoded "
                                f"like an item; keep the first {spec.history_len}; fewer: fill the rest with "
                                f"{PAD_ID}; no history at all: all {PAD_ID}"),
            candidate_features=numeric,
            candidates=CandidateRule(k, f"a list of n < {k} items: candidates[n:] = {PAD_ID} and candidate_features"
                                        f"[n:] = 0.0, and scores[n:] are ignored; more than {k}: score it in "
                                        f"calls of {k} and merge by score"),
            output=OutputRule(SCORES, [1, k], "click logits, one per candidate slot; higher is better; "
                              "1 / (1 + exp(-score)) is the click probability",
                              "sort the n real slots by score, highest first; equal scores keep the given order"),
            hash=HashFunction())


class RawEncoder:
    """An app's side of the contract, read only from features.json and vocabularies.json (as parsed JSON)."""

    def __init__(self, contract: Contract, vocabularies: dict):
        self.contract = contract
        values = {f["name"]: f.get("values", []) for f in vocabularies["fields"]}
        self._lookups = {}
        for v in [c.vocabulary for c in contract.context] + [contract.items.vocabulary]:
            if v is not None:
                self._lookups[v.field] = ({s: v.first + i for i, s in enumerate(values[v.field])}, v.oov)

    def _hash(self, value, name: str) -> int:
        h = self.contract.hash
        x = h.offset_basis
        for byte in _text(value, name).encode("utf-8"):
            x = ((x ^ byte) * h.prime) & 0xFFFFFFFF
        return x

    def context_id(self, column: ContextColumn, request: "RawRequest") -> int:
        if column.kind == CONSTANT:
            return 0
        if column.kind == TIME:
            if request.timestamp is None:
                raise ContractError("missing_timestamp", column.name)
            return time_id(column.name, request.timestamp)
        value = request.context.get(column.source)
        if value is None:
            raise ContractError("missing_context", column.source)
        if column.kind == INDEX:
            return index_id(value, column.size, column.source)
        if column.kind == HASH:
            return column.offset + self._hash(value, column.source) % (column.buckets - column.offset)
        table, oov = self._lookups[column.vocabulary.field]
        return table.get(_text(value, column.source), oov)

    def item_id(self, item) -> int:
        rule = self.contract.items
        if rule.kind == INDEX:
            return index_id(item, rule.size, "item")
        if rule.kind == HASH:
            return rule.offset + self._hash(item, "item") % (rule.buckets - rule.offset)
        table, oov = self._lookups[rule.vocabulary.field]
        return table.get(_text(item, "item"), oov)

    def feature(self, f: NumericFeature, raw: dict) -> float:
        if f.constant:
            return 0.0
        x = raw.get(f.name)
        if x is None or isinstance(x, (bool, str)) or not math.isfinite(x):
            raise ContractError("missing_feature", f.name)
        z = (float(x) - f.mean) * f.scale
        return z if f.clip is None else min(max(z, -f.clip), f.clip)

    def encode(self, request: "RawRequest") -> dict[str, np.ndarray]:
        """One call's tensors (at most k candidates)."""
        c = self.contract
        k, h, n = c.candidates.k, c.history.length, len(request.items)
        if n > k:
            raise ContractError("too_many_candidates", "items", f"{n} > k = {k}")
        _check_lengths(request)
        context = np.array([[self.context_id(col, request) for col in c.context]], np.int32)
        history = np.full((1, h), c.items.padding, np.int32)
        ids = [self.item_id(i) for i in request.history[:h]]
        history[0, : len(ids)] = ids
        candidates = np.full((1, k), c.items.padding, np.int32)
        candidates[0, :n] = [self.item_id(i) for i in request.items]
        features = np.zeros((1, k, len(c.candidate_features)), np.float32)
        for slot, raw in enumerate(request.features):
            features[0, slot] = [self.feature(f, raw) for f in c.candidate_features]
        return {CONTEXT: context, HISTORY: history, CANDIDATES: candidates, CANDIDATE_FEATURES: features}

    def calls(self, request: "RawRequest") -> list["RawRequest"]:
        """candidates.merge: the request split into calls of at most k candidates, in the given order."""
        k, n = self.contract.candidates.k, len(request.items)
        _check_lengths(request)
        return [RawRequest(request.items[s:s + k], request.features[s:s + k], request.context, request.timestamp,
                           request.history, request.attributes[s:s + k] if request.attributes else [])
                for s in range(0, max(n, 1), k)]


def _check_lengths(request: "RawRequest") -> None:
    n = len(request.items)
    if len(request.features) != n or (request.attributes and len(request.attributes) != n):
        raise ContractError("length_mismatch", "features" if len(request.features) != n else "attributes")


def _text(value, name: str) -> str:
    if isinstance(value, (list, dict)):
        raise ContractError("bad_value", name, "a categorical value is a string, number or boolean")
    if isinstance(value, (float, np.floating)) and not (math.isfinite(value) and float(value).is_integer()):
        # languages write 1e-07 / 1e-7 / 1.0E-7: no one string form to agree on; the app passes the log's string
        raise ContractError("bad_value", name, f"{value!r}: a number with a fraction; pass the log's string")
    return canonical(value)


def index_id(value, size: int, name: str) -> int:
    """RawValues.index: an integer from a raw value, in [0, size)."""
    if isinstance(value, bool):
        raise ContractError("bad_value", name, "an index is an integer")
    if isinstance(value, (int, np.integer)):
        i = int(value)
    elif isinstance(value, (float, np.floating)) and math.isfinite(value) and float(value).is_integer():
        i = int(value)
    elif isinstance(value, str) and re.fullmatch(r"-?[0-9]+", value):
        i = int(value)
    else:
        raise ContractError("bad_value", name, f"{value!r} is not an integer")
    if not 0 <= i < size:
        raise ContractError("out_of_range", name, f"{i} is not in [0, {size})")
    return i


def time_id(name: str, timestamp: float) -> int:
    """The hour (name "hour") or weekday column's id of a unix time, as TimeRule says."""
    t = math.floor(timestamp)
    return t // 3600 % 24 if name == "hour" else (t // 86400 + 3) % 7


def ranked(scores, items: list[str]) -> list[str]:
    """The n real slots by score, highest first; ties keep the given order (a stable sort)."""
    flat = np.asarray(scores, dtype=np.float64).ravel()[: len(items)]
    return [items[i] for i in np.argsort(-flat, kind="stable")]


@dataclass(frozen=True)
class RawRequest:
    """A request as an app holds it."""

    items: list[str] = field(metadata={"doc": "the candidates' item ids, in the order the app got them"})
    features: list[dict[str, float]] = field(metadata={"doc": "per candidate, its raw numeric features by name"})
    context: dict[str, object] = field(metadata={
        "doc": "raw context values by the contract's `source` key: strings, numbers or booleans (raw_values says "
               "how each is read)"})
    timestamp: float | None = None
    history: list[str] = field(default_factory=list, metadata={"doc": "recent item ids, most recent first"})
    attributes: list[dict[str, str]] = field(default_factory=list, metadata={
        "doc": "per candidate, its attributes by name (only rules.json reads them); empty: none"})

    @classmethod
    def from_json(cls, d: dict) -> "RawRequest":
        """A request as JSON holds it (raw values as the app had them: strings, numbers, booleans)."""
        return cls(items=list(d["items"]), features=list(d.get("features", [])), context=dict(d.get("context", {})),
                   timestamp=d.get("timestamp"), history=list(d.get("history", [])),
                   attributes=list(d.get("attributes", [])))
