"""ORT-format facts of a shipped file, under its key in the manifest's artifact entry."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class OrtDetails:
    derived_from: str = field(metadata={"doc": "the .onnx this ORT-format file was made from"})
    target_platform: str
    optimization: str
    required_operators: str = field(metadata={
        "doc": "bundle file listing the operators a reduced ONNX Runtime Mobile build needs"})
    required_operators_sha256: str
