"""Where an int8 .onnx loses precision: each op output of the fp32 file against the same tensor in the int8 file.

ONNX Runtime's own debugging tool does the running (`onnxruntime.quantization.qdq_loss_debug`): every float tensor
of both files is made a graph output and both run with graph optimizations off on the same requests. An int8 file
quantized by ONNX Runtime from the fp32 graph keeps that graph's tensor names for what they share (export/onnx/
convert.py), so a tensor is found as the value the next op reads: after its QuantizeLinear / DequantizeLinear pair
in a QDQ file (int8 or uint8, that pair's scale), else under its own name (float; "int8 inside" when the quantizer
rewrote the op that makes it, as a dynamic file's matrix products and a QOperator file's DequantizeLinear
boundaries). A QOperator file's int8 tensors between its QLinear* ops are not float and so not compared; a file
converted from the .tflite shares no names with the fp32 graph but its output.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Iterable

import numpy as np

from ..layer_report import INSIDE, LayerError, measured
from ..shims import quiet


def _activations(path: Path, model, requests: list[dict[str, np.ndarray]], scratch: Path) -> dict[str, np.ndarray]:
    """Every float tensor of the file at `path` (`model`, loaded) on each request, stacked."""
    from onnxruntime.quantization.qdq_loss_debug import (collect_activations,
                                                         modify_model_output_intermediate_tensors)

    augmented = scratch / f"{path.stem}.augmented.onnx"
    with quiet():
        modify_model_output_intermediate_tensors(str(path), str(augmented))
    names = {i.name for i in model.graph.input}
    feeds = iter([{k: v for k, v in r.items() if k in names} for r in requests])

    class Reader:  # the CalibrationDataReader protocol collect_activations iterates
        def __iter__(self):
            return feeds

    with quiet():
        found = collect_activations(str(augmented), Reader())
    return {name: np.stack(values) for name, values in found.items()}


class _Graph:
    def __init__(self, model):
        from onnx import numpy_helper

        self.made = {out: node for node in model.graph.node for out in node.output}
        self.read: dict[str, list] = {}
        for node in model.graph.node:
            for name in node.input:
                self.read.setdefault(name, []).append(node)
        self.constants = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}

    def after_qdq(self, tensor: str):
        """The DequantizeLinear that gives `tensor` back to the next op, if a Q/DQ pair follows it (or made it)."""
        made = self.made.get(tensor)
        if made is not None and made.op_type == "DequantizeLinear" and \
                getattr(self.made.get(made.input[0]), "op_type", "") == "QuantizeLinear":
            return made  # a graph output keeps its name after its pair
        for q in self.read.get(tensor, []):
            if q.op_type == "QuantizeLinear":
                return next((d for d in self.read.get(q.output[0], []) if d.op_type == "DequantizeLinear"), None)
        return None

    def scale(self, dequantize) -> tuple[float, int, str]:
        scale = self.constants[dequantize.input[1]]
        zero = self.constants[dequantize.input[2]] if len(dequantize.input) > 2 else np.zeros(1, np.uint8)
        return float(np.max(scale)), int(np.ravel(zero)[0]), zero.dtype.name


def errors(fp32: Path, int8: Path, requests: Iterable[dict[str, np.ndarray]]) -> list[LayerError]:
    """One record per op output of `fp32` that `int8` also has, in the fp32 file's order."""
    import onnx

    requests = list(requests)
    f_model, q_model = onnx.load(str(fp32)), onnx.load(str(int8))
    with tempfile.TemporaryDirectory(prefix="edgeship-layers-") as scratch:
        f = _activations(fp32, f_model, requests, Path(scratch))
        q = _activations(int8, q_model, requests, Path(scratch))
    graph = _Graph(q_model)
    out = []
    for node in f_model.graph.node:
        name = node.output[0]
        if name not in f or name not in graph.made:
            continue
        pair = graph.after_qdq(name)
        if pair is not None:
            got, (scale, zero, dtype) = q.get(pair.output[0]), graph.scale(pair)
        else:
            got, scale, zero = q.get(name), 0.0, 0
            dtype = "float32" if graph.made[name].op_type == node.op_type else INSIDE
        if got is None or got.size != f[name].size:  # not saved, or not the same tensor after all
            continue
        ref, got = f[name].astype(np.float64), got.astype(np.float64).reshape(f[name].shape)
        diff = ref - got
        sums = ((ref ** 2).sum(), (diff ** 2).sum(), (ref * got).sum(), (got ** 2).sum(), np.abs(diff).max(initial=0))
        out.append(measured(node.op_type, name, dtype, sums, ref.size, scale, zero))
    return out
