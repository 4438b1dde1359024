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
    restore(installed, previous): after an app restart, a new store (with the `floor` the app persisted) takes
                    back the two archives the app kept: each checked again like a download (signature, record,
                    files, client, contract) but not against the floor; the floor stays, so a release rolled
                    back from or killed is still refused after the restart. Nothing changes on an error.
"""

from __future__ import annotations

from .make import Release, ReleaseError, admit, open_release
from .record import parse_version
from .rollout import in_rollout


class ReleaseStore:
    def __init__(self, public_keys: list, client_version: str, contracts: tuple[int, ...] = (2,),
                 floor: str | None = None):
        self.keys, self.client_version, self.contracts = public_keys, client_version, contracts
        self.slots: tuple[Release | None, Release | None] = (None, None)  # (installed, previous)
        # the newest version accepted: a rollback does not lower it; an app persists it across restarts
        self.floor: str | None = floor

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
            admit(release.record, self.client_version, self.contracts, self.floor)
        except ReleaseError as e:
            return e.code
        kept = self.installed
        killed = release.record.previous if release.record.kill_switch else None
        if kept is not None and killed is not None and kept.release_sha256 == killed.release_sha256:
            kept = self.previous  # the killed release is not a fallback: the one before it is
        self.slots = (release, kept)
        self.floor = release.record.version
        return "ok"

    def restore(self, installed: bytes, previous: bytes | None = None) -> str:
        """"ok" or the error code of the first archive that fails; nothing changes on an error."""
        pair = []
        try:
            for data in (installed, previous):
                release = None if data is None else open_release(data, self.keys)
                if release is not None:
                    admit(release.record, self.client_version, self.contracts, None)
                pair.append(release)
        except ReleaseError as e:
            return e.code
        self.slots = (pair[0], pair[1])
        if self.floor is None or parse_version(pair[0].record.version) > parse_version(self.floor):
            self.floor = pair[0].record.version
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
