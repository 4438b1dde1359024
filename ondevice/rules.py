"""rules.json: business rules applied on top of a ranking (the model's, or fallback.json's), as data an app
applies with the same semantics as this engine (the client libraries in clients/ do; the conformance suite and
the raw test vectors check it).

Five kinds, applied in this fixed order (ORDER says it in words, and is written into rules.json):
  1. filter  drop every candidate a filter matches, when its context condition holds
  2. boost   add `by` to the score of every candidate a boost matches (negative: a demotion)
  3. sort    by score, highest first; equal scores keep the given order
  4. pin     for each pin in the listed order: its best-ranked matching candidate not pinned yet is fixed at
             slot min(its position, within - 1), or at the nearest free slot above that
  5. fill    every other slot, top down, takes the best-ranked remaining candidate that breaks no cap and no
             run at that slot, or the best-ranked remaining one when every one would
Caps ("at most `max` items of one attribute value in the top `within`") and runs ("at most `max` in a row in
the top `within`") count the candidates placed above the slot and the pinned ones below it. Scores are the
model's logits; fallback.json's rate r is ranked as log(r / (1 - r)), so a boost means the same on both.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..core.errors import ConfigError
from ..models.data import Requests
from ..models.encoding import INDEX, TIME, VOCABULARY
from ..models.features import canonical
from ..models.metrics import ndcg_of_orders
from .contract import CONSTANT, Contract, RawRequest, time_id

RULES = "rules.json"
RULES_VERSION = 1
ORDER = ("1 filter: drop each candidate a filter matches whose `when` holds; 2 boost: add `by` of each boost "
         "whose `when` holds and that matches; 3 sort by score, highest first, equal scores in the given order; "
         "4 pin, in the listed order: the best-ranked matching candidate not yet pinned is fixed at slot "
         "min(its position, within - 1), or the nearest free slot above it; 5 fill every other slot top down "
         "with the best-ranked remaining candidate that breaks no cap and no run there (counting the candidates "
         "above the slot and the pinned ones below it), or with the best-ranked remaining one if every one would")
SCORE = ("the model's score (a logit); fallback.json's rate r is ranked as log(r / (1 - r)), with r clamped "
         "to [1e-6, 1 - 1e-6]")
MATCH = ("every part given must hold: `items` (the item id is one of them), `attribute` with `values` (the "
         "candidate's attribute has one of these values), `feature` with `min` and/or `max` (the candidate's raw "
         "numeric feature lies in [min, max]); a candidate without the attribute or feature does not match")
WHEN = ("context column name -> raw values: every column listed must hold one of its values (hour and weekday "
        "made from a timestamp: their decimal number); empty: always")


@dataclass(frozen=True)
class Match:
    """Which candidates a rule is about; every part given must hold."""

    items: list[str] = field(default_factory=list, metadata={"doc": "item ids"})
    attribute: str = field(default="", metadata={"doc": "an item attribute's name (with values)"})
    values: list[str] = field(default_factory=list, metadata={"doc": "the attribute's values that match"})
    feature: str = field(default="", metadata={"doc": "a raw numeric candidate feature's name (with min, max)"})
    min: float | None = None
    max: float | None = None


@dataclass(frozen=True)
class Filter:
    match: Match
    when: dict[str, list[str]] = field(default_factory=dict, metadata={"doc": WHEN})


@dataclass(frozen=True)
class Boost:
    match: Match
    by: float = field(metadata={"doc": "added to the score; negative demotes"})
    when: dict[str, list[str]] = field(default_factory=dict, metadata={"doc": WHEN})


@dataclass(frozen=True)
class Pin:
    match: Match
    within: int = field(metadata={"min": 1, "doc": "a matching candidate is in the top `within`"})


@dataclass(frozen=True)
class Cap:
    attribute: str
    max: int = field(metadata={"min": 1})
    within: int = field(metadata={"min": 1, "doc": "at most `max` candidates of one value in the top `within`"})


@dataclass(frozen=True)
class Run:
    attribute: str
    max: int = field(metadata={"min": 1, "doc": "at most `max` candidates of one value in a row ..."})
    within: int = field(metadata={"min": 1, "doc": "... in the top `within`"})


@dataclass(frozen=True)
class RuleSet:
    """The run config's [rules]: TOML arrays of tables [[rules.filter]], [[rules.boost]], [[rules.pin]], ..."""

    filter: list[Filter] = field(default_factory=list)
    boost: list[Boost] = field(default_factory=list)
    pin: list[Pin] = field(default_factory=list)
    cap: list[Cap] = field(default_factory=list)
    run: list[Run] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.filter or self.boost or self.pin or self.cap or self.run)

    def count(self) -> int:
        return len(self.filter) + len(self.boost) + len(self.pin) + len(self.cap) + len(self.run)


