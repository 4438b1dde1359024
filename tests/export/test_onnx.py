import dataclasses

import numpy as np
import onnx

from edgeship.export import onnx as onnx_export
from edgeship.export import tflite
from edgeship.models.features import INPUT_NAMES, SCORES


def test_fp32_and_int8_from_tflite(tiny_job, tiny_data, tmp_path):
    int8_tflite = [a for a in tflite.export(tiny_job, tmp_path) if a.precision == "int8"][0]
    job = dataclasses.replace(tiny_job, int8_source=int8_tflite.path)
    fp32, int8 = onnx_export.export(job, tmp_path)
    for artifact in (fp32, int8):
        model = onnx.load(str(artifact.path))
        onnx.checker.check_model(model, full_check=True)
        assert sorted(i.name for i in model.graph.input) == sorted(INPUT_NAMES)
        assert [o.name for o in model.graph.output] == [SCORES]
    assert any(n.op_type == "QuantizeLinear" for n in onnx.load(str(int8.path)).graph.node)
    run_fp32, run_int8, run_tflite = onnx_export.load(fp32.path), onnx_export.load(int8.path), tflite.load(
        int8_tflite.path)
    for request in map(tiny_data.test.one, range(5)):
        np.testing.assert_allclose(run_fp32(request), tiny_job.model.predict(request, verbose=0), atol=1e-5)
        # the QDQ graph carries the .tflite's scales: within a few output quanta of TFLite itself
        np.testing.assert_allclose(run_int8(request), run_tflite(request), atol=0.15)


def test_same_model_same_bytes(tiny_job, tmp_path):
    # tf2onnx numbers constants from a process-wide counter: without canonical names a second export differs
    # and tf2onnx's node order varies between runs; both are canonicalized before saving
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = onnx_export.export(tiny_job, tmp_path / "a")[0]
    second = onnx_export.export(tiny_job, tmp_path / "b")[0]
    assert first.path.read_bytes() == second.path.read_bytes()
