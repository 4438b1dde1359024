"""The shipped ranker's early-stopping patience on small logs, three seeds side by side.

`python -m studies.patience --out DIR [--datasets app_usage,long_tail] [--patience 2,3,4] [--seeds 1,2,3]`

For each generated log of studies.quality (the same split every time) and each patience, the ranker is trained
with each seed (the schedule otherwise the default one for the log's rows) and scored on every test row: AUC and
NDCG@10 of the Keras model, the epoch it stopped at and its best epoch, the training time. Writes
DIR/patience.json and prints a table; paired differences against the first patience are per seed.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np

from edgeship.config import RunConfig
from edgeship.core.files import write_json
from edgeship.pipeline import train
from edgeship.progress import Steps
from edgeship.sources import prepare

from .quality import dataset_config


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.split(","))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=Path("artifacts/patience"))
    p.add_argument("--datasets", default="app_usage,long_tail")
    p.add_argument("--patience", type=_ints, default=(2, 3, 4))
    p.add_argument("--seeds", type=_ints, default=(1, 2, 3))
    args = p.parse_args(argv)
    step = Steps(sys.stderr)
    rows = []
    for name in args.datasets.split(","):
        base = dataset_config(RunConfig(), name, args.out)
        base = dataclasses.replace(base, reference=dataclasses.replace(base.reference, enabled=False))
        for patience in args.patience:
            for seed in args.seeds:
                cfg = dataclasses.replace(base, seed=seed, train=dataclasses.replace(base.train, patience=patience))
                started = time.perf_counter()
                data = prepare(cfg, step)
                trained = train(cfg, data, step)
                m, c = trained.metrics["model"], trained.convergence
                rows.append({"dataset": name, "patience": patience, "seed": seed, "train_rows": data.train_rows,
                             "auc": m.auc, "ndcg_at_10": m.ndcg_at_10, "best_epoch": c.best_epoch,
                             "epochs_run": c.epochs_run, "seconds": time.perf_counter() - started})
                print(json.dumps(rows[-1]), flush=True)
                args.out.mkdir(parents=True, exist_ok=True)
                write_json(args.out / "patience.json", rows)
    print("| dataset | patience | AUC (mean of seeds) | vs the first | NDCG@10 | best epoch / run | seconds |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name in args.datasets.split(","):
        first = [r for r in rows if r["dataset"] == name and r["patience"] == args.patience[0]]
        for patience in args.patience:
            these = [r for r in rows if r["dataset"] == name and r["patience"] == patience]
            diff = [a["auc"] - b["auc"] for a, b in zip(these, first)]
            print(f"| {name} | {patience} | {np.mean([r['auc'] for r in these]):.4f} | {np.mean(diff):+.4f} "
                  f"({', '.join(f'{d:+.4f}' for d in diff)}) | {np.mean([r['ndcg_at_10'] for r in these]):.4f} | "
                  + ", ".join(f"{r['best_epoch']}/{r['epochs_run']}" for r in these)
                  + f" | {np.mean([r['seconds'] for r in these]):.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
