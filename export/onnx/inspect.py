"""What an .onnx file takes and gives, and its facts (bytes, parameters, MACs, operators, and whether it fits
ONNX Runtime's mobile packages), read from the file itself: they hold for foreign files too."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import numpy as np

from ...core.errors import EdgeshipError, InputError, one_line, reading_model
from ...core.files import gzip_size
from ...core.tensors import Signature, TensorSpec, resolve_shape
from ..types import ModelFacts
from . import runtime


def _load(path: Path, external_data: bool, error: type[EdgeshipError] = InputError):
    import onnx

    # onnx refuses external data that points outside the model's folder, rightly; the user gets one line
    with reading_model(path, "onnx", error):
        return onnx.load(str(path), load_external_data=external_data)


def _dtype(elem_type: int) -> str:
    from onnx import helper

    try:
        return np.dtype(helper.tensor_dtype_to_np_dtype(elem_type)).name
    except (KeyError, TypeError, ValueError):
        return f"onnx:{elem_type}"


def signature(path: Path, error: type[EdgeshipError] = InputError) -> Signature:
    """Inputs (initializers left out) and outputs in the order the graph declares them."""
    model = _load(path, external_data=False, error=error)
    initializers = {i.name for i in model.graph.initializer}

    def spec(value) -> TensorSpec:
        t = value.type.tensor_type
        shape, dynamic = resolve_shape([d.dim_value if d.HasField("dim_value") else None for d in t.shape.dim])
        return TensorSpec(value.name, _dtype(t.elem_type), shape, dynamic)

    inputs = tuple(spec(v) for v in model.graph.input if v.name not in initializers)
    return Signature(inputs, tuple(spec(v) for v in model.graph.output))


def facts(path: Path) -> ModelFacts:
    import onnx

    model = _load(path, external_data=True)
    parameters = sum(int(np.prod(i.dims)) for i in model.graph.initializer)
    parameters += sum(int(np.prod(n.attribute[0].t.dims)) for n in model.graph.node
                      if n.op_type == "Constant" and n.attribute and n.attribute[0].HasField("t"))
    ops = sorted({n.op_type if n.domain in ("", "ai.onnx") else f"{n.domain}.{n.op_type}" for n in model.graph.node})
    notes = []
    try:
        macs = _macs(onnx.shape_inference.infer_shapes(model))
    except Exception as e:  # shape inference fails on some foreign graphs; MACs then stay unknown
        macs = None
        notes.append(f"MACs unknown: shape inference failed ({type(e).__name__})")
    return ModelFacts(Path(path).stat().st_size, gzip_size(path), parameters, macs, ops, _mobile(path), notes)


def _macs(model) -> int | None:
    shapes = {}
    for v in list(model.graph.value_info) + list(model.graph.input) + list(model.graph.output):
        dims = [d.dim_value if d.HasField("dim_value") else 1 for d in v.type.tensor_type.shape.dim]
        shapes[v.name] = dims
    for i in model.graph.initializer:
        shapes[i.name] = list(i.dims)
    macs = 0
    for n in model.graph.node:
        if n.op_type in ("MatMul", "Gemm", "MatMulInteger", "QLinearMatMul", "Conv", "ConvInteger", "QLinearConv"):
            out = shapes.get(n.output[0])
            a = shapes.get(n.input[0])
            if out is None or a is None:
                return None
            if n.op_type.endswith("Conv"):
                w = shapes.get(n.input[3] if n.op_type == "QLinearConv" else n.input[1])
                if w is None:
                    return None
                macs += int(np.prod(out)) * int(np.prod(w[1:]))
            else:
                trans_a = any(at.name == "transA" and at.i for at in n.attribute)
                macs += int(np.prod(out)) * int(a[-2] if trans_a else a[-1])
    return macs


def _mobile(path: Path) -> dict:
    """ONNX Runtime's mobile story: the model must save as and run from the ORT format the mobile packages load,
    and its usability checker says how much of it the NNAPI and Core ML execution providers would take."""
    result = {}
    with tempfile.TemporaryDirectory() as tmp:
        ort_path = Path(tmp) / (path.stem + ".ort")
        try:
            runtime.save_ort_format(path, ort_path)
            result["ort_format"] = {"ok": True, "bytes": ort_path.stat().st_size}
        except EdgeshipError as e:
            result["ort_format"] = {"ok": False, "error": e.message}
    result.update(_ep_suitability(path))
    return result


def _ep_suitability(path: Path) -> dict:
    from onnxruntime.tools.mobile_helpers import usability_checker as uc
    from onnxruntime.tools.onnx_model_utils import ModelProtoWithShapeInfo

    quiet_logger = logging.getLogger("edgeship.usability")
    quiet_logger.setLevel(logging.CRITICAL)
    try:
        model = ModelProtoWithShapeInfo(path).model_with_shape_info
        checks = {"nnapi_ep": uc.check_nnapi_partitions(model, True),
                  "coreml_ep": uc.check_coreml_partitions(model, True, "coreml_supported_mlprogram_ops.md")}
    except Exception as e:
        return {"ep_checks": {"ok": False, "error": one_line(e)}}
    # these say whether an accelerator is worth trying; the CPU provider runs every op either way
    return {name: {"ok": True, "suitability": info.suitability().name,
                   "supported_nodes": f"{info.num_supported_nodes}/{info.num_nodes}",
                   "unsupported_ops": sorted(info.unsupported_ops)} for name, info in checks.items()}
