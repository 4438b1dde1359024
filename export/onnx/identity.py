"""An .onnx with a given model's inputs and no computation: the runtime's per-invoke overhead floor."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...core.tensors import TensorSpec
from ..types import identity_output
from . import OPSET


def write(inputs: tuple[TensorSpec, ...], path: Path) -> Path:
    import onnx
    from onnx import helper

    def value(name: str, t: TensorSpec):
        return helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(np.dtype(t.dtype)), list(t.shape))

    src = inputs[identity_output(inputs)]
    graph = helper.make_graph([helper.make_node("Identity", [src.name], ["identity"])], "identity",
                              [value(t.name, t) for t in inputs], [value("identity", src)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="edgeship")
    model.ir_version = 8
    onnx.checker.check_model(model)
    path.write_bytes(model.SerializeToString())
    return path
