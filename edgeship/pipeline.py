"""`edgeship run` / `train`: data -> train -> evaluate -> export stage (convert, verify) -> bundle.

This module only wires the stages; each stage's work lives in its package, and the CLI renders the result.
"""

from __future__ import annotations

import dataclasses
import platform
import time
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import numpy as np

from . import __version__, sources
from .config import RunConfig
from .core import typed
from .core.errors import VerificationError
from .export import bundle, raw_vectors
from .export.about import About
from .export import layer_report, recipes
from .export.exporter import Choice, Timer, export_formats
from .export.manifest import MANIFEST_VERSION, Manifest, Metrics, ModelRecord, TrainingRecord
from .export.parity import ParityCheck
from .export.quantization import quantization_aware_model, representative_dataset
from .export.readme import render_readme
from .export.types import ExportJob
from .models import comparison
from .models import ranker as ranker_mod
from .models.data import Requests
from .models.encoding import Encoders
from .models.features import PAD_ID
from .models.metrics import MIN_POSITIVES, RankingMetrics, ranking_metrics
from .models.search import SearchRecord
from .models.settings import REFERENCE_BATCH, Convergence
from .models.training import fresh_session, seed_everything
from .ondevice import rules as rules_mod
from .ondevice.contract import Contract
from .ondevice.fallback import ColdStart, Fallback
from .ondevice.fallback import scores as fallback_scores
from .progress import Steps

VERSIONED_PACKAGES = ("tensorflow", "tf-keras", "tensorflow-model-optimization", "coremltools", "onnx", "onnxruntime",
                      "tf2onnx", "ai-edge-litert", "numpy")
NDCG_DEFINITION = ("see edgeship.models.metrics (models/metrics.py): gain 2^rel-1, log2 discount, stable ties, "
                   "requests without positives left out")


@dataclass
class RunResult:
    out: Path
    manifest: Manifest
    seconds: float
    # for in-process callers (the quality study): each scorer's scores on the test lists, and those lists
    test_scores: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)
    test: object = None


def test_scorers(data, model_scores: np.ndarray) -> dict[str, np.ndarray]:
    """Each scorer's scores on the evaluation lists: the model's click probabilities, the rules, the oracle if
    known."""
    scorers = {"model": ranker_mod.probabilities(model_scores), "rule_baseline": data.baseline_scores}
    if data.evaluation.true_prob is not None:
        scorers["oracle"] = data.evaluation.true_prob
    return scorers


def _ended(c: Convergence, cap: str = "[reference.train] epochs", capped: str = "so it is no converged yardstick"
           ) -> str:
    if c.capped:
        return (f"stopped by the cap of {c.cap} epochs {c.epochs_run - c.best_epoch} after its best: it may still "
                f"improve, {capped}; raise {cap}")
    return f"best {c.monitor} at epoch {c.best_epoch} of {c.epochs_run}, patience {c.patience}"


def _metrics_line(name: str, m: RankingMetrics) -> str:
    return (f"test {name:<14} NDCG@10 {m.ndcg_at_10:.4f}  AUC {m.auc:.4f}"
            + (f"  logloss {m.logloss:.4f}" if m.logloss is not None else ""))


@dataclass(frozen=True)
class FallbackResult:
    """fallback.json's table and how it ranks beside the model, before the bundle is written."""

    table: Fallback
    ndcg_at_10: float
    model_ndcg_at_10: float
    cold_start: ColdStart


def _fallback(cfg: RunConfig, data: sources.Dataset, model, model_ndcg: float, step: Steps) -> FallbackResult:
    """The fallback table on the evaluation lists, and the cold-start choice: the same lists with the history
    removed (a user the model has seen nothing of), ranked by the model and by the table (which never reads
    history)."""
    test = data.evaluation
    table = data.access.fallback(cfg.export.fallback_top)
    ndcg = ranking_metrics(fallback_scores(table, test), test.labels, probabilities=False, mask=test.mask).ndcg_at_10
    cold = dataclasses.replace(test, history=np.full_like(test.history, PAD_ID))
    cold_model = ranking_metrics(ranker_mod.probabilities(ranker_mod.predict(model, cold.inputs())), test.labels,
                                 mask=test.mask).ndcg_at_10
    choice = "model" if cold_model >= ndcg else "fallback"
    step(f"fallback.json (popularity, top {cfg.export.fallback_top} per segment): NDCG@10 {ndcg:.4f} vs the model's "
         f"{model_ndcg:.4f}; with no history the model ranks {cold_model:.4f}: cold start uses the {choice}")
    return FallbackResult(table, ndcg, model_ndcg, ColdStart(len(test), cold_model, ndcg, choice))


