"""One process against two workers of tf.distribute.MultiWorkerMirroredStrategy on the same sharded log, over
several seeds: test AUC and NDCG@10 of each, whether the feature contract's bytes are equal, throughput
(impressions per second per worker, from the epoch times the chief prints) and peak RSS per worker.
`python -m studies.distributed [--out artifacts/distributed] [--rows 200000] [--shards 4] [--seeds 7,8,9]
[--batch 1024]`
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from edgeship.core.files import sha256, write_json, write_text
from studies.synthetic_log import write_log

ROOT = Path(__file__).resolve().parents[1]


def _run(log: Path, config: Path, out: Path, seed: int, workers: int) -> dict:
    args = [sys.executable, "-m", "edgeship.cli", "train", "--data", str(log), "--schema", str(log / "schema.toml"),
            "--config", str(config), "--out", str(out), "--seed", str(seed), "--force"]
    if workers > 1:
        args += ["--workers", str(workers)]
    started = time.perf_counter()
    done = subprocess.run(args, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"{workers} worker(s), seed {seed}: exit {done.returncode}: {done.stderr[-1500:]}")
    manifest = json.loads((out / "manifest.json").read_text())
    # the epoch's training steps alone (validation excluded), from the chief's epoch lines
    epochs = [float(x) for x in re.findall(r"train epoch \d+/\d+: .*\(training (\d+\.\d+)s of", done.stderr)]
    rss = [float(x) for x in re.findall(r"peak RSS (\d+) MB", done.stderr + done.stdout)]  # each process's own
    train_rows = manifest["metrics"]["source"]["rows"]["train"]
    t = manifest["training"]
    rows_per_worker = (t["steps_per_epoch"] * t["per_worker_batch"]) if t["steps_per_epoch"] else train_rows
    return {"workers": workers, "seed": seed, "auc": manifest["metrics"]["model"]["auc"],
            "ndcg_at_10": manifest["metrics"]["model"]["ndcg_at_10"], "epoch_seconds": epochs,
            "impressions_per_second_per_worker": rows_per_worker / float(np.median(epochs[1:] or epochs)),
            "steps_per_epoch": t["steps_per_epoch"] or -(-train_rows // t["global_batch"]),
            "peak_rss_mb": rss, "wall_seconds": time.perf_counter() - started,
            "contract": {n: sha256(out / n) for n in ("features.json", "vocabularies.json")}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("artifacts/distributed"))
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--seeds", default="7,8,9")
    parser.add_argument("--batch", type=int, default=1024)
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    log = write_log(args.out / "log", args.rows, shards=args.shards, kind="csv", seed=5)
    config = args.out / "run.toml"
    config.write_text(f"[train]\nepochs = {args.epochs}\nbatch_size = {args.batch}\n[quantization]\n"
                      "calibration_requests = 100\n[export]\nverify_requests = 300\npersonal = false\n"
                      'formats = ["tflite"]\n')
    runs = []
    for seed in (int(s) for s in args.seeds.split(",")):
        for workers in (1, 2):
            r = _run(log, config, args.out / f"w{workers}_s{seed}", seed, workers)
            print(f"seed {seed}, {workers} worker(s): AUC {r['auc']:.4f} NDCG@10 {r['ndcg_at_10']:.4f}, "
                  f"{r['impressions_per_second_per_worker']:,.0f} impressions/s per worker, epochs "
                  f"{r['epoch_seconds']} s, peak RSS {r['peak_rss_mb']} MB", file=sys.stderr, flush=True)
            runs.append(r)
    same = all(a["contract"] == b["contract"] for a, b in zip(runs[::2], runs[1::2]))
    lines = [f"# One process vs two workers ({args.rows:,} rows, {args.shards} shards, batch {args.batch}, "
             f"{args.epochs} epochs)", "",
             "| seed | workers | test AUC | test NDCG@10 | impressions/s per worker | training s per epoch | peak RSS MB |",
             "|---|---|---|---|---|---|---|"]
    for r in runs:
        lines.append(f"| {r['seed']} | {r['workers']} | {r['auc']:.4f} | {r['ndcg_at_10']:.4f} | "
                     f"{r['impressions_per_second_per_worker']:,.0f} | {', '.join(map(str, r['epoch_seconds']))} | "
                     f"{', '.join(f'{x:.0f}' for x in r['peak_rss_mb'])} |")
    for w in (1, 2):
        mine = [r for r in runs if r["workers"] == w]
        lines.append(f"\n{w} worker(s): AUC {np.mean([r['auc'] for r in mine]):.4f} ± "
                     f"{np.std([r['auc'] for r in mine]):.4f}, NDCG@10 {np.mean([r['ndcg_at_10'] for r in mine]):.4f}"
                     f" ± {np.std([r['ndcg_at_10'] for r in mine]):.4f}")
    lines.append(f"\nfeatures.json and vocabularies.json byte-identical between 1 and 2 workers on every seed: {same}")
    write_json(args.out / "distributed.json", {"runs": [{k: v for k, v in r.items() if k != "contract"}
                                                         for r in runs], "contract_identical": same})
    write_text(args.out / "distributed.md", "\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
