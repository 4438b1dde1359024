"""What a .tflite file takes and gives, and its facts (bytes, parameters, MACs, operators, mobile checks), read
from the file itself: they hold for foreign files too."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...core.errors import EdgeshipError, InputError, reading_model
from ...core.files import gzip_size
from ...core.tensors import Quantization, Signature, TensorSpec, resolve_shape
from ..types import ModelFacts
from . import SCORING_SIGNATURES, runtime


def signature(path: Path, error: type[EdgeshipError] = InputError) -> Signature:
    """Inputs and outputs of the scoring signature in the order the file declares them, with its names."""
    inputs, outputs = runtime.tensor_details(runtime.interpreter(path, error=error))

    def spec(d) -> TensorSpec:
        sig = d.get("shape_signature")
        shape, dynamic = resolve_shape(sig if sig is not None and len(sig) else d["shape"])
        q = d["quantization_parameters"]
        quant = Quantization(float(q["scales"][0]), int(q["zero_points"][0])) if len(q["scales"]) else None
        return TensorSpec(d["name"], np.dtype(d["dtype"]).name, shape, dynamic, quant)

    return Signature(tuple(map(spec, inputs)), tuple(map(spec, outputs)))


def _model(path: Path):
    from ai_edge_litert import schema_py_generated as fb

    with reading_model(path, "tflite"):
        return fb, fb.ModelT.InitFromObj(fb.Model.GetRootAsModel(Path(path).read_bytes(), 0))


def nodes(data: bytes) -> list[tuple[str, str]]:
    """(op type, name of its first output tensor) of each op of the first subgraph, in execution order: how
    the converter's quantization debugger names a node."""
    from ai_edge_litert import schema_py_generated as fb

    model = fb.ModelT.InitFromObj(fb.Model.GetRootAsModel(data, 0))
    names = {v: k for k, v in vars(fb.BuiltinOperator).items() if not k.startswith("_")}
    codes = [names.get(max(oc.builtinCode, oc.deprecatedBuiltinCode), "CUSTOM") for oc in model.operatorCodes]
    sg = model.subgraphs[0]
    return [(codes[op.opcodeIndex], sg.tensors[op.outputs[0]].name.decode()) for op in sg.operators]


def operators(path: Path) -> list[str]:
    return facts(path).operators


def facts(path: Path) -> ModelFacts:
    fb, model = _model(path)
    names = {v: k for k, v in vars(fb.BuiltinOperator).items() if not k.startswith("_")}
    codes = []
    for oc in model.operatorCodes or []:
        code = max(oc.builtinCode, oc.deprecatedBuiltinCode)  # the schema moved codes >127 to a new field
        custom = oc.customCode.decode() if oc.customCode else None
        codes.append(f"CUSTOM:{custom}" if code == fb.BuiltinOperator.CUSTOM else names.get(code, f"OP_{code}"))

    # MACs per request: in a file with several signatures (a trainable file), only the scoring one's subgraph
    keys = {(s.signatureKey or b"").decode(): s.subgraphIndex for s in model.signatureDefs or []}
    scoring = next((keys[k] for k in SCORING_SIGNATURES if k in keys), None) if len(keys) > 1 else None
    parameters, macs, used, counted = 0, 0, set(), set()
    for index, sg in enumerate(model.subgraphs or []):
        tensors = sg.tensors
        for t in tensors:
            buf = model.buffers[t.buffer] if t.buffer < len(model.buffers) else None
            # one buffer can back tensors in several subgraphs (a trainable file's signatures): count it once
            if (buf is not None and buf.data is not None and len(buf.data) and t.shape is not None
                    and t.buffer not in counted):
                counted.add(t.buffer)
                parameters += int(np.prod(t.shape))
        for op in sg.operators or []:
            name = codes[op.opcodeIndex]
            used.add(name)
            if scoring is None or index == scoring:
                macs += _macs(name, [tensors[i] for i in op.inputs if i >= 0], [tensors[i] for i in op.outputs])
    ops = sorted(used)
    custom = [o for o in ops if o.startswith("CUSTOM:") or o == "DELEGATE" or o.startswith("FLEX")]
    mobile = {"builtin_ops_only": {"ok": not custom, "non_builtin": custom}}
    return ModelFacts(Path(path).stat().st_size, gzip_size(path), parameters, macs, ops, mobile)


def _macs(op: str, inputs, outputs) -> int:
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


def trainable_problems(path: Path) -> list[str]:
    """A trainable file must run in the LiteRT every app has: builtin ops only (no Flex delegate)."""
    check = facts(path).mobile["builtin_ops_only"]
    return [] if check["ok"] else [f"needs non-builtin ops: {', '.join(check['non_builtin'])}"]
