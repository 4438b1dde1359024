"""Faults: one format's converter failing, and a run killed at any moment."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from dataclasses import replace

import pytest

from edgeship.export import format_module
from edgeship.export.check import check_bundle
from edgeship.pipeline import run

# the tests' TINY config (tests/conftest.py) as a file, for the CLI in a subprocess
TINY_TOML = """
seed = 3
[data]
users = 500
items = 400
train_requests = 1500
test_requests = 80
history_len = 6
item_buckets = 512
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
[export]
candidates = 12
verify_requests = 80
test_vectors = 3
formats = ["tflite", "onnx"]
[floors]
int8_ndcg_ratio = 0.97
int8_top10_overlap = 0.8
"""


def test_a_failing_converter_loses_only_its_own_format(tiny_config, tmp_path, monkeypatch):
    coreml = format_module("coreml")

    def broken_export(job, out_dir):  # a converter that writes half a file, then fails
        (out_dir / "ranker_fp32.mlmodel").write_bytes(b"half")
        raise RuntimeError("unsupported layer 'FancyAttention'\nlong converter trace")

    monkeypatch.setattr(coreml, "export", broken_export)
    cfg = replace(tiny_config, quantization=replace(tiny_config.quantization, qat=False))
    result = run(cfg, tmp_path / "bundle")
    manifest = json.loads((tmp_path / "bundle" / "manifest.json").read_text())
    assert manifest["failures"] == [{"format": "coreml", "stage": "convert",
                                     "reason": "RuntimeError: unsupported layer 'FancyAttention' long converter trace"}]
    assert sorted(a["path"] for a in manifest["artifacts"]) == [
        "ranker_fp32.onnx", "ranker_fp32.tflite", "ranker_int8.onnx", "ranker_int8.tflite"]
    assert not list((tmp_path / "bundle").glob("*.mlmodel"))
    assert "Not in this bundle" in (tmp_path / "bundle" / "README.md").read_text()
    assert len(check_bundle(tmp_path / "bundle")) == 4  # what was written is whole and verifies
    assert result.manifest["failures"] == manifest["failures"]


def _edgeship(*args, **kw):
    return subprocess.Popen([sys.executable, "-m", "edgeship.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kw)


@pytest.mark.parametrize("kill_at", ["onnx: converting", "writing the bundle"])
def test_killed_run_leaves_no_partial_bundle_and_a_rerun_completes(kill_at, tmp_path):
    config = tmp_path / "tiny.toml"
    config.write_text(TINY_TOML)
    out = tmp_path / "bundle"
    proc = _edgeship("run", "--config", str(config), "--out", str(out))
    for line in proc.stderr:  # progress lines; SIGKILL the moment the chosen step starts
        if kill_at in line:
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait(timeout=300)
    assert proc.returncode == -signal.SIGKILL, f"run ended before '{kill_at}'"
    assert not out.exists()  # the bundle appears only by one rename, when complete
    leftovers = list(tmp_path.glob(".bundle*"))  # the staging folder of the killed run
    rerun = _edgeship("run", "--config", str(config), "--out", str(out))
    _, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err
    assert len(check_bundle(out)) == 4
    assert not [p for p in leftovers if p.exists()]  # the rerun cleared the dead run's staging
