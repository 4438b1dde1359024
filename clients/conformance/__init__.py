"""The conformance suite: the raw-input contract's cases that the Python reference and every client must pass.

Three small contracts (clients/conformance/contracts/<name>/features.json, vocabularies.json, fallback.json)
use every field kind between them: time from a timestamp, vocabulary, hash, index and constant context columns;
hashed, vocabulary and index items; standardized, clipped, unclipped and constant features. cases.json holds,
per case, a raw request (and rules, scores or a fallback table where the case needs them) and what a client must
produce: the tensors of every call, the ranked order, or the error code and field.

The cases and their expectations are written by `python -m clients.conformance` from the Python
reference (ondevice/); tests/clients/test_conformance.py checks the committed files are what it writes, that
hand-computed anchors (FNV-1a test vectors, the UTC day boundary) hold, and every client runs the same file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgeship.core import typed
from edgeship.ondevice import rules as rules_mod
from edgeship.ondevice.contract import (ERRORS, CandidateRule, ContextColumn, Contract, ContractError, HashFunction,
                                  HistoryRule, InputRecord, ItemRule, NumericFeature, OutputRule, RawEncoder,
                                  RawRequest, TimeRule, Vocabulary, ranked)
from edgeship.ondevice.fallback import FALLBACK_VERSION, RULE, Fallback, SegmentColumn
from edgeship.ondevice.rules import RuleSet

HERE = Path(__file__).parent
CASES = HERE / "cases.json"
FORMAT = "edgeship-conformance/1"
K, HISTORY = 4, 3
VOCABULARIES = "vocabularies.json"


def _features() -> list[NumericFeature]:
    return [NumericFeature(0, "price", 10.0, 0.5, 3.0), NumericFeature(1, "rating", 0.0, 1.0, None),
            NumericFeature(2, "constant", 0.0, 1.0, None, constant=True), NumericFeature(3, "age", -2.5, 0.25, 1.0)]


def _contract(context: list[ContextColumn], items: ItemRule) -> Contract:
    f = len(_features())
    inputs = [InputRecord("context", "int32", [1, len(context)]), InputRecord("history", "int32", [1, HISTORY]),
              InputRecord("candidates", "int32", [1, K]), InputRecord("candidate_features", "float32", [1, K, f])]
    return Contract(
        schema_version=2, inputs=inputs, context=context,
        time=TimeRule() if any(c.kind == "time" for c in context) else None, items=items,
        history=HistoryRule(HISTORY, f"the user's recent item ids, most recent first, each encoded like an item; keep "
                                     f"the first {HISTORY}; fewer: fill the rest with 0"),
        candidate_features=_features(),
        candidates=CandidateRule(K, f"n < {K}: candidates[n:] = 0 and candidate_features[n:] = 0.0"),
        output=OutputRule("scores", [1, K], "click logits", "highest first; equal scores keep the given order"),
        hash=HashFunction())


def contracts() -> dict[str, tuple[Contract, dict, Fallback]]:
    """name -> (features.json, vocabularies.json, fallback.json)."""
    city = Vocabulary(VOCABULARIES, "city", 4, 1, 0)
    full_context = [
        ContextColumn(0, "hour", "timestamp", "time", 24, "hour of the day in UTC"),
        ContextColumn(1, "weekday", "timestamp", "time", 7, "day of the week in UTC, Monday = 0"),
        ContextColumn(2, "city", "city", "vocabulary", 5, "1 + position in values; otherwise 0", vocabulary=city),
        ContextColumn(3, "campaign", "campaign", "hash", 16, "fnv1a_32 mod 16", buckets=16, offset=0),
        ContextColumn(4, "device", "device", "index", 8, "the value itself, in [0, 8)"),
        ContextColumn(5, "constant", "constant", "constant", 1, "always 0"),
    ]
    city_values = {"name": "city", "input": "context", "column": 2, "kind": "vocabulary", "size": 5,
                   "values": ["berlin", "münchen", "12", "true"]}
    hashed = _contract(full_context, ItemRule("hash", 64, "1 + fnv1a_32 mod 63", 0, buckets=64, offset=1))
    items = Vocabulary(VOCABULARIES, "item_id", 5, 2, 1)
    vocabulary = _contract(full_context[2:5], ItemRule("vocabulary", 7, "2 + position; otherwise 1", 0,
                                                       vocabulary=items, oov=1))
    indexed = _contract([ContextColumn(0, "constant", "constant", "constant", 1, "always 0")],
                        ItemRule("index", 100, "the value itself, in [0, 100)", 0))
    item_values = {"name": "item_id", "input": "candidates, history", "column": None, "kind": "vocabulary", "size": 7,
                   "values": ["sku-1", "sku-2", "7", "ß", "sku-5"]}
    segment = [SegmentColumn(0, "hour", 6)]  # four blocks of six hours
    hashed_id = RawEncoder(hashed, {"fields": [city_values]}).item_id
    x, y, z, w = (str(hashed_id(v)) for v in ("x", "y", "z", "w"))
    return {
        "hashed": (hashed, {"format": "edgeship-vocabularies/1", "fields": [city_values]},
                   Fallback(FALLBACK_VERSION, RULE, segment, 0.05, {x: 0.2, y: 0.1, w: 1.0},
                            {"2": {x: 0.01, z: 0.4}}, 2)),
        "vocabulary": (vocabulary, {"format": "edgeship-vocabularies/1", "fields": [city_values, item_values]},
                       Fallback(FALLBACK_VERSION, RULE, [], 0.02, {"2": 0.3, "3": 0.3, "1": 0.5}, {}, 0)),
        "index": (indexed, {"format": "edgeship-vocabularies/1", "fields": []},
                  Fallback(FALLBACK_VERSION, RULE, [], 0.1, {}, {}, 0)),
    }


@dataclass(frozen=True)
class Case:
    id: str
    group: str
    contract: str
    description: str
    request: dict
    scores: list[float] | None = None
    rules: dict | None = None
    fallback: bool = False  # rank by the contract's fallback.json instead of `scores`


def _feat(price=10.0, rating=0.5, age=-2.5) -> dict:
    return {"price": price, "rating": rating, "age": age}


def _request(items, context=None, timestamp=1_700_000_000, history=(), features=None, attributes=None) -> dict:
    out = {"items": list(items), "features": features if features is not None else [_feat() for _ in items],
           "context": {"city": "berlin", "campaign": "spring", "device": 2} if context is None else context,
           "timestamp": timestamp, "history": list(history)}
    if attributes is not None:
        out["attributes"] = attributes
    return out


def _encode_cases() -> list[Case]:
    c = []

    def add(id_, contract, description, request):
        c.append(Case(id_, "encode", contract, description, request))

    add("full-list", "hashed", "n = k: every context kind, hashed items, history shorter than its length",
        _request(["a", "b", "c", "d"], history=["x", "y"]))
    add("short-list", "hashed", "n < k: padding slots are id 0 and features 0.0",
        _request(["a"], history=[]))
    add("long-history", "hashed", "history longer than its length: the first (most recent) ones kept",
        _request(["a"], history=["h1", "h2", "h3", "h4", "h5"]))
    add("utf8", "hashed", "non-ASCII strings hash their UTF-8 bytes",
        _request(["ß", "日本", "é", ""], context={"city": "münchen", "campaign": "über", "device": 0}))
    for t, what in ((86_399, "the last second of 1970-01-01 UTC (a Thursday)"), (86_400, "the first second of Friday"),
                    (-1, "one second before the epoch: floor, not truncation"), (3_599.9, "a fraction is dropped"),
                    (1_704_067_199, "2023-12-31T23:59:59Z, a Sunday"), (1_704_067_200, "2024-01-01T00:00:00Z, Monday")):
        add(f"time-{t}", "hashed", f"hour and weekday in UTC at {what}", _request(["a"], timestamp=t))
    add("non-string-values", "hashed", "raw values that are not strings: 12 and true read as '12' and 'true', "
        "an integral 2.0 as the index 2", _request(["a"], context={"city": 12, "campaign": True, "device": 2.0}))
    add("integral-float-vocabulary", "hashed", "12.0 reads as '12' (JavaScript writes it so; Python would write 12.0)",
        _request(["a"], context={"city": 12.0, "campaign": 12.0, "device": "04"}))
    add("numeric-item-ids", "hashed", "item ids given as numbers hash as their canonical strings",
        _request([7, 7.0, "7", True]))
    add("unseen-values", "vocabulary", "values outside the vocabularies: the context OOV id 0, the item OOV id 1",
        _request(["sku-1", "never-seen", "7", 7], context={"city": "paris", "campaign": "x", "device": 7},
                 history=["ß", "unknown"]))
    add("clip-and-standardize", "hashed", "(x - mean) * scale, clipped to +-clip where clip is set; rating unclipped",
        _request(["a", "b", "c", "d"], features=[_feat(100.0, 1e6, 40.0), _feat(-50.0, -3.5, -100.0),
                                                 _feat(10.5, 0.0, -2.5), _feat(16.0, 2.25, 1.5)]))
    add("constant-feature-absent", "hashed", "a constant feature needs no raw value (always 0.0)",
        _request(["a"], features=[{"price": 11.0, "rating": 1.0, "age": 0.0}]))
    add("index-items", "index", "index items and a constant-only context",
        _request([0, "5", 99, "042"], context={}, history=[3]))
    return c


def _error_cases() -> list[Case]:
    c = []

    def add(id_, contract, description, request):
        c.append(Case(id_, "errors", contract, description, request))

    add("missing-context", "hashed", "no value for the campaign key", _request(["a"], context={"city": "berlin",
                                                                                                "device": 1}))
    add("null-context", "hashed", "a null context value is missing", _request(["a"], context={
        "city": "berlin", "campaign": None, "device": 1}))
    add("missing-timestamp", "hashed", "time columns need a timestamp", _request(["a"], timestamp=None))
    add("index-with-fraction", "hashed", "'4.0' is not a string of digits", _request(["a"], context={
        "city": "berlin", "campaign": "x", "device": "4.0"}))
    add("index-out-of-range", "hashed", "device 8 with size 8", _request(["a"], context={
        "city": "berlin", "campaign": "x", "device": 8}))
    add("negative-index", "hashed", "device -1", _request(["a"], context={"city": "berlin", "campaign": "x",
                                                                         "device": "-1"}))
    add("index-item-out-of-range", "index", "item 100 with size 100", _request([100], context={}))
    add("missing-feature", "hashed", "a candidate without its rating", _request(["a", "b"], features=[
        _feat(), {"price": 1.0, "age": 0.0}]))
    add("feature-not-a-number", "hashed", "a rating given as a string",
        _request(["a"], features=[{"price": 1.0, "rating": "3", "age": 0.0}]))
    add("length-mismatch", "hashed", "two items, one feature row", _request(["a", "b"], features=[_feat()]))
    add("too-many-for-one-call", "hashed", "k + 1 candidates in one call (candidates.merge splits them)",
        _request(["a", "b", "c", "d", "e"]))
    add("fractional-category", "hashed", "0.5 as a hashed value: no one string form across languages",
        _request(["a"], context={"city": "berlin", "campaign": 0.5, "device": 1}))
    add("list-value", "hashed", "a list is no categorical value", _request(["a"], context={
        "city": ["berlin"], "campaign": "x", "device": 1}))
    return c


def _merge_cases() -> list[Case]:
    scores = [0.5, 1.0, 0.5, -1.0, 1.0, 0.5, 2.0, 0.5, 1.0]
    return [
        Case("two-and-a-bit-calls", "merge", "hashed", "n = 2k + 1: three calls (the last padded), scores merged, "
             "ties in the given order across calls", _request([f"i{j}" for j in range(9)]), scores),
        Case("exactly-k", "merge", "hashed", "n = k: one call", _request(["a", "b", "c", "d"]), [0.0, 0.0, 0.0, 0.1]),
        Case("empty", "merge", "hashed", "n = 0: one call with every slot padded, an empty ranking",
             _request([]), []),
    ]


def _rules_cases() -> list[Case]:
    attrs = [{"brand": "acme", "color": "red"}, {"brand": "acme", "color": "blue"}, {"brand": "zeta", "color": "red"},
             {"brand": "acme", "color": "red"}, {"color": "green"}, {"brand": "zeta", "color": "blue"}]
    items = ["a", "b", "c", "d", "e", "f"]
    feats = [_feat(p) for p in (5.0, 12.0, 20.0, 8.0, 15.0, 30.0)]
    scores = [3.0, 2.5, 2.0, 1.5, 1.0, 0.5]
    req = _request(items, features=feats, attributes=attrs)
    none = {"filter": [], "boost": [], "pin": [], "cap": [], "run": []}

    def rules(**kw):
        return none | kw

    def m(**kw):
        return {"items": [], "attribute": "", "values": [], "feature": "", "min": None, "max": None} | kw

    c = []

    def add(id_, description, r, s=scores, request=req):
        c.append(Case(id_, "rules", "hashed", description, request, s, r))

    add("none", "no rules: by score", rules())
    add("ties", "equal scores keep the given order", rules(), [1.0, 2.0, 1.0, 2.0, 1.0, 2.0])
    add("filter-id", "drop items by id", rules(filter=[{"match": m(items=["b", "e"]), "when": {}}]))
    add("numeric-ids-match", "an item id given as a number matches its canonical string in `items`",
        rules(filter=[{"match": m(items=["7", "true"]), "when": {}}]),
        request=_request([7.0, "x", True], features=[_feat()] * 3), s=[1.0, 2.0, 3.0])
    add("filter-attribute-when-holds", "drop brand zeta when the city is berlin",
        rules(filter=[{"match": m(attribute="brand", values=["zeta"]), "when": {"city": ["berlin"]}}]))
    add("filter-when-fails", "the same filter in another city does nothing",
        rules(filter=[{"match": m(attribute="brand", values=["zeta"]), "when": {"city": ["paris"]}}]))
    add("filter-when-time", "when on the hour made from the timestamp (22 UTC)",
        rules(filter=[{"match": m(items=["a"]), "when": {"hour": ["22"]}}]))
    add("filter-feature-range", "drop raw prices in [8, 15] (bounds included)",
        rules(filter=[{"match": m(feature="price", min=8.0, max=15.0), "when": {}}]))
    add("missing-attribute", "a candidate without the attribute never matches",
        rules(filter=[{"match": m(attribute="brand", values=["acme", "zeta"]), "when": {}}]))
    add("boost-and-demote", "boosts add in the listed order; a negative one demotes",
        rules(boost=[{"match": m(attribute="color", values=["blue"]), "by": 1.2, "when": {}},
                     {"match": m(items=["a"]), "by": -2.0, "when": {}}]))
    add("boost-float64", "0.1 + 0.2 > 0.3 in float64 (float32 would tie): boosts are summed in float64",
        rules(boost=[{"match": m(items=["b"]), "by": 0.1, "when": {}}, {"match": m(items=["b"]), "by": 0.2, "when": {}},
                     {"match": m(items=["a"]), "by": 0.3, "when": {}}]), [0.0, 0.0, -9.0, -9.0, -9.0, -9.0])
    add("pin", "the best green item into the top 2", rules(pin=[{"match": m(attribute="color", values=["green"]),
                                                                 "within": 2}]))
    add("pin-already-high", "a pin whose candidate ranks inside `within` stays where it is",
        rules(pin=[{"match": m(items=["b"]), "within": 4}]))
    add("two-pins-no-free-slot", "the second pin wants slot 0, taken by the first; it takes the nearest free slot "
        "above its own, or none: then it is not pinned and fill places it",
        rules(pin=[{"match": m(items=["f"]), "within": 1}, {"match": m(items=["e"]), "within": 1}]))
    add("cap", "at most 1 acme in the top 3", rules(cap=[{"attribute": "brand", "max": 1, "within": 3}]))
    add("run", "no two reds in a row in the top 5", rules(run=[{"attribute": "color", "max": 1, "within": 5}]))
    add("cap-every-one-breaks", "a cap nobody can keep: the best-ranked remaining one fills the slot",
        rules(cap=[{"attribute": "brand", "max": 1, "within": 6}]),
        request=_request(["a", "b", "c"], features=[_feat()] * 3, attributes=[{"brand": "x"}] * 3), s=[1.0, 2.0, 3.0])
    add("everything", "filter, boost, pin, cap and run together",
        rules(filter=[{"match": m(items=["d"]), "when": {}}],
              boost=[{"match": m(attribute="brand", values=["zeta"]), "by": 0.75, "when": {"city": ["berlin"]}}],
              pin=[{"match": m(attribute="color", values=["green"]), "within": 1}],
              cap=[{"attribute": "brand", "max": 1, "within": 3}], run=[{"attribute": "color", "max": 1, "within": 4}]))
    return c


def _fallback_cases() -> list[Case]:
    return [
        Case("segment-item-global", "fallback", "hashed", "a segment's rate, else the item's, else the global rate, "
             "as logits; the rates clamped to [1e-6, 1 - 1e-6]",
             _request(["z", "x", "y", "never", "w"], timestamp=3600 * 13), None, None, True),
        Case("other-segment", "fallback", "hashed", "the same items at 3 UTC: no segment rates there; a rate of 1 "
             "clamped to 1 - 1e-6", _request(["z", "x", "y", "never", "w"], timestamp=3600 * 3), None, None, True),
        Case("no-segments", "fallback", "vocabulary", "a table without segments; equal rates keep the given order",
             _request(["sku-2", "sku-1", "nope", "7"], context={"city": "berlin", "campaign": "x", "device": 1}),
             None, None, True),
    ]


def cases() -> list[Case]:
    return _encode_cases() + _error_cases() + _merge_cases() + _rules_cases() + _fallback_cases()


def _tensors(t: dict[str, np.ndarray]) -> dict:
    return {name: value[0].tolist() for name, value in t.items()}


def expect(case: Case, made: dict[str, tuple[Contract, dict, Fallback]]) -> dict:
    """What the Python reference makes of a case: {calls, order} / {scores, order} / {error, field}."""
    contract, vocabularies, table = made[case.contract]
    encoder = RawEncoder(contract, vocabularies)
    request = RawRequest.from_json(case.request)
    try:
        if case.group == "encode" or case.group == "errors":
            return {"calls": [_tensors(encoder.encode(request))]}
        if case.group == "merge":
            calls = [_tensors(encoder.encode(r)) for r in encoder.calls(request)]
            return {"calls": calls, "order": ranked(np.asarray(case.scores, np.float64), request.items)}
        if case.group == "fallback":
            from edgeship.ondevice.fallback import rates

            context = [encoder.context_id(c, request) for c in contract.context]  # any n: no model call
            r = rates(table, np.asarray(context), np.asarray([encoder.item_id(i) for i in request.items]))
            scores = rules_mod.rate_logits(r)
            order = rules_mod.apply(RuleSet(), scores, rules_mod.from_raw(contract, request))
            return {"scores": [float(s) for s in scores], "order": [request.items[i] for i in order]}
        ruleset = typed.load(RuleSet, case.rules, f"case {case.id}", toml=False)
        order = rules_mod.apply(ruleset, case.scores, rules_mod.from_raw(contract, request))
        return {"order": [request.items[i] for i in order]}
    except ContractError as e:
        assert e.code in ERRORS
        return {"error": e.code, "field": e.field}


def document() -> dict:
    made = contracts()
    return {"format": FORMAT, "contract_version": 2,
            "about": "Each case: a raw request against contracts/<contract>/ (features.json, vocabularies.json, "
                     "fallback.json), and what a client must produce: `calls` (the tensors of each call, batch "
                     "dimension dropped), `order` (item ids best first after rules.json's rules, or after the merge "
                     "of `scores`), `scores` (fallback.json's logits), or `error` with `field` (features.json's "
                     "error codes). Float tensors compare within 1e-6; everything else exactly.",
            "cases": [{**typed.dump(c), "expect": expect(c, made)} for c in cases()]}


def write(folder: Path = HERE) -> list[Path]:
    from edgeship.core.files import write_json

    written = []
    for name, (contract, vocabularies, table) in contracts().items():
        for file, doc in (("features.json", typed.dump(contract)), (VOCABULARIES, vocabularies),
                          ("fallback.json", typed.dump(table))):
            path = folder / "contracts" / name / file
            path.parent.mkdir(parents=True, exist_ok=True)
            write_json(path, doc)
            written.append(path)
    write_json(folder / "cases.json", document())
    return written + [folder / "cases.json"]


def read() -> dict:
    return json.loads(CASES.read_text())
