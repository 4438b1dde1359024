"""What a .mlmodel takes and gives, and its facts (bytes, parameters, layer types), read from the file alone."""

from __future__ import annotations

from pathlib import Path

from ...core.errors import EdgeshipError, InputError
from ...core.files import gzip_size
from ...core.tensors import Signature, TensorSpec, resolve_shape
from ..types import ModelFacts
from .runtime import read_spec

# ArrayFeatureType.ArrayDataType values (FeatureTypes.proto)
_DTYPES = {65568: "float32", 65600: "float64", 65552: "float16", 131104: "int32"}


def signature(path: Path, error: type[EdgeshipError] = InputError) -> Signature:
    return spec_signature(read_spec(path, error))


def spec_signature(spec) -> Signature:
    """The model description's inputs and outputs (the same message in NeuralNetwork and ML Program files)."""
    def info(feature) -> TensorSpec:
        array = feature.type.multiArrayType
        shape, dynamic = resolve_shape(list(array.shape))
        return TensorSpec(feature.name, _DTYPES.get(array.dataType, f"coreml:{array.dataType}"), shape, dynamic)

    return Signature(tuple(info(f) for f in spec.description.input), tuple(info(f) for f in spec.description.output))


def facts(path: Path) -> ModelFacts:
    spec = read_spec(path)
    kind = spec.WhichOneof("Type")
    layers = list(getattr(getattr(spec, kind), "layers", []))
    parameters = 0
    for layer in layers:
        for _, params in layer.ListFields():
            for _, w in getattr(params, "ListFields", list)():
                if type(w).__name__ == "WeightParams":
                    # one of these holds the values: floats, 8-bit quantized bytes, or fp16 bytes
                    parameters += max(len(w.floatValue), len(w.rawValue), len(w.int8RawValue),
                                      len(w.float16Value) // 2)
    ops = sorted({layer.WhichOneof("layer") for layer in layers})
    return ModelFacts(Path(path).stat().st_size, gzip_size(path), parameters, None, ops, {},
                      ["latency not measured: Core ML runs only on Apple platforms; size and operators are exact"])


def trainable_problems(path: Path) -> list[str]:
    """What Core ML would refuse when the app compiles this updatable model (export/coreml/updatable.py)."""
    from . import updatable

    return updatable.problems(read_spec(path))
