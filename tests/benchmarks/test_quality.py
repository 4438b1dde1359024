"""The quality report's statistics on scores whose answers are known."""

from __future__ import annotations

import numpy as np
import pytest

from edgeship.benchmarks import quality

pytestmark = pytest.mark.unit  # TensorFlow-free: `make test-fast`


def _lists(n=200, k=8, seed=0):
    rng = np.random.default_rng(seed)
    labels = (rng.random((n, k)) < 0.2).astype(np.float32)
    noise = rng.random((n, k))
    return labels, noise


def test_perfect_random_and_identical_scorers():
    labels, noise = _lists()
    scorers = [quality.Scorer("model", "keras", labels * 0.5 + noise * 0.5),
               quality.Scorer("copy.tflite", "file", labels * 0.5 + noise * 0.5, bytes=123),
               quality.Scorer("tuned", "tuned", labels * 0.4 + noise * 0.6),
               quality.Scorer("dnn", "reference", labels * 0.2 + noise * 0.8),
               quality.Scorer("rules", "rules", noise, probabilities=False),
               quality.Scorer("oracle", "oracle", labels + noise * 0.01)]
    d = quality.measure("toy", "toy lists", labels, None, scorers, seconds=1.0, resamples=200)
    by = {s.name: s for s in d.scorers}
    # differences to the reference DNN: paired on the same resamples (a copy of the model differs as the model
    # does), and a scorer with more label and less noise above it
    assert d.reference == "dnn" and by["copy.tflite"].auc_minus_reference == by["model"].auc_minus_reference
    assert by["tuned"].auc_minus_reference.low > 0 and by["tuned"].ndcg_minus_reference.low > 0
    assert by["dnn"].auc_minus_reference is None and by["rules"].auc_minus_reference is None
    assert by["oracle"].ndcg_at_10.estimate == pytest.approx(1.0) and by["oracle"].auc.estimate > 0.99
    # a byte-identical file differs from the model by exactly nothing, in every resample
    assert (by["copy.tflite"].ndcg_minus_model.low, by["copy.tflite"].ndcg_minus_model.high) == (0.0, 0.0)
    assert by["copy.tflite"].bytes == 123 and by["rules"].logloss is None
    model, rules, oracle = (by[n].ndcg_at_10.estimate for n in ("model", "rules", "oracle"))
    assert by["model"].gap_closed == pytest.approx((model - rules) / (oracle - rules), abs=1e-4)
    assert by["rules"].gap_closed == 0.0 and by["oracle"].gap_closed == 1.0
    # the model is far better than random: the paired interval of rules - model is below zero
    assert by["rules"].ndcg_minus_model.high < 0 and by["rules"].auc_minus_model.high < 0
    assert by["model"].ndcg_at_10.low <= model <= by["model"].ndcg_at_10.high
    assert d.lists == int((labels.sum(axis=1) > 0).sum()) and d.positives == int(labels.sum())


def test_padding_slots_count_nowhere():
    labels, noise = _lists(n=50, k=6)
    mask = np.ones_like(labels, bool)
    mask[:, 4:] = False
    padded = labels.copy()
    padded[:, 4:] = 0
    scores = noise.copy()
    scores[:, 4:] = 100.0  # padding would win every list if it counted
    d = quality.measure("pad", "", padded, mask, [quality.Scorer("model", "keras", scores)], 0.0, resamples=20)
    ref = quality.measure("cut", "", padded[:, :4], None, [quality.Scorer("model", "keras", noise[:, :4])], 0.0,
                          resamples=20)
    assert d.scorers[0].ndcg_at_10.estimate == pytest.approx(ref.scorers[0].ndcg_at_10.estimate)
    assert d.scorers[0].auc.estimate == pytest.approx(ref.scorers[0].auc.estimate)
