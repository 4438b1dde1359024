"""The phone's Bayes ranker reads the generator's laws: with the true user it gives the true click probabilities,
and taps move its posterior toward that user."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import tensorflow as tf

from edgeship.models.data import _requests, _world, timelines
from studies import phone_ceiling
from studies.bayes_ceiling import _item_index


def _vocabulary(tiny_config):
    return dataclasses.replace(tiny_config.data, item_encoding="vocabulary")  # the laws need exact item ids


def _user(tiny_config, n: int, seed: int = 5):
    world, _ = _world(_vocabulary(tiny_config), tiny_config.seed)
    rng = np.random.default_rng(seed)
    who = world.add_users(1, rng)
    requests = _requests(world, n, 20, rng, users=np.repeat(who, n))
    ids = _item_index(world, requests)
    p = np.exp(world.taste[who[0]]) - phone_ceiling.TASTE_FLOOR  # taste = log(categories * p + floor)
    truth = np.concatenate([np.log(p / p.sum()), world.user_latent[who[0]]])
    return world, requests, ids, truth


def test_with_the_true_user_the_posteriors_law_is_the_generators(tiny_config):
    world, requests, ids, truth = _user(tiny_config, 6)
    post = phone_ceiling.Posterior(world)
    terms = phone_ceiling._terms(world, requests, ids)
    prob = post.probabilities(tf.constant(truth[None]), ids["candidates"], terms).numpy()[0]
    np.testing.assert_allclose(prob, requests.true_prob, rtol=1e-4, atol=1e-6)


def test_taps_and_histories_move_the_posterior_toward_the_user(tiny_config):
    world, requests, ids, truth = _user(tiny_config, 40)
    post = phone_ceiling.Posterior(world)
    hist, mask = np.maximum(ids["history"], 0), (ids["history"] >= 0).astype(np.float64)
    terms, labels = phone_ceiling._terms(world, requests, ids), requests.labels.astype(np.float64)
    rng = np.random.default_rng(0)
    start = np.zeros(len(truth))
    _, _, prior_max = post.sample((hist[:0], mask[:0], ids["candidates"][:0], terms[:0], labels[:0]), start, 200,
                                   rng)
    theta, w, best = post.sample((hist, mask, ids["candidates"], terms, labels), start, 500, rng)
    assert np.isclose(w.sum(), 1.0) and 1.0 <= 1.0 / np.square(w).sum() <= 500
    latent = slice(world.cfg.categories, None)
    # the latent vector: closer to the user's than the prior's mean (0) is
    assert np.linalg.norm(best[latent] - truth[latent]) < np.linalg.norm(prior_max[latent] - truth[latent])
    # the probabilities of the user's requests: closer to the truth than the prior's
    truth_prob = requests.true_prob.ravel()
    p0, p1 = (post.probabilities(tf.constant(x[None]), ids["candidates"], terms).numpy().ravel()
              for x in (prior_max, best))
    assert np.corrcoef(p1, truth_prob)[0, 1] > np.corrcoef(p0, truth_prob)[0, 1] + 0.1


@pytest.mark.parametrize("knows", phone_ceiling.KNOWS)
def test_the_ceiling_of_a_user_after_n_requests(tiny_config, knows):
    cfg = _vocabulary(tiny_config)
    world, _ = _world(cfg, tiny_config.seed)
    user = timelines(cfg, 10, tiny_config.seed, 1, 8, 1).of(0)
    ndcg, ess = phone_ceiling.user_ceiling(phone_ceiling.Posterior(world), world, user, 5, (0, 5), 100,
                                           np.random.default_rng(0), knows)
    assert sorted(ndcg) == sorted(ess) == [0, 5]
    assert all(0.0 <= v <= 1.0 for v in ndcg.values()) and all(1.0 <= v <= 100.0 for v in ess.values())


def test_a_bundle_with_hashed_item_ids_is_refused_in_one_line(reference_bundle, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit:
        phone_ceiling.main(["--bundle", str(reference_bundle), "--out", str(tmp_path / "pc")])
    assert exit.value.code == 2 and "exact item ids" in capsys.readouterr().err and not (tmp_path / "pc").exists()


def test_the_summary_pairs_the_file_and_the_ceiling_on_the_same_users():
    steps = (0, 5)
    rows = {"file": [[0.30, 0.34], [0.40, 0.42]], "ceiling": [[0.32, 0.45], [0.40, 0.50]],
            "oracle": [0.50, 0.60], "ess": [[10, 30], [20, 50]]}
    zero, five = phone_ceiling.summarize(rows, steps, seed=1)
    assert zero["n"] == 0 and zero["file_gap_closed"] == 0.0 and zero["file"][0] == pytest.approx(0.35)
    # the gap: 0.50 - 0.30 and 0.60 - 0.40, 0.20 on average; the file gains 0.03 on average, the ceiling 0.125
    assert five["file_gap_closed"] == pytest.approx(0.15) and five["ceiling_gap_closed"] == pytest.approx(0.625)
    assert five["ceiling_minus_file"][0] == pytest.approx(0.095)
    low, high = five["ceiling_minus_file"][1:]
    assert 0.08 <= low <= 0.095 <= high <= 0.11  # per user: 0.11 and 0.08
    assert five["median_effective_samples"] == 40.0 and zero["oracle"][0] == pytest.approx(0.55)
