"""What `edgeship bench` writes: bench.json (versioned schema), bench.md (tables) and PNG plots."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..core import typed
from ..core.errors import AlreadyExists
from ..core.files import write_figure, write_json, write_text
from ..core.outcome import Outcome
from .records import BENCH_JSON, BenchResult, Group

BENCH_MD = "bench.md"
PLOTS = ("latency.png", "size.png", "quality_vs_size.png")


def _us(ms: float | None) -> str:
    return "–" if ms is None else f"{ms * 1000:,.1f}"


def markdown(data: BenchResult) -> str:
    host, cfg = data.host, data.config
    lines = ["# edgeship bench", "",
             f"Host: {host.cpu}, {host.logical_cores} logical cores, {host.platform}; "
             f"{', '.join(host.runtimes.values())}. "
             f"Load average {host.load_average_1m} → {host.load_average_1m_end}.", "",
             f"{cfg.rounds} interleaved rounds × {cfg.invokes} invokes per "
             "configuration, each in its own process. Host CPU latency is a proxy for a device: compare "
             "configurations with each other, and calibrate budgets from one device measurement "
             "(docs/benchmarks.md).", "",
             "## Files", "",
             "| file | format | precision | bytes | gzip bytes | parameters | MACs/request | operators | mobile checks |",
             "|---|---|---|---:|---:|---:|---:|---:|---|"]
    for t in data.targets:
        if t.group == Group.IDENTITY:
            continue
        f = t.facts
        checks = ", ".join(f"{k}: {'ok' if v.get('ok') else 'NO'}"
                           + (f" ({v['suitability']})" if "suitability" in v else "")
                           for k, v in f.mobile.items()) or "–"
        macs = "–" if f.macs is None else f"{f.macs:,}"
        lines.append(f"| {t.label} | {t.format} | {t.precision or '–'} | {f.bytes:,} | "
                     f"{f.gzip_bytes:,} | {'–' if f.parameters is None else f'{f.parameters:,}'} | {macs} | {len(f.operators)} | {checks} |")
    lines += ["", "## Latency (µs per invoke: inputs in, run, scores out)", "",
              "| file | runtime | threads | K | p50 | p90 | p99 | mean ± std | min | n | p50 over identity | "
              "load ms | first invoke ms | peak RSS MB | model RSS MB |",
              "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for m in data.measurements:
        k = "–" if m.candidates is None else m.candidates
        if m.status == Outcome.SKIP:  # listed once per file and reason below the table, not as empty rows
            continue
        if m.status != Outcome.PASS:
            lines.append(f"| {m.name} | {m.runtime} | {m.threads} | {k} | {m.status.value}: {m.reason} "
                         "| | | | | | | | | | |")
            continue
        s = m.latency_ms
        ident = data.identity_of(m)
        over = (f"{s.p50 / ident.latency_ms.p50:.1f}×"
                if ident and ident.latency_ms and m.group != Group.IDENTITY else "–")
        lines.append(f"| {m.name} | {m.runtime} | {m.threads} | {k} | {_us(s.p50)} | {_us(s.p90)} | "
                     f"{_us(s.p99)} | {_us(s.mean)} ± {_us(s.std)} | {_us(s.min)} | {s.n} | {over} | "
                     f"{m.load_ms:.1f} | {m.first_ms:.2f} | {m.peak_rss_mb} | {m.model_rss_mb} |")
    lines += ["", "identity_*: a model with the same inputs and no computation — the runtime's own per-invoke "
              "cost (overhead floor). Model RSS = the worker's peak RSS minus the identity worker's peak in the "
              "same runtime and thread count (Python and the runtime library are not what a phone pays).", ""]
    if data.profiles:
        lines += ["## Where the time goes (per operator type, the five largest)", "",
                  "| file | runtime | total µs | operator types |", "|---|---|---:|---|"]
        for p in data.profiles:
            top = ", ".join(f"{o.op} {o.us:.1f} µs ({o.share:.0%}, {o.nodes})" for o in p.ops[:5])
            lines.append(f"| {p.label} | {p.runtime} | {p.total_us:.1f} | {top} |")
        lines += [""] + [f"- {runtime}: {method}" for runtime, method in
                         dict.fromkeys((p.runtime, p.method) for p in data.profiles)] + [
            "- Measured in the bench process after the timed rounds; a profiler adds its own cost per node: "
            "compare shares and files of one runtime, not these µs with p50.", ""]
    notes = [(t.label, n) for t in data.targets for n in (t.facts.notes if t.facts else [])]
    notes += list(dict.fromkeys((m.label, f"not measured at K={m.candidates}: {m.reason}")
                                for m in data.measurements if m.status == Outcome.SKIP))
    unknown = [t.label for t in data.targets if t.signature and t.group != Group.IDENTITY
               and any(i.dtype.startswith("int") and i.value_range is None for i in t.signature.inputs)]
    if notes or unknown:
        lines += ["## Notes", ""]
        lines += [f"- {label}: {n}" for label, n in notes]
        lines += [f"- {label}: integer inputs filled with 0 (valid range unknown)" for label in unknown]
        lines.append("")
    verified = [t for t in data.targets if t.verification]
    if verified:
        lines += ["## Quality (from the bundle's manifest)", "", "| file | NDCG@10 ratio | top-10 overlap | max abs diff |",
                  "|---|---:|---:|---:|"]
        for t in verified:
            v = t.verification
            ratio = "–" if v.ndcg_ratio != v.ndcg_ratio else f"{v.ndcg_ratio:.4f}"
            if not v.ndcg_gated:
                ratio += " (too few positives to mean anything)"
            lines.append(f"| {t.label} | {ratio} | {v.top10_overlap:.3f} | {v.max_abs_diff:.2e} |")
        lines.append("")
    return "\n".join(lines)


def plot(data: BenchResult, out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    made = []
    ok = [m for m in data.measurements if m.status == Outcome.PASS]
    if ok:
        fig, ax = plt.subplots(figsize=(10, 0.45 * len(ok) + 1.5))
        labels = [f"{m.name} [{m.runtime}, {m.threads}t, K={m.candidates or '–'}]" for m in ok]
        samples = [np.concatenate(m.rounds_ms) * 1000 for m in ok]
        ax.boxplot(samples, vert=False, whis=(1, 99), showfliers=False, tick_labels=labels)
        ax.set_xscale("log")
        ax.invert_yaxis()  # first configuration on top, as in bench.md
        ax.set_xlabel("latency per invoke, µs (box: p25–p75, line: p50, whiskers: p1–p99; log scale)")
        ax.set_title("Latency distribution per file, runtime, threads")
        fig.tight_layout()
        made.append(write_figure(fig, out / PLOTS[0]))
    files = [t for t in data.targets if t.group != Group.IDENTITY and t.facts]
    if files:
        fig, ax = plt.subplots(figsize=(8, 0.4 * len(files) + 1.5))
        y = np.arange(len(files))
        ax.barh(y - 0.2, [t.facts.bytes / 1024 for t in files], 0.4, label="file")
        ax.barh(y + 0.2, [t.facts.gzip_bytes / 1024 for t in files], 0.4, label="gzip (download)")
        ax.set_yticks(y, [t.label for t in files])
        ax.set_xlabel("KiB")
        ax.set_title("Size and download size")
        ax.legend()
        fig.tight_layout()
        made.append(write_figure(fig, out / PLOTS[1]))
    verified = [t for t in files if t.verification and t.verification.ndcg_ratio == t.verification.ndcg_ratio]
    if verified:
        fig, ax = plt.subplots(figsize=(7, 4.5))
        for t in verified:
            ax.scatter(t.facts.bytes / 1024, t.verification.ndcg_ratio, s=40)
            ax.annotate(t.label, (t.facts.bytes / 1024, t.verification.ndcg_ratio), fontsize=8,
                        xytext=(4, 4), textcoords="offset points")
        ax.set_xlabel("file size, KiB")
        ax.set_ylabel("NDCG@10 ratio to the trained model")
        ax.set_title("Quality vs size (verification in each file's runtime)")
        ax.grid(alpha=0.3)
        fig.tight_layout()
        made.append(write_figure(fig, out / PLOTS[2]))
    return made


def write(result: BenchResult, out: Path, force: bool) -> None:
    """bench.json, bench.md and the plots, each written to a temporary name and renamed into place."""
    out.mkdir(parents=True, exist_ok=True)
    if (out / BENCH_JSON).exists() and not force:
        raise AlreadyExists("already holds a bench.json", option="out", value=out)
    write_json(out / BENCH_JSON, typed.dump(result))
    write_text(out / BENCH_MD, markdown(result) + "\n")
    plot(result, out)
