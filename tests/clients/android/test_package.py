"""clients/android (dev.edgeship:edgeship-client) as an app builds it: Maven with Kotlin 2.4 (warnings are errors),
the conformance suite as JUnit tests, the tiny bundle's raw test vectors scored by ONNX Runtime Java; then a
planted one-character change in its hashing, time rule, clipping or rules order fails the suite."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit  # TensorFlow-free: `make test-fast`
ROOT = Path(__file__).resolve().parents[3]
PACKAGE = ROOT / "clients" / "android"
SUITE = ROOT / "clients" / "conformance"
MAIN = Path("src/main/kotlin/dev/edgeship/client")

PLANTS = {
    "hashing": ("Canonical.kt", "h = (h xor (b.toInt() and 0xFF)) * p", "h = (h or (b.toInt() and 0xFF)) * p"),
    "time rule": ("Encoder.kt", "Math.floorDiv(t, 86400L) + 3L, 7L)", "Math.floorDiv(t, 86400L) + 4L, 7L)"),
    "clip": ("Encoder.kt", "Math.min(Math.max(z, -f.clip), f.clip)", "Math.min(Math.max(z, +f.clip), f.clip)"),
    "rules order": ("Rules.kt", "compareValues(score.getValue(b), score.getValue(a))",
                    "compareValues(score.getValue(a), score.getValue(b))"),
    "release downgrade": ("Release.kt", "compareVersions(record.version, installed) <= 0",
                          "compareVersions(record.version, installed) < 0"),
}


def _maven(project: Path, bundle: Path, *extra: str) -> subprocess.CompletedProcess:
    assert shutil.which("mvn"), "mvn missing: `make test` installs Maven (Debian's maven) where it is not"
    return subprocess.run(["mvn", "-B", "-q", "-f", str(project / "pom.xml"), "test", f"-Dedgeship.conformance={SUITE}",
                           f"-Dedgeship.bundle={bundle}", *extra], capture_output=True, text=True, timeout=900)


def _copy(into: Path, plant: tuple[str, str, str] | None = None) -> Path:
    shutil.copytree(PACKAGE, into, ignore=shutil.ignore_patterns("target"))
    if plant is not None:
        path = into / MAIN / plant[0]
        text = path.read_text()
        assert text.count(plant[1]) == 1, plant
        path.write_text(text.replace(plant[1], plant[2]))
    return into


def test_kotlin_client_passes_the_suite_and_the_vectors_and_planted_changes_fail(tmp_path, reference_bundle):
    """One test, run serially: the first Maven build fetches what the later ones use from the local repository."""
    project = _copy(tmp_path / "clean")
    done = _maven(project, reference_bundle)
    assert done.returncode == 0, done.stdout[-4000:]
    cases = json.loads((SUITE / "cases.json").read_text())["cases"]
    groups = json.loads((project / "target" / "conformance.json").read_text())["groups"]
    releases = json.loads((SUITE / "releases" / "releases.json").read_text())
    assert {g: (r["passed"], r["failed"]) for g, r in groups.items()} == {
        **{g: (sum(c["group"] == g for c in cases), []) for g in ("encode", "errors", "merge", "rules", "fallback")},
        "release": (len(releases["cases"]), []), "bucket": (len(releases["buckets"]), []),
        "store": (len(releases["scenarios"]), []), "served": (len(releases["served"]["cases"]), []),
        "exploration": (len(json.loads((SUITE / "exploration.json").read_text())["cases"]), []),
        "logging": (len(json.loads((SUITE / "exploration.json").read_text())["logging"]), [])}
    vectors = json.loads((reference_bundle / "testvectors_raw.json").read_text())
    result = json.loads((project / "target" / "vectors.json").read_text())
    assert result["cases"] == len(vectors["cases"]) and result["failures"] == []
    assert set(result["files"]) == {"ranker_fp32.onnx", "ranker_int8.onnx", "ranker_int8.ort"}
    for name, r in result["files"].items():
        assert r["max_abs_error"] <= vectors["atol"][name] and r["ranked"] == r["with_rules"] == len(vectors["cases"])

    for what, plant in PLANTS.items():
        planted = _copy(tmp_path / what.replace(" ", "_"), plant)
        done = _maven(planted, reference_bundle, "-Dtest=ConformanceTest")
        assert done.returncode != 0, f"the planted change in the {what} passed the suite"
        failed = [f for r in json.loads((planted / "target" / "conformance.json").read_text())["groups"].values()
                  for f in r["failed"]]
        assert failed, what
