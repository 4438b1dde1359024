"""Deterministic facts of a model file: bytes, gzip bytes, parameters, MACs per request, operators, and whether
the file fits the mobile runtimes (TFLite builtin ops only; ONNX Runtime's mobile checks and ORT format).

Read from the file alone, so they hold for foreign models too, and they are gated exactly (no noise).
"""

from __future__ import annotations

import gzip
import logging
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np


@dataclass
class ModelFacts:
    bytes: int
    gzip_bytes: int
    parameters: int  # elements of constant tensors (weights, biases, constant tables)
    macs: int | None  # multiply-accumulates per invoke in matmul/conv-like ops; None where not countable
    operators: list[str]
    mobile: dict = field(default_factory=dict)  # format-specific compatibility checks, each with "ok"
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def gzip_size(path: Path) -> int:
    # mtime=0 and a fixed level: the download cost is a property of the file, not of when it was measured
    return len(gzip.compress(path.read_bytes(), compresslevel=9, mtime=0))


def model_facts(path: Path) -> ModelFacts:
    suffix = path.suffix.lower()
    size, gz = path.stat().st_size, gzip_size(path)
    if suffix == ".tflite":
        return _tflite_facts(path, size, gz)
    if suffix == ".onnx":
        return _onnx_facts(path, size, gz)
    if suffix == ".mlmodel":
        return _coreml_facts(path, size, gz)
    raise ValueError(f"{path}: unsupported model file type {suffix!r}")


# --- TensorFlow Lite -------------------------------------------------------------------------------------------

def _tflite_facts(path: Path, size: int, gz: int) -> ModelFacts:
    from ai_edge_litert import schema_py_generated as fb

    model = fb.ModelT.InitFromObj(fb.Model.GetRootAsModel(path.read_bytes(), 0))
    names = {v: k for k, v in vars(fb.BuiltinOperator).items() if not k.startswith("_")}
    codes = []
    for oc in model.operatorCodes:
        code = max(oc.builtinCode, oc.deprecatedBuiltinCode)  # the schema moved codes >127 to a new field
        custom = oc.customCode.decode() if oc.customCode else None
        codes.append(f"CUSTOM:{custom}" if code == fb.BuiltinOperator.CUSTOM else names.get(code, f"OP_{code}"))

    parameters, macs, used = 0, 0, set()
    for sg in model.subgraphs:
        tensors = sg.tensors
        for t in tensors:
            buf = model.buffers[t.buffer] if t.buffer < len(model.buffers) else None
            if buf is not None and buf.data is not None and len(buf.data) and t.shape is not None:
                parameters += int(np.prod(t.shape))
        for op in sg.operators or []:
            name = codes[op.opcodeIndex]
            used.add(name)
            macs += _tflite_macs(name, [tensors[i] for i in op.inputs if i >= 0],
                                 [tensors[i] for i in op.outputs])
    ops = sorted(used)
    custom = [o for o in ops if o.startswith("CUSTOM:") or o == "DELEGATE" or o.startswith("FLEX")]
    mobile = {"builtin_ops_only": {"ok": not custom, "non_builtin": custom}}
    return ModelFacts(size, gz, parameters, macs, ops, mobile)


def _tflite_macs(op: str, inputs, outputs) -> int:
    out = outputs[0].shape if outputs and outputs[0].shape is not None else None
    if out is None or not len(inputs):
        return 0
    out_elems = int(np.prod(out))
    if op == "FULLY_CONNECTED":
        return out_elems * int(inputs[1].shape[-1])  # weights are [units, depth]
    if op == "BATCH_MATMUL":
        a = inputs[0].shape
        return out_elems * int(a[-1])  # models with adj_x set are rare; counted as if unset
    if op in ("CONV_2D", "TRANSPOSE_CONV"):
        w = inputs[1].shape  # [out, kh, kw, in]
        return out_elems * int(np.prod(w[1:]))
    if op == "DEPTHWISE_CONV_2D":
        w = inputs[1].shape  # [1, kh, kw, out]
        return out_elems * int(w[1] * w[2])
    return 0


# --- ONNX ------------------------------------------------------------------------------------------------------

def _onnx_facts(path: Path, size: int, gz: int) -> ModelFacts:
    import onnx

    model = onnx.load(str(path))
    parameters = sum(int(np.prod(i.dims)) for i in model.graph.initializer)
    parameters += sum(int(np.prod(n.attribute[0].t.dims)) for n in model.graph.node
                      if n.op_type == "Constant" and n.attribute and n.attribute[0].HasField("t"))
    ops = sorted({n.op_type if n.domain in ("", "ai.onnx") else f"{n.domain}.{n.op_type}" for n in model.graph.node})
    notes = []
    try:
        macs = _onnx_macs(onnx.shape_inference.infer_shapes(model))
    except Exception as e:  # shape inference fails on some foreign graphs; MACs then stay unknown
        macs = None
        notes.append(f"MACs unknown: shape inference failed ({type(e).__name__})")
    return ModelFacts(size, gz, parameters, macs, ops, _onnx_mobile(path), notes)


def _onnx_macs(model) -> int | None:
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


def _onnx_mobile(path: Path) -> dict:
    """ONNX Runtime's mobile story: the model must save as and run from the ORT format the mobile packages load,
    and its usability checker says how much of it the NNAPI and Core ML execution providers would take."""
    import onnxruntime as ort

    result = {}
    with tempfile.TemporaryDirectory() as tmp:
        ort_path = Path(tmp) / (path.stem + ".ort")
        try:
            options = ort.SessionOptions()
            options.log_severity_level = 3
            options.optimized_model_filepath = str(ort_path)
            options.add_session_config_entry("session.save_model_format", "ORT")
            ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
            ort.InferenceSession(str(ort_path), providers=["CPUExecutionProvider"])
            result["ort_format"] = {"ok": True, "bytes": ort_path.stat().st_size}
        except Exception as e:
            result["ort_format"] = {"ok": False, "error": str(e).splitlines()[0][:200]}
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
        return {"ep_checks": {"ok": False, "error": str(e).splitlines()[0][:200]}}
    # these say whether an accelerator is worth trying; the CPU provider runs every op either way
    return {name: {"ok": True, "suitability": info.suitability().name,
                   "supported_nodes": f"{info.num_supported_nodes}/{info.num_nodes}",
                   "unsupported_ops": sorted(info.unsupported_ops)} for name, info in checks.items()}


# --- Core ML ---------------------------------------------------------------------------------------------------

def _coreml_facts(path: Path, size: int, gz: int) -> ModelFacts:
    from ..export._shims import coreml_model_proto

    spec = coreml_model_proto()()
    spec.ParseFromString(path.read_bytes())
    layers = list(getattr(getattr(spec, spec.WhichOneof("Type")), "layers", []))
    parameters = 0
    for layer in layers:
        for _, params in layer.ListFields():
            for _, w in getattr(params, "ListFields", list)():
                if type(w).__name__ == "WeightParams":
                    # one of these holds the values: floats, 8-bit quantized bytes, or fp16 bytes
                    parameters += max(len(w.floatValue), len(w.rawValue), len(w.int8RawValue),
                                      len(w.float16Value) // 2)
    ops = sorted({layer.WhichOneof("layer") for layer in layers})
    return ModelFacts(size, gz, parameters, None, ops, {},
                      ["latency not measured: Core ML runs only on Apple platforms; size and operators are exact"])
