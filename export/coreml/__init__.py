"""Core ML: convert (NeuralNetwork .mlmodel, fp32 and 8-bit weights), runtime (Core ML on Apple platforms, the
NumPy executor of the saved spec elsewhere), inspect, and personal (the updatable file). No identity model:
benchmarks cannot time Core ML here."""

from dataclasses import dataclass

MINIMUM_DEPLOYMENT = {"iOS": "13", "macOS": "10.15"}  # NeuralNetwork spec version 4 (ND layers, updatable models)


@dataclass(frozen=True)
class UpdateNames:
    """The updatable file's training interface (export/coreml/personal.py)."""

    output: str = "tap_probability"  # softmax(scores) over the candidates [1, K, 1, 1]: what the loss sees
    target: str = "tapped"  # training input, Int64: the index of the tapped candidate
    learning_rate: float = 1.0  # the file's default; the personalization study's choice is in the manifest
    max_learning_rate: float = 1000.0  # the range an app may pass in MLModelConfiguration.parameters


UPDATE = UpdateNames()


from ..format import Format
from .record import CoreMLDetails


class CoreML(Format):
    def tolerance(self, precision: str) -> float:
        return 1e-3  # Core ML may pick other float kernels than the NumPy executor that recorded the vectors

    def trainable(self, details) -> bool:
        return details is not None and details.updatable


# Core ML predicts only on Apple platforms; elsewhere its files are checked by a NumPy executor of the saved
# spec, which is exact but says nothing about Core ML's speed, so benchmarks do not time it
FORMAT = CoreML("coreml", ".mlmodel", "Core ML", timed=False, personal=True, record=CoreMLDetails)
