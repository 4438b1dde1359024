"""Int8 quantization: post-training calibration data and quantization-aware training (tfmot).

Only Dense layers are annotated for QAT: tfmot rejects integer inputs (its FakeQuant op wants float32) and has
no registry entry for Embedding, so the embedding tables are quantized post-training by the converter in both
the PTQ and the QAT path. What QAT adds is that the MLP learns weights that survive 8-bit rounding.
"""

from __future__ import annotations

from typing import Callable, Iterator

import tf_keras as keras

from ..models.data import Requests
from .types import Inputs


def representative_dataset(requests: Requests) -> Callable[[], Iterator[Inputs]]:
    """Yields one request at a time as a dict keyed by input name (the converter's own input order differs)."""

    def generate() -> Iterator[Inputs]:
        for i in range(len(requests)):
            yield requests.one(i)

    return generate


def quantization_aware_model(model: keras.Model) -> keras.Model:
    """A copy of the trained model with fake-quantized Dense layers, starting from its weights."""
    import tensorflow_model_optimization as tfmot

    q = tfmot.quantization.keras

    def annotate(layer):
        return q.quantize_annotate_layer(layer) if isinstance(layer, keras.layers.Dense) else layer

    annotated = keras.models.clone_model(model, clone_function=annotate)
    annotated.set_weights(model.get_weights())
    with q.quantize_scope():
        return q.quantize_apply(annotated)
