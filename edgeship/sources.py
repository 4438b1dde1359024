"""Where a run's data comes from: the built-in generator, or a user's interaction log with its schema.

Both end in the same frozen `Dataset`: a feature spec, validation rows, the held-out test rows as K-candidate
lists (all of them to measure quality on, the first `[export] verify_requests` to check every file on),
calibration requests from non-test data, the rule baseline's scores on the test lists, the encoders, and an
`access` object of the data's kind that does what needs the data itself (training on it, following its users,
the exact-vocabulary twin, the fallback table, candidates' attributes).
"""

from __future__ import annotations

import atexit
import dataclasses
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .config import RunConfig
from .core import typed
from .distributed import Context
from .export.manifest import TrainingRecord
from .models import encoding
from .models.baseline import ItemPopularity, SegmentPopularity
from .models.data import NUMERIC_ITEM_FEATURES, Requests, Timelines, calibration_requests, generate, timelines
from .models.encoding import Collisions, Encoders
from .models.features import FeatureSpec
from .models.item_vectors import cooccurrence, item_vectors
from .models.settings import Convergence, TrainConfig
from .ondevice.fallback import Fallback, SegmentColumn, table


class Access:
    """What a run does with its data beyond the arrays of its Dataset; one implementation per kind of data."""

    def train(self, model, schedule: TrainConfig, label: str, callbacks=()) -> Convergence:
        """Fit the model on the training split (epochs, learning rate, early stopping from the schedule; extra
        Keras callbacks after those); how its training ended."""
        raise NotImplementedError

    def timelines(self, users: int, stream: int) -> Timelines | None:
        """Per-user timelines for the personalization study; None: the data has no users to follow."""
        return None

    def release_training(self) -> None:
        """The run has trained everything it trains: the training rows held in memory may go."""

    def exact(self) -> Dataset | None:
        """The same split with an exact vocabulary for every field (for the references); None: it is already."""
        return None

    def fallback(self, top: int) -> Fallback:
        """fallback.json: the rule baseline as a table an app ranks with, without a model."""
        raise NotImplementedError

    def attributes(self, features: np.ndarray) -> list[dict[str, str]]:
        """A list's candidate feature rows [n, F] -> each candidate's string attributes (those rules name)."""
        return [{} for _ in features]


@dataclass(frozen=True)
class Dataset:
    spec: FeatureSpec
    description: str
    candidates: int  # K of the exported files
    valid: Requests
    evaluation: Requests  # every test row, as lists of up to K: what quality is measured on
    calibration: Requests
    baseline_scores: np.ndarray  # the rule baseline on `evaluation`
    encoders: Encoders  # raw value -> id, per field: shipped as vocabularies.json
    item_collisions: Collisions
    access: Access
    notes: tuple[str, ...] = ()
    source: dict | None = None  # for the manifest: where the data came from
    # raw values an app could send, per field (by encoder name): the raw test vectors draw from them
    examples: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    attribute_names: tuple[str, ...] = ()  # the string attributes rules can name (rules.json)
    # how the model is trained (one process, or this worker of several); only the chief writes the bundle
    training: TrainingRecord | None = None
    chief: bool = True
    verify_requests: int = 1_000  # how many of the evaluation lists are `test`
    train_rows: int = 0  # impressions in the training split ([train]'s 0s are derived from them)
    # [item_buckets, F]: each item's mean candidate features in the training rows (the ranker's item table)
    item_features: np.ndarray | None = None
    # [item_buckets, dim]: models.item_vectors from the training rows' histories (the trainable head's user vector
    # learns against them); None when the head has no user vector or no two items ever share a history
    item_vectors: np.ndarray | None = None

    @property
    def test(self) -> Requests:
        """The first `[export] verify_requests` lists of `evaluation`: every file is executed on them at export,
        and the rules' record and the test vectors are made from them."""
        return self.evaluation.take(slice(0, self.verify_requests))

    @property
    def attributes(self):
        """The attribute reader for the rules and raw vectors, None where the data has no attributes."""
        return self.access.attributes if self.attribute_names else None


EXAMPLES = 50  # raw values kept per field for the raw test vectors


def prepare(cfg: RunConfig, step, dist: Context | None = None) -> Dataset:
    """All data read and checked; no TensorFlow imported yet (unless this is a worker of several, whose
    strategy exchanges the statistics), so bad input fails in a second."""
    return interaction_log(cfg, step, dist=dist) if cfg.log.enabled else synthetic(cfg, step)


CATEGORY = "category"


def category_attribute(features: np.ndarray) -> list[dict[str, str]]:
    """The built-in items' category (their one-hot candidate features) as the attribute rules name."""
    one_hot = features[:, len(NUMERIC_ITEM_FEATURES):]
    return [{CATEGORY: str(int(np.argmax(row)))} if row.max() > 0 else {} for row in one_hot]


