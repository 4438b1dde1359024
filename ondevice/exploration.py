"""Exploration with exact propensities: what an app shows when it explores, and the probability it logs.

The policy (every client library implements it the same way; the suite's exploration cases check it):

    with probability epsilon the slate is the first `slots` of a uniformly random order of the n candidates,
    otherwise the first `slots` of the ranking.

So the probability that candidate a is shown at position k (0-based) is exactly

    P(a at k) = (1 - epsilon) * [a is the ranking's k-th] + epsilon / n

which sums to 1 over the candidates at every position, and is the propensity `edgeship evaluate` divides by
(models/logging_policy.py simulates the same policy). The randomness is the caller's: `draws` are uniforms in
[0, 1) — the first decides whether to explore (draws[0] < epsilon), the next n - 1 shuffle by Fisher-Yates
(for i = n-1 down to 1: j = min(floor(u * (i + 1)), i), swap positions i and j, u the next draw), so a test can
replay a client's choice exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import floor


@dataclass(frozen=True)
class Slate:
    shown: tuple[int, ...]  # candidate indices, position 0 first
    propensities: tuple[float, ...]  # P(shown[k] at k) under the policy
    explored: bool


def draws_needed(n: int) -> int:
    return max(n, 1)


def explore(order: list[int], slots: int, epsilon: float, draws: list[float]) -> Slate:
    """order: the ranking (candidate indices, best first) of all n candidates."""
    n = len(order)
    if not 0.0 <= epsilon <= 1.0:
        raise ValueError(f"epsilon {epsilon}: expected a probability in [0, 1]")
    if sorted(order) != list(range(n)):
        raise ValueError("order: expected every candidate index once")
    if len(draws) < draws_needed(n) or any(not 0.0 <= u < 1.0 for u in draws):
        raise ValueError(f"draws: expected {draws_needed(n)} uniforms in [0, 1)")
    slots = min(slots, n)
    explored = bool(draws[0] < epsilon)  # a NumPy draw gives a NumPy bool, which JSON does not take
    chosen = list(order)
    if explored:
        for step, i in enumerate(range(n - 1, 0, -1), start=1):
            j = min(floor(draws[step] * (i + 1)), i)
            chosen[i], chosen[j] = chosen[j], chosen[i]
    shown = tuple(int(a) for a in chosen[:slots])
    return Slate(shown, tuple((1.0 - epsilon) * (a == order[k]) + epsilon / n for k, a in enumerate(shown)),
                 explored)
