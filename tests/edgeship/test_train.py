"""`edgeship train` end to end on real files: the Open Bandit sample and a sharded synthetic log."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from studies.synthetic_log import write_log
from edgeship.export.check import check_bundle

ROOT = Path(__file__).resolve().parents[2]
OPEN_BANDIT = ROOT.parent / "shared" / "data" / "open_bandit" / "random" / "men" / "men.csv"
FAST = """
[train]
epochs = 2
[quantization]
qat = false
calibration_requests = 50
[export]
verify_requests = 200
"""


def test_open_bandit_log_trains_into_a_verified_bundle_and_says_the_metrics_are_noise(tmp_path, edgeship_cli):
    config = tmp_path / "fast.toml"
    config.write_text(FAST)
    out = tmp_path / "bundle"
    done = edgeship_cli("train", "--data", str(OPEN_BANDIT), "--schema", str(ROOT / "docs/examples/open_bandit_schema.toml"),
                     "--config", str(config), "--out", str(out))
    assert done.returncode == 0, done.stderr[-2000:]
    manifest = json.loads((out / "manifest.json").read_text())
    metrics = manifest["metrics"]
    assert manifest["failures"] == [] and len(manifest["artifacts"]) == 9
    assert manifest["personalization"] == []  # a log has no per-user timelines to study
    assert metrics["source"]["rows"] == {"train": 7296, "valid": 1909, "test": 795}
    assert metrics["source"]["positives"]["train"] == 34
    assert metrics["reliable"] is False and metrics["model"]["positives"] < 30
    assert "these figures are noise, not a measure of the model" in done.stdout
    assert all(not a["verification"]["ndcg_gated"] for a in manifest["artifacts"])
    assert len(check_bundle(out)) == 20  # each file: its tensor and raw vectors in its runtime; + 2 train calls
    assert manifest["model"]["feature_spec"]["item_features"][0] == "user-item_affinity_0"


def test_sharded_parquet_log_through_the_run_config(tmp_path, edgeship_cli):
    write_log(tmp_path / "log", 20_000, shards=4, kind="parquet", seed=3)
    config = tmp_path / "run.toml"  # [log] paths are relative to the config file
    # 200 lists of 10: one list moves an NDCG ratio by ~0.5 %, so the tiny-test floor (conftest.py) applies
    config.write_text(FAST + 'personal = false\nformats = ["tflite"]\n[floors]\nint8_ndcg_ratio = 0.97\n[log]\ndata = "log"\nschema = "log/schema.toml"\n')
    out = tmp_path / "bundle"
    done = edgeship_cli("run", "--config", str(config), "--out", str(out))
    assert done.returncode == 0, done.stderr[-2000:]
    metrics = json.loads((out / "manifest.json").read_text())["metrics"]
    assert metrics["source"]["files"] == [f"part-0000{i}.parquet" for i in range(4)]
    assert metrics["reliable"] is True
    # clicks follow a known model in which quality and recent items matter: the ranker must beat popularity
    assert metrics["model"]["auc"] > metrics["rule_baseline"]["auc"]
    assert metrics["model"]["ndcg_at_10"] > metrics["rule_baseline"]["ndcg_at_10"]


def test_categorical_only_log_trains_into_a_verified_bundle(tmp_path, edgeship_cli):
    """No numeric column at all (the most common CTR log): vocabularies for every field, one constant feature."""
    log = write_log(tmp_path / "log", 6_000, kind="csv", seed=4)
    for part in log.glob("*.csv"):
        pd.read_csv(part).drop(columns=["price", "quality"]).to_csv(part, index=False)
    schema = log / "schema.toml"
    schema.write_text(schema.read_text().replace('numeric = ["price", "quality"]\n', ""))
    config = tmp_path / "fast.toml"
    config.write_text(FAST + "personal = false\n[floors]\nint8_ndcg_ratio = 0.97\n")  # the trainable file: above
    out = tmp_path / "bundle"
    done = edgeship_cli("train", "--data", str(log), "--schema", str(schema), "--config", str(config), "--out", str(out))
    assert done.returncode == 0, done.stderr[-2000:]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["failures"] == [] and len(manifest["artifacts"]) == 7
    assert manifest["model"]["feature_spec"]["item_features"] == ["constant"]
    fields = {f["name"]: f for f in manifest["model"]["encoding"]["fields"]}
    assert {n: f["kind"] for n, f in fields.items()} == {"hour": "time", "weekday": "time", "device": "vocabulary",
                                                         "region": "vocabulary", "item_id": "vocabulary"}
    assert fields["device"]["vocabulary"] == 3 and fields["region"]["size"] == 9
    assert manifest["model"]["encoding"]["item_collisions"]["colliding"] > 0  # singletons share the OOV id
    assert "item_id" in done.stdout and "share an id" in done.stdout  # the collision report in the summary
    assert len(check_bundle(out)) == 14
