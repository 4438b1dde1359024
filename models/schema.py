"""The schema of a user's interaction log: which column plays which role. Loaded from TOML, checked once.

    [columns]
    item = "item_id"                    # required: the item shown (any id; hashed like the built-in data)
    label = "click"                     # required: 0/1 click or a graded relevance >= 0
    timestamp = "ts"                    # optional: hour and weekday become context fields
    context = ["device", "region"]      # categorical columns (any values; a vocabulary or a hash per field)
    numeric = ["price", "affinity_*"]   # optional numeric columns, one float feature each; shell patterns allowed
    item_features = ["item_rating"]     # numeric columns describing the item; same treatment as numeric
    history = "recent_items"            # optional: the user's recent item ids in one column, "a|b|c"

    [lists]                             # how candidate lists are formed for ranking evaluation
    group_by = ["request_id"]           # rows sharing these values are one list ...
    session_seconds = 1800              # ... optionally cut where the gap between rows exceeds this

    [encoding]
    items = "auto"                      # "vocabulary" (exact ids), "hash", or "auto": a vocabulary when the
    max_item_vocabulary = 20000         # ... items seen item_min_count times number at most this, else hashing
    item_min_count = 2                  # rarer items share the out-of-vocabulary id (which training then learns)
    item_buckets = 8192                 # hashed items: the table size
    max_vocabulary = 1000               # context fields: "auto" gives a vocabulary up to this many values
    context_buckets = 64                # context fields: buckets of a hashed field
    history_len = 20
    history_separator = "|"

    [encoding.fields]                   # per context column: "auto" (default), "vocabulary", "hash", "hash:256"
    region = "hash:256"

    [split]                             # by a hash of the list key: a list never straddles two splits
    valid_fraction = 0.1
    test_fraction = 0.1

    [logging]                           # the policy that wrote the log, for `edgeship evaluate` (not for training)
    propensity = "propensity_score"     # P(that policy shows this item at this position | the row's context)
    position = "position"               # the position the item was shown at
    first_position = 1                  # the number of the top position in that column
    candidates = "shown_from"           # optional: each row's candidate item ids ("a|b|c", history_separator);
                                        # without it every policy ranks every item the bundle knows
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path

from ..core import typed
from ..core.errors import ConfigError
from ..core.files import read_toml


@dataclass(frozen=True)
class LogSchema:
    """What the rest of the code sees: one flat record, patterns resolved later against a file's header."""

    item: str
    label: str
    group_by: tuple[str, ...]
    timestamp: str | None = None
    context: tuple[str, ...] = ()
    numeric: tuple[str, ...] = ()  # may hold shell patterns until resolved against a file's header
    history: str | None = None
    session_seconds: float | None = None
    context_buckets: int = 64
    item_buckets: int = 8192
    items: str = "auto"
    max_item_vocabulary: int = 20_000
    item_min_count: int = 2
    max_vocabulary: int = 1_000
    fields: tuple[tuple[str, str], ...] = ()  # (context column, "auto" | "vocabulary" | "hash" | "hash:N")
    history_len: int = 20
    history_separator: str = "|"
    valid_fraction: float = 0.1
    test_fraction: float = 0.1
    item_features: tuple[str, ...] = ()  # the numeric columns that describe the item (also in `numeric`)
    propensity: str | None = None
    position: str | None = None
    first_position: int = 1
    candidates: str | None = None

    def field_rule(self, column: str) -> tuple[str, int]:
        """(kind, hash buckets) asked for a context column."""
        kind, buckets = parse_rule(dict(self.fields).get(column, "auto"))
        return kind, buckets or self.context_buckets

    def columns(self) -> list[str]:
        """Every column the log must have (patterns already resolved)."""
        cols = [self.item, self.label, *self.group_by, *self.context, *self.numeric]
        cols += [c for c in (self.timestamp, self.history) if c]
        return list(dict.fromkeys(cols))


def parse_rule(rule: str) -> tuple[str, int | None]:
    """"auto" | "vocabulary" | "hash" | "hash:N" -> (kind, N or None); ValueError for anything else."""
    kind, _, buckets = rule.partition(":")
    if kind not in ("auto", "vocabulary", "hash") or (buckets and (kind != "hash" or not buckets.isdigit()
                                                                  or int(buckets) < 2)):
        raise ValueError(rule)
    return kind, int(buckets) if buckets else None


