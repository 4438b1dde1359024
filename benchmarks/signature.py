"""What a model file takes and gives, read from the file itself, and inputs synthesized to fit it.

Works on any .tflite or .onnx, ours or foreign. Integer inputs get values inside their valid range when the
range is known (an edgeship manifest says it); otherwise they are filled with 0, which every embedding lookup
accepts, and the report says the range was unknown.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..export._shims import litert_interpreter

RUNTIMES = {".tflite": "litert", ".onnx": "onnxruntime"}
FORMATS = {".tflite": "tflite", ".onnx": "onnx", ".mlmodel": "coreml"}


@dataclass(frozen=True)
class TensorSpec:
    name: str  # the contract name (the signature's name for a .tflite, the graph input name for an .onnx)
    dtype: str  # numpy dtype name
    shape: tuple[int, ...]  # dynamic dimensions already resolved (to 1) for measurement
    dynamic: tuple[int, ...] = ()  # indices of dimensions the file leaves free
    high: int | None = None  # integer inputs: values drawn from [0, high); None = range unknown, filled with 0

    def to_dict(self) -> dict:
        return {"name": self.name, "dtype": self.dtype, "shape": list(self.shape), "dynamic": list(self.dynamic),
                "value_range": None if self.high is None else [0, self.high]}

    @classmethod
    def from_dict(cls, d: dict) -> "TensorSpec":
        vr = d.get("value_range")
        return cls(d["name"], d["dtype"], tuple(d["shape"]), tuple(d.get("dynamic", ())), vr[1] if vr else None)


@dataclass(frozen=True)
class Signature:
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]

    def candidates(self) -> int | None:
        """K when the model follows the edgeship contract (a `candidates` input [1, K]), else None."""
        for t in self.inputs:
            if t.name == "candidates" and len(t.shape) == 2:
                return t.shape[1]
        return None


def _resolve(shape) -> tuple[tuple[int, ...], tuple[int, ...]]:
    dims, dynamic = [], []
    for i, d in enumerate(shape):
        if isinstance(d, (int, np.integer)) and d > 0:
            dims.append(int(d))
        else:
            dims.append(1)
            dynamic.append(i)
    return tuple(dims), tuple(dynamic)


def read_signature(path: Path) -> Signature:
    """Inputs and outputs of a .tflite or .onnx file, in the order the file declares them."""
    suffix = path.suffix.lower()
    if suffix == ".tflite":
        return _tflite_signature(path)
    if suffix == ".onnx":
        return _onnx_signature(path)
    raise ValueError(f"{path}: no signature reader for {suffix!r}")


def _tflite_signature(path: Path) -> Signature:
    interpreter = litert_interpreter(path, num_threads=1)
    in_names, out_names = {}, {}  # raw tensor index -> the signature's name (one tensor can be both)
    for sig in interpreter.get_signature_list():
        runner = interpreter.get_signature_runner(sig)
        in_names.update({d["index"]: name for name, d in runner.get_input_details().items()})
        out_names.update({d["index"]: name for name, d in runner.get_output_details().items()})

    def spec(d, names) -> TensorSpec:
        sig = d.get("shape_signature")
        shape, dynamic = _resolve(sig if sig is not None and len(sig) else d["shape"])
        return TensorSpec(names.get(d["index"], d["name"]), np.dtype(d["dtype"]).name, shape, dynamic)

    return Signature(tuple(spec(d, in_names) for d in interpreter.get_input_details()),
                     tuple(spec(d, out_names) for d in interpreter.get_output_details()))


_ONNX_DTYPES = {1: "float32", 2: "uint8", 3: "int8", 5: "int16", 6: "int32", 7: "int64", 9: "bool", 10: "float16",
                11: "float64"}


def _onnx_signature(path: Path) -> Signature:
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    initializers = {i.name for i in model.graph.initializer}

    def spec(value) -> TensorSpec:
        t = value.type.tensor_type
        dims = [d.dim_value if d.HasField("dim_value") else None for d in t.shape.dim]
        shape, dynamic = _resolve(dims)
        return TensorSpec(value.name, _ONNX_DTYPES.get(t.elem_type, f"onnx:{t.elem_type}"), shape, dynamic)

    inputs = tuple(spec(v) for v in model.graph.input if v.name not in initializers)
    return Signature(inputs, tuple(spec(v) for v in model.graph.output))


def with_ranges(signature: Signature, manifest_model: dict | None) -> Signature:
    """Attach the valid id ranges an edgeship manifest declares (context fields, item buckets)."""
    if not manifest_model:
        return signature
    spec = manifest_model["feature_spec"]
    highs = {"history": spec["item_buckets"], "candidates": spec["item_buckets"],
             # context columns have different ranges; the smallest keeps every column valid
             "context": min(f["cardinality"] for f in spec["context_fields"])}
    return replace(signature, inputs=tuple(replace(t, high=highs.get(t.name)) if t.dtype.startswith("int") else t
                                           for t in signature.inputs))


def synthesize(inputs: tuple[TensorSpec, ...], seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    feeds = {}
    for t in inputs:
        dtype = np.dtype(t.dtype)
        if dtype.kind in "iu":
            feeds[t.name] = (rng.integers(0, t.high, size=t.shape) if t.high else np.zeros(t.shape)).astype(dtype)
        elif dtype.kind == "b":
            feeds[t.name] = rng.random(t.shape) < 0.5
        else:
            feeds[t.name] = rng.standard_normal(t.shape).astype(dtype)
    return feeds
