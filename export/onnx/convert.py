"""ONNX: fp32 via tf2onnx from the Keras model, simplified (simplify.py); int8 candidates by recipe
(export/recipes/): `from_tflite` converts the shipped int8 .tflite with tf2onnx (a QDQ graph carrying exactly that
file's scales and zero points: one calibration to audit for both), and `qdq` / `qoperator` / `dynamic` quantize
the fp32 graph with ONNX Runtime's own quantizer (its kernels' preferred layouts, its own calibration on the
same requests). The export stage times them all and ships one (docs/formats.md).
"""

from __future__ import annotations

from pathlib import Path

from ...core.errors import one_line
from ...models.features import INPUT_NAMES, SCORES
from .. import shims
from ..about import About, describe_onnx
from ..recipes import Recipe
from ..types import Artifact, Derived, ExportJob, tf_signature
from . import OPSET
from .record import OnnxDetails
from .simplify import simplify

FORMAT = "onnx"


def _check_and_save(model_proto, path: Path, about: About | None, prefix: str = "t",
                    keep: frozenset[str] = frozenset()) -> None:
    import onnx

    canonicalize(model_proto, prefix, keep)
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


def canonicalize(model_proto, prefix: str = "t", keep: frozenset[str] = frozenset()) -> None:
    """Give equal graphs equal bytes.

    tf2onnx emits nodes in an order that varies between runs (set iteration) and names constants and helper
    nodes from a process-wide counter, so the same model converted twice gave different files. This rewrites
    the graph in a canonical order: identical initializers merged and named by content, nodes in a topological
    order that breaks ties by op type, inputs and attributes, every intermediate tensor and node named by its
    position (`prefix` + position). Graph inputs and outputs keep their (contract) names, and so do the tensors
    in `keep`: an int8 graph quantized from the canonical fp32 one keeps the fp32 graph's names for the tensors
    they share (the layer-by-layer comparison finds them by name: export/onnx/layers.py) and numbers the rest
    with another prefix, so that no name means another tensor in the fp32 file.
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
            canon[out] = out if out in outputs or out in keep else f"{prefix}{len(ordered)}_{j}"
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


INT8_NAME = "ranker_int8.onnx"


def export(job: ExportJob, out_dir: Path, derived: Derived) -> list[Artifact]:
    """fp32 from the Keras model; one int8 candidate per onnx recipe (from_tflite only when an int8 .tflite
    shipped)."""
    import tf2onnx

    with shims.quiet():
        fp32, _ = tf2onnx.convert.from_keras(job.model, input_signature=tf_signature(job.inputs), opset=OPSET)
    if len(fp32.graph.output) == 1 and fp32.graph.output[0].name != SCORES:  # a user's model names it its own way
        _rename_io(fp32, {fp32.graph.output[0].name: SCORES})
    simplify(fp32)
    path = out_dir / "ranker_fp32.onnx"
    _check_and_save(fp32, path, job.about)
    artifacts = [Artifact(path=path, format=FORMAT, precision="fp32", notes="tf2onnx from the Keras model",
                          details=OnnxDetails(OPSET))]
    fp32_tensors = frozenset(t for n in fp32.graph.node for t in n.output)  # what ONNX Runtime's int8 graphs share
    for recipe in job.recipes_for(FORMAT):
        if recipe.method == "from_tflite":
            source = derived.shipped("tflite", "int8")
            if source is None:
                continue
            with shims.quiet():
                int8, _ = tf2onnx.convert.from_tflite(str(source), opset=OPSET)
            _rename_io(int8, {o.name: _contract_name(o.name)
                              for o in list(int8.graph.input) + list(int8.graph.output)})
            origin, note = source.name, f"QDQ graph by tf2onnx from {source.name}: its scales and zero points"
        else:
            origin, note = path.name, recipe.note
            try:
                int8 = _ort_quantized(fp32, recipe, job)
            except Exception as e:  # one recipe failing loses only itself
                artifacts.append(Artifact(out_dir / f"ranker_int8_{recipe.name}.onnx", FORMAT, "int8", note,
                                          quantization_method=recipe.name, recipe=recipe, ships_as=INT8_NAME,
                                          failed=one_line(e, 300)))
                continue
        out = out_dir / f"ranker_int8_{recipe.name}.onnx"
        _check_and_save(int8, out, job.about, "q", fp32_tensors if origin == path.name else frozenset())
        artifacts.append(Artifact(path=out, format=FORMAT, precision="int8", notes=note,
                                  quantization_method=recipe.name, recipe=recipe, ships_as=INT8_NAME,
                                  details=OnnxDetails(OPSET, derived_from=origin)))
    return artifacts


def float_nodes(fp32, patterns: tuple[str, ...]) -> list[str]:
    """The fp32 graph's nodes a recipe's float_layers keep in float: those with an output tensor a pattern
    matches (re.search, as for .tflite)."""
    import re

    return [n.name for n in fp32.graph.node if any(re.search(p, o) for p in patterns for o in n.output)]


def _ort_quantized(fp32, recipe: Recipe, job: ExportJob):
    """ONNX Runtime's quantizer on the fp32 graph. It writes helper files into the working folder (and its
    pre-processing wants a file), so it runs in a temporary one."""
    import os
    import tempfile

    import onnx
    from onnxruntime.quantization import (CalibrationDataReader, QuantFormat, QuantType, quantize_dynamic,
                                          quantize_static)
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Requests(CalibrationDataReader):
        def __init__(self):
            self.feeds = iter(job.calibration())

        def get_next(self):
            return next(self.feeds, None)

    here = os.getcwd()
    with tempfile.TemporaryDirectory(prefix="edgeship-ortq-") as scratch:
        os.chdir(scratch)
        try:
            onnx.save(fp32, "fp32.onnx")
            with shims.quiet():
                quant_pre_process("fp32.onnx", "pre.onnx", skip_symbolic_shape=True)
                only = {"op_types_to_quantize": list(recipe.int8_ops)} if recipe.int8_ops else {}
                if recipe.float_layers:
                    only["nodes_to_exclude"] = float_nodes(fp32, recipe.float_layers)
                if recipe.method == "dynamic":
                    quantize_dynamic("pre.onnx", "int8.onnx", weight_type=QuantType.QInt8, **only)
                else:
                    signed = recipe.activations == "int8"
                    quantize_static("pre.onnx", "int8.onnx", Requests(),
                                    quant_format=QuantFormat.QDQ if recipe.method == "qdq" else QuantFormat.QOperator,
                                    activation_type=QuantType.QInt8 if signed else QuantType.QUInt8,
                                    weight_type=QuantType.QInt8, per_channel=recipe.per_channel, **only)
            return onnx.load("int8.onnx")
        finally:
            os.chdir(here)
