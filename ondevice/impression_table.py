"""`edgeship train --data app.jsonl`: the app's impression log (edgeship.ondevice.impressions) as a training table
and the schema it implies, so that nobody writes a schema TOML for the log edgeship's own clients write.

One row per impression (what was shown: never the candidates that were not, whose label no user gave): the
request's context values and timestamp, the shown item, its raw numeric features, the user's history, whether it
was tapped, and the logging fields (position, propensity, the request's candidates). Context keys and feature
names stay the columns' names, so the trained bundle's contract reads the same raw requests the app logged; the
table's own columns start with "_", and a log whose context or features use such a name is refused.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..core.errors import InputError
from ..models.schema import LogSchema

REQUEST, USER, ITEM, TAP, POSITION, PROPENSITY, CANDIDATES, HISTORY, TIMESTAMP = (
    "_request", "_user", "_item", "_tap", "_position", "_propensity", "_candidates", "_history", "_timestamp")
SEPARATORS = ("|", "\x1f")  # history and candidate lists in one column: the first no item id holds


def table(path: Path) -> tuple[pd.DataFrame, LogSchema]:
    from .impressions import candidates, read
    from ..models.features import canonical

    log = read(path)
    ids = candidates(log, path, "training on the impression log needs it in every request event")
    if not len(log.request):
        raise InputError(f"{path}: no impressions to train on")
    first = log.raw[log.request[0]]
    context_keys = sorted({k for raw in log.raw for k in raw.context})
    feature_names = list(first.features[0]) if first.features else []
    both = sorted(set(context_keys) & set(feature_names))
    if both:
        raise InputError(f"{path}: {both[0]!r} is both a context key and a feature name: a table has one column of "
                         "each name")
    for name in context_keys + feature_names:
        if name.startswith("_"):
            raise InputError(f"{path}: a context key or feature named {name!r}: names starting with \"_\" are the "
                             "training table's own")
    every = {i for row in ids for i in row} | {canonical(h) for raw in log.raw for h in raw.history}
    separator = next((s for s in SEPARATORS if not any(s in i for i in every)), None)
    if separator is None:
        raise InputError(f"{path}: item ids hold both '|' and '\\x1f': no separator is left for lists of them")
    rows: dict[str, list] = {c: [] for c in (REQUEST, USER, ITEM, TAP, POSITION, PROPENSITY, CANDIDATES, HISTORY,
                                              TIMESTAMP, *context_keys, *feature_names)}
    for n, (r, item) in enumerate(zip(log.request, log.item)):
        raw, items = log.raw[r], ids[r]
        features = raw.features[items.index(item)] if raw.features else {}
        if set(features) != set(feature_names):
            raise InputError(f"{path}: request {log.request_ids[r]!r}: item {item!r} has the features "
                             f"{sorted(features)}, the log's first request {sorted(feature_names)}")
        rows[REQUEST].append(log.request_ids[r])
        rows[USER].append(str(log.users[r]))
        rows[ITEM].append(item)
        rows[TAP].append(int(log.tapped[n]))
        rows[POSITION].append(int(log.position[n]))
        rows[PROPENSITY].append(float(log.propensity[n]))
        rows[CANDIDATES].append(separator.join(items))
        rows[HISTORY].append(separator.join(canonical(h) for h in raw.history))
        rows[TIMESTAMP].append(np.nan if raw.timestamp is None else float(raw.timestamp))
        for key in context_keys:
            value = raw.context.get(key)
            rows[key].append(None if value is None else canonical(value))
        for name in feature_names:
            rows[name].append(float(features[name]))
    frame = pd.DataFrame(rows)
    timed = bool(frame[TIMESTAMP].notna().any())
    if not timed:
        frame = frame.drop(columns=[TIMESTAMP])
    schema = LogSchema(item=ITEM, label=TAP, group_by=(REQUEST,), timestamp=TIMESTAMP if timed else None,
                       context=tuple(context_keys), numeric=tuple(feature_names), item_features=tuple(feature_names),
                       history=HISTORY if any(frame[HISTORY]) else None, history_separator=separator,
                       propensity=PROPENSITY, position=POSITION, first_position=0, candidates=CANDIDATES)
    return frame, schema


def to_parquet(path: Path, folder: Path) -> tuple[Path, LogSchema, int]:
    """The table written as one Parquet file in `folder` (which the caller owns), its schema, and the most
    candidates a logged request held (what the app ranks per call: the bundle's K, not the slate's length)."""
    frame, schema = table(path)
    out = folder / f"{path.stem}.parquet"
    frame.to_parquet(out, index=False)
    return out, schema, int(frame[CANDIDATES].str.split(schema.history_separator, regex=False).str.len().max())
