"""The table behind the ranker's defaults: model variants side by side on the same data and split.
`python -m studies.model_variants [--out artifacts/model_variants] [--scale 1] [--variants a,b] [--seeds 7,8,9]
[--config run.toml]`

Each variant goes through the real pipeline (.tflite only: the int8 file is what the table's size, NDCG ratio and
latency describe; no QAT, no trainable file), then every variant's int8 file is timed by the real harness in
interleaved rounds, so latencies are medians measured side by side. --seeds repeats every variant with other
seeds (data, split and initialisation all change) and adds a per-variant mean, spread and the paired difference
to the first variant, since one seed's ranking of close variants is noise. --scale multiplies the built-in data's
training requests (how much a variant's quality is held back by data rather than by its shape).
Writes OUT/model_variants.json and OUT/model_variants.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import time
from pathlib import Path

from edgeship.benchmarks.harness import collect_targets, run_bench
from edgeship.benchmarks.records import BenchConfig
from edgeship.config import RunConfig, load_config
from edgeship.core.files import write_json, write_text
from edgeship.pipeline import run
from edgeship.progress import Steps

# name -> (what it is, [model] overrides, [train] overrides), on top of the run config. The shapes measured before
# the history's item features existed keep them off, so each name still means the model it was measured as.
V1_TRAIN = {"batch_size": 128, "learning_rate": 2e-3, "lr_decay": 1.0, "early_stopping": "loss", "patience": 1}


def _shape(attention: bool, item_dim: int = 16, hidden: tuple = (64, 32), cross: int = 0, dropout: float = 0.0) -> dict:
    return {"attention": attention, "cross_layers": cross, "dropout": dropout, "item_dim": item_dim, "hidden": hidden,
            "history_features": False}


VARIANTS: dict[str, tuple[str, dict, dict]] = {
    "v1": ("the first ranker: mean pooling, 16-d items, 64-32, batch 128", _shape(False), V1_TRAIN),
    "v1+attention": ("v1 + candidate-aware attention", _shape(True), V1_TRAIN),
    "v1+cross2": ("v1 + 2 DCN-v2 cross layers", _shape(False, cross=2), V1_TRAIN),
    "default": ("the run config as it is", {}, {}),
    "no_item_table": ("the run config without the history's item features (the default before 2026-12-03)",
                      {"history_features": False}, {}),
    "previous": ("the default before the multi-seed table: attention, 24-d, 96-48, dropout 0.1, batch 256, "
                 "early stopping on AUC", _shape(True, 24, (96, 48), dropout=0.1),
                 {"batch_size": 256, "early_stopping": "auc"}),
    "attention": ("attention, 16-d, 64-32; the run config's training", _shape(True), {}),
    "wide": ("attention, 32-d items, 128-64, dropout 0.1", _shape(True, 32, (128, 64), dropout=0.1), {}),
    "wide+cross": ("wide + 1 cross layer", _shape(True, 32, (128, 64), cross=1, dropout=0.1), {}),
}


def variant_config(cfg: RunConfig, model: dict, train: dict, scale: float, seed: int) -> RunConfig:
    return dataclasses.replace(
        cfg, seed=seed, model=dataclasses.replace(cfg.model, **model), train=dataclasses.replace(cfg.train, **train),
        data=dataclasses.replace(cfg.data, train_requests=int(cfg.data.train_requests * scale)),
        quantization=dataclasses.replace(cfg.quantization, qat=False),
        export=dataclasses.replace(cfg.export, formats=("tflite",), personal=False))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("artifacts/model_variants"))
    parser.add_argument("--config", type=Path, help="run config the variants start from (default: built-in)")
    parser.add_argument("--scale", type=float, default=1.0, help="x the built-in training requests")
    parser.add_argument("--variants", help="comma-separated names (default: all)")
    parser.add_argument("--seeds", help="comma-separated seeds (default: the run config's)")
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args(argv)
    names = args.variants.split(",") if args.variants else list(VARIANTS)
    for n in names:
        if n not in VARIANTS:
            parser.error(f"--variants: unknown {n!r}; expected some of {', '.join(VARIANTS)}")
    cfg = load_config(args.config)
    try:
        seeds = [int(s) for s in args.seeds.split(",")] if args.seeds else [cfg.seed]
    except ValueError:
        parser.error(f"--seeds: expected comma-separated integers, got {args.seeds!r}")
    rows, files = [], []
    for seed in seeds:
        for i, name in enumerate(names):
            row, path = _variant(cfg, name, args.scale, seed, args.out / f"seed_{seed}" / f"variant_{i}")
            rows.append(row)
            files.append(path)
    targets, source = collect_targets(files)
    bench = run_bench(targets, BenchConfig(threads=(1,), candidates=(cfg.export.candidates,), rounds=args.rounds,
                                           invokes=50, identity=False, profile=False,
                                           second_api=False), source,
                      progress=lambda line: print(line, file=sys.stderr, flush=True))
    label = {Path(t.path).resolve(): t.label for t in targets}
    by_label = {ms.label: ms for ms in bench.measurements if ms.call == "infer"}
    for row in rows:
        ms = by_label.get(label.get(Path(row["file"]).resolve(), ""))
        row["p50_us"] = round(ms.latency_ms.p50 * 1000, 1) if ms is not None and ms.latency_ms else None
    summary = summarize(rows, names)
    write_json(args.out / "model_variants.json", {"scale": args.scale, "seeds": seeds, "variants": rows,
                                                  "summary": summary})
    text = markdown(rows, args.scale, seeds) + (summary_markdown(summary, names[0]) if len(seeds) > 1 else "")
    write_text(args.out / "model_variants.md", text)
    print(text)
    return 0


def _variant(cfg: RunConfig, name: str, scale: float, seed: int, out: Path) -> tuple[dict, Path]:
    what, model, train = VARIANTS[name]
    vcfg = variant_config(cfg, model, train, scale, seed)
    started = time.perf_counter()
    result = run(vcfg, out, force=True, step=Steps(sys.stderr), config_source=f"studies.model_variants {name}")
    m = result.manifest
    int8 = next(a for a in m.artifacts if a.path == "ranker_int8.tflite")
    scores = m.metrics
    gap = ((scores.model.ndcg_at_10 - scores.rule_baseline.ndcg_at_10)
           / (scores.oracle.ndcg_at_10 - scores.rule_baseline.ndcg_at_10)) if scores.oracle else None
    row = {"variant": name, "seed": seed, "what": what, "model": dataclasses.asdict(vcfg.model),
           "train": dataclasses.asdict(vcfg.train),
           "parameters": m.model.parameters, "ndcg_at_10": scores.model.ndcg_at_10, "auc": scores.model.auc,
           "int8_ndcg_at_10": int8.verification.ndcg_at_10, "int8_auc": int8.verification.auc,
           "gap_closed": gap, "int8_bytes": int8.bytes, "int8_ndcg_ratio": int8.verification.ndcg_ratio,
           "seconds": round(time.perf_counter() - started, 1), "file": str(out / int8.path)}
    return row, out / int8.path


def summarize(rows: list[dict], names: list[str]) -> dict[str, dict]:
    """Per variant: mean and sample spread over seeds, and the mean paired difference to the first variant (same
    seed = same data and test lists, so the test-set noise cancels and what is left is the variants' difference)."""
    by_seed = {(r["variant"], r["seed"]): r for r in rows}
    seeds = sorted({r["seed"] for r in rows})
    out = {}
    for name in names:
        own = [by_seed[(name, s)] for s in seeds]
        entry = {}
        for key in ("ndcg_at_10", "int8_ndcg_at_10", "auc", "int8_auc", "gap_closed", "p50_us"):
            values = [r[key] for r in own if r.get(key) is not None]
            if not values:
                continue
            diffs = [by_seed[(name, s)][key] - by_seed[(names[0], s)][key] for s in seeds
                     if by_seed[(name, s)].get(key) is not None and by_seed[(names[0], s)].get(key) is not None]
            entry[key] = {"mean": statistics.fmean(values),
                          "sd": statistics.stdev(values) if len(values) > 1 else 0.0,
                          "paired_diff_mean": statistics.fmean(diffs) if diffs else None,
                          "paired_diff_sd": statistics.stdev(diffs) if len(diffs) > 1 else 0.0}
        entry["int8_bytes"] = own[0]["int8_bytes"]
        out[name] = entry
    return out


def summary_markdown(summary: dict[str, dict], first: str) -> str:
    lines = ["", f"Over seeds: mean ± sample sd, and the paired difference to {first} (same seed, same test lists).",
             "", "| variant | NDCG@10 (Keras) | int8 NDCG@10 | int8 AUC | Δ int8 NDCG@10 vs first | Δ int8 AUC vs first "
             "| int8 bytes | p50 µs |", "|---|---:|---:|---:|---:|---:|---:|---:|"]

    def pm(e: dict | None, diff: bool = False) -> str:
        if e is None:
            return "–"
        if diff:
            return f"{e['paired_diff_mean']:+.4f} ± {e['paired_diff_sd']:.4f}"
        return f"{e['mean']:.4f} ± {e['sd']:.4f}"
    for name, e in summary.items():
        p50 = e.get("p50_us")
        lines.append(f"| {name} | {pm(e.get('ndcg_at_10'))} | {pm(e.get('int8_ndcg_at_10'))} | {pm(e.get('int8_auc'))} | "
                     f"{pm(e.get('int8_ndcg_at_10'), True)} | {pm(e.get('int8_auc'), True)} | {e['int8_bytes']:,} | "
                     + ("–" if p50 is None else f"{p50['mean']:.0f}") + " |")
    return "\n".join(lines) + "\n"


def markdown(rows: list[dict], scale: float, seeds: list[int]) -> str:
    lines = [f"Built-in data x {scale:g} training requests; seeds {', '.join(map(str, seeds))}; int8 = ranker_int8.tflite in LiteRT, latency "
             "p50 per request of K candidates, 1 thread, interleaved rounds.", "",
             "| variant | seed | what | parameters | NDCG@10 (Keras) | int8 NDCG@10 | AUC | gap closed | int8 bytes | int8 NDCG "
             "ratio | p50 µs | run s |", "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['variant']} | {r['seed']} | {r['what']} | {r['parameters']:,} | {r['ndcg_at_10']:.4f} | {r['int8_ndcg_at_10']:.4f} | "
                     f"{r['auc']:.4f} | " + ("–" if r["gap_closed"] is None else f"{r['gap_closed']:.1%}")
                     + f" | {r['int8_bytes']:,} | {r['int8_ndcg_ratio']:.4f} | "
                     + ("–" if r["p50_us"] is None else f"{r['p50_us']:.0f}") + f" | {r['seconds']:.0f} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
