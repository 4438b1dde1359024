"""Scorers compared on the same test lists, with bootstrap intervals over lists.

A list's candidates are not independent of each other (one user, one context), so the bootstrap resamples whole
lists, and a comparison of two scorers is paired: each resample weighs the same lists for both. A resample is a
row of counts (how many times each list was drawn), which lets every replicate of NDCG@10 and AUC be computed
from one sort of the scores instead of one sort per replicate (`auc_replicates`): thousands of resamples over
every row of a log cost seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..core.intervals import LEVEL, Interval, bootstrap
from .metrics import auc, masked, ndcg_per_request

OVER_LISTS = "percentile bootstrap over test lists"
PAIRED_OVER_LISTS = "paired percentile bootstrap over test lists (the same lists drawn for both scorers)"
RESAMPLES = 1000
# replicates computed at once: [chunk, rows] weights in memory (float64), about 160 MB at this many cells
_CELLS = 20_000_000


def draw(lists: int, resamples: int, seed: int) -> np.ndarray:
    """[R, lists] counts: resample r draws list i counts[r, i] times (lists drawn with replacement, `lists`
    draws per resample)."""
    rng = np.random.default_rng(seed)
    return rng.multinomial(lists, np.full(lists, 1.0 / lists), size=resamples).astype(np.float64)


def ndcg_replicates(per_list: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """[R] mean NDCG@10 of each resample, over the drawn lists that have a positive (NaN: none drawn has)."""
    defined = np.isfinite(per_list)
    weights = counts * defined
    with np.errstate(invalid="ignore", divide="ignore"):
        return (weights @ np.where(defined, per_list, 0.0)) / weights.sum(axis=1)


def auc_replicates(scores: np.ndarray, labels: np.ndarray, mask: np.ndarray | None, counts: np.ndarray) -> np.ndarray:
    """[R] ROC AUC of each resample over the real rows of the drawn lists, ties counted as half: the weighted
    Mann-Whitney statistic, each row weighted by its list's count, from one sort of the scores."""
    scores, labels = np.asarray(scores, np.float64), np.asarray(labels)
    real = np.ones(labels.shape, bool) if mask is None else np.asarray(mask, bool)
    list_of_row = np.broadcast_to(np.arange(len(labels))[:, None], labels.shape)[real]
    s, y = scores[real], labels[real] > 0
    order = np.argsort(s, kind="stable")
    s, y, list_of_row = s[order], y[order], list_of_row[order]
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])  # tie groups of equal scores
    out = np.empty(len(counts))
    chunk = max(1, _CELLS // max(len(s), 1))
    for r0 in range(0, len(counts), chunk):
        w = counts[r0:r0 + chunk][:, list_of_row]  # [r, rows] each row weighted by its list's count
        pos = np.add.reduceat(w * y, starts, axis=1)
        neg = np.add.reduceat(w * ~y, starts, axis=1)
        below = np.cumsum(neg, axis=1) - neg  # negatives strictly below each tie group
        with np.errstate(invalid="ignore", divide="ignore"):
            out[r0:r0 + chunk] = ((pos * (below + 0.5 * neg)).sum(axis=1)
                                  / (pos.sum(axis=1) * neg.sum(axis=1)))
    return out


@dataclass(frozen=True)
class Scored:
    """One scorer's point estimates on the lists and their replicates under the shared resamples."""

    ndcg_at_10: float
    auc: float
    ndcg_replicates: np.ndarray
    auc_replicates: np.ndarray

    def intervals(self, level: float = LEVEL, digits: int | None = 5) -> tuple[Interval, Interval]:
        """(NDCG@10, AUC) with their intervals."""
        return (bootstrap(self.ndcg_at_10, self.ndcg_replicates, level, OVER_LISTS, digits),
                bootstrap(self.auc, self.auc_replicates, level, OVER_LISTS, digits))

    def minus(self, other: Scored, level: float = LEVEL, digits: int | None = 5) -> tuple[Interval, Interval]:
        """(NDCG@10, AUC) of this scorer minus the other's, paired: the replicates were drawn on the same lists."""
        return (bootstrap(self.ndcg_at_10 - other.ndcg_at_10, self.ndcg_replicates - other.ndcg_replicates, level,
                          PAIRED_OVER_LISTS, digits),
                bootstrap(self.auc - other.auc, self.auc_replicates - other.auc_replicates, level,
                          PAIRED_OVER_LISTS, digits))


def score(scores: np.ndarray, labels: np.ndarray, mask: np.ndarray | None, counts: np.ndarray) -> Scored:
    """A scorer's NDCG@10 and AUC on the lists, and their replicates under `counts` (from `draw`)."""
    per_list = ndcg_per_request(masked(scores, mask), labels, 10)
    real = np.ones(np.shape(labels), bool) if mask is None else np.asarray(mask, bool)
    point = float(np.nanmean(per_list)) if np.isfinite(per_list).any() else float("nan")
    return Scored(point, auc(np.asarray(scores)[real], np.asarray(labels)[real]),
                  ndcg_replicates(per_list, counts), auc_replicates(scores, labels, mask, counts))


@dataclass(frozen=True)
class Comparison:
    """A scorer against a reference on the same test lists: differences are scorer − reference (positive: the
    scorer ranks better), with paired intervals."""

    scorer: str = field(metadata={"doc": "the Keras model or a shipped file (its path in the bundle)"})
    reference: str
    lists: int = field(metadata={"doc": "test lists compared on (every test row of the data, cut into lists)"})
    rows: int = field(metadata={"doc": "real (non-padding) candidates in those lists"})
    ndcg_at_10: Interval = field(metadata={"doc": "scorer − reference"})
    auc: Interval = field(metadata={"doc": "scorer − reference"})


def compare(scorer: str, scored: Scored, reference: str, against: Scored, labels: np.ndarray,
            mask: np.ndarray | None) -> Comparison:
    """The two scorers' differences on the lists they were scored on (labels, mask: those lists')."""
    ndcg, auc_diff = scored.minus(against)
    rows = int(np.size(labels) if mask is None else np.asarray(mask).sum())
    return Comparison(scorer, reference, len(labels), rows, ndcg, auc_diff)
