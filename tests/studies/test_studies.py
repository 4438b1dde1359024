"""The studies run end to end at a tiny size: their figures are for docs/, their code must not rot."""

from __future__ import annotations

import json

import pytest

from studies import gate_reliability, harness_overhead, log_scaling


def test_harness_overhead_on_the_tiny_bundle(reference_bundle, capsys):
    assert harness_overhead.main(["--bundle", str(reference_bundle), "--rounds", "2", "--invokes", "5"]) == 0
    out = capsys.readouterr().out
    assert "no-op callable (harness only)" in out and "identity model [litert]" in out
    assert "ranker_int8.tflite [litert]" in out and "round request/reply over the worker pipe" in out


def test_gate_reliability_builds_its_slower_twin_from_the_baseline_config(reference_bundle, tmp_path):
    out = tmp_path / "reliability"
    gate_reliability.main(["--baseline", str(reference_bundle), "--out", str(out), "--runs", "1", "--load", "0",
                           "--rounds", "3", "--invokes", "5"])
    report = json.loads((out / "reliability.json").read_text())
    assert report["runs"] == 1 and len(report["results"]["slower_model"]) == 1
    assert all(r["exit"] in (0, 1) for rs in report["results"].values() for r in rs)
    tiny = json.loads((reference_bundle / "manifest.json").read_text())["config"]["model"]["hidden"]
    slow = json.loads((out / "slow_bundle" / "manifest.json").read_text())["config"]["model"]["hidden"]
    assert slow == [round(tiny[0] * 84 / 64), *tiny[1:]]


def test_log_scaling_on_a_small_log(tmp_path):
    assert log_scaling.main(["--events", "5000", "--out", str(tmp_path)]) == 0
    (result,) = json.loads((tmp_path / "log_scaling.json").read_text())
    assert result["events"] == 5000 and 0 < result["peak_rss_mb"] < 3072 and result["training_s"] > 0


def test_federated_on_the_tiny_bundle(reference_bundle, tmp_path):
    from studies import federated

    assert federated.main(["--bundle", str(reference_bundle), "--out", str(tmp_path), "--rounds", "2", "--devices", "3",
                           "--requests", "3", "--population", "6", "--test-requests", "10"]) == 0
    result = json.loads((tmp_path / "federated.json").read_text())
    assert len(result["rounds"]) == 2 and result["devices_per_round"] == 3 and 0 < result["central_ndcg"] <= 1


def test_personalization_study_reruns_on_a_bundle(reference_bundle, tmp_path):
    from studies import personalization

    assert personalization.main(["--bundle", str(reference_bundle), "--out", str(tmp_path), "--users", "5"]) == 0
    result = json.loads((tmp_path / "personalization.json").read_text())
    assert result["users"] == 5 and (tmp_path / "personalization.png").is_file()


def test_quality_study_with_references_on_the_tiny_config(tiny_config, tmp_path):
    """--reference trains both references on the same split; every shipped file is scored by its runtime."""
    from dataclasses import replace

    from edgeship.models.settings import ReferenceConfig, TrainConfig
    from studies import quality as study

    cfg = replace(tiny_config, export=replace(tiny_config.export, personal=False),
                  quantization=replace(tiny_config.quantization, qat=False),
                  reference=ReferenceConfig(hidden=(16, 16), train=TrainConfig(epochs=2, batch_size=64)))
    d = study.measure(cfg, "builtin", tmp_path, resamples=50, tune=False)
    by = {s.name: s for s in d.scorers}
    assert d.scorers[0].name == "model" and {"reference_dnn", "logistic_regression", "rule_baseline", "oracle",
                                             "ranker_int8.tflite", "ranker_int8.onnx", "ranker_int8.mlmodel"} <= set(by)
    assert by["ranker_fp32.onnx"].ndcg_minus_model.estimate == pytest.approx(0.0, abs=1e-3)
    assert by["ranker_int8.tflite"].bytes > 0 and by["reference_dnn"].parameters > by["logistic_regression"].parameters
    assert d.reference == "reference_dnn" and by["ranker_int8.tflite"].auc_minus_reference is not None
    metrics = json.loads((tmp_path / "builtin" / "defaults" / "manifest.json").read_text())["metrics"]
    for name in ("reference_dnn", "logistic_regression"):
        assert 0 < metrics[name]["auc"] < 1 and metrics[name]["ndcg_at_10"] == pytest.approx(
            by[name].ndcg_at_10.estimate, abs=1e-4)
    assert set(metrics["reference_parameters"]) == {"reference_dnn", "logistic_regression"}
    # two epochs against a patience of 3: the cap cut both references short, and the manifest says so
    assert {name: (e["epochs_run"], e["cap"], e["capped"]) for name, e in metrics["reference_training"].items()} == {
        "reference_dnn": (2, 2, True), "logistic_regression": (2, 2, True)}
    assert by["oracle"].gap_closed == 1.0 and by["rule_baseline"].gap_closed == 0.0


