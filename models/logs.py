"""A user's interaction log (CSV or Parquet, one file or a folder of shards) as model inputs, streamed.

Memory stays bounded by the chunk size and the validation/test caps, never by the log: one pass validates every
row and gathers what needs the whole log (row counts per split, label classes, feature means and spreads,
item popularity); training then streams the train split chunk by chunk through tf.data, once per epoch.

Each log row is one impression: the candidate (its item, its numeric features), its label, and the request's
context and history. Training scores rows one at a time (the loss is per candidate, so a list of one is the
same loss as the full list); evaluation groups rows into the candidate lists the schema defines.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..core.errors import ConfigError, one_line
from .data import Requests
from . import encoding as enc_mod
from .encoding import Encoders
from .features import PAD_ID, ContextField, FeatureSpec, canonical_text, feature_sums, item_feature_table
from .item_vectors import cooccurrence
from .schema import LogSchema

CHUNK_ROWS = 50_000
MAX_VALID_ROWS = 50_000  # enough for early stopping; kept in memory
MAX_TEST_ROWS = 200_000  # the evaluation lists are formed from these
MIN_ROWS = {"train": 100, "valid": 20, "test": 20}
_SPLIT_BUCKETS = 10_000


class LogError(ConfigError):
    """A data file that is not what the schema says (exit 2, one line naming file, row and column)."""


# --- files -----------------------------------------------------------------------------------------------------

def log_files(path: Path) -> tuple[list[Path], str]:
    """The shard files and their kind. A folder's other files (a README, the schema) are ignored; its shards must
    all be one kind."""
    if not path.exists():
        raise LogError(f"{path}: data file or folder not found")
    if path.is_file():
        files = [path]
        if _kind(path) is None:
            raise LogError(f"{path}: expected a .csv or .parquet file")
    else:
        files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith(".") and _kind(p))
        if not files:
            raise LogError(f"{path}: no .csv or .parquet files in the folder")
    kinds = {_kind(p) for p in files}
    if len(kinds) > 1:
        raise LogError(f"{path}: mixes CSV and Parquet shards; use one kind per folder")
    for f in files:
        if f.stat().st_size == 0:
            raise LogError(f"{f}: empty file")
    return files, kinds.pop()


def _kind(p: Path) -> str | None:
    name = p.name.lower()
    if name.endswith((".csv", ".csv.gz")):
        return "csv"
    if name.endswith(".parquet"):
        return "parquet"
    return None


def _header(f: Path, kind: str) -> list[str]:
    try:
        if kind == "csv":
            return list(pd.read_csv(f, nrows=0).columns)
        import pyarrow.parquet as pq

        return list(pq.read_schema(f).names)
    except Exception as e:  # a file pandas/pyarrow cannot even open is bad input, named
        raise LogError(f"{f}: cannot be read as {kind.upper()} ({one_line(e, 120)})") from None


def resolve(schema: LogSchema, files: list[Path], kind: str, extra: dict[str, str] | None = None) -> LogSchema:
    """Expand column patterns against the first file's header and check every file has every column (and the
    `extra` ones a command needs besides: column -> its role)."""
    first = _header(files[0], kind)

    def expand(patterns: tuple[str, ...]) -> tuple[str, ...]:
        out = []
        for pattern in patterns:
            hits = [c for c in first if fnmatch.fnmatchcase(c, pattern)] if any(ch in pattern for ch in "*?[") \
                else [pattern]
            if not hits:
                raise LogError(f"{files[0]}: numeric column pattern {pattern!r} matches no column")
            out += hits
        return tuple(dict.fromkeys(out))

    resolved = replace(schema, numeric=expand(schema.numeric), item_features=expand(schema.item_features))
    roles = _roles(resolved) | (extra or {})
    for f in files:
        header = first if f == files[0] else _header(f, kind)
        if not header:
            raise LogError(f"{f}: empty file (no header)")
        for col in [*resolved.columns(), *(extra or {})]:
            if col not in header:
                raise LogError(f"{f}: column {col!r} ({roles[col]}) not found")
    return resolved


def _roles(schema: LogSchema) -> dict[str, str]:
    roles = {c: "numeric" for c in schema.numeric}
    roles.update({c: "context" for c in schema.context})
    roles.update({c: "list key" for c in schema.group_by})
    roles.update({schema.item: "item", schema.label: "label"})
    if schema.timestamp:
        roles[schema.timestamp] = "timestamp"
    if schema.history:
        roles[schema.history] = "history"
    return roles


def chunks(files: list[Path], kind: str, columns: list[str]) -> Iterator[tuple[Path, int, pd.DataFrame]]:
    """(file, number of the chunk's first data row in that file, chunk), CHUNK_ROWS rows at a time."""
    for f in files:
        row = 0
        try:
            if kind == "csv":
                reader = pd.read_csv(f, usecols=columns, chunksize=CHUNK_ROWS, low_memory=False)
            else:
                import pyarrow.parquet as pq

                reader = (b.to_pandas() for b in pq.ParquetFile(f).iter_batches(CHUNK_ROWS, columns=columns))
            for df in reader:
                yield f, row, df
                row += len(df)
        except (pd.errors.ParserError, UnicodeDecodeError, OSError, ValueError) as e:
            raise LogError(f"{f}: unreadable after data row {row} ({one_line(e, 120)})") from None


# --- one chunk -------------------------------------------------------------------------------------------------

@dataclass
class Encoded:
    """One chunk as model inputs, one row per impression."""

    context: np.ndarray  # [n, C] int32
    history: np.ndarray  # [n, H] int32
    item: np.ndarray  # [n] int32 bucket
    features: np.ndarray  # [n, F] float32, raw (the model standardizes)
    label: np.ndarray  # [n] float32
    split: np.ndarray  # [n] int8: 0 train, 1 valid, 2 test
    key: np.ndarray  # [n] int64 list-key hash
    time: np.ndarray  # [n] float64 seconds since epoch (0 without a timestamp column)

    def take(self, index) -> "Encoded":
        return Encoded(**{k: v[index] for k, v in self.__dict__.items()})

    @staticmethod
    def concat(parts: list["Encoded"]) -> "Encoded":
        return Encoded(**{k: np.concatenate([getattr(p, k) for p in parts]) for k in Encoded.__dataclass_fields__})


def _numeric(f: Path, row0: int, df: pd.DataFrame, col: str, role: str) -> np.ndarray:
    s = df[col]
    if s.dtype == bool:
        s = s.astype(np.float64)
    if not pd.api.types.is_numeric_dtype(s):
        parsed = pd.to_numeric(s, errors="coerce")
        bad = parsed.isna().to_numpy() & s.notna().to_numpy()
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise LogError(f"{f}: data row {row0 + i + 1}: column {col!r} ({role}): expected a number, got "
                           f"{s.iloc[i]!r}")
        s = parsed
    values = s.to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        what = "empty (NaN)" if np.isnan(values[i]) else f"{values[i]}"
        raise LogError(f"{f}: data row {row0 + i + 1}: column {col!r} ({role}): {what}; expected a finite number")
    return values


def _timestamps(f: Path, row0: int, df: pd.DataFrame, col: str) -> np.ndarray:
    s = df[col]
    if pd.api.types.is_numeric_dtype(s):  # unix seconds
        t = s.to_numpy(dtype=np.float64)
        bad = ~np.isfinite(t)
    else:
        parsed = pd.to_datetime(s, utc=True, errors="coerce", format="mixed")
        bad = parsed.isna().to_numpy()
        # seconds via a timedelta: pandas 3 picks the storage unit (s, us, ns) per column, so no fixed divisor
        t = ((parsed - pd.Timestamp(0, tz="UTC")).dt.total_seconds()).to_numpy(dtype=np.float64, na_value=0.0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise LogError(f"{f}: data row {row0 + i + 1}: column {col!r} (timestamp): cannot parse {s.iloc[i]!r} "
                       "as a date-time or unix seconds")
    return t


def _where(files: list[Path]) -> Path:
    """What a message about the whole log names: its folder, or its one file."""
    return files[0].parent if len(files) > 1 else files[0]


def _split(df: pd.DataFrame, schema: LogSchema) -> tuple[np.ndarray, np.ndarray]:
    """(split 0 train / 1 valid / 2 test, list-key hash) of each row: by a hash of the list key, so a list never
    straddles two splits and every pass over the log agrees."""
    key_text = df[schema.group_by[0]].astype(str)
    for col in schema.group_by[1:]:  # vectorized concatenation: a row-wise join is a Python call per row
        key_text = key_text + "\x1f" + df[col].astype(str)
    key = enc_mod.hash_values(key_text, 2**31 - 1)
    split_at = (key % _SPLIT_BUCKETS) / _SPLIT_BUCKETS
    split = np.where(split_at < schema.test_fraction, 2,
                     np.where(split_at < schema.test_fraction + schema.valid_fraction, 1, 0)).astype(np.int8)
    return split, key


def _history_tokens(df: pd.DataFrame, schema: LogSchema) -> pd.DataFrame:
    """The history column split into at most history_len columns of raw ids, "" where a row has fewer."""
    parts = df[schema.history].fillna("").astype(str).str.split(schema.history_separator, n=schema.history_len,
                                                                  expand=True, regex=False)
    return parts.iloc[:, : schema.history_len].fillna("")


def count_values(files: list[Path], kind: str, schema: LogSchema, progress: Callable[[str], None],
                 shards: Shards | None = None) -> dict[str, pd.Series]:
    """How often each raw value of each context column, and each item (shown or in a history), occurs in the
    train split: what the vocabularies are built from. Reads only the columns it needs."""
    parts = per_file(files, lambda f: _count_file(f, kind, schema, progress), shards)
    if sum(rows for _, rows in parts) == 0:
        raise LogError(f"{_where(files)}: no data rows")
    counts: dict[str, pd.Series] = {}
    for part, _ in parts:
        for name, vc in part.items():
            counts[name] = vc if name not in counts else counts[name].add(vc, fill_value=0)
    return {k: v.astype(np.int64) for k, v in counts.items()}


@dataclass
class Shards:
    """This worker's share of a log read by several workers (edgeship/distributed.py)."""

    mine: list[Path]  # the files this worker reads
    exchange: Callable[[object], list]  # one object from every worker, in worker order, to every worker


def per_file(files: list[Path], work: Callable[[Path], object], shards: Shards | None) -> list:
    """work(file) for each file, in file order. With shards (training on several workers), this process works
    on its own files only and exchanges [(index, result)] with the other workers; either way the results are
    merged in the same order, so every worker (and a single process) gets the same bytes."""
    if shards is None:
        return [work(f) for f in files]
    mine = [(files.index(f), work(f)) for f in files if f in shards.mine]
    everyone = sorted((pair for part in shards.exchange(mine) for pair in part), key=lambda pair: pair[0])
    return [result for _, result in everyone]


def _count_file(f: Path, kind: str, schema: LogSchema, progress: Callable[[str], None]
                ) -> tuple[dict[str, pd.Series], int]:
    columns = list(dict.fromkeys([*schema.group_by, *schema.context, schema.item]
                                 + ([schema.history] if schema.history else [])))
    counts: dict[str, pd.Series] = {}

    def add(name: str, values: pd.Series) -> None:
        vc = canonical_text(values).value_counts()
        counts[name] = vc if name not in counts else counts[name].add(vc, fill_value=0)

    total = 0
    for f, _, df in chunks([f], kind, columns):
        train = df[_split(df, schema)[0] == 0]
        total += len(df)
        for col in schema.context:
            add(col, train[col])
        add(ITEMS, train[schema.item].dropna())
        if schema.history and len(train):
            tokens = _history_tokens(train, schema).to_numpy().ravel()
            add(ITEMS, pd.Series(tokens[tokens != ""]))
        progress(f"counted values in {total:,} rows ({f.name})")
    return counts, total


ITEMS = "\x00items"  # the key of item counts (never a column name)


def _vocabulary(asked: str, distinct: int, cap: int, too_many: Callable[[], str]) -> bool:
    """Whether a field gets a vocabulary: asked for (and within its cap, else bad input), or "auto" within it."""
    if asked == "vocabulary" and distinct > cap:
        raise LogError(too_many())
    return asked == "vocabulary" or (asked == "auto" and distinct <= cap)


def choose_encoders(schema: LogSchema, counts: dict[str, pd.Series], where: Path) -> Encoders:
    """Per field, a vocabulary or a hash: asked for in the schema, or chosen from the number of distinct values."""
    context = [enc_mod.FieldEncoding("hour", enc_mod.TIME, 24), enc_mod.FieldEncoding("weekday", enc_mod.TIME, 7)] \
        if schema.timestamp else []
    for col in schema.context:
        kind, buckets = schema.field_rule(col)
        observed = counts.get(col, pd.Series(dtype=np.int64))
        if len(observed) < 2:
            value = f"{observed.index[0]!r}" if len(observed) else "no value"
            raise LogError(f"{where}: column {col!r} (context): a single value in the training rows ({value}); a "
                           "field that never changes cannot help the ranking, drop it from [columns] context")
        if _vocabulary(kind, len(observed), schema.max_vocabulary, lambda: (
                f"{where}: column {col!r} (context): {len(observed):,} distinct values, more than [encoding] "
                f"max_vocabulary = {schema.max_vocabulary:,}; use \"hash\" for this field in [encoding.fields] or "
                "raise max_vocabulary")):
            context.append(enc_mod.vocabulary(col, observed))
        else:
            context.append(enc_mod.hashed(col, buckets))
    items = counts.get(ITEMS, pd.Series(dtype=np.int64))
    frequent = int((items >= schema.item_min_count).sum())
    if _vocabulary(schema.items, frequent, schema.max_item_vocabulary, lambda: (
            f"{where}: column {schema.item!r} (item): {frequent:,} items seen at least {schema.item_min_count} "
            f"times, more than [encoding] max_item_vocabulary = {schema.max_item_vocabulary:,}; use items = "
            "\"hash\" or raise max_item_vocabulary")):
        item = enc_mod.vocabulary(schema.item, items, item=True, min_count=schema.item_min_count)
    else:
        item = enc_mod.hashed(schema.item, schema.item_buckets, item=True)
    return Encoders(tuple(context), item)


def encoders(files: list[Path], kind: str, schema: LogSchema, progress: Callable[[str], None],
             shards: Shards | None = None) -> tuple[Encoders, dict[str, pd.Series]]:
    """One pass over the train split's categorical columns: the encoders, and the counts they came from."""
    counts = count_values(files, kind, schema, progress, shards)
    return choose_encoders(schema, counts, _where(files)), counts


def labels(f: Path, row0: int, df: pd.DataFrame, column: str) -> np.ndarray:
    """The label column: numbers, each a click (0/1) or a relevance >= 0."""
    label = _numeric(f, row0, df, column, "label")
    if (label < 0).any():
        i = int(np.flatnonzero(label < 0)[0])
        raise LogError(f"{f}: data row {row0 + i + 1}: column {column!r} (label): {label[i]}; expected a "
                       "click (0/1) or a relevance >= 0")
    return label


def encode(f: Path, row0: int, df: pd.DataFrame, schema: LogSchema, enc: Encoders) -> Encoded:
    """Validate one chunk and turn it into model inputs; the first bad value raises with file, row, column."""
    n = len(df)
    label = labels(f, row0, df, schema.label)
    items = df[schema.item]
    if items.isna().any():
        i = int(np.flatnonzero(items.isna().to_numpy())[0])
        raise LogError(f"{f}: data row {row0 + i + 1}: column {schema.item!r} (item): empty item id")
    features = (np.stack([_numeric(f, row0, df, c, "numeric") for c in schema.numeric], axis=1).astype(np.float32)
                if schema.numeric else np.zeros((n, 1), np.float32))  # no numeric column: one constant feature
    context = []
    t = np.zeros(n)
    if schema.timestamp:
        t = _timestamps(f, row0, df, schema.timestamp)
        whole = np.floor(t).astype(np.int64)
        context += [(whole // 3600) % 24, (whole // 86400 + 3) % 7]  # 1970-01-01 was a Thursday: Monday = 0
    context += [e.encode(df[c].to_numpy(dtype=object)) for c, e in zip(schema.context, enc.context[len(context):])]
    split, key = _split(df, schema)
    history = np.full((n, schema.history_len), PAD_ID, np.int32)
    if schema.history:
        tokens = _history_tokens(df, schema).to_numpy(dtype=object)
        present = tokens != ""
        if present.any():  # every position at once, each distinct id looked up once
            history[:, : tokens.shape[1]][present] = enc.item.encode(tokens[present])
    ctx = np.stack(context, axis=1).astype(np.int32) if context else np.zeros((n, 0), np.int32)
    return Encoded(ctx, history, enc.item.encode(canonical_text(items).to_numpy(dtype=object)),
                   features, label.astype(np.float32), split, key, t)


# --- the whole log ---------------------------------------------------------------------------------------------

@dataclass
class LogProfile:
    """What one validating pass over the whole log learned."""

    rows: dict = field(default_factory=lambda: {"train": 0, "valid": 0, "test": 0})
    positives: dict = field(default_factory=lambda: {"train": 0, "valid": 0, "test": 0})
    label_values: set = field(default_factory=set)
    feature_sum: np.ndarray | None = None
    feature_sumsq: np.ndarray | None = None
    item_shows: np.ndarray | None = None
    item_hits: np.ndarray | None = None
    item_feature_sum: np.ndarray | None = None  # [items, F] raw features summed over each item's training rows
    # [items, items] training rows whose history holds both (item_vectors); None when not counted
    item_pairs: sp.csr_matrix | None = None
    test_oov: int = 0  # test impressions whose item maps to the out-of-vocabulary id
    valid: list = field(default_factory=list)
    test: list = field(default_factory=list)
    shards: list = field(default_factory=list)  # per file, its rows in each split

    @staticmethod
    def empty(items: int, numeric: int, pairs: bool = False) -> "LogProfile":
        width = max(numeric, 1)  # no numeric column: the one constant feature
        return LogProfile(item_shows=np.zeros(items), item_hits=np.zeros(items), feature_sum=np.zeros(width),
                          feature_sumsq=np.zeros(width), item_feature_sum=np.zeros((items, width)),
                          item_pairs=sp.csr_matrix((items, items)) if pairs else None)


def profile(files: list[Path], kind: str, schema: LogSchema, enc: Encoders, progress: Callable[[str], None],
            shards: Shards | None = None, pairs: bool = False) -> LogProfile:
    """One validating pass: each file profiled on its own, the profiles merged in file order (`per_file`).
    pairs: also count which items share a training row's history (item_pairs, for models.item_vectors)."""
    parts = per_file(files, lambda f: _profile_file(f, kind, schema, enc, progress, pairs), shards)
    p = LogProfile.empty(enc.item.size, len(schema.numeric), pairs)
    for part in parts:
        for name in p.rows:
            p.rows[name] += part.rows[name]
            p.positives[name] += part.positives[name]
        p.label_values |= part.label_values
        p.feature_sum += part.feature_sum
        p.feature_sumsq += part.feature_sumsq
        p.item_shows += part.item_shows
        p.item_hits += part.item_hits
        p.item_feature_sum += part.item_feature_sum
        if pairs:
            p.item_pairs += part.item_pairs
        p.test_oov += part.test_oov
        for name, cap in (("valid", MAX_VALID_ROWS), ("test", MAX_TEST_ROWS)):
            have = sum(len(x.label) for x in getattr(p, name))
            for e in getattr(part, name):
                if have < cap:
                    getattr(p, name).append(e.take(slice(0, cap - have)))
                    have += min(len(e.label), cap - have)
        p.shards.append(dict(part.rows))
    where = _where(files)
    total = sum(p.rows.values())
    if total == 0:
        raise LogError(f"{where}: no data rows")
    if len(p.label_values) < 2:
        raise LogError(f"{where}: column {schema.label!r} (label): every row is {p.label_values.pop():g}; "
                       "a ranker needs both relevant and irrelevant impressions")
    for name, need in MIN_ROWS.items():
        if p.rows[name] < need:
            raise LogError(f"{where}: too few rows for the split: {p.rows[name]} {name} rows of {total} (need at "
                           f"least {need}; the split is by list key, [split] in the schema)")
    return p


def _profile_file(f: Path, kind: str, schema: LogSchema, enc: Encoders, progress: Callable[[str], None],
                  pairs: bool = False) -> LogProfile:
    size = enc.item.size
    p = LogProfile.empty(size, len(schema.numeric), pairs)
    total = 0
    for f, row0, df in chunks([f], kind, schema.columns()):
        e = encode(f, row0, df, schema, enc)
        total += len(df)
        masks = {name: e.split == i for i, name in enumerate(("train", "valid", "test"))}
        for name, part in masks.items():
            p.rows[name] += int(part.sum())
            p.positives[name] += int((e.label[part] > 0).sum())
        if len(p.label_values) < 2:
            p.label_values.update(np.unique(e.label)[:2].tolist())
        # train-split statistics straight from the columns they need (no copy of the whole chunk)
        features, items = e.features[masks["train"]], e.item[masks["train"]]
        p.feature_sum += features.sum(axis=0, dtype=np.float64)
        p.feature_sumsq += np.square(features, dtype=np.float64).sum(axis=0)
        shows, sums = feature_sums(items, features, size)
        p.item_shows += shows
        p.item_feature_sum += sums
        if pairs:
            p.item_pairs += cooccurrence(e.history[masks["train"]], size)
        p.item_hits += np.bincount(items, weights=(e.label[masks["train"]] > 0).astype(float), minlength=size)
        if enc.item.kind == enc_mod.VOCABULARY:
            p.test_oov += int((e.item[masks["test"]] == enc.item.oov).sum())
        for name, cap in (("valid", MAX_VALID_ROWS), ("test", MAX_TEST_ROWS)):
            have = sum(len(x.label) for x in getattr(p, name))
            if have < cap:
                getattr(p, name).append(e.take(np.flatnonzero(masks[name])[: cap - have]))
        progress(f"validated {total:,} rows ({f.name})")
    return p


def feature_spec(schema: LogSchema, prof: LogProfile, enc: Encoders) -> FeatureSpec:
    n = prof.rows["train"]
    mean = prof.feature_sum / n
    std = np.sqrt(np.maximum(prof.feature_sumsq / n - mean**2, 0.0))
    fields = [ContextField(e.name, e.size) for e in enc.context]
    if not fields:  # the model always has a context input; a constant field keeps it (and every exporter) happy
        fields = [ContextField("constant", 1)]
    # likewise one constant candidate feature (always 0) when the log has no numeric column
    return FeatureSpec(tuple(fields), schema.history_len, enc.item.size, tuple(schema.numeric) or ("constant",),
                       feature_mean=tuple(float(m) for m in mean),
                       feature_scale=tuple(float(1.0 / s) if s > 1e-12 else 1.0 for s in std))


def item_features(prof: LogProfile, spec: FeatureSpec) -> np.ndarray:
    """The ranker's item table: each item's mean training features, standardized like the inputs (0 unseen)."""
    table = item_feature_table(prof.item_shows, prof.item_feature_sum)
    seen = prof.item_shows > 0
    table[seen] = spec.standardize(table[seen])
    return table


def standardized(e: Encoded, spec: FeatureSpec) -> Encoded:
    return Encoded(**{**e.__dict__, "features": spec.standardize(e.features)})


def as_rows(e: Encoded) -> Requests:
    """Impressions as requests of one candidate each (training and validation)."""
    ctx = e.context if e.context.shape[1] else np.zeros((len(e.label), 1), np.int32)
    return Requests(context=ctx, history=e.history, candidates=e.item[:, None],
                    candidate_features=e.features[:, None, :], labels=e.label[:, None])


@dataclass
class Lists:
    """Rows sorted by list key and time, and where each candidate list starts and ends."""

    rows: Encoded
    starts: np.ndarray
    ends: np.ndarray

    @property
    def lengths(self) -> np.ndarray:
        return self.ends - self.starts


def group_lists(e: Encoded, session_seconds: float | None) -> Lists:
    """Rows grouped into candidate lists by key, cut where two rows are further apart than session_seconds."""
    e = e.take(np.lexsort((e.time, e.key)))
    new = np.ones(len(e.key), bool)
    new[1:] = e.key[1:] != e.key[:-1]
    if session_seconds is not None:
        new[1:] |= (e.time[1:] - e.time[:-1]) > session_seconds
    starts = np.flatnonzero(new)
    return Lists(e, starts, np.append(starts[1:], len(e.key)))


def as_lists(groups: Lists, k: int, limit: int | None = None) -> Requests:
    """The lists as requests of K candidates, padded (mask False on padding): every row once, a list longer than
    K cut into consecutive pieces of K (each piece a request of its own). limit: only the first so many."""
    e = groups.rows
    lists = [(p, min(t, p + k)) for s, t in zip(groups.starts, groups.ends) for p in range(s, t, k)][:limit]
    n, f = len(lists), e.features.shape[1]
    ctx_width = max(e.context.shape[1], 1)
    out = Requests(context=np.zeros((n, ctx_width), np.int32), history=np.zeros((n, e.history.shape[1]), np.int32),
                   candidates=np.zeros((n, k), np.int32), candidate_features=np.zeros((n, k, f), np.float32),
                   labels=np.zeros((n, k), np.float32), mask=np.zeros((n, k), bool))
    for i, (s, t) in enumerate(lists):
        m = t - s
        if e.context.shape[1]:
            out.context[i] = e.context[s]  # the list's (piece's) first impression carries the request's context
        out.history[i] = e.history[s]
        out.candidates[i, :m] = e.item[s:t]
        out.candidate_features[i, :m] = e.features[s:t]
        out.labels[i, :m] = e.label[s:t]
        out.mask[i, :m] = True
    return out


def train_dataset(files: list[Path], kind: str, schema: LogSchema, enc: Encoders, spec: FeatureSpec, batch_size: int,
                  seed: int, repeat: bool = False):
    """The train split as a tf.data pipeline of ready batches. Each epoch reads the shards in a new order and
    shuffles the rows inside each chunk: memory stays one chunk, and no batch holds one request's rows alone.
    repeat: endless (a worker of several, which takes the steps every worker takes; its own files only)."""
    import tensorflow as tf

    from .features import CANDIDATE_FEATURES, CANDIDATES, CONTEXT, HISTORY

    epoch = [0]

    def gen():
        rng = np.random.default_rng([seed, epoch[0]])
        epoch[0] += 1
        for f, row0, df in chunks(list(rng.permutation(np.array(files, dtype=object))), kind, schema.columns()):
            e = encode(f, row0, df, schema, enc)
            r = as_rows(standardized(e.take(e.split == 0), spec))
            order = rng.permutation(len(r))
            for start in range(0, len(order), batch_size):
                i = order[start : start + batch_size]
                yield ({CONTEXT: r.context[i], HISTORY: r.history[i], CANDIDATES: r.candidates[i],
                        CANDIDATE_FEATURES: r.candidate_features[i]}, r.labels[i])

    n_ctx = (2 if schema.timestamp else 0) + len(schema.context) or 1
    sig = ({CONTEXT: tf.TensorSpec((None, n_ctx), tf.int32),
            HISTORY: tf.TensorSpec((None, schema.history_len), tf.int32),
            CANDIDATES: tf.TensorSpec((None, 1), tf.int32),
            CANDIDATE_FEATURES: tf.TensorSpec((None, 1, len(spec.item_features)), tf.float32)},
           tf.TensorSpec((None, 1), tf.float32))
    dataset = tf.data.Dataset.from_generator(gen, output_signature=sig)
    if repeat:
        dataset = dataset.repeat()
        options = tf.data.Options()  # each worker already reads only its own files
        options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF
        dataset = dataset.with_options(options)
    return dataset.prefetch(2)
