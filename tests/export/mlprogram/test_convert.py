"""The ML Program files of a tiny trained ranker: converted, executed from the saved packages alone by the MIL
executor, checked against Keras, the same bytes twice, and a planted wrong weight caught by verification."""

from __future__ import annotations

import shutil
import struct
from dataclasses import replace

import numpy as np
import pytest

from edgeship.core.files import sha256
from edgeship.export.mlprogram import convert, inspect
from edgeship.export.mlprogram.mil import Executor
from edgeship.export.mlprogram.package import read_spec, weights_dir
from edgeship.export.parity import ParityCheck, check_parity
from edgeship.export.types import Derived
from edgeship.models.features import INPUT_NAMES, SCORES


@pytest.fixture(scope="module")
def packages(tiny_job, tmp_path_factory):
    return {a.path.name: a for a in convert.export(tiny_job, tmp_path_factory.mktemp("mlprogram"), Derived())}


@pytest.fixture(scope="module")
def check(tiny_job, tiny_data, tiny_config):
    test = tiny_data.test.take(slice(0, 40))
    return ParityCheck(test, tiny_job.model.predict(test.inputs(), batch_size=1, verbose=0), tiny_config.floors)


def test_three_packages_run_from_the_files_alone_and_rank_like_keras(packages, check, tiny_config):
    assert sorted(packages) == ["ranker_fp32.mlpackage", "ranker_int8.mlpackage", "ranker_w8a8.mlpackage"]
    assert all(a.failed is None for a in packages.values())
    results = {name: check_parity(a, check)[0] for name, a in packages.items()}
    assert results["ranker_fp32.mlpackage"].max_abs_diff < 1e-5
    for name in ("ranker_int8.mlpackage", "ranker_w8a8.mlpackage"):
        r = results[name]
        assert r.passed, (name, r.reasons)
        assert r.ndcg_ratio >= tiny_config.floors.int8_ndcg_ratio and r.top10_overlap >= 0.9
        assert 1e-4 < r.max_abs_diff < 0.5  # really quantized, and still close


def test_integer_ids_declared_scores_and_the_facts(packages, tiny_job):
    k = tiny_job.candidates
    for name, artifact in packages.items():
        sig = inspect.signature(artifact.path)
        assert [t.name for t in sig.inputs] == list(INPUT_NAMES)
        assert {t.name: t.dtype for t in sig.inputs} == {"context": "int32", "history": "int32",
                                                          "candidates": "int32", "candidate_features": "float32"}
        assert [(t.name, t.dtype, t.shape) for t in sig.outputs] == [(SCORES, "float32", (1, k))]
        assert artifact.details.minimum_deployment == {"iOS": "17", "macOS": "14"}
        assert read_spec(artifact.path).specificationVersion == artifact.details.spec_version == 8
    facts = {name: inspect.program_facts(a.path) for name, a in packages.items()}
    assert [(f["weights_bits"], f["activations_bits"], f["compute_precision"]) for f in facts.values()] == [
        (32, 32, "fp32"), (8, 32, "fp32"), (8, 8, "fp16")]
    # every Keras weight is stored, the logit's one-number bias aside (single numbers count as the program's
    # scalars, like the attention mask's 16.0)
    assert {f["parameters"] for f in facts.values()} == {tiny_job.model.count_params() - 1}
    assert "quantize" in facts["ranker_w8a8.mlpackage"]["ops"]
    assert "constexpr_affine_dequantize" in facts["ranker_int8.mlpackage"]["ops"]
    for name, artifact in packages.items():  # what each file says matches what its program holds
        f = facts[name]
        d = artifact.details
        assert (d.weights_bits, d.activations_bits, d.compute_precision) == (
            f["weights_bits"], f["activations_bits"], f["compute_precision"])


def test_the_same_job_writes_the_same_bytes(packages, tiny_job, tmp_path):
    again = convert.export(tiny_job, tmp_path, Derived())
    assert {a.path.name: sha256(a.path) for a in again} == {n: sha256(a.path) for n, a in packages.items()}
    manifest = (tmp_path / "ranker_int8.mlpackage" / "Manifest.json").read_text()
    assert "rootModelIdentifier" in manifest
    assert "conversion_date" not in str(read_spec(tmp_path / "ranker_int8.mlpackage").description.metadata.userDefined)


def test_a_planted_wrong_weight_fails_verification(packages, check, tmp_path):
    """One stored float of the fp32 program changed in weights/weight.bin: the executor reads the file, so
    verification sees it, though the Keras model is untouched."""
    planted = tmp_path / "ranker_fp32.mlpackage"
    shutil.copytree(packages["ranker_fp32.mlpackage"].path, planted)
    blob = weights_dir(planted) / "weight.bin"
    data = bytearray(blob.read_bytes())
    _, _, size, start = struct.unpack_from("<IIQQ", data, 64)  # the first constant: the item table
    values = np.frombuffer(bytes(data[start:start + size]), np.float32).copy()
    values[:] = values[::-1]  # every item's embedding moved to another item
    data[start:start + size] = values.tobytes()
    blob.write_bytes(bytes(data))
    artifact = packages["ranker_fp32.mlpackage"]
    result, _ = check_parity(replace(artifact, path=planted), check)
    assert not result.passed and result.max_abs_diff > 1e-3, result


def test_w8a8_ranges_cover_every_calibration_request(packages, tiny_job):
    """coremltools 9.0 keeps the range of the last calibration sample only; here each quantized activation's
    scale covers the largest magnitude any calibration request gives that tensor."""
    ex = Executor(packages["ranker_w8a8.mlpackage"].path)
    quantized = [(args["input"], args["scale"]) for kind, _, args in ex.ops if kind == "quantize"]
    assert quantized
    requests = list(tiny_job.calibration())
    for source, scale in quantized:
        scale = float(scale[1] if isinstance(scale, tuple) else ex.constants[scale])
        peak = max(float(np.abs(ex.values(r)[source].astype(np.float32)).max()) for r in requests)
        assert peak <= scale * 127.5 * 1.01, (source, peak, scale)
        last = float(np.abs(ex.values(requests[-1])[source].astype(np.float32)).max())
        assert scale * 127 >= last
