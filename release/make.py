"""`edgeship release` (a verified bundle -> one signed archive) and the check of a release (`edgeship verify
RELEASE --public-key KEY`). The checks a client makes before it uses a release are the same, in the same order:
the signature over release.json's bytes, the key id, then every file against release.json (none missing, none
extra); this side then re-checks the bundle itself (checksums, schemas, test vectors in each runtime)."""

from __future__ import annotations

import hashlib
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..core import typed
from ..core.errors import AlreadyExists, BundleError, InputError
from ..core.files import package_files
from ..export.reader import check_bundle, read_manifest
from . import archive, keys
from .record import KIND, RELEASE_VERSION, PreviousRelease, ReleaseRecord, parse_version
from .rollout import default_salt

RELEASE_JSON, SIGNATURE, BUNDLE = "release.json", "release.sig", "bundle/"


@dataclass(frozen=True)
class Release:
    """A release whose signature and files have been checked."""

    record: ReleaseRecord
    release_sha256: str
    files: dict[str, bytes]  # bundle-relative path -> content


def _bundle_files(entries: dict[str, bytes]) -> dict[str, bytes]:
    """The archive's bundle/ entries by their path in the bundle."""
    return {name[len(BUNDLE):]: data for name, data in entries.items()}


def encode(record: ReleaseRecord) -> bytes:
    return (json.dumps(typed.dump(record), indent=2, sort_keys=True, allow_nan=False) + "\n").encode("utf-8")


def _contents(bundle: Path, manifest, only: tuple[str, ...] | None) -> dict[str, bytes]:
    """The archive's bundle/ entries: every file of the bundle, or (a per-platform release) every file but the
    model files not in `only` and the side files only they need (e.g. the .ort's operator list)."""
    from ..export import formats

    names = package_files(bundle)
    if only is not None:
        paths = {e.path for e in manifest.artifacts}
        unknown = sorted(set(only) - paths)
        if unknown:
            raise InputError(f"{unknown[0]!r} is not a model file of {bundle} (it has {', '.join(sorted(paths))})",
                             option="files")

        def sides(entries):
            return {name for e in entries for name in formats.get(e.format).side_files(e.details)}

        kept = [e for e in manifest.artifacts if e.path in only]
        dropped = [e.path for e in manifest.artifacts if e.path not in only]
        unneeded = sides(e for e in manifest.artifacts if e.path not in only) - sides(kept)
        names = [n for n in names if n not in unneeded and not any(n == d or n.startswith(d + "/") for d in dropped)]
    return {BUNDLE + name: (bundle / name).read_bytes() for name in names}


def make_release(bundle: Path, key_path: Path, version: str, out: Path, *, min_client: str | None = None,
                 rollout: float = 1.0, previous: Path | None = None, allow_downgrade: bool = False,
                 kill_switch: bool = False, force: bool = False, files: tuple[str, ...] | None = None,
                 progress=lambda line: None) -> Release:
    """files: a per-platform release of only these model files of the bundle (and every data file)."""
    parse_version(version)
    if min_client is not None:
        parse_version(min_client, "min_client")
    if not 0.0 < rollout <= 1.0:
        raise InputError(f"expected a fraction in (0, 1], got {rollout}", option="rollout")
    if out.exists() and not force:
        raise AlreadyExists("already exists", option="out", value=out)
    key = keys.load_private(key_path)
    public = key.public_key()
    before = None
    if previous is not None:
        before = check_release(previous, public, option="previous")
        if parse_version(version) <= parse_version(before.record.version) and not allow_downgrade:
            raise InputError(f"version {version} is not newer than the previous release {before.record.version}; "
                             "pass --allow-downgrade to roll back on purpose", option="version")
    progress(f"checking {bundle} (checksums, schemas, test vectors in each runtime)")
    check_bundle(bundle)  # only a bundle that holds its promises is signed
    manifest = read_manifest(bundle)
    contents = _contents(bundle, manifest, files)
    record = ReleaseRecord(
        version=version, contract_version=manifest.contract.version,
        min_client=min_client or min(manifest.contract.clients.values(), key=parse_version),
        rollout=rollout, salt=default_salt(version), kill_switch=kill_switch,
        previous=None if before is None else PreviousRelease(before.record.version, before.release_sha256),
        key_id=keys.key_id(public), files={name: hashlib.sha256(data).hexdigest() for name, data in contents.items()},
        artifacts=None if files is None else sorted(files))
    body = encode(record)
    data = archive.write({**contents, RELEASE_JSON: body, SIGNATURE: key.sign(body)})
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_bytes(data)
    tmp.replace(out)
    progress(f"{out}: release {version}, {len(contents)} files, {len(data):,} bytes, rollout {rollout:g}")
    return Release(record, hashlib.sha256(body).hexdigest(), _bundle_files(contents))


