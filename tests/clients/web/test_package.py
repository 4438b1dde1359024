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

import numpy as np
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
        "served": len(releases["served"]["cases"]),
        "exploration": len(json.loads((SUITE / "exploration.json").read_text())["cases"]),
        "logging": len(json.loads((SUITE / "exploration.json").read_text())["logging"])}

    done = _node(build / "test" / "logger.js")  # ImpressionLogger: failing sinks, overflowing queues
    assert done.returncode == 0 and "logger: ok" in done.stdout, done.stdout[-3000:]

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


def test_an_app_installs_buckets_explores_and_logs_what_edgeship_reads(workdir, reference_bundle, tmp_path):
    """clients/web/test/app_simulator.ts (the app of studies/release_loop) on signed releases of the reference
    bundle: a tampered release is refused and changes nothing, each user ranks with the release bucket() gives,
    a slate that did not explore is the Python reference's ranking with propensity 1 - eps + eps / n, and the log
    it writes is what `edgeship abtest` and `edgeship evaluate` read."""
    from edgeship.abtest import readout
    from edgeship.offpolicy import evaluate
    from edgeship.ondevice.impressions import read
    from edgeship.release.keys import keygen
    from edgeship.release.make import make_release
    from edgeship.release.rollout import bucket, default_salt
    from studies.release_loop import run_app, tampered

    app = _build(workdir) / "test" / "app_simulator.js"
    key, public = keygen(tmp_path / "keys")
    a, b = tmp_path / "a.tar", tmp_path / "b.tar"
    make_release(reference_bundle, key, "1.0.0", a)
    make_release(reference_bundle, key, "1.1.0", b, rollout=0.5, previous=a)
    flipped, edited = tampered(b, tmp_path, seed=3)
    cases = json.loads((reference_bundle / "testvectors_raw.json").read_text())["cases"]
    users = [f"user-{u}" for u in range(120)]
    with open(tmp_path / "visits.jsonl", "w") as f:
        for i, user in enumerate(users):
            request = cases[i % len(cases)]["request"]
            f.write(json.dumps({"request_id": f"r{i}", "user": user, "timestamp": 1764720000.0 + i,
                                "request": request, "p": [0.3] * len(request["items"])}) + "\n")
    plan = {"keys": [str(public)], "client_version": "0.1.0", "installs": [str(a), str(flipped), str(edited), str(b)],
            "shadow": str(a), "model_file": "ranker_int8.onnx", "epsilon": 0.3, "log_requests": True,
            "examination": [1.0, 0.8, 0.65], "seed": 5, "visits": str(tmp_path / "visits.jsonl"),
            "log": str(tmp_path / "log.jsonl")}
    summary = run_app(app, plan, tmp_path / "plan.json")
    assert [(i["result"], i["before"], i["after"]) for i in summary["installs"]] == [
        ("ok", None, "1.0.0"), ("checksum_mismatch", "1.0.0", "1.0.0"), ("bad_signature", "1.0.0", "1.0.0"),
        ("ok", "1.0.0", "1.1.0")]
    log = read(tmp_path / "log.jsonl")
    arms = dict(zip(log.users, log.arms))
    assert arms == {u: "1.1.0" if bucket(u, default_salt("1.1.0")) < 0.5 else "1.0.0" for u in users}
    assert 0 < list(arms.values()).count("1.1.0") < len(users)
    assert {e["user"]: e["bucket"] for e in map(json.loads, (tmp_path / "log.jsonl").read_text().splitlines())
            if e["event"] == "request"} == {u: bucket(u, default_salt("1.1.0")) for u in users}
    lines = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    requests = {e["request_id"]: e for e in lines if e["event"] == "request"}
    for r, rid in enumerate(log.request_ids):
        shown = [log.item[j] for j in np.flatnonzero(log.request == r)]
        case = cases[r % len(cases)]
        explored = next(e["explored"] for e in lines if e["event"] == "impression" and e["request_id"] == rid)
        n = len(case["with_rules"]["ranker_int8.onnx"])
        props = log.propensity[log.request == r]
        assert requests[rid]["shadow"]["items"] == case["with_rules"]["ranker_int8.onnx"][:len(shown)]
        if not explored:
            assert shown == case["with_rules"]["ranker_int8.onnx"][:len(shown)]
            assert np.allclose(props, 0.7 + 0.3 / n)
        else:
            assert all(np.isclose(p, 0.3 / n) or np.isclose(p, 0.7 + 0.3 / n) for p in props)
    assert 0.1 < np.mean([e["explored"] for e in lines if e["event"] == "impression" and e["position"] == 0]) < 0.5
    assert 0 < log.tapped.sum() < len(log.tapped) and summary["taps"] == int(log.tapped.sum())

    ab = readout(tmp_path / "log.jsonl", "1.0.0", "1.0.0=0.5,1.1.0=0.5", ["error_rate<=0"])
    assert ab.arms["1.0.0"].users + ab.arms["1.1.0"].users == len(users) and ab.sample_ratio.p_value > 0.001
    ope = evaluate(reference_bundle, tmp_path / "log.jsonl", None, tmp_path / "ope", file="ranker_int8.onnx",
                   resamples=50, step=lambda line: None)
    assert ope.rows == len(log.item) and ope.clicks == int(log.tapped.sum())
