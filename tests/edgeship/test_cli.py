"""The CLI as a user meets it: a real subprocess, one line per user error, right exit codes, nothing written."""

import subprocess
import sys


def _edgeship(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "edgeship.cli", *args], capture_output=True, text=True,
                          timeout=300, cwd=cwd)


def test_bad_config_is_one_line_exit_2_and_writes_nothing(tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text("[train]\nepochs = 'x'\n")
    out = tmp_path / "out"
    done = _edgeship("run", "--config", str(config), "--out", str(out))
    assert done.returncode == 2
    lines = [l for l in done.stderr.splitlines() if l.startswith("edgeship")]
    assert lines == [f"edgeship run: error: {config}: [train] epochs: expected an integer, got 'x'"]
    assert "Traceback" not in done.stderr and not out.exists()


def test_existing_bundle_needs_force(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "manifest.json").write_text("{}")
    done = _edgeship("run", "--out", str(out))
    assert done.returncode == 2 and "pass --force" in done.stderr
    assert (out / "manifest.json").read_text() == "{}"


def test_unknown_argument_and_missing_bundle(tmp_path):
    done = _edgeship("run", "--frobnicate")
    assert done.returncode == 2 and "unrecognized arguments: --frobnicate" in done.stderr
    done = _edgeship("verify", str(tmp_path / "nothing"))
    assert done.returncode == 2 and "bundle directory not found" in done.stderr
    assert "Traceback" not in done.stderr
