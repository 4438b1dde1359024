"""export/onnx/simplify.py: each rewrite removes the nodes it says and the graph computes the same values in ONNX
Runtime; a graph the rewrite does not fit is left alone."""

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from edgeship.export.onnx.simplify import simplify

pytestmark = pytest.mark.unit  # TensorFlow-free: `make test-fast`

RNG = np.random.default_rng(0)


def _const(name, value):
    return numpy_helper.from_array(np.asarray(value), name)


def _model(nodes, inputs, output, inits):
    graph = helper.make_graph(nodes, "g", inputs, [output], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    return model


def _run(model, feeds):
    import onnxruntime as ort

    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, feeds)[0]


def _ops(model):
    return [n.op_type for n in model.graph.node]


def _simplified(model, feeds):
    before = _run(model, feeds)
    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    removed = simplify(copy)
    onnx.checker.check_model(copy, full_check=True)
    return copy, removed, before, _run(copy, feeds)


def test_one_row_cut_then_reshaped_is_a_gather():
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 20, 16])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 16])
    nodes = [helper.make_node("Slice", ["x", "s", "e", "a"], ["row"]),
             helper.make_node("Reshape", ["row", "shape"], ["y"])]
    inits = [_const("s", np.array([0, 3, 0], np.int64)), _const("e", np.array([2**31 - 1, 4, 2**31 - 1], np.int64)),
             _const("a", np.array([0, 1, 2], np.int64)), _const("shape", np.array([1, 16], np.int64))]
    model = _model(nodes, [x], y, inits)
    feeds = {"x": RNG.normal(size=(1, 20, 16)).astype(np.float32)}
    simple, removed, before, after = _simplified(model, feeds)
    assert removed == 1 and _ops(simple) == ["Gather"]
    np.testing.assert_array_equal(after, before)
    np.testing.assert_array_equal(after, feeds["x"][:, 3])


def _looked_up_once(after: list, out_shape: list, consts: list):
    """History ids [1, 4] and candidate ids [1, 6] concatenated, one lookup in a [30, 8] table, then `after`."""
    inputs = [helper.make_tensor_value_info(n, TensorProto.INT32, [1, k]) for n, k in (("h", 4), ("c", 6))]
    nodes = [helper.make_node("Concat", ["h", "c"], ["ids"], axis=1),
             helper.make_node("Gather", ["table", "ids"], ["emb"]), *after]
    inits = [_const("table", RNG.normal(size=(30, 8)).astype(np.float32)), *consts]
    feeds = {"h": RNG.integers(0, 30, (1, 4)).astype(np.int32), "c": RNG.integers(0, 30, (1, 6)).astype(np.int32)}
    return _model(nodes, inputs, helper.make_tensor_value_info("out", TensorProto.FLOAT, out_shape), inits), feeds


def _ints(name, values):
    return _const(name, np.array(values, np.int64))


def test_a_table_looked_up_once_and_cut_apart_is_two_lookups():
    model, feeds = _looked_up_once(
        [helper.make_node("Slice", ["emb", "s0", "e0", "a"], ["hist"]),
         helper.make_node("Slice", ["emb", "s1", "e1", "a"], ["cand"]),
         helper.make_node("ReduceSum", ["hist", "a"], ["pooled"], keepdims=1),
         helper.make_node("Mul", ["cand", "pooled"], ["out"])], [1, 6, 8],
        [_ints("s0", [0]), _ints("e0", [4]), _ints("s1", [4]), _ints("e1", [2**31 - 1]), _ints("a", [1])])
    simple, removed, before, after = _simplified(model, feeds)
    assert removed == 2 and sorted(_ops(simple)) == ["Gather", "Gather", "Mul", "ReduceSum"]
    np.testing.assert_array_equal(after, before)


def test_a_cut_across_the_parts_is_left_alone():
    model, feeds = _looked_up_once([helper.make_node("Slice", ["emb", "s", "e", "a"], ["out"])], [1, 5, 8],
                                   [_ints("s", [2]), _ints("e", [7]), _ints("a", [1])])
    simple, removed, _, _ = _simplified(model, feeds)
    assert removed == 0 and _ops(simple) == ["Concat", "Gather", "Slice"]


def test_a_one_column_output_reshaped_to_a_row_is_one_gemm():
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [100, 32])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 100])
    nodes = [helper.make_node("Gemm", ["x", "w", "b"], ["col"]), helper.make_node("Reshape", ["col", "shape"], ["y"])]
    inits = [_const("w", RNG.normal(size=(32, 1)).astype(np.float32)), _const("b", np.array([0.25], np.float32)),
             _const("shape", np.array([1, 100], np.int64))]
    model = _model(nodes, [x], y, inits)
    feeds = {"x": RNG.normal(size=(100, 32)).astype(np.float32)}
    simple, removed, before, after = _simplified(model, feeds)
    assert removed == 1 and _ops(simple) == ["Gemm"]
    # the same 32 products per score, summed in the order the kernel picks
    np.testing.assert_allclose(after, before, rtol=0, atol=1e-5)
    assert after.shape == (1, 100)
