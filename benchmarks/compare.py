"""`edgeship compare OLD NEW`: what got bigger, slower or worse between two bench.json files.

Latency changes carry a 95 % bootstrap interval (unpaired: the two files come from different runs); a change
is called out only when its interval excludes "no change".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.outcome import Outcome
from .records import BenchResult, Group, Measurement
from .stats import Interval, ratio_interval


@dataclass(frozen=True)
class Change:
    artifact: str
    what: str
    old: float | None
    new: float | None
    interval: Interval | None = None
    verdict: str = ""  # bigger | smaller | slower | faster | worse | better | same | new | gone

    def line(self) -> str:
        if self.verdict in ("new", "gone"):
            return f"{self.verdict:<8} {self.artifact}"
        iv = self.interval
        change = (f"{iv.estimate:.3f}× (95% CI {iv.low:.3f}–{iv.high:.3f})" if iv is not None
                  else f"{_fmt(self.old)} → {_fmt(self.new)}")
        return f"{self.verdict:<8} {self.artifact}: {self.what}: {change}"


def _fmt(v) -> str:
    return "–" if v is None else f"{v:,.4g}"


def _runs(data: BenchResult) -> dict[tuple, Measurement]:
    return {(m.name, m.runtime, m.threads, m.candidates): m for m in data.measurements
            if m.group == Group.MODEL and m.status == Outcome.PASS}


def compare(old: BenchResult, new: BenchResult) -> list[Change]:
    changes = []
    old_files, new_files = old.models(), new.models()
    for label in sorted(set(old_files) | set(new_files)):
        if label not in new_files or label not in old_files:
            changes.append(Change(label, "file", None, None, verdict="gone" if label not in new_files else "new"))
            continue
        a, b = old_files[label].facts, new_files[label].facts
        for key, what in (("bytes", "bytes"), ("gzip_bytes", "gzip bytes"), ("parameters", "parameters"),
                          ("macs", "MACs")):
            x, y = getattr(a, key), getattr(b, key)
            if x is not None and y is not None:
                verdict = "bigger" if y > x else "smaller" if y < x else "same"
                changes.append(Change(label, what, x, y, verdict=verdict))
        if set(a.operators) != set(b.operators):
            added, removed = sorted(set(b.operators) - set(a.operators)), sorted(set(a.operators) - set(b.operators))
            changes.append(Change(label, f"operators +{added} -{removed}", None, None, verdict="changed"))
        va, vb = old_files[label].verification, new_files[label].verification
        if va and vb:
            d = vb.ndcg_ratio - va.ndcg_ratio
            verdict = "worse" if d < -1e-4 else "better" if d > 1e-4 else "same"
            changes.append(Change(label, "NDCG@10 ratio", va.ndcg_ratio, vb.ndcg_ratio, verdict=verdict))
    old_runs, new_runs = _runs(old), _runs(new)
    for key in sorted(set(old_runs) & set(new_runs), key=str):
        label, runtime, threads, k = key
        where = f"{label} [{runtime}, {threads}t, K={k if k is not None else '–'}]"
        for q in (50, 90):
            iv = ratio_interval(np.asarray(new_runs[key].rounds_ms), np.asarray(old_runs[key].rounds_ms), q,
                                paired=False)
            verdict = "slower" if iv.low > 1 else "faster" if iv.high < 1 else "same"
            changes.append(Change(where, f"p{q} latency", None, None, iv, verdict))
    return changes


_ORDER = {"worse": 0, "slower": 1, "bigger": 2, "changed": 3, "gone": 4, "new": 5}


def render(changes: list[Change]) -> str:
    notable = sorted((c for c in changes if c.verdict in _ORDER), key=lambda c: (_ORDER[c.verdict], c.artifact))
    rest = [c for c in changes if c.verdict not in _ORDER]
    lines = [c.line() for c in notable] or ["nothing got bigger, slower or worse"]
    lines += ["", "unchanged or improved:"] + [f"  {c.line()}" for c in rest]
    return "\n".join(lines)
