import numpy as np

from edgeship.export.formats import FORMATS
from edgeship.export.parity import scorer
from edgeship.export.tflite import convert, inspect
from edgeship.export.types import Derived
from edgeship.models.features import INPUT_DTYPES, INPUT_NAMES, SCORES

TFLITE = FORMATS["tflite"]


def test_fp32_and_int8_run_in_litert_and_match_keras(tiny_job, tiny_data, tmp_path):
    artifacts = convert.export(tiny_job, tmp_path, Derived())
    # the job names no recipes: today's single full-integer candidate (no QAT model here)
    assert [a.name for a in artifacts] == ["ranker_fp32.tflite", "ranker_int8_full_int8.tflite"]
    assert [(a.quantization_method, a.slot) for a in artifacts] == [(None, "ranker_fp32.tflite"),
                                                                    ("full_int8", "ranker_int8.tflite")]
    fp32, int8 = (scorer("tflite", a.path) for a in artifacts)
    for request in map(tiny_data.test.one, range(5)):
        want = tiny_job.model.predict(request, verbose=0)
        np.testing.assert_allclose(fp32(request), want, atol=1e-5)
        np.testing.assert_allclose(int8(request), want, atol=0.3)
    assert artifacts[1].path.stat().st_size < 0.6 * artifacts[0].path.stat().st_size


def test_builtin_ops_signature_and_float_contract(tiny_job, tmp_path):
    fp32, int8 = convert.export(tiny_job, tmp_path, Derived())
    ops = set(int8.details.operators)
    assert not any(op.startswith("Flex") or op == "CUSTOM" for op in ops)
    assert {"GATHER", "FULLY_CONNECTED", "QUANTIZE", "DEQUANTIZE"} <= ops
    sig = inspect.signature(int8.path)
    assert sorted(t.name for t in sig.inputs) == sorted(INPUT_NAMES)
    assert [t.name for t in sig.outputs] == [SCORES]
    assert {t.name: t.dtype for t in sig.inputs} == INPUT_DTYPES
    assert sig.outputs[0].shape == (1, tiny_job.candidates) and sig.candidates() == tiny_job.candidates


def test_same_model_same_bytes(tiny_job):
    assert convert.convert(tiny_job.model, tiny_job) == convert.convert(tiny_job.model, tiny_job)


def test_each_recipe_makes_its_file(tiny_job, tiny_data, tmp_path):
    """Mixed recipes keep what they name in float: int8_dense quantizes only the dense layers and the embedding
    tables (and the quantize / dequantize ops at their edges), dynamic range has no QUANTIZE at the input, and
    a recipe that cannot convert is recorded, not raised."""
    import dataclasses

    from edgeship.export.recipes import Recipe, builtin

    broken = Recipe("broken", "tflite", "mixed", float_layers=("(",))  # passes no check: made here on purpose
    job = dataclasses.replace(tiny_job, recipes=builtin(("int8_dense", "dynamic_range", "float16")) + (broken,))
    fp32, dense, dynamic, half, failed = convert.export(job, tmp_path, Derived())
    assert [a.quantization_method for a in (dense, dynamic, half, failed)] == [
        "int8_dense", "dynamic_range", "float16", "broken"]
    assert "unterminated subpattern" in failed.failed and not failed.path.exists()
    # (slices and reshapes of an int8 tensor stay int8: they move values, they compute nothing)
    assert {d["op"] for d in _int8_ops(dense.path)} <= {"FULLY_CONNECTED", "GATHER", "QUANTIZE", "DEQUANTIZE",
                                                       "STRIDED_SLICE", "RESHAPE"}
    assert "FULLY_CONNECTED" in {d["op"] for d in _int8_ops(dense.path)}
    assert half.path.stat().st_size < 0.7 * fp32.path.stat().st_size
    run = scorer("tflite", dense.path)
    for request in map(tiny_data.test.one, range(3)):
        np.testing.assert_allclose(run(request), tiny_job.model.predict(request, verbose=0), atol=0.3)


def _int8_ops(path):
    """Ops with an int8 output tensor."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    it = Interpreter(model_path=str(path),
                     experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    it.allocate_tensors()
    dtypes = {t["index"]: t["dtype"] for t in it.get_tensor_details()}
    return [{"op": o["op_name"]} for o in it._get_ops_details() if any(dtypes[i] == np.int8 for i in o["outputs"])]
