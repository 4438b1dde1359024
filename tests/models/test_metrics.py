import math

import numpy as np
import pytest

from edgeship.models.metrics import auc, logloss, ndcg_at_k, ndcg_per_request, ranking_metrics, top_k_overlap

pytestmark = pytest.mark.unit  # TensorFlow-free: `make test-fast`


def test_ndcg_matches_hand_computation():
    scores = np.array([[0.9, 0.8, 0.7, 0.1]])
    labels = np.array([[0, 1, 0, 1]])
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    idcg = 1 / math.log2(2) + 1 / math.log2(3)
    assert ndcg_at_k(scores, labels, k=10) == pytest.approx(dcg / idcg)


def test_ndcg_perfect_and_cutoff():
    labels = np.array([[0, 0, 1, 2]])
    assert ndcg_at_k(np.array([[0.0, 0.1, 0.5, 0.9]]), labels) == pytest.approx(1.0)
    # relevant items ranked below k contribute nothing
    assert ndcg_at_k(np.array([[0.9, 0.8, 0.1, 0.0]]), labels, k=2) == 0.0


def test_ndcg_ties_are_broken_by_position_not_by_luck():
    labels = np.array([[0, 1]])
    tied = np.array([[0.5, 0.5]])
    assert ndcg_at_k(tied, labels) == pytest.approx(1 / math.log2(3))


def test_requests_without_positives_are_left_out():
    scores = np.array([[0.9, 0.1], [0.9, 0.1]])
    labels = np.array([[1, 0], [0, 0]])
    per = ndcg_per_request(scores, labels)
    assert per[0] == 1.0 and np.isnan(per[1])
    assert ndcg_at_k(scores, labels) == 1.0
    m = ranking_metrics(scores, labels)
    assert m.requests == 1 and m.positives == 1


def test_auc_known_values():
    assert auc(np.array([0.1, 0.4, 0.35, 0.8]), np.array([0, 0, 1, 1])) == pytest.approx(0.75)
    assert auc(np.array([0.5, 0.5]), np.array([0, 1])) == pytest.approx(0.5)
    assert math.isnan(auc(np.array([0.1, 0.2]), np.array([0, 0])))


def test_logloss_and_overlap():
    assert logloss(np.array([0.5, 0.5]), np.array([0, 1])) == pytest.approx(math.log(2))
    a = np.array([[4.0, 3.0, 2.0, 1.0]])
    b = np.array([[4.0, 1.0, 2.0, 3.0]])
    assert top_k_overlap(a, b, k=2) == pytest.approx(0.5)
    assert top_k_overlap(a, a, k=10) == 1.0


def test_rank_correlation_is_spearman_with_ties():
    from edgeship.models.metrics import rank_correlation

    a = np.array([0.1, 0.5, 0.3, 0.9])
    assert rank_correlation(a, a * 10 - 3) == pytest.approx(1.0)  # any increasing transform: same ranks
    assert rank_correlation(a, -a) == pytest.approx(-1.0)
    # ties share their average rank: ranks (1, 2.5, 2.5, 4) against (1, 2, 3, 4)
    assert rank_correlation(np.array([1, 2, 2, 3.0]), np.array([1, 2, 3, 4.0])) == pytest.approx(0.9486833, abs=1e-6)
    assert np.isnan(rank_correlation(np.ones(4), a))  # constant scores rank nothing: a floor must reject them
