"""Core ML facts of a shipped file, under its key in the manifest's artifact entry."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class CoreMLDetails:
    spec_version: int
    minimum_deployment: dict[str, str]
    compute_units: str
    updatable: bool = field(default=False, metadata={
        "doc": "Core ML's update task trains it on the device (an updatable NeuralNetwork)"})
    user_vector: int = field(default=0, metadata={
        "doc": "the updatable head also weighs each candidate's item vector (models.item_vectors, frozen in the "
               "file) with this many weights: a user vector; 0 for none"})
