"""Where a run's data comes from: the built-in generator, or a user's interaction log with its schema.

Both end in the same `Prepared`: a feature spec, a way to train on the data, validation rows, K-candidate test
lists (held out), calibration requests from non-test data, and the rule baseline's scores on the test lists.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from .config import RunConfig
from .distributed import Context
from .export.manifest import TrainingRecord
from .core import typed
from .ondevice.fallback import Fallback, SegmentColumn, table
from .models.baseline import ItemPopularity, SegmentPopularity
from .models import encoding
from .models.data import NUMERIC_ITEM_FEATURES, Requests, Timelines, calibration_requests, generate, timelines
from .models.encoding import Collisions, Encoders
from .models.features import FeatureSpec
from .models.settings import TrainConfig

Trainer = Callable[[object, TrainConfig, str], None]  # (model, epochs / learning rate / early stopping, label)


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
    encoders: Encoders  # raw value -> id, per field: shipped as vocabularies.json
    item_collisions: Collisions
    notes: tuple[str, ...] = ()
    source: dict | None = None  # for the manifest: where the data came from
    # (users, stream) -> per-user timelines for the personalization study; None: the data has no users to follow
    timelines: Callable[[int, int], Timelines] | None = None
    # the same split with an exact vocabulary for every field (for the reference models); None: it is already
    exact: Callable[[], "Prepared"] | None = None
    # raw values an app could send, per field (by encoder name): the raw test vectors draw from them
    examples: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    # top -> fallback.json: the rule baseline as a table an app ranks with, without a model
    fallback: Callable[[int], Fallback] | None = None
    # the string attributes rules can name (rules.json), and a list's candidate feature rows [n, F] -> theirs
    attribute_names: tuple[str, ...] = ()
    attributes: Callable[[np.ndarray], list[dict[str, str]]] | None = None
    # how the model is trained (one process, or this worker of several); only the chief writes the bundle
    training: TrainingRecord | None = None
    chief: bool = True


EXAMPLES = 50  # raw values kept per field for the raw test vectors


def prepare(cfg: RunConfig, step, dist: Context | None = None) -> Prepared:
    """All data read and checked; no TensorFlow imported yet (unless this is a worker of several, whose
    strategy exchanges the statistics), so bad input fails in a second."""
    return interaction_log(cfg, step, dist=dist) if cfg.log.enabled else synthetic(cfg, step)


def synthetic(cfg: RunConfig, step) -> Prepared:
    step("generating the built-in dataset")
    ds = generate(cfg.data, cfg.export.candidates, cfg.seed)
    step(ds.description)
    test = ds.test.take(slice(0, cfg.export.verify_requests))

    def train(model, schedule: TrainConfig, label: str):
        from .models.training import fit  # TensorFlow loads only once training starts

        fit(model, ds.train, ds.valid, cfg.seed, label, schedule)

    baseline = SegmentPopularity(ds.spec.item_buckets).fit(ds.train)
    # the generator's items are ids 0 .. items-1, hashed like a log's; its context values are indices already
    catalogue = pd.Series(1, index=[str(i) for i in range(cfg.data.items)])
    items = (encoding.FieldEncoding("item_id", encoding.VOCABULARY, ds.spec.item_buckets, True, tuple(catalogue.index))
             if cfg.data.item_encoding == "vocabulary" else encoding.hashed("item_id", ds.spec.item_buckets, item=True))
    enc = dataclasses.replace(encoding.given(ds.spec.context_fields, ds.spec.item_buckets), item=items)
    return Prepared(ds.spec, ds.description, cfg.export.candidates, train, ds.valid, test,
                    calibration_requests(ds.train, cfg.export.candidates, cfg.quantization.calibration_requests,
                                         cfg.seed),
                    baseline.score(test), enc, encoding.collisions(enc.item, catalogue),
                    source={"kind": "synthetic", "seed": cfg.seed},
                    timelines=lambda users, stream: timelines(cfg.data, cfg.export.candidates, cfg.seed, users,
                                                              cfg.personalization.length, stream),
                    exact=None if cfg.data.item_encoding == "vocabulary" else lambda: synthetic(dataclasses.replace(
                        cfg, data=dataclasses.replace(cfg.data, item_encoding="vocabulary")), step),
                    examples={enc.item.name: list(catalogue.index[:EXAMPLES])},
                    fallback=lambda top: table([SegmentColumn(f, ds.spec.context_fields[f].name, d) for f, d in zip(
                        baseline.segment_fields, baseline.divisors())], *baseline.rates(), top),
                    attribute_names=(CATEGORY,), attributes=category_attribute,
                    training=TrainingRecord("single process", 1, [], cfg.train.batch_size, cfg.train.batch_size))


CATEGORY = "category"


def category_attribute(features: np.ndarray) -> list[dict[str, str]]:
    """The built-in items' category (their one-hot candidate features) as the attribute rules name."""
    one_hot = features[:, len(NUMERIC_ITEM_FEATURES):]
    return [{CATEGORY: str(int(np.argmax(row)))} if row.max() > 0 else {} for row in one_hot]


