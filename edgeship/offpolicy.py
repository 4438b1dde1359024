"""`edgeship evaluate BUNDLE --data LOG --schema SCHEMA`: before a rollout, the click rate the bundle's policies
would have had on traffic already logged, from the logging policy's propensities (models/ope.py), beside the
logging policy's observed rate; and whether the new policy beats the old one by more than the noise.

Each logged row is one impression (an item shown at a position, its click, its propensity). For each row the
bundle ranks the candidate set (the row's own candidates when the schema's `[logging] candidates` names their
column; else every item the bundle's vocabulary knows, plus any item of the log it does not) in the row's
context, as the app would: raw values -> features.json -> the shipped file (in calls of K) ->
scores; `hybrid` adds rules.json, `fallback` is fallback.json under the rules. Request-level numeric columns are
the row's for every candidate; item-level ones (`item_features` in the schema) each item's mean in the log.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from .core import typed
from .core.errors import AlreadyExists, ConfigError, InputError
from .core.files import read_json, write_figure, write_json, write_text
from .core.intervals import Interval, bootstrap
from .models import ope
from .models.features import CANDIDATES, CONTEXT
from .models.schema import LogSchema, load_schema
from .ondevice.contract import RawEncoder, RawRequest
from .ondevice.fallback import FALLBACK, Fallback
from .ondevice.fallback import rates as fallback_rates
from .ondevice.rules import RuleSet

OPE_JSON, OPE_MD = "ope.json", "ope.md"
OPE_VERSION = 1
POLICIES = ("model", "hybrid", "fallback")


@dataclass(frozen=True)
class Comparison:
    """The rollout question: new minus old click rate on the same rows (paired bootstrap)."""

    new: str
    old: str
    estimator: str = field(metadata={"choices": ope.ESTIMATORS})
    difference: Interval
    recommendation: str


@dataclass(frozen=True)
class OpeReport:
    """ope.json: off-policy estimates of each policy's click rate per impression on a logged log."""

    schema_version: int = field(metadata={"choices": (OPE_VERSION,)})
    bundle: str
    file: str = field(metadata={"doc": "the shipped file whose scores are the model's policy"})
    data: str
    rows: int
    clicks: int
    candidates: int = field(metadata={"doc": "items each policy ranks per row (the most, with a candidates column)"})
    positions: int = field(metadata={"doc": "distinct positions in the log"})
    resamples: int
    logging: Interval = field(metadata={"doc": "the logging policy's observed click rate per impression"})
    policies: list[ope.PolicyEstimate]
    comparison: Comparison
    notes: list[str] = field(default_factory=list)


SCHEMAS = {"ope.schema.json": (OpeReport, "edgeship evaluate ope.json: off-policy estimates on a logged log")}


@dataclass
class LoggedRows:
    """The log as the evaluation reads it."""

    frame: pd.DataFrame  # every column the schema names, raw
    item: list[str]
    slot: np.ndarray  # 0-based
    reward: np.ndarray
    propensity: np.ndarray
    timestamp: np.ndarray | None


