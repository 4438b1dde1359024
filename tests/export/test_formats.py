"""The registry and the parts every format has: the same call shape, and identity models for timed formats."""

import ast
from pathlib import Path

import numpy as np
import pytest

from edgeship.core.tensors import TensorSpec, synthesize
from edgeship.export import formats
from edgeship.export.format import Format

pytestmark = pytest.mark.unit  # TensorFlow-free: `make test-fast`

INPUTS = (TensorSpec("context", "int32", (1, 5), value_range=(0, 3)),
          TensorSpec("candidate_features", "float32", (1, 12, 20)))
TIMED = [f.name for f in formats.FORMATS.values() if f.timed]


ROOT = Path(__file__).resolve().parents[2]
SHARED = ["export/*.py", "ondevice/*.py", "benchmarks/*.py", "edgeship/*.py"]  # everything but the format folders


@pytest.mark.heavy  # imports every converter
def test_every_format_implements_the_interface_in_its_own_folder():
    names = list(formats.FORMATS)
    assert names == ["tflite", "onnx", "coreml", "mlprogram", "ort"] and TIMED == ["tflite", "onnx", "ort"]
    for f in formats.FORMATS.values():
        assert isinstance(f, Format) and all(names.index(n) < names.index(f.name) for n in f.needs)
        parts = {"convert": {"export"}, "runtime": {"RUNTIME", "version", "load_library", "open_session"},
                 "inspect": {"signature", "facts"}, "readme": {"files"}}
        if f.timed:
            parts["identity"] = {"write"}
        if f.personal:
            parts["personal"] = {"export", "NAME"}
            parts["runtime"] |= {"Trainer"}
            parts["inspect"] |= {"trainable_problems"}
            parts["readme"] |= {"personal"}
        for part, names_in_it in parts.items():
            module = f._part(part)
            assert module.__name__ == f"edgeship.export.{f.name}.{part}" and names_in_it <= set(dir(module))
    assert formats.for_path("a/b.ONNX").name == "onnx" and formats.for_path("x.pt") is None


def _branches_on_a_format(text: str, where: str) -> list[str]:
    """`x == "tflite"`-like comparisons with a format's name: shared code asks the format instead."""
    found = []
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Compare):
            for side in (node.left, *node.comparators):
                if isinstance(side, ast.Constant) and side.value in formats.FORMATS:
                    found.append(f"{where}:{node.lineno}: compares with {side.value!r}")
    return found


def test_shared_code_never_branches_on_a_format():
    found = [f for pattern in SHARED for path in sorted(ROOT.glob(pattern))
             for f in _branches_on_a_format(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))]
    assert found == []
    planted = 'def atol(a):\n    return 1e-3 if a.format == "coreml" else 1e-5\n'  # what bundle.py once did
    assert _branches_on_a_format(planted, "bundle.py") == ["bundle.py:2: compares with 'coreml'"]


@pytest.mark.parametrize("name", TIMED)
def test_identity_model_has_the_inputs_and_returns_the_smallest(name, tmp_path):
    fmt = formats.get(name)
    path = fmt.write_identity(INPUTS, tmp_path / f"identity{fmt.suffix}")
    sig = fmt.signature(path)
    assert [(t.name, t.dtype, t.shape) for t in sig.inputs] == [(t.name, t.dtype, t.shape) for t in INPUTS]
    feeds = synthesize(INPUTS, seed=4)
    assert feeds["context"].max() < 3 and feeds["context"].dtype == np.int32
    out = fmt.open_session(path).invoke(feeds)
    np.testing.assert_array_equal(out[0], feeds["context"])
