"""File facts on real files: the tiny bundle and the foreign models in shared/data/third_party_models."""

import gzip
import json
from pathlib import Path

import pytest

from edgeship.benchmarks.facts import model_facts

FOREIGN = Path(__file__).resolve().parents[3] / "shared" / "data" / "third_party_models"


def test_bundle_files_sizes_parameters_and_macs_agree_across_formats(tiny_bundle):
    manifest = json.loads((tiny_bundle / "manifest.json").read_text())
    facts = {a["path"]: model_facts(tiny_bundle / a["path"]) for a in manifest["artifacts"]}
    for path, f in facts.items():
        data = (tiny_bundle / path).read_bytes()
        assert f.bytes == len(data) and f.gzip_bytes == len(gzip.compress(data, 9, mtime=0))
        # constants in each graph differ a little (scales, shape tensors), the weights do not
        assert f.parameters == pytest.approx(manifest["model"]["parameters"], rel=0.02)
    # two independent counts over two different graphs of the same model
    assert facts["ranker_fp32.tflite"].macs == facts["ranker_fp32.onnx"].macs == facts["ranker_int8.tflite"].macs > 0
    assert facts["ranker_int8.tflite"].mobile["builtin_ops_only"]["ok"]
    assert facts["ranker_int8.onnx"].mobile["ort_format"]["ok"]
    assert "embeddingND" in facts["ranker_int8.mlmodel"].operators


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
