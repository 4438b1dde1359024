"""Signed releases of the committed bundle, through the CLI as a release pipeline runs it: keygen, release,
verify; and every way a release can be wrong (tampered, another key, a file added, missing or changed, an unsafe
path, a downgrade, a truncated download) refused with one line and the exit code of its kind."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import tarfile

import jsonschema
import pytest

from edgeship.release import archive
from edgeship.release.make import RELEASE_JSON, SIGNATURE, check_release
from edgeship.release.rollout import bucket, default_salt, in_rollout

pytestmark = pytest.mark.unit  # TensorFlow-free: `make test-fast`


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    from edgeship import cli

    out = tmp_path_factory.mktemp("keys")
    assert cli.main(["keygen", "--out", str(out / "a")]) == 0 and cli.main(["keygen", "--out", str(out / "b")]) == 0
    return out


@pytest.fixture(scope="module")
def release(keys, reference_bundle, tmp_path_factory):
    from edgeship import cli

    out = tmp_path_factory.mktemp("release") / "r1.tar"
    assert cli.main(["release", str(reference_bundle), "--key", str(keys / "a" / "release.key"), "--version", "1.0.0",
                     "--rollout", "0.1", "--out", str(out)]) == 0
    return out


def _entries(path):
    return archive.read(path.read_bytes(), str(path))


def _rewrite(path, out, change):
    entries = _entries(path)
    change(entries)
    out.write_bytes(archive.write(entries))
    return out


def test_keygen_writes_a_private_key_only_its_owner_reads_and_never_replaces_one(keys, edgeship_cli):
    assert (keys / "a" / "release.key").stat().st_mode & 0o777 == 0o600
    assert b"BEGIN PUBLIC KEY" in (keys / "a" / "release.pub").read_bytes()
    before = (keys / "a" / "release.key").read_bytes()
    done = edgeship_cli("keygen", "--out", str(keys / "a"))
    assert done.returncode == 2 and "a key is never replaced" in done.stderr
    assert (keys / "a" / "release.key").read_bytes() == before


def test_a_release_verifies_with_its_key_and_says_what_it_holds(release, keys, reference_bundle, edgeship_cli):
    done = edgeship_cli("verify", str(release), "--public-key", str(keys / "a" / "release.pub"))
    assert done.returncode == 0, done.stderr
    assert "release 1.0.0 signed by key" in done.stdout and "rollout 0.1" in done.stdout
    entries = _entries(release)
    record = json.loads(entries[RELEASE_JSON])
    assert record["kind"] == "edgeship-release" and record["schema_version"] == 1
    assert record["contract_version"] == 2 and record["min_client"] == "0.1.0" and record["previous"] is None
    assert record["salt"] == default_salt("1.0.0") and record["kill_switch"] is False
    from edgeship.schemas import schema_path

    jsonschema.validate(record, json.loads(schema_path("release.schema.json").read_text()))
    # every file of the bundle, folders' files one by one, each with its digest; nothing else but the signature
    bundle_files = sorted(p.relative_to(reference_bundle).as_posix() for p in reference_bundle.rglob("*")
                          if p.is_file())
    assert sorted(record["files"]) == ["bundle/" + f for f in bundle_files]
    assert set(entries) == set(record["files"]) | {RELEASE_JSON, SIGNATURE} and len(entries[SIGNATURE]) == 64
    assert all(hashlib.sha256(entries[n]).hexdigest() == d for n, d in record["files"].items())
    with tarfile.open(release) as tar:  # a plain ustar of files: times, owners and modes fixed
        assert {(m.type, m.mtime, m.uid, m.mode) for m in tar} == {(tarfile.REGTYPE, 0, 0, 0o644)}


def test_the_same_bundle_and_version_give_the_same_bytes(release, keys, reference_bundle, tmp_path, edgeship_cli):
    again = tmp_path / "again.tar"
    done = edgeship_cli("release", str(reference_bundle), "--key", str(keys / "a" / "release.key"), "--version",
                        "1.0.0", "--rollout", "0.1", "--out", str(again))
    assert done.returncode == 0 and again.read_bytes() == release.read_bytes()
    done = edgeship_cli("release", str(reference_bundle), "--key", str(keys / "a" / "release.key"), "--version",
                        "1.0.0", "--out", str(again))
    assert done.returncode == 2 and "already exists; pass --force to replace it" in done.stderr


@pytest.mark.parametrize("case", ["another key", "release.json edited", "file changed", "file added",
                                  "file missing", "signature missing", "unsafe path", "truncated"])
def test_a_wrong_release_is_refused_with_one_line_and_exit_1(case, release, keys, tmp_path, edgeship_cli):
    public = keys / "a" / "release.pub"
    bad = tmp_path / "bad.tar"
    expect = {"another key": "does not verify with key", "release.json edited": "does not verify with key",
              "file changed": "bundle/rules.json: checksum mismatch", "file added": "not in release.json: bundle/x",
              "file missing": "missing bundle/rules.json", "signature missing": "no release.sig",
              "unsafe path": "is not a plain relative path", "truncated": "not a readable release archive"}[case]
    if case == "another key":
        bad, public = release, keys / "b" / "release.pub"
    elif case == "release.json edited":  # a wider rollout than was signed
        _rewrite(release, bad, lambda e: e.update({RELEASE_JSON: e[RELEASE_JSON].replace(b'"rollout": 0.1',
                                                                                          b'"rollout": 1.0')}))
    elif case == "file changed":
        _rewrite(release, bad, lambda e: e.update({"bundle/rules.json": e["bundle/rules.json"] + b" "}))
    elif case == "file added":
        _rewrite(release, bad, lambda e: e.update({"bundle/x": b"payload"}))
    elif case == "file missing":
        _rewrite(release, bad, lambda e: e.pop("bundle/rules.json"))
    elif case == "signature missing":
        _rewrite(release, bad, lambda e: e.pop(SIGNATURE))
    elif case == "unsafe path":
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as tar:
            info = tarfile.TarInfo("bundle/../../evil")
            info.size = 1
            tar.addfile(info, io.BytesIO(b"x"))
        bad.write_bytes(buffer.getvalue())
    else:
        bad.write_bytes(release.read_bytes()[:100_000])
    done = edgeship_cli("verify", str(bad), "--public-key", str(public))
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and expect in lines[0] and "Traceback" not in done.stderr, lines


def test_versions_only_go_up_unless_a_rollback_is_asked_for(release, keys, reference_bundle, tmp_path, edgeship_cli):
    key = str(keys / "a" / "release.key")
    base = ("release", str(reference_bundle), "--key", key, "--previous", str(release))
    done = edgeship_cli(*base, "--version", "1.0.0", "--out", str(tmp_path / "same.tar"))
    assert done.returncode == 2 and "not newer than the previous release 1.0.0" in done.stderr
    assert not (tmp_path / "same.tar").exists()
    done = edgeship_cli(*base, "--version", "1.1.0", "--out", str(tmp_path / "up.tar"))
    assert done.returncode == 0, done.stderr
    previous = json.loads(_entries(tmp_path / "up.tar")[RELEASE_JSON])["previous"]
    assert previous == {"version": "1.0.0",
                        "release_sha256": hashlib.sha256(_entries(release)[RELEASE_JSON]).hexdigest()}
    done = edgeship_cli("release", str(reference_bundle), "--key", key, "--previous", str(tmp_path / "up.tar"),
                        "--version", "1.0.1", "--allow-downgrade", "--kill-switch", "--out", str(tmp_path / "back.tar"))
    assert done.returncode == 0 and "KILL SWITCH" in done.stdout
    assert check_release(tmp_path / "back.tar", keys / "a" / "release.pub").record.kill_switch


def test_a_per_platform_release_carries_one_model_file_and_verifies(keys, release, reference_bundle, tmp_path,
                                                                     edgeship_cli):
    key, pub = str(keys / "a" / "release.key"), str(keys / "a" / "release.pub")
    web = tmp_path / "web.tar"
    done = edgeship_cli("release", str(reference_bundle), "--key", key, "--version", "1.0.0", "--files",
                        "ranker_int8.onnx, ranker_int8.ort", "--out", str(web))
    assert done.returncode == 0 and "model files: ranker_int8.onnx, ranker_int8.ort" in done.stdout, done.stderr
    record = json.loads(_entries(web)[RELEASE_JSON])
    models = {a["path"] for a in json.loads((reference_bundle / "manifest.json").read_text())["artifacts"]}
    held = {n.removeprefix("bundle/").split("/")[0] for n in record["files"]}
    assert record["artifacts"] == ["ranker_int8.onnx", "ranker_int8.ort"] and held & models == set(record["artifacts"])
    # every data file stays, the .ort's operator list with it; the other formats' files are gone
    assert {"manifest.json", "features.json", "vocabularies.json", "rules.json", "fallback.json",
            "testvectors_raw.json", "required_operators.config"} <= held
    assert web.stat().st_size < 0.7 * release.stat().st_size
    done = edgeship_cli("verify", str(web), "--public-key", pub)
    assert done.returncode == 0, done.stderr
    # only the files it carries are run: their tensor vectors, then their raw ones
    assert [line.split()[0] for line in done.stdout.splitlines() if line.startswith("ranker")] == [
        "ranker_int8.onnx", "ranker_int8.ort", "ranker_int8.onnx", "ranker_int8.ort"]
    # a release that drops a file it lists is refused as any other
    _rewrite(web, tmp_path / "cut.tar", lambda e: e.pop("bundle/ranker_int8.ort"))
    done = edgeship_cli("verify", str(tmp_path / "cut.tar"), "--public-key", pub)
    assert done.returncode == 1 and "missing bundle/ranker_int8.ort" in done.stderr
    for files, expect in (("ranker_int9.onnx", "--files: 'ranker_int9.onnx' is not a model file of"),
                          (" , ", "--files: expected model files of the bundle")):
        done = edgeship_cli("release", str(reference_bundle), "--key", key, "--version", "1.0.0", "--files", files,
                            "--out", str(tmp_path / "bad.tar"))
        assert done.returncode == 2 and expect in done.stderr and not (tmp_path / "bad.tar").exists(), done.stderr


@pytest.mark.parametrize("args,expect", [
    (("--version", "1.2"), "--version: expected MAJOR.MINOR.PATCH"),
    (("--version", "1.0.0", "--rollout", "0"), "--rollout: expected a fraction in (0, 1], got 0.0"),
    (("--version", "1.0.0", "--min-client", "x"), "--min-client: expected MAJOR.MINOR.PATCH"),
    (("--version", "1.0.0", "--key", "/nonexistent.key"), "--key /nonexistent.key: not found"),
])
def test_bad_release_arguments(args, expect, keys, reference_bundle, tmp_path, edgeship_cli):
    key = () if "--key" in args else ("--key", str(keys / "a" / "release.key"))
    done = edgeship_cli("release", str(reference_bundle), *key, *args, "--out", str(tmp_path / "r.tar"))
    assert done.returncode == 2 and expect in done.stderr, done.stderr
    assert not (tmp_path / "r.tar").exists()


def test_a_public_key_of_another_kind_is_named(keys, release, tmp_path, edgeship_cli):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    other = tmp_path / "ec.pub"
    other.write_bytes(ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    done = edgeship_cli("verify", str(release), "--public-key", str(other))
    assert done.returncode == 2 and "expected an Ed25519 public key" in done.stderr
    done = edgeship_cli("verify", str(release))
    assert done.returncode == 2 and "pass --public-key" in done.stderr


def test_the_bucket_is_the_documented_hash_and_splits_users_evenly():
    """The first 4 bytes of SHA-256("salt:user") over 2^32, computed here by coreutils as a server would."""
    salt = default_salt("1.0.0")
    digest = subprocess.run(["sha256sum"], input=f"{salt}:user-42".encode(), capture_output=True,
                            check=True).stdout[:8]
    assert bucket("user-42", salt) == int(digest, 16) / 2 ** 32
    users = [f"user-{i}" for i in range(20_000)]
    tenth = [u for u in users if in_rollout(u, salt, 0.1)]
    assert abs(len(tenth) / len(users) - 0.1) < 0.006  # binomial sd 0.0021
    half = {u for u in users if in_rollout(u, salt, 0.5)}
    assert set(tenth) <= half  # widening one release's rollout keeps everyone who had it
    other = {u for u in users if in_rollout(u, default_salt("1.1.0"), 0.1)}
    assert abs(len(other & set(tenth)) / len(tenth) - 0.1) < 0.03  # another release draws its own 10 %
