"""The generated Kotlin on a desktop JVM (Debian's kotlinc 1.3, installed by `make test`): its encoding against
the tiny bundle's raw test vectors, exactly; its ranking and fallback around a model call that returns the
file's recorded scores or fails (LiteRT has no desktop-JVM library here, so the model call itself is not run);
its compiled constants against features.json; and planted mistakes in the generated encoding caught."""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import clients.codegen as integration
from clients.codegen import android

ROOT = Path(__file__).resolve().parents[3]
DRIVER = ROOT / "clients" / "android" / "RunVectors.kt"
SEP = "\x1f"

PLANTS = {  # package -> a wrong contract the generated code is made from
    "edgeship_wrong_seed": lambda c: dataclasses.replace(
        c, hash=dataclasses.replace(c.hash, offset_basis=c.hash.offset_basis ^ 1)),
    "edgeship_swapped_columns": lambda c: dataclasses.replace(
        c, context=[dataclasses.replace(c.context[1], column=0), dataclasses.replace(c.context[0], column=1),
                    *c.context[2:]]),
}


def _requests(bundle: Path) -> str:
    """testvectors_raw.json and vocabularies.json in the driver's line format."""
    vocab = json.loads((bundle / "vocabularies.json").read_text())
    raw = json.loads((bundle / "testvectors_raw.json").read_text())
    lines = [SEP.join(["V", f["name"], *f.get("values", [])]) for f in vocab["fields"]]
    for i, case in enumerate(raw["cases"]):
        r = case["request"]
        lines += [f"C{SEP}{i}", SEP.join(["I", *r["items"]]), SEP.join(["H", *r["history"]]),
                  SEP.join(["T"] + ([repr(r["timestamp"])] if r["timestamp"] is not None else [])),
                  SEP.join(["X", *[x for kv in r["context"].items() for x in kv]])]
        lines += [SEP.join(["F", *[x for name, v in f.items() for x in (name, repr(float(v)))]]) for f in r["features"]]
        lines += [SEP.join(["A", *[x for kv in a.items() for x in kv]]) for a in r["attributes"]]
        lines += [SEP.join(["S", file, *map(repr, np.ravel(scores).tolist())]) for file, scores in case["expected"].items()]
        lines.append("E")
    return "\n".join(lines) + "\n"


def _parse(out: str) -> dict:
    report = {"encoded": {}, "ranked": {}, "ruled": {}, "fallback": {}, "fallbackorder": {}}
    for line in out.splitlines():
        kind, _, rest = line.partition(" ")
        if kind == "constants":
            report["constants"] = json.loads(rest)
        elif kind == "encoded":
            i, name, values = (rest.split(" ", 2) + [""])[:3]
            report["encoded"][(int(i), name)] = [float(v) for v in values.split()]
        elif kind in ("ranked", "ruled"):
            i, file, ids = (rest.split(" ", 2) + [""])[:3]
            report[kind][(int(i), file)] = ids.split(SEP)
        elif kind == "fallbackorder":
            i, by, ids = (rest.split(" ", 2) + [""])[:3]
            report[kind][int(i)] = (by, ids.split(SEP))
        elif kind == "fallback":
            name, by, reason = rest.split(" ", 2)
            report["fallback"][name] = (by, reason)
    return report