# The file's sections, read by the one TOML loader (types, unknown keys and required keys checked there).
_COLUMNS = {"nonempty": True}


@dataclass(frozen=True)
class Columns:
    item: str = field(metadata={"doc": "which column holds the item"})
    label: str = field(metadata={"doc": "which column holds the label"})
    timestamp: str | None = None
    context: tuple[str, ...] = field(default=(), metadata=_COLUMNS)
    numeric: tuple[str, ...] = field(default=(), metadata=_COLUMNS)
    item_features: tuple[str, ...] = field(default=(), metadata=_COLUMNS)
    history: str | None = None


@dataclass(frozen=True)
class Lists:
    group_by: tuple[str, ...] = field(metadata={**_COLUMNS, "doc": "which columns form a candidate list"})
    session_seconds: float | None = None


@dataclass(frozen=True)
class Encoding:
    context_buckets: int = field(default=64, metadata={"min": 2})
    item_buckets: int = field(default=8192, metadata={"min": 2})
    items: str = field(default="auto", metadata={"choices": ("auto", "vocabulary", "hash")})
    max_item_vocabulary: int = field(default=20_000, metadata={"min": 1})
    item_min_count: int = field(default=2, metadata={"min": 1})
    max_vocabulary: int = field(default=1_000, metadata={"min": 1})
    fields: dict[str, str] = field(default_factory=dict)
    history_len: int = field(default=20, metadata={"min": 2})
    history_separator: str = "|"


@dataclass(frozen=True)
class Split:
    valid_fraction: float = 0.1
    test_fraction: float = 0.1


@dataclass(frozen=True)
class Logging:
    propensity: str = field(metadata={"doc": "the column with the logging policy's propensity of each row"})
    position: str = field(metadata={"doc": "the column with the position each row's item was shown at"})
    first_position: int = field(default=1, metadata={"min": 0})
    candidates: str | None = field(default=None, metadata={
        "doc": "the column with each row's candidate item ids, separated like the history"})


@dataclass(frozen=True)
class SchemaFile:
    columns: Columns
    lists: Lists
    encoding: Encoding = field(default_factory=Encoding)
    split: Split = field(default_factory=Split)
    logging: Logging | None = None


def load_schema(path: Path) -> LogSchema:
    f = typed.load(SchemaFile, read_toml(path, "schema file"), str(path), error=ConfigError)
    values = {k.name: getattr(section, k.name) for section in (f.columns, f.lists, f.encoding, f.split)
              for k in fields(section)}
    # request-level numbers and item descriptors are both per-row floats to the model: one feature list (the
    # item descriptors are also kept by name: what another candidate of the same row would carry differs)
    values["numeric"] = values["numeric"] + values["item_features"]
    if f.logging is not None:
        values.update(propensity=f.logging.propensity, position=f.logging.position,
                      first_position=f.logging.first_position, candidates=f.logging.candidates)
    values["fields"] = tuple(sorted(values["fields"].items()))
    schema = LogSchema(**values)
    for column, rule in schema.fields:
        if column not in schema.context:
            raise ConfigError(f"{path}: [encoding.fields] {column}: not a [columns] context column (context: "
                              f"{', '.join(schema.context) or 'none'})")
        try:
            parse_rule(rule)
        except ValueError:
            raise ConfigError(f"{path}: [encoding.fields] {column}: expected \"auto\", \"vocabulary\", \"hash\" "
                              f"or \"hash:N\" with N >= 2, got {rule!r}") from None
    if schema.session_seconds is not None and schema.session_seconds <= 0:
        raise ConfigError(f"{path}: [lists] session_seconds: expected a positive number, got {schema.session_seconds}")
    if schema.session_seconds is not None and schema.timestamp is None:
        raise ConfigError(f"{path}: [lists] session_seconds needs [columns] timestamp")
    for name in ("valid_fraction", "test_fraction"):
        if not 0 < getattr(schema, name) < 0.5:
            raise ConfigError(f"{path}: [split] {name}: expected a number in (0, 0.5), got {getattr(schema, name)}")
    return schema
