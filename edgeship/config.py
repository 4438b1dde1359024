"""One config object, loaded from TOML and validated once at the edge; the rest of the code gets typed values."""

from __future__ import annotations

import dataclasses
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .core import typed
from .core.errors import ConfigError
from .core.files import read_toml
from .export import formats, recipes
from .export.about import Identity
from .export.parity import Floors
from .export.types import QuantizationConfig
from .models.data import SyntheticConfig
from .models.settings import RankerConfig, ReferenceConfig, TrainConfig
from .ondevice.personalization import ITEM_HEAD, VECTOR_HEAD, StudyConfig
from .ondevice.rules import RuleSet
from .ondevice.rules import check as check_rules


@dataclass(frozen=True)
class ExportConfig:
    candidates: int = 100  # K: candidates scored per call, fixed in every exported file
    formats: tuple[str, ...] = field(default=("tflite", "coreml", "mlprogram", "onnx", "ort"),
                                     metadata={"nonempty": True, "choices": formats.NAMES})
    verify_requests: int = 1_000  # test requests each artifact is executed on
    test_vectors: int = 5  # requests written to testvectors.json
    personal: bool = True  # also ranker_personal.tflite, which learns its user on the phone
    # its frozen ranker: int8 weights measured 174 KB vs 592 KB with the same personalization gain (v1 ranker, docs)
    personal_frozen: str = field(default="int8", metadata={"choices": ("fp32", "int8")})
    # what its head sees: the candidate features alone measured +0.119 NDCG@10 at n = 20 vs +0.074 with the
    # last hidden layer too; a bias per item id as well closes 31 % of the gap to the oracle at n = 50 instead
    # of 22 %, and a user vector against item vectors from the training histories 51 % (docs/personalization.md)
    personal_head: str = field(default=VECTOR_HEAD, metadata={
        "choices": ("features", ITEM_HEAD, VECTOR_HEAD, "features+hidden")})
    # fallback.json keeps this many items per context segment (the rest: their overall rate). Built-in data,
    # 1,000 test requests (baseline with every pair: NDCG@10 0.2180, 1.57 MB): 200 -> 0.1933 (140 KB),
    # 500 -> 0.2116 (226 KB), 1000 -> 0.2128 (375 KB)
    fallback_top: int = field(default=500, metadata={"min": 1})
    # [export.identity]: name, version, author and licence written into every file's own metadata
    identity: Identity = field(default_factory=Identity)

    @property
    def item_vectors(self) -> bool:
        """The trainable files' head learns a user vector against models.item_vectors: only then are they made."""
        return self.personal and self.personal_head == VECTOR_HEAD


@dataclass(frozen=True)
class LogConfig:
    """Train on a user's interaction log instead of the built-in data (both set, or neither; an impression log
    .jsonl needs no schema)."""

    data: str = ""  # a .csv / .parquet file or a folder of shards, or the app's impression log (.jsonl)
    schema: str = ""  # the schema TOML (models/schema.py); none for an impression log (its schema is implied)

    @property
    def enabled(self) -> bool:
        return bool(self.data)


@dataclass(frozen=True)
class RunConfig:
    seed: int = field(default=7, metadata={"min": 0, "max": 2**32 - 1})  # NumPy's seed range
    data: SyntheticConfig = field(default_factory=SyntheticConfig)
    model: RankerConfig = field(default_factory=RankerConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    quantization: QuantizationConfig = field(default_factory=QuantizationConfig)
    export: ExportConfig = field(default_factory=ExportConfig)
    floors: Floors = field(default_factory=Floors)
    log: LogConfig = field(default_factory=LogConfig)
    personalization: StudyConfig = field(default_factory=StudyConfig)
    reference: ReferenceConfig = field(default_factory=ReferenceConfig)
    # business rules on top of every ranking, written to rules.json (export/rules.py); none by default
    rules: RuleSet = field(default_factory=RuleSet)


def _validate(cfg: RunConfig, where: str) -> RunConfig:
    def positive(section: str, name: str, value):
        if not value > 0:
            raise ConfigError(f"{where}: [{section}] {name}: expected a positive value, got {value!r}")

    for section in ("data", "model", "train", "quantization", "export", "personalization"):
        for f in dataclasses.fields(getattr(cfg, section)):
            value = getattr(getattr(cfg, section), f.name)
            if isinstance(value, (int, float)) and not isinstance(value, bool) and f.name != "valid_fraction" \
                    and "min" not in f.metadata:  # a declared range is checked by the loader
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
    for name in cfg.export.formats:
        missing = [n for n in formats.get(name).needs if n not in cfg.export.formats]
        if missing:
            raise ConfigError(f"{where}: [export] formats: {name} needs {missing[0]} (its int8 file is converted "
                              f"from the {missing[0]} one)")
    if bool(cfg.log.data) != bool(cfg.log.schema) and not cfg.log.data.endswith(".jsonl"):
        raise ConfigError(f"{where}: [log] data and schema go together (got {'data' if cfg.log.data else 'schema'} "
                          "only)")
    study = cfg.personalization
    if 0 not in study.steps or 1 not in study.steps or study.choose_at not in study.steps:
        raise ConfigError(f"{where}: [personalization] steps: must include 0, 1 and choose_at ({study.choose_at}), "
                          f"got {list(study.steps)}")
    for name, value in asdict(cfg.floors).items():
        if not 0 <= value <= 1:
            raise ConfigError(f"{where}: [floors] {name}: expected a number in [0, 1], got {value}")
    check_rules(cfg.rules, where)
    recipes.resolve(cfg.quantization.recipes, where=where)  # every file read and checked before any training
    return cfg


def load_config(path: Path | None, overrides: dict | None = None) -> RunConfig:
    """The built-in defaults, updated by a TOML file and then by top-level options (e.g. {"seed": 3} from a
    command line), each checked like the same key in a file; an error names the option, not the file."""
    table: dict = {}
    where = "config"
    if path is not None:
        where = str(path)
        table = read_toml(path, "config file")
    cfg = typed.load(RunConfig, table, where, error=ConfigError)
    if overrides:
        cfg = dataclasses.replace(cfg, **{k: typed.load_option(RunConfig, k, v, ConfigError)
                                          for k, v in overrides.items()})
    if path is not None and cfg.log.enabled:  # paths in a config file are relative to that file
        base = Path(path).parent
        cfg = dataclasses.replace(cfg, log=LogConfig(*(str(base / p) if p and not Path(p).is_absolute() else p
                                                       for p in (cfg.log.data, cfg.log.schema))))
    if path is not None:  # so are recipe files
        base = Path(path).parent
        cfg = dataclasses.replace(cfg, quantization=dataclasses.replace(cfg.quantization, recipes=tuple(
            str(base / r) if r.endswith(".toml") and not Path(r).is_absolute() else r
            for r in cfg.quantization.recipes)))
    return _validate(cfg, where)


def bundle_config(manifest) -> RunConfig:
    """The run config a bundle was made with, from its manifest (studies rebuild its data or a variant of it)."""
    return typed.load(RunConfig, {k: v for k, v in manifest.config.items() if k != "source"}, "manifest.json config",
                      toml=False, error=ConfigError)