def read_log(data: Path, schema_path: Path) -> tuple[LogSchema, LoggedRows]:
    """The whole log, checked: the columns the schema names, a click or relevance, a propensity in (0, 1] and a
    position at or after the first one on every row (one line naming file, row and column otherwise)."""
    from .models import logs

    schema = load_schema(schema_path)
    if schema.propensity is None or schema.position is None:
        raise ConfigError(f"{schema_path}: [logging] is required by `edgeship evaluate`: the columns with the "
                          "logging policy's propensity and position of each row")
    files, kind = logs.log_files(data)
    extra = {schema.propensity: "propensity", schema.position: "position"} | (
        {schema.candidates: "candidates"} if schema.candidates else {})
    schema = logs.resolve(schema, files, kind, extra)
    columns = list(dict.fromkeys([*schema.columns(), *extra]))
    parts, rewards, props, slots, times = [], [], [], [], []
    for f, row0, df in logs.chunks(files, kind, columns):
        label = logs.labels(f, row0, df, schema.label)
        p = logs._numeric(f, row0, df, schema.propensity, "propensity")
        pos = logs._numeric(f, row0, df, schema.position, "position")
        bad = np.flatnonzero(~((p > 0) & (p <= 1)) | (pos != np.floor(pos)) | (pos < schema.first_position))
        if len(bad):
            i = int(bad[0])
            col, role, value, expected = (
                (schema.propensity, "propensity", p[i], "a probability in (0, 1]") if not 0 < p[i] <= 1 else
                (schema.position, "position", pos[i], f"a whole number >= {schema.first_position} ([logging] "
                                                       "first_position)"))
            raise logs.LogError(f"{f}: data row {row0 + i + 1}: column {col!r} ({role}): {value}; expected {expected}")
        for c in schema.numeric:
            logs._numeric(f, row0, df, c, "numeric")
        slot = pos.astype(np.int64) - schema.first_position
        if schema.candidates:
            _check_candidates(f, row0, df, schema, slot)
        if schema.timestamp:
            times.append(logs._timestamps(f, row0, df, schema.timestamp))
        parts.append(df)
        rewards.append(label)
        props.append(p)
        slots.append(slot)
    frame = pd.concat(parts, ignore_index=True)
    if len(frame) == 0:
        raise logs.LogError(f"{data}: no data rows")
    return schema, LoggedRows(frame, frame[schema.item].astype(str).tolist(), np.concatenate(slots),
                              np.concatenate(rewards), np.concatenate(props),
                              np.concatenate(times) if times else None)


def candidate_lists(frame: pd.DataFrame, schema: LogSchema) -> list[list[str]]:
    """Each row's candidate item ids from the [logging] candidates column (a one-id cell may have been read as
    a number: it is written back as the id it was)."""
    def ids(v) -> list[str]:
        if pd.isna(v):
            return []
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        return [c for c in str(v).split(schema.history_separator) if c]

    return [ids(v) for v in frame[schema.candidates]]


def _check_candidates(f: Path, row0: int, df: pd.DataFrame, schema: LogSchema, slot: np.ndarray) -> None:
    """Every row's shown item is one of its candidates, and its position within their number."""
    from .models.logs import LogError

    for i, (items, shown) in enumerate(zip(candidate_lists(df, schema), df[schema.item].astype(str))):
        where = f"{f}: data row {row0 + i + 1}: column {schema.candidates!r} (candidates)"
        if shown not in items:
            raise LogError(f"{where}: the shown item {shown!r} is not among the row's {len(items)} candidates")
        if slot[i] >= len(items):
            raise LogError(f"{where}: position {slot[i] + schema.first_position} is beyond the row's {len(items)} "
                           "candidates")


@dataclass
class Bundle:
    """What the evaluation uses of a bundle: its contract, one shipped file's scorer, its rules and fallback."""

    path: Path
    file: str
    encoder: RawEncoder
    run: Callable[[dict[str, np.ndarray]], np.ndarray]  # one request's tensors -> its scores
    rules: RuleSet
    table: Fallback | None
    items: list[str]  # the item vocabulary's values (empty when items are hashed)


def open_bundle(path: Path, file: str | None) -> Bundle:
    from .export.manifest import read_fallback, read_rules
    from .export.parity import scorer
    from .export.reader import check_bundle, read_contract, read_manifest

    check_bundle(path)  # every file executed against its vectors before its scores are trusted
    manifest = read_manifest(path)
    names = [a.path for a in manifest.artifacts if not a.trainable]
    chosen = file or next((n for n in names if n.endswith("int8.tflite")), names[0])
    entry = next((a for a in manifest.artifacts if a.path == chosen), None)
    if entry is None:
        raise InputError(f"not a file of {path} (it has {', '.join(names)})", option="file", value=chosen)
    contract = read_contract(path, manifest)
    vocabularies = read_json(path / "vocabularies.json", "vocabularies.json")
    values = {f["name"]: f.get("values", []) for f in vocabularies["fields"]}
    items = values.get(contract.items.vocabulary.field, []) if contract.items.vocabulary else []
    return Bundle(path, chosen, RawEncoder(contract, vocabularies), scorer(entry.format, path / chosen),
                  read_rules(path / "rules.json").rules,
                  read_fallback(path / FALLBACK) if (path / FALLBACK).exists() else None, list(items))


