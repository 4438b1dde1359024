"""`edgeship tune`: the best ranker that fits a phone budget, found on the user's own data.

An Optuna study (TPE, multi-objective, the budget as constraints) over the ranker's shape and training
(models/search.py). Every trial is measured, not estimated: the ranker is trained with the run's own schedule
rules, converted to the budget profile's int8 file, that file is executed by its runtime on the validation
requests (its NDCG@10 where those are lists of candidates, as on the built-in data, else its AUC: `metric_for`),
timed by the bench harness on this host (its p50) and weighed (its bytes, its MACs); a file that breaks the int8
floors against its own Keras model is outside the budget like a too-slow one. A trial whose Keras
validation AUC after its second epoch or later is below the lower quartile of finished trials at that epoch is
pruned.
The study lives in OUT/search.db (SQLite): a killed search resumes where it stopped. When the trials are done,
the best feasible point (the quality metric; ties by p50) is trained again by the ordinary pipeline into OUT/bundle,
a verified bundle whose manifest names the search, the budget, the chosen and the runner-up trial. The test
split is never looked at until then.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import sources
from .config import RunConfig
from .core import typed
from .core.errors import EdgeshipError, InputError, one_line
from .core.files import write_figure, write_json, write_text
from .models import search
from .models.data import Requests
from .progress import Steps

SEARCH_VERSION = 2  # 2: the quality metric (NDCG@10 on lists), each trial's AUC and NDCG@10
STUDY = "edgeship-tune"
METRICS = {"auc": "validation AUC", "ndcg_at_10": "validation NDCG@10"}
LIST_CANDIDATES = 10  # validation requests with at least this many real candidates on average are ranked lists
VALID_REQUESTS = 2_000  # validation requests each trial's file is executed on
PRUNE_AFTER = 3  # finished trials needed before any is pruned
# epochs every trial trains before it can be pruned: after one, a slow starter (a low learning rate, decay) on a
# small log looked hopeless and was not (epoch-1 AUC ~0.61 for trials that reached 0.64+)
PRUNE_FROM_EPOCH = 2


@dataclass(frozen=True)
class TuneConfig:
    out: Path  # search.db, search.json / .md / .png, bundle/
    trials: int = 16  # in the study, counting those a resumed search already ran
    timeout: float | None = 1500.0  # seconds after which no new trial starts (the shipping run comes after)
    force: bool = False  # replace an existing OUT/bundle


def budget_of(profile) -> search.Budget:
    """A gate profile (benchmarks.budgets.Profile) as the search's constraints; its first format is the file
    every trial is measured as."""
    if not profile.formats:
        raise InputError(f"profile {profile.name!r} names no format: tune measures its first `formats` entry",
                         option="profile")
    return search.Budget(profile.name, profile.formats[0], profile.max_bytes, profile.max_macs, profile.max_p50_ms,
                         profile.threads)


def fingerprint(cfg: RunConfig, data: sources.Dataset) -> str:
    """What a search's storage belongs to: the data, its split and the seed."""
    text = json.dumps({"data": data.description, "source": data.source, "seed": cfg.seed,
                       "rows": data.train_rows}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def objectives(metric: str) -> list[str]:
    return [f"{METRICS[metric]} of the int8 file (max)", "p50 ms on this host (min)", "bytes (min)"]


def metric_for(valid: Requests) -> str:
    """NDCG@10 where the validation requests are ranked lists (the built-in data: what the app shows is the top
    of a list), AUC where they are single rows (a log's validation rows) or short lists, whose NDCG@10 says
    little."""
    real = valid.candidates.shape[1] if valid.mask is None else valid.mask.sum(axis=1)
    return "ndcg_at_10" if float(np.mean(real)) >= LIST_CANDIDATES else "auc"


def padded(requests: Requests, k: int, limit: int) -> Requests:
    """The first `limit` requests with their candidates padded (mask False) or cut to K: the exported files'
    shape. Validation rows of a log are one-candidate requests."""
    r = requests.take(slice(0, limit))
    n, s = r.candidates.shape
    take = min(s, k)

    def pad(a):
        out = np.zeros((n, k, *a.shape[2:]), a.dtype)
        out[:, :take] = a[:, :take]
        return out

    mask = np.zeros((n, k), bool)
    mask[:, :take] = True if r.mask is None else r.mask[:, :take]
    return Requests(context=r.context, history=r.history, candidates=pad(r.candidates),
                    candidate_features=pad(r.candidate_features), labels=pad(r.labels), mask=mask)


class _Objective:
    """One trial: train, convert, execute, time, weigh."""

    def __init__(self, cfg: RunConfig, data: sources.Dataset, budget: search.Budget, scratch: Path, step: Steps):
        self.cfg, self.data, self.budget, self.scratch, self.step = cfg, data, budget, scratch, step
        self.valid = padded(data.valid, data.candidates, VALID_REQUESTS)
        self.metric = metric_for(data.valid)
        self.fields = [f.name for f in data.spec.context_fields]

    def __call__(self, trial) -> tuple[float, float, float]:
        from .benchmarks.harness import file_target, run_bench, unique_labels
        from .benchmarks.records import BenchConfig
        from .export import formats, recipes
        from .export.exporter import measured
        from .export.parity import compare, score_file
        from .export.quantization import representative_dataset
        from .export.types import Derived, ExportJob
        from .models import ranker as ranker_mod
        from .models.metrics import auc, masked, ndcg_at_k
        from .models.training import fresh_session, seed_everything

        started = time.perf_counter()
        data, cfg = self.data, self.cfg
        params = search.suggest(trial, self.fields)
        model_cfg, train_cfg = search.configs(params, cfg.model, cfg.train)
        schedule = train_cfg.for_rows(data.train_rows)
        fresh_session()
        seed_everything(cfg.seed)
        model = ranker_mod.build_ranker(data.spec, model_cfg)
        ranker_mod.set_item_features(model, data.item_features)
        trial.set_user_attr("parameters", ranker_mod.parameter_count(model))
        self.step(f"trial {trial.number}: {_describe(model_cfg, train_cfg)}; batch {schedule.batch_size}, at most "
                  f"{schedule.epochs} epochs")
        data.access.train(model, schedule, f"trial {trial.number}", callbacks=[_pruning(trial, self.step)])
        keras = ranker_mod.predict(model, self.valid.inputs())
        if np.ptp(keras[self.valid.mask]) < 1e-6:
            # every ReLU died (seen at lr 7e-3 with an MLP 16-8-4): a constant ranks nothing, and its degenerate
            # int8 ranges made the converter abort the whole process, or XNNPACK refuse the file
            raise EdgeshipError("the trained ranker gives every validation candidate the same score")
        fixed = ranker_mod.with_fixed_shape(model, data.spec, model_cfg, data.candidates)
        job = ExportJob(model=fixed, spec=data.spec, candidates=data.candidates,
                        calibration=representative_dataset(data.calibration),
                        recipes=recipes.resolve(cfg.quantization.recipes))
        folder = self.scratch / f"trial-{trial.number}"
        folder.mkdir(parents=True, exist_ok=True)
        fmt = formats.get(self.budget.format)
        made = fmt.convert(job, folder, Derived({}))
        candidates = [a for a in made if a.precision == "int8" and a.failed is None]
        if not candidates:
            raise EdgeshipError(f"{fmt.name} made no int8 file")
        # the recipe the export stage would ship, by the same rule on the same kind of measurement
        scores, refused = {}, []
        for a in candidates:
            try:
                scores[a.path] = score_file(fmt.name, a.path, self.valid)
            except Exception as e:  # as in the export stage: a recipe whose file the runtime refuses loses alone
                refused.append(f"{a.quantization_method} ({one_line(e, 200)})")
        if refused:
            self.step(f"trial {trial.number}: the runtime refused {'; '.join(refused)}")
        candidates = [a for a in candidates if a.path in scores]
        if not candidates:
            raise EdgeshipError(f"the runtime ran none of the {fmt.name} int8 files")
        checks = {a.path: compare(a, scores[a.path], keras, self.valid.labels, cfg.floors, self.valid.mask)
                  for a in candidates}
        # fewer rounds than the gate's 20 x 100 (a trial's p50 ranks trials; the shipped bundle is for the gate)
        bench = run_bench(unique_labels([file_target(a.path) for a in candidates]),
                          BenchConfig(threads=(self.budget.threads,), candidates=(data.candidates,), rounds=5,
                                      invokes=40, identity=False, profile=False, second_api=False),
                          {}, progress=lambda _: None)
        p50s = {m.label: float(m.latency_ms.p50) for m in bench.measurements if m.latency_ms is not None}
        best, _ = recipes.choose([measured(a, checks[a.path], p50s.get(a.path.name)) for a in candidates],
                                 cfg.quantization.choose, cfg.quantization.size_slack)
        chosen = candidates[0 if best is None else best]
        path, scores = chosen.path, scores[chosen.path]
        trial.set_user_attr("recipe", chosen.quantization_method)
        # the file must hold the floors the bundle will hold it to, or the point cannot ship in this format
        floors = list(checks[path].reasons) or ([] if best is not None else ["no recipe eligible"])
        trial.set_user_attr("floors", floors)
        trial.set_constraint("floors", 1.0 if floors else -1.0)
        valid_auc = auc(scores[self.valid.mask], self.valid.labels[self.valid.mask])
        trial.set_user_attr("valid_auc", round(float(valid_auc), 5))
        valid_ndcg = None
        if self.metric == "ndcg_at_10":  # padding ranks last; single-row requests have no NDCG worth the name
            valid_ndcg = ndcg_at_k(masked(scores, self.valid.mask), self.valid.labels, 10)
            trial.set_user_attr("valid_ndcg_at_10", round(float(valid_ndcg), 5))
        facts = fmt.facts(path)
        latency = next(m.latency_ms for m in bench.measurements if m.label == path.name)
        if latency is None:
            raise EdgeshipError(f"the bench harness could not time {path.name}")
        p50 = float(latency.p50)
        trial.set_user_attr("macs", facts.macs)
        for name, value in self.budget.violations(facts.bytes, facts.macs, p50).items():
            trial.set_constraint(name, value)  # the sampler prefers points inside the budget
        shutil.rmtree(folder, ignore_errors=True)
        broken = self.budget.broken(facts.bytes, facts.macs, p50) + [f"int8 {r}" for r in floors]
        self.step(f"trial {trial.number}: int8 ({chosen.quantization_method}) validation AUC {valid_auc:.4f}"
                  + ("" if valid_ndcg is None else f", NDCG@10 {valid_ndcg:.4f}") + f", p50 {p50 * 1000:.0f} µs, "
                  f"{facts.bytes:,} bytes, {facts.macs or 0:,} MACs"
                  + (f"; outside the budget: {', '.join(broken)}" if broken else "; inside the budget")
                  + f" ({time.perf_counter() - started:.0f} s)")
        return (valid_auc if valid_ndcg is None else valid_ndcg), p50, float(facts.bytes)


def _pruning(trial, step: Steps):
    """A Keras callback that records the validation AUC per epoch and prunes a hopeless trial."""
    import optuna
    import tf_keras as keras

    class Pruning(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            history = list(trial.user_attrs.get("epochs", [])) + [round(float(logs["val_auc"]), 5)]
            trial.set_user_attr("epochs", history)
            bar = lower_quartile(trial.study, epoch) if epoch + 1 >= PRUNE_FROM_EPOCH else None
            if bar is not None and history[-1] < bar:
                step(f"trial {trial.number}: pruned after epoch {epoch + 1}: validation AUC {history[-1]:.4f} < "
                     f"{bar:.4f}, the lower quartile of the finished trials there")
                raise optuna.TrialPruned()

    return Pruning()


def lower_quartile(study, epoch: int) -> float | None:
    """The lower quartile of the finished trials' validation AUC at this epoch (their last one if they stopped
    sooner); None until PRUNE_AFTER trials have finished. A trial below it is hopeless."""
    import optuna

    seen = [t.user_attrs["epochs"][min(epoch, len(t.user_attrs["epochs"]) - 1)]
            for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
            if t.user_attrs.get("epochs")]
    return float(np.percentile(seen, 25)) if len(seen) >= PRUNE_AFTER else None


def _describe(model, train) -> str:
    """A trial's point as its ranker and schedule (search.configs) hold it."""
    return (f"context dims {','.join(map(str, model.context_dims.values()))}, item {model.item_dim}, MLP "
            f"{'-'.join(map(str, model.hidden))}, attention {model.attention}, history features "
            f"{model.history_features}, cross {model.cross_layers}, dropout "
            f"{model.dropout}, lr {train.learning_rate:.2g}, decay {train.lr_decay}")


def _study(out: Path, key: str, metric: str, seed: int, step: Steps):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage_path = out / "search.db"
    storage = optuna.storages.RDBStorage(f"sqlite:///{storage_path}")
    sampler = optuna.samplers.TPESampler(seed=seed, multivariate=True, n_startup_trials=4)
    study = optuna.create_study(study_name=STUDY, storage=storage, sampler=sampler, load_if_exists=True,
                                directions=["maximize", "minimize", "minimize"])
    owner = study.user_attrs.get("dataset")
    if owner is None:
        study.set_user_attr("dataset", key)
        study.set_user_attr("metric", metric)
    elif owner != key:
        raise InputError(f"{storage_path}: holds a search of other data or another seed (fingerprint {owner}, "
                         f"this run's {key}); pass another --out")
    elif study.user_attrs.get("metric") != metric:
        raise InputError(f"{storage_path}: holds a search by another quality metric "
                         f"({study.user_attrs.get('metric', 'auc, an older edgeship')}; this data's is {metric}); "
                         "pass another --out")
    stale = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))
    for t in stale:  # a search killed mid-trial: that trial is lost, the others are kept
        storage.set_trial_state_values(t._trial_id, optuna.trial.TrialState.FAIL)
    if stale:
        step(f"resuming {storage_path}: trial {', '.join(str(t.number) for t in stale)} was cut short by the stop "
             "and is marked failed")
    return study


