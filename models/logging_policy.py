"""A stochastic logging policy over generated requests, for checking off-policy estimators where the truth is
known: the built-in generator knows every candidate's click probability, so a target ranking's true click rate
is computed exactly, not estimated.

The logging policy is epsilon-greedy over a ranking the app had before any model (by item popularity): with
probability 1 - epsilon it shows its top `slots` candidates, else the first `slots` of a uniformly random order.
So the probability that candidate a is shown at slot k is exactly
    P(a at k | x) = (1 - epsilon) * [a is the greedy ranking's k-th] + epsilon / n      (n real candidates)
A shown candidate is clicked with probability bias[k] * p(click | x, a): a position-based click model, where
the click probability of an item is the generator's and the examination of slot k is bias[k].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .data import Requests
from .ope import LoggedImpressions

POSITION_BIAS = (1.0, 0.8, 0.65)  # examination probability of slots 1, 2, 3


@dataclass(frozen=True)
class SimulatedLog:
    impressions: LoggedImpressions
    request: np.ndarray  # [rows] the request each impression belongs to
    bias: tuple[float, ...]


def greedy_order(scores: np.ndarray) -> np.ndarray:
    """[N, n] candidate indices by score, highest first, ties in the given order."""
    return np.argsort(-scores, axis=1, kind="stable")


def simulate(requests: Requests, logging_scores: np.ndarray, epsilon: float, seed: int,
             bias: tuple[float, ...] = POSITION_BIAS) -> SimulatedLog:
    """One logged slate of len(bias) slots per request."""
    if requests.true_prob is None:
        raise ValueError("simulated logging needs requests with known click probabilities")
    rng = np.random.default_rng([seed, 31])
    n_req, n = requests.candidates.shape
    slots = len(bias)
    greedy = greedy_order(logging_scores)[:, :slots]
    explore = rng.random(n_req) < epsilon
    random_order = np.argsort(rng.random((n_req, n)), axis=1)[:, :slots]
    shown = np.where(explore[:, None], random_order, greedy)  # [N, slots]
    propensity = (1 - epsilon) * (shown == greedy) + epsilon / n
    prob = np.take_along_axis(requests.true_prob, shown, axis=1) * np.asarray(bias)[None, :]
    clicks = (rng.random(prob.shape) < prob).astype(np.float64)
    return SimulatedLog(
        LoggedImpressions(item=shown.ravel(), slot=np.tile(np.arange(slots), n_req), reward=clicks.ravel(),
                          propensity=propensity.ravel().astype(np.float64)),
        request=np.repeat(np.arange(n_req), slots), bias=tuple(bias))


def true_value(requests: Requests, order: np.ndarray, bias: tuple[float, ...] = POSITION_BIAS) -> float:
    """The expected clicks per impression of a policy that shows order[:, :slots] (candidate indices)."""
    slots = len(bias)
    prob = np.take_along_axis(requests.true_prob, order[:, :slots], axis=1) * np.asarray(bias)[None, :]
    return float(prob.mean())


def target_items(log: SimulatedLog, order: np.ndarray) -> np.ndarray:
    """[rows] the candidate a policy ranking `order` [N, n] puts at each logged row's slot."""
    return order[log.request, log.impressions.slot]
