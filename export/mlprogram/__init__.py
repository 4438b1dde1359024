"""Core ML ML Program (.mlpackage, a folder): convert (fp32, 8-bit weights, W8A8), runtime (Core ML on Apple
platforms, the NumPy executor of the MIL program elsewhere: mil.py), inspect, package (the folder on disk). The
updatable file stays a NeuralNetwork (export/coreml/personal.py): Core ML trains only NeuralNetwork models on the
device. No identity model: benchmarks cannot time Core ML here."""

from ..format import ATOL, Format
from .record import MLProgramDetails

# iOS 17 / macOS 14 (spec version 8): the opset with quantize / dequantize, which W8A8 needs
MINIMUM_DEPLOYMENT = {"iOS": "17", "macOS": "14"}
COMPUTE_PRECISION = "fp32"  # fp16 would round item-embedding rows and scores; the .tflite / .onnx compute fp32


class MLProgram(Format):
    def tolerance(self, precision: str) -> float:
        # Core ML may pick other float kernels than the NumPy executor that recorded the vectors; the W8A8 file
        # computes in fp16 between its int8 activations, where a device's accumulation order moves an output step
        return 1e-3 if precision == "fp32" else ATOL["int8"]


FORMAT = MLProgram("mlprogram", ".mlpackage", "Core ML ML Program", timed=False, record=MLProgramDetails)
