"""Checksums, sizes and removal of the two shapes a model takes on disk: a file, and a folder (a .mlpackage)."""

import gzip
import hashlib
import subprocess

import pytest

from edgeship.core.files import gzip_size, package_files, remove, sha256, size

pytestmark = pytest.mark.unit


@pytest.fixture
def package(tmp_path):
    root = tmp_path / "model.mlpackage"
    (root / "Data" / "weights").mkdir(parents=True)
    (root / "Manifest.json").write_text('{"a": 1}\n')
    (root / "Data" / "model.mlmodel").write_bytes(b"\x08\x01" * 100)
    (root / "Data" / "weights" / "weight.bin").write_bytes(bytes(range(256)) * 4)
    return root


def test_a_folder_digest_is_the_digest_of_its_sha256sum_listing(package):
    assert package_files(package) == ["Data/model.mlmodel", "Data/weights/weight.bin", "Manifest.json"]
    # what a server computes: `cd model.mlpackage && find . -type f | cut -c3- | LC_ALL=C sort | xargs sha256sum`
    listing = subprocess.run("find . -type f | cut -c3- | LC_ALL=C sort | xargs sha256sum", shell=True, cwd=package,
                             capture_output=True, check=True).stdout
    assert sha256(package) == hashlib.sha256(listing).hexdigest()
    before = sha256(package)
    (package / "Data" / "weights" / "weight.bin").write_bytes(bytes(range(256)) * 4 + b"\0")
    assert sha256(package) != before


def test_a_renamed_file_inside_changes_the_digest(package):
    before = sha256(package)
    (package / "Manifest.json").rename(package / "Manifest2.json")
    assert sha256(package) != before


def test_sizes_of_files_and_folders(package):
    assert size(package) == 9 + 200 + 1024
    weight = package / "Data" / "weights" / "weight.bin"
    assert size(weight) == 1024
    assert gzip_size(weight) == len(gzip.compress(weight.read_bytes(), compresslevel=9, mtime=0))
    assert gzip_size(package) == sum(gzip_size(package / name) for name in package_files(package))


def test_remove_takes_a_file_or_a_whole_folder(package, tmp_path):
    loose = tmp_path / "model.tflite"
    loose.write_bytes(b"x")
    remove(loose)
    remove(package)
    assert sorted(p.name for p in tmp_path.iterdir()) == []
