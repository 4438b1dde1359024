from pathlib import Path

import pytest

from edgeship.export.exporter import Verified, select_int8
from edgeship.export.manifest import Verification
from edgeship.export.types import Artifact

pytestmark = pytest.mark.unit  # TensorFlow-free: `make test-fast`


def _candidate(method: str, ndcg: float, corr: float, gated: bool, passed: bool = True) -> Verified:
    artifact = Artifact(Path(f"ranker_int8_{method}.tflite"), "tflite", "int8", quantization_method=method,
                        ships_as="ranker_int8.tflite")
    return Verified(artifact, Verification("litert", "x", 0.1, ndcg, 1.0, 0.7, 1.0, passed, 100, (), gated, corr))


def test_int8_choice_by_ndcg_when_it_means_something_else_by_rank_correlation():
    ptq, qat = _candidate("ptq", 0.20, 0.999, True), _candidate("qat", 0.21, 0.990, True)
    assert select_int8([ptq, qat]) is qat  # enough positives: the better NDCG ships
    ptq, qat = _candidate("ptq", 0.20, 0.994, False), _candidate("qat", 0.25, 0.985, False)
    assert select_int8([ptq, qat]) is ptq  # NDCG is noise: the file closer to Keras ships
    ptq, qat = _candidate("ptq", 0.20, 0.99, True), _candidate("qat", 0.20, 0.99, True)
    assert select_int8([ptq, qat]) is ptq  # ties: PTQ, one step fewer
    assert select_int8([_candidate("ptq", 0.2, 0.99, True, passed=False), qat]) is qat
    assert select_int8([ptq, _candidate("qat", 0.9, 0.99, True, passed=False)]) is ptq  # failed never displaces
