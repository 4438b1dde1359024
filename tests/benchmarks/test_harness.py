"""The harness on real files in real runtimes: a tiny bundle and the shared foreign models."""

import json
import shutil
from pathlib import Path

import pytest

from edgeship.benchmarks import report
from edgeship.benchmarks.harness import Worker, WorkerError, collect_targets, run_bench
from edgeship.benchmarks.records import BENCH_VERSION, BenchConfig, Group, Measurement, read_bench
from edgeship.core.errors import EdgeshipError, InputError

pytestmark = pytest.mark.unit  # TensorFlow-free: `make test-fast`

FOREIGN = Path(__file__).resolve().parents[3] / "shared" / "data" / "third_party_models"
QUICK = BenchConfig(threads=(1,), rounds=3, invokes=10, warmup=2)


@pytest.fixture(scope="module")
def tiny_bench(reference_bundle):
    files = [FOREIGN / "tflite" / "hello_world_float.tflite", FOREIGN / "onnx" / "test_Linear" / "model.onnx",
             FOREIGN / "onnx" / "test_Sigmoid" / "model.onnx"]
    targets, source = collect_targets([reference_bundle, *files])
    return run_bench(targets, QUICK, source, progress=lambda _: None)


def _by(result, label, **kw):
    kw.setdefault("call", "infer")
    found = [m for m in result.measurements if m.label == label and all(getattr(m, k) == v for k, v in kw.items())]
    assert len(found) == 1, (label, kw, [(m.label, m.candidates) for m in result.measurements])
    return found[0]


def test_bundle_artifacts_are_measured_beside_their_identity_floor(tiny_bench, reference_bundle):
    k = json.loads((reference_bundle / "manifest.json").read_text())["model"]["candidates"]
    for label, runtime in (("ranker_int8.tflite", "litert"), ("ranker_fp32.onnx", "onnxruntime")):
        m = _by(tiny_bench, label, candidates=k)
        assert m.status == "pass" and m.runtime == runtime and m.latency_ms.n == 30 and len(m.rounds_ms) == 3
        assert 0 < m.latency_ms.min <= m.latency_ms.p50 <= m.latency_ms.p90 <= m.latency_ms.p99
        assert m.load_ms > 0 and m.first_ms > 0 and m.peak_rss_mb > m.rss_runtime_mb > 10
        ident = _by(tiny_bench, m.identity, threads=1)
        assert ident.group == "identity" and ident.status == "pass"
        # a model that gathers, multiplies and softmaxes cannot be cheaper than copying its inputs
        assert m.latency_ms.p50 > ident.latency_ms.p50
        one = _by(tiny_bench, label, candidates=1)  # the bundle's files take exactly K candidates
        assert one.status == "skip" and f"padded to {k}" in one.reason
    assert not any(m.label.endswith(".mlmodel") for m in tiny_bench.measurements)  # no Core ML runtime here


def test_each_model_file_says_where_its_time_goes(tiny_bench):
    """Per operator type, by each runtime's own method; the trainable file and the identity models left out."""
    profiles = {p.label: p for p in tiny_bench.profiles}
    assert {"ranker_fp32.tflite", "ranker_int8.tflite", "ranker_fp32.onnx", "ranker_int8.onnx",
            "ranker_int8.ort"} <= set(profiles)
    assert not any("personal" in label or label.startswith("identity") for label in profiles)
    for label, p in profiles.items():
        assert p.total_us > 0 and p.ops and p.method
        assert sum(o.us for o in p.ops) == pytest.approx(p.total_us, rel=0.01, abs=0.05), label
        assert sum(o.share for o in p.ops) == pytest.approx(1.0, abs=0.01), label
    # ONNX Runtime's profiler counts every node of the graph it runs; LiteRT's method every op of the file
    assert {o.op for o in profiles["ranker_int8.tflite"].ops} >= {"FULLY_CONNECTED", "GATHER"}
    assert profiles["ranker_fp32.onnx"].runtime == "onnxruntime" and "Gemm" in " ".join(
        o.op for o in profiles["ranker_fp32.onnx"].ops)