def _rules(cfg: RunConfig, data: sources.Dataset, contract: Contract, reference: np.ndarray,
           fallback: FallbackResult | None, step: Steps) -> rules_mod.RulesRecord:
    """The test lists ranked by the model, the rule baseline and fallback.json, each with and without the rules."""
    rules, test = cfg.rules, data.test
    views = rules_mod.from_requests(contract, data.encoders.to_json(), test, data.attributes)
    notes = []
    if any(f.match.items for kind in (rules.filter, rules.boost, rules.pin) for f in kind) and \
            contract.items.kind not in ("vocabulary", "index"):
        notes.append("items are hashed: the test lists' raw item ids are unknown, so rules on item ids match none "
                     "of them here (an app has its ids and applies them)")
    table = None if fallback is None else np.stack([rules_mod.rate_logits(row)
                                                    for row in fallback_scores(fallback.table, test)])
    record = rules_mod.RulesRecord(
        rules_mod.RULES, rules.count(), len(test),
        model=rules_mod.ruled(rules, views, reference, test.labels, with_rules=False),
        hybrid=rules_mod.ruled(rules, views, reference, test.labels, with_rules=True),
        rule_baseline=rules_mod.ruled(rules, views, data.baseline_scores[:len(test)], test.labels, with_rules=False),
        fallback=None if table is None else rules_mod.ruled(rules, views, table, test.labels, with_rules=True),
        notes=notes)
    if not rules.empty:
        for name in ("model", "hybrid", "rule_baseline", "fallback"):
            r = getattr(record, name)
            if r is not None:
                broken = ", ".join(f"{k} {v}" for k, v in r.lists_breaking.items() if v) or "none"
                step(f"rules ({rules.count()}): {name:<13} NDCG@10 {r.ndcg_at_10:.4f}; lists breaking a rule: {broken}")
    return record


@dataclass(frozen=True)
class Reference:
    """A model without mobile limits trained on the same split (--reference), measured on the same test lists."""

    metrics: RankingMetrics
    parameters: int
    scores: np.ndarray  # its click probabilities on the evaluation lists
    training: Convergence  # how its training ended


@dataclass(frozen=True)
class Yardsticks:
    """What the model and each shipped file are compared with (--reference): the evaluation lists (every test
    row), the bootstrap resamples drawn over them once, and each reference's replicates under those resamples."""

    evaluation: Requests
    counts: np.ndarray  # [R, lists] comparison.draw
    references: dict[str, comparison.Scored]

    def compare(self, name: str, scores: np.ndarray) -> list[comparison.Comparison]:
        """A scorer (probabilities on the evaluation lists) against each reference, paired over lists."""
        e = self.evaluation
        scored = comparison.score(scores, e.labels, e.mask, self.counts)
        return [comparison.compare(name, scored, ref, against, e.labels, e.mask)
                for ref, against in self.references.items()]


@dataclass(frozen=True)
class Trained:
    """The trained ranker and how it ranks the test lists, before any file is converted."""

    model: object  # tf_keras.Model with a free K
    parameters: int
    qat_model: object | None  # quantization-aware trained copy (None: no QAT)
    reference: np.ndarray  # the Keras model's scores on the test lists: every file is held to them
    # each scorer's scores on the evaluation lists (model, rule baseline, oracle, references)
    scores: dict[str, np.ndarray]
    metrics: dict[str, RankingMetrics]  # the shipped model, rule baseline and oracle, on the evaluation lists
    references: dict[str, Reference]  # --reference: by name
    reliable: bool  # enough positives for NDCG and AUC to mean something
    yardsticks: Yardsticks | None = None  # --reference
    comparisons: tuple[comparison.Comparison, ...] = ()  # --reference: the Keras model against each reference
    convergence: Convergence | None = None  # how the ranker's training ended


@dataclass(frozen=True)
class Destination:
    out: Path
    force: bool = False  # replace an existing bundle
    config_source: str = "built-in defaults"  # what the manifest says the config came from
    search: SearchRecord | None = None  # `edgeship tune` chose the model (manifest.search)


