"""Where a run's data comes from: the built-in generator, or a user's interaction log with its schema.

Both end in the same `Prepared`: a feature spec, a way to train on the data, validation rows, K-candidate test
lists (held out), calibration requests from non-test data, and the rule baseline's scores on the test lists.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from .config import RunConfig
from .core import typed
from .models.baseline import ItemPopularity, SegmentPopularity
from .models.data import Requests, Timelines, calibration_requests, generate, timelines
from .models.features import FeatureSpec

Trainer = Callable[[object, int, float, str], None]  # (model, epochs, learning rate, label)


@dataclass
class Prepared:
    spec: FeatureSpec
    description: str
    candidates: int  # K of the exported files
    train: Trainer
    valid: Requests
    test: Requests
    calibration: Requests
    baseline_scores: np.ndarray  # the rule baseline on `test`
    notes: tuple[str, ...] = ()
    source: dict | None = None  # for the manifest: where the data came from
    # (users, stream) -> per-user timelines for the personalization study; None: the data has no users to follow
    timelines: Callable[[int, int], Timelines] | None = None


def prepare(cfg: RunConfig, step) -> Prepared:
    """All data read and checked; no TensorFlow imported yet, so bad input fails in a second."""
    return interaction_log(cfg, step) if cfg.log.enabled else synthetic(cfg, step)


def synthetic(cfg: RunConfig, step) -> Prepared:
    step("generating the built-in dataset")
    ds = generate(cfg.data, cfg.export.candidates, cfg.seed)
    step(ds.description)
    test = ds.test.take(slice(0, cfg.export.verify_requests))

    def train(model, epochs, lr, label):
        from .models.training import fit  # TensorFlow loads only once training starts

        fit(model, ds.train, ds.valid, epochs, cfg.train.batch_size, lr, cfg.seed, label=label)

    baseline = SegmentPopularity(ds.spec.item_buckets).fit(ds.train)
    return Prepared(ds.spec, ds.description, cfg.export.candidates, train, ds.valid, test,
                    calibration_requests(ds.train, cfg.export.candidates, cfg.quantization.calibration_requests,
                                         cfg.seed),
                    baseline.score(test), source={"kind": "synthetic", "seed": cfg.seed},
                    timelines=lambda users, stream: timelines(cfg.data, cfg.export.candidates, cfg.seed, users,
                                                              cfg.personalization.length, stream))


def interaction_log(cfg: RunConfig, step) -> Prepared:
    from .models import logs
    from .models.schema import load_schema

    data, schema_path = Path(cfg.log.data), Path(cfg.log.schema)
    schema = load_schema(schema_path)
    files, kind = logs.log_files(data)
    schema = logs.resolve(schema, files, kind)
    step(f"validating {data} ({len(files)} {kind} file{'s' if len(files) > 1 else ''}, {len(schema.numeric)} "
         f"numeric columns)")
    prof = logs.profile(files, kind, schema, progress=lambda line: step("  " + line))
    spec = logs.feature_spec(schema, prof)
    valid = logs.standardized(logs.Encoded.concat(prof.valid), spec)
    test_rows = logs.standardized(logs.Encoded.concat(prof.test), spec)
    groups = logs.group_lists(test_rows, schema.session_seconds)
    lengths = groups.lengths
    k = min(cfg.export.candidates, int(lengths.max()))
    notes = []
    if k < cfg.export.candidates:
        notes.append(f"K = {k}: the longest test list has {k} rows ([export] candidates = {cfg.export.candidates})")
    test = logs.as_lists(groups, k, cfg.export.verify_requests)
    rows = prof.rows
    description = (f"log {data}: {sum(rows.values()):,} rows (train {rows['train']:,}, valid {rows['valid']:,}, "
                   f"test {rows['test']:,}); positives train {prof.positives['train']:,}, test "
                   f"{prof.positives['test']:,}; {len(test):,} test lists of up to K = {k} (median "
                   f"{int(np.median(lengths))} rows)")
    step(description)
    valid_rows = logs.as_rows(valid)

    def train(model, epochs, lr, label):
        from .models.training import fit_stream

        fit_stream(model, lambda: logs.train_dataset(files, kind, schema, spec, cfg.train.batch_size, cfg.seed),
                   valid_rows, epochs, lr, cfg.seed, label=label)

    baseline = ItemPopularity(prof.item_shows, prof.item_hits)
    # calibration: held-out validation rows (never test rows), combined into K-candidate requests
    calibration = calibration_requests(valid_rows, k, cfg.quantization.calibration_requests, cfg.seed)
    source = {"kind": "log", "data": str(data), "files": [f.name for f in files], "format": kind,
              "schema": typed.dump(schema), "rows": rows, "positives": prof.positives}
    return Prepared(spec, description, k, train, valid_rows, test, calibration, baseline.score(test),
                    tuple(notes), source)
