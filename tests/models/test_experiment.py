"""The experiment readout's statistics on simulated users whose click rates are known: the lift's interval
covers the truth at its level, agrees with a user-level bootstrap, and the sample-ratio test catches a 45/55
split reported as 50/50 while leaving true 50/50 splits alone."""

from __future__ import annotations

import numpy as np
import pytest

from edgeship.models.experiment import arm_stats, lift, per_user, ratio_se, sample_ratio

pytestmark = pytest.mark.unit  # TensorFlow-free: `make test-fast`


def simulate(rng, users: int, rate: float, spread: float = 0.5):
    """Impressions of `users` users, each with their own click rate (gamma around `rate`) and 1-40 impressions:
    (user of each impression, tapped)."""
    own = rate * rng.gamma(1 / spread, spread, users)
    counts = rng.integers(1, 41, users)
    who = np.repeat(np.arange(users), counts)
    return who, rng.random(len(who)) < np.minimum(own[who], 1.0)


def test_the_lift_interval_covers_the_truth_at_its_level():
    rng = np.random.default_rng(5)
    covered, runs = 0, 300
    for _ in range(runs):
        c_users, c_taps = simulate(rng, 2000, 0.05)
        t_users, t_taps = simulate(rng, 2000, 0.055)
        c = arm_stats(c_users, 2000, c_taps)
        t = arm_stats(t_users + 10_000, 2000, t_taps)
        lf = lift("t", t, c)
        covered += lf.low <= 0.10 <= lf.high
    assert 0.92 <= covered / runs <= 0.98, covered / runs  # 95 % +- 2.5 binomial sd at 300 runs


def test_users_are_the_unit_the_delta_method_agrees_with_a_user_bootstrap():
    rng = np.random.default_rng(6)
    users, taps = simulate(rng, 3000, 0.05, spread=2.0)  # clustered: some users click far more
    x, y = per_user(users, np.ones(len(users)), taps)
    r, se = ratio_se(x, y)
    boot = [x[i].sum() / y[i].sum() for i in (rng.integers(0, len(x), len(x)) for _ in range(2000))]
    assert se == pytest.approx(np.std(boot), rel=0.08)
    naive = np.sqrt(r * (1 - r) / y.sum())  # impressions as if independent: too narrow for clustered users
    assert se > 1.3 * naive


def test_a_tiny_experiment_with_a_known_lift():
    # control: 4 users x 10 impressions, 1 tap each (CTR 0.10); treatment: 4 users x 10, 2 taps each (0.20)
    c = arm_stats(np.repeat(np.arange(4), 10), 4, np.tile([True] + [False] * 9, 4))
    t = arm_stats(np.repeat(np.arange(4, 8), 10), 4, np.tile([True, True] + [False] * 8, 4))
    assert (c.users, c.impressions, c.taps, c.ctr, c.ctr_per_user) == (4, 40, 4, 0.1, 0.1)
    assert c.ctr_se == 0.0 and t.ctr == 0.2  # every user alike: no between-user variance
    assert lift("t", t, c).relative == pytest.approx(1.0) and lift("t", t, c).low == pytest.approx(1.0)


def test_sample_ratio_mismatch_is_caught_and_true_splits_pass():
    rng = np.random.default_rng(7)
    alarms = 0
    for _ in range(200):
        a = rng.binomial(10_000, 0.5)
        half = {"control": 0.5, "treatment": 0.5}
        alarms += sample_ratio({"control": a, "treatment": 10_000 - a}, half).p_value < 1e-3
    assert alarms <= 2  # 0.2 expected
    caught = sample_ratio({"control": 4_500, "treatment": 5_500}, {"control": 0.5, "treatment": 0.5})
    assert caught.p_value < 1e-20 and caught.chi2 == pytest.approx(100.0)
    planned = sample_ratio({"control": 9_000, "treatment": 1_000}, {"control": 0.9, "treatment": 0.1})
    assert planned.chi2 == 0.0 and planned.p_value == 1.0
