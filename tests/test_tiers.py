"""The TensorFlow-free tier stays TensorFlow-free: under EDGESHIP_NO_TENSORFLOW=1 an import of TensorFlow fails
the test that makes it, and modules that are not unit modules are not even collected."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit  # TensorFlow-free: `make test-fast`

HERE = Path(__file__).resolve().parent


def test_the_guard_refuses_tensorflow_and_its_wrappers_only(tensorflow_guard):
    guard, refused = tensorflow_guard
    for name in (*refused, "tensorflow.lite", "tf_keras.layers"):
        with pytest.raises(ImportError, match="imported in the TensorFlow-free tier"):
            guard.find_spec(name)
    assert all(guard.find_spec(name) is None for name in ("numpy", "onnxruntime", "ai_edge_litert", "coremltools"))


@pytest.mark.heavy  # a pytest process of its own
def test_a_planted_tensorflow_import_in_a_unit_module_fails_the_tier(tmp_path):
    shutil.copyfile(HERE / "conftest.py", tmp_path / "conftest.py")
    shutil.copytree(HERE / "data", tmp_path / "data", ignore=shutil.ignore_patterns("reference_bundle"))
    (tmp_path / "test_planted.py").write_text("import pytest\n\npytestmark = pytest.mark.unit\n\n\n"
                                              "def test_uses_tensorflow():\n    import tensorflow  # noqa: F401\n")
    (tmp_path / "test_not_unit.py").write_text("import tensorflow\n\n\ndef test_never_collected():\n    pass\n")
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "unit",
                           str(tmp_path)], capture_output=True, text=True, timeout=300, cwd=tmp_path,
                          env={**os.environ, "EDGESHIP_NO_TENSORFLOW": "1"})
    assert done.returncode == 1, done.stdout[-2000:]
    assert "1 failed" in done.stdout and "tensorflow imported in the TensorFlow-free tier" in done.stdout
    assert "test_not_unit" not in done.stdout  # ignored, not imported