def run(cfg: RunConfig, out: Path, force: bool = False, config_source: str = "built-in defaults",
        stream=None, data: sources.Dataset | None = None, step: Steps | None = None, search=None
        ) -> RunResult | None:
    """Dataset -> Trained -> BundlePlan -> bundle. data: already prepared (the CLI reads and checks the data
    before TensorFlow loads); None: prepare here. None is returned by a worker of several that is not the
    chief, once training is done."""
    step = step or Steps(stream)
    data = data or sources.prepare(cfg, step)
    if data.chief:  # the other workers of a cluster only train
        bundle.check_destination(out, force)
        bundle.clean_stale_staging(out)
    contract = bundle.contract(data.candidates, data.spec, data.encoders)
    rules_mod.check_names(cfg.rules, config_source,
                          [f.name for f in contract.candidate_features if not f.constant], list(data.attribute_names),
                          [c.name for c in contract.context if c.kind != "constant"])
    trained = train(cfg, data, step)
    if trained is None:
        return None
    plan = bundle_plan(cfg, Destination(out, force, config_source, search), data, contract, trained, step)
    data.access.release_training()  # the export and the personalization study never read the training rows
    result = ship(plan, step, stream, data.access)
    result.test_scores, result.test = trained.scores, data.evaluation
    return result


def train(cfg: RunConfig, data: sources.Dataset, step: Steps) -> Trained | None:
    """The ranker trained (and its QAT copy), scored on the test lists beside the rule baseline, the oracle and
    the references; None on a worker of several that is not the chief."""
    if data.training is None or data.training.workers == 1:  # a cluster's workers are fresh processes
        fresh_session()
    seed_everything(cfg.seed)
    model = ranker_mod.build_ranker(data.spec, cfg.model)
    ranker_mod.set_item_features(model, data.item_features)
    params = ranker_mod.parameter_count(model)
    schedule = cfg.train.for_rows(data.train_rows)
    step(f"training the ranker ({params:,} parameters; batch {schedule.batch_size}, at most {schedule.epochs} epochs "
         f"for {data.train_rows:,} training rows, early stopping on validation {schedule.early_stopping} with "
         f"patience {schedule.patience})")
    ended = data.access.train(model, schedule, "train")
    step(f"ranker: {_ended(ended, '[train] epochs', 'so the shipped model may be undertrained')}")
    if not data.chief:
        step("training done; worker 0 (the chief) evaluates, converts and writes the bundle")
        return None
    evaluation = data.evaluation
    keras_scores = ranker_mod.predict(model, evaluation.inputs())  # Keras fp32: evaluated, every file held to it
    scorers = test_scorers(data, keras_scores)
    metrics = {name: ranking_metrics(scores, evaluation.labels, probabilities=name != "rule_baseline",
                                     mask=evaluation.mask) for name, scores in scorers.items()}
    step(f"quality on every test row: {len(evaluation):,} lists, {evaluation.rows:,} candidates")
    for name, m in metrics.items():
        step(_metrics_line(name, m))
    unconstrained = _references(cfg, data, step) if cfg.reference.enabled else {}
    yardsticks, comparisons = None, ()
    if unconstrained:
        yardsticks = _yardsticks(cfg, evaluation, unconstrained)
        comparisons = tuple(yardsticks.compare("model", scorers["model"]))
        for c in comparisons:
            step(_comparison_line(c))
    reliable = all(m.positives >= MIN_POSITIVES for m in metrics.values())
    if not reliable:
        step(f"only {metrics['model'].positives} positives in the test lists (< {MIN_POSITIVES}): these NDCG and "
             "AUC figures are noise, not a measure of the model; the NDCG floors are not applied")
    qat_model = None
    if cfg.quantization.qat:
        step("quantization-aware training (Dense layers fake-quantized)")
        qat_model = quantization_aware_model(model)
        data.access.train(qat_model, dataclasses.replace(schedule, epochs=cfg.quantization.qat_epochs,
                                                         learning_rate=cfg.quantization.qat_learning_rate), "qat")
    return Trained(model, params, qat_model, keras_scores[:len(data.test)],
                   scorers | {name: r.scores for name, r in unconstrained.items()}, metrics, unconstrained, reliable,
                   yardsticks, comparisons, ended)


