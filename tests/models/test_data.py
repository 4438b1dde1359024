import numpy as np
import pytest

from edgeship.models.data import SyntheticConfig, generate

pytestmark = pytest.mark.unit  # TensorFlow-free: `make test-fast`

SMALL = SyntheticConfig(users=300, items=200, train_requests=400, test_requests=30, history_len=5,
                        item_buckets=256, slate_size=8, target_ctr=0.08)


def test_same_seed_same_data_other_seed_other_data():
    a, b, c = generate(SMALL, 16, seed=1), generate(SMALL, 16, seed=1), generate(SMALL, 16, seed=2)
    for split in ("train", "valid", "test"):
        for name in ("context", "history", "candidates", "candidate_features", "labels", "true_prob"):
            assert np.array_equal(getattr(getattr(a, split), name), getattr(getattr(b, split), name))
    assert not np.array_equal(a.train.labels, c.train.labels)


def test_shapes_ranges_and_click_rate():
    ds = generate(SMALL, 16, seed=1)
    spec = ds.spec
    assert ds.train.candidates.shape == (360, 8) and ds.valid.candidates.shape == (40, 8)
    assert ds.test.candidates.shape == (30, 16)
    assert ds.test.candidate_features.shape == (30, 16, len(spec.item_features))
    for j, f in enumerate(spec.context_fields):
        assert ds.train.context[:, j].min() >= 0 and ds.train.context[:, j].max() < f.cardinality
    assert ds.train.candidates.min() >= 1 and ds.train.candidates.max() < spec.item_buckets
    assert np.abs(ds.train.candidate_features).max() <= 1.0
    # calibrated to the target click rate, and labels follow the true probabilities
    assert abs(ds.train.labels.mean() - 0.08) < 0.02
    assert abs(ds.train.labels.mean() - ds.train.true_prob.mean()) < 0.01


def test_history_is_left_aligned_with_padding_after():
    ds = generate(SMALL, 16, seed=1)
    h = ds.train.history
    valid = h > 0
    # once a row hits padding it stays padding
    assert np.all(np.diff(valid.astype(int), axis=1) <= 0)
    assert valid[:, 0].all()


def test_candidates_within_a_request_are_distinct():
    ds = generate(SMALL, 16, seed=1)
    # hashing may merge two items into one bucket, but raw draws are without replacement
    distinct = [len(np.unique(row)) for row in ds.test.candidates]
    assert np.mean(distinct) > 15


def test_timelines_follow_new_users_in_the_same_world():
    from edgeship.models.data import SyntheticConfig, timelines

    cfg = SyntheticConfig(users=200, items=300, train_requests=400, test_requests=20, history_len=5,
                          item_buckets=256, slate_size=8)
    a = timelines(cfg, 10, seed=4, users=3, length=7)
    b = timelines(cfg, 10, seed=4, users=3, length=7)
    np.testing.assert_array_equal(a.requests.true_prob, b.requests.true_prob)  # seeded
    assert len(a.of(2)) == 7 and a.of(0).candidates.shape == (7, 10)
    other = timelines(cfg, 10, seed=4, users=3, length=7, stream=2)
    assert not np.array_equal(other.requests.true_prob, a.requests.true_prob)  # another set of users
    # a user's taste persists along their timeline: which categories they click (true logits per category)
    # agrees between the two halves of one timeline far better than between two users
    long = timelines(cfg, 10, seed=4, users=2, length=80)

    def category_logit(r):
        cats = r.candidate_features[..., 4:].argmax(-1)
        logit = np.log(r.true_prob) - np.log1p(-r.true_prob)
        return np.array([logit[cats == c].mean() for c in range(16)])

    first, second, other = (category_logit(long.of(0).take(slice(0, 40))), category_logit(long.of(0).take(
        slice(40, 80))), category_logit(long.of(1).take(slice(40, 80))))
    assert np.corrcoef(first, second)[0, 1] > 0.9 > np.corrcoef(first, other)[0, 1] + 0.3