class ReleaseError(BundleError):
    """A release a client must not use; `code` is the one every client library reports (docs/releases.md)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


CODES = ("bad_archive", "not_a_release", "bad_signature", "bad_record", "missing_file", "unlisted_file",
         "checksum_mismatch", "client_too_old", "contract_unsupported", "downgrade")


def check_release(path: Path, public, option: str = "release") -> Release:
    """Signature, key id and every file; ReleaseError (exit 1) for a release that does not hold, InputError
    (exit 2) for a path that is not there. `public`: a key object, or the path of a PEM file."""
    path = Path(path)
    if not path.is_file():
        raise InputError("release archive not found", option=option, value=path)
    if not hasattr(public, "verify"):
        public = keys.load_public(public)
    return open_release(path.read_bytes(), [public], str(path))


def open_release(data: bytes, public_keys: list, where: str = "release") -> Release:
    """What every client does with downloaded bytes before it trusts any of them, in this order."""
    from cryptography.exceptions import InvalidSignature

    try:
        entries = archive.read(data, where)
    except BundleError as e:
        raise ReleaseError("bad_archive", str(e)) from None
    for name in (RELEASE_JSON, SIGNATURE):
        if name not in entries:
            raise ReleaseError("not_a_release", f"{where}: no {name} (not an edgeship release)")
    body, signature = entries.pop(RELEASE_JSON), entries.pop(SIGNATURE)
    public = None
    for key in public_keys:
        try:
            key.verify(signature, body)
            public = key
            break
        except InvalidSignature:
            continue
    if public is None:
        ids = ", ".join(keys.key_id(k) for k in public_keys)
        raise ReleaseError("bad_signature", f"{where}: the signature of {RELEASE_JSON} does not verify with key {ids} "
                                            "(tampered, or signed with another key)")
    try:
        record = typed.load(ReleaseRecord, json.loads(body), f"{where}: {RELEASE_JSON}", toml=False, error=BundleError)
    except (json.JSONDecodeError, UnicodeDecodeError, BundleError) as e:
        raise ReleaseError("bad_record", f"{where}: {RELEASE_JSON} is not a release record ({e})") from None
    if record.kind != KIND or record.schema_version != RELEASE_VERSION or record.key_id != keys.key_id(public):
        raise ReleaseError("bad_record", f"{where}: {RELEASE_JSON}: kind {record.kind!r}, schema_version "
                                         f"{record.schema_version}, key {record.key_id} (verified with "
                                         f"{keys.key_id(public)}): not a release this version reads")
    missing = sorted(set(record.files) - set(entries))
    if missing:
        raise ReleaseError("missing_file", f"{where}: missing {missing[0]}")
    extra = sorted(set(entries) - set(record.files))
    if extra:
        raise ReleaseError("unlisted_file", f"{where}: not in {RELEASE_JSON}: {extra[0]}")
    for name in sorted(record.files):
        if hashlib.sha256(entries[name]).hexdigest() != record.files[name]:
            raise ReleaseError("checksum_mismatch", f"{where}: {name}: checksum mismatch (not the file "
                                                    f"{RELEASE_JSON} was signed with)")
    return Release(record, hashlib.sha256(body).hexdigest(), _bundle_files(entries))


def admit(record: ReleaseRecord, client_version: str, contracts: tuple[int, ...], installed: str | None) -> None:
    """Whether a verified release may replace what a client has: the client is new enough, reads its contract,
    and the release is newer than the installed one, or names the installed one as the release it replaces (a
    rollback published on purpose: `edgeship release --allow-downgrade --previous`)."""
    if parse_version(client_version) < parse_version(record.min_client):
        raise ReleaseError("client_too_old", f"release {record.version} needs client {record.min_client} or newer; "
                                             f"this is {client_version}")
    if record.contract_version not in contracts:
        raise ReleaseError("contract_unsupported", f"release {record.version} uses contract "
                                                   f"{record.contract_version}; this client reads {list(contracts)}")
    if installed is not None and parse_version(record.version) <= parse_version(installed) and (
            record.previous is None or record.previous.version != installed):
        raise ReleaseError("downgrade", f"release {record.version} is not newer than the installed {installed} "
                                        "and does not replace it")


def verify_release(path: Path, public_key: Path):
    """`edgeship verify RELEASE --public-key KEY`: the release's own checks, then its bundle's (in a temporary
    folder): (Release, the bundle's per-file results)."""
    release = check_release(path, public_key)
    with tempfile.TemporaryDirectory(prefix="edgeship-release-") as tmp:
        for name, data in release.files.items():
            target = Path(tmp) / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        return release, check_bundle(Path(tmp), only=release.record.artifacts)
