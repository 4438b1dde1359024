"""The model and training settings: plain dataclasses, importable without TensorFlow (the config loader and
the CLI's input checks use them before the slow TensorFlow import)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class RankerConfig:
    """Defaults chosen by measurement (docs/model_quality.md): the table behind them is studies/model_variants."""

    item_dim: int = 16
    context_dim: int = 8
    # per context field, its own embedding size (e.g. {region = 4}); fields not named keep context_dim. Any
    # entry gives every field its own table (one lookup each) instead of the one shared table.
    context_dims: dict[str, int] = field(default_factory=dict)
    hidden: tuple[int, ...] = field(default=(64, 32), metadata={"nonempty": True, "min": 1})
    # candidate-aware attention over the history (DIN-style), beside the mean pooling
    attention: bool = True
    cross_layers: int = field(default=0, metadata={"min": 0})  # DCN-v2 cross layers over the joined vector
    # after every hidden layer; at the default size and 6 M impressions two epochs do not overfit without it
    dropout: float = field(default=0.0, metadata={"min": 0.0, "max": 0.9})


@dataclass(frozen=True)
class TrainConfig:
    # at most: training stops early when the validation score stops improving. On the default 6 M impressions
    # the best epoch was the 2nd (the 3rd overfits); more fresh data beats more epochs over the same data.
    epochs: int = 2
    batch_size: int = 128
    learning_rate: float = 2e-3
    lr_decay: float = field(default=1.0, metadata={"min": 0.01, "max": 1.0})  # learning rate x this every epoch
    # the epoch with the best validation score is restored; "auc" ranks, "loss" calibrates (and, with batch 128,
    # ranked better too: studies/model_variants over three seeds)
    early_stopping: str = field(default="loss", metadata={"choices": ("loss", "auc")})
    patience: int = field(default=1, metadata={"min": 1})


def _reference_training() -> TrainConfig:
    # A yardstick trained to convergence: early stopping on validation AUC with a patience of 3 decides, and the
    # epoch cap is one a log is not expected to reach (a cap that stops a still-improving reference flatters the
    # model; the manifest flags it). Large batches keep a 400-400-400 MLP over 6 M impressions to minutes per epoch.
    return TrainConfig(epochs=100, batch_size=1024, learning_rate=2e-3, early_stopping="auc", patience=3)


@dataclass(frozen=True)
class Convergence:
    """How a training run ended: at its best epoch by early stopping, or cut by the epoch cap while its
    validation score was still improving (then it is not a converged yardstick)."""

    epochs_run: int
    best_epoch: int = field(metadata={"doc": "1-based; its weights are the ones kept"})
    cap: int = field(metadata={"doc": "the schedule's epoch limit"})
    patience: int
    monitor: str = field(metadata={"doc": "the validation score early stopping watched"})
    best: float
    capped: bool = field(metadata={"doc": "the cap ended training fewer than `patience` epochs after its best: "
                                          "it might still have improved"})

    @classmethod
    def of(cls, history: list[float], schedule: TrainConfig) -> Convergence:
        """From one validation score per epoch, as early stopping saw them."""
        values = list(history)
        better = max if schedule.early_stopping == "auc" else min
        best_epoch = values.index(better(values)) + 1
        return cls(len(values), best_epoch, schedule.epochs, schedule.patience, schedule.early_stopping,
                   float(values[best_epoch - 1]),
                   len(values) >= schedule.epochs and len(values) - best_epoch < schedule.patience)


@dataclass(frozen=True)
class ReferenceConfig:
    """The models without mobile limits that every report can be held against (models/reference.py)."""

    enabled: bool = False  # `--reference`: also train both references and record them in the manifest
    embedding_dim: int = field(default=10, metadata={"min": 1})
    hidden: tuple[int, ...] = field(default=(400, 400, 400), metadata={"nonempty": True, "min": 1})
    dropout: float = field(default=0.2, metadata={"min": 0.0, "max": 0.9})
    train: TrainConfig = field(default_factory=_reference_training)
    # a linear model from zero weights needs larger steps than the DNN to converge in the same epochs
    logistic_learning_rate: float = field(default=1e-2, metadata={"min": 0.0})
