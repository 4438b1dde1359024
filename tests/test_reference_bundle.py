"""The committed reference bundle (tests/data/reference_bundle) is what the code writes today.

Tests that only read a bundle use it instead of running the pipeline; this test runs the pipeline once on the
same config (tests/data/tiny.toml) and compares. Run-to-run noise is left out and nothing else: the timings.
Every file is compared byte for byte, in any clone (the ORT-format file's converter table is written sorted:
export/ort/canonical.py).
"""

from __future__ import annotations

import json

import pytest

from edgeship.core.files import sha256
from edgeship.export.reader import check_bundle
from tools import numerics

STALE = "tests/data/reference_bundle is stale: rewrite it with `make reference-bundle` and commit it ({})"
# the study's timings, and each int8 candidate's p50 (the choice itself is by quality in tiny.toml: deterministic)
TIMINGS = ("train_ms_p50", "infer_ms_p50", "p50_us", "p50_ratio", "fp32_p50_us")


def _without_noise(value):
    if isinstance(value, dict):
        return {k: _without_noise(v) for k, v in value.items() if k not in TIMINGS}
    if isinstance(value, list):
        return [_without_noise(v) for v in value]
    return value


def _lines_without_noise(text: str) -> list[str]:
    """Lines of a Markdown file, the ones quoting a timing left out."""
    return [line for line in text.splitlines() if " ms" not in line and " µs" not in line]


def test_the_reference_bundle_is_what_the_code_writes(tiny_bundle, reference_bundle):
    fresh = sorted(p.name for p in tiny_bundle.iterdir())
    assert fresh == sorted(p.name for p in reference_bundle.iterdir()), STALE.format("other files")
    recorded, here = numerics.RECORD.read_text().strip(), numerics.fingerprint()
    if here != recorded:  # not staleness: this machine's float32 sums are ordered otherwise (tools/numerics.py)
        pytest.skip(f"the reference bundle was written where TensorFlow rounds float32 otherwise (fingerprint "
                    f"{recorded}, here {here}): its trained weights differ here in their last bits, so its bytes "
                    "are not compared; `make reference-bundle` on this machine rewrites both")
    for name in fresh:
        new, old = tiny_bundle / name, reference_bundle / name
        if name.endswith(".json"):
            assert _without_noise(json.loads(new.read_text())) == _without_noise(json.loads(old.read_text())), \
                STALE.format(name)
        elif name.endswith(".md"):
            assert _lines_without_noise(new.read_text()) == _lines_without_noise(old.read_text()), STALE.format(name)
        else:
            assert sha256(new) == sha256(old), STALE.format(name)  # a .mlpackage folder: every file in it


def test_the_reference_bundle_verifies(reference_bundle):
    assert all(r.passed for r in check_bundle(reference_bundle))


def test_a_second_run_writes_the_same_bytes_for_every_file(tiny_bundle, tmp_path):
    """Same config and seed, same installation: every file byte for byte, the ORT file included (the study's
    timings aside, in the JSON and Markdown that report them)."""
    from edgeship.pipeline import run

    from .conftest import TINY, TINY_SOURCE

    again = tmp_path / "again"
    run(TINY, again, config_source=TINY_SOURCE)
    names = sorted(p.name for p in tiny_bundle.iterdir())
    assert names == sorted(p.name for p in again.iterdir())
    for name in names:
        first, second = tiny_bundle / name, again / name
        if name.endswith(".json"):
            assert _without_noise(json.loads(first.read_text())) == _without_noise(json.loads(second.read_text())), name
        elif name.endswith(".md"):
            assert _lines_without_noise(first.read_text()) == _lines_without_noise(second.read_text()), name
        else:
            assert sha256(first) == sha256(second), name