def records(study, budget: search.Budget) -> list[search.TrialRecord]:
    """Every trial of the study, each complete one judged against `budget` (a resumed search may name another
    profile than the one its first trials ran under)."""
    out = []
    for t in study.get_trials(deepcopy=False):
        state = t.state.name.lower()
        values = t.values if t.state.name == "COMPLETE" else None
        broken = [] if values is None else (budget.broken(int(values[2]), t.user_attrs.get("macs"), values[1])
                                            + [f"int8 {r}" for r in t.user_attrs.get("floors", [])])
        out.append(search.TrialRecord(
            t.number, state, dict(t.params),
            quality=None if values is None else round(values[0], 5),
            valid_auc=t.user_attrs.get("valid_auc"), valid_ndcg_at_10=t.user_attrs.get("valid_ndcg_at_10"),
            p50_ms=None if values is None else round(values[1], 5), recipe=t.user_attrs.get("recipe"),
            bytes=None if values is None else int(values[2]), macs=t.user_attrs.get("macs"),
            parameters=t.user_attrs.get("parameters"), epochs=list(t.user_attrs.get("epochs", [])),
            feasible=values is not None and not broken, broken=broken, seconds=_seconds(t)))
    return out


def _seconds(t) -> float:
    """A trial's wall time, pruned ones included (Optuna stamps its start and its end)."""
    if t.datetime_start is None or t.datetime_complete is None:
        return 0.0
    return round((t.datetime_complete - t.datetime_start).total_seconds(), 1)


