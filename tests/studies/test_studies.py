"""The studies run end to end at a tiny size: their figures are for docs/, their code must not rot."""

from __future__ import annotations

import json

from studies import gate_reliability, harness_overhead, log_scaling


def test_harness_overhead_on_the_tiny_bundle(tiny_bundle, capsys):
    assert harness_overhead.main(["--bundle", str(tiny_bundle), "--rounds", "2", "--invokes", "5"]) == 0
    out = capsys.readouterr().out
    assert "no-op callable (harness only)" in out and "identity model [litert]" in out
    assert "ranker_int8.tflite [litert]" in out and "round request/reply over the worker pipe" in out


def test_gate_reliability_builds_its_slower_twin_from_the_baseline_config(tiny_bundle, tmp_path):
    out = tmp_path / "reliability"
    gate_reliability.main(["--baseline", str(tiny_bundle), "--out", str(out), "--runs", "1", "--load", "0",
                           "--rounds", "3", "--invokes", "5"])
    report = json.loads((out / "reliability.json").read_text())
    assert report["runs"] == 1 and len(report["results"]["slower_model"]) == 1
    assert all(r["exit"] in (0, 1) for rs in report["results"].values() for r in rs)
    tiny = json.loads((tiny_bundle / "manifest.json").read_text())["config"]["model"]["hidden"]
    slow = json.loads((out / "slow_bundle" / "manifest.json").read_text())["config"]["model"]["hidden"]
    assert slow == [round(tiny[0] * 84 / 64), *tiny[1:]]


def test_log_scaling_on_a_small_log(tmp_path):
    assert log_scaling.main(["--events", "20000", "--out", str(tmp_path)]) == 0
    (result,) = json.loads((tmp_path / "log_scaling.json").read_text())
    assert result["events"] == 20000 and 0 < result["peak_rss_mb"] < 3072 and result["training_s"] > 0


def test_federated_on_the_tiny_bundle(tiny_bundle, tmp_path):
    from studies import federated

    assert federated.main(["--bundle", str(tiny_bundle), "--out", str(tmp_path), "--rounds", "2", "--devices", "3",
                           "--requests", "3", "--population", "6", "--test-requests", "10"]) == 0
    result = json.loads((tmp_path / "federated.json").read_text())
    assert len(result["rounds"]) == 2 and result["devices_per_round"] == 3 and 0 < result["central_ndcg"] <= 1


def test_personalization_study_reruns_on_a_bundle(tiny_bundle, tmp_path):
    from studies import personalization

    assert personalization.main(["--bundle", str(tiny_bundle), "--out", str(tmp_path), "--users", "5"]) == 0
    result = json.loads((tmp_path / "personalization.json").read_text())
    assert result["users"] == 5 and (tmp_path / "personalization.png").is_file()
