"""`edgeship run`: data -> train -> quantize -> convert -> verify every file -> bundle."""

from __future__ import annotations

import platform
import sys
import time
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import numpy as np

from . import __version__, sources
from .config import RunConfig
from .errors import ConfigError, VerificationError
from .export import bundle as bundle_mod
from .export import format_module
from .export.quantization import quantization_aware_model, representative_dataset
from .export.readme import render_readme
from .export.types import Artifact, ExportJob
from .export.verify import verify
from .models import ranker as ranker_mod
from .models.features import hash_item_id
from .models.metrics import MIN_POSITIVES, RankingMetrics, evaluate
from .models.training import seed_everything
from .progress import Steps

VERSIONED_PACKAGES = ("tensorflow", "tf-keras", "tensorflow-model-optimization", "coremltools", "onnx", "onnxruntime",
                      "tf2onnx", "ai-edge-litert", "numpy")


@dataclass
class RunResult:
    out: Path
    manifest: dict
    seconds: float


def evaluate_scorers(data, model_scores: np.ndarray) -> dict[str, RankingMetrics]:
    test = data.test
    scorers = {"model": ranker_mod.probabilities(model_scores), "rule_baseline": data.baseline_scores}
    if test.true_prob is not None:
        scorers["oracle"] = test.true_prob
    return {name: evaluate(scores, test.labels, probabilities=name != "rule_baseline", mask=test.mask)
            for name, scores in scorers.items()}


def _select_int8(ptq: tuple[Artifact, object], qat: tuple[Artifact, object] | None):
    """The better int8 .tflite by NDCG@10 on the verification requests, or by score rank correlation with Keras
    when there are too few positives for NDCG to mean anything; PTQ wins ties (one step fewer)."""
    if qat is None or not qat[1].passed:
        return ptq, qat
    if not ptq[1].passed:
        return qat, ptq

    def quality(v):
        return v.ndcg_at_10 if v.ndcg_gated else v.rank_correlation

    return (ptq, qat) if quality(ptq[1]) >= quality(qat[1]) else (qat, ptq)


def _quantization_record(chosen, other) -> dict:
    record = {"selected": chosen[0].extra["quantization_method"], "rule": "higher NDCG@10 on the verification "
              "requests (score rank correlation with Keras when positives are too few); PTQ on ties"}
    for artifact, result in filter(None, (chosen, other)):
        record[artifact.extra["quantization_method"]] = {
            "bytes": artifact.path.stat().st_size, "sha256": bundle_mod.sha256(artifact.path),
            "shipped": artifact is chosen[0], "verification": result.to_dict()}
    return record


def run(cfg: RunConfig, out: Path, force: bool = False, config_source: str = "built-in defaults",
        stream=sys.stderr, data: sources.Prepared | None = None, step: Steps | None = None) -> RunResult:
    """data: already prepared (the CLI reads and checks the data before TensorFlow loads); None: prepare here."""
    bundle_mod.check_destination(out, force)
    bundle_mod.clean_stale_staging(out)
    step = step or Steps(stream)
    data = data or sources.prepare(cfg, step)
    K, test = data.candidates, data.test

    seed_everything(cfg.seed)
    model = ranker_mod.build_ranker(data.spec, cfg.model)
    params = ranker_mod.parameter_count(model)
    step(f"training the ranker ({params:,} parameters)")
    data.train(model, cfg.train.epochs, cfg.train.learning_rate, "train")
    reference = ranker_mod.predict(model, test.inputs())  # Keras fp32: evaluated, then every file is held to it
    metrics = evaluate_scorers(data, reference)
    for name, m in metrics.items():
        step(f"test {name:<14} NDCG@10 {m.ndcg_at_10:.4f}  AUC {m.auc:.4f}"
             + (f"  logloss {m.logloss:.4f}" if m.logloss is not None else ""))
    reliable = all(m.positives >= MIN_POSITIVES for m in metrics.values())
    if not reliable:
        step(f"only {metrics['model'].positives} positives in the test lists (< {MIN_POSITIVES}): these NDCG and "
             "AUC figures are noise, not a measure of the model; the NDCG floors are not applied")

    qat_model = None
    if cfg.quantization.qat:
        step("quantization-aware training (Dense layers fake-quantized)")
        qat_model = quantization_aware_model(model)
        data.train(qat_model, cfg.quantization.qat_epochs, cfg.quantization.qat_learning_rate, "qat")

    fixed = ranker_mod.with_fixed_shape(model, data.spec, cfg.model, K)
    job = ExportJob(model=fixed, spec=data.spec, candidates=K, calibration=representative_dataset(data.calibration),
                    qat_model=qat_model)
    model_record = {"name": "edgeship_ranker", "parameters": params, "candidates": K, **spec_record(data.spec)}
    metrics_record = {
        "data": data.description,
        "source": data.source,
        "notes": list(data.notes),
        "test_requests": len(test),
        "ndcg_definition": "see edgeship/models/metrics.py: gain 2^rel-1, log2 discount, stable ties, "
                           "requests without positives left out",
        **{name: m.to_dict() for name, m in metrics.items()},
        "reliable": reliable,
        "min_positives": MIN_POSITIVES,
    }
    return ship(cfg, out, force, job, test, reference, model_record, metrics_record, config_source, step, stream)