def _yardsticks(cfg: RunConfig, evaluation: Requests, references: dict[str, Reference]) -> Yardsticks:
    counts = comparison.draw(len(evaluation), comparison.RESAMPLES, cfg.seed)
    return Yardsticks(evaluation, counts, {
        name: comparison.score(r.scores, evaluation.labels, evaluation.mask, counts) for name, r in references.items()})


def _comparison_line(c: comparison.Comparison) -> str:
    return (f"{c.scorer} vs {c.reference.replace('_', ' ')}: AUC {c.auc.text(signed=True)}, NDCG@10 "
            f"{c.ndcg_at_10.text(signed=True)} (paired over {c.lists:,} lists)")


def bundle_plan(cfg: RunConfig, where: Destination, data: sources.Dataset, contract: Contract, trained: Trained,
                step: Steps) -> BundlePlan:
    """What the bundle is made from: the fixed-shape model and its calibration, the records, the fallback table
    and the rules measured on the test lists."""
    k, test = data.candidates, data.test
    fixed = ranker_mod.with_fixed_shape(trained.model, data.spec, cfg.model, k)
    job = ExportJob(model=fixed, spec=data.spec, candidates=k, calibration=representative_dataset(data.calibration),
                    recipes=recipes.resolve(cfg.quantization.recipes),
                    qat_model=trained.qat_model, personal=cfg.export.personal,
                    personal_frozen=cfg.export.personal_frozen, personal_head=cfg.export.personal_head,
                    item_vectors=data.item_vectors, about=About.of(cfg.export.identity, data.spec, k, __version__))
    step(f"int8 is calibrated on {len(data.calibration)} requests of non-test data")
    encoding, vocabularies = bundle.vocabularies(data.encoders, data.item_collisions)
    metrics = Metrics(data=data.description, source=data.source or {}, notes=list(data.notes),
                      test_requests=len(test), reliable=trained.reliable, min_positives=MIN_POSITIVES,
                      ndcg_definition=NDCG_DEFINITION, **trained.metrics,
                      **{name: r.metrics for name, r in trained.references.items()},
                      reference_parameters={name: r.parameters for name, r in trained.references.items()},
                      reference_training={name: r.training for name, r in trained.references.items()},
                      evaluation_lists=len(data.evaluation), evaluation_rows=data.evaluation.rows,
                      comparisons=list(trained.comparisons))
    training = data.training
    if training is not None:
        training = dataclasses.replace(training, convergence=trained.convergence)
        if training.workers == 1:  # the batch this config trained with (tune ships another config's point)
            batch = trained.convergence.batch_size
            training = dataclasses.replace(training, global_batch=batch, per_worker_batch=batch)
    fallback = _fallback(cfg, data, trained.model, trained.metrics["model"].ndcg_at_10, step)
    rules = _rules(cfg, data, contract, trained.reference, fallback, step)
    return BundlePlan(cfg, where, job, test, trained.reference,
                      ModelRecord("edgeship_ranker", trained.parameters, k, data.spec, encoding), metrics,
                      Raw(contract, data.encoders, vocabularies, data.examples, data.attributes), fallback, rules,
                      training, trained.yardsticks)


def _file_comparisons(shipped: list, yardsticks: Yardsticks, step: Steps) -> list[comparison.Comparison]:
    """Each shipped inference file against each reference on every evaluation list: its parity check already
    ran it on the first lists; the rest are run here, in its runtime."""
    from .export.parity import score_file

    out = []
    for s in shipped:
        a = s.artifact
        if a.trainable:
            continue
        done = s.outputs.requests
        rest = yardsticks.evaluation.take(slice(len(done), None))
        scores = np.concatenate([done, score_file(a.format, a.path, rest)]) if len(rest) else done
        for c in yardsticks.compare(a.slot, ranker_mod.probabilities(scores)):
            step(_comparison_line(c))
            out.append(c)
    return out


