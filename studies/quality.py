"""The quality benchmark across log shapes: the shipped ranker (defaults, and with --tune the point `edgeship tune`
ships) against an unconstrained DNN, a logistic regression, the rules and the oracle, each measured side by side
on the same test lists in one run.
`python -m studies.quality [--out artifacts/quality] [--config run.toml] [--datasets builtin,app_usage] [--tune]`

Datasets: the built-in data; both Open Bandit campaigns (real, ~5 test clicks each: their intervals are wide);
two generated categorical logs shaped unlike the built-in data (studies/app_usage_log.py, written under
OUT/data/): `app_usage` (many users with few rows each, the signal in user x item taste) and `long_tail`
(the same world over a 20,000-item catalogue shown by a Zipf law). Each dataset goes through the real pipeline
with `--reference` (train, convert, verify, bundle); with --tune, `edgeship tune` at its default budget
(16 trials, 1,500 s, low-end-android) ships a second bundle from the same data and split. Every inference file of
both is executed by its runtime on every test list, so the table holds what the app gets, not only the Keras
model. Writes OUT/quality.json and OUT/quality.md (benchmarks/quality.py), each dataset's bundles and searches.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

from edgeship.benchmarks import quality
from edgeship.benchmarks.budgets import load_profile
from edgeship.config import LogConfig, RunConfig, load_config
from edgeship.export.parity import score_file
from edgeship.models.ranker import probabilities
from edgeship.pipeline import run
from edgeship.progress import Steps
from edgeship.sources import prepare

from .app_usage_log import write_app_usage

ROOT = Path(__file__).resolve().parents[1]
OPEN_BANDIT = ROOT.parent / "shared" / "data" / "open_bandit" / "random"
SCHEMA = ROOT / "docs" / "examples" / "open_bandit_schema.toml"
DATASETS = {
    "builtin": None,
    "open_bandit_men": OPEN_BANDIT / "men" / "men.csv",
    "open_bandit_women": OPEN_BANDIT / "women" / "women.csv",
    "app_usage": "generated",
    "long_tail": "generated",
}
GENERATED = {  # studies/app_usage_log.write_app_usage arguments
    "app_usage": {"events": 86_000, "users": 3_000, "items": 200},
    "long_tail": {"events": 120_000, "users": 5_000, "items": 20_000, "long_tail": True},
}
TUNE_PROFILE = "low-end-android"
KINDS = {"model": "keras", "reference_dnn": "reference", "logistic_regression": "reference",
         "rule_baseline": "rules", "oracle": "oracle"}


def dataset_config(cfg: RunConfig, name: str, out: Path) -> RunConfig:
    cfg = dataclasses.replace(cfg, reference=dataclasses.replace(cfg.reference, enabled=True))
    if DATASETS[name] == "generated":
        folder = write_app_usage(out / "data" / name, **GENERATED[name])
        cfg = dataclasses.replace(cfg, log=LogConfig(str(folder / "app_usage.csv"), str(folder / "schema.toml")))
    elif DATASETS[name] is not None:
        cfg = dataclasses.replace(cfg, log=LogConfig(str(DATASETS[name]), str(SCHEMA)))
    return cfg


def files(manifest, bundle: Path, test, prefix: str = "") -> list[quality.Scorer]:
    """Every inference file of a bundle, executed by its runtime on the test lists."""
    return [quality.Scorer(prefix + a.path, "file", probabilities(score_file(a.format, bundle / a.path, test)),
                           bytes=a.bytes) for a in manifest.artifacts if not a.trainable]


def tuned(cfg: RunConfig, name: str, out: Path, test) -> list[quality.Scorer]:
    """`edgeship tune` at its default budget on the same data and split (no references: the default run's are the
    yardstick), its shipped Keras model and files scored on the same lists. A search already finished in
    OUT/<name>/tune (e.g. an `edgeship tune --out` run moved there) is not run again: its bundle's files are
    scored."""
    from edgeship.export.manifest import read_manifest_file
    from edgeship.tune import TuneConfig, budget_of, tune

    bundle = out / name / "tune" / "bundle"
    if (bundle / "manifest.json").is_file():
        manifest = read_manifest_file(bundle / "manifest.json")
        if manifest.search is None:
            raise SystemExit(f"{bundle}: not a bundle `edgeship tune` shipped")
        if (manifest.metrics.evaluation_lists, manifest.metrics.evaluation_rows) != (len(test), test.rows):
            raise SystemExit(f"{bundle}: its test split ({manifest.metrics.evaluation_lists} lists, "
                             f"{manifest.metrics.evaluation_rows} rows) is not this run's ({len(test)}, {test.rows})")
        print(f"{name}: scoring the finished search's bundle {bundle}", file=sys.stderr, flush=True)
        return files(manifest, bundle, test, prefix="tuned ")
    step = Steps(sys.stderr)
    cfg = dataclasses.replace(cfg, reference=dataclasses.replace(cfg.reference, enabled=False))
    result = tune(cfg, TuneConfig(out / name / "tune", force=True), prepare(cfg, step),
                  budget_of(load_profile(None, TUNE_PROFILE)), step, config_source=f"studies.quality {name} --tune")
    if result.test.candidates.shape != test.candidates.shape or not (result.test.candidates == test.candidates).all():
        raise SystemExit(f"{name}: the tuned run's test lists differ from the default run's")
    search = result.manifest.search
    model = quality.Scorer(f"tuned model (trial {search.chosen.number})", "tuned", result.test_scores["model"],
                           parameters=result.manifest.model.parameters)
    return [model] + files(result.manifest, out / name / "tune" / "bundle", test, prefix="tuned ")


def measure(cfg: RunConfig, name: str, out: Path, resamples: int, tune: bool) -> quality.DatasetQuality:
    started = time.perf_counter()
    cfg = dataset_config(cfg, name, out)
    result = run(cfg, out / name / "defaults", force=True, step=Steps(sys.stderr),
                 config_source=f"studies.quality {name}")
    manifest, test = result.manifest, result.test
    params = {"model": manifest.model.parameters, **manifest.metrics.reference_parameters}
    scorers = [quality.Scorer(n, KINDS[n], s, probabilities=n != "rule_baseline", parameters=params.get(n))
               for n, s in result.test_scores.items()]
    # the model, then what the app gets from it, then the tuned point, then the yardsticks
    scorers = (scorers[:1] + files(manifest, out / name / "defaults", test)
               + (tuned(cfg, name, out, test) if tune else []) + scorers[1:])
    print(f"{name}: scored {len(scorers)} scorers on {len(test)} test lists", file=sys.stderr, flush=True)
    return quality.measure(name, manifest.metrics.data, test.labels, test.mask, scorers,
                           time.perf_counter() - started, resamples=resamples, seed=cfg.seed)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("artifacts/quality"))
    parser.add_argument("--config", type=Path, help="run config for every dataset (default: the built-in one)")
    parser.add_argument("--datasets", default=",".join(DATASETS), help=f"comma-separated, of {', '.join(DATASETS)}")
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--tune", action="store_true", help="also run `edgeship tune` at its default budget on "
                        "each dataset and score the bundle it ships")
    args = parser.parse_args(argv)
    names = [n for n in args.datasets.split(",") if n]
    if not names:
        parser.error(f"--datasets: expected some of {', '.join(DATASETS)}, got none")
    unknown = [n for n in names if n not in DATASETS]
    if unknown:
        parser.error(f"--datasets: unknown {unknown[0]!r}; expected some of {', '.join(DATASETS)}")
    cfg = load_config(args.config)
    done = []
    for name in names:
        done.append(measure(cfg, name, args.out, args.resamples, args.tune))
        # written after every dataset: a late failure (a missing file, a killed run) keeps the ones before it
        result = quality.QualityResult(quality.QUALITY_VERSION, args.resamples, cfg.seed, done)
        quality.write(result, args.out)
    print(quality.markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
