"""Faults: one format's converter failing, and a run killed at any moment."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from dataclasses import replace

from edgeship.core import typed
from edgeship.export.reader import check_bundle
from edgeship.pipeline import run

# the tests' TINY config (tests/conftest.py) as a file for the CLI in a subprocess, one format only: what is tested
# is the staging and the rename, not the converters
TINY_TOML = """
seed = 3
[data]
users = 500
items = 400
train_requests = 1500
test_requests = 80
history_len = 6
item_buckets = 512
item_encoding = "hash"
slate_size = 10
[model]
item_dim = 8
context_dim = 4
hidden = [16, 8]
[train]
epochs = 3
batch_size = 32
learning_rate = 5e-3
[quantization]
calibration_requests = 30
qat = false
recipes = ["full_int8"]  # one candidate per int8 slot: the recipe table has tests of its own
[export]
candidates = 12
verify_requests = 80
test_vectors = 3
formats = ["tflite"]
personal = false
[floors]
int8_ndcg_ratio = 0.97
int8_top10_overlap = 0.8
[personalization]
users = 8
tune_users = 4
eval_requests = 4
steps = [0, 1, 5]
choose_at = 5
learning_rates = [0.3]
"""


def test_a_failing_converter_loses_only_its_own_format(tiny_config, tmp_path, monkeypatch):
    from edgeship.export.coreml import convert as coreml


    def broken_export(job, out_dir, derived):  # a converter that writes half a file, then fails
        (out_dir / "ranker_fp32.mlmodel").write_bytes(b"half")
        raise RuntimeError("unsupported layer 'FancyAttention'\nlong converter trace")

    monkeypatch.setattr(coreml, "export", broken_export)
    cfg = replace(tiny_config, quantization=replace(tiny_config.quantization, qat=False))
    result = run(cfg, tmp_path / "bundle")
    manifest = json.loads((tmp_path / "bundle" / "manifest.json").read_text())
    assert manifest["failures"] == [{"format": "coreml", "failed_at": "convert", "artifact": None,
                                     "reason": "RuntimeError: unsupported layer 'FancyAttention' long converter trace"}]
    assert sorted(a["path"] for a in manifest["artifacts"]) == [
        "ranker_fp32.mlpackage", "ranker_fp32.onnx", "ranker_fp32.tflite", "ranker_int8.mlpackage", "ranker_int8.onnx",
        "ranker_int8.ort", "ranker_int8.tflite", "ranker_personal.tflite", "ranker_w8a8.mlpackage"]
    assert not list((tmp_path / "bundle").glob("*.mlmodel"))
    assert "Not in this bundle" in (tmp_path / "bundle" / "README.md").read_text()
    assert len(check_bundle(tmp_path / "bundle")) == 19  # what was written is whole and verifies (+ training)
    assert [typed.dump(f) for f in result.manifest.failures] == manifest["failures"]


def _edgeship(*args, **kw):
    return subprocess.Popen([sys.executable, "-m", "edgeship.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kw)


def _killed_at(config, out, kill_at: str) -> int:
    """A run SIGKILLed the moment the chosen step starts (its progress lines tell); its exit code."""
    proc = _edgeship("run", "--config", str(config), "--out", str(out))
    for line in proc.stderr:
        if kill_at in line:
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait(timeout=300)
    return proc.returncode


def test_killed_runs_leave_no_partial_bundle_and_a_rerun_completes(tmp_path, edgeship_cli):
    config = tmp_path / "tiny.toml"
    config.write_text(TINY_TOML)
    out = tmp_path / "bundle"
    stale = set()
    for kill_at in ("TensorFlow Lite: converting", "writing the bundle"):  # mid-conversion, and mid-write
        code = _killed_at(config, out, kill_at)
        assert code == -signal.SIGKILL, f"run ended before '{kill_at}'"
        assert not out.exists()  # the bundle appears only by one rename, when complete
        now = set(tmp_path.glob(".bundle.staging-*"))
        assert len(now) == 1 and not now & stale  # this run's staging is left; the previous dead one was cleared
        stale = now
    done = edgeship_cli("run", "--config", str(config), "--out", str(out))  # the rerun needs no process of its own
    assert done.returncode == 0, done.stderr[-2000:]
    assert len(check_bundle(out)) == 4  # two files, each replaying its tensor and raw test vectors
    assert not list(tmp_path.glob(".bundle.staging-*"))
