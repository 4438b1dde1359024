"""The impression log an app writes (JSON Lines, one event per line; schemas/impressions.schema.json), read back
checked: one line naming the file, line and field for anything else.

    {"event": "request", "request_id": "r1", "user": "u17", "arm": "treatment", "bucket": 0.0731,
     "model_version": "1.4.0", "policy": "model", "epsilon": 0.1, "slots": 3, "timestamp": 1764720000.0,
     "latency_ms": 2.1, "error": null}
    {"event": "impression", "request_id": "r1", "position": 0, "item": "sku-9", "propensity": 0.7333,
     "explored": false}
    {"event": "tap", "request_id": "r1", "item": "sku-9", "timestamp": 1764720004.2}

`policy` says what ranked the request: the release's model, fallback.json, or the given order; `error` the
client's error code when it fell back (null otherwise); `request` (optional) the raw request as ranked, which
`edgeship evaluate` ranks again; `shadow` (optional) a candidate model's version and top items in shadow mode,
never shown, so never impressions. A tap counts for the impression of the same request and item.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..core.errors import InputError
from .contract import RawRequest

EVENTS = ("request", "impression", "tap")
POLICIES = ("model", "fallback", "given")


@dataclass(frozen=True)
class ShadowRecord:
    """Shadow mode: what a candidate model would have shown for the same request (scored, never shown)."""

    model_version: str | None
    items: list[str] = field(metadata={"doc": "its top items (as many as the slate), best first"})


@dataclass(frozen=True)
class RequestEvent:
    request_id: str
    user: str
    arm: str
    policy: str = field(metadata={"doc": "what ranked it: model, fallback (fallback.json) or given (the app's order)"})
    timestamp: float
    bucket: float | None = field(default=None, metadata={
        "doc": "the user's rollout bucket, bucket(user, salt) in [0, 1), under the newest installed release's salt: "
               "what put the user in this arm"})
    model_version: str | None = None
    epsilon: float | None = None
    slots: int | None = None
    latency_ms: float | None = None
    error: str | None = field(default=None, metadata={"doc": "the client's error code when it did not use the model"})
    request: RawRequest | None = field(default=None, metadata={
        "doc": "the raw request the app ranked (what `edgeship evaluate` ranks again)"})
    shadow: ShadowRecord | None = None
    event: str = "request"


@dataclass(frozen=True)
class ImpressionEvent:
    request_id: str
    position: int = field(metadata={"doc": "0-based"})
    item: str = field(metadata={"doc": "the item id as a string (a number in the canonical form: 12, not 12.0)"})
    propensity: float = field(metadata={"doc": "P(this item at this position) under the policy that chose it"})
    explored: bool = False
    event: str = "impression"


@dataclass(frozen=True)
class TapEvent:
    request_id: str
    item: str
    timestamp: float | None = None
    event: str = "tap"


EVENT_RECORDS = {"request": RequestEvent, "impression": ImpressionEvent, "tap": TapEvent}


@dataclass(frozen=True)
class ImpressionLog:
    """Per request (in the log's order): user, arm, policy, error, latency; per impression: its request's index,
    position, propensity, and whether it was tapped."""

    request_ids: list[str]  # [requests]
    raw: list[RawRequest | None]  # [requests] the raw request, where the event carries one
    users: np.ndarray  # [requests] str
    arms: np.ndarray  # [requests] str
    policies: np.ndarray  # [requests] str
    errors: np.ndarray  # [requests] bool
    latency_ms: np.ndarray  # [requests] float, NaN where not logged
    request: np.ndarray  # [impressions] int
    position: np.ndarray  # [impressions] int
    propensity: np.ndarray  # [impressions] float
    item: list[str]  # [impressions] the shown item
    tapped: np.ndarray  # [impressions] bool


def events(request_id: str, user: str, arm: str, policy: str, timestamp: float, items: list, slate,
           model_version: str | None = None, epsilon: float | None = None, latency_ms: float | None = None,
           error: str | None = None, request: dict | None = None, shadow: tuple[str | None, list] | None = None,
           bucket: float | None = None) -> list[dict]:
    """The events a client logs for one ranked request: the request, then one impression per shown item
    (slate: edgeship.ondevice.exploration.Slate over `items`); taps follow later (tap()). shadow: in shadow mode,
    the candidate model's version and ranking of the same request, logged beside what was shown."""
    from ..models.features import canonical

    head = {"event": "request", "request_id": request_id, "user": user, "arm": arm, "bucket": bucket,
            "policy": policy, "timestamp": timestamp, "model_version": model_version, "epsilon": epsilon,
            "slots": len(slate.shown), "latency_ms": latency_ms, "error": error}
    if request is not None:
        head["request"] = request
    if shadow is not None:  # (the candidate's model version, its ranked items): its top items, never shown
        head["shadow"] = {"model_version": shadow[0], "items": [canonical(i) for i in shadow[1][:len(slate.shown)]]}
    return [head] + [{"event": "impression", "request_id": request_id, "position": k, "item": canonical(items[i]),
                      "propensity": p, "explored": slate.explored}
                     for k, (i, p) in enumerate(zip(slate.shown, slate.propensities))]


def tap(request_id: str, item, timestamp: float | None = None) -> dict:
    from ..models.features import canonical

    return {"event": "tap", "request_id": request_id, "item": canonical(item), "timestamp": timestamp}


def candidates(log: ImpressionLog, path: Path, needed_by: str) -> list[list[str]]:
    """Each request's candidate ids (canonical), for the readers that rank the logged requests again (`edgeship
    evaluate`, `edgeship train`): every request event carries its raw request, and every impression shows one of
    its request's candidates at a position it has; else one line naming the first request that does not."""
    from ..models.features import canonical

    for rid, raw in zip(log.request_ids, log.raw):
        if raw is None:
            raise InputError(f"{path}: request {rid!r} has no `request` (the raw request the app ranked): "
                             f"{needed_by}")
    ids = [[canonical(v) for v in raw.items] for raw in log.raw]
    for r, k, item in zip(log.request, log.position, log.item):
        if item not in ids[r]:
            raise InputError(f"{path}: request {log.request_ids[r]!r}: the shown item {item!r} is not among its "
                             f"{len(ids[r])} candidates")
        if k >= len(ids[r]):
            raise InputError(f"{path}: request {log.request_ids[r]!r}: position {k} is beyond its {len(ids[r])} "
                             "candidates")
    return ids


def _need(event: dict, name: str, kinds: tuple, where: str, optional: bool = False):
    value = event.get(name)
    if value is None and optional:
        return None
    if isinstance(value, bool) and bool not in kinds or not isinstance(value, kinds):
        expected = " or ".join(k.__name__ for k in kinds)
        raise InputError(f"{where}: {name}: expected {expected}, got {json.dumps(value)}")
    return value


def read(path: Path) -> ImpressionLog:
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: impression log not found")
    requests: dict[str, tuple] = {}
    impressions: list[tuple] = []
    taps: set[tuple[str, str]] = set()
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            where = f"{path}: line {number}"
            if not line.strip():
                continue
            try:
                event = json.loads(line)
            except json.JSONDecodeError as e:
                raise InputError(f"{where}: not JSON ({e.msg})") from None
            if not isinstance(event, dict) or event.get("event") not in EVENTS:
                raise InputError(f"{where}: event: expected one of {', '.join(EVENTS)}")
            rid = _need(event, "request_id", (str,), where)
            if event["event"] == "request":
                policy = _need(event, "policy", (str,), where)
                if policy not in POLICIES:
                    raise InputError(f"{where}: policy: expected one of {', '.join(POLICIES)}, got {policy!r}")
                if rid in requests:
                    raise InputError(f"{where}: request_id {rid!r} logged twice")
                latency = _need(event, "latency_ms", (int, float), where, optional=True)
                bucket = _need(event, "bucket", (int, float), where, optional=True)
                if bucket is not None and not 0 <= bucket < 1:
                    raise InputError(f"{where}: bucket: expected a number in [0, 1), got {bucket}")
                raw = _need(event, "request", (dict,), where, optional=True)
                if raw is not None and (not isinstance(raw.get("items"), list) or not isinstance(
                        raw.get("features", []), list) or not isinstance(raw.get("context", {}), dict)):
                    raise InputError(f"{where}: request: expected items (a list), features (a list) and context "
                                     "(an object)")
                requests[rid] = (_need(event, "user", (str,), where), _need(event, "arm", (str,), where), policy,
                                 _need(event, "error", (str,), where, optional=True) is not None,
                                 np.nan if latency is None else float(latency),
                                 None if raw is None else RawRequest.from_json(raw))
            elif event["event"] == "impression":
                p = _need(event, "propensity", (int, float), where)
                if not 0 < p <= 1:
                    raise InputError(f"{where}: propensity: expected a probability in (0, 1], got {p}")
                position = _need(event, "position", (int,), where)
                if position < 0:
                    raise InputError(f"{where}: position: expected a whole number >= 0, got {position}")
                impressions.append((rid, position, float(p), str(_need(event, "item", (str, int), where)), number))
            else:
                taps.add((rid, str(_need(event, "item", (str, int), where))))
    ids = {rid: i for i, rid in enumerate(requests)}
    for rid, _, _, _, number in impressions:
        if rid not in ids:
            raise InputError(f"{path}: line {number}: request_id {rid!r}: an impression of a request the log does "
                             "not hold")
    shown = {(rid, item) for rid, _, _, item, _ in impressions}
    orphans = sorted(taps - shown)
    if orphans:
        raise InputError(f"{path}: a tap on {orphans[0][1]!r} in request {orphans[0][0]!r}, which shows no such item")
    rows = list(requests.values())
    return ImpressionLog(
        request_ids=list(requests), raw=[r[5] for r in rows], users=np.array([r[0] for r in rows], dtype=object),
        arms=np.array([r[1] for r in rows], dtype=object),
        policies=np.array([r[2] for r in rows], dtype=object), errors=np.array([r[3] for r in rows], dtype=bool),
        latency_ms=np.array([r[4] for r in rows], dtype=np.float64),
        request=np.array([ids[i[0]] for i in impressions], dtype=np.int64),
        position=np.array([i[1] for i in impressions], dtype=np.int64),
        propensity=np.array([i[2] for i in impressions], dtype=np.float64),
        item=[i[3] for i in impressions], tapped=np.array([(i[0], i[3]) in taps for i in impressions], dtype=bool))
