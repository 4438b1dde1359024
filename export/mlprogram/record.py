"""Core ML ML Program facts of a shipped file, under its key in the manifest's artifact entry."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class MLProgramDetails:
    spec_version: int
    minimum_deployment: dict[str, str]
    compute_precision: str = field(metadata={"doc": "the precision the program computes in (its ops' types)"})
    weights_bits: int = field(metadata={"doc": "bits per stored weight of the tables and dense layers"})
    activations_bits: int = field(metadata={"doc": "8: quantize / dequantize pairs around the activations (W8A8)"})
