"""`edgeship gate` as CI runs it, on a real bundle: exit codes 0, 1 and 2, JUnit, summary. Once in a real
subprocess, as a CI step starts it; otherwise through the CLI's entry point in this process."""

import os
import shutil
import subprocess
import sys
from xml.etree import ElementTree as ET

import pytest

pytestmark = pytest.mark.unit  # TensorFlow-free: `make test-fast`

QUICK = ("--rounds", "3", "--invokes", "10")


@pytest.fixture
def gate(edgeship_cli):
    return lambda *args: edgeship_cli("gate", *args)


def _budgets(tmp_path, body: str):
    path = tmp_path / "budgets.toml"
    path.write_text(body)
    return path


@pytest.mark.heavy  # the process a CI step starts
def test_budgets_that_hold_exit_0_with_junit_and_step_summary(reference_bundle, tmp_path):
    budgets = _budgets(tmp_path, "[profiles.phone]\nformats = ['tflite', 'onnx']\nprecisions = ['int8']\n"
                                 "max_bytes = 10000000\nmax_p50_ms = 50.0\nmax_peak_rss_mb = 200\n"
                                 "min_ndcg_ratio = 0.9\nmobile_ops_only = true\n")
    summary = tmp_path / "summary.md"
    out = tmp_path / "gate"
    done = subprocess.run([sys.executable, "-m", "edgeship.cli", "gate", str(reference_bundle), "--budgets",
                           str(budgets), "--profile", "phone", "--out", str(out), *QUICK], capture_output=True,
                          text=True, timeout=300, env={**os.environ, "GITHUB_STEP_SUMMARY": str(summary)})
    assert done.returncode == 0, done.stdout + done.stderr
    # the int8 files of the two formats: ranker_int8.tflite, ranker_int8.onnx and the trainable file
    assert "gate passed: profile phone, 15 checks, 0 failed" in done.stdout
    suite = ET.parse(out / "gate.xml").getroot().find("testsuite")
    assert (suite.get("tests"), suite.get("failures")) == ("15", "0")
    cases = {(c.get("classname"), c.get("name")) for c in suite.iter("testcase")}
    budgets_checked = {"max_bytes", "mobile_ops_only", "min_ndcg_ratio", "max_p50_ms", "max_peak_rss_mb"}
    assert cases == {(f"edgeship.gate.phone.{a}", b) for a in ("ranker_int8.tflite", "ranker_int8.onnx",
                                                                "ranker_personal.tflite")
                     for b in budgets_checked}
    assert "profile `phone`: passed" in summary.read_text()
    assert (out / "bench.json").is_file() and (out / "gate.md").read_text() == summary.read_text()


def test_broken_budgets_exit_1_with_one_line_each(reference_bundle, tmp_path, gate):
    int8_bytes = (reference_bundle / "ranker_int8.tflite").stat().st_size
    budgets = _budgets(tmp_path, f"[profiles.tight]\nformats = ['tflite']\nprecisions = ['int8']\n"
                                 f"max_bytes = {int8_bytes - 1}\nmax_p50_ms = 0.0001\nmin_ndcg_ratio = 0.5\n")
    out = tmp_path / "gate"
    done = gate(str(reference_bundle), "--budgets", str(budgets), "--profile", "tight", "--out", str(out), *QUICK)
    assert done.returncode == 1, done.stdout + done.stderr
    fails = [line for line in done.stdout.splitlines() if line.startswith("FAIL ranker_int8.tflite")]
    assert fails[0] == (f"FAIL ranker_int8.tflite: max_bytes: {int8_bytes:,} bytes not ≤ {int8_bytes - 1:,} bytes")
    assert fails[1].startswith("FAIL ranker_int8.tflite: max_p50_ms: p50 ") and "above the budget 0.0001 ms" in fails[1]
    assert len(fails) == 2 and "Traceback" not in done.stderr
    # the trainable file is an int8 .tflite too (8-bit frozen weights), bigger and slower than the budget
    failures = [c for c in ET.parse(out / "gate.xml").getroot().iter("testcase") if c.find("failure") is not None]
    assert sorted((c.get("classname").split(".", 3)[3], c.get("name")) for c in failures) == [
        ("ranker_int8.tflite", "max_bytes"), ("ranker_int8.tflite", "max_p50_ms"),
        ("ranker_personal.tflite", "max_bytes"), ("ranker_personal.tflite", "max_p50_ms")]


def test_missing_format_in_the_bundle_is_a_failure(reference_bundle, tmp_path, gate):
    copy = tmp_path / "bundle"
    shutil.copytree(reference_bundle, copy)
    budgets = _budgets(tmp_path, "[profiles.p]\nformats = ['tflite']\nprecisions = ['fp16']\n")
    done = gate(str(copy), "--budgets", str(budgets), "--profile", "p", "--out", str(tmp_path / "g"), *QUICK)
    assert done.returncode == 1 and "FAIL tflite: precisions: the profile ships tflite in ['fp16']" in done.stdout


@pytest.mark.parametrize("case", ["missing bundle", "malformed toml", "unknown profile", "unknown key",
                                  "checksum", "relative without baseline", "bad rounds", "baseline checksum"])