def _check_fits(bundle: Bundle, schema: LogSchema, rows: LoggedRows, data: Path, which: str) -> None:
    """Every raw value the bundle's contract reads is in the log (a context column, the timestamp, a numeric
    feature): one line naming what is missing, before any request is encoded."""
    contract = bundle.encoder.contract
    for col in contract.context:
        if col.kind == "time" and rows.timestamp is None:
            raise InputError(f"{data}: {which} {bundle.path} reads a timestamp ({col.name}), and the log's schema "
                             "names no timestamp column")
        if col.kind not in ("time", "constant") and col.source not in schema.context:
            raise InputError(f"{data}: {which} {bundle.path} reads the context column {col.source!r}, which the log's "
                             f"schema does not name (its context: {', '.join(schema.context) or 'none'})")
    missing = [f.name for f in contract.candidate_features if not f.constant and f.name not in schema.numeric]
    if missing:
        raise InputError(f"{data}: {which} {bundle.path} reads the numeric features {', '.join(missing)}, which the "
                         f"log's schema does not name")


def _requests(schema: LogSchema, rows: LoggedRows, candidates: list[list[str]]) -> list[RawRequest]:
    """Each row's context with its candidates: request-level numbers the row's, item-level ones the item's
    mean over the rows that showed it (0.0 for an item the log never shows)."""
    df = rows.frame
    item_level = list(schema.item_features)
    request_level = [c for c in schema.numeric if c not in item_level]
    means = df.groupby(df[schema.item].astype(str))[item_level].mean() if item_level else None
    item_feats = {i: {c: float(means.loc[i, c]) if means is not None and i in means.index else 0.0
                      for c in item_level} for i in {i for row in candidates for i in row}}
    context = df[list(schema.context)].astype(str).to_dict("records") if schema.context else [{}] * len(df)
    numeric = df[request_level].to_numpy(dtype=np.float64) if request_level else np.zeros((len(df), 0))
    history = None
    if schema.history:
        history = df[schema.history].fillna("").astype(str).str.split(schema.history_separator)
    out = []
    for r in range(len(df)):
        own = dict(zip(request_level, numeric[r].tolist()))
        out.append(RawRequest(items=candidates[r], features=[{**own, **item_feats[i]} for i in candidates[r]],
                              context=context[r],
                              timestamp=None if rows.timestamp is None else float(rows.timestamp[r]),
                              history=[h for h in history.iloc[r] if h] if history is not None else []))
    return out


