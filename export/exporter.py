"""The export stage: every configured format converted, each file verified in its runtime, the better int8
candidate kept, and what failed recorded. A converter that fails loses only its own format."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

from ..core.errors import one_line
from ..core.files import sha256
from . import formats
from .manifest import FailedAt, Failure, QuantizationCandidate, QuantizationRecord, Verification
from .parity import Outputs, ParityCheck, check_parity
from .types import Artifact, Derived, ExportJob

INT8_RULE = ("higher NDCG@10 on the verification requests (score rank correlation with Keras when positives are "
             "too few); PTQ on ties")


@dataclass(frozen=True)
class Verified:
    artifact: Artifact
    verification: Verification
    outputs: Outputs | None = None  # recorded during the parity check: the bundle's vectors are made from them


@dataclass
class ExportOutcome:
    shipped: list[Verified]
    failures: list[Failure]
    quantization: QuantizationRecord | None = None


def select_int8(candidates: list[Verified]) -> Verified:
    """The better of several int8 candidates for one file: by NDCG@10 on the verification requests, or by score
    rank correlation with Keras when there are too few positives for NDCG to mean anything. Only a candidate
    that passed its floors can displace the first (PTQ: one step fewer), which also wins ties."""

    def quality(c: Verified) -> float:
        v = c.verification
        return v.ndcg_at_10 if v.ndcg_gated else v.rank_correlation

    best = candidates[0]
    for c in candidates[1:]:
        if c.verification.passed and (not best.verification.passed or quality(c) > quality(best)):
            best = c
    return best


def export_formats(job: ExportJob, names: tuple[str, ...], out_dir: Path, check: ParityCheck,
                   progress: Callable[[str], None], stream=None) -> ExportOutcome:
    outcome = ExportOutcome([], [])
    for fmt in (f for f in formats.FORMATS.values() if f.name in names):
        progress(f"{fmt.title}: converting")
        _one(lambda: fmt.convert(job, out_dir, _derived(outcome.shipped)), fmt.name, None, out_dir, check,
             outcome, progress, stream)
    failed = {f.format for f in outcome.failures}  # a format whose own files failed makes no trainable file either
    for fmt in (f for f in formats.FORMATS.values()
                if job.personal and f.personal and f.name in names and f.name not in failed):
        name = fmt.personal_file
        progress(f"{name}: the trainable file (learns its user on the phone)")
        _one(lambda: [fmt.convert_personal(job, out_dir, _derived(outcome.shipped))], fmt.name, name, out_dir,
             check, outcome, progress, stream)
    return outcome


def _one(make: Callable[[], list[Artifact]], fmt: str, what: str | None, out_dir: Path, check: ParityCheck,
         outcome: ExportOutcome, progress, stream) -> None:
    """Convert and verify one format (or one extra file): what ranks like the model ships, what does not, or
    does not convert, is recorded, and nothing half-made stays."""
    before = set(out_dir.iterdir())
    try:
        checked = [Verified(a, *check_parity(a, check, stream)) for a in make()]
    except Exception as e:  # one converter failing must not lose the other formats
        for path in set(out_dir.iterdir()) - before:
            path.unlink()
        reason = one_line(e, 300)
        outcome.failures.append(Failure(fmt, FailedAt.CONVERT, reason, what))
        progress(f"{what or fmt}: FAILED ({reason}); the other formats go on")
        return
    for final in _choose(checked, outcome, progress, out_dir):
        if final.verification.passed:
            outcome.shipped.append(final)
        else:  # a file that does not rank like the model is not shipped, and the run says so
            final.artifact.path.unlink()
            outcome.failures.append(Failure(fmt, FailedAt.PARITY, "; ".join(final.verification.reasons),
                                            final.artifact.name))


def _derived(shipped: list[Verified]) -> Derived:
    return Derived({(s.artifact.format, s.artifact.precision): s.artifact.path for s in shipped
                    if not s.artifact.trainable})


def _choose(checked: list[Verified], outcome: ExportOutcome, progress, out_dir: Path) -> list[Verified]:
    """One file per slot: where a converter made several candidates for one file name (PTQ and QAT), the
    better ships under that name, the others are deleted, and all are recorded."""
    finals = []
    for slot in dict.fromkeys(c.artifact.slot for c in checked):
        group = [c for c in checked if c.artifact.slot == slot]
        if len(group) == 1 and group[0].artifact.ships_as is None:
            finals.append(group[0])
            continue
        chosen = select_int8(group)
        outcome.quantization = QuantizationRecord(chosen.artifact.quantization_method, INT8_RULE, {
            c.artifact.quantization_method: QuantizationCandidate(c.artifact.path.stat().st_size,
                                                                  sha256(c.artifact.path), c is chosen,
                                                                  c.verification) for c in group})
        for c in group:
            if c is not chosen:
                c.artifact.path.unlink()
        final = out_dir / slot
        chosen.artifact.path.rename(final)
        finals.append(replace(chosen, artifact=replace(chosen.artifact, path=final, ships_as=None)))
        methods = [c.artifact.quantization_method.upper() for c in group]
        progress(f"{slot}: {methods[group.index(chosen)]} ships" + (
            f" (the better of {' and '.join(methods)}; both are recorded in manifest.json)" if len(group) > 1 else ""))
    return finals