@dataclass(frozen=True)
class RulesFile:
    """rules.json: the rules an app applies to every ranking, the model's and fallback.json's."""

    schema_version: int = field(metadata={"choices": (RULES_VERSION,)})
    order: str
    score: str
    match: str
    rules: RuleSet


def rules_file(rules: RuleSet) -> RulesFile:
    return RulesFile(RULES_VERSION, ORDER, SCORE, MATCH, rules)


@dataclass(frozen=True)
class Candidates:
    """One request as the rules see it: per candidate its id, raw numeric features and attributes, and the
    request's context by column name (raw values as strings; None where unknown)."""

    items: list[str | None]
    features: list[dict[str, float]]
    attributes: list[dict[str, str]]
    context: dict[str, str | None]


# --- checks --------------------------------------------------------------------------------------------------

def check(rules: RuleSet, where: str) -> RuleSet:
    """What can be checked without the data: each rule's shape, and a pin that a filter always removes."""
    for kind in ("filter", "boost", "pin"):
        for i, rule in enumerate(getattr(rules, kind)):
            _check_match(rule.match, f"{where}: [[rules.{kind}]] #{i + 1} match")
    for i, pin in enumerate(rules.pin):
        for j, f in enumerate(rules.filter):
            if not f.when and _covers(f.match, pin.match):
                raise ConfigError(f"{where}: [[rules.pin]] #{i + 1} pins items that [[rules.filter]] #{j + 1} always "
                                  "removes (the filter applies first): drop one or narrow it")
    return rules


def _check_match(m: Match, at: str) -> None:
    if not (m.items or m.attribute or m.feature):
        raise ConfigError(f"{at}: expected at least one of items, attribute, feature")
    if bool(m.attribute) != bool(m.values):
        raise ConfigError(f"{at}: attribute and values go together")
    if (m.min is not None or m.max is not None) and not m.feature:
        raise ConfigError(f"{at}: min and max need a feature")
    if m.feature and m.min is None and m.max is None:
        raise ConfigError(f"{at}: feature {m.feature!r} needs min and/or max")
    if m.min is not None and m.max is not None and m.min > m.max:
        raise ConfigError(f"{at}: min {m.min} is above max {m.max}")


def _covers(outer: Match, inner: Match) -> bool:
    """Whether every candidate `inner` matches is matched by `outer` (judged from the rules alone)."""
    if outer.items and not (inner.items and set(inner.items) <= set(outer.items)):
        return False
    if outer.attribute and not (inner.attribute == outer.attribute and set(inner.values) <= set(outer.values)):
        return False
    if outer.feature:
        if inner.feature != outer.feature:
            return False
        lo_in, hi_in = _bounds(inner)
        lo_out, hi_out = _bounds(outer)
        if not (lo_out <= lo_in and hi_in <= hi_out):
            return False
    return True


def _bounds(m: Match) -> tuple[float, float]:
    return (-math.inf if m.min is None else m.min), (math.inf if m.max is None else m.max)


def check_names(rules: RuleSet, where: str, features: list[str], attributes: list[str], context: list[str]) -> None:
    """The names the rules use exist in the data: features and context columns of the contract, attributes
    the data describes its items with."""
    def named(kind: str, i: int, what: str, name: str, known: list[str]) -> None:
        if name and name not in known:
            raise ConfigError(f"{where}: [[rules.{kind}]] #{i + 1} {what} {name!r}: expected one of "
                              f"{', '.join(known) or '(none: this data has none)'}")

    for kind in ("filter", "boost", "pin"):
        for i, rule in enumerate(getattr(rules, kind)):
            named(kind, i, "feature", rule.match.feature, features)
            named(kind, i, "attribute", rule.match.attribute, attributes)
            for column in getattr(rule, "when", {}):
                named(kind, i, "when", column, context)
    for kind in ("cap", "run"):
        for i, rule in enumerate(getattr(rules, kind)):
            named(kind, i, "attribute", rule.attribute, attributes)


# --- the engine ----------------------------------------------------------------------------------------------