def policy_orders(bundle: Bundle, requests: list[RawRequest], slots: int, step) -> dict[str, np.ndarray]:
    """[rows, slots] the candidate index each policy shows at each position (-1: none)."""
    from .ondevice.rules import apply, from_raw, rate_logits

    out = {name: np.full((len(requests), slots), -1, np.int64) for name in POLICIES}
    cache: dict[bytes, dict[str, list[int]]] = {}  # rows with the same inputs rank the same
    for r, request in enumerate(requests):
        calls = bundle.encoder.calls(request)  # the contract: more than K candidates are scored in calls of K
        parts = [bundle.encoder.encode(call) for call in calls]
        # the encoded inputs, plus the raw values the rules read that encoding may merge (hashed ids, OOV values)
        key = b"".join(t.tobytes() for p in parts for t in p.values()) + repr(
            (sorted(request.context.items()), request.items)).encode()
        if key not in cache:
            lengths = [len(call.items) for call in calls]
            model = np.concatenate([np.asarray(bundle.run(p), dtype=np.float64).ravel()[:m]
                                    for p, m in zip(parts, lengths)])
            view = from_raw(bundle.encoder.contract, request)
            orders = {"model": [int(i) for i in np.argsort(-model, kind="stable")],
                      "hybrid": apply(bundle.rules, model, view)}
            if bundle.table is not None:
                ids = np.concatenate([p[CANDIDATES][0][:m] for p, m in zip(parts, lengths)])
                rates = fallback_rates(bundle.table, parts[0][CONTEXT][0], ids)
                orders["fallback"] = apply(bundle.rules, rate_logits(rates), view)
            cache[key] = orders
        for name, order in cache[key].items():
            n = min(slots, len(order))
            out[name][r, :n] = order[:n]
        if (r + 1) % 1000 == 0 or r + 1 == len(requests):
            step(f"  ranked {r + 1:,} of {len(requests):,} logged rows ({len(cache):,} distinct requests)")
    if bundle.table is None:
        del out["fallback"]
    return out


def _recommendation(diff: Interval, new: str, old: str, estimator: str) -> str:
    if diff.low > 0:
        return (f"{new} beats {old}: the lower end of the 95 % interval of the difference ({estimator.upper()}, "
                f"{diff.low:+.5f}) is above zero, a candidate for a staged rollout")
    if diff.high < 0:
        return f"{new} is worse than {old}: the whole 95 % interval of the difference is below zero; do not roll out"
    return (f"not shown better: the 95 % interval of the difference ({estimator.upper()}) runs from {diff.low:+.5f} "
            f"to {diff.high:+.5f} and holds zero; keep {old} for now, or log more traffic before deciding")


@dataclass
class Logged:
    """A logged log as the estimation reads it, one row per impression, from either source: a CSV / Parquet log
    with its schema TOML, or the app's impression log (JSON Lines) with the raw requests."""

    requests: list[RawRequest]  # the request each row belongs to, as the policies rank it
    candidates: list[list[str]]  # each row's candidate item ids, in the request's order
    item: list[str]  # the shown item
    slot: np.ndarray  # 0-based
    reward: np.ndarray
    propensity: np.ndarray
    items: list[str]  # every candidate, in the order the estimators index them
    lists: np.ndarray  # the unit the bootstrap resamples whole (a list, a session or a user)
    plural: str  # what such a unit is called ("lists", "users")
    note: str  # the report's sentence on that unit, with {n} for how many


def _from_table(schema: LogSchema, rows: LoggedRows, bundle: Bundle, data: Path) -> Logged:
    n = len(rows.item)
    if schema.candidates:  # each request's own candidates, as the log recorded them
        per_row = candidate_lists(rows.frame, schema)
        items = sorted({i for row in per_row for i in row})
    else:  # every item the bundle knows, and any logged item it does not
        items = bundle.items + sorted(set(rows.item) - set(bundle.items))
        per_row = [items] * n
    slots = int(rows.slot.max()) + 1
    if slots > max(len(row) for row in per_row):
        raise InputError(f"{data}: column {schema.position!r} (position): {slots - 1 + schema.first_position} is out "
                         f"of range; the policies rank {max(len(row) for row in per_row)} candidates (positions "
                         f"{schema.first_position}..{max(len(row) for row in per_row) - 1 + schema.first_position})")
    lists = rows.frame[list(schema.group_by)].astype(str).agg("\x1f".join, axis=1).to_numpy()
    return Logged(_requests(schema, rows, per_row), per_row, rows.item, rows.slot, rows.reward, rows.propensity,
                  items, lists, "lists", f"the intervals resample whole lists ([lists] group_by: "
                  f"{', '.join(schema.group_by)}; {{n}} of them), since the impressions of one list are not "
                  "independent")


