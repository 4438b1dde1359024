"""One config object, loaded from TOML and validated once at the edge; the rest of the code gets typed values."""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .errors import ConfigError
from .files import read_toml
from .export.types import QuantizationConfig
from .export.verify import Floors
from .models.data import SyntheticConfig
from .models.settings import RankerConfig, TrainConfig

FORMATS = ("tflite", "coreml", "onnx")


@dataclass(frozen=True)
class ExportConfig:
    candidates: int = 100  # K: candidates scored per call, fixed in every exported file
    formats: tuple[str, ...] = FORMATS
    verify_requests: int = 1_000  # test requests each artifact is executed on
    test_vectors: int = 5  # requests written to testvectors.json


@dataclass(frozen=True)
class LogConfig:
    """Train on a user's interaction log instead of the built-in data (both set, or neither)."""

    data: str = ""  # a .csv / .parquet file or a folder of shards
    schema: str = ""  # the schema TOML (models/schema.py)

    @property
    def enabled(self) -> bool:
        return bool(self.data)


@dataclass(frozen=True)
class RunConfig:
    seed: int = 7
    data: SyntheticConfig = field(default_factory=SyntheticConfig)
    model: RankerConfig = field(default_factory=RankerConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    quantization: QuantizationConfig = field(default_factory=QuantizationConfig)
    export: ExportConfig = field(default_factory=ExportConfig)
    floors: Floors = field(default_factory=Floors)
    log: LogConfig = field(default_factory=LogConfig)

    def to_dict(self) -> dict:
        return asdict(self)


def _coerce(value, annotation, where: str):
    """Check one TOML value against a dataclass field's type; the message names the field."""
    origin = typing.get_origin(annotation)
    if annotation is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{where}: expected true or false, got {value!r}")
    if annotation is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ConfigError(f"{where}: expected an integer, got {value!r}")
    if annotation is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise ConfigError(f"{where}: expected a number, got {value!r}")
    if annotation is str:
        if isinstance(value, str):
            return value
        raise ConfigError(f"{where}: expected a string, got {value!r}")
    if origin is tuple:
        item_type = typing.get_args(annotation)[0]
        if not isinstance(value, list) or not value:
            raise ConfigError(f"{where}: expected a non-empty list, got {value!r}")
        return tuple(_coerce(v, item_type, f"{where}[{i}]") for i, v in enumerate(value))
    raise ConfigError(f"{where}: unsupported setting")


def _build(cls, table: dict, file: str, section: str | None = None):
    where = f"{file}: [{section}]" if section else file
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: expected a table, got {table!r}")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(table) - known)
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r} (expected one of: {', '.join(sorted(known))})")
    values = {}
    for name, value in table.items():
        annotation = hints[name]
        if dataclasses.is_dataclass(annotation):
            values[name] = _build(annotation, value, file, name)
        else:
            values[name] = _coerce(value, annotation, f"{where} {name}")
    return cls(**values)


def _validate(cfg: RunConfig, where: str) -> RunConfig:
    def positive(section: str, name: str, value):
        if not value > 0:
            raise ConfigError(f"{where}: [{section}] {name}: expected a positive value, got {value!r}")

    for section in ("data", "model", "train", "quantization", "export"):
        for f in dataclasses.fields(getattr(cfg, section)):
            value = getattr(getattr(cfg, section), f.name)
            if isinstance(value, (int, float)) and not isinstance(value, bool) and f.name != "valid_fraction":
                positive(section, f.name, value)
    if not 0 < cfg.data.valid_fraction < 0.5:
        raise ConfigError(f"{where}: [data] valid_fraction: expected a number in (0, 0.5), got {cfg.data.valid_fraction}")
    if not 0 < cfg.data.target_ctr < 1:
        raise ConfigError(f"{where}: [data] target_ctr: expected a number in (0, 1), got {cfg.data.target_ctr}")
    if cfg.export.candidates > cfg.data.items:
        raise ConfigError(f"{where}: [export] candidates: {cfg.export.candidates} is more than [data] items "
                          f"({cfg.data.items})")
    if cfg.data.slate_size > cfg.data.items or cfg.data.history_len > cfg.data.items:
        raise ConfigError(f"{where}: [data] slate_size and history_len must not exceed items ({cfg.data.items})")
    bad = [f for f in cfg.export.formats if f not in FORMATS]
    if bad:
        raise ConfigError(f"{where}: [export] formats: unknown format {bad[0]!r} (expected some of {', '.join(FORMATS)})")
    if "tflite" not in cfg.export.formats and "onnx" in cfg.export.formats:
        raise ConfigError(f"{where}: [export] formats: onnx needs tflite (the int8 .onnx is derived from the int8 "
                          ".tflite)")
    if bool(cfg.log.data) != bool(cfg.log.schema):
        raise ConfigError(f"{where}: [log] data and schema go together (got {'data' if cfg.log.data else 'schema'} "
                          "only)")
    for name, value in asdict(cfg.floors).items():
        if not 0 <= value <= 1:
            raise ConfigError(f"{where}: [floors] {name}: expected a number in [0, 1], got {value}")
    return cfg


def load_config(path: Path | None, overrides: dict | None = None) -> RunConfig:
    """The built-in defaults, updated by a TOML file and then by command-line overrides."""
    table: dict = {}
    where = "config"
    if path is not None:
        where = str(path)
        table = read_toml(path, "config file")
    for key, value in (overrides or {}).items():
        table[key] = value
    cfg = _build(RunConfig, table, where)
    if path is not None and cfg.log.enabled:  # paths in a config file are relative to that file
        base = Path(path).parent
        cfg = dataclasses.replace(cfg, log=LogConfig(*(str(base / p) if p and not Path(p).is_absolute() else p
                                                       for p in (cfg.log.data, cfg.log.schema))))
    return _validate(cfg, where)
