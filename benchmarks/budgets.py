"""Budgets: a TOML file of named device profiles under [profiles.<name>], each key optional.

    [profiles.low-end-android]
    formats = ["tflite"]        # which formats this profile ships; the bundle must have them
    precisions = ["int8"]       # which precisions it ships (a bundle also holds the fp32 references)
    threads = 1
    candidates = 100            # request size the app sends
    max_bytes = 524288          # file size
    max_download_bytes = 262144 # gzip -9 size
    max_p50_ms = 2.0            # host-measured latency; see docs/benchmarks.md on calibrating to a device
    max_p90_ms = 4.0
    max_peak_rss_mb = 16.0      # memory the model adds over the runtime's identity model
    min_ndcg_ratio = 0.99       # the bundle's own verification in each file's runtime
    max_macs = 1000000          # multiply-accumulates per request
    mobile_ops_only = true      # .tflite: builtin ops only; .onnx: loads from the ORT format mobile packages use
    max_p50_increase = 0.10     # relative to --baseline: p50 at most 10 % above it
    max_p90_increase = 0.20
    max_bytes_increase = 0.05
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from importlib import resources
from pathlib import Path

from ..errors import ConfigError
from ..files import parse_toml, read_toml

DEFAULT_BUDGETS = "budgets.toml"  # shipped inside edgeship.benchmarks
KNOWN_FORMATS = ("tflite", "onnx", "coreml")
KNOWN_PRECISIONS = ("fp32", "fp16", "int8")


@dataclass(frozen=True)
class Profile:
    name: str
    formats: tuple[str, ...] | None = None
    precisions: tuple[str, ...] | None = None
    threads: int = 1
    candidates: int | None = None
    max_bytes: int | None = None
    max_download_bytes: int | None = None
    max_p50_ms: float | None = None
    max_p90_ms: float | None = None
    max_peak_rss_mb: float | None = None
    min_ndcg_ratio: float | None = None
    max_macs: int | None = None
    mobile_ops_only: bool = False
    max_p50_increase: float | None = None
    max_p90_increase: float | None = None
    max_bytes_increase: float | None = None

    @property
    def relative(self) -> bool:
        return any(v is not None for v in (self.max_p50_increase, self.max_p90_increase, self.max_bytes_increase))


_INTS = {"threads", "candidates", "max_bytes", "max_download_bytes", "max_macs"}
_FLOATS = {"max_p50_ms", "max_p90_ms", "max_peak_rss_mb", "min_ndcg_ratio", "max_p50_increase",
           "max_p90_increase", "max_bytes_increase"}
KEYS = tuple(f.name for f in fields(Profile) if f.name != "name")


def _value(where: str, key: str, value):
    if key in _INTS:
        if isinstance(value, bool) or not isinstance(value, int) or value < (1 if key in ("threads", "candidates") else 0):
            raise ConfigError(f"{where}.{key}: expected a non-negative integer, got {value!r}")
        return value
    if key in _FLOATS:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ConfigError(f"{where}.{key}: expected a non-negative number, got {value!r}")
        return float(value)
    if key == "mobile_ops_only":
        if not isinstance(value, bool):
            raise ConfigError(f"{where}.{key}: expected true or false, got {value!r}")
        return value
    if key in ("formats", "precisions"):
        known = KNOWN_FORMATS if key == "formats" else KNOWN_PRECISIONS
        if not isinstance(value, list) or not value or any(v not in known for v in value):
            raise ConfigError(f"{where}.{key}: expected a non-empty list of {list(known)}, got {value!r}")
        return tuple(value)
    raise AssertionError(key)


def read_budgets(path: Path | None) -> tuple[dict[str, Profile], str]:
    """All profiles of a budgets file (the shipped default when path is None) and where they came from."""
    if path is None:
        where = f"(built-in {DEFAULT_BUDGETS})"
        data = parse_toml(resources.files(__package__).joinpath(DEFAULT_BUDGETS).read_text(encoding="utf-8"), where)
    else:
        where, data = str(path), read_toml(path, "budgets file")
    unknown_top = sorted(set(data) - {"profiles"})
    if unknown_top:
        raise ConfigError(f"{where}: unknown table {unknown_top[0]!r} (budgets go under [profiles.<name>])")
    profiles = data.get("profiles")
    if not isinstance(profiles, dict) or not profiles:
        raise ConfigError(f"{where}: no [profiles.<name>] tables")
    out = {}
    for name, table in profiles.items():
        at = f"{where}: profiles.{name}"
        if not isinstance(table, dict):
            raise ConfigError(f"{at}: expected a table")
        for key in table:
            if key not in KEYS:
                raise ConfigError(f"{at}: unknown key {key!r} (known: {', '.join(KEYS)})")
        out[name] = Profile(name, **{k: _value(at, k, v) for k, v in table.items()})
    return out, where


def load_profile(path: Path | None, name: str) -> Profile:
    profiles, where = read_budgets(path)
    if name not in profiles:
        raise ConfigError(f"{where}: unknown profile {name!r} (profiles: {', '.join(sorted(profiles))})")
    return profiles[name]
