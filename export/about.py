"""What every model file says about itself, in its own ecosystem's fields (ONNX doc_string and metadata_props;
Core ML description, author, licence, version and per-feature descriptions), so that the tools mobile developers
already use (Netron, Xcode) show it without the bundle's README. One source for every format and the README.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..models.features import CANDIDATE_FEATURES, CANDIDATES, CONTEXT, FEATURE_CLIP, HISTORY, SCORES, FeatureSpec
from ..ondevice.contract import CONTRACT_VERSION, FEATURES


@dataclass(frozen=True)
class Identity:
    """[export] name, version, author and licence written into every file (the app team's, not edgeship's)."""

    name: str = "edgeship_ranker"
    version: str = "1"
    author: str = "unspecified"
    license: str = "unspecified"


def meanings(spec: FeatureSpec, k: int) -> dict[str, str]:
    """One sentence per input and output."""
    scaled = (f"standardized as clip((x - mean) * scale, -{FEATURE_CLIP:g}, {FEATURE_CLIP:g}), mean and scale per "
              "feature in features.json" if spec.feature_mean is not None else "scaled as in training")
    return {
        CONTEXT: "request context, one int32 id per field: " + ", ".join(
            f"{f.name} (0..{f.cardinality - 1})" for f in spec.context_fields) + "; raw value -> id in features.json",
        HISTORY: f"ids of the {spec.history_len} most recent items the user interacted with, most recent first; "
                 "0 = none",
        CANDIDATES: f"ids of the {k} items to score (a shorter list: pad with 0)",
        CANDIDATE_FEATURES: f"per candidate: {', '.join(spec.item_features)}; {scaled}",
        SCORES: "one click logit per candidate, in the order of `candidates`; higher ranks first",
    }


@dataclass(frozen=True)
class About:
    identity: Identity
    description: str
    meanings: dict[str, str]
    facts: dict[str, str] = field(default_factory=dict)  # key -> value, for each format's free-form metadata

    @staticmethod
    def of(identity: Identity, spec: FeatureSpec, k: int, edgeship_version: str) -> "About":
        return About(identity, f"Ranks {k} candidate items for one request (edgeship ranker). Inputs are ids and "
                     f"features made from the raw request as {FEATURES} in the bundle says; output: click logits.",
                     meanings(spec, k),
                     {"edgeship_version": edgeship_version, "contract_version": str(CONTRACT_VERSION),
                      "contract_file": FEATURES, "candidates": str(k), "name": identity.name,
                      "version": identity.version, "author": identity.author, "license": identity.license})


def describe_onnx(model_proto, about: About) -> None:
    """doc_string, metadata_props and each input's and output's doc_string."""
    model_proto.doc_string = about.description
    del model_proto.metadata_props[:]
    for key, value in sorted(about.facts.items()):
        entry = model_proto.metadata_props.add()
        entry.key, entry.value = key, value
    for value in list(model_proto.graph.input) + list(model_proto.graph.output):
        value.doc_string = about.meanings.get(value.name, "")


def describe_coreml(spec, about: About) -> None:
    """What Xcode's model page shows: description, author, licence, version, per-feature descriptions, and the
    user-defined metadata with the edgeship and contract versions."""
    meta = spec.description.metadata
    meta.shortDescription = about.description
    meta.author = about.identity.author
    meta.license = about.identity.license
    meta.versionString = about.identity.version
    for key, value in about.facts.items():
        meta.userDefined[key] = value
    for feature in list(spec.description.input) + list(spec.description.output):
        feature.shortDescription = about.meanings.get(feature.name, "")
