"""The model and training settings: plain dataclasses, importable without TensorFlow (the config loader and
the CLI's input checks use them before the slow TensorFlow import)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace


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
    # what the history items are, beside what their embeddings learned: a frozen table of each item's mean
    # candidate features in the training rows (its category, say), pooled over the history and matched with each
    # candidate's features (docs/model_quality.md: +0.022 int8 NDCG@10 on the built-in data, two seeds)
    history_features: bool = True
    # after every hidden layer; at the default size and 6 M impressions two epochs do not overfit without it
    dropout: float = field(default=0.0, metadata={"min": 0.0, "max": 0.9})


AUTO = 0  # an epoch cap or batch size of 0: derived from the training rows (`TrainConfig.for_rows`)


@dataclass(frozen=True)
class BatchRule:
    """A batch size of 0 becomes the power of two nearest rows / steps, within [low, high]."""

    steps: int
    low: int
    high: int

    def size(self, rows: int) -> int:
        target = max(rows, 1) / self.steps
        return int(min(max(2 ** round(math.log2(max(target, 1))), self.low), self.high))


# The shipped ranker: ~500 updates an epoch where the data allows, never batches above 128 (the built-in default;
# 256 ranked worse in docs/model_quality.md's variant table): 7 k rows -> 32, 69 k -> 128, 6 M -> 128.
MODEL_BATCH = BatchRule(steps=500, low=32, high=128)
# The references: ~100 updates an epoch on a small log, batches up to 4,096 that keep a 400-400-400 MLP over 6 M
# impressions to minutes per epoch: 7 k rows -> 64, 60 k -> 512, 6 M -> 4096.
REFERENCE_BATCH = BatchRule(steps=100, low=64, high=4096)
# An epoch cap of 0: as many epochs as pass this many training rows, within [3, 50] (the default 5.4 M -> 7,
# 69 k -> 50). Early stopping ends training at its best epoch well before on every log measured; the cap only
# bounds the time of a run whose validation score keeps creeping up.
EPOCH_ROWS = 36_000_000
EPOCHS = (3, 50)


def scaled_epochs(rows: int) -> int:
    return int(min(max(math.ceil(EPOCH_ROWS / max(rows, 1)), EPOCHS[0]), EPOCHS[1]))


# A patience of 0: 3 below SMALL_LOG_ROWS training rows, 2 from there. A small log's epochs take seconds and its
# validation AUC can sit still for two epochs before climbing again: the generated app_usage log (69 k rows), seed
# 7, stopped at epoch 8 with patience 2 (best 6, test AUC 0.6555) and reached epoch 18 with 3 (0.6634, +0.0080);
# seeds 1, 2, 3 and the long_tail log (96 k rows, three seeds) stopped at the same best epoch either way
# (`python -m studies.patience`, docs/model_quality.md). On the built-in 5.4 M rows an epoch is 10-40 s and its
# three-seed study chose 2.
SMALL_LOG_ROWS = 1_000_000
PATIENCE = (3, 2)  # below SMALL_LOG_ROWS, from it


def scaled_patience(rows: int) -> int:
    return PATIENCE[0] if rows < SMALL_LOG_ROWS else PATIENCE[1]


@dataclass(frozen=True)
class TrainConfig:
    # at most (0: derived from the training rows, `scaled_epochs`): training stops early when the validation
    # score has not improved for `patience` epochs, and the best epoch's weights are kept
    epochs: int = field(default=AUTO, metadata={"min": 0})
    batch_size: int = field(default=AUTO, metadata={"min": 0, "doc": "0: derived from the training rows"})
    learning_rate: float = 2e-3
    lr_decay: float = field(default=1.0, metadata={"min": 0.01, "max": 1.0})  # learning rate x this every epoch
    # "auc" ranks: on a small log validation loss can rise from the first epoch while AUC still improves for
    # ten more (docs/model_quality.md); "loss" calibrates
    early_stopping: str = field(default="auc", metadata={"choices": ("loss", "auc")})
    # epochs without a better validation score before training stops (0: derived from the training rows,
    # `scaled_patience`): one epoch that dips before the score climbs again does not end training; on the
    # built-in data 3 would cost a sixth epoch (~25 s on a slow host) for nothing: its AUC peaks at epoch 3
    patience: int = field(default=AUTO, metadata={"min": 0, "doc": "0: derived from the training rows"})

    def for_rows(self, rows: int, batch: BatchRule = MODEL_BATCH) -> TrainConfig:
        """The schedule a training split of `rows` impressions is trained with (0s resolved)."""
        return replace(self, epochs=self.epochs or scaled_epochs(rows),
                       batch_size=self.batch_size or batch.size(rows), patience=self.patience or scaled_patience(rows))


def _reference_training() -> TrainConfig:
    # A yardstick trained to convergence: early stopping on validation AUC with a patience of 3 decides, and the
    # epoch cap is one a log is not expected to reach (a cap that stops a still-improving reference flatters the
    # model; the manifest flags it). The batch is scaled to the data (REFERENCE_BATCH).
    return TrainConfig(epochs=100, batch_size=AUTO, learning_rate=2e-3, early_stopping="auc", patience=3)


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
    batch_size: int = field(default=0, metadata={"doc": "the batch it was trained with"})

    @classmethod
    def of(cls, history: list[float], schedule: TrainConfig) -> Convergence:
        """From one validation score per epoch, as early stopping saw them."""
        values = list(history)
        better = max if schedule.early_stopping == "auc" else min
        best_epoch = values.index(better(values)) + 1
        return cls(len(values), best_epoch, schedule.epochs, schedule.patience, schedule.early_stopping,
                   float(values[best_epoch - 1]),
                   len(values) >= schedule.epochs and len(values) - best_epoch < schedule.patience,
                   schedule.batch_size)


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
