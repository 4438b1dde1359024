"""The schema of a user's interaction log: which column plays which role. Loaded from TOML, checked once.

    [columns]
    item = "item_id"                    # required: the item shown (any id; hashed like the built-in data)
    label = "click"                     # required: 0/1 click or a graded relevance >= 0
    timestamp = "ts"                    # optional: hour and weekday become context fields
    context = ["device", "region"]      # categorical columns (any values; hashed into buckets per field)
    numeric = ["price", "affinity_*"]   # numeric columns, one float feature each; shell patterns allowed
    item_features = ["item_rating"]     # numeric columns describing the item; same treatment as numeric
    history = "recent_items"            # optional: the user's recent item ids in one column, "a|b|c"

    [lists]                             # how candidate lists are formed for ranking evaluation
    group_by = ["request_id"]           # rows sharing these values are one list ...
    session_seconds = 1800              # ... optionally cut where the gap between rows exceeds this

    [encoding]
    context_buckets = 64
    item_buckets = 8192
    history_len = 20
    history_separator = "|"

    [split]                             # by a hash of the list key: a list never straddles two splits
    valid_fraction = 0.1
    test_fraction = 0.1
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from ..errors import ConfigError
from ..files import read_toml


@dataclass(frozen=True)
class LogSchema:
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
    history_len: int = 20
    history_separator: str = "|"
    valid_fraction: float = 0.1
    test_fraction: float = 0.1

    def to_dict(self) -> dict:
        return asdict(self)

    def columns(self) -> list[str]:
        """Every column the log must have (patterns already resolved)."""
        cols = [self.item, self.label, *self.group_by, *self.context, *self.numeric]
        cols += [c for c in (self.timestamp, self.history) if c]
        return list(dict.fromkeys(cols))


_SECTIONS = {
    "columns": {"item": str, "label": str, "timestamp": str, "context": list, "numeric": list, "item_features": list,
                "history": str},
    "lists": {"group_by": list, "session_seconds": (int, float)},
    "encoding": {"context_buckets": int, "item_buckets": int, "history_len": int, "history_separator": str},
    "split": {"valid_fraction": (int, float), "test_fraction": (int, float)},
}
_TYPE_NAMES = {str: "a string", list: "a list of column names", int: "an integer", (int, float): "a number"}


def load_schema(path: Path) -> LogSchema:
    data = read_toml(path, "schema file")
    values: dict = {}
    for section, table in data.items():
        if section not in _SECTIONS:
            raise ConfigError(f"{path}: unknown section [{section}] (expected {', '.join(_SECTIONS)})")
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: [{section}]: expected a table")
        for key, value in table.items():
            expected = _SECTIONS[section].get(key)
            if expected is None:
                raise ConfigError(f"{path}: [{section}] unknown key {key!r} (expected one of: "
                                  f"{', '.join(_SECTIONS[section])})")
            if isinstance(value, bool) or not isinstance(value, expected) or (
                    expected is list and (not value or not all(isinstance(v, str) and v for v in value))):
                raise ConfigError(f"{path}: [{section}] {key}: expected {_TYPE_NAMES[expected]}, got {value!r}")
            values[key] = tuple(value) if isinstance(value, list) else value
    for required, section in (("item", "columns"), ("label", "columns"), ("group_by", "lists")):
        if required not in values:
            raise ConfigError(f"{path}: [{section}] {required}: required (which column{'s' if required == 'group_by' else ''} "
                              f"{'form a candidate list' if required == 'group_by' else 'holds the ' + required})")
    # request-level numbers and item descriptors are both per-row floats to the model: one feature list
    values["numeric"] = tuple(values.pop("numeric", ())) + tuple(values.pop("item_features", ()))
    schema = LogSchema(**values)
    for name in ("context_buckets", "item_buckets", "history_len"):
        if getattr(schema, name) < 2:
            raise ConfigError(f"{path}: [encoding] {name}: expected an integer >= 2, got {getattr(schema, name)}")
    if schema.session_seconds is not None and schema.session_seconds <= 0:
        raise ConfigError(f"{path}: [lists] session_seconds: expected a positive number, got {schema.session_seconds}")
    if schema.session_seconds is not None and schema.timestamp is None:
        raise ConfigError(f"{path}: [lists] session_seconds needs [columns] timestamp")
    for name in ("valid_fraction", "test_fraction"):
        if not 0 < getattr(schema, name) < 0.5:
            raise ConfigError(f"{path}: [split] {name}: expected a number in (0, 0.5), got {getattr(schema, name)}")
    if not schema.numeric:
        raise ConfigError(f"{path}: [columns] numeric, item_features: at least one numeric column is needed (the candidate "
                          "features; an item's price, a user-item affinity, ...)")
    return schema
