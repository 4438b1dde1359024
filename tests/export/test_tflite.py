import numpy as np

from edgeship.export import tflite
from edgeship.models.features import INPUT_NAMES, SCORES


def test_fp32_and_int8_run_in_litert_and_match_keras(tiny_job, tiny_data, tmp_path):
    artifacts = tflite.export(tiny_job, tmp_path)
    names = [a.name for a in artifacts]
    assert names == ["ranker_fp32.tflite", "ranker_int8_ptq.tflite"]  # no QAT model in this job
    fp32, int8 = (tflite.load(a.path) for a in artifacts)
    for request in map(tiny_data.test.one, range(5)):
        want = tiny_job.model.predict(request, verbose=0)
        np.testing.assert_allclose(fp32(request), want, atol=1e-5)
        np.testing.assert_allclose(int8(request), want, atol=0.3)
    assert artifacts[1].path.stat().st_size < 0.6 * artifacts[0].path.stat().st_size


def test_builtin_ops_signature_and_float_contract(tiny_job, tmp_path):
    fp32, int8 = tflite.export(tiny_job, tmp_path)
    ops = set(int8.extra["operators"])
    assert not any(op.startswith("Flex") or op == "CUSTOM" for op in ops)
    assert {"GATHER", "FULLY_CONNECTED", "QUANTIZE", "DEQUANTIZE"} <= ops
    inputs, outputs = tflite.describe(int8.path)
    assert [t.name for t in inputs] == list(INPUT_NAMES)
    assert [t.name for t in outputs] == [SCORES]
    assert {t.name: t.dtype for t in inputs} == tiny_job.spec.input_dtypes()
    assert outputs[0].shape == (1, tiny_job.candidates)


def test_same_model_same_bytes(tiny_job, tmp_path):
    a = tflite.convert(tiny_job.model, tiny_job.spec, tiny_job.candidates)
    b = tflite.convert(tiny_job.model, tiny_job.spec, tiny_job.candidates)
    assert a == b
