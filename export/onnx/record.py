"""ONNX facts of a shipped file, under its key in the manifest's artifact entry."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class OnnxDetails:
    opset: int
    derived_from: str | None = field(default=None, metadata={"doc": "the file this graph was converted from"})
