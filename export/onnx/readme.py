"""The .onnx files' part of the bundle README."""

from __future__ import annotations


def files(manifest) -> str:
    return """- **ONNX Runtime** (including ONNX Runtime Mobile): `ranker_int8.onnx` is the int8 .tflite as a QDQ graph (the
  same integer model), `ranker_fp32.onnx` the float one.
"""