def pareto(trials: list[search.TrialRecord]) -> list[int]:
    """Numbers of the complete trials no other complete trial beats on every objective."""
    done = [t for t in trials if t.quality is not None]

    def beats(a, b):
        ge = a.quality >= b.quality and a.p50_ms <= b.p50_ms and a.bytes <= b.bytes
        return ge and (a.quality > b.quality or a.p50_ms < b.p50_ms or a.bytes < b.bytes)

    return [t.number for t in done if not any(beats(o, t) for o in done)]


def ranked(trials: list[search.TrialRecord]) -> list[search.TrialRecord]:
    """The feasible trials, best first: the quality metric, then the faster, then the earlier."""
    return sorted((t for t in trials if t.feasible), key=lambda t: (-t.quality, t.p50_ms, t.number))


def choose(trials: list[search.TrialRecord], budget: search.Budget
           ) -> tuple[search.TrialRecord, search.TrialRecord | None]:
    """The best feasible trial and the next one; bad input (one line) when none fits the budget."""
    feasible = ranked(trials)
    if not feasible:
        done = [t for t in trials if t.quality is not None]
        if not done:
            raise InputError("no trial finished: nothing to ship (raise --trials or --timeout)")
        closest = min(done, key=lambda t: max(budget.violations(t.bytes, t.macs, t.p50_ms).values()))
        raise InputError(f"no trial meets profile {budget.profile!r}: the closest, trial {closest.number}, breaks "
                         f"{', '.join(closest.broken)}", option="profile")
    return feasible[0], feasible[1] if len(feasible) > 1 else None


