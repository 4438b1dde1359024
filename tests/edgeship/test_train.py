"""`edgeship train` end to end on real files: the Open Bandit sample and a sharded synthetic log."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from edgeship.export.reader import check_bundle
from studies.synthetic_log import write_log

ROOT = Path(__file__).resolve().parents[2]
OPEN_BANDIT = ROOT.parent / "shared" / "data" / "open_bandit" / "random" / "men" / "men.csv"
FAST = """
[train]
epochs = 2
[quantization]
qat = false
recipes = ["full_int8"]  # one candidate per int8 slot: the recipe table has tests of its own
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
    assert manifest["failures"] == [] and len(manifest["artifacts"]) == 12
    assert manifest["personalization"] == []  # a log has no per-user timelines to study
    assert metrics["source"]["rows"] == {"train": 7296, "valid": 1909, "test": 795}
    assert metrics["source"]["positives"]["train"] == 34
    assert metrics["reliable"] is False and metrics["model"]["positives"] < 30
    assert "these figures are noise, not a measure of the model" in done.stdout
    assert all(not a["verification"]["ndcg_gated"] for a in manifest["artifacts"])
    assert len(check_bundle(out)) == 26  # each file: its tensor and raw vectors in its runtime; + 2 train calls
    assert manifest["model"]["feature_spec"]["item_features"][0] == "user-item_affinity_0"

    # `edgeship evaluate` on the same log, with its propensities and positions: the mechanics (in-sample, so no
    # claim about the bundle; studies/open_bandit_ope.py evaluates on a later half the bundle never saw)
    schema, ope_out = ROOT / "docs/examples/open_bandit_schema.toml", tmp_path / "ope"
    evaluate = ["evaluate", str(out), "--data", str(OPEN_BANDIT), "--schema", str(schema), "--out", str(ope_out),
                "--resamples", "100"]
    done = edgeship_cli(*evaluate)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads((ope_out / "ope.json").read_text())
    assert (report["rows"], report["clicks"], report["candidates"], report["positions"]) == (10_000, 46, 34, 3)
    assert report["logging"]["estimate"] == 0.0046 and report["logging"]["low"] < 0.0046 < report["logging"]["high"]
    assert [p["policy"] for p in report["policies"]] == ["model", "hybrid", "fallback"]
    for p in report["policies"]:  # uniform propensities 1/34: a policy agrees with the log on ~1/34 of the rows
        assert 200 < p["matched"] < 400 and abs(p["effective_sample_size"] - p["matched"]) < 1e-6
        clicks = round(p["ips"]["estimate"] * 10_000 / 34, 6)  # IPS = clicks on agreeing rows x 34 / rows
        assert clicks == int(clicks) and p["ips"]["low"] <= p["ips"]["estimate"] <= p["ips"]["high"]
    assert report["comparison"]["new"] == "hybrid" and report["comparison"]["old"] == "fallback"
    assert "95 % interval of the difference" in report["comparison"]["recommendation"]
    assert (ope_out / "ope.md").exists() and (ope_out / "ope.png").stat().st_size > 0
    again = edgeship_cli(*evaluate)
    assert again.returncode == 2 and "already holds an ope.json; pass --force" in again.stderr
    # against a baseline bundle (itself): the paired difference is exactly zero, and no rollout is recommended
    done = edgeship_cli(*evaluate, "--force", "--baseline", str(out))
    assert done.returncode == 0, done.stderr[-2000:]
    same = json.loads((ope_out / "ope.json").read_text())["comparison"]
    assert (same["new"], same["old"]) == ("hybrid", "baseline hybrid")
    assert {k: same["difference"][k] for k in ("estimate", "low", "high")} == {"estimate": 0.0, "low": 0.0, "high": 0.0}
    assert same["difference"]["level"] == 0.95 and "paired" in same["difference"]["method"]
    assert same["recommendation"].startswith("not shown better")
    # each request's own candidates ([logging] candidates): here the shown item and the next 9 of the 34
    cands = pd.read_csv(OPEN_BANDIT, index_col=0)
    cands["cands"] = ["|".join(str((i + j) % 34) for j in range(10)) for i in cands["item_id"]]
    cands.to_csv(tmp_path / "cands.csv")
    with_cands = tmp_path / "cands.toml"
    with_cands.write_text(schema.read_text().replace("first_position = 1", 'first_position = 1\ncandidates = "cands"'))
    done = edgeship_cli("evaluate", str(out), "--data", str(tmp_path / "cands.csv"), "--schema", str(with_cands),
                        "--out", str(tmp_path / "ope_cands"), "--resamples", "100")
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads((tmp_path / "ope_cands" / "ope.json").read_text())
    assert report["candidates"] == 10
    for p in report["policies"]:  # a policy's top 3 of 10 holds the shown item far more often than of 34
        assert 400 < p["matched"] < 1800, p
    far = pd.read_csv(OPEN_BANDIT, index_col=0)
    far.loc[far.index[5], "position"] = 40
    far.to_csv(tmp_path / "far.csv")
    done = edgeship_cli(*[str(tmp_path / "far.csv") if a == str(OPEN_BANDIT) else a for a in evaluate], "--force")
    assert done.returncode == 2 and done.stderr.strip().splitlines()[-1].endswith(
        "column 'position' (position): 40 is out of range; the policies rank 34 candidates (positions 1..34)")


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
    """No numeric column at all (the most common CTR log): vocabularies for every field, one constant feature.
    With --reference: quality on every test row (not only the lists each file is checked on), each shipped file
    against each reference with paired intervals, the references' batch scaled to the rows."""
    log = write_log(tmp_path / "log", 6_000, kind="csv", seed=4)
    for part in log.glob("*.csv"):
        pd.read_csv(part).drop(columns=["price", "quality"]).to_csv(part, index=False)
    schema = log / "schema.toml"
    schema.write_text(schema.read_text().replace('numeric = ["price", "quality"]\n', ""))
    config = tmp_path / "fast.toml"
    # the trainable file: above; a small reference DNN keeps the test quick, its schedule is the default's
    # each file checked on the first 20 test lists; quality measured on all of them
    # the batch derived from the rows (0), a cap of 6 epochs early stopping may end sooner
    config.write_text(FAST.replace("verify_requests = 200", "verify_requests = 20").replace("epochs = 2", "epochs = 6")
                      + "personal = false\n[floors]\nint8_ndcg_ratio = 0.97\n[reference]\nhidden = [32]\n")
    out = tmp_path / "bundle"
    done = edgeship_cli("train", "--data", str(log), "--schema", str(schema), "--config", str(config),
                        "--out", str(out), "--reference")
    assert done.returncode == 0, done.stderr[-2000:]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["failures"] == [] and len(manifest["artifacts"]) == 10
    assert manifest["model"]["feature_spec"]["item_features"] == ["constant"]
    fields = {f["name"]: f for f in manifest["model"]["encoding"]["fields"]}
    assert {n: f["kind"] for n, f in fields.items()} == {"hour": "time", "weekday": "time", "device": "vocabulary",
                                                         "region": "vocabulary", "item_id": "vocabulary"}
    assert fields["device"]["vocabulary"] == 3 and fields["region"]["size"] == 9
    assert manifest["model"]["encoding"]["item_collisions"]["colliding"] > 0  # singletons share the OOV id
    assert "item_id" in done.stdout and "share an id" in done.stdout  # the collision report in the summary
    assert len(check_bundle(out)) == 20
    metrics = manifest["metrics"]
    rows = metrics["source"]["rows"]
    ended, training = manifest["training"]["convergence"], manifest["training"]
    assert rows["train"] < 8_000 and training["global_batch"] == ended["batch_size"] == 32  # MODEL_BATCH's floor
    # a small log: patience 3 (models.settings.scaled_patience)
    assert ended["cap"] == 6 and ended["monitor"] == "auc" and ended["patience"] == 3
    assert ended["epochs_run"] == 6 or ended["epochs_run"] - ended["best_epoch"] == 3  # the cap or the patience
    assert ended["capped"] == (ended["epochs_run"] - ended["best_epoch"] < 3)
    assert metrics["evaluation_rows"] == rows["test"] and metrics["evaluation_lists"] > metrics["test_requests"] == 20
    for name, ended in metrics["reference_training"].items():  # 64: the power of two nearest train rows / 100
        assert ended["batch_size"] == 64 and ended["cap"] == 100 and not ended["capped"], name
        assert ended["epochs_run"] - ended["best_epoch"] == 3  # stopped by patience, not by the cap
    files = [a["path"] for a in manifest["artifacts"] if not a.get("trainable")]
    assert [(c["scorer"], c["reference"]) for c in metrics["comparisons"]] == [
        (s, r) for s in ["model", *files] for r in ("reference_dnn", "logistic_regression")]
    for c in metrics["comparisons"]:
        assert c["lists"] == metrics["evaluation_lists"] and c["rows"] == rows["test"]
        assert c["auc"]["low"] <= c["auc"]["estimate"] <= c["auc"]["high"] and "paired" in c["auc"]["method"]
    model_vs_dnn = metrics["comparisons"][0]
    assert model_vs_dnn["auc"]["estimate"] == round(metrics["model"]["auc"] - metrics["reference_dnn"]["auc"], 5)
    assert f"on every test row: {metrics['evaluation_lists']:,} lists" in done.stdout
    assert "vs reference dnn (difference, 95% paired interval over lists):" in done.stdout
