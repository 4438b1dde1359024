"""Off-policy evaluation: the click rate a new ranking policy would have had, estimated from a log that another
(stochastic) policy wrote, with the logging policy's propensities.

The log holds impressions i: a context x_i, the item a_i shown at slot k_i, its click r_i, and p_i = the
probability that the logging policy put a_i at slot k_i in that context. A target policy ranks the candidates of
x_i; pi_e(a | x, k) = 1 when it puts a at slot k (deterministic policies: a ranking is one). With
w_i = pi_e(a_i | x_i, k_i) / p_i, the estimators of the target's click rate per impression are
(Saito et al. 2020, arXiv:2008.07146, section 3; their Open Bandit Pipeline, st-tech/zr-obp, implements the same):

    IPS    V = mean_i(w_i r_i)
    SNIPS  V = sum_i(w_i r_i) / sum_i(w_i)
    DR     V = mean_i(q(x_i, e_i, k_i) + w_i (r_i - q(x_i, a_i, k_i)))     e_i: the target's item at slot k_i

q is a reward model (here each item's click rate at each slot, smoothed towards the slot's rate, fitted on the
other half of the log than the rows it predicts: 2-fold cross-fitting, so DR's correction term is not fitted on
its own rows). Each estimate has a percentile bootstrap interval over rows, or over clusters of rows (a log's
lists), resampled together for every policy, so differences between policies are paired. These few formulas are implemented here rather than depending on
obp: it pins old scikit-learn/torch versions the required stack does not need, and the formulas are short enough
to check against a generator that knows every click probability (studies/ope_check.py, tests/models/test_ope.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..core.intervals import Interval, bootstrap, percentiles

ESTIMATORS = ("ips", "snips", "dr")
BOOTSTRAP = "percentile bootstrap over the log's lists (or rows), the same draws for every policy"


@dataclass(frozen=True)
class LoggedImpressions:
    """One row per logged impression (the arrays share the first axis)."""

    item: np.ndarray  # [n] int >= 0, the item shown (an index into the candidate set)
    slot: np.ndarray  # [n] int, 0-based slot it was shown at
    reward: np.ndarray  # [n] float, its click
    propensity: np.ndarray  # [n] float in (0, 1], P(logging policy shows this item at this slot | context)

    def __len__(self) -> int:
        return len(self.item)


@dataclass(frozen=True)
class PolicyEstimate:
    """One target policy: each estimator's click rate per impression with its 95 % interval."""

    policy: str
    ips: Interval
    snips: Interval
    dr: Interval
    matched: int = field(metadata={"doc": "logged impressions where the policy would have shown the same item"})
    effective_sample_size: float = field(metadata={"doc": "(sum w)^2 / sum w^2: how many rows the estimate rests on"})