def interaction_log(cfg: RunConfig, step, exact: bool = False, dist: Context | None = None) -> Prepared:
    """exact: every field with a vocabulary of every value seen in training, whatever the schema asks. dist:
    this process is one worker of several (edgeship/distributed.py)."""
    from .models import logs
    from .models.schema import load_schema

    data, schema_path = Path(cfg.log.data), Path(cfg.log.schema)
    schema = load_schema(schema_path)
    files, kind = logs.log_files(data)
    schema = logs.resolve(schema, files, kind)
    if exact:
        schema = dataclasses.replace(schema, items="vocabulary", item_min_count=1, max_item_vocabulary=2**31,
                                     max_vocabulary=2**31, fields=tuple((c, "vocabulary") for c in schema.context))
    step(f"reading {data} ({len(files)} {kind} file{'s' if len(files) > 1 else ''}, {len(schema.context)} "
         f"categorical and {len(schema.numeric)} numeric columns)")
    shards = dist.shards if dist else None
    enc, counts = logs.encoders(files, kind, schema, progress=lambda line: step("  " + line), shards=shards)
    prof = logs.profile(files, kind, schema, enc, progress=lambda line: step("  " + line), shards=shards)
    spec = logs.feature_spec(schema, prof, enc)
    item_collisions = dataclasses.replace(encoding.collisions(enc.item, counts.get(logs.ITEMS, pd.Series(dtype=int))),
                                          out_of_vocabulary=prof.test_oov / max(prof.rows["test"], 1))
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

    record = (dist.record(cfg.train.batch_size, prof.rows["train"]) if dist else
              TrainingRecord("single process", 1, [[f.name for f in files]], cfg.train.batch_size,
                             cfg.train.batch_size))

    def train(model, schedule: TrainConfig, label: str):
        from .models.training import fit_stream

        if dist is None:
            fit_stream(model, lambda: logs.train_dataset(files, kind, schema, enc, spec, schedule.batch_size,
                                                         cfg.seed), valid_rows, cfg.seed, label, schedule)
            return
        from . import distributed
        from .models.ranker import build_ranker

        per = dist.record(schedule.batch_size, prof.rows["train"])
        step(f"worker {dist.cluster.rank} of {len(dist.cluster.workers)}: {per.steps_per_epoch} steps per epoch of "
             f"{per.per_worker_batch} rows on each worker (global batch {per.global_batch}), its files: "
             f"{', '.join(f.name for f in dist.shards.mine)}")
        distributed.fit(model, dist.strategy, lambda: build_ranker(spec, cfg.model),
                        lambda: logs.train_dataset(dist.shards.mine, kind, schema, enc, spec, per.per_worker_batch,
                                                   cfg.seed, repeat=True),
                        valid_rows, per.steps_per_epoch, cfg.seed, label, schedule, dist.cluster)

    baseline = ItemPopularity(prof.item_shows, prof.item_hits)
    # calibration: held-out validation rows (never test rows), combined into K-candidate requests
    calibration = calibration_requests(valid_rows, k, cfg.quantization.calibration_requests, cfg.seed)
    source = {"kind": "log", "data": str(data), "files": [f.name for f in files], "format": kind,
              "schema": typed.dump(schema), "rows": rows, "positives": prof.positives}
    # already exact: no field hashed and no rare item folded into the OOV id
    exactly = all(e.kind != encoding.HASH for e in enc.all) and schema.item_min_count == 1
    examples = {e.name: [str(v) for v in counts.get(logs.ITEMS if e.item else e.name, pd.Series(dtype=int))
                         .sort_values(ascending=False, kind="stable").index[:EXAMPLES]] for e in enc.all}
    return Prepared(spec, description, k, train, valid_rows, test, calibration, baseline.score(test), enc,
                    item_collisions, tuple(notes), source,
                    exact=None if exactly else lambda: interaction_log(cfg, step, exact=True), examples=examples,
                    fallback=lambda top: table([], *baseline.rates(), top), training=record,
                    chief=dist is None or dist.cluster.chief)