def test_bad_input_exits_2_with_one_line_and_writes_nothing(case, reference_bundle, tmp_path, gate):
    bundle, budgets, profile, extra = str(reference_bundle), _budgets(tmp_path, "[profiles.p]\nmax_bytes = 1\n"), "p", []
    expect = {"missing bundle": "bundle or model file not found", "malformed toml": "not valid TOML",
              "unknown profile": "unknown profile 'nope'", "unknown key": "unknown key 'max_byte'",
              "checksum": "ranker_int8.tflite: checksum mismatch", "bad rounds": "--rounds: expected an integer >= 2",
              "relative without baseline": "has relative budgets (max_*_increase): pass --baseline",
              "baseline checksum": None}[case]
    if case == "missing bundle":
        bundle = str(tmp_path / "nothing")
    elif case == "malformed toml":
        budgets = _budgets(tmp_path, "[profiles.p\n")
    elif case == "unknown profile":
        profile = "nope"
    elif case == "unknown key":
        budgets = _budgets(tmp_path, "[profiles.p]\nmax_byte = 1\n")
    elif case == "checksum":
        bundle = str(tmp_path / "bundle")
        shutil.copytree(reference_bundle, bundle)
        (tmp_path / "bundle" / "ranker_int8.tflite").write_bytes(b"tampered")
    elif case == "relative without baseline":
        budgets = _budgets(tmp_path, "[profiles.p]\nmax_p50_increase = 0.1\n")
    elif case == "bad rounds":
        extra = ["--rounds", "1"]
    elif case == "baseline checksum":
        budgets = _budgets(tmp_path, "[profiles.p]\nmax_p50_increase = 0.1\n")
        shutil.copytree(reference_bundle, tmp_path / "old")
        (tmp_path / "old" / "ranker_int8.onnx").write_bytes(b"changed")
        extra = ["--baseline", str(tmp_path / "old")]
        expect = f"--baseline: {tmp_path / 'old' / 'ranker_int8.onnx'}: checksum mismatch"
    out = tmp_path / "out"
    done = gate(bundle, "--budgets", str(budgets), "--profile", profile, "--out", str(out), *extra)
    assert done.returncode == 2, done.stdout + done.stderr
    errors = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(errors) == 1 and errors[0].startswith("edgeship gate: error: ") and expect in errors[0], errors
    assert not out.exists()


def test_same_bundle_as_baseline_passes_a_relative_budget(reference_bundle, tmp_path, gate):
    budgets = _budgets(tmp_path, "[profiles.r]\nformats = ['tflite']\nprecisions = ['int8']\n"
                                 "max_p50_increase = 0.5\nmax_bytes_increase = 0.0\n")
    done = gate(str(reference_bundle), "--budgets", str(budgets), "--profile", "r", "--baseline", str(reference_bundle),
                 "--out", str(tmp_path / "g"), "--rounds", "6", "--invokes", "20")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "max_p50_increase: p50 " in done.stdout and "paired" in done.stdout
    assert "max_bytes_increase: " in done.stdout and "+0.0% within +0%" in done.stdout


def test_requests_larger_than_the_model_takes_fail(reference_bundle, tmp_path, gate):
    budgets = _budgets(tmp_path, "[profiles.p]\nformats = ['onnx']\nprecisions = ['int8']\ncandidates = 50\n"
                                 "max_p50_ms = 100.0\n")
    done = gate(str(reference_bundle), "--budgets", str(budgets), "--profile", "p", "--out", str(tmp_path / "g"), *QUICK)
    assert done.returncode == 1
    assert "FAIL ranker_int8.onnx: candidates: scores 12 candidates per call; the profile's requests have 50" \
        in done.stdout
    assert "ok   ranker_int8.onnx: max_p50_ms" in done.stdout  # still measured, at the K it takes


def test_an_iphone_style_profile_holds_the_ml_programs(reference_bundle, tmp_path, gate):
    """The .mlpackage folders of a bundle, and one alone: their facts (bytes, quality) against the budgets; Core ML
    cannot run here, so no latency budget is asked of them."""
    budgets = _budgets(tmp_path, "[profiles.ios]\nformats = ['mlprogram']\nprecisions = ['int8']\n"
                                 "max_bytes = 1048576\nmax_download_bytes = 524288\nmin_ndcg_ratio = 0.95\n")
    out = tmp_path / "gate"
    done = gate(str(reference_bundle), "--budgets", str(budgets), "--profile", "ios", "--out", str(out), *QUICK)
    assert done.returncode == 0, done.stdout + done.stderr
    cases = {(c.get("classname"), c.get("name")) for c in ET.parse(out / "gate.xml").getroot().iter("testcase")}
    assert cases == {(f"edgeship.gate.ios.{a}", b) for a in ("ranker_int8.mlpackage", "ranker_w8a8.mlpackage")
                     for b in ("max_bytes", "max_download_bytes", "min_ndcg_ratio")}
    tight = _budgets(tmp_path, "[profiles.ios]\nformats = ['mlprogram']\nmax_bytes = 1000\n")
    done = gate(str(reference_bundle / "ranker_w8a8.mlpackage"), "--budgets", str(tight), "--profile", "ios",
                "--out", str(tmp_path / "alone"), *QUICK)
    assert done.returncode == 1 and "FAIL ranker_w8a8.mlpackage: max_bytes: " in done.stdout, done.stdout


def test_a_folder_named_mlpackage_that_is_not_one_is_bad_input(tmp_path, gate):
    fake = tmp_path / "model.mlpackage"
    fake.mkdir()
    (fake / "weights.bin").write_bytes(b"\0" * 16)
    done = gate(str(fake), "--profile", "iphone", "--out", str(tmp_path / "gate"), *QUICK)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].endswith(
        "model.mlpackage: not a Core ML package (expected a folder with Manifest.json)"), done.stderr
    assert not (tmp_path / "gate").exists()
