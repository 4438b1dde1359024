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


def test_the_same_onnx_gives_the_same_ort_bytes_whoever_converts_it(reference_bundle, tmp_path, monkeypatch):
    """Address randomization once reordered the converter's kernel-type table (absl hash seed): it runs in its own
    process without it, with a fixed argv and environment, so the caller's variables and folders do not matter."""
    from edgeship.export.ort.convert import convert_file

    source = reference_bundle / "ranker_int8.onnx"
    convert_file(source, tmp_path / "a.ort")
    monkeypatch.setenv("EDGESHIP_SOME_VARIABLE", "x" * 37)  # a different environment in the caller
    monkeypatch.chdir(tmp_path)
    convert_file(source, tmp_path / "b.ort")
    assert (tmp_path / "a.ort").read_bytes() == (tmp_path / "b.ort").read_bytes()
    assert (tmp_path / "a.ort").stat().st_size == (reference_bundle / "ranker_int8.ort").stat().st_size