@dataclass(frozen=True)
class _Generated(Access):
    cfg: RunConfig
    data: object  # models.data.SyntheticData
    baseline: SegmentPopularity
    step: object

    def train(self, model, schedule: TrainConfig, label: str, callbacks=()) -> Convergence:
        from .models.training import convergence, fit  # TensorFlow loads only once training starts

        return convergence(fit(model, self.data.train, self.data.valid, self.cfg.seed, label, schedule, callbacks),
                           schedule)

    def timelines(self, users: int, stream: int) -> Timelines:
        cfg = self.cfg
        return timelines(cfg.data, cfg.export.candidates, cfg.seed, users, cfg.personalization.length, stream)

    def release_training(self) -> None:
        self.data.train = None

    def exact(self) -> Dataset | None:
        if self.cfg.data.item_encoding == "vocabulary":
            return None
        data = dataclasses.replace(self.cfg.data, item_encoding="vocabulary")
        return synthetic(dataclasses.replace(self.cfg, data=data), self.step)

    def fallback(self, top: int) -> Fallback:
        b, fields = self.baseline, self.data.spec.context_fields
        return table([SegmentColumn(f, fields[f].name, d) for f, d in zip(b.segment_fields, b.divisors())],
                     *b.rates(), top)

    def attributes(self, features: np.ndarray) -> list[dict[str, str]]:
        return category_attribute(features)


def _vectors(pairs, table: np.ndarray) -> np.ndarray | None:
    if pairs is None:  # the config's head has no user vector: nothing was counted
        return None
    vectors = item_vectors(pairs, table)
    return vectors if vectors.any() else None


def synthetic(cfg: RunConfig, step) -> Dataset:
    step("generating the built-in dataset")
    ds = generate(cfg.data, cfg.export.candidates, cfg.seed)
    step(ds.description)
    baseline = SegmentPopularity(ds.spec.item_buckets).fit(ds.train)
    # the generator's items are ids 0 .. items-1, hashed like a log's; its context values are indices already
    catalogue = pd.Series(1, index=[str(i) for i in range(cfg.data.items)])
    schedule = cfg.train.for_rows(ds.train.impressions)
    item_table = ds.train.item_features(ds.spec.item_buckets)
    items = (encoding.FieldEncoding("item_id", encoding.VOCABULARY, ds.spec.item_buckets, True, tuple(catalogue.index))
             if cfg.data.item_encoding == "vocabulary" else encoding.hashed("item_id", ds.spec.item_buckets, item=True))
    enc = dataclasses.replace(encoding.given(ds.spec.context_fields, ds.spec.item_buckets), item=items)
    return Dataset(ds.spec, ds.description, cfg.export.candidates, ds.valid, ds.test,
                   calibration_requests(ds.train, cfg.export.candidates, cfg.quantization.calibration_requests,
                                        cfg.seed),
                   baseline.score(ds.test), enc, encoding.collisions(enc.item, catalogue),
                   _Generated(cfg, ds, baseline, step), source={"kind": "synthetic", "seed": cfg.seed},
                   examples={enc.item.name: list(catalogue.index[:EXAMPLES])}, attribute_names=(CATEGORY,),
                   training=TrainingRecord("single process", 1, [], schedule.batch_size, schedule.batch_size),
                   verify_requests=cfg.export.verify_requests, train_rows=ds.train.impressions,
                   item_features=item_table,
                   item_vectors=_vectors(cooccurrence(ds.train.history, ds.spec.item_buckets)
                                         if cfg.export.item_vectors else None, item_table))


@dataclass(frozen=True)
class _Logged(Access):
    cfg: RunConfig
    step: object
    files: list
    kind: str
    schema: object  # models.schema.LogSchema, resolved against the files
    enc: Encoders
    spec: FeatureSpec
    valid_rows: Requests
    train_rows: int
    baseline: ItemPopularity
    already_exact: bool  # no field hashed and no rare item folded into the OOV id
    dist: Context | None = None

    def train(self, model, schedule: TrainConfig, label: str, callbacks=()) -> Convergence:
        from .models import logs
        from .models.training import convergence, fit_stream

        cfg, dist = self.cfg, self.dist
        if dist is None:
            return convergence(fit_stream(
                model, lambda: logs.train_dataset(self.files, self.kind, self.schema, self.enc, self.spec,
                                                  schedule.batch_size, cfg.seed),
                self.valid_rows, cfg.seed, label, schedule, callbacks=callbacks), schedule)
        from . import distributed
        from .models.ranker import build_ranker

        per = dist.record(schedule.batch_size, self.train_rows)
        self.step(f"worker {dist.cluster.rank} of {len(dist.cluster.workers)}: {per.steps_per_epoch} steps per epoch "
                  f"of {per.per_worker_batch} rows on each worker (global batch {per.global_batch}), its files: "
                  f"{', '.join(f.name for f in dist.shards.mine)}")
        return distributed.fit(model, dist.strategy, lambda: build_ranker(self.spec, cfg.model),
                        lambda: logs.train_dataset(dist.shards.mine, self.kind, self.schema, self.enc, self.spec,
                                                   per.per_worker_batch, cfg.seed, repeat=True),
                        self.valid_rows, per.steps_per_epoch, cfg.seed, label, schedule, dist.cluster)

    def exact(self) -> Dataset | None:
        return None if self.already_exact else interaction_log(self.cfg, self.step, exact=True)

    def fallback(self, top: int) -> Fallback:
        return table([], *self.baseline.rates(), top)