@pytest.fixture(scope="module")
def jvm(reference_bundle, reference_contract, tmp_path_factory):
    """run(package) -> report: the generated code (package edgeship) and each planted variant, compiled with
    the driver in one kotlinc call (the compiler's start-up is most of its time), then run on the JVM."""
    kotlinc = shutil.which("kotlinc")
    assert kotlinc, "kotlinc missing: `make test` installs Debian's kotlin package"
    build = tmp_path_factory.mktemp("kotlin")
    sources = {"edgeship": android.files(reference_contract)[android.RANKER]}
    sources.update({pkg: android.files(plant(reference_contract))[android.RANKER] for pkg, plant in PLANTS.items()})
    sources["edgeship_wrong_boost"] = sources["edgeship"].replace("s += b.by", "s -= b.by")  # a demotion for a boost
    assert sources["edgeship_wrong_boost"] != sources["edgeship"]
    paths = []
    for pkg, code in sources.items():
        for name, text in (("EdgeshipRanker.kt", code), ("RunVectors.kt", DRIVER.read_text())):
            path = build / pkg / name
            path.parent.mkdir(exist_ok=True)
            path.write_text(text.replace("package edgeship\n", f"package {pkg}\n", 1))
            paths.append(str(path))
    jar = build / "run_vectors.jar"
    done = subprocess.run([kotlinc, *paths, "-include-runtime", "-d", str(jar)], capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    requests = build / "requests.txt"
    requests.write_text(_requests(reference_bundle))

    def run(package: str) -> dict:
        out = subprocess.run(["java", "-cp", str(jar), f"{package}.RunVectorsKt", str(requests), str(reference_bundle)],
                             capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr[-3000:]
        return _parse(out.stdout)

    return run


def test_kotlin_encodes_every_raw_request_exactly(jvm, reference_bundle):
    report = jvm("edgeship")
    raw = json.loads((reference_bundle / "testvectors_raw.json").read_text())
    assert len(report["encoded"]) == 4 * len(raw["cases"]) == 16
    for i, case in enumerate(raw["cases"]):
        for name, want in case["tensors"].items():
            got = np.asarray(report["encoded"][(i, name)], np.float32)
            np.testing.assert_array_equal(got, np.ravel(np.asarray(want, np.float32)), err_msg=f"case {i} {name}")


def test_kotlin_ranks_and_applies_the_rules_like_the_vectors_and_falls_back(jvm, reference_bundle):
    report = jvm("edgeship")
    raw = json.loads((reference_bundle / "testvectors_raw.json").read_text())
    changed = 0
    for i, case in enumerate(raw["cases"]):
        for file, ids in case["ranked"].items():
            assert report["ranked"][(i, file)] == ids, (i, file)
            assert report["ruled"][(i, file)] == case["with_rules"][file], (i, file)
            changed += case["with_rules"][file] != ids
        # no model: fallback.json (read by the generated JSON reader) under the same rules
        assert report["fallbackorder"][i] == ("fallback.json", case["fallback"]), i
    assert changed > 0  # the tiny bundle's rules do reorder: the comparison above is not of identical lists
    fallback = report["fallback"]
    assert fallback["unloadable"] == ("given_order", "java.lang.IllegalStateException: the model did not load")
    assert fallback["throwing"] == ("given_order", "java.lang.IllegalStateException: interpreter failed")
    assert fallback["too_many"][0] == "fallback.json" and "at most 12 per call" in fallback["too_many"][1]


def test_a_planted_mistake_in_the_generated_rules_engine_is_caught(jvm, reference_bundle):
    report = jvm("edgeship_wrong_boost")
    raw = json.loads((reference_bundle / "testvectors_raw.json").read_text())
    wrong = [(i, file) for i, case in enumerate(raw["cases"]) for file, ids in case["with_rules"].items()
             if report["ruled"][(i, file)] != ids]
    assert wrong


def test_compiled_constants_are_the_contracts(jvm, reference_contract):
    assert jvm("edgeship")["constants"] == integration.constants(reference_contract)


@pytest.mark.parametrize("package, tensor", [("edgeship_wrong_seed", "history"),
                                             ("edgeship_swapped_columns", "context")])
def test_a_planted_mistake_in_the_generated_encoding_is_caught(jvm, reference_bundle, package, tensor):
    report = jvm(package)
    raw = json.loads((reference_bundle / "testvectors_raw.json").read_text())
    wrong = [(i, name) for i, case in enumerate(raw["cases"]) for name, want in case["tensors"].items()
             if not np.array_equal(np.asarray(report["encoded"][(i, name)], np.float32),
                                   np.ravel(np.asarray(want, np.float32)))]
    assert wrong and wrong[0][1] == tensor, wrong