def markdown(budget: search.Budget, metric: str, trials: list[search.TrialRecord], front: list[int],
             chosen: int | None) -> str:
    limits = ", ".join(f"{n} ≤ {v}" for n, v in (("bytes", budget.max_bytes), ("MACs", budget.max_macs),
                                                 ("p50 ms", budget.max_p50_ms)) if v is not None)
    lines = [f"# Search: {len(trials)} trials, budget {budget.profile} ({budget.format} int8; {limits})", "",
             "Objectives: " + "; ".join(objectives(metric)) + ". ★ chosen, ◆ Pareto front.", "",
             "| trial | state | valid AUC | valid NDCG@10 | p50 µs | recipe | bytes | MACs | parameters | epochs "
             "| budget | s |",
             "|---:|---|---:|---:|---:|---|---:|---:|---:|---:|---|---:|"]
    for t in trials:
        mark = "★ " if t.number == chosen else "◆ " if t.number in front else ""
        lines.append("| " + " | ".join([
            f"{mark}{t.number}", t.state, "–" if t.valid_auc is None else f"{t.valid_auc:.4f}",
            "–" if t.valid_ndcg_at_10 is None else f"{t.valid_ndcg_at_10:.4f}",
            "–" if t.p50_ms is None else f"{t.p50_ms * 1000:.0f}", t.recipe or "–",
            "–" if t.bytes is None else f"{t.bytes:,}",
            "–" if t.macs is None else f"{t.macs:,}", "–" if t.parameters is None else f"{t.parameters:,}",
            str(len(t.epochs)), "–" if t.quality is None else ("ok" if t.feasible else "; ".join(t.broken)),
            f"{t.seconds:.0f}"]) + " |")
    return "\n".join(lines) + "\n"


