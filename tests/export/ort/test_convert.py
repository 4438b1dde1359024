"""The ORT-format file: made by ONNX Runtime's converter from the shipped int8 .onnx, run by ONNX Runtime, and
its operator list checked like the files it describes."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from edgeship.core.errors import BundleError
from edgeship.export.onnx import inspect as onnx_inspect
from edgeship.export.ort import inspect as ort_inspect
from edgeship.export.ort.runtime import open_session
from edgeship.export.reader import check_bundle


def test_ort_file_is_the_int8_onnx_in_ort_format(reference_bundle):
    manifest = json.loads((reference_bundle / "manifest.json").read_text())
    entry = next(a for a in manifest["artifacts"] if a["path"] == "ranker_int8.ort")
    assert entry["format"] == "ort" and entry["ort"]["derived_from"] == "ranker_int8.onnx"
    assert entry["verification"]["passed"] and entry["ort"]["target_platform"] == "arm"
    ort_sig, onnx_sig = (ort_inspect.signature(reference_bundle / "ranker_int8.ort"),
                         onnx_inspect.signature(reference_bundle / "ranker_int8.onnx"))
    assert sorted((t.name, t.dtype, t.shape) for t in ort_sig.inputs) == sorted(
        (t.name, t.dtype, t.shape) for t in onnx_sig.inputs)
    vectors = json.loads((reference_bundle / "testvectors.json").read_text())
    ort, onnx = open_session(reference_bundle / "ranker_int8.ort"), open_session(reference_bundle / "ranker_int8.onnx")
    for case in vectors["cases"]:
        feeds = {k: np.asarray(v, dtype=np.float32 if k == "candidate_features" else np.int32)
                 for k, v in case["inputs"].items()}
        a, b = ort.run(feeds)["scores"], onnx.run(feeds)["scores"]
        assert a.shape == b.shape and np.abs(a - b).max() <= 0.1  # ARM fusions may round an int8 step apart
    ops = (reference_bundle / "required_operators.config").read_text().splitlines()
    assert ops[0].startswith("# Operators of ranker_int8.ort") and any(line.startswith("ai.onnx;") for line in ops)
    assert "tmp" not in "".join(ops)  # no temporary paths: the same model gives the same bytes
    assert "QuantizeLinear" in ort_inspect.facts(reference_bundle / "ranker_int8.ort").operators  # read from the file


def test_a_changed_operator_list_fails_verification(reference_bundle, tmp_path):
    copy = tmp_path / "bundle"
    shutil.copytree(reference_bundle, copy)
    with open(copy / "required_operators.config", "a") as f:
        f.write("ai.onnx;13;Conv\n")
    with pytest.raises(BundleError, match="required_operators.config: missing or not the file the manifest"):
        check_bundle(copy)


def test_the_same_onnx_gives_the_same_ort_bytes_in_any_process(reference_bundle, tmp_path):
    """ONNX Runtime's converter, run as a user runs it in three fresh processes, orders its kernel type table by
    addresses in the process (most runs differ in ~1,000 bytes); edgeship's file is the same from each, and the
    one committed from another clone."""
    import subprocess
    import sys

    from edgeship.export.ort.canonical import canonical, kernel_table as table
    from edgeship.export.ort.convert import convert_file

    source = reference_bundle / "ranker_int8.onnx"
    made = set()
    for i in range(3):
        out = tmp_path / f"run{i}"
        subprocess.run([sys.executable, "-m", "onnxruntime.tools.convert_onnx_models_to_ort", str(source),
                        "--output_dir", str(out), "--optimization_style", "Fixed", "--target_platform", "arm"],
                       check=True, capture_output=True)
        raw = (out / "ranker_int8.ort").read_bytes()
        made.add(canonical(raw))
        assert table(canonical(raw)) == table(raw) and len(table(raw)) >= 5  # the same entries
    committed = (reference_bundle / "ranker_int8.ort").read_bytes()
    assert made == {committed}
    convert_file(source, tmp_path / "a.ort")
    assert (tmp_path / "a.ort").read_bytes() == committed
    assert canonical(committed) == committed  # already in order
