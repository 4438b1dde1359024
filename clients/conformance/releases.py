"""The release part of the suite: small signed archives and what every client must make of them (accept, or the
error code), and user buckets for staged rollouts. Written by `python -m clients.conformance` into releases/.

The keys are test keys derived from public seeds (below): anyone can sign with them, so no app may trust them.
Each case's expected outcome is written here by hand; the generator refuses to write a suite in which the Python
reference (edgeship.release) disagrees with it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent / "releases"
SEEDS = {"test": b"edgeship conformance test key (public seed: never trust it)",
         "other": b"edgeship conformance other key (public seed: never trust it)"}
CLIENT = "0.1.0"  # the client version a case runs as, unless it says otherwise
CONTRACTS = (2,)
FEATURES = Path(__file__).resolve().parent / "contracts" / "hashed" / "features.json"
# the served release: a real bundle's client files (the tests' tiny reference bundle, `make reference-bundle`)
SERVED = Path(__file__).resolve().parents[2] / "tests" / "data" / "reference_bundle"
SERVED_FILES = ("features.json", "vocabularies.json", "rules.json", "fallback.json", "ranker_int8.onnx")
SERVED_MODEL = "ranker_int8.onnx"


def _key(name: str):
    from cryptography.hazmat.primitives.asymmetric import ed25519

    return ed25519.Ed25519PrivateKey.from_private_bytes(hashlib.sha256(SEEDS[name]).digest())


def _pem(name: str) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return _key(name).public_key().public_bytes(serialization.Encoding.PEM,
                                                serialization.PublicFormat.SubjectPublicKeyInfo)


def _files() -> dict[str, bytes]:
    return {"bundle/manifest.json": b'{"note": "a conformance release: the release layer only"}\n',
            "bundle/features.json": FEATURES.read_bytes(),
            "bundle/ranker_int8.mlpackage/Manifest.json": b"{}\n",
            "bundle/ranker_int8.onnx": bytes(range(256)) * 3}


def _signed(version="1.2.0", *, key="test", files=None, edit=None, rollout=0.25, min_client="0.1.0", contract=2,
            kill_switch=False, previous=("1.1.0", "0" * 64), kind="edgeship-release",
            after=None) -> bytes:
    """A release archive; edit(body) changes release.json after signing, after(entries) the archive's entries."""
    from edgeship.release import archive, keys
    from edgeship.release.make import encode
    from edgeship.release.record import PreviousRelease, ReleaseRecord
    from edgeship.release.rollout import default_salt

    files = _files() if files is None else files
    record = ReleaseRecord(version=version, contract_version=contract, min_client=min_client, rollout=rollout,
                           salt=default_salt(version), kill_switch=kill_switch,
                           previous=PreviousRelease(*previous) if previous else None,
                           key_id=keys.key_id(_key(key).public_key()),
                           files={n: hashlib.sha256(d).hexdigest() for n, d in files.items()}, kind=kind)
    body = encode(record)
    entries = {**files, "release.json": body, "release.sig": _key(key).sign(body)}
    if edit is not None:
        entries["release.json"] = edit(body)
    if after is not None:
        after(entries)
    return archive.write(entries)


def _unsafe() -> bytes:
    import io
    import tarfile

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        info = tarfile.TarInfo("bundle/../../evil")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    return buffer.getvalue()


