"""The generated TypeScript as a web or React Native app runs it: compiled with tsc (strict) and run under Node
with onnxruntime-node (clients/web, installed by `make test`) against the tiny bundle's raw test vectors; and
planted mistakes in the generated encoding caught by that same replay."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

import clients.codegen as integration
from clients.codegen import web

pytestmark = pytest.mark.unit  # TensorFlow-free: `make test-fast`
ROOT = Path(__file__).resolve().parents[3]
CLIENT = ROOT / "clients" / "web"



@pytest.fixture
def replay(tmp_path):
    """replay(bundle, ts_text) -> report: the TypeScript compiled beside clients/web/run_vectors.ts, then run."""
    tsc = CLIENT / "node_modules" / ".bin" / "tsc"
    assert tsc.exists(), f"{tsc} missing: `make test` installs clients/web's Node packages (npm ci)"
    # inside clients/web, so Node and tsc find its node_modules; one folder per test and per pytest process
    build = CLIENT / "build" / f"{os.getpid()}-{tmp_path.name}"
    shutil.rmtree(build, ignore_errors=True)
    build.mkdir(parents=True)

    def run(bundle: Path, ts_text: str) -> dict:
        (build / "edgeship_ranker.ts").write_text(ts_text)
        shutil.copyfile(CLIENT / "run_vectors.ts", build / "run_vectors.ts")
        (build / "tsconfig.json").write_text(json.dumps({"extends": "../../tsconfig.json", "include": ["*.ts"]}))
        compiled = subprocess.run([str(tsc), "-p", str(build), "--outDir", str(build / "out")],
                                  capture_output=True, text=True, timeout=300)
        assert compiled.returncode == 0, compiled.stdout[-3000:]
        report = build / "report.json"
        done = subprocess.run(["node", str(build / "out" / "run_vectors.js"), str(bundle), str(report)],
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
        return json.loads(report.read_text())

    yield run
    shutil.rmtree(build, ignore_errors=True)


def test_generated_client_replays_the_raw_vectors_under_node(reference_bundle, reference_contract, replay):
    code = web.render(reference_contract)
    report = replay(reference_bundle, code)
    vectors = json.loads((reference_bundle / "testvectors_raw.json").read_text())
    assert report["cases"] == len(vectors["cases"]) == 4 and report["encoding"] == []  # every tensor exact
    assert set(report["files"]) == {"ranker_fp32.onnx", "ranker_int8.onnx", "ranker_int8.ort"}
    for name, result in report["files"].items():
        assert result["max_abs_error"] <= vectors["atol"][name], (name, result)
        assert result["ranked_equal"] == 4 and result["with_rules_equal"] == 4, (name, result)
    # the rules engine on every file's recorded scores gives exactly the order Python's gave
    assert report["rules_differ"] == []
    fallback = report["fallback"]
    assert fallback["unloadable"] == {"by": "fallback.json", "reason": "Error: the model did not load",
                                      "equal": [True] * 4}
    assert fallback["too_many"]["by"] == "fallback.json" and "at most 12 per call" in fallback["too_many"]["reason"]
    assert fallback["no_table"] == {"by": "given order", "given_order": True}


@pytest.mark.parametrize("plant, first_line", [
    # the item hash with another seed: every hashed item id moves
    (lambda c: dataclasses.replace(c, hash=dataclasses.replace(c.hash, offset_basis=c.hash.offset_basis ^ 1)),
     "history["),
    # the first two context columns swapped (hour and weekday)
    (lambda c: dataclasses.replace(c, context=[dataclasses.replace(c.context[1], column=0),
                                               dataclasses.replace(c.context[0], column=1), *c.context[2:]]),
     "context["),
])
def test_a_planted_mistake_in_the_generated_encoding_is_caught(reference_bundle, reference_contract, replay, plant,
                                                               first_line):
    report = replay(reference_bundle, web.render(plant(reference_contract)))
    assert report["encoding"] and first_line in report["encoding"][0], report["encoding"]


def test_a_planted_mistake_in_the_generated_rules_engine_is_caught(reference_bundle, reference_contract, replay):
    code = web.render(reference_contract)
    wrong = code.replace("(matches(b.match, request, i) ? b.by : 0)", "(matches(b.match, request, i) ? -b.by : 0)")
    assert wrong != code
    report = replay(reference_bundle, wrong)
    assert report["encoding"] == [] and report["rules_differ"], report["rules_differ"]


def test_the_file_embeds_the_contracts_constants(reference_bundle, reference_contract):
    text = web.render(reference_contract)
    assert integration.embedded(text) == integration.constants(reference_contract)
    features = json.loads((reference_bundle / "features.json").read_text())
    embedded = integration.embedded(text)
    assert embedded["k"] == features["candidates"]["k"] == 12
    assert [c["source"] for c in embedded["context"]] == [c["source"] for c in features["context"]]
    assert embedded["hash"]["offset_basis"] == features["hash"]["offset_basis"] == 0x811C9DC5
    assert [f["mean"] for f in embedded["features"]] == [f["mean"] for f in features["candidate_features"]]


def test_the_command_writes_every_platforms_code_and_refuses_a_folder_that_is_no_bundle(reference_bundle,
                                                                                      reference_contract, tmp_path,
                                                                                      capsys):
    from clients.codegen.__main__ import main

    assert main([str(reference_bundle), "--out", str(tmp_path)]) == 0
    expected = integration.files(reference_contract)
    assert sorted(capsys.readouterr().out.split()) == sorted(str(tmp_path / rel) for rel in expected)
    assert len(expected) == 4 and all((tmp_path / rel).read_text() == text for rel, text in expected.items())
    assert main([str(tmp_path), "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a bundle (no manifest.json)" in err and not (tmp_path / "x").exists()
