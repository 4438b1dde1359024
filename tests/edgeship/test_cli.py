"""The CLI as a user meets it: one line per user error, right exit codes, nothing written. In-process (the
`edgeship_cli` fixture runs the same entry point), and once as the real subprocess a user starts."""

import subprocess
import sys

import pytest

pytestmark = pytest.mark.unit  # TensorFlow-free: `make test-fast`


def test_bad_config_is_one_line_exit_2_and_writes_nothing(tmp_path, edgeship_cli):
    config = tmp_path / "bad.toml"
    config.write_text("[train]\nepochs = 'x'\n")
    out = tmp_path / "out"
    done = edgeship_cli("run", "--config", str(config), "--out", str(out))
    assert done.returncode == 2
    lines = [l for l in done.stderr.splitlines() if l.startswith("edgeship")]
    assert lines == [f"edgeship run: error: {config}: [train] epochs: expected an integer, got 'x'"]
    assert "Traceback" not in done.stderr and not out.exists()


def test_existing_bundle_needs_force(tmp_path, edgeship_cli):
    out = tmp_path / "out"
    out.mkdir()
    (out / "manifest.json").write_text("{}")
    done = edgeship_cli("run", "--out", str(out))
    assert done.returncode == 2 and "pass --force" in done.stderr
    assert (out / "manifest.json").read_text() == "{}"


@pytest.mark.heavy  # a process of its own: what a user starts
def test_unknown_argument_and_missing_bundle_in_a_real_process(tmp_path):
    def edgeship(*args):
        return subprocess.run([sys.executable, "-m", "edgeship.cli", *args], capture_output=True, text=True,
                              timeout=300)

    done = edgeship("run", "--frobnicate")
    assert done.returncode == 2 and "unrecognized arguments: --frobnicate" in done.stderr
    done = edgeship("verify", str(tmp_path / "nothing"))
    assert done.returncode == 2 and "bundle directory not found" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_summary_says_when_a_reference_was_cut_short_by_its_cap(reference_bundle):
    from dataclasses import replace

    from edgeship.cli import summary_table
    from edgeship.core.intervals import Interval
    from edgeship.export.manifest import read_manifest_file
    from edgeship.models.comparison import PAIRED_OVER_LISTS, Comparison
    from edgeship.models.settings import Convergence, TrainConfig

    manifest = read_manifest_file(reference_bundle / "manifest.json")
    reference = replace(manifest.metrics.model, auc=manifest.metrics.model.auc - 0.01)
    versus = Comparison("model", "reference_dnn", 80, 960, Interval(-0.002, -0.004, 0.001, method=PAIRED_OVER_LISTS),
                        Interval(0.01, 0.005, 0.015, method=PAIRED_OVER_LISTS))
    capped = Convergence.of([0.90, 0.91, 0.92, 0.93], TrainConfig(epochs=4, early_stopping="auc", patience=3))
    converged = Convergence.of([0.90, 0.93, 0.92, 0.91, 0.90], TrainConfig(epochs=100, early_stopping="auc",
                                                                          patience=3))
    for ended, warned in ((capped, True), (converged, False)):
        metrics = replace(manifest.metrics, reference_dnn=reference, reference_training={"reference_dnn": ended},
                          comparisons=[versus])
        text = summary_table(replace(manifest, metrics=metrics))
        assert "vs reference dnn (difference, 95% paired interval over lists):" in text
        assert "  model                  AUC +0.0100 [+0.0050, +0.0150]  NDCG@10 -0.0020 [-0.0040, +0.0010]" in text
        assert ("not trustworthy: the reference dnn was stopped by its cap of 4 epochs while still improving"
                in text) is warned