def reward_model(log: LoggedImpressions, items: int, slots: int, folds: np.ndarray, prior: float = 20.0
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Per fold f, q_f[item, slot]: the click rate fitted on the rows of the other fold, each item's rate at a
    slot smoothed towards that slot's rate with `prior` pseudo-impressions. Returns (q [2, items, slots], folds)."""
    q = np.empty((2, items, slots))
    for f in (0, 1):
        train = folds != f
        shows = np.zeros((items, slots))
        clicks = np.zeros((items, slots))
        np.add.at(shows, (log.item[train], log.slot[train]), 1.0)
        np.add.at(clicks, (log.item[train], log.slot[train]), log.reward[train])
        slot_rate = clicks.sum(axis=0) / np.maximum(shows.sum(axis=0), 1.0)
        q[f] = (clicks + prior * slot_rate) / (shows + prior)
    return q, folds


def _terms(log: LoggedImpressions, target: np.ndarray, q: np.ndarray, folds: np.ndarray
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row: the weight w, w * r, and the DR term."""
    w = (target == log.item).astype(np.float64) / log.propensity
    # target -1: the policy shows nothing at that slot (fewer candidates than slots), which earns no click
    q_target = np.where(target >= 0, q[folds, np.maximum(target, 0), log.slot], 0.0)
    q_logged = q[folds, log.item, log.slot]
    return w, w * log.reward, q_target + w * (log.reward - q_logged)


def _values(w: np.ndarray, wr: np.ndarray, dr: np.ndarray, rows) -> np.ndarray:
    """[3] IPS, SNIPS, DR over the given rows: an index array, a [B, n] matrix of row indices, or a [B, n] matrix
    of row weights (float: bootstrap_clusters)."""
    if np.asarray(rows).dtype.kind == "f":
        sw, swr, n = rows @ w, rows @ wr, rows.sum(axis=-1)
        with np.errstate(invalid="ignore", divide="ignore"):
            snips = np.where(sw > 0, swr / np.where(sw > 0, sw, 1.0), 0.0)
        return np.stack([swr / n, snips, (rows @ dr) / n])
    sw, swr = w[rows].sum(axis=-1), wr[rows].sum(axis=-1)
    n = np.shape(rows)[-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        snips = np.where(sw > 0, swr / np.where(sw > 0, sw, 1.0), 0.0)
    return np.stack([swr / n, snips, dr[rows].sum(axis=-1) / n])


def bootstrap_rows(n: int, resamples: int, seed: int) -> np.ndarray:
    """[resamples, n] row indices drawn with replacement: the same draws serve every policy (paired)."""
    return np.random.default_rng([seed, 29]).integers(0, n, size=(resamples, n), dtype=np.int32)


def bootstrap_clusters(clusters: np.ndarray, resamples: int, seed: int) -> np.ndarray:
    """[resamples, n] row weights: each resample draws the clusters (a log's lists: rows that share a request or
    a user are not independent) with replacement, and weighs each row by how often its cluster was drawn."""
    ids, inverse = np.unique(clusters, return_inverse=True)
    rng = np.random.default_rng([seed, 43])
    k = len(ids)
    counts = np.stack([np.bincount(rng.integers(0, k, k), minlength=k) for _ in range(resamples)])
    return counts.astype(np.float64)[:, inverse]


def resampled_mean(values: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """[B] the mean of `values` in each resample (draws: bootstrap_rows or bootstrap_clusters)."""
    if draws.dtype.kind == "f":
        return (draws @ values) / draws.sum(axis=1)
    return values[draws].mean(axis=1)


def estimate(log: LoggedImpressions, targets: dict[str, np.ndarray], q: np.ndarray, folds: np.ndarray,
             draws: np.ndarray, level: float = 0.95) -> dict[str, PolicyEstimate]:
    """targets: policy name -> [n] the item it puts at each row's slot. draws: bootstrap_rows(...) or
    bootstrap_clusters(...), the same for every policy."""
    all_rows = np.arange(len(log))
    out = {}
    for name, target in targets.items():
        w, wr, dr = _terms(log, target, q, folds)
        point = _values(w, wr, dr, all_rows)
        boot = _values(w, wr, dr, draws)
        low, high = percentiles(boot, level, axis=1)
        intervals = [Interval(float(p), float(a), float(b), level, BOOTSTRAP) for p, a, b in zip(point, low, high)]
        ess = float(w.sum() ** 2 / (w ** 2).sum()) if w.any() else 0.0
        out[name] = PolicyEstimate(name, *intervals, matched=int((target == log.item).sum()), effective_sample_size=ess)
    return out


def difference(log: LoggedImpressions, new: np.ndarray, old: np.ndarray, q: np.ndarray, folds: np.ndarray,
               draws: np.ndarray, estimator: str = "dr", level: float = 0.95) -> Interval:
    """The new policy's click rate minus the old one's, by one estimator, with a paired bootstrap interval."""
    j = ESTIMATORS.index(estimator)
    a, b = _terms(log, new, q, folds), _terms(log, old, q, folds)
    rows = np.arange(len(log))
    point = _values(*a, rows)[j] - _values(*b, rows)[j]
    boot = _values(*a, draws)[j] - _values(*b, draws)[j]
    return bootstrap(float(point), boot, level, BOOTSTRAP + " (paired)")


def naive(log: LoggedImpressions, target: np.ndarray) -> float:
    """The click rate of the rows where the target agrees with the log, propensities ignored: biased towards
    what the logging policy liked (shown to miss in the checks)."""
    agree = target == log.item
    return float(log.reward[agree].mean()) if agree.any() else float("nan")
