"""Where an int8 .tflite loses precision: every op's output compared with the same tensor of the fp32 file.

Both files run in LiteRT's builtin kernels with every intermediate tensor kept
(`experimental_preserve_all_tensors`), on the same requests. An int8 output is dequantized with its own scale
and zero point and compared with the fp32 tensor of the same name (the converter keeps the float model's
tensor names), so the error is the accumulated one: what the app's scores inherit up to that layer. Ops that
only move int8 values between float and int8 (QUANTIZE, DEQUANTIZE) are left out; so are tensors the float
file does not have.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

import numpy as np

from ..layer_report import LayerError, measured
from .runtime import feed_by_name

_INT = (np.int8, np.uint8, np.int16)


def _interpreter(path: Path):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    it = Interpreter(model_path=str(path), experimental_preserve_all_tensors=True,
                     experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    it.allocate_tensors()
    return it


def errors(fp32: Path, int8: Path, requests: Iterable[dict[str, np.ndarray]]) -> list[LayerError]:
    """One record per op output of `int8` that `fp32` also has, in execution order."""
    f, q = _interpreter(fp32), _interpreter(int8)
    float_index = {t["name"]: t["index"] for t in f.get_tensor_details()}
    details = {t["index"]: t for t in q.get_tensor_details()}
    ops = [(o["op_name"], details[o["outputs"][0]]) for o in q._get_ops_details()
           if o["op_name"] not in ("QUANTIZE", "DEQUANTIZE") and details[o["outputs"][0]]["name"] in float_index]
    sums = np.zeros((len(ops), 5))  # Σf², Σ(f−q)², Σf·q, Σq², max |f−q|
    seen = 0
    for request in requests:
        seen += 1
        feed_by_name(f, request)
        feed_by_name(q, request)
        f.invoke()
        q.invoke()
        for i, (_, t) in enumerate(ops):
            ref = f.get_tensor(float_index[t["name"]]).astype(np.float64)
            got = q.get_tensor(t["index"]).astype(np.float64)
            if t["dtype"] in _INT:
                scale, zero = t["quantization"]
                got = (got - zero) * scale
            diff = ref - got
            sums[i] += ((ref ** 2).sum(), (diff ** 2).sum(), (ref * got).sum(), (got ** 2).sum(), 0.0)
            sums[i, 4] = max(sums[i, 4], float(np.abs(diff).max(initial=0.0)))
    out = []
    for (op, t), row in zip(ops, sums):
        scale, zero = t["quantization"] if t["dtype"] in _INT else (0.0, 0)
        values = max(int(np.prod(t["shape"])), 1) * max(seen, 1)
        out.append(measured(op, t["name"], np.dtype(t["dtype"]).name, row, values, scale, zero))
    return out
