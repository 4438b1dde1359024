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
from ..core.intervals import Interval
from ..models import comparison
from ..models.metrics import logloss

QUALITY_VERSION = 3  # 2: AUC intervals from every resample (was the first 200); 3: differences to the reference


@dataclass(frozen=True)
class Scorer:
    """What one scorer is: its scores [N, K] on the dataset's test lists (higher ranks first)."""

    name: str
    kind: str  # keras | file | tuned | reference | rules | oracle
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
    ndcg_minus_reference: Interval | None = field(metadata={"doc": "paired difference against the reference DNN "
                                                                    "(the first scorer of kind reference)"})
    auc_minus_reference: Interval | None
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
    reference: str | None = field(default=None, metadata={"doc": "the scorer *_minus_reference is paired against"})


@dataclass(frozen=True)
class QualityResult:
    schema_version: int
    resamples: int
    seed: int
    datasets: list[DatasetQuality]


def measure(name: str, description: str, labels: np.ndarray, mask: np.ndarray | None, scorers: list[Scorer],
            seconds: float, resamples: int = comparison.RESAMPLES, seed: int = 0) -> DatasetQuality:
    """Every scorer on the same lists; the first scorer of kind "keras" is the model differences are taken to."""
    labels = np.asarray(labels)
    real = np.ones(labels.shape, bool) if mask is None else np.asarray(mask, bool)
    counts = comparison.draw(len(labels), resamples, seed)  # the same lists for every scorer
    scored = {s.name: comparison.score(s.scores, labels, mask, counts) for s in scorers}
    model = next((s for s in scorers if s.kind == "keras"), None)
    reference = next((s for s in scorers if s.kind == "reference"), None)
    rules = next((scored[s.name].ndcg_at_10 for s in scorers if s.kind == "rules"), None)
    oracle = next((scored[s.name].ndcg_at_10 for s in scorers if s.kind == "oracle"), None)
    out = []
    for s in scorers:
        diff = diff_auc = ref = ref_auc = None
        if model is not None and s.name != model.name:
            diff, diff_auc = scored[s.name].minus(scored[model.name])
        if reference is not None and s.name != reference.name and s.kind not in ("rules", "oracle"):
            ref, ref_auc = scored[s.name].minus(scored[reference.name])
        point = scored[s.name].ndcg_at_10
        known = rules is not None and oracle is not None and oracle > rules
        gap = (point - rules) / (oracle - rules) if known else None
        ndcg, auc_interval = scored[s.name].intervals()
        out.append(ScorerQuality(
            s.name, s.kind, ndcg, auc_interval, diff, diff_auc, ref, ref_auc, None if gap is None else round(gap, 4),
            round(logloss(np.asarray(s.scores)[real], labels[real]), 5) if s.probabilities else None,
            s.parameters, s.bytes))
    with_positive = (labels > 0).any(axis=1)  # the lists NDCG is defined on (padding is never positive)
    return DatasetQuality(name, description, int(with_positive.sum()), int((labels > 0).sum()), round(seconds, 1),
                          out, reference.name if reference else None)


def markdown(result: QualityResult) -> str:
    lines = ["# Ranking quality: the shipped ranker against references without mobile limits", "",
             f"NDCG@10 and AUC on every row of each dataset's held-out test split, cut into lists; [95 % bootstrap "
             f"interval over lists, {result.resamples} resamples]. Differences are paired against the Keras fp32 "
             "model and against the reference DNN (trained to convergence). Gap closed = (NDCG - rules) / "
             "(oracle - rules), where the oracle is known.", ""]
    for d in result.datasets:
        lines += [f"## {d.name}", "", d.description, "",
                  f"{d.lists:,} test lists with a positive, {d.positives:,} positives; {d.seconds:.0f} s.", "",
                  "| scorer | kind | NDCG@10 | vs model | AUC | vs model | AUC vs reference DNN | log loss | "
                  "gap closed | parameters | bytes |", "|---|---|---|---|---|---|---|---|---|---|---|"]
        for s in d.scorers:
            lines.append("| " + " | ".join([
                s.name, s.kind, s.ndcg_at_10.text(),
                "–" if s.ndcg_minus_model is None else s.ndcg_minus_model.text(signed=True),
                s.auc.text(), "–" if s.auc_minus_model is None else s.auc_minus_model.text(signed=True),
                "–" if s.auc_minus_reference is None else s.auc_minus_reference.text(signed=True),
                "–" if s.logloss is None else f"{s.logloss:.4f}",
                "–" if s.gap_closed is None else f"{s.gap_closed:.1%}",
                "–" if s.parameters is None else f"{s.parameters:,}",
                "–" if s.bytes is None else f"{s.bytes:,}"]) + " |")
        lines.append("")
    return "\n".join(lines)


def write(result: QualityResult, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "quality.json", typed.dump(result))
    write_text(out / "quality.md", markdown(result))
