"""The rule-based baseline an app would ship without a model: item popularity within the request's context.

Score of a candidate = its click rate in the request's segment (time-of-day block x network type) on training
data, shrunk towards the item's overall click rate, which is shrunk towards the global click rate
(empirical-Bayes smoothing with `prior_strength` pseudo-impressions at each level).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .data import Requests

HOUR_FIELD, NETWORK_FIELD = 0, 3  # positions in the built-in context; other logs pass their own segment fields


@dataclass
class SegmentPopularity:
    item_buckets: int
    segment_fields: tuple[int, ...] = (HOUR_FIELD, NETWORK_FIELD)
    prior_strength: float = 20.0

    def divisors(self) -> tuple[int, ...]:
        """Per segment field, what its id is integer-divided by (hours in blocks of 4)."""
        return tuple(4 if field == HOUR_FIELD else 1 for field in self.segment_fields)

    def _segments(self, context: np.ndarray) -> np.ndarray:
        seg = np.zeros(len(context), dtype=np.int64)
        for field, divisor in zip(self.segment_fields, self.divisors()):
            seg = seg * 64 + context[:, field] // divisor
        return seg

    def fit(self, train: Requests) -> "SegmentPopularity":
        seg = np.repeat(self._segments(train.context), train.candidates.shape[1])
        items = train.candidates.ravel().astype(np.int64)
        clicks = (train.labels.ravel() > 0).astype(np.float64)
        self.global_rate = clicks.mean()
        shows = np.bincount(items, minlength=self.item_buckets).astype(np.float64)
        hits = np.bincount(items, weights=clicks, minlength=self.item_buckets)
        self.item_rate = (hits + self.prior_strength * self.global_rate) / (shows + self.prior_strength)
        keys = seg * self.item_buckets + items
        self.keys, inverse = np.unique(keys, return_inverse=True)
        self.seg_shows = np.bincount(inverse).astype(np.float64)
        self.seg_hits = np.bincount(inverse, weights=clicks)
        return self

    def score(self, requests: Requests) -> np.ndarray:
        seg = np.repeat(self._segments(requests.context), requests.candidates.shape[1])
        items = requests.candidates.ravel().astype(np.int64)
        keys = seg * self.item_buckets + items
        pos = np.clip(np.searchsorted(self.keys, keys), 0, len(self.keys) - 1)
        found = self.keys[pos] == keys
        shows = np.where(found, self.seg_shows[pos], 0.0)
        hits = np.where(found, self.seg_hits[pos], 0.0)
        prior = self.item_rate[items]
        rate = (hits + self.prior_strength * prior) / (shows + self.prior_strength)
        return rate.reshape(requests.candidates.shape)

    def rates(self) -> tuple[float, dict[int, float], dict[tuple, dict[int, float]]]:
        """The score as tables: the global rate, each shown item's rate, and per segment (a tuple of the divided
        field ids) each item's rate there; `score` gives exactly these for the pairs listed."""
        shown = np.flatnonzero(np.bincount(self.keys % self.item_buckets, minlength=self.item_buckets))
        items = {int(i): float(self.item_rate[i]) for i in shown}
        segments: dict[tuple, dict[int, float]] = {}
        for key, shows, hits in zip(self.keys, self.seg_shows, self.seg_hits):
            seg, item = divmod(int(key), self.item_buckets)
            digits = []
            for _ in self.segment_fields:
                seg, digit = divmod(seg, 64)
                digits.append(digit)
            rate = (hits + self.prior_strength * self.item_rate[item]) / (shows + self.prior_strength)
            segments.setdefault(tuple(reversed(digits)), {})[item] = float(rate)
        return float(self.global_rate), items, segments


@dataclass
class ItemPopularity:
    """For a user's log, where the context fields are the user's own: each item's smoothed click rate on the
    training split, counted while the log streams by (no second copy of the log in memory)."""

    shows: np.ndarray  # [item_buckets] impressions per item bucket
    hits: np.ndarray  # [item_buckets] clicks per item bucket
    prior_strength: float = 20.0

    def _rate(self) -> tuple[float, np.ndarray]:
        global_rate = self.hits.sum() / max(self.shows.sum(), 1.0)
        return global_rate, (self.hits + self.prior_strength * global_rate) / (self.shows + self.prior_strength)

    def score(self, requests: Requests) -> np.ndarray:
        return self._rate()[1][requests.candidates]

    def rates(self) -> tuple[float, dict[int, float], dict[tuple, dict[int, float]]]:
        """As SegmentPopularity.rates, with no segments; an item never shown has the global rate."""
        global_rate, rate = self._rate()
        return float(global_rate), {int(i): float(rate[i]) for i in np.flatnonzero(self.shows)}, {}
