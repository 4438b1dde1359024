"""testvectors_raw.json: raw requests as an app holds them -> the tensors features.json makes of them -> each
file's scores -> the ranked item ids. Catches what tensor test vectors cannot: skew in the app's own encoding.

The requests are drawn from the data's own values (vocabularies, observed item ids, test-request features) and
deliberately include the edge cases: a list shorter than K, an unseen value in every field, a history longer
than the model takes and an empty one, a feature beyond the clip.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..models.data import Requests
from ..models.features import CANDIDATE_FEATURES, CANDIDATES, CONTEXT
from ..ondevice.contract import (CONSTANT, HASH, INDEX, TIME, VOCABULARY, Contract, ContractError, RawEncoder,
                                RawRequest, ranked)
from ..ondevice.fallback import Fallback, rates
from ..ondevice.rules import Candidates, RuleSet, apply, from_raw, rate_logits

RAW_TESTVECTORS = "testvectors_raw.json"
RAW_VERSION = 1
UNSEEN = "edgeship-unseen-value"  # a value no vocabulary holds: its ids are the out-of-vocabulary ones
_YEAR_2026 = (1767225600, 1798761600)  # unix seconds: 2026-01-01 .. 2027-01-01 UTC


@dataclass(frozen=True)
class RawCase:
    request: RawRequest
    tensors: dict[str, list] = field(metadata={"doc": "the four inputs features.json makes of the request"})
    expected: dict[str, list] = field(metadata={"doc": "per file: its scores, in the file's declared output shape"})
    ranked: dict[str, list[str]] = field(metadata={"doc": "per file: the request's item ids, best first"})
    what: str = ""
    fallback: list[str] = field(default_factory=list, metadata={
        "doc": "the request's item ids ranked by fallback.json, then rules.json (empty: the bundle has no fallback)"})
    with_rules: dict[str, list[str]] = field(default_factory=dict, metadata={
        "doc": "per file: the item ids its scores and then rules.json give (filtered ones left out)"})


@dataclass(frozen=True)
class RawVectors:
    """testvectors_raw.json: for an app's unit tests of its own preprocessing, model call and ranking."""

    schema_version: int = field(metadata={"choices": (RAW_VERSION,)})
    contract: str
    cases: list[RawCase] = field(metadata={"nonempty": True})
    atol: dict[str, float] = field(metadata={"doc": "per file: how far another CPU's runtime may drift"})


def _values(vocabularies: dict, examples: dict[str, list[str]], source: str, kind: str, size: int,
            at_least: int = 50) -> list:
    """Raw values an app could hold for one field (from a vocabulary: its first `at_least`)."""
    if kind == INDEX:
        return list(range(size))
    if kind == VOCABULARY:
        return next(f["values"] for f in vocabularies["fields"] if f["name"] == source)[:at_least]
    return list(examples.get(source, [])) or [f"{source}-{i}" for i in range(20)]


def _descriptions(contract: Contract) -> tuple[str, ...]:
    """What the four edge cases hold in this contract, said as it is (a field kind the contract lacks is not
    claimed: the built-in data's context fields are all indices, its features unclipped)."""
    k = contract.candidates.k
    unseen = [c.source for c in contract.context if c.kind in (VOCABULARY, HASH)]
    clipped = [f.name for f in contract.candidate_features if f.clip is not None and not f.constant]
    parts = ([f"an unseen value in {', '.join(unseen)}"] if unseen else []) + (
        ["an unseen item id in slot 0"] if contract.items.kind in (VOCABULARY, HASH) else []) + (
        [f"slot 0's {', '.join(clipped)} at 3x the clip"] if clipped else [])
    indices = [c.source for c in contract.context if c.kind == INDEX]
    last = "no history" + (f"; {', '.join(indices)} given as JSON numbers" if indices else "") + (
        "; a timestamp half a second before a UTC midnight" if contract.time is not None else "")
    return ("a full list (history longer than its length)", f"a list of {k // 2 + 1} < K = {k}",
            "; ".join(parts) or "a full list (no field of this contract takes unseen values or clips)", last)


