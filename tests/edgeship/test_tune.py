"""`edgeship tune` end to end on the tiny built-in data: a search killed mid-trial resumes from its SQLite
storage, ships its best trial as an ordinary verified bundle, and refuses bad input in one line."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

from edgeship.export.reader import check_bundle
from edgeship.models.search import configs
from edgeship.models.settings import RankerConfig, TrainConfig

from ..conftest import DATA

ROOT = Path(__file__).resolve().parents[2]


def _config(tmp_path: Path) -> Path:
    """The tiny run, trimmed to what a search measures: the int8 .tflite, no QAT, no trainable file; its batch on
    the search's grid, so that trial 0 is the configured model."""
    text = (DATA / "tiny.toml").read_text().replace("qat = true", "qat = false").replace(
        "[export]\ncandidates = 12", '[export]\nformats = ["tflite"]\npersonal = false\ncandidates = 12').replace(
        "batch_size = 32", "batch_size = 64")
    path = tmp_path / "tiny_search.toml"
    path.write_text(text)
    return path


def test_a_killed_search_resumes_and_ships_its_best_trial(tmp_path, edgeship_cli):
    config, out = _config(tmp_path), tmp_path / "search"
    args = ["tune", "--config", str(config), "--trials", "2", "--out", str(out)]
    proc = subprocess.Popen([sys.executable, "-m", "edgeship.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=ROOT)
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if "trial 1: context dims" in line:  # trial 0 is in the storage, trial 1 is training
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait(timeout=120)
    assert proc.returncode == -signal.SIGKILL, "".join(seen[-20:])
    assert any("trial 0: int8 (" in line and ") validation AUC" in line for line in seen)
    assert any("trial 0 is the configured model" in line for line in seen)
    assert (out / "search.db").exists() and not (out / "bundle").exists()

    done = edgeship_cli(*args)  # the same command again
    assert done.returncode == 0, done.stderr[-3000:]
    assert "trial 1 was cut short by the stop and is marked failed" in done.stderr
    assert "search: 1 of 2 trials to run (1 done" in done.stderr
    report = json.loads((out / "search.json").read_text())
    states = {t["number"]: t["state"] for t in report["trials"]}
    assert report["trials"][0]["params"] == {**{f"dim_{f}": 4 for f in ("hour", "weekday", "device", "network",
                                                                       "region")},
                                             "item_dim": 8, "width": 16, "depth": 2, "attention": False,
                                             "history_features": True,
                                             "cross_layers": 0, "dropout": 0.0, "learning_rate": 5e-3,
                                             "batch_size": 64, "lr_decay": 1.0}
    assert states == {0: "complete", 1: "fail", 2: "complete"}  # too few finished trials to prune any
    manifest = json.loads((out / "bundle" / "manifest.json").read_text())
    chosen = manifest["search"]["chosen"]
    assert report["chosen"] == chosen["number"] and chosen["feasible"] and chosen["state"] == "complete"
    assert report["metric"] == "ndcg_at_10"  # the tiny built-in data's validation requests are lists
    assert chosen["quality"] == chosen["valid_ndcg_at_10"] == max(t["quality"] for t in report["trials"]
                                                                 if t["feasible"])
    assert manifest["search"]["budget"]["profile"] == "low-end-android" and manifest["search"]["complete"] == 2
    # each trial measured the recipe the export stage would ship of those the config lists (tiny.toml: two)
    assert {t["recipe"] for t in report["trials"] if t["state"] == "complete"} <= {"full_int8", "int8_dense"}
    assert chosen["recipe"] in ("full_int8", "int8_dense")
    assert {chosen["number"], manifest["search"]["runner_up"]["number"]} == {0, 2}
    # the bundle is the chosen point, trained again by the ordinary pipeline, and verified like any other
    model, train = configs(chosen["params"], RankerConfig(), TrainConfig())
    assert tuple(manifest["config"]["model"]["hidden"]) == model.hidden
    assert manifest["config"]["train"]["learning_rate"] == train.learning_rate
    training = manifest["training"]  # the batch the chosen point trained with, not the base config's
    assert training["global_batch"] == training["convergence"]["batch_size"] and train.batch_size in (
        0, training["global_batch"])
    assert all(r.passed for r in check_bundle(out / "bundle"))
    assert (out / "search.md").read_text().count("★") == 2 and (out / "search.png").stat().st_size > 10_000

    # bad input: one line, exit 2, nothing lost
    zero = edgeship_cli("tune", "--config", str(config), "--trials", "0", "--out", str(out))
    assert zero.returncode == 2 and "--trials" in zero.stderr and "positive number of trials" in zero.stderr
    other = edgeship_cli(*args, "--seed", "4", "--force")
    assert other.returncode == 2 and "holds a search of other data or another seed" in other.stderr
    budgets = tmp_path / "budgets.toml"
    budgets.write_text('[profiles.tiny-phone]\nformats = ["tflite"]\nmax_bytes = 1000\n')
    tight = edgeship_cli(*args, "--budgets", str(budgets), "--profile", "tiny-phone", "--force")
    assert tight.returncode == 2, tight.stderr[-2000:]
    last = tight.stderr.strip().splitlines()[-1]
    assert "no trial meets profile 'tiny-phone': the closest, trial" in last and "> 1000" in last
    assert (out / "bundle" / "manifest.json").exists()  # the shipped bundle is untouched