# name -> (archive bytes, keys the client holds, client version, installed version, expected: "ok" or a code)
def _cases() -> dict[str, tuple]:
    ok = _signed()
    return {
        "ok": (ok, ["test"], CLIENT, None, "ok"),
        "ok-second-key": (ok, ["other", "test"], CLIENT, None, "ok"),
        "ok-newer-than-installed": (ok, ["test"], CLIENT, "1.1.9", "ok"),
        "kill-switch": (_signed("1.2.1", kill_switch=True), ["test"], CLIENT, "1.2.0", "ok"),
        "rollback-named": (_signed("1.0.5", previous=("1.2.0", "1" * 64)), ["test"], CLIENT, "1.2.0", "ok"),
        "another-key": (ok, ["other"], CLIENT, None, "bad_signature"),
        "signed-by-other": (_signed(key="other"), ["test"], CLIENT, None, "bad_signature"),
        "record-edited": (_signed(edit=lambda b: b.replace(b'"rollout": 0.25', b'"rollout": 1.0')), ["test"], CLIENT,
                          None, "bad_signature"),
        "file-changed": (_signed(after=lambda e: e.update({"bundle/ranker_int8.onnx": bytes(768)})), ["test"],
                         CLIENT, None, "checksum_mismatch"),
        "file-added": (_signed(after=lambda e: e.update({"bundle/extra.bin": b"x"})), ["test"], CLIENT, None,
                       "unlisted_file"),
        "file-missing": (_signed(after=lambda e: e.pop("bundle/features.json")), ["test"], CLIENT, None,
                         "missing_file"),
        "no-signature": (_signed(after=lambda e: e.pop("release.sig")), ["test"], CLIENT, None, "not_a_release"),
        "truncated": (ok[:1500], ["test"], CLIENT, None, "bad_archive"),
        "unsafe-path": (_unsafe(), ["test"], CLIENT, None, "bad_archive"),
        "other-kind": (_signed(kind="something-else"), ["test"], CLIENT, None, "bad_record"),
        "client-too-old": (_signed(min_client="0.2.0"), ["test"], CLIENT, None, "client_too_old"),
        "client-new-enough": (_signed(min_client="0.2.0"), ["test"], "0.10.0", None, "ok"),
        "contract-unsupported": (_signed(contract=3), ["test"], CLIENT, None, "contract_unsupported"),
        "older-than-installed": (ok, ["test"], CLIENT, "1.3.0", "downgrade"),
        "same-as-installed": (ok, ["test"], CLIENT, "1.2.0", "downgrade"),
    }


def _scenarios() -> tuple[list[dict], dict[str, bytes]]:
    """Sequences of installs and rollbacks on one client's ReleaseStore, and which release each user ranks with
    after each step (None: fallback.json)."""
    from edgeship.release import archive

    def sha(data: bytes) -> str:  # a release's identity: the SHA-256 of its release.json
        return hashlib.sha256(archive.read(data, "release")["release.json"]).hexdigest()

    a = _signed("1.0.0", rollout=1.0, previous=None)
    b = _signed("1.1.0", rollout=0.5, previous=("1.0.0", sha(a)))
    k = _signed("1.1.1", rollout=1.0, kill_switch=True, previous=("1.1.0", sha(b)))
    c = _signed("1.2.0", rollout=1.0, previous=("1.1.0", sha(b)))
    archives = {"store-a.tar": a, "store-b.tar": b, "store-kill.tar": k, "store-c.tar": c}
    users = [f"user-{i}" for i in range(8)]
    plans = {
        "install, stage, refuse a downgrade, roll back": [
            ("install", "store-a.tar", "ok"), ("users",), ("install", "store-b.tar", "ok"), ("users",),
            ("install", "store-a.tar", "downgrade"), ("users",), ("rollback", True), ("users",),
            ("install", "store-b.tar", "downgrade"), ("rollback", False), ("install", "store-c.tar", "ok"), ("users",)],
        "a kill switch sends everyone back to the release before the killed one": [
            ("install", "store-a.tar", "ok"), ("install", "store-b.tar", "ok"), ("install", "store-kill.tar", "ok"),
            ("users",), ("install", "store-b.tar", "downgrade"), ("users",)],
        "a bad download changes nothing": [
            ("install", "store-a.tar", "ok"), ("install", "record-edited.tar", "bad_signature"), ("users",)],
        "nothing installed: fallback for everyone": [("users",), ("rollback", False)],
        # a restart: a new store with the floor the app persisted takes back the archives it kept
        "an app restart keeps the floor, so a release rolled back from stays refused": [
            ("install", "store-a.tar", "ok"), ("install", "store-b.tar", "ok"), ("rollback", True),
            ("restart", "1.1.0", "store-a.tar", None, "ok"), ("users",), ("install", "store-b.tar", "downgrade"),
            ("install", "store-c.tar", "ok"), ("users",)],
        "a restart with a damaged archive keeps nothing": [
            ("install", "store-a.tar", "ok"), ("restart", "1.0.0", "record-edited.tar", "store-a.tar", "bad_signature"),
            ("users",), ("install", "store-a.tar", "downgrade"), ("install", "store-b.tar", "ok"), ("users",)],
    }
    from edgeship.release.store import ReleaseStore

    every = {**archives, "record-edited.tar": _cases()["record-edited"][0]}
    scenarios = []
    for name, plan in plans.items():
        store = ReleaseStore([_key("test").public_key()], CLIENT, CONTRACTS)
        steps = []
        for step in plan:
            if step[0] == "install":
                got = store.install(every[step[1]])
                if got != step[2]:
                    raise AssertionError(f"scenario {name}: installing {step[1]} gives {got}, the suite says {step[2]}")
                steps.append({"install": step[1], "expect": got})
            elif step[0] == "restart":
                _, floor, installed, previous, expect = step
                store = ReleaseStore([_key("test").public_key()], CLIENT, CONTRACTS, floor=floor)
                got = store.restore(every[installed], None if previous is None else every[previous])
                if got != expect:
                    raise AssertionError(f"scenario {name}: restoring {installed} gives {got}, the suite says {expect}")
                steps.append({"restart": {"floor": floor, "installed": installed, "previous": previous},
                              "expect": got})
            elif step[0] == "rollback":
                got = store.rollback()
                if got != step[1]:
                    raise AssertionError(f"scenario {name}: rollback gives {got}, the suite says {step[1]}")
                steps.append({"rollback": True, "expect": got})
            else:
                steps.append({"users": {u: (r.record.version if (r := store.for_user(u)) else None) for u in users}})
        scenarios.append({"name": name, "steps": steps})
    return scenarios, archives


