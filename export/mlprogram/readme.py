"""The .mlpackage files' part of the bundle README."""

from __future__ import annotations

from . import MINIMUM_DEPLOYMENT


def files(manifest) -> str:
    ios, macos = MINIMUM_DEPLOYMENT["iOS"], MINIMUM_DEPLOYMENT["macOS"]
    shipped = {a.path: a for a in manifest.artifacts if a.format == "mlprogram"}
    w8a8 = ("  `ranker_w8a8.mlpackage` adds 8-bit activations (quantize / dequantize pairs, fp16 compute between\n"
            "  them), the form the Neural Engine can run int8-int8.\n") if "ranker_w8a8.mlpackage" in shipped else ""
    return f"""- **iOS {ios} / macOS {macos} or newer**: `ranker_int8.mlpackage` (ML Program, 8-bit weights, fp32
  compute) or `ranker_fp32.mlpackage`; ids are Int32 `MLMultiArray`s, `scores` is Float32 [1, K]. Each is a folder:
  add it to Xcode as it is, or download it and call `MLModel.compileModel(at:)`. fp32-compute programs run on the
  CPU or GPU (the Neural Engine computes in fp16); the ids are integers on every compute unit.
{w8a8}"""


def personal(manifest, personal, r) -> str:
    return ""  # Core ML trains only NeuralNetwork files on the device: the updatable file is the .mlmodel one
