"""The ceiling study reads the generator's laws: they must be the laws the generator draws clicks with."""

from __future__ import annotations

import numpy as np
import pytest

from edgeship.models.data import _requests, _world
from studies import bayes_ceiling

pytestmark = pytest.mark.unit  # TensorFlow-free: `make test-fast`


def test_the_studys_law_with_the_true_user_is_the_generators_click_logits(tiny_config):
    cfg = tiny_config
    world, _ = _world(cfg.data, cfg.seed)
    rng = np.random.default_rng(3)
    users = rng.integers(0, cfg.data.users, 5)
    context = world.sample_context(users, rng)
    items = rng.integers(0, cfg.data.items, (5, 7))
    last = world.category[rng.integers(0, cfg.data.items, 5)]
    truth = world.logits(users, context, items, last)
    for i, u in enumerate(users):
        mine = bayes_ceiling.user_logits(world, context[i], items[i], last[i], world.taste[u][None],
                                         world.user_latent[u][None])
        np.testing.assert_allclose(mine[0], truth[i], rtol=1e-5, atol=1e-5)


def test_the_ceiling_knows_more_than_the_users_average_with_real_weights(tiny_config):
    world, rng = _world(tiny_config.data, tiny_config.seed)
    requests = _requests(world, 60, 20, rng)
    scores, ess = bayes_ceiling.ceiling_scores(world, requests, 2000, seed=1)
    assert scores.shape == (60, 20) and np.all((scores > 0) & (scores < 1))
    assert np.all(ess >= 1) and np.median(ess) > 20  # not one sample carrying every request
    # the history tells it something: closer to the true probabilities than the terms that ignore the user
    ids = bayes_ceiling._item_index(world, requests)
    cfg = tiny_config.data
    known = np.stack([bayes_ceiling.user_logits(world, requests.context[i], ids["candidates"][i],
                                                world.category[ids["history"][i][0]], np.zeros((1, cfg.categories)),
                                                np.zeros((1, cfg.latent_dim)))[0] for i in range(60)])
    truth = requests.true_prob.ravel()
    assert np.corrcoef(scores.ravel(), truth)[0, 1] > np.corrcoef(known.ravel(), truth)[0, 1] + 0.05
