"""Training: seeded, deterministic, with one progress line per epoch."""

from __future__ import annotations

import sys
import time

import tensorflow as tf
import tf_keras as keras

from .data import Requests
from .metrics import auc
from .settings import TrainConfig  # noqa: F401  defined TensorFlow-free, re-exported


def seed_everything(seed: int) -> None:
    """Same seed, same weights: seeds Python, NumPy and TF, and asks TF for deterministic kernels."""
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


class _Progress(keras.callbacks.Callback):
    def __init__(self, label: str, valid: Requests, stream=sys.stderr):
        super().__init__()
        self.label, self.valid, self.stream = label, valid, stream
        self.started = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        scores = self.model.predict(self.valid.inputs(), batch_size=1024, verbose=0)
        print(f"  {self.label} epoch {epoch + 1}/{self.params['epochs']}: loss {logs['loss']:.4f}  "
              f"val_loss {logs.get('val_loss', float('nan')):.4f}  val_auc {auc(scores, self.valid.labels):.4f}  "
              f"({time.perf_counter() - self.started:.1f}s)", file=self.stream, flush=True)


def _callbacks(label: str, valid: Requests) -> list:
    # the item table overfits quickly: keep the epoch with the best validation loss
    return [_Progress(label, valid),
            keras.callbacks.EarlyStopping(monitor="val_loss", patience=1, restore_best_weights=True)]


def _compile(model: keras.Model, learning_rate: float) -> None:
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss=keras.losses.BinaryCrossentropy(from_logits=True))


def fit(model: keras.Model, train: Requests, valid: Requests, epochs: int, batch_size: int, learning_rate: float,
        seed: int, label: str = "train") -> keras.Model:
    """Binary cross-entropy on each (request, candidate) click; the model sees whole slates, so the same
    weights score any number of candidates."""
    seed_everything(seed)
    _compile(model, learning_rate)
    model.fit(train.inputs(), train.labels, validation_data=(valid.inputs(), valid.labels),
              batch_size=batch_size, epochs=epochs, shuffle=True, verbose=0, callbacks=_callbacks(label, valid))
    return model


def fit_stream(model: keras.Model, make_dataset, valid: Requests, epochs: int, learning_rate: float, seed: int,
               label: str = "train") -> keras.Model:
    """The same loss over a tf.data pipeline (a log larger than memory); make_dataset() is read once per epoch."""
    seed_everything(seed)
    _compile(model, learning_rate)
    model.fit(make_dataset(), validation_data=(valid.inputs(), valid.labels), epochs=epochs, verbose=0,
              callbacks=_callbacks(label, valid))
    return model
