"""The feature contract shared by data, model and bundle: input names, shapes and the item-id hash."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..core.tensors import TensorSpec

# Input and output names: identical in every exported format, so one integration contract serves all.
CONTEXT = "context"
HISTORY = "history"
CANDIDATES = "candidates"
CANDIDATE_FEATURES = "candidate_features"
SCORES = "scores"
INPUT_NAMES = (CONTEXT, HISTORY, CANDIDATES, CANDIDATE_FEATURES)
INPUT_DTYPES = {CONTEXT: "int32", HISTORY: "int32", CANDIDATES: "int32", CANDIDATE_FEATURES: "float32"}

FEATURE_CLIP = 5.0  # standardized log features are clipped to +-5: bounded int8 input range, tails kept
PAD_ID = 0  # bucket 0 is reserved for "no item" (history padding)

_FNV_OFFSET = 0x811C9DC5
_FNV_PRIME = 0x01000193


CANONICAL = ("strings as given; booleans 'true' / 'false'; integers, and numbers without a fraction (12.0), in "
             "decimal without leading zeros, '+' or exponent ('12', '-3'); a number with a fraction is refused "
             "(bad_value): pass it as the string the training log holds")


def canonical(value) -> str:
    """The one string form of a raw categorical value, hashed or looked up (CANONICAL): the same in every client,
    whatever type the log or the app holds it in (Python's str(12.0) is '12.0', JavaScript's String(12.0) '12').
    A log's number with a fraction keeps Python's repr here; clients refuse such values (no agreed form)."""
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)) and np.isfinite(value) and float(value).is_integer():
        return str(int(value))
    return repr(float(value)) if isinstance(value, (float, np.floating)) else str(value)


def canonical_text(values: pd.Series) -> pd.Series:
    """canonical() of every value, each distinct value converted once."""
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    return pd.Series(np.array([canonical(u) for u in uniques], dtype=object)[codes] if len(uniques) else [],
                     index=values.index, dtype=object)


def fnv1a_32(text: str) -> int:
    """32-bit FNV-1a of the UTF-8 bytes: trivial to reimplement in Kotlin or Swift for the app side."""
    h = _FNV_OFFSET
    for byte in text.encode("utf-8"):
        h = ((h ^ byte) * _FNV_PRIME) & 0xFFFFFFFF
    return h


def hash_item_id(item_id: object, buckets: int) -> int:
    """Bucket of a raw item id: 1 + fnv1a_32(canonical(id)) mod (buckets - 1); bucket 0 stays padding."""
    return 1 + fnv1a_32(canonical(item_id)) % (buckets - 1)


def hash_item_ids(item_ids: np.ndarray, buckets: int) -> np.ndarray:
    """Vectorised over an array of raw ids, each distinct id hashed once."""
    flat = np.asarray(item_ids).ravel()
    uniques, inverse = np.unique(flat, return_inverse=True)
    table = np.fromiter((hash_item_id(u, buckets) for u in uniques.tolist()), dtype=np.int32, count=len(uniques))
    return table[inverse].reshape(np.shape(item_ids))


@dataclass(frozen=True)
class ContextField:
    name: str
    cardinality: int  # values are integers in [0, cardinality)


@dataclass(frozen=True)
class FeatureSpec:
    """What one request looks like to the model; K (candidates) is fixed only at export."""

    context_fields: tuple[ContextField, ...]
    history_len: int
    item_buckets: int
    item_features: tuple[str, ...]  # per-candidate float features
    # for a user's log: apps pass clip((x - mean) * scale, -FEATURE_CLIP, FEATURE_CLIP) per feature. Not done
    # inside the graph: an int8 model quantizes its input tensor with ONE scale, so raw features of different
    # ranges (a price up to 150 next to a quality in [0, 1]) lose the small ones (measured: int8 NDCG ratio
    # 0.965 raw vs standardized below). None: the features are already scaled (the built-in data).
    feature_mean: tuple[float, ...] | None = None
    feature_scale: tuple[float, ...] | None = None

    def standardize(self, features: np.ndarray) -> np.ndarray:
        if self.feature_mean is None:
            return features
        z = (features - np.asarray(self.feature_mean, np.float32)) * np.asarray(self.feature_scale, np.float32)
        return np.clip(z, -FEATURE_CLIP, FEATURE_CLIP).astype(np.float32)

    @property
    def context_offsets(self) -> list[int]:
        offsets, total = [], 0
        for field in self.context_fields:
            offsets.append(total)
            total += field.cardinality
        return offsets

    @property
    def context_vocab(self) -> int:
        return sum(f.cardinality for f in self.context_fields)

    def inputs(self, candidates: int) -> tuple[TensorSpec, ...]:
        """The contract's inputs for one request of K candidates (batch 1), in contract order: the one place
        every converter, verifier and benchmark takes input names, dtypes, shapes and id ranges from."""
        shapes = {CONTEXT: (1, len(self.context_fields)), HISTORY: (1, self.history_len),
                  CANDIDATES: (1, candidates), CANDIDATE_FEATURES: (1, candidates, len(self.item_features))}
        return tuple(TensorSpec(n, INPUT_DTYPES[n], shapes[n], value_range=self.value_ranges().get(n))
                     for n in INPUT_NAMES)

    def value_ranges(self) -> dict[str, tuple[int, int]]:
        """Valid [low, high) of the integer inputs; context columns differ, the smallest keeps every one valid."""
        return {CONTEXT: (0, min(f.cardinality for f in self.context_fields)) if self.context_fields else (0, 1),
                HISTORY: (0, self.item_buckets), CANDIDATES: (0, self.item_buckets)}


def feature_sums(items: np.ndarray, features: np.ndarray, buckets: int) -> tuple[np.ndarray, np.ndarray]:
    """Per item id, how often it was shown and the sum of its candidate features: items [n] int, features
    [n, F] -> (shows [buckets], sums [buckets, F]), summed in float64 so the sums of several parts add up exactly
    (bincount widens one column at a time: the built-in 5.4 M rows are never copied whole to float64)."""
    items = np.asarray(items).reshape(-1)
    features = np.asarray(features).reshape(len(items), -1)
    shows = np.bincount(items, minlength=buckets).astype(np.float64)
    sums = np.stack([np.bincount(items, weights=features[:, f], minlength=buckets)
                     for f in range(features.shape[1])], axis=1)
    return shows, sums


def item_feature_table(shows: np.ndarray, sums: np.ndarray) -> np.ndarray:
    """[buckets, F] float32: each item id's mean candidate features over the training rows; 0 for an id never
    shown (padding included), which for standardized log features is the training mean."""
    table = np.zeros(sums.shape, np.float32)
    seen = shows > 0
    table[seen] = sums[seen] / shows[seen, None]
    return table
