"""How raw categorical values become the integer ids the model takes, per field: an exact vocabulary or a hash.

The app does the same lookup before every call, so each rule is one line to reimplement in Kotlin or Swift and
is shipped in the bundle (`vocabularies.json`):
- vocabulary, context field: index = 1 + position of canonical(value) in `values`; anything else -> 0 (out of
  vocabulary); canonical is features.json's raw_values.canonical (features.canonical);
- vocabulary, items: index = 2 + position; anything else -> 1 (out of vocabulary); 0 is history padding;
- hash, context field: fnv1a_32(utf8(canonical(value))) mod buckets;
- hash, items: 1 + fnv1a_32(utf8(canonical(value))) mod (buckets - 1); 0 is history padding.
An exact vocabulary keeps every observed value apart (no two items share an embedding row); hashing needs no file
and takes values nobody has seen, at the price of collisions, which are measured and reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from .features import canonical, canonical_text, fnv1a_32, hash_item_ids

VOCABULARY, HASH, TIME, INDEX = "vocabulary", "hash", "time", "index"
ITEM_FIRST, ITEM_OOV = 2, 1  # item vocabulary: 0 pad, 1 out of vocabulary, observed items from 2
CONTEXT_FIRST, CONTEXT_OOV = 1, 0


@dataclass(frozen=True)
class FieldEncoding:
    """One categorical field's rule. `size` is the number of ids the model's table has for it."""

    name: str
    kind: str = field(metadata={"choices": (VOCABULARY, HASH, TIME, INDEX)})
    size: int
    item: bool = False  # the item field: ids shared by history and candidates, 0 reserved for padding
    values: tuple[str, ...] = ()  # vocabulary, most frequent first

    @property
    def first(self) -> int:
        return ITEM_FIRST if self.item else CONTEXT_FIRST

    @property
    def oov(self) -> int:
        return ITEM_OOV if self.item else CONTEXT_OOV

    def rule(self) -> str:
        if self.kind == VOCABULARY:
            return (f"index = {self.first} + position of canonical(value) in values; otherwise {self.oov} (out of "
                    "vocabulary)" + ("; 0 = history padding" if self.item else ""))
        if self.kind == HASH:
            return ("1 + fnv1a_32(utf8(canonical(value))) mod (buckets - 1); 0 = history padding" if self.item
                    else "fnv1a_32(utf8(canonical(value))) mod buckets")
        if self.kind == TIME:
            return ("hour of the day in UTC, 0-23" if self.name == "hour"
                    else "day of the week in UTC, Monday = 0 ... Sunday = 6")
        return f"the value itself, an integer in [0, {self.size})" + ("; 0 = history padding" if self.item else "")

    def lookup(self) -> dict[str, int]:
        """value -> id of a vocabulary."""
        return self._lookup

    @cached_property
    def _lookup(self) -> dict[str, int]:  # built once: encode runs on every chunk of every epoch
        return {v: self.first + i for i, v in enumerate(self.values)}

    def encode(self, values) -> np.ndarray:
        """Raw values (any type; compared as str) -> int32 ids, each distinct value looked up once."""
        if self.kind in (TIME, INDEX):
            return np.asarray(values, dtype=np.int32)
        text = canonical_text(pd.Series(np.asarray(values, dtype=object).ravel()))
        if self.kind == HASH:
            ids = hash_item_ids(text.to_numpy(dtype=object), self.size) if self.item else hash_values(text, self.size)
        else:
            codes, uniques = pd.factorize(text, use_na_sentinel=False)
            ids = np.fromiter((self._lookup.get(u, self.oov) for u in uniques), np.int64, len(uniques))[codes]
        return np.asarray(ids).astype(np.int32).reshape(np.shape(values))


@dataclass(frozen=True)
class Encoders:
    """The rule of every categorical input: one per context field (in model order) and one for items."""

    context: tuple[FieldEncoding, ...]
    item: FieldEncoding

    @property
    def all(self) -> tuple[FieldEncoding, ...]:
        return (*self.context, self.item)

    def to_json(self) -> dict:
        """What the app loads (vocabularies.json): every field's rule, vocabularies in full."""
        return {"format": "edgeship-vocabularies/1",
                "hash": "fnv1a_32: h = 0x811C9DC5; for each UTF-8 byte: h = (h XOR byte) * 0x01000193 mod 2^32",
                "fields": [{"name": e.name, "input": "candidates, history" if e.item else "context",
                            "column": None if e.item else i, "kind": e.kind, "size": e.size, "rule": e.rule(),
                            **({"values": list(e.values)} if e.kind == VOCABULARY else {})}
                           for i, e in enumerate(self.all)]}


def hash_values(values: pd.Series, modulo: int) -> np.ndarray:
    """fnv1a_32(canonical(value)) mod modulo per value, each distinct value hashed once."""
    codes, uniques = pd.factorize(canonical_text(values), use_na_sentinel=False)
    table = np.fromiter((fnv1a_32(u) % modulo for u in uniques), dtype=np.int64, count=len(uniques))
    return table[codes]


def given(spec_fields, item_size: int) -> Encoders:
    """Ids the caller already computed (the built-in data's context, a user's own Keras model)."""
    return Encoders(tuple(FieldEncoding(f.name, INDEX, f.cardinality) for f in spec_fields),
                    FieldEncoding("item_id", INDEX, item_size, item=True))


def vocabulary(name: str, counts: pd.Series, item: bool = False, min_count: int = 1) -> FieldEncoding:
    """Values seen at least min_count times, most frequent first (ties by value, so the order is stable)."""
    kept = counts[counts >= min_count]
    order = sorted(kept.items(), key=lambda kv: (-kv[1], kv[0]))
    values = tuple(canonical(v) for v, _ in order)
    return FieldEncoding(name, VOCABULARY, len(values) + (ITEM_FIRST if item else CONTEXT_FIRST), item, values)


def hashed(name: str, buckets: int, item: bool = False) -> FieldEncoding:
    return FieldEncoding(name, HASH, buckets, item)


@dataclass(frozen=True)
class Collisions:
    """How many distinct observed values share an id with another value: what hashing costs this catalogue."""

    distinct: int  # distinct values observed in training
    colliding: int  # of those, values whose id is also some other observed value's id
    impression_share: float  # share of training impressions whose item shares its id
    out_of_vocabulary: float = 0.0  # share of test impressions whose value maps to the OOV id

    @property
    def rate(self) -> float:
        return self.colliding / self.distinct if self.distinct else 0.0


def collisions(enc: FieldEncoding, counts: pd.Series) -> Collisions:
    """Collisions among the observed values (counts: value -> training impressions) under `enc`."""
    if not len(counts):
        return Collisions(0, 0, 0.0)
    ids = enc.encode(np.asarray(canonical_text(counts.index.to_series()), dtype=object))
    # values a vocabulary left out (below min_count) all share the OOV id: counted as colliding, as they are
    per_id = pd.Series(ids).map(pd.Series(ids).value_counts()).to_numpy()
    shared = per_id > 1
    weights = counts.to_numpy(dtype=np.float64)
    return Collisions(len(counts), int(shared.sum()), float(weights[shared].sum() / weights.sum()))