def plot(budget: search.Budget, metric: str, trials: list[search.TrialRecord], front: list[int], chosen: int | None,
         path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    done = [t for t in trials if t.quality is not None]
    name = METRICS[metric].removeprefix("validation ")
    fig, ax = plt.subplots(figsize=(7, 4.5))
    if done:
        size = np.array([t.bytes for t in done], float)
        size = 30 + 300 * size / size.max()
        colors = ["tab:blue" if t.feasible else "tab:gray" for t in done]
        ax.scatter([t.p50_ms * 1000 for t in done], [t.quality for t in done], s=size, c=colors, alpha=0.6,
                   edgecolors="k", linewidths=0.5)
        on = [t for t in done if t.number in front]
        ax.scatter([t.p50_ms * 1000 for t in on], [t.quality for t in on], s=size.max() * 1.6,
                   facecolors="none", edgecolors="tab:orange", linewidths=1.5,
                   label=f"Pareto front ({name}, p50, bytes)")
        # the front of the two axes drawn: each step is the best quality at that latency or less
        steps, best = [], -np.inf
        for t in sorted(done, key=lambda t: (t.p50_ms, -t.quality)):
            if t.quality > best:
                best = t.quality
                steps.append((t.p50_ms * 1000, best))
        ax.step(*zip(*steps), where="post", color="tab:orange", linestyle="--", linewidth=1,
                label=f"best {name} at that latency or less")
        for t in done:
            ax.annotate(str(t.number), (t.p50_ms * 1000, t.quality), fontsize=7, xytext=(3, 3),
                        textcoords="offset points")
        best = next((t for t in done if t.number == chosen), None)
        if best is not None:
            ax.scatter([best.p50_ms * 1000], [best.quality], marker="*", s=300, c="tab:red", label="shipped")
    if budget.max_p50_ms is not None:
        limit = budget.max_p50_ms * 1000
        slowest = max((t.p50_ms * 1000 for t in done), default=limit)
        if limit <= 1.5 * slowest:
            ax.axvline(limit, color="tab:red", linestyle=":", label=f"budget p50 ({budget.profile})")
        else:  # drawn to scale, every trial would sit in the first few pixels
            ax.plot([], [], " ", label=f"budget p50 {limit:.0f} µs ({budget.profile}): off the chart")
    ax.set_xlabel(f"p50 latency of the int8 file on this host, µs ({budget.threads} thread"
                  f"{'s' if budget.threads > 1 else ''})")
    ax.set_ylabel(f"{METRICS[metric]} of the int8 file")
    ax.set_title("edgeship tune: every trial (marker area ∝ bytes; gray: outside the budget)")
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    write_figure(fig, path)


def tune(cfg: RunConfig, how: TuneConfig, data: sources.Dataset, budget: search.Budget, step: Steps,
         config_source: str):
    """The search, its report, and the chosen point shipped as OUT/bundle (pipeline.RunResult)."""
    import optuna

    from .pipeline import run

    how.out.mkdir(parents=True, exist_ok=True)
    metric = metric_for(data.valid)
    study = _study(how.out, fingerprint(cfg, data), metric, cfg.seed, step)
    finished = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    stored = study.get_trials(deepcopy=False)
    done = sum(t.state in finished for t in stored)
    if not stored:
        start = search.point(cfg.model, cfg.train, [f.name for f in data.spec.context_fields])
        if start is not None:
            study.enqueue_trial(start)
        step("search: trial 0 is the configured model (a warm start: a point inside the budget must beat it on "
             "validation to ship instead)" if start else
             "search: the configured model is off the search space's grid; no warm start")
    if done < how.trials:
        step(f"search: {how.trials - done} of {how.trials} trials to run ({done} done in {how.out / 'search.db'}), "
             f"budget {budget.profile}, at most {how.timeout or 0:.0f} s; quality: {METRICS[metric]} of the int8 file")
        with tempfile.TemporaryDirectory(prefix="edgeship-tune-") as scratch:
            # a trial whose file does not convert or run fails alone (recorded as fail); the search goes on
            study.optimize(_Objective(cfg, data, budget, Path(scratch), step), timeout=how.timeout,
                           callbacks=[optuna.study.MaxTrialsCallback(how.trials, states=finished)],
                           catch=(EdgeshipError,), gc_after_trial=True)
    trials = records(study, budget)
    best = ranked(trials)
    # the report first: it is what tells a search whose trials all break the budget how close they came
    _write_reports(how.out, budget, metric, trials, pareto(trials), best[0].number if best else None)
    chosen, runner_up = choose(trials, budget)
    step(f"search: trial {chosen.number} ships ({METRICS[metric]} {chosen.quality:.4f}, p50 "
         f"{chosen.p50_ms * 1000:.0f} µs, {chosen.bytes:,} bytes)"
         + (f"; runner-up trial {runner_up.number} ({runner_up.quality:.4f})" if runner_up else ""))
    model_cfg, train_cfg = search.configs(chosen.params, cfg.model, cfg.train)
    record = search.SearchRecord(budget, metric, objectives(metric), len(trials),
                                 sum(t.state == "complete" for t in trials),
                                 sum(t.state == "pruned" for t in trials), chosen, runner_up,
                                 "optuna TPESampler (multivariate, constraints)", "search.db", cfg.seed)
    shipped = dataclasses.replace(cfg, model=model_cfg, train=train_cfg)
    return run(shipped, how.out / "bundle", force=how.force, data=data, step=step, config_source=config_source,
               search=record)


def _write_reports(out: Path, budget: search.Budget, metric: str, trials, front, chosen) -> None:
    write_json(out / "search.json", {"schema_version": SEARCH_VERSION, "budget": typed.dump(budget),
                                     "metric": metric, "objectives": objectives(metric), "pareto": front,
                                     "chosen": chosen, "trials": [typed.dump(t) for t in trials]})
    write_text(out / "search.md", markdown(budget, metric, trials, front, chosen))
    plot(budget, metric, trials, front, chosen, out / "search.png")
