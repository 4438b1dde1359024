"""Bootstrap over lists from counts: every replicate equals the metric recomputed on the resampled lists, and a
paired difference of a scorer with itself is exactly zero."""

from __future__ import annotations

import numpy as np
import pytest

from edgeship.core.intervals import Interval
from edgeship.models import comparison
from edgeship.models.metrics import auc, ndcg_at_k

pytestmark = pytest.mark.unit  # TensorFlow-free: `make test-fast`


def _lists(n=120, k=7, seed=3):
    rng = np.random.default_rng(seed)
    labels = (rng.random((n, k)) < 0.25).astype(np.float32)
    mask = np.ones((n, k), bool)
    mask[::3, 5:] = False  # short lists: padding slots
    labels[~mask] = 0
    scores = np.round(labels * 0.3 + rng.random((n, k)), 1)  # rounded: many ties
    return scores, labels, mask


def _expand(counts_row):
    return np.repeat(np.arange(len(counts_row)), counts_row.astype(int))


def test_each_replicate_is_the_metric_on_its_resampled_lists():
    scores, labels, mask = _lists()
    counts = comparison.draw(len(labels), 6, seed=1)
    assert counts.shape == (6, len(labels)) and (counts.sum(axis=1) == len(labels)).all()
    scored = comparison.score(scores, labels, mask, counts)
    for r, row in enumerate(counts):
        picks = _expand(row)
        s, y, m = scores[picks], labels[picks], mask[picks]
        assert scored.auc_replicates[r] == pytest.approx(auc(s[m], y[m]), abs=1e-12)
        assert scored.ndcg_replicates[r] == pytest.approx(ndcg_at_k(np.where(m, s, -np.inf), y), abs=1e-12)
    assert scored.auc == pytest.approx(auc(scores[mask], labels[mask]))


def test_counts_of_one_reproduce_the_point_estimates_in_chunks(monkeypatch):
    scores, labels, mask = _lists()
    monkeypatch.setattr(comparison, "_CELLS", 100)  # one replicate per chunk: the chunking itself is checked
    scored = comparison.score(scores, labels, mask, np.ones((3, len(labels))))
    assert np.allclose(scored.auc_replicates, scored.auc) and np.allclose(scored.ndcg_replicates, scored.ndcg_at_10)


def test_a_scorer_minus_itself_is_zero_and_a_better_one_is_above_zero():
    scores, labels, mask = _lists(n=400)
    counts = comparison.draw(len(labels), 300, seed=0)
    model = comparison.score(scores, labels, mask, counts)
    noise = comparison.score(np.random.default_rng(9).random(labels.shape), labels, mask, counts)
    same = comparison.compare("model", model, "model", model, labels, mask)
    assert (same.auc.low, same.auc.high, same.ndcg_at_10.low, same.ndcg_at_10.high) == (0.0, 0.0, 0.0, 0.0)
    better = comparison.compare("model", model, "noise", noise, labels, mask)
    assert better.auc.low > 0 and better.ndcg_at_10.low > 0
    assert better.auc.method == comparison.PAIRED_OVER_LISTS and better.auc.level == 0.95
    assert (better.lists, better.rows) == (400, int(mask.sum()))
    # paired intervals are narrower than the unpaired difference of the two intervals
    (_, own), (_, theirs) = model.intervals(), noise.intervals()
    assert isinstance(own, Interval) and better.auc.high - better.auc.low < (own.high - own.low) + (
        theirs.high - theirs.low)
