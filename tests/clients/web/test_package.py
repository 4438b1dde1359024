"""clients/web (@edgeship/client) as an app uses it: compiled with tsc (strict) and run under Node against the
conformance suite and the tiny bundle's raw test vectors with onnxruntime-node, and in headless Chromium with
onnxruntime-web and LiteRT.js (both WASM); a planted one-character change in its hashing, time rule, clipping or
rules order fails the suite."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit  # TensorFlow-free: `make test-fast`
ROOT = Path(__file__).resolve().parents[3]
PACKAGE = ROOT / "clients" / "web"
SUITE = ROOT / "clients" / "conformance"


def _build(into: Path, plant: tuple[str, str, str] | None = None) -> Path:
    """The package's sources copied into `into` (beside its node_modules, so Node and tsc find them), with one
    planted change (file, old, new) if given, compiled; the compiled folder."""
    shutil.rmtree(into, ignore_errors=True)
    into.mkdir(parents=True)
    for name in ("src", "test"):  # test/browser/ (the page) comes along
        shutil.copytree(PACKAGE / name, into / name)
    for name in ("tsconfig.json", "tsconfig.test.json", "package.json"):
        shutil.copyfile(PACKAGE / name, into / name)
    (into / "node_modules").symlink_to(PACKAGE / "node_modules")
    if plant is not None:
        path = into / "src" / plant[0]
        text = path.read_text()
        assert text.count(plant[1]) == 1, plant
        path.write_text(text.replace(plant[1], plant[2]))
    tsc = PACKAGE / "node_modules" / ".bin" / "tsc"
    assert tsc.exists(), f"{tsc} missing: `make test` installs clients/web's Node packages (npm ci)"
    done = subprocess.run([str(tsc), "-p", str(into / "tsconfig.test.json")], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout[-3000:]
    return into / "build"


@pytest.fixture
def workdir(tmp_path):
    # inside clients/web's build/ (git-ignored): one folder per test and pytest process
    folder = PACKAGE / "build" / f"{os.getpid()}-{tmp_path.name}"
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def _node(script: Path, *args) -> subprocess.CompletedProcess:
    return subprocess.run(["node", str(script), *map(str, args)], capture_output=True, text=True, timeout=300)


def test_conformance_suite_and_raw_vectors_pass_under_node(workdir, reference_bundle):
    build = _build(workdir)
    report = workdir / "conformance.json"
    done = _node(build / "test" / "conformance.js", SUITE, report)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    cases = json.loads((SUITE / "cases.json").read_text())["cases"]
    groups = json.loads(report.read_text())["groups"]
    releases = json.loads((SUITE / "releases" / "releases.json").read_text())
    assert {g: r["passed"] for g, r in groups.items()} == {
        **{g: sum(c["group"] == g for c in cases) for g in ("encode", "errors", "merge", "rules", "fallback")},
        "release": len(releases["cases"]), "bucket": len(releases["buckets"]), "store": len(releases["scenarios"]),
        "exploration": len(json.loads((SUITE / "exploration.json").read_text())["cases"]),
        "logging": len(json.loads((SUITE / "exploration.json").read_text())["logging"])}

    report = workdir / "vectors.json"
    done = _node(build / "test" / "vectors.js", reference_bundle, report)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads(report.read_text())
    vectors = json.loads((reference_bundle / "testvectors_raw.json").read_text())
    assert result["cases"] == len(vectors["cases"]) and result["failures"] == []
    assert set(result["files"]) == {"ranker_fp32.onnx", "ranker_int8.onnx", "ranker_int8.ort"}
    for name, r in result["files"].items():
        assert r["max_abs_error"] <= vectors["atol"][name] and r["ranked"] == r["with_rules"] == len(vectors["cases"])


def test_raw_vectors_pass_in_headless_chromium_with_onnxruntime_web_and_litert_js(workdir, reference_bundle):
    assert Path("/usr/bin/chromium").exists(), "chromium missing: `make test` installs Debian's chromium"
    build = _build(workdir)
    report = workdir / "browser.json"
    done = _node(build / "test" / "browser.js", reference_bundle, report)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads(report.read_text())
    vectors = json.loads((reference_bundle / "testvectors_raw.json").read_text())
    assert "HeadlessChrome" in result["userAgent"] and result["failures"] == []
    assert {n: r["runtime"] for n, r in result["files"].items()} == {
        "ranker_fp32.tflite": "LiteRT.js (wasm)", "ranker_int8.tflite": "LiteRT.js (wasm)",
        "ranker_fp32.onnx": "onnxruntime-web (wasm)", "ranker_int8.onnx": "onnxruntime-web (wasm)",
        "ranker_int8.ort": "onnxruntime-web (wasm)"}
    for name, r in result["files"].items():
        assert r["max_abs_error"] <= vectors["atol"][name] and r["ranked"] == r["with_rules"] == len(vectors["cases"])


PLANTS = {
    "hashing": ("canonical.ts", "h = Math.imul((h ^ byte) >>> 0", "h = Math.imul((h | byte) >>> 0"),
    "time rule": ("encoder.ts", "Math.floor(t / 86400) + 3, 7)", "Math.floor(t / 86400) + 4, 7)"),
    "clip": ("encoder.ts", "Math.min(Math.max(z, -f.clip), f.clip)", "Math.min(Math.max(z, +f.clip), f.clip)"),
    "rules order": ("rules.ts", "(score.get(b)! - score.get(a)!) || (a - b)",
                    "(score.get(b)! - score.get(a)!) || (b - a)"),
    "release downgrade": ("release.ts", "compareVersions(record.version, installed) <= 0",
                          "compareVersions(record.version, installed) < 0"),
}


@pytest.mark.parametrize("what", PLANTS)
def test_a_planted_change_fails_the_suite(workdir, what):
    build = _build(workdir, PLANTS[what])
    done = _node(build / "test" / "conformance.js", SUITE)
    assert done.returncode == 1 and "FAILED" in done.stdout, (what, done.stdout[-2000:])
