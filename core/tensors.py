"""The one tensor-signature type: what a model file takes and gives, as the manifest, the harness and the
runtimes all describe it."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np


@dataclass(frozen=True)
class Quantization:
    scale: float
    zero_point: int


@dataclass(frozen=True)
class TensorSpec:
    """One input or output of a model file."""

    name: str = field(metadata={"doc": "the contract name (signature name in .tflite, graph name in .onnx)"})
    dtype: str = field(metadata={"doc": "NumPy dtype name: int32, float32, ..."})
    shape: tuple[int, ...] = field(metadata={"doc": "free dimensions are given as 1"})
    dynamic: tuple[int, ...] = field(default=(), metadata={"doc": "indices of dimensions the file leaves free"})
    quantization: Quantization | None = field(default=None, metadata={
        "doc": "scale and zero point where the tensor itself is quantized (real = scale * (q - zero_point))"})
    value_range: tuple[int, ...] | None = field(default=None, metadata={
        "doc": "integer inputs: valid values are [low, high); null where unknown"})

    @property
    def high(self) -> int | None:
        return None if self.value_range is None else self.value_range[1]


@dataclass(frozen=True)
class Signature:
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]

    def input(self, name: str) -> TensorSpec | None:
        return next((t for t in self.inputs if t.name == name), None)

    def candidates(self) -> int | None:
        """K when the model follows the edgeship contract (a `candidates` input [1, K]), else None."""
        t = self.input("candidates")
        return t.shape[1] if t is not None and len(t.shape) == 2 else None

    def with_ranges(self, ranges: dict[str, tuple[int, int]]) -> "Signature":
        """The same signature with valid value ranges attached to the integer inputs named in `ranges`."""
        return replace(self, inputs=tuple(
            replace(t, value_range=ranges[t.name]) if t.name in ranges and t.dtype.startswith("int") else t
            for t in self.inputs))


def resolve_shape(dims) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(shape with free dimensions as 1, indices of the free dimensions); a free dimension is None, 0 or < 0."""
    shape, dynamic = [], []
    for i, d in enumerate(dims):
        if isinstance(d, (int, np.integer)) and d > 0:
            shape.append(int(d))
        else:
            shape.append(1)
            dynamic.append(i)
    return tuple(shape), tuple(dynamic)


def synthesize(inputs: tuple[TensorSpec, ...], seed: int = 0) -> dict[str, np.ndarray]:
    """Feeds that fit the inputs: integers inside their valid range when it is known (else 0, which every
    embedding lookup accepts), floats from a standard normal, booleans at random."""
    rng = np.random.default_rng(seed)
    feeds = {}
    for t in inputs:
        dtype = np.dtype(t.dtype)
        if dtype.kind in "iu":
            low, high = t.value_range or (0, 0)
            feeds[t.name] = (rng.integers(low, high, size=t.shape) if high > low else np.zeros(t.shape)).astype(dtype)
        elif dtype.kind == "b":
            feeds[t.name] = rng.random(t.shape) < 0.5
        else:
            feeds[t.name] = rng.standard_normal(t.shape).astype(dtype)
    return feeds
