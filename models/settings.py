"""The model and training settings: plain dataclasses, importable without TensorFlow (the config loader and
the CLI's input checks use them before the slow TensorFlow import)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class RankerConfig:
    item_dim: int = 16
    context_dim: int = 8
    hidden: tuple[int, ...] = field(default=(64, 32), metadata={"nonempty": True, "min": 1})


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 6  # at most: training stops early when validation loss stops improving
    batch_size: int = 128
    learning_rate: float = 2e-3
