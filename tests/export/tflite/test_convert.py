import numpy as np

from edgeship.export.formats import FORMATS
from edgeship.export.parity import scorer
from edgeship.export.tflite import convert, inspect
from edgeship.export.types import Derived
from edgeship.models.features import INPUT_DTYPES, INPUT_NAMES, SCORES

TFLITE = FORMATS["tflite"]


def test_fp32_and_int8_run_in_litert_and_match_keras(tiny_job, tiny_data, tmp_path):
    artifacts = convert.export(tiny_job, tmp_path, Derived())
    assert [a.name for a in artifacts] == ["ranker_fp32.tflite", "ranker_int8_ptq.tflite"]  # no QAT model here
    assert [(a.quantization_method, a.slot) for a in artifacts] == [(None, "ranker_fp32.tflite"),
                                                                    ("ptq", "ranker_int8.tflite")]
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
