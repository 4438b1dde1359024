"""TensorFlow Lite facts of a shipped file, under its key in the manifest's artifact entry."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class TFLiteDetails:
    signature: str = field(metadata={"doc": "the signature that scores a request"})
    operators: list[str]
    signatures: list[str] = field(default_factory=lambda: ["serving_default"])
