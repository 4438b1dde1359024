"""The committed bundle's ML Programs read as files, without TensorFlow: the executor against LiteRT running the
fp32 .tflite of the same model on the same requests, what the manifest says of them, and bad packages."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from edgeship.core.errors import InputError
from edgeship.export import formats
from edgeship.export.mlprogram.mil import Executor
from edgeship.export.mlprogram.package import make_reproducible, read_spec

pytestmark = pytest.mark.unit  # TensorFlow-free: `make test-fast`


def test_the_fp32_program_scores_like_the_fp32_tflite(reference_bundle):
    """Two files of one model in two runtimes, neither of them Keras: the MIL executor on the .mlpackage and
    LiteRT on the .tflite, on the bundle's test vector requests."""
    cases = json.loads((reference_bundle / "testvectors.json").read_text())["cases"]
    program = Executor(reference_bundle / "ranker_fp32.mlpackage")
    tflite = formats.get("tflite").open_session(reference_bundle / "ranker_fp32.tflite")
    for case in cases:
        feeds = {name: np.asarray(value, dtype=np.float32 if name == "candidate_features" else np.int32)
                 for name, value in case["inputs"].items()}
        ours = program(feeds)["scores"]
        theirs = tflite.run(feeds)["scores"]
        np.testing.assert_allclose(ours, theirs, atol=1e-5)
        assert np.ptp(ours) > 0.01  # real scores, not a constant


def test_the_manifest_names_the_runtime_and_the_facts(reference_bundle):
    manifest = json.loads((reference_bundle / "manifest.json").read_text())
    entries = {a["path"]: a for a in manifest["artifacts"] if a["format"] == "mlprogram"}
    assert set(entries) == {"ranker_fp32.mlpackage", "ranker_int8.mlpackage", "ranker_w8a8.mlpackage"}
    for path, a in entries.items():
        assert a["verification"]["runtime"] == "coreml-mil-numpy"
        assert [(t["name"], t["dtype"], t["shape"]) for t in a["outputs"]] == [
            ("scores", "float32", [1, manifest["model"]["candidates"]])]
        assert {t["name"]: t["dtype"] for t in a["inputs"]}["candidates"] == "int32"
    assert [(entries[p]["mlprogram"]["weights_bits"], entries[p]["mlprogram"]["activations_bits"])
            for p in sorted(entries)] == [(32, 32), (8, 32), (8, 8)]
    features = json.loads((reference_bundle / "features.json").read_text())
    assert {t["name"]: t["dtype"] for t in features["files"]["ranker_int8.mlpackage"]["inputs"]}["history"] == "int32"


def test_reproducible_packaging_is_stable(reference_bundle, tmp_path):
    copy = tmp_path / "ranker_int8.mlpackage"
    shutil.copytree(reference_bundle / "ranker_int8.mlpackage", copy)
    before = {p.relative_to(copy): p.read_bytes() for p in copy.rglob("*") if p.is_file()}
    make_reproducible(copy)  # already made so: nothing changes
    assert {p.relative_to(copy): p.read_bytes() for p in copy.rglob("*") if p.is_file()} == before


@pytest.mark.parametrize("damage", ["no manifest", "manifest not json", "root model missing", "weights missing",
                                    "not a program"])
def test_a_damaged_package_is_one_line(damage, reference_bundle, tmp_path):
    copy = tmp_path / "ranker_int8.mlpackage"
    shutil.copytree(reference_bundle / "ranker_int8.mlpackage", copy)
    data = copy / "Data" / "com.apple.CoreML"
    expect = {"no manifest": "not a Core ML package (expected a folder with Manifest.json)",
              "manifest not json": "Manifest.json is not a package manifest",
              "root model missing": "the manifest's root model com.apple.CoreML/model.mlmodel is missing",
              "weights missing": "weight.bin: missing, but the program reads a constant from it",
              "not a program": "not an ML Program"}[damage]
    if damage == "no manifest":
        (copy / "Manifest.json").unlink()
    elif damage == "manifest not json":
        (copy / "Manifest.json").write_text("{")
    elif damage == "root model missing":
        (data / "model.mlmodel").unlink()
    elif damage == "weights missing":
        (data / "weights" / "weight.bin").unlink()
    else:  # a NeuralNetwork spec where the program should be
        (data / "model.mlmodel").write_bytes((reference_bundle / "ranker_int8.mlmodel").read_bytes())
    with pytest.raises(InputError) as e:
        Executor(copy)
    assert expect in str(e.value) and "\n" not in str(e.value)
    if damage == "not a program":
        with pytest.raises(InputError, match="not an ML Program"):
            read_spec(copy)
