"""`edgeship export`: a user's Keras ranker (edgeship input contract) and a representative dataset into the same
verified bundle as `edgeship run`. The model and .npz checks live in user_model.py."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import __version__
from .config import RunConfig
from .core.errors import ConfigError
from .export import bundle, recipes
from .export.about import About
from .export.manifest import Metrics, ModelRecord
from .export.quantization import representative_dataset
from .export.types import ExportJob
from .models import encoding
from .models import ranker as ranker_mod
from .models.metrics import MIN_POSITIVES, ranking_metrics
from .pipeline import BundlePlan, Destination, Raw, RunResult, ship
from .progress import Steps


def export_user_model(cfg: RunConfig, model_path: Path, calibration_path: Path, out: Path, force: bool = False,
                      stream=None, step: Steps | None = None, calib=None) -> RunResult:
    """calib: the .npz already loaded (the CLI checks it before TensorFlow loads); None: loaded here."""
    from . import user_model

    bundle.check_destination(out, force)
    bundle.clean_stale_staging(out)
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
    positives = int((test.labels > 0).sum())
    metrics = Metrics(
        data=f"calibration set {calibration_path}: {len(test)} requests",
        source={"kind": "user_model", "model": str(model_path), "calibration": str(calibration_path),
                "labels": calib.has_labels},
        notes=[], test_requests=len(test), reliable=calib.has_labels and positives >= MIN_POSITIVES,
        min_positives=MIN_POSITIVES,
        model=ranking_metrics(ranker_mod.probabilities(reference), test.labels) if calib.has_labels else None)
    # the model takes ids the caller computed: edgeship knows no raw values, only the ranges seen
    encoders = encoding.given(spec.context_fields, spec.item_buckets)
    record, vocabularies = bundle.vocabularies(encoders, encoding.Collisions(0, 0, 0.0))
    model_record = ModelRecord(model.name, ranker_mod.parameter_count(model), test.candidates.shape[1], spec, record,
                               note="context cardinalities and item_buckets are the largest values seen in the "
                               "calibration set + 1, not read from the model")
    candidates = test.candidates.shape[1]
    job = ExportJob(model=fixed, spec=spec, candidates=candidates, calibration=representative_dataset(test),
                    recipes=recipes.resolve(cfg.quantization.recipes),
                    about=About.of(cfg.export.identity, spec, candidates, __version__))
    plan = BundlePlan(cfg, Destination(out, force, f"export of {model_path}"), job, test, reference, model_record,
                      metrics, Raw(bundle.contract(candidates, spec, encoders), encoders, vocabularies, {}))
    return ship(plan, step, stream)
