"""What a client keeps: the installed release and the one before it, and which of them (if any) ranks for a
user. The Python reference of the client libraries' ReleaseStore (clients/conformance/releases: the scenarios).

    install(bytes): open_release + admit (against the newest version this store accepted); on success the
                    installed release becomes the previous one and the new one is installed (one assignment: a
                    reader sees the old pair or the new pair); on failure nothing changes and the code is returned.
                    A kill-switch release K is installed like any other (it raises the version floor, so the
                    killed release is never taken again), and the release it names as `previous` - the one it
                    kills - is dropped: the store keeps the release before that one.
    rollback():     the previous release is installed again (and there is no previous any more); the newest
                    version accepted stays the floor, so the release rolled back from is not taken again
    for_user(user): the installed release when its kill switch is off and the user's bucket is inside its
                    rollout; else the previous release under the same test; else None (rank with fallback.json)
"""

from __future__ import annotations

from .make import Release, ReleaseError, admit, open_release
from .rollout import in_rollout


class ReleaseStore:
    def __init__(self, public_keys: list, client_version: str, contracts: tuple[int, ...] = (2,)):
        self.keys, self.client_version, self.contracts = public_keys, client_version, contracts
        self.slots: tuple[Release | None, Release | None] = (None, None)  # (installed, previous)
        self.latest: str | None = None  # the newest version accepted: a rollback does not lower it

    @property
    def installed(self) -> Release | None:
        return self.slots[0]

    @property
    def previous(self) -> Release | None:
        return self.slots[1]

    def install(self, data: bytes) -> str:
        """"ok" or the error code; nothing changes on an error."""
        try:
            release = open_release(data, self.keys)
            admit(release.record, self.client_version, self.contracts, self.latest)
        except ReleaseError as e:
            return e.code
        kept = self.installed
        killed = release.record.previous if release.record.kill_switch else None
        if kept is not None and killed is not None and kept.release_sha256 == killed.release_sha256:
            kept = self.previous  # the killed release is not a fallback: the one before it is
        self.slots = (release, kept)
        self.latest = release.record.version
        return "ok"

    def rollback(self) -> bool:
        if self.previous is None:
            return False
        self.slots = (self.previous, None)
        return True

    def for_user(self, user: str) -> Release | None:
        for release in self.slots:
            if release is not None and not release.record.kill_switch and in_rollout(
                    user, release.record.salt, release.record.rollout):
                return release
        return None
