"""The export stage's bookkeeping: what one refusing runtime loses."""

import pytest

from edgeship.export import exporter
from edgeship.export.parity import Floors, ParityCheck
from edgeship.export.tflite import convert as tflite_convert
from edgeship.export.types import Derived
from edgeship.models.ranker import predict


def test_a_candidate_its_runtime_refuses_is_lost_alone_and_a_file_of_its_own_fails_its_format(tiny_job, tiny_data,
                                                                                             tmp_path):
    held_out = tiny_data.test
    check = ParityCheck(held_out, predict(tiny_job.model, held_out.inputs(), batch_size=1), Floors())
    made = tflite_convert.export(tiny_job, tmp_path, Derived())
    candidate = next(a for a in made if a.ships_as is not None)
    candidate.path.write_bytes(b"TFL3" * 64)  # not a model LiteRT can load: it refuses the file
    checked, refused = exporter._checked(made, check, None)
    assert [a.name for a in refused] == [candidate.name] and "its runtime refused it" in refused[0].failed
    assert not candidate.path.exists()  # nothing half-made stays
    assert sorted(v.artifact.name for v in checked) == sorted(a.name for a in made if a is not candidate)
    assert all(v.verification.passed for v in checked)
    fp32 = next(a for a in made if a.precision == "fp32")
    fp32.path.write_bytes(b"TFL3" * 64)
    with pytest.raises(Exception):
        exporter._checked([fp32], check, None)