def _references(cfg: RunConfig, data: sources.Dataset, step: Steps) -> dict[str, Reference]:
    """The unconstrained DNN and the logistic regression on the same split (with exact vocabularies where the
    shipped model hashes), trained until validation AUC stops improving, evaluated on the same lists."""
    from .models import reference

    exact = data.access.exact() or data
    if not np.array_equal(exact.evaluation.labels, data.evaluation.labels):  # same rows, only their ids differ
        raise AssertionError("the exact-vocabulary data is not the same split")
    out = {}
    ref = cfg.reference
    dnn = ref.train.for_rows(data.train_rows, REFERENCE_BATCH)
    for name, build, schedule in (
            ("reference_dnn", lambda: reference.build_dnn(exact.spec, ref), dnn),
            ("logistic_regression", lambda: reference.build_logistic(exact.spec),
             dataclasses.replace(dnn, learning_rate=ref.logistic_learning_rate))):
        seed_everything(cfg.seed)
        model = build()
        step(f"reference: training the {name.replace('_', ' ')} (batch {schedule.batch_size} for "
             f"{data.train_rows:,} training rows, at most {schedule.epochs} epochs)")
        ended = exact.access.train(model, schedule, name)
        probs = ranker_mod.probabilities(ranker_mod.predict(model, exact.evaluation.inputs()))
        m = ranking_metrics(probs, exact.evaluation.labels, mask=exact.evaluation.mask)
        out[name] = Reference(m, ranker_mod.parameter_count(model), probs, ended)
        step(_metrics_line(name, m) + f"  ({_ended(ended)})")
    return out


def _personalization(artifacts: list, cfg: RunConfig, access: sources.Access, stage: Path, step: Steps) -> list:
    """The study on new users' timelines, through each shipped trainable file (the same users for every
    file); its report goes in the bundle. No study ([]) where the data has no users to follow."""
    from .core.files import write_json, write_text
    from .export import formats
    from .ondevice import personalization

    study_cfg = cfg.personalization
    tune = access.timelines(study_cfg.tune_users, 2)
    if tune is None:
        return []
    report = access.timelines(study_cfg.users, 1)
    records = []
    for a in artifacts:
        trainer = formats.get(a.format).trainer(a.path)
        step(f"personalization study of {a.name}: {study_cfg.users} + {study_cfg.tune_users} new users, "
             f"{study_cfg.length} requests each, every train call by {trainer.runs_in}")
        record = personalization.study(trainer, a.name, tune, report, study_cfg, cfg.seed, step)
        by_n = {p.n: p for p in record.curve}
        top = by_n[max(by_n)]
        step(f"personalization of {a.name}: NDCG@10 at n = {top.n}: {top.personal_ndcg.estimate:.4f} vs global "
             f"{top.global_ndcg.estimate:.4f} (gain {top.gain.estimate:+.4f}, 95% CI {top.gain.low:+.4f}…"
             f"{top.gain.high:+.4f}); n = 1 gain {by_n[1].gain.estimate:+.4f}")
        records.append(record)
    write_json(stage / "personalization.json", [typed.dump(r) for r in records])
    write_text(stage / "personalization.md", "\n".join(personalization.markdown(r) for r in records))
    personalization.plot(records, stage / "personalization.png")
    return records


RAW_CASES = 4  # the raw test vectors: a full list, a short one, unseen values, no history


@dataclass(frozen=True)
class Raw:
    """What the raw-input contract is made from: the contract itself (built once per run), the encoders, the
    text of vocabularies.json, example values."""

    contract: Contract
    encoders: Encoders
    vocabularies: str
    examples: dict[str, list[str]]
    attributes: object = None  # a list's candidate feature rows -> each candidate's attributes (Dataset.attributes)


@dataclass(frozen=True)
class BundlePlan:
    """Everything a bundle is made from, decided before any file is converted: `ship` turns it into a verified
    bundle. Built by `run` / `train` (trained here) and by `export` (a user's Keras model)."""

    cfg: RunConfig
    where: Destination
    job: ExportJob  # the fixed-shape Keras model and its calibration: what every format converts
    test: Requests  # the held-out lists every file is checked on
    reference: np.ndarray  # the Keras model's scores on `test`: every file is held to them
    model: ModelRecord
    metrics: Metrics
    raw: Raw
    fallback: FallbackResult | None = None
    rules: rules_mod.RulesRecord | None = None
    training: TrainingRecord | None = None
    yardsticks: Yardsticks | None = None  # --reference: each shipped file is compared with the references