def spec_record(spec) -> dict:
    return {"feature_spec": spec.to_dict(),
            "item_hashing": {
                "function": "bucket = 1 + fnv1a_32(utf8(str(item_id))) mod (item_buckets - 1); 0 = padding",
                "item_buckets": spec.item_buckets,
                "examples": {str(i): hash_item_id(i, spec.item_buckets) for i in (0, 1, 42, "sku-123")}}}


def ship(cfg: RunConfig, out: Path, force: bool, job: ExportJob, test, reference: np.ndarray, model_record: dict,
         metrics_record: dict, config_source: str, step: Steps, stream=sys.stderr) -> RunResult:
    """Convert to every configured format, verify each file in its runtime against `reference` (the Keras
    model's scores on `test`), and write the bundle atomically. Shared by `run`, `train` and `export`."""
    shipped: list[bundle_mod.ShippedArtifact] = []
    failures: list[dict] = []
    quantization: dict = {}
    with bundle_mod.staging(out, force) as stage:
        for fmt in (f for f in FORMAT_ORDER if f in cfg.export.formats):
            before = set(stage.iterdir())
            try:
                made, record = _export_format(fmt, job, stage, test, reference, cfg, step, stream)
            except Exception as e:  # one format's converter failing must not lose the others
                for path in set(stage.iterdir()) - before:  # nothing half-made of this format stays
                    path.unlink()
                # the converter's whole message on one line: the first line alone often omits which op it was
                reason = " ".join(f"{type(e).__name__}: {e}".split())[:300]
                failures.append({"format": fmt, "stage": "convert", "reason": reason})
                step(f"{fmt}: FAILED ({reason}); the other formats go on")
                continue
            quantization = record or quantization
            for s in made:
                if s.verification.passed:
                    shipped.append(s)
                else:  # a file that does not rank like the model is not shipped, and the run says so
                    s.artifact.path.unlink()
                    failures.append({"format": fmt, "stage": "verify", "artifact": s.artifact.name,
                                     "reason": "; ".join(s.verification.reasons)})
        if not shipped:
            raise VerificationError("no format produced a verified file: " + "; ".join(
                f"{f.get('artifact', f['format'])}: {f['reason']}" for f in failures))

        step("writing the bundle")
        cases = test.take(slice(0, cfg.export.test_vectors))
        bundle_mod.write_json(stage / bundle_mod.TESTVECTORS, bundle_mod.test_vectors(shipped, cases, stage))
        manifest = {
            "schema_version": bundle_mod.SCHEMA_VERSION,
            "generator": f"edgeship {__version__}",
            "model": model_record,
            "artifacts": [s.manifest_entry(stage) for s in shipped],
            "failures": failures,
            "quantization": quantization,
            "metrics": metrics_record,
            "seed": cfg.seed,
            "config": cfg.to_dict() | {"source": config_source},
            "versions": {p: version(p) for p in VERSIONED_PACKAGES} | {"python": platform.python_version()},
        }
        bundle_mod.write_json(stage / bundle_mod.MANIFEST, manifest)
        (stage / bundle_mod.README).write_text(render_readme(manifest), encoding="utf-8")
    seconds = time.perf_counter() - step.started
    step(f"bundle written to {out}")
    return RunResult(out=out, manifest=manifest, seconds=seconds)


FORMAT_ORDER = ("tflite", "onnx", "coreml")  # tflite first: the other formats' int8 files derive from its int8