def requests(contract: Contract, vocabularies: dict, examples: dict[str, list[str]], test: Requests, n: int,
             seed: int, attributes=None) -> list[tuple[str, RawRequest]]:
    """n raw requests (the first four are the edge cases), deterministic in seed."""
    rng = np.random.default_rng([seed, 11])
    k, h = contract.candidates.k, contract.history.length
    item_name = next(f["name"] for f in vocabularies["fields"] if f["input"] != "context")
    # enough distinct items for a full list of K (a vocabulary's first 50 made every list of the default bundle 50)
    items = [str(v) for v in _values(vocabularies, examples, item_name, contract.items.kind,
                                     contract.items.size, at_least=2 * k)]
    if contract.items.kind == HASH:  # any string is an item id there: made-up ones complete a full list
        items += [f"{item_name}-{j}" for j in range(max(0, k - len(items)))]
    out, edges = [], _descriptions(contract)
    for i in range(n):
        what = edges[i] if i < len(edges) else "a full list"
        size = k // 2 + 1 if i == 1 else k
        shown = [items[j] for j in rng.choice(len(items), size=min(size, len(items)), replace=False)]
        context = {}
        for col in contract.context:
            if col.kind in (TIME, CONSTANT):
                continue
            pool = _values(vocabularies, examples, col.source, col.kind, col.size)
            value = pool[int(rng.integers(len(pool)))]
            context[col.source] = (UNSEEN if i == 2 and col.kind in (VOCABULARY, HASH)
                                   else int(value) if i == 3 and col.kind == INDEX else str(value))
        if i == 2 and contract.items.kind in (VOCABULARY, HASH):
            shown[0] = UNSEEN
        history = [] if i == 3 else [items[j] for j in rng.integers(0, len(items), size=h + 2 if i == 0 else
                                                                       int(rng.integers(1, h + 1)))]
        # realistic raw features: a test request's standardized values mapped back through mean and scale
        z = test.candidate_features[int(rng.integers(len(test)))]
        rows = z[np.arange(len(shown)) % len(z)]
        features = []
        for slot in range(len(shown)):
            raw = {}
            for f in contract.candidate_features:
                if f.constant:
                    continue
                value = float(rows[slot, f.index])
                if i == 2 and slot == 0 and f.clip is not None:
                    value = 3 * f.clip
                raw[f.name] = round(f.mean + value / f.scale, 6)
            features.append(raw)
        timestamp = (float(rng.integers(*_YEAR_2026)) + 0.5) if contract.time is not None else None
        if i == 3 and timestamp is not None:  # the floor and the UTC day boundary
            timestamp = float(rng.integers(*_YEAR_2026)) // 86_400 * 86_400 - 0.5
        out.append((what, RawRequest(items=shown, features=features, context=context, timestamp=timestamp,
                                     history=history, attributes=attributes(rows) if attributes else [])))
    return out


@dataclass(frozen=True)
class RawProbe:
    """One raw request of the vectors, and the tensors features.json makes of it: what every shipped file is
    run on (during its parity check, whose outputs the vectors record)."""

    what: str
    request: RawRequest
    tensors: dict[str, np.ndarray]


def probes(contract: Contract, vocabularies: dict, examples: dict[str, list[str]], test: Requests, n: int,
           seed: int, attributes=None) -> list[RawProbe]:
    """The raw requests (see `requests`) encoded; attributes: a list's candidate feature rows -> each
    candidate's attributes."""
    encoder = RawEncoder(contract, vocabularies)
    return [RawProbe(what, request, encoder.encode(request))
            for what, request in requests(contract, vocabularies, examples, test, n, seed, attributes)]


