"""Dataclasses to and from plain data, checked: the one reader of every file edgeship takes or writes.

`load(cls, data, where)` builds a dataclass from a TOML table or a JSON object, checking each value against the
field's type, refusing unknown keys and naming the file and key of the first problem in one line.
`dump(obj)` is the inverse (NaN becomes null: JSON has no NaN), and `json_schema(cls)` describes the same shape
as a JSON Schema (draft 2020-12) for apps and CI that validate without Python.

Field metadata understood: `doc` (description), `min` / `max` (inclusive bounds of a number, or of each item of
a list), `choices` (allowed values of a string or of each item of a list), `nonempty` (a list needs an item),
`internal` (not part of the file).
"""

from __future__ import annotations

import dataclasses
import enum
import math
import types
import typing
from pathlib import Path
from typing import Any

from .errors import EdgeshipError, InputError

_NONE = type(None)


class _Where:
    """Where a value sits: `file: [section] key` in TOML style, `file: a.b[0].c` in JSON style."""

    def __init__(self, file: str, toml: bool, path: tuple = (), option: str | None = None):
        self.file, self.toml, self.path, self.option = file, toml, path, option

    def __truediv__(self, part) -> "_Where":
        return _Where(self.file, self.toml, self.path + (part,), self.option)

    def table(self) -> str:
        if not self.path:
            return self.file
        if self.toml:
            return f"{self.file}: [{'.'.join(map(str, self.path))}]"
        return f"{self.file}: {self._dotted(self.path)}"

    def key(self) -> str:
        if not self.path:
            return self.file
        if self.toml:
            *table, last = self.path
            head = f"[{'.'.join(map(str, table))}] " if table else ""
            return f"{self.file}: {head}{last}"
        return f"{self.file}: {self._dotted(self.path)}"

    @staticmethod
    def _dotted(path: tuple) -> str:
        text = ""
        for p in path:
            text += f"[{p}]" if isinstance(p, int) else (f".{p}" if text else str(p))
        return text


def fields_of(cls) -> list[dataclasses.Field]:
    return [f for f in dataclasses.fields(cls) if not f.metadata.get("internal")]


def _is_optional(t) -> tuple[bool, Any]:
    if typing.get_origin(t) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(t) if a is not _NONE]
        if len(args) == 1 and len(typing.get_args(t)) == 2:
            return True, args[0]
    return False, t


def _describe(t) -> str:
    optional, t = _is_optional(t)
    origin = typing.get_origin(t)
    if t is bool:
        return "true or false"
    if t is int:
        return "an integer"
    if t is float:
        return "a number"
    if t is str:
        return "a string"
    if isinstance(t, type) and issubclass(t, enum.Enum):
        return "one of " + ", ".join(repr(e.value) for e in t)
    if origin in (list, tuple):
        return f"a list of {_plural(typing.get_args(t)[0])}"
    if origin is dict or t is dict:
        return "a table"
    if dataclasses.is_dataclass(t):
        return "a table"
    return "a value"


def _plural(t) -> str:
    return {int: "integers", float: "numbers", str: "strings", bool: "booleans"}.get(t, "values")


def load(cls, data, where: str, *, toml: bool = True, error: type[EdgeshipError] = InputError):
    """A `cls` from plain data; `where` names the file in messages; `error` is what a problem is to the caller."""
    return _Loader(error).value(cls, data, _Where(where, toml), {})


def load_option(cls, name: str, value, error: type[EdgeshipError] = InputError):
    """One field of `cls` given as an option (a command-line flag), checked like the same key in a file; the
    error names the option, so the CLI can name its flag."""
    f = next(f for f in fields_of(cls) if f.name == name)
    return _Loader(error).value(typing.get_type_hints(cls)[name], value, _Where("", True, (name,), name), f.metadata)


