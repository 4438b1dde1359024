import numpy as np
import pytest

from edgeship.models.item_vectors import cooccurrence, item_vectors

pytestmark = pytest.mark.unit  # TensorFlow-free: `make test-fast`


def test_cooccurrence_counts_each_pair_once_per_history_and_parts_add_up():
    history = np.array([[2, 3, 3, 0], [3, 4, 0, 0], [5, 0, 0, 0]])
    c = cooccurrence(history, 6).toarray()
    expected = np.zeros((6, 6))
    expected[2, 3] = expected[3, 2] = 1  # 3 twice in the first history: still one history holding both
    expected[3, 4] = expected[4, 3] = 1
    np.testing.assert_array_equal(c, expected)
    parts = cooccurrence(history[:1], 6) + cooccurrence(history[1:], 6)
    np.testing.assert_array_equal(parts.toarray(), c)


def _world(seed=0, items=400, categories=4, latent=3, histories=20_000, length=8):
    """Items with a category and a hidden latent vector; each history drawn by its user's category taste and
    latent match, as the built-in generator does."""
    rng = np.random.default_rng(seed)
    category = rng.integers(0, categories, items)
    hidden = rng.normal(size=(items, latent))
    taste = rng.normal(0, 3.0, (histories, categories))
    user = rng.normal(size=(histories, latent))
    logits = taste[:, category] + 0.6 * user @ hidden.T
    keys = logits + rng.gumbel(size=logits.shape)  # Gumbel top-k: `length` items without replacement
    history = np.argsort(-keys, axis=1)[:, :length] + 1  # id 0 is padding
    features = np.zeros((items + 1, categories), np.float32)
    features[np.arange(items) + 1, category] = 1.0
    return history, features, hidden


def _recovered(vectors: np.ndarray, hidden: np.ndarray) -> float:
    """R^2 of the hidden latent vectors regressed on the item vectors."""
    x = np.c_[vectors, np.ones(len(vectors))]
    residual = hidden - x @ np.linalg.lstsq(x, hidden, rcond=None)[0]
    return 1 - residual.var() / hidden.var()


def test_vectors_find_what_histories_share_beyond_the_features():
    history, features, hidden = _world()
    pairs = cooccurrence(history, len(features))
    vectors = item_vectors(pairs, features, dim=3)
    assert vectors.shape == (len(features), 3) and vectors.dtype == np.float32
    assert not vectors[0].any()  # padding never appears in a history
    held = vectors[1:]
    assert np.mean(np.sum(held ** 2, axis=1)) == pytest.approx(1.0, rel=1e-4)
    # the features' span (and a constant) is taken out: each vector is orthogonal to every category column
    assert np.abs(features.T @ vectors).max() < 1e-3 * np.abs(held).sum(axis=0).max()
    # ... so the hidden latent vectors are recovered (0.96 here), where the same factorization with nothing
    # taken out spends its 3 vectors on the categories (0.01)
    assert _recovered(held, hidden) > 0.9
    assert _recovered(item_vectors(pairs, np.zeros_like(features), dim=3)[1:], hidden) < 0.2


def test_vectors_are_the_same_bytes_every_run_and_zero_without_histories():
    history, features, _ = _world(histories=3_000)
    pairs = cooccurrence(history, len(features))
    assert item_vectors(pairs, features, 4).tobytes() == item_vectors(pairs, features, 4).tobytes()
    empty = cooccurrence(np.zeros((10, 5), np.int64), len(features))
    assert not item_vectors(empty, features, 4).any()
