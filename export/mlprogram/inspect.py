"""What a .mlpackage takes and gives, and its facts (bytes, parameters, MIL ops, weight bits, compute precision),
read from the package alone."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...core.errors import EdgeshipError, InputError
from ...core.files import gzip_size, size
from ...core.tensors import Signature
from ..coreml.inspect import spec_signature
from ..types import ModelFacts
from .package import read_spec

_QUANTIZATION = ("scale", "zero_point", "offset")  # how 8-bit data is expanded, not weights themselves

def signature(path: Path, error: type[EdgeshipError] = InputError) -> Signature:
    return spec_signature(read_spec(path, error))


def program_facts(path: Path, error: type[EdgeshipError] = InputError) -> dict:
    """ops; parameters (elements of stored float or 8-bit arrays: weights, tables, biases, quantized data);
    weights_bits (the widest stored element among weights of 64 or more: 8 means every large weight is
    8-bit; scales and zero points are not weights);
    activations_bits (8 where quantize ops are); compute_precision (fp16 when any op computes in float16)."""
    from .mil import Executor

    executor = Executor(path, error)
    ops = sorted({kind for kind, _, _ in executor.ops} | ({"const"} if executor.constants else set()))
    weights = [a for role, a in executor.stored() if role not in _QUANTIZATION and a.size > 1
               and (np.issubdtype(a.dtype, np.floating) or a.dtype in (np.int8, np.uint8))]
    large = [a.dtype.itemsize * 8 for a in weights if a.size >= 64]
    return {"ops": ops,
            "parameters": int(sum(a.size for a in weights)),
            "weights_bits": max(large, default=32),
            "activations_bits": 8 if "quantize" in ops else 32,
            "compute_precision": "fp16" if any(t is np.float16 for t in executor.types.values()) else "fp32"}


def facts(path: Path) -> ModelFacts:
    found = program_facts(path)
    return ModelFacts(size(path), gzip_size(path), found["parameters"], None, found["ops"], {},
                      [f"weights {found['weights_bits']}-bit, activations {found['activations_bits']}-bit, compute "
                       f"{found['compute_precision']}",
                       "latency not measured: Core ML runs only on Apple platforms; size and operators are exact"])


def trainable_problems(path: Path) -> list[str]:
    return ["an ML Program: Core ML trains only updatable NeuralNetwork models on the device"]