def test_the_generated_log_shapes(tmp_path):
    """The benchmark's two generated logs: app usage (a small catalogue) and the long tail (most items rare)."""
    import pandas as pd

    from studies import quality as study
    from studies.app_usage_log import write_app_usage

    cfg = study.dataset_config(study.load_config(None), "long_tail", tmp_path)
    assert cfg.reference.enabled and cfg.log.data == str(tmp_path / "data" / "long_tail" / "app_usage.csv")
    shapes = {}
    for name, long_tail in (("small", False), ("tail", True)):
        folder = write_app_usage(tmp_path / name, events=20_000, users=1_000, items=2_000, long_tail=long_tail)
        seen = pd.read_csv(folder / "app_usage.csv").item_id.value_counts()
        shapes[name] = (seen.max() / len(seen), "item_min_count = 3" in (folder / "schema.toml").read_text())
    # a Zipf law over the catalogue: the top item is shown far more often than under popularity-weighted exposure
    assert shapes["tail"][0] > 5 * shapes["small"][0] and shapes["tail"][1] and not shapes["small"][1]


def test_model_variants_table_on_a_tiny_config(tiny_config, tmp_path):
    from studies import model_variants

    config = tmp_path / "tiny.toml"
    d = tiny_config.data
    config.write_text(f"seed = {tiny_config.seed}\n[data]\nusers = {d.users}\nitems = {d.items}\ntrain_requests = "
                      f"{d.train_requests}\ntest_requests = 60\nhistory_len = 6\nitem_buckets = 512\nslate_size = 10\n"
                      "[train]\nepochs = 1\nbatch_size = 64\n[export]\ncandidates = 12\nverify_requests = 60\n"
                      "[floors]\nint8_ndcg_ratio = 0.9\nint8_top10_overlap = 0.5\n"
                      "[quantization]\ncalibration_requests = 20\n")
    names = list(model_variants.VARIANTS)[:2]
    assert model_variants.main(["--out", str(tmp_path / "v"), "--config", str(config), "--variants", ",".join(names),
                                "--rounds", "2"]) == 0
    rows = json.loads((tmp_path / "v" / "model_variants.json").read_text())["variants"]
    assert [r["variant"] for r in rows] == names
    assert rows[1]["model"]["attention"] and not rows[0]["model"]["attention"]
    assert rows[1]["parameters"] > rows[0]["parameters"] and all(r["int8_bytes"] > 0 and r["p50_us"] > 0 for r in rows)
    assert all(0 < r["ndcg_at_10"] <= 1 and 0 < r["int8_ndcg_ratio"] for r in rows)


def test_model_variants_summary_pairs_variants_by_seed():
    from studies.model_variants import summarize

    rows = [{"variant": v, "seed": s, "ndcg_at_10": base + d, "int8_bytes": b}
            for s, base in ((1, 0.30), (2, 0.40), (3, 0.35)) for v, d, b in (("a", 0.0, 10), ("b", 0.01, 20))]
    out = summarize(rows, ["a", "b"])
    # the seeds spread the means by 0.05, the paired differences not at all
    assert out["b"]["ndcg_at_10"]["mean"] == pytest.approx(0.36) and out["b"]["ndcg_at_10"]["sd"] == pytest.approx(0.05)
    assert out["b"]["ndcg_at_10"]["paired_diff_mean"] == pytest.approx(0.01)
    assert out["b"]["ndcg_at_10"]["paired_diff_sd"] == pytest.approx(0.0, abs=1e-12)
    assert out["a"]["ndcg_at_10"]["paired_diff_mean"] == 0.0 and out["b"]["int8_bytes"] == 20


def test_the_benchmark_keeps_each_dataset_written_before_a_later_one_fails(tmp_path, monkeypatch):
    import numpy as np

    from edgeship.benchmarks import quality
    from studies import quality as study

    labels = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 0, 0]], np.float32)
    scores = labels + 0.1 * np.arange(3)[None]

    def measure(cfg, name, out, resamples, tune):
        if name == "app_usage":
            raise FileNotFoundError("the second dataset's data")
        return quality.measure(name, "four lists", labels, None, [quality.Scorer("model", "keras", scores)], 1.0,
                               resamples=20, seed=1)

    monkeypatch.setattr(study, "measure", measure)
    with pytest.raises(FileNotFoundError):
        study.main(["--out", str(tmp_path), "--datasets", "builtin,app_usage"])
    written = json.loads((tmp_path / "quality.json").read_text())
    assert [d["name"] for d in written["datasets"]] == ["builtin"]
    assert "## builtin" in (tmp_path / "quality.md").read_text()