def _matches(m: Match, c: Candidates, i: int) -> bool:
    if m.items and c.items[i] not in m.items:
        return False
    if m.attribute and c.attributes[i].get(m.attribute) not in m.values:
        return False
    if m.feature:
        x = c.features[i].get(m.feature)
        if x is None or (m.min is not None and x < m.min) or (m.max is not None and x > m.max):
            return False
    return True


def _holds(when: dict[str, list[str]], c: Candidates) -> bool:
    return all(c.context.get(column) in values for column, values in when.items())


def apply(rules: RuleSet, scores, c: Candidates) -> list[int]:
    """The candidates' indices in the order the rules give (filtered ones left out); scores: one per candidate."""
    n = len(c.items)
    scores = [float(s) for s in np.asarray(scores, dtype=np.float64).ravel()[:n]]
    filters = [f for f in rules.filter if _holds(f.when, c)]
    kept = [i for i in range(n) if not any(_matches(f.match, c, i) for f in filters)]
    boosts = [b for b in rules.boost if _holds(b.when, c)]
    score = {}
    for i in kept:  # boosts added one at a time, in the listed order: every platform sums them the same way
        score[i] = scores[i]
        for b in boosts:
            if _matches(b.match, c, i):
                score[i] += b.by
    order = sorted(kept, key=lambda i: -score[i])  # stable: equal scores keep the given order
    slots: list[int | None] = [None] * len(order)
    pinned: set[int] = set()
    for pin in rules.pin:
        best = next((p for p, i in enumerate(order) if i not in pinned and _matches(pin.match, c, i)), None)
        if best is None:
            continue
        slot = next((s for s in range(min(best, pin.within - 1), -1, -1) if slots[s] is None), None)
        if slot is not None:
            slots[slot] = order[best]
            pinned.add(order[best])
    remaining = [i for i in order if i not in pinned]
    for s in range(len(slots)):
        if slots[s] is None:
            pick = next((i for i in remaining if _fits(rules, c, slots, s, i)), remaining[0])
            slots[s] = pick
            remaining.remove(pick)
    return slots  # type: ignore[return-value]


def _fits(rules: RuleSet, c: Candidates, slots: list, s: int, i: int) -> bool:
    """Whether candidate i at slot s keeps every cap and run, counting the candidates above the slot and the
    pinned ones below it (they will be there whatever fills the slot)."""
    def value(j, name):
        return None if j is None else c.attributes[j].get(name)

    for cap in rules.cap:
        v = c.attributes[i].get(cap.attribute)
        if v is not None and s < cap.within and \
                sum(value(j, cap.attribute) == v for j in slots[:cap.within] if j is not None) >= cap.max:
            return False
    for run in rules.run:
        v = c.attributes[i].get(run.attribute)
        if v is None or s >= run.within:
            continue
        above = next((k for k in range(s - 1, -1, -1) if value(slots[k], run.attribute) != v), -1)
        below = next((k for k in range(s + 1, min(len(slots), run.within)) if value(slots[k], run.attribute) != v),
                     min(len(slots), run.within))
        if below - above - 1 > run.max:
            return False
    return True


def fallback_score(rate: float) -> float:
    r = min(max(rate, 1e-6), 1 - 1e-6)
    return math.log(r / (1 - r))


def rate_logits(rates) -> list[float]:
    """fallback.json's rates as the scores the rules add to (math.log per rate, as every platform computes it)."""
    return [fallback_score(float(r)) for r in np.asarray(rates).ravel()]


# --- what a ranking breaks -----------------------------------------------------------------------------------

KINDS = ("filter", "pin", "cap", "run")


def violations(rules: RuleSet, order: list[int], c: Candidates) -> set[str]:
    """The kinds of rule a ranked list (candidate indices, best first) breaks: a filtered candidate shown, a pin
    with a matching candidate shown but none in its top `within`, a cap or a run exceeded."""
    broken = set()
    filters = [f for f in rules.filter if _holds(f.when, c)]
    if any(_matches(f.match, c, i) for f in filters for i in order):
        broken.add("filter")
    for pin in rules.pin:
        shown = [p for p, i in enumerate(order) if _matches(pin.match, c, i)]
        if shown and shown[0] >= pin.within:
            broken.add("pin")
    for cap in rules.cap:
        values = [c.attributes[i].get(cap.attribute) for i in order[:cap.within]]
        if any(values.count(v) > cap.max for v in set(values) if v is not None):
            broken.add("cap")
    for run in rules.run:
        values = [c.attributes[i].get(run.attribute) for i in order[:run.within]]
        streak = 0
        for p, v in enumerate(values):
            streak = streak + 1 if v is not None and p > 0 and v == values[p - 1] else 1
            if v is not None and streak > run.max:
                broken.add("run")
    return broken