def test_each_tflite_is_also_timed_through_the_compiled_model_api(tiny_bench, reference_bundle):
    k = json.loads((reference_bundle / "manifest.json").read_text())["model"]["candidates"]
    for label in ("ranker_fp32.tflite", "ranker_int8.tflite", "ranker_personal.tflite"):
        m = _by(tiny_bench, label, candidates=k, call="second_api")
        assert m.status == "pass" and m.runtime == "litert · CompiledModel" and m.latency_ms.p50 > 0
        assert m.name == f"{label} · second_api"
    assert not [m for m in tiny_bench.measurements if m.call == "second_api" and not m.label.endswith(".tflite")]


def test_foreign_models_run_or_fail_with_the_runtime_reason(tiny_bench):
    hello = _by(tiny_bench, "hello_world_float.tflite")
    assert hello.status == "pass" and hello.candidates is None
    linear = _by(tiny_bench, "test_Linear/model.onnx")
    assert linear.status == "fail" and "Gemm(6)" in linear.reason
    assert _by(tiny_bench, "test_Sigmoid/model.onnx").status == "pass"


def test_reports_are_written_and_not_silently_replaced(tiny_bench, tmp_path):
    report.write(tiny_bench, tmp_path, force=False)
    again = read_bench(tmp_path)
    assert again.schema_version == BENCH_VERSION and again.targets == tiny_bench.targets
    assert again.measurements == tiny_bench.measurements
    md = (tmp_path / "bench.md").read_text()
    assert "| ranker_int8.tflite | litert | 1 |" in md and "identity" in md and "Gemm(6)" in md
    assert "## Where the time goes" in md and again.profiles == tiny_bench.profiles
    for name in report.PLOTS:
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(EdgeshipError, match="already holds a bench.json"):
        report.write(tiny_bench, tmp_path, force=False)


def test_changed_artifact_is_refused_before_anything_runs(reference_bundle, tmp_path):
    copy = tmp_path / "bundle"
    shutil.copytree(reference_bundle, copy)
    with open(copy / "ranker_int8.onnx", "ab") as f:
        f.write(b"\0")
    with pytest.raises(EdgeshipError, match="ranker_int8.onnx: checksum mismatch"):
        collect_targets([copy])


def test_not_a_model_file(tmp_path):
    bogus = tmp_path / "model.tflite"
    bogus.write_bytes(b"not a flatbuffer")
    with pytest.raises(EdgeshipError, match="not a readable tflite model"):
        collect_targets([bogus])
    with pytest.raises(EdgeshipError, match="expected a .tflite, .onnx, .mlmodel, .mlpackage or .ort file"):
        collect_targets([Path(__file__)])


def test_a_folder_without_manifest_is_bad_input(tmp_path):
    with pytest.raises(InputError, match="not a bundle \\(no manifest.json\\)") as e:
        collect_targets([tmp_path])
    assert e.value.exit_code == 2


def test_worker_answers_an_unknown_command_with_an_error_the_parent_raises():
    worker = Worker(Measurement("x", Group.IDENTITY, "onnxruntime", 1, None), Path(), ())
    try:
        with pytest.raises(WorkerError, match="unknown command 'measure'"):
            worker.ask({"cmd": "measure"})
        assert worker.proc.wait(timeout=30) == 1  # and it exits instead of waiting for more
    finally:
        worker.close()


def test_an_ml_program_alone_gets_its_facts_and_a_changed_one_in_a_bundle_is_refused(reference_bundle, tmp_path):
    """A .mlpackage is a folder: on its own it is a model file, not a bundle; inside a bundle its checksum covers
    every file in it."""
    targets, source = collect_targets([reference_bundle / "ranker_w8a8.mlpackage"])
    (target,) = targets
    assert target.format == "mlprogram" and source["files"] == [str(reference_bundle / "ranker_w8a8.mlpackage")]
    facts = target.facts
    manifest = json.loads((reference_bundle / "manifest.json").read_text())
    assert facts.bytes == next(a["bytes"] for a in manifest["artifacts"] if a["path"] == "ranker_w8a8.mlpackage")
    assert {"quantize", "dequantize", "constexpr_affine_dequantize", "gather"} <= set(facts.operators)
    assert facts.notes[0] == "weights 8-bit, activations 8-bit, compute fp16"
    copy = tmp_path / "bundle"
    shutil.copytree(reference_bundle, copy)
    weights = copy / "ranker_w8a8.mlpackage" / "Data" / "com.apple.CoreML" / "weights" / "weight.bin"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 1
    weights.write_bytes(bytes(data))
    with pytest.raises(EdgeshipError, match="ranker_w8a8.mlpackage: checksum mismatch"):
        collect_targets([copy])