def interaction_log(cfg: RunConfig, step, exact: bool = False, dist: Context | None = None) -> Dataset:
    """exact: every field with a vocabulary of every value seen in training, whatever the schema asks. dist:
    this process is one worker of several (edgeship/distributed.py)."""
    from .models import logs
    from .models.schema import load_schema

    data = Path(cfg.log.data)
    if data.suffix == ".jsonl" and not cfg.log.schema:  # the app's impression log: the schema is implied
        from .ondevice.impression_table import to_parquet

        folder = Path(tempfile.mkdtemp(prefix="edgeship-impressions-"))
        atexit.register(shutil.rmtree, folder, True)
        step(f"reading the impression log {data} into a training table (one row per impression)")
        parquet, schema, most = to_parquet(data, folder)
        files, kind = logs.log_files(parquet)
    else:
        most = 0
        schema = load_schema(Path(cfg.log.schema))
        files, kind = logs.log_files(data)
    schema = logs.resolve(schema, files, kind)
    if exact:
        schema = dataclasses.replace(schema, items="vocabulary", item_min_count=1, max_item_vocabulary=2**31,
                                     max_vocabulary=2**31, fields=tuple((c, "vocabulary") for c in schema.context))
    step(f"reading {data} ({len(files)} {kind} file{'s' if len(files) > 1 else ''}, {len(schema.context)} "
         f"categorical and {len(schema.numeric)} numeric columns)")
    shards = dist.shards if dist else None
    enc, counts = logs.encoders(files, kind, schema, progress=lambda line: step("  " + line), shards=shards)
    prof = logs.profile(files, kind, schema, enc, progress=lambda line: step("  " + line), shards=shards,
                        pairs=cfg.export.item_vectors)
    spec = logs.feature_spec(schema, prof, enc)
    item_collisions = dataclasses.replace(encoding.collisions(enc.item, counts.get(logs.ITEMS, pd.Series(dtype=int))),
                                          out_of_vocabulary=prof.test_oov / max(prof.rows["test"], 1))
    valid = logs.standardized(logs.Encoded.concat(prof.valid), spec)
    test_rows = logs.standardized(logs.Encoded.concat(prof.test), spec)
    groups = logs.group_lists(test_rows, schema.session_seconds)
    lengths = groups.lengths
    # K: what the app scores per call; an impression log says how many candidates its requests held, beyond the
    # few shown (and labelled) of each
    k = min(cfg.export.candidates, max(int(lengths.max()), most))
    notes = []
    if k < cfg.export.candidates:
        notes.append(f"K = {k}: the longest test list has {int(lengths.max())} rows" + (
            f", the logged requests at most {most} candidates" if most else "") +
            f" ([export] candidates = {cfg.export.candidates})")
    evaluation = logs.as_lists(groups, k)
    rows = prof.rows
    description = (f"log {data}: {sum(rows.values()):,} rows (train {rows['train']:,}, valid {rows['valid']:,}, "
                   f"test {rows['test']:,}); positives train {prof.positives['train']:,}, test "
                   f"{prof.positives['test']:,}; {len(evaluation):,} test lists of up to K = {k} (median "
                   f"{int(np.median(lengths))} rows)")
    step(description)
    valid_rows = logs.as_rows(valid)
    schedule = cfg.train.for_rows(prof.rows["train"])
    record = (dist.record(schedule.batch_size, prof.rows["train"]) if dist else
              TrainingRecord("single process", 1, [[f.name for f in files]], schedule.batch_size,
                             schedule.batch_size))
    baseline = ItemPopularity(prof.item_shows, prof.item_hits)
    # calibration: held-out validation rows (never test rows), combined into K-candidate requests
    calibration = calibration_requests(valid_rows, k, cfg.quantization.calibration_requests, cfg.seed)
    source = {"kind": "log", "data": str(data), "files": [f.name for f in files], "format": kind,
              "schema": typed.dump(schema), "rows": rows, "positives": prof.positives}
    already_exact = all(e.kind != encoding.HASH for e in enc.all) and schema.item_min_count == 1
    examples = {e.name: [str(v) for v in counts.get(logs.ITEMS if e.item else e.name, pd.Series(dtype=int))
                         .sort_values(ascending=False, kind="stable").index[:EXAMPLES]] for e in enc.all}
    access = _Logged(cfg, step, files, kind, schema, enc, spec, valid_rows, prof.rows["train"], baseline,
                     already_exact, dist)
    item_table = logs.item_features(prof, spec)
    return Dataset(spec, description, k, valid_rows, evaluation, calibration, baseline.score(evaluation), enc,
                   item_collisions, access, tuple(notes), source, examples=examples, training=record,
                   chief=dist is None or dist.cluster.chief, verify_requests=cfg.export.verify_requests,
                   train_rows=prof.rows["train"], item_features=item_table,
                   item_vectors=_vectors(prof.item_pairs, item_table))
