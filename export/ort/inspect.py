"""What an .ort file takes and gives, read by ONNX Runtime itself (the ORT format is a flatbuffer that the onnx
package cannot parse), and its facts, read with ONNX Runtime's own flatbuffer classes for the format."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...core.errors import EdgeshipError, InputError
from ...core.files import gzip_size
from ...core.tensors import Signature, TensorSpec, resolve_shape
from ..shims import ort_format_session
from ..types import ModelFacts
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
    graph = ort_format_session(path.read_bytes()).Model().Graph()
    parameters = 0
    for i in range(graph.InitializersLength()):
        t = graph.Initializers(i)
        parameters += int(np.prod([t.Dims(j) for j in range(t.DimsLength())]))
    ops = set()
    for i in range(graph.NodesLength()):
        node = graph.Nodes(i)
        domain = (node.Domain() or b"").decode()
        ops.add(node.OpType().decode() if domain in ("", "ai.onnx") else f"{domain}.{node.OpType().decode()}")
    return ModelFacts(path.stat().st_size, gzip_size(path), parameters, macs=None, operators=sorted(ops),
                      notes=["MACs: read them from the .onnx it was made from (the ORT format keeps no shapes "
                             "of intermediate tensors)"])