def raw_vectors(contract: Contract, cases: list[RawProbe], files: dict[str, tuple[tuple, tuple[int, ...]]],
                atol: dict[str, float], table: Fallback | None = None, rules: RuleSet = RuleSet()) -> RawVectors:
    """files: bundle-relative path -> (its recorded output on each case, the file's declared output shape);
    table: fallback.json, whose ranking of each request is recorded too; every ranking also under the rules."""
    out = []
    for j, case in enumerate(cases):
        request, tensors = case.request, case.tensors
        expected, order, ruled = {}, {}, {}
        view = from_raw(contract, request)
        for path, (outputs, shape) in files.items():
            scores = np.asarray(outputs[j], dtype=np.float32).reshape(shape)
            expected[path] = scores.astype(float).tolist()
            order[path] = ranked(scores, request.items)
            ruled[path] = [request.items[i] for i in apply(rules, scores, view)]
        out.append(RawCase(request, {name: _short(t) for name, t in tensors.items()}, expected, order, case.what,
                           _fallback_order(table, tensors, request, view, rules), ruled))
    return RawVectors(RAW_VERSION, "features.json", out, dict(atol))


def _fallback_order(table: Fallback | None, tensors: dict[str, np.ndarray], request: RawRequest, view: Candidates,
                    rules: RuleSet) -> list[str]:
    if table is None:
        return []
    scores = rate_logits(rates(table, tensors[CONTEXT][0], tensors[CANDIDATES][0]))
    return [request.items[i] for i in apply(rules, scores, view)]


def _short(t: np.ndarray) -> list:
    """float32 features to 7 significant digits (the check compares them within 1e-6; |x| <= the clip)."""
    if t.dtype.kind != "f":
        return t.tolist()
    return np.vectorize(lambda x: float(f"{x:.7g}"), otypes=[float])(t).tolist()


def check_raw(encoder: RawEncoder, vectors: RawVectors, runs: dict[str, object], where: Path,
              table: Fallback | None = None, rules: RuleSet = RuleSet()) -> dict[str, float]:
    """Re-encode every raw request from the contract, run every file, rank by the fallback table, apply the
    rules, compare: per file, the worst score error. Raises ValueError naming the case and what differs."""
    worst = dict.fromkeys(runs, 0.0)
    for i, case in enumerate(vectors.cases):
        try:
            tensors = encoder.encode(case.request)
        except ContractError as e:  # a ValueError: the message names the case like the others
            raise ValueError(f"{where}: cases[{i}].request: features.json cannot encode it: {e}") from None
        view = from_raw(encoder.contract, case.request)
        for name, want in case.tensors.items():
            got = tensors[name]
            same = (np.allclose(got, want, atol=1e-6) if name == CANDIDATE_FEATURES
                    else np.array_equal(got, np.asarray(want)))
            if not same:
                raise ValueError(f"{where}: cases[{i}].tensors.{name}: features.json encodes the request to "
                                 f"{got.tolist()}, the vectors say {want}")
        for path, run in runs.items():
            if path not in case.expected or path not in case.ranked:
                raise ValueError(f"{where}: cases[{i}]: no expected output for {path}")
            want = np.asarray(case.expected[path], dtype=np.float64)
            got = np.asarray(run(tensors), dtype=np.float64).reshape(want.shape)
            worst[path] = max(worst[path], float(np.max(np.abs(got - want))))
            if ranked(want, case.request.items) != case.ranked[path]:
                raise ValueError(f"{where}: cases[{i}].ranked[{path!r}] is not the order of its own scores")
            if case.with_rules.get(path) != [case.request.items[j] for j in apply(rules, want, view)]:
                raise ValueError(f"{where}: cases[{i}].with_rules[{path!r}] is not the order rules.json gives "
                                 "its scores")
        if case.fallback != _fallback_order(table, tensors, case.request, view, rules):
            raise ValueError(f"{where}: cases[{i}].fallback is not the order fallback.json gives"
                             + ("" if table is not None else " (the bundle has no fallback.json)"))
    return worst
