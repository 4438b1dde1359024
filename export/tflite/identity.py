"""A .tflite with a given model's inputs and no computation: the runtime's per-invoke overhead floor.
Built straight from the schema (no TensorFlow needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...core.tensors import TensorSpec
from ..types import identity_output
from . import SIGNATURE


def write(inputs: tuple[TensorSpec, ...], path: Path) -> Path:
    import flatbuffers
    from ai_edge_litert import schema_py_generated as fb

    def tensor(t: TensorSpec, buffer: int):
        x = fb.TensorT()
        x.name, x.type = t.name.encode(), getattr(fb.TensorType, np.dtype(t.dtype).name.upper())
        x.shape = x.shapeSignature = list(t.shape)
        x.buffer = buffer
        return x

    def tensor_map(name: str, index: int):
        m = fb.TensorMapT()
        m.name, m.tensorIndex = name.encode(), index
        return m

    out = identity_output(inputs)
    subgraph = fb.SubGraphT()
    subgraph.tensors = [tensor(t, i + 1) for i, t in enumerate(inputs)]
    subgraph.inputs, subgraph.outputs, subgraph.operators = list(range(len(inputs))), [out], []
    signature = fb.SignatureDefT()
    signature.signatureKey, signature.subgraphIndex = SIGNATURE.encode(), 0
    signature.inputs = [tensor_map(t.name, i) for i, t in enumerate(inputs)]
    signature.outputs = [tensor_map("identity", out)]
    model = fb.ModelT()
    model.version, model.description = 3, b"edgeship identity (overhead floor)"
    model.buffers = [fb.BufferT() for _ in range(len(inputs) + 1)]  # buffer 0 is the schema's empty sentinel
    model.subgraphs, model.operatorCodes, model.signatureDefs = [subgraph], [], [signature]
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    path.write_bytes(bytes(builder.Output()))
    return path
