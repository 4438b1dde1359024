"""Exploration's propensities are exact: they sum to 1 at every position, and the sampler's own choices, drawn
200,000 times, land at each (candidate, position) as often as the logged propensity says."""

from __future__ import annotations

import numpy as np
import pytest

from clients.conformance import exploration as suite
from edgeship.ondevice.exploration import draws_needed, explore

pytestmark = pytest.mark.unit  # TensorFlow-free: `make test-fast`


def test_propensities_of_every_candidate_sum_to_one_at_every_position():
    order, slots, eps = [4, 1, 0, 3, 2], 3, 0.3
    n = len(order)
    for k in range(slots):
        # the propensity of candidate a at k, whichever slate showed it
        total = sum((1 - eps) * (a == order[k]) + eps / n for a in range(n))
        assert total == pytest.approx(1.0, abs=1e-12)
    slate = explore(order, slots, eps, [0.9] + [0.5] * (n - 1))
    assert slate.shown == (4, 1, 0) and slate.propensities == pytest.approx((0.7 + 0.06,) * 3)


def test_the_sampler_matches_its_propensities():
    rng = np.random.default_rng(11)
    order, slots, eps, runs = [2, 0, 3, 1], 3, 0.4, 200_000
    n = len(order)
    counts = np.zeros((n, slots))
    logged = {}
    for _ in range(runs):
        slate = explore(order, slots, eps, list(rng.random(draws_needed(n))))
        for k, (a, p) in enumerate(zip(slate.shown, slate.propensities)):
            counts[a, k] += 1
            logged[(a, k)] = p
    for (a, k), p in logged.items():
        sd = np.sqrt(p * (1 - p) / runs)
        assert abs(counts[a, k] / runs - p) < 5 * sd, (a, k, counts[a, k] / runs, p)
    assert len(logged) == n * slots  # every candidate was seen at every position


@pytest.mark.parametrize("args,match", [
    (([0, 1], 1, 1.5, [0.1, 0.1]), "epsilon"),
    (([0, 0], 1, 0.1, [0.1, 0.1]), "order"),
    (([0, 1], 1, 0.1, [0.1]), "draws"),
    (([0, 1], 1, 0.1, [0.1, 1.0]), "draws"),
])
def test_bad_arguments(args, match):
    with pytest.raises(ValueError, match=match):
        explore(*args)


def test_committed_exploration_cases_are_what_the_reference_writes(tmp_path):
    (written,) = suite.write(tmp_path / "exploration.json")
    assert written.read_text() == suite.HERE.read_text(), "exploration.json is stale: run python -m clients.conformance"