def timer(candidates: int, rounds: int = 20, invokes: int = 100) -> Timer:
    """How the export stage times an int8 slot's candidates: the bench harness (one worker process per file,
    pinned, interleaved rounds), one thread, the bundle's K, as many invokes as `edgeship bench` (each slot
    takes a few seconds, mostly starting the workers)."""

    def time_files(paths: list[Path]) -> dict[Path, float]:
        from .benchmarks.harness import file_target, run_bench, unique_labels
        from .benchmarks.records import BenchConfig

        targets = unique_labels([file_target(p) for p in paths])
        result = run_bench(targets, BenchConfig(threads=(1,), candidates=(candidates,), rounds=rounds,
                                                invokes=invokes, identity=False, profile=False,
                                                second_api=False), {},
                            progress=lambda _: None)
        by_label = {t.label: t.path for t in targets}
        return {by_label[m.label]: float(m.latency_ms.p50) for m in result.measurements
                if m.latency_ms is not None and m.call == "infer"}

    return time_files


def ship(plan: BundlePlan, step: Steps, stream=None, access: sources.Access | None = None) -> RunResult:
    """The export stage over every configured format, the personalization study where the data has users to
    follow (access), then the bundle, written atomically. Shared by `run`, `train` and `export`."""
    cfg, test, raw = plan.cfg, plan.test, plan.raw
    # the raw test vectors' requests, made before any file exists: each file's parity check records its outputs
    # on them with its scores on the test lists, and both kinds of vectors are written from those records
    cases = raw_vectors.probes(raw.contract, raw.encoders.to_json(), raw.examples, test, RAW_CASES, cfg.seed,
                               raw.attributes)
    check = ParityCheck(test, plan.reference, cfg.floors, tuple(c.tensors for c in cases))
    with bundle.staging(plan.where.out, plan.where.force) as stage:
        choice = Choice(cfg.quantization.choose, cfg.quantization.size_slack, timer(plan.job.candidates))
        outcome = export_formats(plan.job, cfg.export.formats, stage, check, step, stream, choice)
        if not outcome.shipped:
            raise VerificationError("no format produced a verified file: " + "; ".join(
                f"{f.what}: {f.reason}" for f in outcome.failures))
        personal = [s.artifact for s in outcome.shipped if s.artifact.trainable]
        studies = _personalization(personal, cfg, access, stage, step) if personal and access else []
        metrics = plan.metrics
        if plan.yardsticks is not None:
            metrics = dataclasses.replace(metrics, comparisons=metrics.comparisons + _file_comparisons(
                outcome.shipped, plan.yardsticks, step))
        step("writing the bundle")
        if outcome.layers:
            layer_report.write(stage, layer_report.LayerReport(layer_report.REPORT_VERSION, outcome.layer_requests,
                                                               layer_report.THRESHOLD_DB, outcome.layers))
        fallback = plan.fallback
        fallback_record = None if fallback is None else bundle.write_fallback(
            stage, fallback.table, fallback.ndcg_at_10, fallback.model_ndcg_at_10, fallback.cold_start)
        entries = [bundle.entry(s, stage) for s in outcome.shipped]
        vectors = bundle.test_vectors(outcome.shipped, entries, test.take(slice(0, cfg.export.test_vectors)), stage)
        bundle.write_rules(stage, cfg.rules)
        raw_file = bundle.raw_test_vectors(outcome.shipped, entries, raw.contract, cases, stage,
                                           fallback.table if fallback else None, cfg.rules)
        manifest = Manifest(
            schema_version=MANIFEST_VERSION, generator=f"edgeship {__version__}", model=plan.model,
            artifacts=entries, failures=outcome.failures,
            quantization=outcome.quantization, metrics=metrics, seed=cfg.seed,
            config=typed.dump(cfg) | {"source": plan.where.config_source},
            versions={p: version(p) for p in VERSIONED_PACKAGES} | {"python": platform.python_version()},
            personalization=studies, fallback=fallback_record, rules=plan.rules, training=plan.training,
            search=plan.where.search)
        manifest = bundle.write_files(stage, manifest, vectors, render_readme(manifest), raw.vocabularies,
                                      bundle.with_files(raw.contract, outcome.shipped, stage), raw_file)
    seconds = time.perf_counter() - step.started
    step(f"bundle written to {plan.where.out}")
    return RunResult(out=plan.where.out, manifest=manifest, seconds=seconds)
