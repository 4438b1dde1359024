"""Central types of the export stage: what goes into an exporter and what comes out of it and of inspection."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from ..core.tensors import TensorSpec
from ..models.features import INPUT_NAMES, FeatureSpec
from ..ondevice.personalization import VECTOR_HEAD
from .about import About
from .recipes import CHOICES, Recipe, builtin, for_format
from .recipes import DEFAULT as DEFAULT_RECIPES

Inputs = dict[str, np.ndarray]


@dataclass(frozen=True)
class QuantizationConfig:
    calibration_requests: int = 200  # representative requests drawn from the training data
    # Off by default, by measurement: on every default run so far PTQ shipped (v1 ranker: QAT int8 NDCG ratio
    # 0.986 vs PTQ 1.004; the attention ranker: QAT 0.987, below the floor, vs PTQ 0.995), and QAT's epoch over
    # the 6 M default impressions costs 43 s + 17 s of conversion. `qat = true` still converts both, ships the better.
    qat: bool = False
    qat_epochs: int = 1
    # Fine-tuning from the trained weights. Int8 NDCG ratio of the QAT .tflite on the v1 default run:
    # 5e-4 -> 0.979, 1e-4 -> 0.974, 2e-5 -> 0.986 (all below PTQ's 1.004; why is still open, see docs/results.md).
    qat_learning_rate: float = 2e-5
    # built-in names or paths to recipe files (export/recipes/): each is converted, verified, weighed and timed;
    # a format none of them names keeps one candidate, its first built-in (full_int8 / onnx_from_tflite)
    recipes: tuple[str, ...] = field(default=DEFAULT_RECIPES, metadata={"nonempty": True})
    # which eligible candidate ships as each format's int8 file (this host's latency is a proxy for a phone's)
    choose: str = field(default="speed", metadata={"choices": CHOICES})
    # an int8 file exists to be small: a candidate larger than this times the smallest one that holds the
    # floors is not eligible (keeping the embedding tables in float triples the default file)
    size_slack: float = field(default=1.25, metadata={"min": 1.0})


@dataclass(frozen=True)
class ExportJob:
    """Everything an exporter needs; every format's convert takes the same job."""

    model: object  # tf_keras.Model with batch 1 and K fixed: the fp32 reference
    spec: FeatureSpec
    candidates: int
    calibration: Callable[[], Iterator[Inputs]]  # yields single requests (batch 1) from the training data
    qat_model: object | None = None  # quantization-aware trained model (free K); None skips QAT
    personal: bool = False  # also a trainable .tflite that learns its user on the phone
    personal_frozen: str = "fp32"  # its frozen ranker's weights: fp32 or int8 (export/tflite/personal.py)
    personal_head: str = VECTOR_HEAD  # what its trained head sees (export/tflite/personal.py HEADS)
    item_vectors: np.ndarray | None = None  # [items, dim] models.item_vectors, for VECTOR_HEAD
    about: About | None = None  # what each file says about itself (export/about.py); None: nothing
    # the int8 candidates each format makes (export/recipes/); a format none of them names makes one file by
    # its first built-in (full_int8, onnx_from_tflite)
    recipes: tuple[Recipe, ...] = ()

    def recipes_for(self, fmt: str) -> tuple[Recipe, ...]:
        return for_format(self.recipes, fmt) or for_format(builtin(("full_int8", "onnx_from_tflite")), fmt)

    @property
    def personal_vectors(self) -> np.ndarray | None:
        """The item vectors the trainable files' heads learn a user vector against: item_vectors, for VECTOR_HEAD
        when the training rows gave any (a log without histories gives none: the head is then features+items)."""
        if self.personal_head != VECTOR_HEAD or self.item_vectors is None:
            return None
        return np.asarray(self.item_vectors, np.float32)

    @property
    def inputs(self) -> tuple[TensorSpec, ...]:
        return self.spec.inputs(self.candidates)


@dataclass(frozen=True)
class Derived:
    """Shipped files of earlier formats that a later format converts from (see Format.needs): the verified,
    non-trainable file of each (format, precision), e.g. the int8 .tflite whose recipe won the choice."""

    files: dict[tuple[str, str], Path] = field(default_factory=dict)

    def shipped(self, fmt: str, precision: str) -> Path | None:
        return self.files.get((fmt, precision))


@dataclass(frozen=True)
class Artifact:
    """One saved model file, as a converter made it."""

    path: Path  # absolute while being built; relative to the bundle in the manifest
    format: str  # a name in export.formats.FORMATS
    precision: str  # fp32 | int8
    notes: str = ""
    quantization_method: str | None = None  # the recipe's name (export/recipes/), or how the format quantizes
    recipe: Recipe | None = None  # the recipe that made this int8 candidate
    failed: str | None = None  # its recipe did not convert (why, one line): recorded, never written or verified
    ships_as: str | None = None  # one of several candidates for this file name; the export stage keeps one
    trainable: bool = False  # learns on the device (train / reset signatures): verified to learn and to reset
    details: object = None  # the format's own facts (its Format.record)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def slot(self) -> str:
        """The file name it ships as."""
        return self.ships_as or self.path.name


@dataclass
class ModelFacts:
    """Deterministic facts of a model file, read from the file alone (they hold for foreign files too)."""

    bytes: int
    gzip_bytes: int
    parameters: int | None = field(metadata={
        "doc": "elements of constant tensors (weights, biases, constant tables); null where the file does not say"})
    macs: int | None = field(metadata={"doc": "multiply-accumulates per invoke in matmul/conv-like ops; null "
                                              "where not countable"})
    operators: list[str]
    mobile: dict = field(default_factory=dict, metadata={"doc": "format-specific mobile checks, each with ok"})
    notes: list[str] = field(default_factory=list)


def in_contract_order(tensors) -> list[TensorSpec]:
    """The contract's input order first (context, history, candidates, candidate_features), then any others."""
    rank = {name: i for i, name in enumerate(INPUT_NAMES)}
    return sorted(tensors, key=lambda t: rank.get(t.name, len(rank)))


def tf_signature(inputs: tuple[TensorSpec, ...]) -> list:
    """The inputs as tf.TensorSpec, for the converters that trace a TensorFlow function."""
    import tensorflow as tf

    return [tf.TensorSpec(t.shape, tf.as_dtype(t.dtype), name=t.name) for t in inputs]


def identity_output(inputs: tuple[TensorSpec, ...]) -> int:
    """Which input an identity model returns: the smallest, so the output copy stays negligible next to a real
    model's scores."""
    return int(np.argmin([np.prod(t.shape) for t in inputs]))