def _export_format(fmt, job, stage, test, reference, cfg, step, stream):
    """Convert and verify one format: (shipped candidates, quantization record or None)."""
    if fmt != "tflite":
        step(f"{fmt}: converting")
        return [bundle_mod.ShippedArtifact(a, verify(a, test, reference, cfg.floors, stream))
                for a in format_module(fmt).export(job, stage)], None
    step(f"TFLite: converting fp32 and int8 (calibrated on {cfg.quantization.calibration_requests} requests "
         "of non-test data)")
    made = format_module("tflite").export(job, stage)
    results = [(a, verify(a, test, reference, cfg.floors, stream)) for a in made]
    chosen, other = _select_int8(results[1], results[2] if len(results) > 2 else None)
    record = _quantization_record(chosen, other)
    final = stage / "ranker_int8.tflite"
    chosen[0].path.rename(final)
    chosen[0].path = final
    if other is not None:
        other[0].path.unlink()
    if chosen[1].passed:
        job.int8_source = final
    step(f"int8 .tflite: {record['selected'].upper()} ships (the better of PTQ and QAT; both are recorded in "
         "manifest.json)")
    return [bundle_mod.ShippedArtifact(*results[0]), bundle_mod.ShippedArtifact(*chosen)], record


def summary_table(manifest: dict) -> str:
    rows = [("artifact", "bytes", "NDCG@10 ratio", "max |d|", "verified")]
    for a in manifest["artifacts"]:
        v = a["verification"]
        rows.append((a["path"], f"{a['bytes']:,}", f"{v['ndcg_ratio']:.4f}", f"{v['max_abs_diff']:.1e}",
                     "yes" if v["passed"] else "NO"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    m = manifest["metrics"]
    lines.append("")
    named = [name for name in ("model", "oracle", "rule_baseline") if name in m]
    if named:
        lines.append("test NDCG@10: " + "  ".join(f"{name} {m[name]['ndcg_at_10']:.4f}" for name in named))
    if not m["reliable"] and "model" in m:
        lines.append(f"  (only {m['model']['positives']} positives in the test lists, fewer than "
                     f"{m['min_positives']}: these figures are noise, not a measure of the model)")
    return "\n".join(lines)


def export_user_model(cfg: RunConfig, model_path: Path, calibration_path: Path, out: Path, force: bool = False,
                      stream=sys.stderr, step: Steps | None = None, calib=None) -> RunResult:
    """`edgeship export`: a user's Keras ranker (edgeship input contract) into the same verified bundle.
    calib: the .npz already loaded (the CLI checks it before TensorFlow loads); None: loaded here."""
    from . import user_model

    bundle_mod.check_destination(out, force)
    bundle_mod.clean_stale_staging(out)
    step = step or Steps(stream)
    calib = calib or user_model.load_calibration(calibration_path)
    step(f"loading {model_path} (safe mode)")
    model = user_model.load_model(model_path)
    k = user_model.check_contract(model, model_path)
    test = calib.requests
    if k is not None and k != test.candidates.shape[1]:
        raise ConfigError(f"{calibration_path}: candidates has {test.candidates.shape[1]} per request, the model "
                          f"scores {k}")
    spec = user_model.feature_spec(test)
    fixed = user_model.with_batch_one(model, test)
    reference = np.stack([np.asarray(fixed(test.one(i), training=False)).reshape(-1) for i in range(len(test))])
    step(f"{len(test)} requests of K = {test.candidates.shape[1]} calibrate int8 and verify every file"
         + ("" if calib.has_labels else " (no labels in the .npz: parity with Keras only, no NDCG)"))
    metrics = {"model": evaluate(ranker_mod.probabilities(reference), test.labels).to_dict()} if calib.has_labels \
        else {}
    positives = int((test.labels > 0).sum())
    metrics_record = {"data": f"calibration set {calibration_path}: {len(test)} requests", "source": {
        "kind": "user_model", "model": str(model_path), "calibration": str(calibration_path),
        "labels": calib.has_labels}, "notes": [], "test_requests": len(test), **metrics,
        "reliable": calib.has_labels and positives >= MIN_POSITIVES, "min_positives": MIN_POSITIVES}
    model_record = {"name": model.name, "parameters": ranker_mod.parameter_count(model),
                    "candidates": test.candidates.shape[1], **spec_record(spec),
                    "note": "context cardinalities and item_buckets are the largest values seen in the calibration "
                            "set + 1, not read from the model"}
    job = ExportJob(model=fixed, spec=spec, candidates=test.candidates.shape[1],
                    calibration=representative_dataset(test))
    return ship(cfg, out, force, job, test, reference, model_record, metrics_record, f"export of {model_path}",
                step, stream)
