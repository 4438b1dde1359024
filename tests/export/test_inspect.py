"""Each format's inspect on real files: the tiny bundle and the foreign models in shared/data/third_party_models."""

import gzip
import json
from pathlib import Path

import pytest

from edgeship.core.errors import InputError
from edgeship.core.files import package_files
from edgeship.export import formats

pytestmark = pytest.mark.unit  # TensorFlow-free: `make test-fast`


def model_facts(path: Path):
    return formats.for_path(path).facts(path)

FOREIGN = Path(__file__).resolve().parents[3] / "shared" / "data" / "third_party_models"


def test_bundle_files_sizes_parameters_and_macs_agree_across_formats(reference_bundle):
    manifest = json.loads((reference_bundle / "manifest.json").read_text())
    facts = {a["path"]: model_facts(reference_bundle / a["path"]) for a in manifest["artifacts"]}
    # the trainable files also hold the item vectors their user vector learns against: [item ids, its length]
    vectors = {a["path"]: manifest["model"]["feature_spec"]["item_buckets"]
               * (a["tflite"] or a["coreml"] or {}).get("user_vector", 0) for a in manifest["artifacts"]}
    for path, f in facts.items():
        where = reference_bundle / path
        files = [where / name for name in package_files(where)] if where.is_dir() else [where]  # a .mlpackage
        assert f.bytes == sum(len(p.read_bytes()) for p in files)
        assert f.gzip_bytes == sum(len(gzip.compress(p.read_bytes(), 9, mtime=0)) for p in files)
        # constants in each graph differ a little (scales, shape tensors), the weights do not; a trainable file
        # also holds its head's state (the study's record counts it)
        state = {r["file"]: r["state_bytes"] // 4 for r in manifest["personalization"]}.get(path, 0)
        assert f.parameters == pytest.approx(manifest["model"]["parameters"] + state + vectors[path], rel=0.02)
    # two independent counts over two different graphs of the same model
    assert facts["ranker_fp32.tflite"].macs == facts["ranker_fp32.onnx"].macs == facts["ranker_int8.tflite"].macs > 0
    assert facts["ranker_int8.tflite"].mobile["builtin_ops_only"]["ok"]
    # the trainable file: per request, the ranker plus its head over K candidates x (F features + the user
    # vector's length) (its train signature's subgraph, which repeats the ranker, is not what a request costs)
    k, f = manifest["model"]["candidates"], len(manifest["model"]["feature_spec"]["item_features"])
    user = vectors["ranker_personal.tflite"] // manifest["model"]["feature_spec"]["item_buckets"]
    assert user == 16 and facts["ranker_personal.tflite"].macs == facts["ranker_fp32.tflite"].macs + k * (f + user)
    assert facts["ranker_int8.onnx"].mobile["ort_format"]["ok"]
    assert "embeddingND" in facts["ranker_int8.mlmodel"].operators
    assert {"gather", "constexpr_affine_dequantize"} <= set(facts["ranker_int8.mlpackage"].operators)


def test_foreign_tflite_counts_by_hand():
    f = model_facts(FOREIGN / "tflite" / "hello_world_float.tflite")
    # dense 1->16->16->1: weights 16+256+16, biases 16+16+1
    assert (f.parameters, f.macs, f.operators) == (321, 288, ["FULLY_CONNECTED"])


def test_foreign_onnx_that_ort_cannot_run_is_reported():
    f = model_facts(FOREIGN / "onnx" / "test_Linear" / "model.onnx")
    assert not f.mobile["ort_format"]["ok"] and "Gemm(6)" in f.mobile["ort_format"]["error"]
    assert f.macs == 4 * 8 * 10  # Gemm [4,10] x [10,8]


def test_custom_op_fails_the_builtin_check(tmp_path):
    import flatbuffers
    from ai_edge_litert import schema_py_generated as fb

    t = fb.TensorT()
    t.name, t.type, t.shape, t.buffer = b"x", fb.TensorType.FLOAT32, [1, 4], 0
    op = fb.OperatorT()
    op.opcodeIndex, op.inputs, op.outputs = 0, [0], [0]
    code = fb.OperatorCodeT()
    code.builtinCode = code.deprecatedBuiltinCode = fb.BuiltinOperator.CUSTOM
    code.customCode = b"MyRankerOp"
    sg = fb.SubGraphT()
    sg.tensors, sg.inputs, sg.outputs, sg.operators = [t], [0], [0], [op]
    model = fb.ModelT()
    model.version, model.buffers, model.subgraphs, model.operatorCodes = 3, [fb.BufferT()], [sg], [code]
    b = flatbuffers.Builder(256)
    b.Finish(model.Pack(b), file_identifier=b"TFL3")
    path = tmp_path / "custom.tflite"
    path.write_bytes(bytes(b.Output()))
    f = model_facts(path)
    assert f.mobile["builtin_ops_only"] == {"ok": False, "non_builtin": ["CUSTOM:MyRankerOp"]}


def test_foreign_onnx_with_external_data_outside_its_folder_is_one_line(tmp_path):
    import numpy as np
    import onnx
    from onnx import helper, numpy_helper

    weights = numpy_helper.from_array(np.ones((4, 4), np.float32), "w")
    graph = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 4])],
                              [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1, 4])], [weights])
    model = helper.make_model(graph)
    onnx.external_data_helper.convert_model_to_external_data(model, location="../outside.bin", size_threshold=0)
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "model.onnx").write_bytes(model.SerializeToString())
    (tmp_path / "outside.bin").write_bytes(np.ones((4, 4), np.float32).tobytes())
    with pytest.raises(InputError) as e:
        model_facts(tmp_path / "m" / "model.onnx")
    assert "model.onnx: not a readable onnx model" in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize("name", ["m.tflite", "m.onnx", "m.mlmodel"])
def test_garbage_is_one_line_for_every_format(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"\x00garbage" * 8)
    fmt = formats.for_path(path)
    for read in (fmt.signature, fmt.facts):
        with pytest.raises(InputError, match=f"not a readable {fmt.name} model"):
            read(path)
