"""The .ort file's part of the bundle README."""

from __future__ import annotations

from . import REQUIRED_OPERATORS


def files(manifest) -> str:
    return f"""- **ONNX Runtime Mobile**: `ranker_int8.ort` is `ranker_int8.onnx` in ORT format (made by ONNX Runtime's own
  converter, optimized for ARM), verified like the other files; `{REQUIRED_OPERATORS}` lists its operators
  for a reduced ORT Mobile build (`--include_ops_by_config`).
"""
