"""The model and training settings: plain dataclasses, importable without TensorFlow (the config loader and
the CLI's input checks use them before the slow TensorFlow import)."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class RankerConfig:
    item_dim: int = 16
    context_dim: int = 8
    hidden: tuple[int, ...] = (64, 32)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 6  # at most: training stops early when validation loss stops improving
    batch_size: int = 128
    learning_rate: float = 2e-3

    def to_dict(self) -> dict:
        return asdict(self)