class _Loader:
    def __init__(self, error: type[EdgeshipError]):
        self.error = error

    def fail(self, at: "_Where", problem: str, table: bool = False):
        if at.option is not None:  # a value given as an option (a CLI flag), not in a file
            raise self.error(problem, option=at.option)
        raise self.error(f"{at.table() if table else at.key()}: {problem}")

    def value(self, t, v, at: _Where, meta: typing.Mapping):
        optional, t = _is_optional(t)
        if v is None and (optional or t is float or t is Any):
            return float("nan") if t is float and not optional else None  # null is how JSON writes NaN
        origin = typing.get_origin(t)
        if dataclasses.is_dataclass(t):
            return self.record(t, v, at)
        if t is Any or t is object:
            return v
        if t is list:  # free-form nested lists (a test vector's input tensor)
            if not isinstance(v, list):
                self.fail(at, f"expected a list, got {v!r}")
            return v
        if t is Path:
            return Path(self.scalar(str, v, at, meta))
        if isinstance(t, type) and issubclass(t, enum.Enum):
            try:
                return t(v)
            except ValueError:
                self.fail(at, f"expected {_describe(t)}, got {v!r}")
        if origin in (list, tuple):
            item = typing.get_args(t)[0]
            if not isinstance(v, list) or (meta.get("nonempty") and not v):
                self.fail(at, f"expected {'a non-empty list' if meta.get('nonempty') else 'a list'} of "
                          f"{_plural(item)}, got {v!r}")
            items = [self.value(item, x, at / i if not at.toml else at, meta) for i, x in enumerate(v)]
            return tuple(items) if origin is tuple else items
        if origin is dict or t is dict:
            if not isinstance(v, dict):
                self.fail(at, f"expected a table, got {v!r}", table=True)
            args = typing.get_args(t)
            if not args:
                return v
            return {k: self.value(args[1], x, at / k, {}) for k, x in v.items()}
        return self.scalar(t, v, at, meta)

    def scalar(self, t, v, at: _Where, meta: typing.Mapping):
        ok = ((t is bool and isinstance(v, bool))
              or (t is int and isinstance(v, int) and not isinstance(v, bool))
              or (t is float and isinstance(v, (int, float)) and not isinstance(v, bool))
              or (t is str and isinstance(v, str)))
        if not ok:
            self.fail(at, f"expected {_describe(t)}, got {v!r}")
        if t is float:
            v = float(v)
        low, high = meta.get("min"), meta.get("max")
        if (low is not None and not v >= low) or (high is not None and not v <= high):
            bound = f"in [{low}, {high}]" if low is not None and high is not None else (
                f">= {low}" if low is not None else f"<= {high}")
            self.fail(at, f"expected {_describe(t)} {bound}, got {v!r}")
        choices = meta.get("choices")
        if choices is not None and v not in choices:
            self.fail(at, f"expected one of {', '.join(map(repr, choices))}, got {v!r}")
        return v

    def record(self, cls, v, at: _Where):
        if not isinstance(v, dict):
            self.fail(at, f"expected a table, got {v!r}", table=True)
        hints = typing.get_type_hints(cls)
        known = {f.name: f for f in fields_of(cls)}
        unknown = [k for k in v if k not in known]
        if unknown:
            self.fail(at, f"unknown key {unknown[0]!r} (expected one of: {', '.join(known)})", table=True)
        values = {}
        for name, f in known.items():
            if name in v:
                values[name] = self.value(hints[name], v[name], at / name, f.metadata)
            elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                if dataclasses.is_dataclass(hints[name]):  # a missing section: name what it lacks
                    values[name] = self.record(hints[name], {}, at / name)
                    continue
                hint = f.metadata.get("doc")
                self.fail(at / name, "required" + (f" ({hint})" if hint else ""))
        return cls(**values)


def dump(obj):
    """Plain JSON-able data: dataclasses as objects, enums as their values, tuples as lists, NaN as null."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: dump(getattr(obj, f.name)) for f in fields_of(obj)}
    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(obj, dict):
        return {str(k): dump(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [dump(v) for v in obj]
    if hasattr(obj, "item") and not isinstance(obj, (str, bytes)):  # numpy scalars
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    return str(obj)  # paths


def json_schema(cls, title: str, schema_id: str) -> dict:
    """A draft 2020-12 JSON Schema of what `dump` writes for `cls`: every field required, no other keys."""
    defs: dict[str, dict] = {}
    _bare_schema(cls, defs, {})
    root = defs.pop(cls.__name__)
    head = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": schema_id, "title": title}
    return {**head, **root, **({"$defs": dict(sorted(defs.items()))} if defs else {})}


def _schema_of(t, defs: dict, meta: typing.Mapping) -> dict:
    optional, t = _is_optional(t)
    out = _bare_schema(t, defs, meta)
    if optional:
        out = {"anyOf": [out, {"type": "null"}]}
    if meta.get("doc"):
        out = {**out, "description": meta["doc"]}
    return out


def _bare_schema(t, defs: dict, meta: typing.Mapping) -> dict:
    origin = typing.get_origin(t)
    if dataclasses.is_dataclass(t):
        name = t.__name__
        if name not in defs:
            defs[name] = {}  # placeholder against recursion
            hints = typing.get_type_hints(t)
            fs = fields_of(t)
            body = {"type": "object",
                    "properties": {f.name: _schema_of(hints[f.name], defs, f.metadata) for f in fs},
                    "required": [f.name for f in fs], "additionalProperties": False}
            doc = (t.__doc__ or "").strip().split("\n\n")[0]
            if doc and not doc.startswith(name + "("):
                body = {"description": " ".join(doc.split()), **body}
            defs[name] = body
        return {"$ref": f"#/$defs/{name}"}
    if t is Any or t is object:
        return {}
    if t is list:
        return {"type": "array"}
    if isinstance(t, type) and issubclass(t, enum.Enum):
        return {"enum": [e.value for e in t]}
    if origin in (list, tuple):
        item = _bare_schema(typing.get_args(t)[0], defs, {k: v for k, v in meta.items() if k != "nonempty"})
        out = {"type": "array", "items": item}
        return {**out, "minItems": 1} if meta.get("nonempty") else out
    if origin is dict or t is dict:
        args = typing.get_args(t)
        return {"type": "object", "additionalProperties": _bare_schema(args[1], defs, {}) if args else True}
    if t is bool:
        return {"type": "boolean"}
    if t is int:
        bounds = {k: meta[m] for k, m in (("minimum", "min"), ("maximum", "max")) if meta.get(m) is not None}
        return {"type": "integer", **bounds, **({"enum": list(meta["choices"])} if meta.get("choices") else {})}
    if t is float:  # undefined figures (NaN) are written as null
        return {"type": ["number", "null"]}
    if t is str or t is Path:
        return {"type": "string", **({"enum": list(meta["choices"])} if meta.get("choices") else {})}
    raise TypeError(f"no JSON Schema for {t!r}")