# --- the candidates a request holds, as the rules see them -----------------------------------------------------

def from_raw(contract: Contract, request: RawRequest) -> Candidates:
    """An app's request: its own ids, raw features and attributes; context values by column name."""
    context: dict[str, str | None] = {}
    for col in contract.context:
        if col.kind == TIME:
            context[col.name] = None if request.timestamp is None else str(time_id(col.name, request.timestamp))
        elif col.kind != CONSTANT:
            value = request.context.get(col.source)
            context[col.name] = None if value is None else canonical(value)
    n = len(request.items)
    return Candidates([canonical(i) for i in request.items], list(request.features),
                      list(request.attributes) if request.attributes else [{} for _ in range(n)], context)


def from_requests(contract: Contract, vocabularies: dict, requests: Requests,
                  attributes: Callable[[np.ndarray], list[dict[str, str]]] | None) -> list[Candidates]:
    """Test lists (model ids, standardized features) back to what an app held, where the contract can say:
    vocabulary values and index ids exactly, hashed values not at all (None: no rule on them matches)."""
    values = {f["name"]: f.get("values", []) for f in vocabularies["fields"]}

    def raw(vocab, id_: int) -> str | None:
        if vocab is None:
            return None
        j = id_ - vocab.first
        return values[vocab.field][j] if 0 <= j < vocab.count else None

    def context_value(col, id_: int) -> str | None:
        if col.kind in (TIME, INDEX):
            return str(id_)
        return raw(col.vocabulary, id_) if col.kind == VOCABULARY else None

    item = contract.items
    numeric = [f for f in contract.candidate_features if not f.constant]
    out = []
    for r in range(len(requests)):
        n = int(requests.mask[r].sum()) if requests.mask is not None else requests.candidates.shape[1]
        ids = requests.candidates[r, :n]
        z = requests.candidate_features[r, :n]
        items = ([raw(item.vocabulary, int(i)) for i in ids] if item.kind == VOCABULARY
                 else [str(int(i)) for i in ids] if item.kind == INDEX else [None] * n)
        features = [{f.name: float(f.mean + z[s, f.index] / f.scale) for f in numeric} for s in range(n)]
        out.append(Candidates(items, features, attributes(z) if attributes else [{} for _ in range(n)],
                              {col.name: context_value(col, int(requests.context[r, col.column]))
                               for col in contract.context if col.kind != CONSTANT}))
    return out


# --- how rankings do under the rules ----------------------------------------------------------------------------

@dataclass(frozen=True)
class RuledRanking:
    """One ranking of the test lists: its NDCG@10 and how many lists break each kind of rule."""

    ndcg_at_10: float
    lists_breaking: dict[str, int] = field(metadata={"doc": "rule kind -> test lists whose ranking breaks it"})


@dataclass(frozen=True)
class RulesRecord:
    """The manifest's account of rules.json: the model alone, the rule baseline, and each with the rules."""

    file: str
    rules: int = field(metadata={"doc": "number of rules (0: rules.json holds none)"})
    lists: int
    model: RuledRanking = field(metadata={"doc": "the model's scores as they are"})
    hybrid: RuledRanking = field(metadata={"doc": "the model's scores, then the rules: what the app shows"})
    rule_baseline: RuledRanking = field(metadata={"doc": "popularity by context segment, no rules"})
    fallback: RuledRanking | None = field(metadata={"doc": "fallback.json, then the rules (when the model cannot run)"})
    notes: list[str] = field(default_factory=list)


def ruled(rules: RuleSet, views: list[Candidates], scores: np.ndarray, labels: np.ndarray,
          with_rules: bool) -> RuledRanking:
    """NDCG@10 of the lists in the order the scores give (then the rules, if with_rules; filtered candidates
    are not shown, so their clicks are lost), and the lists that break each kind."""
    orders, breaking = [], dict.fromkeys(KINDS, 0)
    for r, view in enumerate(views):
        n = len(view.items)
        order = (apply(rules, scores[r], view) if with_rules
                 else [int(i) for i in np.argsort(-np.asarray(scores[r][:n], dtype=np.float64), kind="stable")])
        orders.append(order)
        for kind in violations(rules, order, view):
            breaking[kind] += 1
    return RuledRanking(ndcg_of_orders(orders, labels, 10), breaking)