def read_impressions(path: Path) -> Logged:
    """The app's impression log: every request event must carry its raw request (`request`), which the policies
    rank exactly as the app did, with each candidate's own features."""
    from .ondevice.impressions import candidates as checked, read

    log = read(path)
    requests = log.raw
    candidates = checked(log, path, "`edgeship evaluate` needs it to rank the logged requests again")
    rows = log.request
    return Logged([requests[r] for r in rows], [candidates[r] for r in rows], list(log.item), log.position,
                  log.tapped.astype(np.float64), log.propensity,
                  sorted({i for row in candidates for i in row}), log.users[log.request].astype(str), "users",
                  "the intervals resample whole users ({n} of them), since the impressions of one user are not "
                  "independent")


def _check_encodes(bundle: Bundle, logged: Logged, data: Path, which: str) -> None:
    """The bundle's contract reads what the logged requests hold: one line naming the first that does not."""
    from .ondevice.contract import ContractError

    seen = set()
    for request in logged.requests:
        if id(request) in seen:
            continue
        seen.add(id(request))
        try:
            for call in bundle.encoder.calls(request):
                bundle.encoder.encode(call)
        except ContractError as e:
            raise InputError(f"{data}: {which} {bundle.path} cannot encode a logged request ({e})") from None


def evaluate(bundle_path: Path, data: Path, schema_path: Path | None, out: Path, baseline: Path | None = None,
             file: str | None = None, resamples: int = 1000, seed: int = 0, force: bool = False,
             step=print, logged: tuple[LogSchema, LoggedRows] | Logged | None = None) -> OpeReport:
    """logged: the log already read (the CLI reads it before loading any runtime); a .jsonl `data` is the app's
    impression log (no schema)."""
    if (out / OPE_JSON).exists() and not force:
        raise AlreadyExists("already holds an ope.json", option="out", value=out)
    if logged is None:
        logged = read_impressions(data) if data.suffix == ".jsonl" else read_log(data, schema_path)
    bundle = open_bundle(bundle_path, file)
    if isinstance(logged, Logged):
        _check_encodes(bundle, logged, data, "the bundle")
        fits = lambda other, which: _check_encodes(other, logged, data, which)  # noqa: E731
    else:
        schema, rows = logged
        _check_fits(bundle, schema, rows, data, "the bundle")
        fits = lambda other, which: _check_fits(other, schema, rows, data, which)  # noqa: E731
        logged = _from_table(schema, rows, bundle, data)
    n = len(logged.item)
    items = logged.items
    index = {c: i for i, c in enumerate(items)}
    slots = int(logged.slot.max()) + 1
    most = max(len(row) for row in logged.candidates)
    step(f"ranking up to {most} candidates for each of {n:,} logged rows with {bundle.file}")
    orders = policy_orders(bundle, logged.requests, slots, step)
    log = ope.LoggedImpressions(item=np.array([index[i] for i in logged.item]), slot=logged.slot,
                                reward=logged.reward, propensity=logged.propensity)
    # a policy's pick at a row's slot, as an index into `items` (-1: the policy shows nothing there)
    row_index = [np.array([index[i] for i in row]) for row in logged.candidates]

    def picks(order: np.ndarray) -> np.ndarray:
        local = order[np.arange(n), logged.slot]
        return np.array([row_index[r][j] if j >= 0 else -1 for r, j in enumerate(local)])

    targets = {name: picks(order) for name, order in orders.items()}
    old_name, new_name = ("fallback", "hybrid") if "fallback" in targets else ("model", "hybrid")
    if baseline is not None:
        step(f"ranking the same rows with the baseline bundle {baseline}")
        base = open_bundle(baseline, None)
        fits(base, "the baseline bundle")
        base_orders = policy_orders(base, logged.requests, slots, step)
        old_name = "baseline hybrid"
        targets[old_name] = picks(base_orders["hybrid"])
    folds = np.random.default_rng([seed, 37]).integers(0, 2, n)
    q, folds = ope.reward_model(log, len(items), slots, folds)
    # impressions of one list (one request, one user's session, one user) are not independent: resample whole lists
    lists = logged.lists
    draws = ope.bootstrap_clusters(lists, resamples, seed)
    step(f"estimating with {resamples} bootstrap resamples of {len(np.unique(lists)):,} {logged.plural}")
    estimates = ope.estimate(log, targets, q, folds, draws)
    diff = ope.difference(log, targets[new_name], targets[old_name], q, folds, draws, "dr")
    boot = ope.resampled_mean(log.reward, draws)
    clicks = int((logged.reward > 0).sum())
    notes = [logged.note.format(n=f"{len(np.unique(lists)):,}")]
    for name, target in targets.items():
        agree = target == log.item
        if agree.any() and not log.reward[agree].any():
            notes.append(f"{name}: no click on the {int(agree.sum())} rows where it agrees with the log, so IPS and "
                         f"SNIPS are 0 with an interval of no width, which understates the uncertainty (by the rule "
                         f"of three, its click rate on such rows is below {3 / agree.sum():.4f} at 95 %)")
    if clicks < 500:
        notes.append(f"only {clicks} clicks in {n:,} rows: the intervals are wide; a difference smaller than their "
                     "width cannot be told from noise")
    report = OpeReport(OPE_VERSION, str(bundle_path), bundle.file, str(data), n, clicks, most, slots,
                       resamples, bootstrap(float(log.reward.mean()), boot, method=ope.BOOTSTRAP),
                       list(estimates.values()),
                       Comparison(new_name, old_name, "dr", diff, _recommendation(diff, new_name, old_name, "dr")),
                       notes)
    _write(report, out)
    return report


