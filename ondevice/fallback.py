"""fallback.json: a ranking an app can compute without any ML runtime, for cold start and for when the model
cannot be loaded or run. It is the rule baseline (popularity within the request's context segment, smoothed
towards the item's and the global click rate) written as a table keyed by the same ids the contract's rules
compute, so the app needs only features.json's encoding and this file.

    rate(item) = segment_rates[segment][item] if listed, else item_rates[item] if listed, else global_rate
    segment    = ",".join(str(context[s.column] // s.divisor) for s in segments)
    ranking    = candidates by rate, highest first; equal rates keep the given order

Only the `top` best items of each segment are listed (the rest fall back to their overall rate), which keeps the
file small; its NDCG@10 in the manifest is the table's own, measured through `scores`, not the baseline's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..models.data import Requests

FALLBACK = "fallback.json"
FALLBACK_VERSION = 1
RULE = ("rate = segment_rates[segment][item] if listed, else item_rates[item] if listed, else global_rate; "
        "segment = the segment columns' context ids, each integer-divided by its divisor, joined by ','; "
        "rank the candidates by rate, highest first, equal rates in the given order")

# what every client ranks by when it has neither a model nor fallback.json
FALLBACK_ORDER = ("the candidates in the order the app got them (its own or the server's order): what the app showed "
                  "before it had a model")


@dataclass(frozen=True)
class SegmentColumn:
    column: int = field(metadata={"doc": "index in the `context` input"})
    name: str
    divisor: int = field(metadata={"doc": "the id is integer-divided by it (hours in blocks of 4: 4)"})


@dataclass(frozen=True)
class Fallback:
    """fallback.json: popularity by context segment, keyed by model ids (features.json computes them)."""

    schema_version: int = field(metadata={"choices": (FALLBACK_VERSION,)})
    rule: str
    segments: list[SegmentColumn] = field(metadata={"doc": "empty: one segment for every request"})
    global_rate: float
    item_rates: dict[str, float] = field(metadata={"doc": "item id (as the contract encodes it) -> click rate"})
    segment_rates: dict[str, dict[str, float]] = field(metadata={
        "doc": "segment key -> item id -> click rate, for the `top` items of each segment"})
    top: int


@dataclass(frozen=True)
class ColdStart:
    """Users with no history: the model (history all padding) against the fallback, on the same requests."""

    requests: int
    model_ndcg_at_10: float
    fallback_ndcg_at_10: float
    choice: str = field(metadata={"choices": ("model", "fallback"), "doc": "what the app should rank them with"})


@dataclass(frozen=True)
class FallbackRecord:
    """The manifest's account of fallback.json."""

    file: str
    bytes: int
    kind: str = field(metadata={"choices": ("segment_popularity", "item_popularity")})
    ndcg_at_10: float = field(metadata={"doc": "the table's own ranking of the test lists"})
    model_ndcg_at_10: float
    cold_start: ColdStart


def _key(values) -> str:
    return ",".join(str(int(v)) for v in values)


def _rounded(x: float) -> float:
    return float(f"{x:.6g}")  # six significant digits: the file stays small, the order of rates is kept


def table(segments: list[SegmentColumn], global_rate: float, item_rates: dict[int, float],
          segment_rates: dict[tuple, dict[int, float]], top: int) -> Fallback:
    """The file from the baseline's rates: each segment keeps its `top` items by rate (ties by id)."""
    kept = {}
    for seg, rates in sorted(segment_rates.items()):
        best = sorted(rates.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
        kept[_key(seg)] = {str(item): _rounded(rate) for item, rate in sorted(best)}
    return Fallback(FALLBACK_VERSION, RULE, segments, _rounded(global_rate),
                    {str(item): _rounded(rate) for item, rate in sorted(item_rates.items())}, kept, top)


def rates(fb: Fallback, context: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """[K] rates of one request's candidates (its context ids [C], candidate ids [K]), exactly as RULE says."""
    seg = fb.segment_rates.get(_key(int(context[s.column]) // s.divisor for s in fb.segments), {})
    return np.array([seg.get(str(int(item)), fb.item_rates.get(str(int(item)), fb.global_rate))
                     for item in candidates], dtype=np.float64)


def scores(fb: Fallback, requests: Requests) -> np.ndarray:
    """[N, K] rates of each request's candidates."""
    return np.stack([rates(fb, requests.context[i], requests.candidates[i]) for i in range(len(requests))])
