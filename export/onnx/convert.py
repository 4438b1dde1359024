"""ONNX: fp32 via tf2onnx from the Keras model; int8 via tf2onnx from the chosen int8 .tflite.

Why int8 comes from the .tflite rather than from ONNX Runtime's own static quantization: the .tflite route
yields a QDQ graph carrying exactly the scales and zero points of the shipped int8 .tflite, so Android
(TFLite) and any ONNX consumer rank with the same integer model, the PTQ/QAT choice carries over, and there is
one calibration to audit instead of two. The price: ONNX Runtime runs QDQ graphs slower than QOperator graphs
on x86 (see docs/formats.md); size is the same.
"""

from __future__ import annotations

from pathlib import Path

from ...models.features import INPUT_NAMES, SCORES
from .. import shims
from ..about import About, describe_onnx
from ..types import Artifact, Derived, ExportJob, tf_signature
from . import OPSET
from .record import OnnxDetails

FORMAT = "onnx"


def _check_and_save(model_proto, path: Path, about: About | None) -> None:
    import onnx

    canonicalize(model_proto)
    if about is not None:
        describe_onnx(model_proto, about)
    onnx.checker.check_model(model_proto, full_check=True)
    path.write_bytes(model_proto.SerializeToString())


def _rename_io(model_proto, mapping: dict[str, str]) -> None:
    """tf2onnx's TFLite route names tensors like 'serving_default_context:0'; give them the contract's names."""
    graph = model_proto.graph
    for value in list(graph.input) + list(graph.output):
        if value.name in mapping:
            value.name = mapping[value.name]
    for node in graph.node:
        node.input[:] = [mapping.get(n, n) for n in node.input]
        node.output[:] = [mapping.get(n, n) for n in node.output]


def canonicalize(model_proto) -> None:
    """Give equal graphs equal bytes.

    tf2onnx emits nodes in an order that varies between runs (set iteration) and names constants and helper
    nodes from a process-wide counter, so the same model converted twice gave different files. This rewrites
    the graph in a canonical order: identical initializers merged and named by content, nodes in a topological
    order that breaks ties by op type, inputs and attributes, every intermediate tensor and node named by its
    position. Graph inputs and outputs keep their (contract) names.
    """
    import hashlib

    graph = model_proto.graph
    canon: dict[str, str] = {v.name: v.name for v in graph.input}
    initializers = {}
    for init in graph.initializer:
        body = type(init)()
        body.CopyFrom(init)
        body.name = ""
        name = "c_" + hashlib.sha256(body.SerializeToString(deterministic=True)).hexdigest()[:16]
        canon[init.name] = name
        if name not in initializers:
            init.name = name
            initializers[name] = init
    outputs = {v.name for v in graph.output}

    def key(node):
        attrs = b"".join(a.SerializeToString(deterministic=True) for a in sorted(node.attribute, key=lambda a: a.name))
        return node.op_type, tuple(canon.get(i, "") for i in node.input), attrs

    pending, ordered = list(graph.node), []
    while pending:
        ready = [n for n in pending if all(i == "" or i in canon for i in n.input)]
        node = min(ready, key=key)
        pending.remove(node)
        for j, out in enumerate(node.output):
            canon[out] = out if out in outputs else f"t{len(ordered)}_{j}"
        node.input[:] = [canon[i] if i else "" for i in node.input]
        node.output[:] = [canon[o] for o in node.output]
        node.name = f"{node.op_type}_{len(ordered)}"
        ordered.append(node)
    kept = [initializers[name] for name in sorted(initializers)]
    del graph.node[:]
    graph.node.extend(ordered)
    del graph.initializer[:]
    graph.initializer.extend(kept)
    del graph.value_info[:]  # shape hints keyed by the old names; ONNX Runtime infers shapes itself


def _contract_name(tensor_name: str) -> str:
    base = tensor_name.split(":")[0]
    for name in INPUT_NAMES:
        if base.endswith(name) and (base == name or base.endswith("_" + name)):
            return name
    return SCORES if base.startswith("StatefulPartitionedCall") or base.endswith(SCORES) else base


def export(job: ExportJob, out_dir: Path, derived: Derived) -> list[Artifact]:
    """fp32 from the Keras model; int8 from the shipped int8 .tflite when there is one."""
    import tf2onnx

    with shims.quiet():
        fp32, _ = tf2onnx.convert.from_keras(job.model, input_signature=tf_signature(job.inputs), opset=OPSET)
    if len(fp32.graph.output) == 1 and fp32.graph.output[0].name != SCORES:  # a user's model names it its own way
        _rename_io(fp32, {fp32.graph.output[0].name: SCORES})
    path = out_dir / "ranker_fp32.onnx"
    _check_and_save(fp32, path, job.about)
    artifacts = [Artifact(path=path, format=FORMAT, precision="fp32", notes="tf2onnx from the Keras model",
                          details=OnnxDetails(OPSET))]
    source = derived.shipped("tflite", "int8")
    if source is not None:
        with shims.quiet():
            int8, _ = tf2onnx.convert.from_tflite(str(source), opset=OPSET)
        _rename_io(int8, {o.name: _contract_name(o.name) for o in list(int8.graph.input) + list(int8.graph.output)})
        path = out_dir / "ranker_int8.onnx"
        _check_and_save(int8, path, job.about)
        artifacts.append(Artifact(path=path, format=FORMAT, precision="int8",
                                  notes=f"QDQ graph by tf2onnx from {source.name}: same integer model",
                                  details=OnnxDetails(OPSET, derived_from=source.name)))
    return artifacts