def markdown(r: OpeReport) -> str:
    def iv(x: Interval) -> str:
        return f"{x.estimate:.5f} [{x.low:.5f}, {x.high:.5f}]"

    rows = "\n".join(f"| {p.policy} | {iv(p.ips)} | {iv(p.snips)} | {iv(p.dr)} | {p.matched:,} | "
                     f"{p.effective_sample_size:,.0f} |" for p in r.policies)
    c = r.comparison
    return f"""# Off-policy evaluation of {r.bundle}

Log `{r.data}`: {r.rows:,} impressions, {r.clicks:,} clicks, {r.positions} positions; each policy ranks up to
{r.candidates} candidates per row with `{r.file}`. Click rate per impression, 95 % bootstrap intervals
({r.resamples} resamples):

| policy | IPS | SNIPS | DR | rows where it agrees with the log | effective sample size |
|---|---|---|---|---|---|
| logging (observed) | {iv(r.logging)} | | | {r.rows:,} | {r.rows:,} |
{rows}

**{c.new} − {c.old}** ({c.estimator.upper()}): {iv(c.difference)}. {c.recommendation[0].upper()}{c.recommendation[1:]}.

{"".join(f"- {n}{chr(10)}" for n in r.notes)}
Estimators: IPS, self-normalized IPS and doubly robust with a cross-fitted item × position click-rate model
(Saito et al. 2020, arXiv:2008.07146; `edgeship/models/ope.py`).
"""


def _write(report: OpeReport, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / OPE_JSON, typed.dump(report))
    write_text(out / OPE_MD, markdown(report))
    _plot(report, out / "ope.png")


def _plot(r: OpeReport, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [("logging (observed)", "", r.logging)] + [(p.policy, est, getattr(p, est)) for p in r.policies
                                                       for est in ope.ESTIMATORS]
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(rows) + 1))
    for y, (policy, est, x) in enumerate(rows):
        ax.errorbar(x.estimate, y, xerr=[[x.estimate - x.low], [x.high - x.estimate]], fmt="o", capsize=3)
    ax.set_yticks(range(len(rows)), [f"{p} {e.upper()}".strip() for p, e, _ in rows])
    ax.axvline(r.logging.estimate, color="grey", lw=0.8, ls="--")
    ax.invert_yaxis()
    ax.set_xlabel("click rate per impression (95 % interval)")
    fig.tight_layout()
    write_figure(fig, path)
