"""Off-policy estimators against the truth: the tiny generator knows every click probability, so each target
ranking's true click rate is exact; a simulated epsilon-greedy logging policy writes the log the estimators
read (epsilon-greedy by item quality, which the click model rewards). Over 20 seeds the 95 % intervals must
cover the truth in a clear majority; the estimator that ignores propensities must miss it."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from edgeship.models import ope
from edgeship.models.logging_policy import greedy_order, simulate, target_items, true_value

pytestmark = pytest.mark.unit  # TensorFlow-free: `make test-fast`

SEEDS = range(20)
POPULARITY, QUALITY = 3, 1  # columns of the built-in candidate features


@pytest.fixture(scope="module")
def world_requests(tiny_config):
    from edgeship.models.data import generate

    cfg = dataclasses.replace(tiny_config.data, test_requests=12_000)
    return generate(cfg, 8, tiny_config.seed).test


def _policies(requests) -> dict[str, np.ndarray]:
    return {
        "oracle": greedy_order(requests.true_prob),
        "popularity": greedy_order(requests.candidate_features[..., POPULARITY]),
        "unpopular": greedy_order(-requests.candidate_features[..., POPULARITY]),
    }


def test_estimators_cover_the_true_click_rate_and_ignoring_propensities_misses_it(world_requests):
    policies = _policies(world_requests)
    truth = {name: true_value(world_requests, order) for name, order in policies.items()}
    covered = {(name, est): 0 for name in policies for est in (*ope.ESTIMATORS, "naive")}
    errors = {name: [] for name in policies}
    for seed in SEEDS:
        log = simulate(world_requests, world_requests.candidate_features[..., QUALITY], epsilon=0.3, seed=seed)
        imp = log.impressions
        folds = np.random.default_rng(seed).integers(0, 2, len(imp))
        q, folds = ope.reward_model(imp, 8, 3, folds)
        draws = ope.bootstrap_rows(len(imp), 200, seed)
        targets = {name: target_items(log, order) for name, order in policies.items()}
        estimates = ope.estimate(imp, targets, q, folds, draws)
        for name, e in estimates.items():
            for est in ope.ESTIMATORS:
                iv = getattr(e, est)
                covered[(name, est)] += iv.covers(truth[name])
            errors[name].append(e.dr.estimate - truth[name])
            naive = ope.naive(imp, targets[name])
            boot = [ope.naive(ope.LoggedImpressions(imp.item[d], imp.slot[d], imp.reward[d], imp.propensity[d]),
                              targets[name][d]) for d in draws[:60]]
            covered[(name, "naive")] += np.nanpercentile(boot, 2.5) <= truth[name] <= np.nanpercentile(boot, 97.5)
            assert np.isfinite(naive)
    for name in policies:
        for est in ope.ESTIMATORS:
            assert covered[(name, est)] >= 15, (name, est, covered)  # nominal 19 of 20
        assert abs(np.mean(errors[name])) < 0.2 * truth[name], (name, np.mean(errors[name]), truth[name])
    # ignoring the propensities: the rows where a policy agrees with the log are those where its item is also
    # a high-quality one (what the logging policy favoured), so their click rate overstates the policy's
    assert covered[("oracle", "naive")] <= 6 and covered[("popularity", "naive")] <= 6, covered


def test_weights_and_snips_on_a_hand_made_log():
    log = ope.LoggedImpressions(item=np.array([0, 1, 0, 2]), slot=np.zeros(4, int), reward=np.array([1.0, 0, 0, 1]),
                                propensity=np.array([0.5, 0.25, 0.5, 0.25]))
    target = np.array([0, 0, 0, 2])  # agrees on rows 0, 2, 3: weights 2, 2, 4
    q = np.zeros((2, 3, 1))
    folds = np.zeros(4, int)
    e = ope.estimate(log, {"t": target}, q, folds, ope.bootstrap_rows(4, 50, 0))["t"]
    assert e.ips.estimate == pytest.approx((2 * 1 + 2 * 0 + 4 * 1) / 4)
    assert e.snips.estimate == pytest.approx(6 / 8)
    assert e.dr.estimate == pytest.approx(e.ips.estimate)  # a zero reward model: DR is IPS
    assert e.matched == 3 and e.effective_sample_size == pytest.approx(64 / 24)
    # a perfect reward model and a policy that never agrees: DR is the model's value, IPS is 0
    q = np.ones((2, 3, 1)) * 0.3
    never = ope.estimate(log, {"t": np.array([2, 2, 2, 1])}, q, folds, ope.bootstrap_rows(4, 50, 0))["t"]
    assert never.ips.estimate == 0 and never.dr.estimate == pytest.approx(0.3) and never.matched == 0


def test_resampling_whole_clusters_widens_the_interval_of_correlated_rows():
    rng = np.random.default_rng(3)
    n, copies = 300, 10
    base = ope.LoggedImpressions(item=rng.integers(0, 4, n), slot=np.zeros(n, int),
                                 reward=(rng.random(n) < 0.3).astype(float), propensity=np.full(n, 0.25))
    # every impression logged `copies` times (one list of identical rows): no more information than `base`
    log = ope.LoggedImpressions(*(np.repeat(a, copies) for a in (base.item, base.slot, base.reward, base.propensity)))
    clusters = np.repeat(np.arange(n), copies)
    target = np.zeros(n * copies, int)
    q, folds = np.zeros((2, 4, 1)), np.zeros(n * copies, int)

    def width(draws):
        e = ope.estimate(log, {"t": target}, q, folds, draws)["t"].ips
        return e.high - e.low

    rows, lists = width(ope.bootstrap_rows(n * copies, 400, 0)), width(ope.bootstrap_clusters(clusters, 400, 0))
    # resampling rows pretends to have 10x the data: an interval ~sqrt(10) too narrow
    assert 2.5 < lists / rows < 4.0, (rows, lists)
    base_width = ope.estimate(base, {"t": np.zeros(n, int)}, q, np.zeros(n, int), ope.bootstrap_rows(n, 400, 0))["t"]
    assert lists == pytest.approx(base_width.ips.high - base_width.ips.low, rel=0.25)
    assert ope.resampled_mean(log.reward, ope.bootstrap_clusters(clusters, 50, 1)).shape == (50,)
