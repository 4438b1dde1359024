"""The registry and the parts every format has: the same call shape, and identity models for timed formats."""

import numpy as np
import pytest

from edgeship.core.tensors import TensorSpec, synthesize
from edgeship.export import formats

pytestmark = pytest.mark.unit  # TensorFlow-free: `make test-fast`

INPUTS = (TensorSpec("context", "int32", (1, 5), value_range=(0, 3)),
          TensorSpec("candidate_features", "float32", (1, 12, 20)))
TIMED = [f.name for f in formats.FORMATS.values() if f.timed]


@pytest.mark.heavy  # imports every converter
def test_registry_order_puts_every_format_after_what_it_needs():
    names = list(formats.FORMATS)
    assert names == ["tflite", "onnx", "coreml", "ort"] and TIMED == ["tflite", "onnx", "ort"]
    for f in formats.FORMATS.values():
        assert all(names.index(n) < names.index(f.name) for n in f.needs)
        for part in ("convert", "runtime", "inspect"):
            assert f.part(part).__name__ == f"edgeship.export.{f.name}.{part}"
        assert {"RUNTIME", "version", "load_library", "open_session"} <= set(dir(f.runtime))
        assert {"signature", "facts"} <= set(dir(f.inspect)) and "export" in dir(f.convert)
    assert formats.for_path("a/b.ONNX").name == "onnx" and formats.for_path("x.pt") is None


@pytest.mark.parametrize("name", TIMED)
def test_identity_model_has_the_inputs_and_returns_the_smallest(name, tmp_path):
    fmt = formats.get(name)
    path = fmt.identity.write(INPUTS, tmp_path / f"identity{fmt.suffix}")
    sig = fmt.inspect.signature(path)
    assert [(t.name, t.dtype, t.shape) for t in sig.inputs] == [(t.name, t.dtype, t.shape) for t in INPUTS]
    feeds = synthesize(INPUTS, seed=4)
    assert feeds["context"].max() < 3 and feeds["context"].dtype == np.int32
    out = fmt.runtime.open_session(path).invoke(feeds)
    np.testing.assert_array_equal(out[0], feeds["context"])
