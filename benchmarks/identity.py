"""Identity models with a given model's inputs: the per-invoke overhead floor of a runtime.

Same input names, dtypes and shapes, no computation: timing one shows what copying the inputs in, the runtime
call and fetching an output cost by themselves, so a user sees how much of a latency is the model.
Built straight from each format's schema (no TensorFlow needed).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .signature import TensorSpec


def _smallest(inputs: tuple[TensorSpec, ...]) -> int:
    # returning the smallest input keeps the output copy negligible next to the real model's scores
    return int(np.argmin([np.prod(t.shape) for t in inputs]))


def write_tflite(inputs: tuple[TensorSpec, ...], path: Path) -> Path:
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

    out = _smallest(inputs)
    subgraph = fb.SubGraphT()
    subgraph.tensors = [tensor(t, i + 1) for i, t in enumerate(inputs)]
    subgraph.inputs, subgraph.outputs, subgraph.operators = list(range(len(inputs))), [out], []
    signature = fb.SignatureDefT()
    signature.signatureKey, signature.subgraphIndex = b"serving_default", 0
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


def write_onnx(inputs: tuple[TensorSpec, ...], path: Path) -> Path:
    import onnx
    from onnx import helper

    def value(name: str, t: TensorSpec):
        return helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(np.dtype(t.dtype)), list(t.shape))

    src = inputs[_smallest(inputs)]
    graph = helper.make_graph([helper.make_node("Identity", [src.name], ["identity"])], "identity",
                              [value(t.name, t) for t in inputs], [value("identity", src)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="edgeship")
    model.ir_version = 8
    onnx.checker.check_model(model)
    path.write_bytes(model.SerializeToString())
    return path


WRITERS = {"litert": (write_tflite, ".tflite"), "onnxruntime": (write_onnx, ".onnx")}


def write(runtime: str, inputs: tuple[TensorSpec, ...], folder: Path, stem: str) -> Path:
    writer, suffix = WRITERS[runtime]
    return writer(inputs, folder / f"{stem}{suffix}")
