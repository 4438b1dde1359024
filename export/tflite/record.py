"""TensorFlow Lite facts of a shipped file, under its key in the manifest's artifact entry."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class TFLiteDetails:
    signature: str = field(metadata={"doc": "the signature that scores a request"})
    operators: list[str]
    signatures: list[str] = field(default_factory=lambda: ["serving_default"])
    curvature_prior: list[float] | None = field(default=None, metadata={
        "doc": "the trainable file's q after reset: the curvature each head weight starts from (an app keeping the "
               "head itself starts q there)"})
    user_vector: int = field(default=0, metadata={
        "doc": "the trainable file's user vector length: it learns u against item vectors from the training "
               "histories (models.item_vectors, inside the file); 0 for a head without one"})
