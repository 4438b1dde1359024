"""Ranking and classification metrics. NDCG@k is defined here once and used everywhere.

NDCG@k of one request with scores s and relevance labels r over its K candidates:
  order the candidates by s descending, ties broken by candidate position (a stable sort, so equal scores
  never help or hurt by chance); DCG@k = sum_{i<k} (2^r_i - 1) / log2(i + 2); IDCG@k is the DCG@k of the
  candidates ordered by r; NDCG@k = DCG@k / IDCG@k.
Requests without any relevant candidate (IDCG = 0) have no NDCG and are left out of the mean; the count of
requests that did take part is reported beside the mean.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def _dcg(labels_in_order: np.ndarray, k: int) -> np.ndarray:
    gains = np.power(2.0, labels_in_order[:, :k]) - 1.0
    discounts = 1.0 / np.log2(np.arange(2, gains.shape[1] + 2))
    return gains @ discounts


def ndcg_per_request(scores: np.ndarray, labels: np.ndarray, k: int = 10) -> np.ndarray:
    """NDCG@k for each request [N]; NaN where the request has no relevant candidate."""
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.float64)
    order = np.argsort(-scores, axis=1, kind="stable")
    dcg = _dcg(np.take_along_axis(labels, order, axis=1), k)
    ideal = _dcg(-np.sort(-labels, axis=1), k)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(ideal > 0, dcg / ideal, np.nan)


def _mean_over_defined(per_request: np.ndarray) -> float:
    return float(np.nanmean(per_request)) if np.isfinite(per_request).any() else float("nan")


def ndcg_at_k(scores: np.ndarray, labels: np.ndarray, k: int = 10) -> float:
    """Mean NDCG@k over the requests that have at least one relevant candidate (NaN if none has)."""
    return _mean_over_defined(ndcg_per_request(scores, labels, k))


def ndcg_of_orders(orders: list[list[int]], labels: np.ndarray, k: int = 10) -> float:
    """Mean NDCG@k of lists shown in the given orders (candidate indices, best first). A candidate left out of
    its list's order is not shown: its relevance counts in the ideal DCG, never in the DCG."""
    labels = np.asarray(labels, dtype=np.float64)
    shown = np.zeros((len(orders), k))
    for r, order in enumerate(orders):
        top = list(order[:k])
        shown[r, :len(top)] = labels[r, top]
    dcg, ideal = _dcg(shown, k), _dcg(-np.sort(-labels, axis=1), k)
    with np.errstate(invalid="ignore", divide="ignore"):
        return _mean_over_defined(np.where(ideal > 0, dcg / ideal, np.nan))


def _average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks, ties sharing their average rank."""
    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values))
    sorted_v = values[order]
    boundaries = np.flatnonzero(np.diff(sorted_v)) + 1
    starts = np.concatenate([[0], boundaries])
    ends = np.concatenate([boundaries, [len(values)]])
    ranks[order] = np.repeat((starts + ends + 1) / 2.0, ends - starts)
    return ranks


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """ROC AUC over all impressions (labels > 0 are positives), ties counted as half (Mann-Whitney)."""
    s = np.asarray(scores, dtype=np.float64).ravel()
    y = np.asarray(labels).ravel() > 0
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = _average_ranks(s)
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def rank_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman correlation of two scorers over the same candidates (pooled): label-free, and meaningful on
    short lists, where a per-list top-10 overlap compares nearly whole lists."""
    ra = _average_ranks(np.asarray(a, dtype=np.float64).ravel())
    rb = _average_ranks(np.asarray(b, dtype=np.float64).ravel())
    if ra.std() == 0 or rb.std() == 0:
        return float("nan")
    return float(np.corrcoef(ra, rb)[0, 1])


def logloss(probs: np.ndarray, labels: np.ndarray, eps: float = 1e-7) -> float:
    p = np.clip(np.asarray(probs, dtype=np.float64).ravel(), eps, 1 - eps)
    y = (np.asarray(labels).ravel() > 0).astype(np.float64)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def top_k_overlap(scores_a: np.ndarray, scores_b: np.ndarray, k: int = 10, mask: np.ndarray | None = None
                  ) -> float:
    """Mean fraction of the top-k candidates two scorers share per request (1.0 = same top-k sets). With a
    mask, padding slots are never counted and a list shorter than k is compared on all its real items."""
    a, b = masked(scores_a, mask), masked(scores_b, mask)
    real = np.full(len(a), a.shape[1]) if mask is None else np.asarray(mask).sum(axis=1)
    k_each = np.minimum(min(k, a.shape[1]), real)
    top_a = np.argsort(-a, axis=1, kind="stable")
    top_b = np.argsort(-b, axis=1, kind="stable")
    shared = [len(np.intersect1d(x[:n], y[:n], assume_unique=True)) / n
              for x, y, n in zip(top_a, top_b, k_each) if n > 0]
    return float(np.mean(shared))


def masked(scores: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """Scores with padding slots (mask False) at -inf: ranked last, never in anyone's top-k."""
    scores = np.asarray(scores, dtype=np.float64)
    return scores if mask is None else np.where(mask, scores, -np.inf)


@dataclass(frozen=True)
class RankingMetrics:
    ndcg_at_10: float
    auc: float
    logloss: float | None  # only for scorers that output probabilities
    requests: int  # requests with at least one relevant candidate (those NDCG averages over)
    positives: int


MIN_POSITIVES = 30  # below this an AUC or NDCG from one test split is noise, and the report says so


def ranking_metrics(scores: np.ndarray, labels: np.ndarray, probabilities: bool = True, mask: np.ndarray | None = None
             ) -> RankingMetrics:
    """Ranking metrics of one scorer; with a mask (lists padded to K), padding slots count nowhere."""
    per_request = ndcg_per_request(masked(scores, mask), labels, 10)
    real = np.ones(np.shape(labels), bool) if mask is None else np.asarray(mask, bool)
    scores, labels = np.asarray(scores), np.asarray(labels)
    return RankingMetrics(
        ndcg_at_10=_mean_over_defined(per_request),
        auc=auc(scores[real], labels[real]),
        logloss=logloss(scores[real], labels[real]) if probabilities else None,
        requests=int(np.isfinite(per_request).sum()),
        positives=int((np.asarray(labels) > 0).sum()),
    )
