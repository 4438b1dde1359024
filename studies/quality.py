"""The quality benchmark: the shipped ranker against an unconstrained DNN, a logistic regression, the rules and the
oracle, on the built-in data and on both Open Bandit campaigns, each measured side by side in one run.
`python -m studies.quality [--out artifacts/quality] [--config run.toml] [--datasets builtin,open_bandit_men]`

Each dataset goes through the real pipeline with `--reference` (train, convert, verify, bundle); the int8 and fp32
files are then executed by their runtimes on every test list, so the table holds what the app gets, not only the
Keras model. Writes OUT/quality.json and OUT/quality.md (benchmarks/quality.py), and each dataset's bundle.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

from edgeship.benchmarks import quality
from edgeship.config import LogConfig, RunConfig, load_config
from edgeship.export.parity import score_file
from edgeship.models.ranker import probabilities
from edgeship.pipeline import run
from edgeship.progress import Steps

ROOT = Path(__file__).resolve().parents[1]
OPEN_BANDIT = ROOT.parent / "shared" / "data" / "open_bandit" / "random"
SCHEMA = ROOT / "docs" / "examples" / "open_bandit_schema.toml"
DATASETS = {
    "builtin": None,
    "open_bandit_men": OPEN_BANDIT / "men" / "men.csv",
    "open_bandit_women": OPEN_BANDIT / "women" / "women.csv",
}
KINDS = {"model": "keras", "reference_dnn": "reference", "logistic_regression": "reference",
         "rule_baseline": "rules", "oracle": "oracle"}


def dataset_config(cfg: RunConfig, name: str) -> RunConfig:
    cfg = dataclasses.replace(cfg, reference=dataclasses.replace(cfg.reference, enabled=True))
    if DATASETS[name] is not None:
        cfg = dataclasses.replace(cfg, log=LogConfig(str(DATASETS[name]), str(SCHEMA)))
    return cfg


def measure(cfg: RunConfig, name: str, out: Path, resamples: int) -> quality.DatasetQuality:
    started = time.perf_counter()
    result = run(dataset_config(cfg, name), out / name, force=True, step=Steps(sys.stderr),
                 config_source=f"studies.quality {name}")
    manifest, test = result.manifest, result.test
    params = {"model": manifest.model.parameters, **manifest.metrics.reference_parameters}
    scorers = [quality.Scorer(n, KINDS[n], s, probabilities=n != "rule_baseline", parameters=params.get(n))
               for n, s in result.test_scores.items()]
    files = []
    for a in manifest.artifacts:
        if a.trainable:
            continue
        scores = score_file(a.format, out / name / a.path, test)
        files.append(quality.Scorer(a.path, "file", probabilities(scores), bytes=a.bytes))
    scorers = scorers[:1] + files + scorers[1:]  # the model, then what the app gets from it
    print(f"{name}: scored {len(scorers)} scorers on {len(test)} test lists", file=sys.stderr, flush=True)
    return quality.measure(name, manifest.metrics.data, test.labels, test.mask, scorers,
                           time.perf_counter() - started, resamples=resamples, seed=cfg.seed)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("artifacts/quality"))
    parser.add_argument("--config", type=Path, help="run config for every dataset (default: the built-in one)")
    parser.add_argument("--datasets", default=",".join(DATASETS), help=f"comma-separated, of {', '.join(DATASETS)}")
    parser.add_argument("--resamples", type=int, default=1000)
    args = parser.parse_args(argv)
    names = [n for n in args.datasets.split(",") if n]
    unknown = [n for n in names if n not in DATASETS]
    if unknown:
        parser.error(f"--datasets: unknown {unknown[0]!r}; expected some of {', '.join(DATASETS)}")
    cfg = load_config(args.config)
    result = quality.QualityResult(quality.QUALITY_VERSION, args.resamples, cfg.seed,
                                   [measure(cfg, n, args.out, args.resamples) for n in names])
    quality.write(result, args.out)
    print(quality.markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
