import numpy as np
import pytest

from edgeship.benchmarks import identity, runtimes
from edgeship.benchmarks.signature import TensorSpec, read_signature, synthesize

INPUTS = (TensorSpec("context", "int32", (1, 5), high=3), TensorSpec("candidate_features", "float32", (1, 12, 20)))


@pytest.mark.parametrize("runtime", ["litert", "onnxruntime"])
def test_identity_model_has_the_inputs_and_returns_the_smallest(runtime, tmp_path):
    path = identity.write(runtime, INPUTS, tmp_path, "identity")
    sig = read_signature(path)
    assert [(t.name, t.dtype, t.shape) for t in sig.inputs] == [(t.name, t.dtype, t.shape) for t in INPUTS]
    feeds = synthesize(INPUTS, seed=4)
    assert feeds["context"].max() < 3 and feeds["context"].dtype == np.int32
    out = runtimes.OPENERS[runtime](path, 1)(feeds)
    np.testing.assert_array_equal(out[0], feeds["context"])
