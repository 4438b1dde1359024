"""Training: seeded, deterministic, with one progress line per epoch."""

from __future__ import annotations

import time
from contextlib import contextmanager

import tensorflow as tf
import tf_keras as keras

from ..core.console import progress_stream
from .data import Requests
from .features import CANDIDATE_FEATURES, CANDIDATES, CONTEXT, HISTORY
from .metrics import auc
from .settings import Convergence, TrainConfig  # noqa: F401  defined TensorFlow-free, re-exported


def fresh_session() -> None:
    """Keras names layers by per-process counters, and the names end up in the saved files: a run that starts
    from a fresh session writes the same bytes whatever this process built before it (a test session, a study)."""
    keras.backend.clear_session()


def seed_everything(seed: int) -> None:
    """Same seed, same weights: seeds Python, NumPy and TF, and asks TF for deterministic kernels."""
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


class _Progress(keras.callbacks.Callback):
    def __init__(self, label: str, valid: Requests, stream=None):
        super().__init__()
        self.label, self.valid, self.stream = label, valid, stream
        self.started = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()
        self.trained = None

    def on_test_begin(self, logs=None):  # validation starts: the epoch's training steps are done
        if self.trained is None:
            self.trained = time.perf_counter() - self.started

    def on_epoch_end(self, epoch, logs=None):
        scores = self.model.predict(self.valid.inputs(), batch_size=1024, verbose=0)
        logs["val_auc"] = auc(scores, self.valid.labels)  # read by early stopping, which runs after this
        steps = f"training {self.trained:.1f}s of " if self.trained is not None else ""
        print(f"  {self.label} epoch {epoch + 1}/{self.params['epochs']}: loss {logs['loss']:.4f}  "
              f"val_loss {logs.get('val_loss', float('nan')):.4f}  val_auc {logs['val_auc']:.4f}  "
              f"({steps}{time.perf_counter() - self.started:.1f}s)", file=progress_stream(self.stream), flush=True)


def _callbacks(label: str, valid: Requests, schedule: TrainConfig, extra=()) -> list:
    # the item table overfits quickly: keep the epoch with the best validation score
    monitor = {"loss": ("val_loss", "min"), "auc": ("val_auc", "max")}[schedule.early_stopping]
    callbacks = [_Progress(label, valid),
                 keras.callbacks.EarlyStopping(monitor=monitor[0], mode=monitor[1], patience=schedule.patience,
                                               restore_best_weights=True)]
    if schedule.lr_decay < 1.0:
        callbacks.append(keras.callbacks.LearningRateScheduler(
            lambda epoch, lr: schedule.learning_rate * schedule.lr_decay ** epoch))
    return callbacks + list(extra)  # after _Progress: they read the epoch's val_auc


def convergence(model: keras.Model, schedule: TrainConfig) -> Convergence:
    """How the last fit of the model ended (its epochs, the best one kept, whether the cap cut it short)."""
    history = model.history.history
    return Convergence.of(history["val_auc" if schedule.early_stopping == "auc" else "val_loss"], schedule)


def _compile(model: keras.Model, learning_rate: float, steps_per_execution: int = 1) -> None:
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss=keras.losses.BinaryCrossentropy(from_logits=True), steps_per_execution=steps_per_execution)


@contextmanager
def batches(train: Requests, batch_size: int, epochs: int):
    """(dataset, steps per epoch): train as Keras would feed it from NumPy arrays (fit(x=arrays, shuffle=True)),
    a fresh permutation per epoch by the same ops, so the same seed draws the same batches; but each batch is
    gathered from the arrays in place, where Keras first copies every array into tensors (+0.9 GB of peak RSS
    on the built-in data). The arrays are let go on exit: TensorFlow keeps the gather function registered
    until the session is cleared."""
    n = len(train)
    held = [(train.context, train.history, train.candidates, train.candidate_features, train.labels)]
    dtypes = [tf.as_dtype(a.dtype) for a in held[0]]
    shapes = [(None,) + a.shape[1:] for a in held[0]]
    full = n // batch_size

    def permutation(_):  # tf_keras' TensorLikeDataAdapter: its shuffle's op seed is 0 in a fresh function graph
        return tf.random.shuffle(tf.range(n, dtype=tf.int64))

    def split(indices):
        batched = tf.data.Dataset.from_tensor_slices(tf.reshape(indices[: full * batch_size], [full, batch_size]))
        if n % batch_size:
            batched = batched.concatenate(tf.data.Dataset.from_tensors(indices[full * batch_size:]))
        return batched

    def gather(index):
        return tuple(a[index] for a in held[0])

    def grab(index):
        parts = tf.numpy_function(gather, [index], dtypes, stateful=False)
        for part, shape in zip(parts, shapes):
            part.set_shape(shape)
        context, history, candidates, features, labels = parts
        return {CONTEXT: context, HISTORY: history, CANDIDATES: candidates, CANDIDATE_FEATURES: features}, labels

    indices = tf.data.Dataset.range(1).repeat(epochs).map(permutation).prefetch(1).flat_map(split)
    try:
        data = indices.map(grab, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).prefetch(2)
        yield data, -(-n // batch_size)
    finally:
        held.clear()


def fit(model: keras.Model, train: Requests, valid: Requests, seed: int, label: str = "train",
        schedule: TrainConfig = TrainConfig(epochs=2, batch_size=128), callbacks=()) -> keras.Model:
    """Binary cross-entropy on each (request, candidate) click; the model sees whole slates, so the same
    weights score any number of candidates."""
    seed_everything(seed)
    # 16 steps per call of the compiled train function: the same steps in the same order (same weights), less
    # Python per step, which the batches gathered from NumPy compete with for the GIL
    _compile(model, schedule.learning_rate, steps_per_execution=16)
    with batches(train, schedule.batch_size, schedule.epochs) as (data, steps):
        model.fit(data, validation_data=(valid.inputs(), valid.labels), epochs=schedule.epochs,
                  steps_per_epoch=steps, verbose=0, callbacks=_callbacks(label, valid, schedule, callbacks))
    return model


def fit_stream(model: keras.Model, make_dataset, valid: Requests, seed: int, label: str = "train",
               schedule: TrainConfig = TrainConfig(epochs=2, batch_size=128), steps_per_epoch: int | None = None,
               callbacks=()) -> keras.Model:
    """The same loss over a tf.data pipeline (a log larger than memory); make_dataset() is read once per epoch,
    or, with steps_per_epoch (workers that must take the same number of steps), repeated."""
    seed_everything(seed)
    _compile(model, schedule.learning_rate)
    model.fit(make_dataset(), validation_data=(valid.inputs(), valid.labels), epochs=schedule.epochs, verbose=0,
              steps_per_epoch=steps_per_epoch, callbacks=_callbacks(label, valid, schedule, callbacks))
    return model
