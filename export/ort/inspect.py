"""What an .ort file takes and gives, read by ONNX Runtime itself (the ORT format is a flatbuffer that the onnx
package cannot parse), and its facts: size and the operators its required_operators.config lists."""

from __future__ import annotations

from pathlib import Path

from ...core.errors import EdgeshipError, InputError
from ...core.tensors import Signature, TensorSpec, resolve_shape
from ...core.files import gzip_size
from ..types import ModelFacts
from . import REQUIRED_OPERATORS
from .runtime import open_session

_DTYPES = {"tensor(float)": "float32", "tensor(int32)": "int32", "tensor(int64)": "int64", "tensor(int8)": "int8",
           "tensor(uint8)": "uint8", "tensor(float16)": "float16", "tensor(bool)": "bool"}


def signature(path: Path, error: type[EdgeshipError] = InputError) -> Signature:
    session = open_session(path, error=error)

    def spec(value) -> TensorSpec:
        shape, dynamic = resolve_shape([d if isinstance(d, int) else None for d in value.shape])
        return TensorSpec(value.name, _DTYPES.get(value.type, value.type), shape, dynamic)

    return Signature(tuple(spec(v) for v in session.inputs), tuple(spec(v) for v in session.outputs))


def facts(path: Path) -> ModelFacts:
    path = Path(path)
    config = path.parent / REQUIRED_OPERATORS
    ops = []
    if config.is_file():
        for line in config.read_text().splitlines():
            if line and not line.startswith("#"):
                domain, _, names = line.split(";")
                ops += [n if domain == "ai.onnx" else f"{domain}.{n}" for n in names.split(",")]
    notes = [] if ops else [f"operators unknown: no {REQUIRED_OPERATORS} beside the file"]
    return ModelFacts(path.stat().st_size, gzip_size(path), parameters=None, macs=None, operators=sorted(set(ops)),
                      notes=notes + ["parameters and MACs: read them from the .onnx it was made from"])
