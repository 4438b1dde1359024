"""Export stage: quantization, one module per format (same call shape), verification and the bundle.

Each format module exposes FORMAT, RUNTIME, export(job, out_dir) -> list[Artifact], load(path) -> callable
scoring one request, describe(path) -> (inputs, outputs) and runtime_version().
"""

from importlib import import_module

FORMAT_MODULES = {"tflite": "tflite", "onnx": "onnx", "coreml": "coreml"}


def format_module(name: str):
    """The module for a format name; imported lazily because each pulls in a heavy converter."""
    return import_module(f"{__name__}.{FORMAT_MODULES[name]}")
