"""The ONNX identity model in ORT format: the per-invoke overhead floor of an .ort file."""

from __future__ import annotations

import tempfile
from pathlib import Path

from ...core.tensors import TensorSpec
from ..onnx import identity as onnx_identity
from .convert import convert_file


def write(inputs: tuple[TensorSpec, ...], path: Path) -> Path:
    with tempfile.TemporaryDirectory() as tmp:
        convert_file(onnx_identity.write(inputs, Path(tmp) / "identity.onnx"), path)
    return path
