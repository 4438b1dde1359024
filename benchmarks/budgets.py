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
    max_p50_increase = 0.10     # relative to a baseline: p50 at most 10 % above it
    max_p90_increase = 0.20
    max_bytes_increase = 0.05
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path

from ..core import typed
from ..core.errors import ConfigError
from ..core.files import parse_toml, read_toml
from ..export import formats

DEFAULT_BUDGETS = "budgets.toml"  # shipped inside edgeship.benchmarks
PRECISIONS = ("fp32", "fp16", "int8")
_COUNT = {"min": 0}
_LIMIT = {"min": 0.0}


@dataclass(frozen=True)
class Profile:
    name: str = field(default="", metadata={"internal": True})  # the table's name, not a key in it
    formats: tuple[str, ...] | None = field(default=None, metadata={"nonempty": True, "choices": formats.NAMES})
    precisions: tuple[str, ...] | None = field(default=None, metadata={"nonempty": True, "choices": PRECISIONS})
    threads: int = field(default=1, metadata={"min": 1})
    candidates: int | None = field(default=None, metadata={"min": 1})
    max_bytes: int | None = field(default=None, metadata=_COUNT)
    max_download_bytes: int | None = field(default=None, metadata=_COUNT)
    max_p50_ms: float | None = field(default=None, metadata=_LIMIT)
    max_p90_ms: float | None = field(default=None, metadata=_LIMIT)
    max_peak_rss_mb: float | None = field(default=None, metadata=_LIMIT)
    min_ndcg_ratio: float | None = field(default=None, metadata=_LIMIT)
    max_macs: int | None = field(default=None, metadata=_COUNT)
    mobile_ops_only: bool = False
    max_p50_increase: float | None = field(default=None, metadata=_LIMIT)
    max_p90_increase: float | None = field(default=None, metadata=_LIMIT)
    max_bytes_increase: float | None = field(default=None, metadata=_LIMIT)

    @property
    def relative(self) -> bool:
        return any(v is not None for v in (self.max_p50_increase, self.max_p90_increase, self.max_bytes_increase))


@dataclass(frozen=True)
class BudgetsFile:
    profiles: dict[str, Profile] = field(metadata={"doc": "budgets go under [profiles.<name>]"})


def read_budgets(path: Path | None) -> tuple[dict[str, Profile], str]:
    """All profiles of a budgets file (the shipped default when path is None) and where they came from."""
    if path is None:
        where = f"(built-in {DEFAULT_BUDGETS})"
        data = parse_toml(resources.files(__package__).joinpath(DEFAULT_BUDGETS).read_text(encoding="utf-8"), where)
    else:
        where, data = str(path), read_toml(path, "budgets file")
    profiles = typed.load(BudgetsFile, data, where, error=ConfigError).profiles
    if not profiles:
        raise ConfigError(f"{where}: no [profiles.<name>] tables")
    return {name: replace(p, name=name) for name, p in profiles.items()}, where


def load_profile(path: Path | None, name: str) -> Profile:
    profiles, where = read_budgets(path)
    if name not in profiles:
        raise ConfigError(f"{where}: unknown profile {name!r} (profiles: {', '.join(sorted(profiles))})")
    return profiles[name]
