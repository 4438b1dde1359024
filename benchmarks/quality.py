"""Ranking quality side by side: every scorer of one dataset on the same test lists, with bootstrap intervals.

Scorers are the shipped ranker (Keras fp32 and each saved file, executed by its runtime), the references without
mobile limits (an unconstrained DNN, a logistic regression), the rule baseline and, where the data knows it, the
oracle. The bootstrap resamples whole test lists (a request's candidates are not independent of each other), and
differences against the Keras model are paired: each resample takes the same lists for both.
The driver that trains everything lives in studies/quality.py (it runs the whole pipeline, which the installed
stages never import); this module only measures and reports. quality.json / quality.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..core import typed
from ..core.files import write_json, write_text
from ..core.intervals import LEVEL, Interval, bootstrap
from ..models.metrics import auc, logloss, masked, ndcg_per_request

QUALITY_VERSION = 1
OVER_LISTS = "percentile bootstrap over test lists (paired across scorers)"


@dataclass(frozen=True)
class Scorer:
    """What one scorer is: its scores [N, K] on the dataset's test lists (higher ranks first)."""

    name: str
    kind: str  # keras | file | reference | rules | oracle
    scores: np.ndarray
    probabilities: bool = True  # scores are click probabilities (log loss is defined)
    parameters: int | None = None
    bytes: int | None = None


@dataclass(frozen=True)
class ScorerQuality:
    name: str
    kind: str
    ndcg_at_10: Interval
    auc: Interval
    ndcg_minus_model: Interval | None = field(metadata={"doc": "paired difference against the Keras model"})
    auc_minus_model: Interval | None
    gap_closed: float | None = field(metadata={"doc": "(NDCG - rules) / (oracle - rules); None without an oracle"})
    logloss: float | None = None
    parameters: int | None = None
    bytes: int | None = None


@dataclass(frozen=True)
class DatasetQuality:
    name: str
    description: str
    lists: int = field(metadata={"doc": "test lists with at least one positive (the NDCG average)"})
    positives: int
    seconds: float
    scorers: list[ScorerQuality]


@dataclass(frozen=True)
class QualityResult:
    schema_version: int
    resamples: int
    seed: int
    datasets: list[DatasetQuality]


def _interval(point: float, boot: np.ndarray) -> Interval:
    return bootstrap(point, boot, LEVEL, OVER_LISTS, digits=5)


def _auc_of(scores, labels, real, lists) -> float:
    s, y, r = scores[lists], labels[lists], real[lists]
    return auc(s[r], y[r])


def measure(name: str, description: str, labels: np.ndarray, mask: np.ndarray | None, scorers: list[Scorer],
            seconds: float, resamples: int = 1000, auc_resamples: int = 200, seed: int = 0) -> DatasetQuality:
    """Every scorer on the same lists; the first scorer of kind "keras" is the model differences are taken to."""
    labels = np.asarray(labels)
    real = np.ones(labels.shape, bool) if mask is None else np.asarray(mask, bool)
    scores = {s.name: np.asarray(s.scores) for s in scorers}
    per_list = {name: ndcg_per_request(masked(v, mask), labels, 10) for name, v in scores.items()}
    defined = np.isfinite(next(iter(per_list.values())))
    n = len(labels)
    picks = np.random.default_rng(seed).integers(0, n, size=(resamples, n))  # the same lists for every scorer
    model = next((s for s in scorers if s.kind == "keras"), None)
    point_ndcg = {k: float(np.nanmean(v)) for k, v in per_list.items()}
    boots = {k: np.nanmean(v[picks], axis=1) for k, v in per_list.items()}
    aucs = {k: auc(v[real], labels[real]) for k, v in scores.items()}
    auc_boots = {k: np.array([_auc_of(v, labels, real, p) for p in picks[:auc_resamples]]) for k, v in scores.items()}
    rules = point_ndcg.get(next((s.name for s in scorers if s.kind == "rules"), ""), None)
    oracle = point_ndcg.get(next((s.name for s in scorers if s.kind == "oracle"), ""), None)
    out = []
    for s in scorers:
        diff = diff_auc = None
        if model is not None and s.name != model.name:
            diff = _interval(point_ndcg[s.name] - point_ndcg[model.name], boots[s.name] - boots[model.name])
            diff_auc = _interval(aucs[s.name] - aucs[model.name], auc_boots[s.name] - auc_boots[model.name])
        gap = ((point_ndcg[s.name] - rules) / (oracle - rules)
               if rules is not None and oracle is not None and oracle > rules else None)
        out.append(ScorerQuality(
            s.name, s.kind, _interval(point_ndcg[s.name], boots[s.name]), _interval(aucs[s.name], auc_boots[s.name]),
            diff, diff_auc, None if gap is None else round(gap, 4),
            round(logloss(scores[s.name][real], labels[real]), 5) if s.probabilities else None,
            s.parameters, s.bytes))
    return DatasetQuality(name, description, int(defined.sum()), int((labels > 0).sum()), round(seconds, 1), out)


def markdown(result: QualityResult) -> str:
    lines = ["# Ranking quality: the shipped ranker against references without mobile limits", "",
             f"NDCG@10 and AUC on each dataset's held-out test lists; [95 % bootstrap interval over lists, "
             f"{result.resamples} resamples for NDCG]. Differences are paired against the Keras fp32 model. "
             "Gap closed = (NDCG - rules) / (oracle - rules), where the oracle is known.", ""]
    for d in result.datasets:
        lines += [f"## {d.name}", "", d.description, "",
                  f"{d.lists:,} test lists with a positive, {d.positives:,} positives; {d.seconds:.0f} s.", "",
                  "| scorer | kind | NDCG@10 | vs model | AUC | vs model | log loss | gap closed | parameters | "
                  "bytes |", "|---|---|---|---|---|---|---|---|---|---|"]
        for s in d.scorers:
            lines.append("| " + " | ".join([
                s.name, s.kind, _plain(s.ndcg_at_10), "–" if s.ndcg_minus_model is None else _signed(s.ndcg_minus_model),
                _plain(s.auc), "–" if s.auc_minus_model is None else _signed(s.auc_minus_model),
                "–" if s.logloss is None else f"{s.logloss:.4f}",
                "–" if s.gap_closed is None else f"{s.gap_closed:.1%}",
                "–" if s.parameters is None else f"{s.parameters:,}",
                "–" if s.bytes is None else f"{s.bytes:,}"]) + " |")
        lines.append("")
    return "\n".join(lines)


def _plain(e: Interval) -> str:
    return f"{e.estimate:.4f} [{e.low:.4f}, {e.high:.4f}]"


def _signed(e: Interval) -> str:
    return f"{e.estimate:+.4f} [{e.low:+.4f}, {e.high:+.4f}]"


def write(result: QualityResult, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "quality.json", typed.dump(result))
    write_text(out / "quality.md", markdown(result))
