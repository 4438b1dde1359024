"""The bundle from the real pipeline: manifest schema, checksums, test vectors, atomic writes."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from edgeship.core.errors import EdgeshipError
from edgeship.core.files import sha256, size
from edgeship.export.manifest import MANIFEST_VERSION, read_manifest_file
from edgeship.export.reader import check_bundle
from edgeship.models.features import INPUT_NAMES, SCORES, hash_item_id

pytestmark = pytest.mark.unit  # TensorFlow-free: `make test-fast`

EXPECTED_FILES = {"ranker_fp32.tflite", "ranker_int8.tflite", "ranker_fp32.onnx", "ranker_int8.onnx",
                  "ranker_fp32.mlmodel", "ranker_int8.mlmodel", "ranker_personal.tflite", "ranker_personal.mlmodel",
                  "ranker_int8.ort", "ranker_fp32.mlpackage", "ranker_int8.mlpackage", "ranker_w8a8.mlpackage"}


def test_manifest_schema_and_checksums(reference_bundle, tiny_config):
    manifest = json.loads((reference_bundle / "manifest.json").read_text())
    assert manifest["schema_version"] == MANIFEST_VERSION == 11
    assert {a["path"] for a in manifest["artifacts"]} == EXPECTED_FILES
    assert set(os.listdir(reference_bundle)) == EXPECTED_FILES | {
        "manifest.json", "testvectors.json", "vocabularies.json", "README.md", "manifest.schema.json",
        "quantization.json", "quantization.md",
        "testvectors.schema.json", "features.json", "features.schema.json", "testvectors_raw.json",
        "testvectors_raw.schema.json", "required_operators.config", "personalization.json", "personalization.md", "personalization.png",
        "fallback.json", "fallback.schema.json", "rules.json", "rules.schema.json"}
    for a in manifest["artifacts"]:
        assert a["format"] in {"tflite", "coreml", "mlprogram", "onnx", "ort"} and a["precision"] in {"fp32", "int8"}
        assert a["sha256"] == sha256(reference_bundle / a["path"])
        assert a["bytes"] == size(reference_bundle / a["path"])
        assert [t["name"] for t in a["inputs"]] == list(INPUT_NAMES)
        assert [t["name"] for t in a["outputs"]] == [SCORES] + (["tap_probability"] if a["coreml"] and a["coreml"]["updatable"] else [])
        # format facts under the format's own key, and only there
        assert a[a["format"]] and all(a[f] is None for f in ("tflite", "onnx", "coreml", "mlprogram", "ort")
                                      if f != a["format"])
        v = a["verification"]
        assert set(v) >= {"runtime", "runtime_version", "max_abs_diff", "ndcg_at_10", "ndcg_ratio", "auc",
                          "top10_overlap", "passed"}
        floors = tiny_config.floors
        assert v["passed"] and v["ndcg_ratio"] >= (floors.int8_ndcg_ratio if a["precision"] == "int8"
                                                    else floors.fp32_ndcg_ratio)
    assert manifest["model"]["parameters"] > 0 and manifest["seed"] == tiny_config.seed
    assert {"model", "oracle", "rule_baseline"} <= set(manifest["metrics"])
    q = manifest["quantization"]
    assert set(q) == {"ranker_int8.tflite", "ranker_int8.onnx"}
    for slot, names in (("ranker_int8.tflite", {"full_int8", "full_int8_qat", "int8_dense", "int8_dense_qat"}),
                        ("ranker_int8.onnx", {"onnx_from_tflite", "ort_qdq"})):
        record = q[slot]
        assert set(record["candidates"]) == names and record["choose"] == "quality"
        shipped = [n for n, c in record["candidates"].items() if c["shipped"]]
        assert shipped == [record["selected"]]
        assert record["candidates"][record["selected"]]["sha256"] == next(
            a["sha256"] for a in manifest["artifacts"] if a["path"] == slot)
        assert record["fp32_p50_us"] > 0 and all(c["p50_us"] > 0 and c["p50_ratio"] > 0 and c["outcome"]
                                                 for c in record["candidates"].values())
    assert {"tensorflow", "coremltools", "onnxruntime", "tf2onnx"} <= set(manifest["versions"])
    assert manifest["config"]["export"]["candidates"] == tiny_config.export.candidates


def test_vocabularies_file_is_the_one_the_manifest_names(reference_bundle):
    m = read_manifest_file(reference_bundle / "manifest.json")
    enc = m.model.encoding
    path = reference_bundle / enc.file
    assert sha256(path) == enc.sha256 and path.stat().st_size == enc.bytes
    fields = json.loads(path.read_text())["fields"]
    spec = m.model.feature_spec
    assert [f["name"] for f in fields] == [f.name for f in spec.context_fields] + ["item_id"]
    assert [f["size"] for f in fields] == [f.cardinality for f in spec.context_fields] + [spec.item_buckets]
    items = enc.fields[-1]
    # the built-in catalogue (400 items) hashed into 512 buckets: the birthday collisions are reported
    assert items.kind == "hash" and enc.item_collisions.distinct == 400
    assert 0.3 < enc.item_collisions.rate < 0.7 and items.examples["42"] == hash_item_id(42, spec.item_buckets)


def test_manifest_reads_back_as_the_typed_record_and_refuses_bad_keys(reference_bundle, tmp_path):
    m = read_manifest_file(reference_bundle / "manifest.json")
    assert m.artifacts[0].tflite.signature == "serving_default" and m.failures == []
    assert m.model.feature_spec.history_len > 0 and m.metrics.model.ndcg_at_10 > 0
    data = json.loads((reference_bundle / "manifest.json").read_text())
    data["artifacts"][2]["verification"]["passed"] = "yes"
    bad = tmp_path / "manifest.json"
    bad.write_text(json.dumps(data))
    with pytest.raises(EdgeshipError, match=r"manifest.json: artifacts\[2\].verification.passed: expected true or "
                                            "false, got 'yes'") as e:
        read_manifest_file(bad)
    assert e.value.exit_code == 1
    bad.write_text(json.dumps({**data, "schema_version": 1}))
    with pytest.raises(EdgeshipError, match=f"schema_version: expected {MANIFEST_VERSION}, got 1"):
        read_manifest_file(bad)


def test_int8_is_smaller(reference_bundle):
    manifest = json.loads((reference_bundle / "manifest.json").read_text())
    size = {a["path"]: a["bytes"] for a in manifest["artifacts"]}
    assert size["ranker_int8.tflite"] < 0.6 * size["ranker_fp32.tflite"]
    assert size["ranker_int8.mlmodel"] < 0.6 * size["ranker_fp32.mlmodel"]


def test_expected_outputs_in_another_shape_than_declared_are_refused(reference_bundle, tmp_path, rewrite):
    import shutil

    copy = tmp_path / "bundle"
    shutil.copytree(reference_bundle, copy)
    vectors = json.loads((copy / "testvectors.json").read_text())
    flat = vectors["cases"][1]["expected"]["ranker_int8.onnx"][0]  # K values, as testvectors v1 had them
    vectors["cases"][1]["expected"]["ranker_int8.onnx"] = flat
    rewrite(copy, "testvectors.json", vectors)
    k = len(flat)
    with pytest.raises(EdgeshipError, match=rf"cases\[1\].expected\['ranker_int8.onnx'\] has shape \[{k}\]; the "
                                            rf"file declares \[1, {k}\]"):
        check_bundle(copy)


def test_a_changed_training_vector_fails_verify(reference_bundle, tmp_path, rewrite):
    import shutil

    copy = tmp_path / "bundle"
    shutil.copytree(reference_bundle, copy)
    vectors = json.loads((copy / "testvectors.json").read_text())
    assert [t["file"] for t in vectors["training"]] == ["ranker_personal.tflite", "ranker_personal.mlmodel"]
    vectors["training"][0]["loss"] += 0.01  # the app would see a different loss than the file gives
    rewrite(copy, "testvectors.json", vectors)
    with pytest.raises(EdgeshipError, match=r"ranker_personal.tflite \(train, reset\): test vectors off by 1"):
        check_bundle(copy)


def test_testvectors_schema(reference_bundle, tiny_config):
    vectors = json.loads((reference_bundle / "testvectors.json").read_text())
    assert vectors["schema_version"] == 2 and len(vectors["cases"]) == tiny_config.export.test_vectors
    for case in vectors["cases"]:
        assert set(case["inputs"]) == set(INPUT_NAMES)
        assert set(case["expected"]) == EXPECTED_FILES
        # nested in each file's declared output shape [1, K]: a strict client compares like with like
        assert all(np.shape(v) == (1, tiny_config.export.candidates) for v in case["expected"].values())
    assert set(vectors["atol"]) == EXPECTED_FILES


@pytest.mark.heavy  # a fresh process is the point
def test_vectors_reproduce_in_a_separate_process(reference_bundle):
    done = subprocess.run([sys.executable, "-m", "edgeship.cli", "verify", str(reference_bundle)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    # per file its tensor and raw vectors; per trainable file its recorded train call; one for the whole bundle
    assert done.stdout.count(" ok") == 2 * len(EXPECTED_FILES) + 2 + 1
    assert "ranker_personal.tflite (train, reset)" in done.stdout
    assert "ranker_personal.mlmodel (train, reset)" in done.stdout


def test_tampered_artifact_is_refused(reference_bundle, tmp_path, edgeship_cli):
    import shutil

    copy = tmp_path / "b"
    shutil.copytree(reference_bundle, copy)
    with open(copy / "ranker_int8.onnx", "r+b") as f:
        f.seek(200)
        byte = f.read(1)
        f.seek(200)
        f.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(EdgeshipError, match="ranker_int8.onnx: checksum mismatch") as e:
        check_bundle(copy)
    assert e.value.exit_code == 1
    done = edgeship_cli("verify", str(copy))
    assert done.returncode == 1
    errors = [l for l in done.stderr.splitlines() if "edgeship verify" in l]
    assert len(errors) == 1 and "checksum mismatch" in errors[0] and "Traceback" not in done.stderr


def test_wrong_vectors_are_refused(reference_bundle, tmp_path, rewrite):
    import shutil

    copy = tmp_path / "b"
    shutil.copytree(reference_bundle, copy)
    vectors = json.loads((copy / "testvectors.json").read_text())
    vectors["cases"][0]["expected"]["ranker_fp32.tflite"][0][0] += 1.0
    rewrite(copy, "testvectors.json", vectors)
    with pytest.raises(EdgeshipError, match="ranker_fp32.tflite: test vectors off by"):
        check_bundle(copy)


def test_readme_documents_the_contract(reference_bundle):
    text = (reference_bundle / "README.md").read_text()
    for name in INPUT_NAMES + (SCORES,):
        assert f"| {name} |" in text
    assert "fnv1a_32" in text and "sha256" in text.lower()


def test_features_json_states_each_file_s_inputs_in_its_own_order_and_every_output_shape(reference_bundle):
    from edgeship.export import formats

    contract = json.loads((reference_bundle / "features.json").read_text())
    manifest = json.loads((reference_bundle / "manifest.json").read_text())
    k = contract["candidates"]["k"]
    assert set(contract["files"]) == {a["path"] for a in manifest["artifacts"]}
    for a in manifest["artifacts"]:
        sig = formats.get(a["format"]).signature(reference_bundle / a["path"])
        stated = contract["files"][a["path"]]
        assert [(i["name"], i["dtype"], i["shape"]) for i in stated["inputs"]] == [
            (t.name, t.dtype, list(t.shape)) for t in sig.inputs], a["path"]
        assert stated["output"]["shape"] == [1, k] == a["outputs"][0]["shape"], a["path"]
    # what the issue found: positional orders differ between files, and Core ML takes float ids
    orders = {tuple(i["name"] for i in f["inputs"]) for f in contract["files"].values()}
    assert len(orders) > 1
    assert {i["dtype"] for i in contract["files"]["ranker_int8.mlmodel"]["inputs"]} == {"float32"}


def test_the_raw_vectors_exercise_every_rule_kind_the_bundle_has(reference_bundle):
    """Each kind in rules.json acts on some raw case: the model's own order would break a filter, pin, cap or run
    there, and a boost matches a candidate (so a client that skips a kind fails the replay)."""
    from edgeship.core import typed
    from edgeship.export.raw_vectors import RawVectors
    from edgeship.ondevice.contract import Contract
    from edgeship.ondevice.rules import RuleSet, from_raw, violations

    contract = typed.load(Contract, json.loads((reference_bundle / "features.json").read_text()), "features.json",
                          toml=False)
    rules = typed.load(RuleSet, json.loads((reference_bundle / "rules.json").read_text())["rules"], "rules.json",
                       toml=False)
    vectors = typed.load(RawVectors, json.loads((reference_bundle / "testvectors_raw.json").read_text()),
                         "testvectors_raw.json", toml=False)
    acted = set()
    for case in vectors.cases:
        view = from_raw(contract, case.request)
        order = [case.request.items.index(i) for i in case.ranked["ranker_int8.tflite"]]
        acted |= violations(rules, order, view)
        boosts = [b for b in rules.boost if all(view.context.get(k) in v for k, v in b.when.items())]
        if any(b.match.items and set(b.match.items) & set(view.items) or b.match.attribute and any(
                a.get(b.match.attribute) in b.match.values for a in view.attributes) for b in boosts):
            acted.add("boost")
    assert acted == {kind for kind in ("filter", "boost", "pin", "cap", "run") if getattr(rules, kind)}
