"""Who gets a release: every client and server puts a user in the same bucket.

    bucket(user, salt) = the first 4 bytes of SHA-256(UTF-8(salt + ":" + user)), big-endian, / 2^32
    the user gets the release when bucket < rollout

A number in [0, 1) with 2^-32 resolution, exact as a double in every language. The salt is the release's
(release.json): derived from the version alone by default, so widening one version's rollout from 0.1 to 0.5
keeps the first 10 % inside, while another version draws a fresh 10 %.
"""

from __future__ import annotations

import hashlib


def bucket(user_id: str, salt: str) -> float:
    digest = hashlib.sha256(f"{salt}:{user_id}".encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") / 2 ** 32


def in_rollout(user_id: str, salt: str, rollout: float) -> bool:
    return bucket(user_id, salt) < rollout


def default_salt(version: str) -> str:
    return hashlib.sha256(f"edgeship-rollout:{version}".encode("utf-8")).hexdigest()[:32]