def _served() -> tuple[dict, bytes]:
    """A release of a real bundle: a client opens it, reads the bundle from the release's files, scores with the
    model file's bytes, and ranks each raw request as the bundle's testvectors_raw.json says (after rules.json)."""
    files = {"bundle/" + name: (SERVED / name).read_bytes() for name in SERVED_FILES}
    vectors = json.loads((SERVED / "testvectors_raw.json").read_text())
    cases = [{"what": c["what"], "request": c["request"], "ranked": c["with_rules"][SERVED_MODEL]}
             for c in vectors["cases"]]
    return ({"archive": "served.tar", "model_file": SERVED_MODEL, "cases": cases},
            _signed("2.0.0", rollout=1.0, previous=None, files=files))


BUCKETS = [("user-42", "1.0.0"), ("user-43", "1.0.0"), ("", "1.0.0"), ("usér-ü-東京", "1.0.0"),
           ("user-42", "1.1.0"), ("9f2c7e1a-3b4d-4c5e-8f60-7a8b9c0d1e2f", "2.0.0")]
ROLLOUTS = (0.01, 0.1, 0.5, 1.0)


def _reference(data: bytes, held: list[str], client: str, installed: str | None) -> dict:
    from edgeship.release.make import ReleaseError, admit, open_release

    try:
        release = open_release(data, [_key(k).public_key() for k in held])
        admit(release.record, client, CONTRACTS, installed)
    except ReleaseError as e:
        return {"error": e.code}
    r = release.record
    return {"version": r.version, "rollout": r.rollout, "salt": r.salt, "kill_switch": r.kill_switch,
            "previous": r.previous.version if r.previous else None, "release_sha256": release.release_sha256,
            "files": sorted(release.files)}


def document() -> tuple[dict, dict[str, bytes]]:
    from edgeship.release.rollout import bucket, default_salt

    cases, archives = [], {}
    for name, (data, held, client, installed, expected) in _cases().items():
        got = _reference(data, held, client, installed)
        if got.get("error", "ok") != expected:
            raise AssertionError(f"release case {name}: the Python reference gives {got}, the suite says {expected}")
        archives[f"{name}.tar"] = data
        cases.append({"name": name, "archive": f"{name}.tar", "keys": held, "client_version": client,
                      "installed": installed, "expected": got})
    buckets = []
    for user, version in BUCKETS:
        salt = default_salt(version)
        value = bucket(user, salt)
        buckets.append({"user": user, "salt": salt, "bucket": value, "bucket_u32": int(value * 2 ** 32),
                        "in_rollout": {str(f): value < f for f in ROLLOUTS}})
    scenarios, store_archives = _scenarios()
    served, served_archive = _served()
    doc = {"format": "edgeship-release-conformance", "release_schema_version": 1, "contracts": list(CONTRACTS),
           "client_version": CLIENT, "keys": {name: f"{name}.pub" for name in SEEDS}, "cases": cases,
           "buckets": buckets, "scenarios": scenarios, "served": served}
    return doc, {**archives, **store_archives, "served.tar": served_archive}


def write(folder: Path = HERE) -> list[Path]:
    from edgeship.core.files import write_json

    doc, archives = document()
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name in SEEDS:
        (folder / f"{name}.pub").write_bytes(_pem(name))
        written.append(folder / f"{name}.pub")
    for name, data in archives.items():
        (folder / name).write_bytes(data)
        written.append(folder / name)
    write_json(folder / "releases.json", doc)
    return written + [folder / "releases.json"]


def read() -> dict:
    return json.loads((HERE / "releases.json").read_text())
