import platform

import numpy as np
import pytest

from edgeship.core.errors import EdgeshipError
from edgeship.export.coreml import convert, inspect
from edgeship.export.coreml.numpy_executor import Executor
from edgeship.export.coreml.runtime import read_spec
from edgeship.export.shims import import_coremltools
from edgeship.export.types import Derived
from edgeship.models.features import INPUT_NAMES, SCORES


@pytest.fixture(scope="module")
def mlmodels(tiny_job, tmp_path_factory):
    return convert.export(tiny_job, tmp_path_factory.mktemp("coreml"), Derived())


def load(path):
    return Executor(read_spec(path))


def test_saved_spec_executed_independently_matches_keras(mlmodels, tiny_job, tiny_data):
    fp32, int8 = mlmodels
    run_fp32, run_int8 = load(fp32.path), load(int8.path)
    for request in map(tiny_data.test.one, range(5)):
        want = tiny_job.model.predict(request, verbose=0)
        np.testing.assert_allclose(run_fp32(request)[SCORES], want, atol=1e-5)
        np.testing.assert_allclose(run_int8(request)[SCORES], want, atol=0.05)


def test_contract_names_and_8bit_weights(mlmodels):
    ct = import_coremltools()
    fp32, int8 = mlmodels
    sig = inspect.signature(int8.path)
    assert [t.name for t in sig.inputs] == list(INPUT_NAMES) and [t.name for t in sig.outputs] == [SCORES]
    assert {t.name: t.dtype for t in sig.inputs}["candidate_features"] == "float32"
    assert int8.details.minimum_deployment == {"iOS": "13", "macOS": "10.15"}
    spec = ct.utils.load_spec(str(int8.path))
    quantized = [l.name for l in spec.neuralNetwork.layers if l.WhichOneof("layer") == "embeddingND"
                 and l.embeddingND.weights.quantization.numberOfBits == 8]
    assert quantized, "embedding tables should carry 8-bit weights"
    # the context offsets must stay exact (8-bit rounding would move lookups into another field)
    consts = [l for l in spec.neuralNetwork.layers if l.WhichOneof("layer") == "loadConstantND"]
    assert all(len(l.loadConstantND.data.floatValue) for l in consts)
    assert int8.path.stat().st_size < 0.5 * fp32.path.stat().st_size
    assert "conversion_date" not in str(spec.description.metadata.userDefined)


def test_executor_refuses_layers_it_does_not_know(mlmodels):
    ct = import_coremltools()
    spec = ct.utils.load_spec(str(mlmodels[0].path))
    layer = spec.neuralNetwork.layers.add()
    layer.name = "mystery"
    layer.l2normalize.epsilon = 1e-6
    with pytest.raises(EdgeshipError, match="l2normalize"):
        Executor(spec)


@pytest.mark.skipif(platform.system() != "Darwin", reason="Core ML prediction exists only on macOS")
def test_real_coreml_prediction_matches_numpy_executor(mlmodels, tiny_data):
    ct = import_coremltools()
    for artifact in mlmodels:
        model = ct.models.MLModel(str(artifact.path), compute_units=ct.ComputeUnit.CPU_ONLY)
        executor = load(artifact.path)
        for request in map(tiny_data.test.one, range(5)):
            np.testing.assert_allclose(model.predict(request)[SCORES], executor(request)[SCORES], atol=1e-4)
