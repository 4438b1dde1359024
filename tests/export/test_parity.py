"""The parity check must catch a damaged artifact, and pass the faithful ones."""

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from edgeship.export.onnx import convert as onnx_convert
from edgeship.export.parity import Floors, ParityCheck, check_parity, scorer
from edgeship.export.tflite import convert as tflite_convert
from edgeship.export.types import Derived
from edgeship.models.ranker import predict


@pytest.fixture(scope="module")
def held_out(tiny_data):
    return tiny_data.test


@pytest.fixture(scope="module")
def reference(tiny_job, held_out):
    return predict(tiny_job.model, held_out.inputs(), batch_size=1)


def test_faithful_artifacts_pass_and_their_outputs_are_recorded_once(tiny_job, held_out, reference, tmp_path):
    probe = {name: value.copy() for name, value in held_out.one(5).items()}
    probe["history"][:] = 0  # an input the requests do not hold
    for artifact in (tflite_convert.export(tiny_job, tmp_path, Derived())
                     + onnx_convert.export(tiny_job, tmp_path, Derived())):
        result, outputs = check_parity(artifact, ParityCheck(held_out, reference, Floors(), (held_out.one(2), probe)))
        assert result.passed, (artifact.name, result.reasons)
        # what the bundle's vectors are written from: the file's own outputs, as a fresh session computes them
        fresh = scorer(artifact.format, artifact.path)
        assert outputs.requests.shape == reference.shape and outputs.requests.dtype == np.float64
        np.testing.assert_array_equal(outputs.requests[7], np.asarray(fresh(held_out.one(7))).reshape(-1))
        np.testing.assert_array_equal(outputs.probes[0].reshape(-1), outputs.requests[2])
        np.testing.assert_array_equal(outputs.probes[1], np.asarray(fresh(probe)))
        assert not np.array_equal(outputs.probes[1].reshape(-1), outputs.requests[5])
        assert result.requests == len(held_out)
        if artifact.precision == "fp32":
            assert result.max_abs_diff < 1e-5 and result.ndcg_ratio == pytest.approx(1.0, abs=1e-4)
            assert result.top10_overlap == pytest.approx(1.0)


def test_perturbed_weights_fail(tiny_job, held_out, reference, tmp_path):
    fp32 = onnx_convert.export(tiny_job, tmp_path, Derived())[0]
    model = onnx.load(str(fp32.path))
    # scale the largest initializer (the item table) and save: a damaged download
    biggest = max(model.graph.initializer, key=lambda t: numpy_helper.to_array(t).size)
    damaged = numpy_helper.to_array(biggest) * -3.0
    biggest.CopyFrom(numpy_helper.from_array(damaged, biggest.name))
    onnx.save(model, str(fp32.path))
    result, _ = check_parity(fp32, ParityCheck(held_out, reference, Floors()))
    assert not result.passed
    assert any("max |score diff|" in r for r in result.reasons)


def test_dropped_layer_fails(tiny_job, tiny_data, tiny_config, held_out, reference, tmp_path):
    """A model whose last hidden layer was zeroed (as if dropped) converts fine but must not verify."""
    import dataclasses

    from edgeship.models.ranker import with_fixed_shape

    broken = with_fixed_shape(tiny_job.model, tiny_data.spec, tiny_config.model, tiny_config.export.candidates)
    layer = broken.get_layer("hidden_1")
    layer.set_weights([w * 0 for w in layer.get_weights()])
    job = dataclasses.replace(tiny_job, model=broken)
    artifact = tflite_convert.export(job, tmp_path, Derived())[1]  # the int8 file, judged by the ranking floor
    result, _ = check_parity(artifact, ParityCheck(held_out, reference, Floors()))
    assert not result.passed
    assert any("top-10 overlap" in r for r in result.reasons)
