"""What `edgeship bench` writes: bench.json (versioned schema), bench.md (tables) and PNG plots."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..errors import EdgeshipError
from ..files import read_json, write_text
from .harness import BENCH_SCHEMA_VERSION, BenchResult

BENCH_JSON, BENCH_MD = "bench.json", "bench.md"
PLOTS = ("latency.png", "size.png", "quality_vs_size.png")


def load_bench(path: Path) -> dict:
    """A bench.json written by this version's schema; one-line errors for anything else."""
    if path.is_dir():
        path = path / BENCH_JSON
    data = read_json(path, "bench.json")
    if not isinstance(data, dict) or data.get("kind") != "edgeship-bench":
        raise EdgeshipError(f"{path}: not an edgeship bench.json (kind must be 'edgeship-bench')")
    if data.get("schema_version") != BENCH_SCHEMA_VERSION:
        raise EdgeshipError(f"{path}: schema_version: expected {BENCH_SCHEMA_VERSION}, got "
                            f"{data.get('schema_version')!r}")
    return data


def _us(ms: float | None) -> str:
    return "–" if ms is None else f"{ms * 1000:,.1f}"


def markdown(data: dict) -> str:
    host = data["host"]
    lines = ["# edgeship bench", "",
             f"Host: {host['cpu']}, {host['logical_cores']} logical cores, {host['platform']}; "
             f"{host['runtimes']['litert']}, {host['runtimes']['onnxruntime']}. "
             f"Load average {host.get('load_average_1m')} → {host.get('load_average_1m_end')}.", "",
             f"{data['config']['rounds']} interleaved rounds × {data['config']['invokes']} invokes per "
             "configuration, each in its own process. Host CPU latency is a proxy for a device: compare "
             "configurations with each other, and calibrate budgets from one device measurement "
             "(docs/benchmarks.md).", "",
             "## Files", "",
             "| file | format | precision | bytes | gzip bytes | parameters | MACs/request | operators | mobile checks |",
             "|---|---|---|---:|---:|---:|---:|---:|---|"]
    for t in data["targets"]:
        if t["group"] == "identity":
            continue
        f = t["facts"]
        checks = ", ".join(f"{k}: {'ok' if v.get('ok') else 'NO'}"
                           + (f" ({v['suitability']})" if "suitability" in v else "")
                           for k, v in f["mobile"].items()) or "–"
        macs = "–" if f["macs"] is None else f"{f['macs']:,}"
        lines.append(f"| {t['label']} | {t['format']} | {t['precision'] or '–'} | {f['bytes']:,} | "
                     f"{f['gzip_bytes']:,} | {f['parameters']:,} | {macs} | {len(f['operators'])} | {checks} |")
    lines += ["", "## Latency (µs per invoke: inputs in, run, scores out)", "",
              "| file | runtime | threads | K | p50 | p90 | p99 | mean ± std | min | n | p50 over identity | "
              "load ms | first invoke ms | peak RSS MB | model RSS MB |",
              "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    ms = data["measurements"]
    floor = {(m["label"], m["runtime"], m["threads"]): m for m in ms if m["group"] == "identity"}
    for m in ms:
        k = "–" if m["candidates"] is None else m["candidates"]
        if m["status"] == "skipped":  # listed once per file and reason below the table, not as empty rows
            continue
        if m["status"] != "ok":
            lines.append(f"| {m['label']} | {m['runtime']} | {m['threads']} | {k} | {m['status']}: {m['reason']} "
                         "| | | | | | | | | | |")
            continue
        s = m["latency_ms"]
        ident = floor.get((m["identity"], m["runtime"], m["threads"]))
        over = (f"{s['p50'] / ident['latency_ms']['p50']:.1f}×"
                if ident and ident.get("latency_ms") and m["group"] != "identity" else "–")
        lines.append(f"| {m['label']} | {m['runtime']} | {m['threads']} | {k} | {_us(s['p50'])} | {_us(s['p90'])} | "
                     f"{_us(s['p99'])} | {_us(s['mean'])} ± {_us(s['std'])} | {_us(s['min'])} | {s['n']} | {over} | "
                     f"{m['load_ms']:.1f} | {m['first_ms']:.2f} | {m['peak_rss_mb']} | {m['model_rss_mb']} |")
    lines += ["", "identity_*: a model with the same inputs and no computation — the runtime's own per-invoke "
              "cost (overhead floor). Model RSS = the worker's peak RSS minus the identity worker's peak in the "
              "same runtime and thread count (Python and the runtime library are not what a phone pays).", ""]
    notes = [(t["label"], n) for t in data["targets"] for n in (t["facts"] or {}).get("notes", [])]
    notes += list(dict.fromkeys((m["label"], f"not measured at K={m['candidates']}: {m['reason']}")
                                for m in ms if m["status"] == "skipped"))
    unknown = [t["label"] for t in data["targets"] if t["inputs"] and t["group"] != "identity"
               and any(i["dtype"].startswith("int") and i["value_range"] is None for i in t["inputs"])]
    if notes or unknown:
        lines += ["## Notes", ""]
        lines += [f"- {label}: {n}" for label, n in notes]
        lines += [f"- {label}: integer inputs filled with 0 (valid range unknown)" for label in unknown]
        lines.append("")
    verified = [t for t in data["targets"] if t.get("verification")]
    if verified:
        lines += ["## Quality (from the bundle's manifest)", "", "| file | NDCG@10 ratio | top-10 overlap | max abs diff |",
                  "|---|---:|---:|---:|"]
        for t in verified:
            v = t["verification"]
            ratio = "–" if v.get("ndcg_ratio") is None else f"{v['ndcg_ratio']:.4f}"
            if not v.get("ndcg_gated", True):
                ratio += " (too few positives to mean anything)"
            lines.append(f"| {t['label']} | {ratio} | {v['top10_overlap']:.3f} | {v['max_abs_diff']:.2e} |")
        lines.append("")
    return "\n".join(lines)


def plot(data: dict, out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    made = []
    ok = [m for m in data["measurements"] if m["status"] == "ok"]
    if ok:
        fig, ax = plt.subplots(figsize=(10, 0.45 * len(ok) + 1.5))
        labels = [f"{m['label']} [{m['runtime']}, {m['threads']}t, K={m['candidates'] or '–'}]" for m in ok]
        samples = [np.concatenate(m["rounds_ms"]) * 1000 for m in ok]
        ax.boxplot(samples, vert=False, whis=(1, 99), showfliers=False, tick_labels=labels)
        ax.set_xscale("log")
        ax.invert_yaxis()  # first configuration on top, as in bench.md
        ax.set_xlabel("latency per invoke, µs (box: p25–p75, line: p50, whiskers: p1–p99; log scale)")
        ax.set_title("Latency distribution per file, runtime, threads")
        fig.tight_layout()
        made.append(_save(fig, out / PLOTS[0]))
        plt.close(fig)
    files = [t for t in data["targets"] if t["group"] != "identity" and t["facts"]]
    if files:
        fig, ax = plt.subplots(figsize=(8, 0.4 * len(files) + 1.5))
        y = np.arange(len(files))
        ax.barh(y - 0.2, [t["facts"]["bytes"] / 1024 for t in files], 0.4, label="file")
        ax.barh(y + 0.2, [t["facts"]["gzip_bytes"] / 1024 for t in files], 0.4, label="gzip (download)")
        ax.set_yticks(y, [t["label"] for t in files])
        ax.set_xlabel("KiB")
        ax.set_title("Size and download size")
        ax.legend()
        fig.tight_layout()
        made.append(_save(fig, out / PLOTS[1]))
        plt.close(fig)
    verified = [t for t in files if t.get("verification") and t["verification"].get("ndcg_ratio") is not None]
    if verified:
        fig, ax = plt.subplots(figsize=(7, 4.5))
        for t in verified:
            ax.scatter(t["facts"]["bytes"] / 1024, t["verification"]["ndcg_ratio"], s=40)
            ax.annotate(t["label"], (t["facts"]["bytes"] / 1024, t["verification"]["ndcg_ratio"]), fontsize=8,
                        xytext=(4, 4), textcoords="offset points")
        ax.set_xlabel("file size, KiB")
        ax.set_ylabel("NDCG@10 ratio to the trained model")
        ax.set_title("Quality vs size (verification in each file's runtime)")
        ax.grid(alpha=0.3)
        fig.tight_layout()
        made.append(_save(fig, out / PLOTS[2]))
        plt.close(fig)
    return made


def _save(fig, path: Path) -> Path:
    tmp = path.with_suffix(".tmp.png")
    fig.savefig(tmp, dpi=110)
    tmp.replace(path)
    return path


def json_form(result: BenchResult) -> dict:
    """The plain form bench.json holds, which a later `compare` or `gate --baseline` reads back."""
    return json.loads(json.dumps(result.to_dict()))


def write(result: BenchResult, out: Path, force: bool) -> dict:
    """bench.json, bench.md and the plots, each written to a temporary name and renamed into place."""
    out.mkdir(parents=True, exist_ok=True)
    target = out / BENCH_JSON
    if target.exists() and not force:
        raise EdgeshipError(f"{out}: already holds a bench.json; pass --force to replace it")
    data = json_form(result)
    write_text(out / BENCH_JSON, json.dumps(data, indent=1) + "\n")
    write_text(out / BENCH_MD, markdown(data) + "\n")
    plot(data, out)
    return data
