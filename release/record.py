"""release.json: what a release promises, signed byte for byte (release.sig is the Ed25519 signature of the exact
bytes of release.json). Every file of the archive's bundle is listed with its SHA-256, so a client checks the
signature once and then each file, with no other trust."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..core.errors import InputError

RELEASE_VERSION = 1
KIND = "edgeship-release"
_SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")


@dataclass(frozen=True)
class PreviousRelease:
    version: str
    release_sha256: str = field(metadata={"doc": "SHA-256 of the previous release.json: what a rollback returns to"})


@dataclass(frozen=True)
class ReleaseRecord:
    version: str = field(metadata={"doc": "the model release, MAJOR.MINOR.PATCH; a client never installs an older "
                                          "one over a newer one"})
    contract_version: int = field(metadata={"doc": "features.json schema_version of the bundle"})
    min_client: str = field(metadata={"doc": "the oldest client library version that may load it (MAJOR.MINOR.PATCH)"})
    rollout: float = field(metadata={"doc": "the fraction of users who get it: bucket(user, salt) < rollout "
                                            "(docs/releases.md)"})
    salt: str = field(metadata={"doc": "what users are bucketed by for this release"})
    kill_switch: bool = field(metadata={"doc": "true: no client ranks with this release; they go back to previous "
                                               "(or fallback.json)"})
    previous: PreviousRelease | None
    key_id: str = field(metadata={"doc": "the signing key: first 16 hex digits of SHA-256 of its raw public key"})
    files: dict[str, str] = field(metadata={"doc": "every file of the archive but release.json and release.sig: "
                                                   "path -> SHA-256"})
    artifacts: list[str] | None = field(default=None, metadata={
        "doc": "a per-platform release: the model files of the bundle it carries (the manifest lists them all); "
               "null: every one"})
    schema_version: int = RELEASE_VERSION
    kind: str = KIND


def parse_version(text: str, option: str = "version") -> tuple[int, int, int]:
    match = _SEMVER.match(str(text))
    if match is None:
        raise InputError(f"expected MAJOR.MINOR.PATCH (e.g. 1.4.0), got {text!r}", option=option)
    return tuple(int(g) for g in match.groups())


SCHEMAS = {"release.schema.json": (ReleaseRecord, "edgeship release.json: what a signed release promises")}
