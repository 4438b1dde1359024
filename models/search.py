"""What `edgeship tune` searches over, and the records of a search. TensorFlow-free: the space is plain data,
a trial's parameters map to a ranker and a schedule without building anything.

The space: each context field's embedding size, the item embedding, the MLP's first width and depth (each next
layer half the one before), attention over the history on or off, the history's item features on or off, DCN-v2
cross layers, dropout; the learning rate (log scale), the batch (or 0: derived from the rows) and the per-epoch
learning-rate decay.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from .settings import RankerConfig, TrainConfig

CONTEXT_DIMS = (2, 4, 8, 16)
ITEM_DIMS = (8, 16, 32)
WIDTHS = (16, 32, 64, 128, 256)
DEPTHS = (1, 2, 3)
CROSS = (0, 1, 2)
DROPOUT = (0.0, 0.1, 0.2, 0.3)
LEARNING_RATE = (5e-4, 1e-2)
BATCHES = (0, 64, 128, 256, 512)
DECAY = (1.0, 0.8, 0.6)


def suggest(trial, context_fields: list[str]) -> dict:
    """One point of the space, drawn by an Optuna trial (its suggest_* methods): parameter name -> value."""
    params = {f"dim_{name}": trial.suggest_categorical(f"dim_{name}", CONTEXT_DIMS) for name in context_fields}
    params |= {
        "item_dim": trial.suggest_categorical("item_dim", ITEM_DIMS),
        "width": trial.suggest_categorical("width", WIDTHS),
        "depth": trial.suggest_categorical("depth", DEPTHS),
        "attention": trial.suggest_categorical("attention", (True, False)),
        "history_features": trial.suggest_categorical("history_features", (True, False)),
        "cross_layers": trial.suggest_categorical("cross_layers", CROSS),
        "dropout": trial.suggest_categorical("dropout", DROPOUT),
        "learning_rate": trial.suggest_float("learning_rate", *LEARNING_RATE, log=True),
        "batch_size": trial.suggest_categorical("batch_size", BATCHES),
        "lr_decay": trial.suggest_categorical("lr_decay", DECAY),
    }
    return params


def configs(params: dict, model: RankerConfig, train: TrainConfig) -> tuple[RankerConfig, TrainConfig]:
    """The ranker and schedule of a point (what the point does not name stays as given)."""
    dims = {k[len("dim_"):]: int(v) for k, v in params.items() if k.startswith("dim_")}
    hidden = tuple(max(int(params["width"]) >> i, 4) for i in range(int(params["depth"])))
    return (replace(model, item_dim=int(params["item_dim"]), context_dims=dims, hidden=hidden,
                    attention=bool(params["attention"]), history_features=bool(params["history_features"]),
                    cross_layers=int(params["cross_layers"]), dropout=float(params["dropout"])),
            replace(train, learning_rate=float(params["learning_rate"]), batch_size=int(params["batch_size"]),
                    lr_decay=float(params["lr_decay"])))


def point(model: RankerConfig, train: TrainConfig, context_fields: list[str]) -> dict | None:
    """The configured ranker and schedule as a point of the space (the search's first trial: where it is inside the
    budget, a search then never ships worse on validation than what it started from), or None where a value is
    off the space's grid. Its context fields each get their own table of the configured size (the space has no
    shared table)."""
    params = {f"dim_{name}": model.context_dims.get(name, model.context_dim) for name in context_fields}
    params |= {"item_dim": model.item_dim, "width": model.hidden[0], "depth": len(model.hidden),
               "attention": model.attention, "history_features": model.history_features,
               "cross_layers": model.cross_layers, "dropout": model.dropout,
               "learning_rate": train.learning_rate, "batch_size": train.batch_size, "lr_decay": train.lr_decay}
    grid = {"item_dim": ITEM_DIMS, "width": WIDTHS, "depth": DEPTHS, "attention": (True, False),
            "history_features": (True, False), "cross_layers": CROSS, "dropout": DROPOUT, "batch_size": BATCHES,
            "lr_decay": DECAY}
    on_grid = (all(params[k] in values for k, values in grid.items())
               and all(params[f"dim_{name}"] in CONTEXT_DIMS for name in context_fields)
               and LEARNING_RATE[0] <= train.learning_rate <= LEARNING_RATE[1]
               and configs(params, model, train)[0].hidden == tuple(model.hidden))
    return params if on_grid else None


@dataclass(frozen=True)
class Budget:
    """The constraints a shipped point must meet, from a gate profile (benchmarks/budgets.toml)."""

    profile: str
    format: str
    max_bytes: int | None = None
    max_macs: int | None = None
    max_p50_ms: float | None = None
    threads: int = field(default=1, metadata={"doc": "the threads p50 is timed with, as the gate times it"})

    def _limits(self, bytes_: int, macs: int | None, p50_ms: float):
        """(key, what a reader calls it, limit, value) of each constraint the profile sets."""
        return [(key, label, limit, value) for key, label, limit, value in (
            ("max_bytes", "bytes", self.max_bytes, bytes_), ("max_macs", "MACs", self.max_macs, macs),
            ("max_p50_ms", "p50 ms", self.max_p50_ms, p50_ms)) if limit is not None]

    def violations(self, bytes_: int, macs: int | None, p50_ms: float) -> dict[str, float]:
        """Per constraint, (value - limit) / limit: <= 0 where it holds (Optuna's constraint convention); an
        unknown value (no MACs count) breaks it."""
        return {key: (value - limit) / limit if value is not None else 1.0
                for key, _, limit, value in self._limits(bytes_, macs, p50_ms)}

    def broken(self, bytes_: int, macs: int | None, p50_ms: float) -> list[str]:
        """The constraints a point breaks, each as a reader would say it."""
        over = self.violations(bytes_, macs, p50_ms)
        return [f"{label} {value} > {limit}" for key, label, limit, value in self._limits(bytes_, macs, p50_ms)
                if over[key] > 0]


@dataclass(frozen=True)
class TrialRecord:
    number: int
    state: str = field(metadata={"doc": "complete | pruned | fail"})
    params: dict
    quality: float | None = field(default=None, metadata={
        "doc": "the first objective: the search's metric (SearchRecord.metric) of the int8 file on validation"})
    valid_auc: float | None = field(default=None, metadata={
        "doc": "validation AUC of the int8 file executed by its runtime"})
    valid_ndcg_at_10: float | None = field(default=None, metadata={
        "doc": "its validation NDCG@10 where the validation requests are lists"})
    p50_ms: float | None = field(default=None, metadata={"doc": "its p50 latency on this host (bench harness)"})
    recipe: str | None = field(default=None, metadata={
        "doc": "the quantization recipe of that int8 file: the one the export stage would ship"})
    bytes: int | None = None
    macs: int | None = None
    parameters: int | None = None
    epochs: list[float] = field(default_factory=list, metadata={"doc": "validation AUC of the Keras model per epoch"})
    feasible: bool = False
    broken: list[str] = field(default_factory=list)
    seconds: float = 0.0


@dataclass(frozen=True)
class SearchRecord:
    """A bundle's provenance when `edgeship tune` chose its model (manifest.search; search.json holds it too)."""

    budget: Budget
    metric: str = field(metadata={"doc": "auc | ndcg_at_10: the quality objective (tune.metric_for)"})
    objectives: list[str]
    trials: int
    complete: int
    pruned: int
    chosen: TrialRecord
    runner_up: TrialRecord | None
    sampler: str
    storage: str
    seed: int
