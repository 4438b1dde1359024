"""Shared fixtures: the tiny run's config (tests/data/tiny.toml) and its committed bundle, one tiny dataset, one
tiny trained ranker, and, for the staleness check and the pipeline's own tests, one fresh run of that config.

Everything here is real (real training, real converters, real runtimes); only the sizes are small.

Tiers: a module marked `unit` (pytestmark) never imports TensorFlow. `make test-fast` runs those with
EDGESHIP_NO_TENSORFLOW=1, which makes importing TensorFlow (or anything built on it) fail, so a unit test that
starts to need it fails instead of silently slowing the tier down.
"""

from __future__ import annotations

import importlib.abc
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

# what the TensorFlow-free tier may not import: TensorFlow and the packages that import it when imported
TENSORFLOW = ("tensorflow", "tf_keras", "tf2onnx", "tensorflow_model_optimization", "keras")


class NoTensorFlow(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in TENSORFLOW:
            raise ImportError(f"{name} imported in the TensorFlow-free tier (EDGESHIP_NO_TENSORFLOW=1)")
        return None


UNIT_MODULE = "pytestmark = pytest.mark.unit"
TENSORFLOW_FREE = os.environ.get("EDGESHIP_NO_TENSORFLOW") == "1"
if TENSORFLOW_FREE:
    sys.meta_path.insert(0, NoTensorFlow())


def pytest_ignore_collect(collection_path, config):
    """In the TensorFlow-free tier, modules that are not unit modules are not even imported (importing them
    would import TensorFlow)."""
    if TENSORFLOW_FREE and collection_path.suffix == ".py" and collection_path.name.startswith("test_"):
        return UNIT_MODULE not in collection_path.read_text(encoding="utf-8")
    return None


# imported once the guard is in place: in the TensorFlow-free tier, nothing edgeship imports may reach TensorFlow
from edgeship.config import RunConfig, load_config  # noqa: E402

DATA = Path(__file__).resolve().parent / "data"
# the tiny run: a small world, every format, QAT, hashed items and every kind of rule (see the file)
TINY: RunConfig = load_config(DATA / "tiny.toml")
TINY_SOURCE = "tests/data/tiny.toml"  # as `make reference-bundle` names it: the manifest and the files record it
# that run's bundle, committed: tests that only read a bundle use it instead of running the pipeline
# (`make reference-bundle` rewrites it; tests/test_reference_bundle.py fails when it is stale)
REFERENCE_BUNDLE = DATA / "reference_bundle"


@pytest.fixture
def tensorflow_guard():
    """(the finder that refuses TensorFlow in the unit tier, the names it refuses)"""
    return NoTensorFlow(), TENSORFLOW


@pytest.fixture(scope="session")
def tiny_config() -> RunConfig:
    return TINY


@pytest.fixture(scope="session")
def reference_bundle() -> Path:
    """The committed bundle of the tiny run (read it; copy it before changing anything)."""
    return REFERENCE_BUNDLE


@pytest.fixture(scope="session")
def tiny_data():
    from edgeship.models.data import generate

    return generate(TINY.data, TINY.export.candidates, TINY.seed)


@pytest.fixture(scope="session")
def tiny_model(tiny_data):
    """A trained ranker with free K (training shape)."""
    from edgeship.models.ranker import build_ranker, set_item_features
    from edgeship.models.settings import TrainConfig
    from edgeship.models.training import fit, seed_everything

    seed_everything(TINY.seed)
    model = build_ranker(tiny_data.spec, TINY.model)
    set_item_features(model, tiny_data.train.item_features(tiny_data.spec.item_buckets))
    return fit(model, tiny_data.train, tiny_data.valid, TINY.seed,
               schedule=TrainConfig(epochs=4, batch_size=64, learning_rate=5e-3, early_stopping="loss"))


@pytest.fixture(scope="session")
def tiny_job(tiny_data, tiny_model):
    from edgeship.export.quantization import representative_dataset
    from edgeship.models.data import calibration_requests
    from edgeship.export.types import ExportJob
    from edgeship.models.item_vectors import cooccurrence, item_vectors
    from edgeship.models.ranker import with_fixed_shape

    k, buckets = TINY.export.candidates, tiny_data.spec.item_buckets
    calibration = calibration_requests(tiny_data.train, k, 20, TINY.seed)
    vectors = item_vectors(cooccurrence(tiny_data.train.history, buckets), tiny_data.train.item_features(buckets))
    return ExportJob(model=with_fixed_shape(tiny_model, tiny_data.spec, TINY.model, k), spec=tiny_data.spec,
                     candidates=k, calibration=representative_dataset(calibration), item_vectors=vectors)


@pytest.fixture(scope="session")
def tiny_bundle(tmp_path_factory) -> Path:
    """A complete bundle made by the real pipeline (train, QAT, all converters, all verifications)."""
    from edgeship.pipeline import run

    out = tmp_path_factory.mktemp("bundle") / "bundle"
    run(TINY, out, config_source=TINY_SOURCE)
    return out


@pytest.fixture
def rewrite():
    """rewrite(bundle, name, data): a bundle file replaced by `data` (JSON) with its checksum in the manifest
    updated, as a bundle written that way would be: what is tested is the check of the content."""
    import json

    from edgeship.core.files import sha256

    def write(bundle: Path, name: str, data) -> None:
        (bundle / name).write_text(json.dumps(data))
        manifest = json.loads((bundle / "manifest.json").read_text())
        manifest["files"][name] = sha256(bundle / name)
        (bundle / "manifest.json").write_text(json.dumps(manifest))

    return write


@dataclass(frozen=True)
class Done:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def edgeship_cli(capsys):
    """edgeship_cli(*args) -> Done: the CLI's own entry point, in this process (TensorFlow is imported once
    per session instead of once per call); tests that need a process of its own (signals) start one."""
    from edgeship import cli

    def call(*args: str) -> Done:
        capsys.readouterr()
        try:
            code = cli.main(list(args))
        except SystemExit as e:  # argparse's usage errors
            code = e.code
        out = capsys.readouterr()
        return Done(code, out.out, out.err)

    return call
