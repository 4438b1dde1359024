"""Shared fixtures: one tiny dataset, one tiny trained ranker and one tiny bundle per test session.

Everything here is real (real training, real converters, real runtimes); only the sizes are small.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from edgeship.config import ExportConfig, RunConfig
from edgeship.export.personalization import StudyConfig
from edgeship.export.rules import Boost, Cap, Filter, Match, Pin, RuleSet, Run
from edgeship.export.types import QuantizationConfig
from edgeship.export.verify import Floors
from edgeship.models.data import SyntheticConfig
from edgeship.models.ranker import RankerConfig
from edgeship.models.training import TrainConfig

TINY = RunConfig(
    seed=3,
    # hashed items: the built-in default is a vocabulary; the tests keep the hash path (the one an unbounded
    # catalogue takes) covered end to end, the vocabulary path is covered by the logs' tests
    data=SyntheticConfig(users=500, items=400, train_requests=1500, test_requests=80, history_len=6,
                         item_buckets=512, slate_size=10, item_encoding="hash"),
    # the v1 shape (no attention, no dropout); tests/export/test_model_parts.py covers the optional parts
    model=RankerConfig(item_dim=8, context_dim=4, hidden=(16, 8), attention=False, dropout=0.0),
    train=TrainConfig(epochs=3, batch_size=32, learning_rate=5e-3, early_stopping="loss"),
    quantization=QuantizationConfig(calibration_requests=30, qat=True),  # both int8 paths covered
    export=ExportConfig(candidates=12, verify_requests=80, test_vectors=3),
    # 80 requests of a tiny model make NDCG ratios noisy (one request moves them by ~1 %); the default floors
    # are exercised on the full model by `make run`, the failure path by tests/export/test_verify.py.
    floors=Floors(int8_ndcg_ratio=0.97, int8_top10_overlap=0.8),
    personalization=StudyConfig(users=12, tune_users=6, eval_requests=5, steps=(0, 1, 5, 10), choose_at=10,
                                learning_rates=(0.1, 1.0)),
    # every kind of rule, so that the tiny bundle's raw test vectors hold them for the generated clients
    rules=RuleSet(
        filter=[Filter(Match(attribute="category", values=["0"]), when={"network": ["1"]}),
                Filter(Match(feature="price", min=0.9))],
        boost=[Boost(Match(feature="freshness", min=0.5), by=0.5), Boost(Match(items=["3", "7"]), by=-1.0)],
        pin=[Pin(Match(feature="quality", min=0.6), within=2)],
        cap=[Cap("category", max=2, within=6)],
        run=[Run("category", max=1, within=8)]),
)


@pytest.fixture(scope="session")
def tiny_config() -> RunConfig:
    return TINY


@pytest.fixture(scope="session")
def tiny_data():
    from edgeship.models.data import generate

    return generate(TINY.data, TINY.export.candidates, TINY.seed)


@pytest.fixture(scope="session")
def tiny_model(tiny_data):
    """A trained ranker with free K (training shape)."""
    from edgeship.models.ranker import build_ranker
    from edgeship.models.training import fit, seed_everything

    seed_everything(TINY.seed)
    model = build_ranker(tiny_data.spec, TINY.model)
    return fit(model, tiny_data.train, tiny_data.valid, TINY.seed,
               schedule=TrainConfig(epochs=4, batch_size=64, learning_rate=5e-3, early_stopping="loss"))


@pytest.fixture(scope="session")
def tiny_job(tiny_data, tiny_model):
    from edgeship.export.quantization import representative_dataset
    from edgeship.models.data import calibration_requests
    from edgeship.export.types import ExportJob
    from edgeship.models.ranker import with_fixed_shape

    k = TINY.export.candidates
    calibration = calibration_requests(tiny_data.train, k, 20, TINY.seed)
    return ExportJob(model=with_fixed_shape(tiny_model, tiny_data.spec, TINY.model, k), spec=tiny_data.spec,
                     candidates=k, calibration=representative_dataset(calibration))


@pytest.fixture(scope="session")
def tiny_bundle(tmp_path_factory) -> Path:
    """A complete bundle made by the real pipeline (train, QAT, all converters, all verifications)."""
    from edgeship.pipeline import run

    out = tmp_path_factory.mktemp("bundle") / "bundle"
    run(TINY, out)
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
