"""The contract every generated client is made from: the reference bundle's features.json, read as verify reads it."""

import pytest

from edgeship.export.manifest import read_manifest_file
from edgeship.export.reader import read_contract


@pytest.fixture(scope="session")
def reference_contract(reference_bundle):
    return read_contract(reference_bundle, read_manifest_file(reference_bundle / "manifest.json"))
