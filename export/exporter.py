"""The export stage: every configured format converted, each file verified in its runtime, one int8 candidate
per slot chosen by measurement (export/recipes/), and what failed recorded. A converter that fails loses only
its own format."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

from ..core.errors import one_line
from ..core.files import remove, sha256, size
from . import formats, recipes
from .layer_report import CandidateLayers
from .manifest import FailedAt, Failure, QuantizationCandidate, QuantizationRecord, Verification
from .parity import Outputs, ParityCheck, check_parity
from .types import Artifact, Derived, ExportJob

RULES = {"speed": f"the lowest p50 on this host (the bench harness, every candidate and the fp32 file timed "
                  f"together, interleaved); p50s within {recipes.SPEED_TIE:.0%} of the lowest count as equal, then "
                  f"NDCG@10 within {recipes.QUALITY_TIE} of the best, then the fewest bytes",
         "size": "the fewest bytes",
         "quality": "the highest NDCG@10 on the verification requests (score rank correlation with Keras when "
                    "positives are too few)"}
ELIGIBLE = "8-bit weights, every quality floor held, at most size_slack times the smallest such candidate's bytes"
Timer = Callable[[list[Path]], dict[Path, float]]  # p50 ms of each file, all measured in one interleaved run


@dataclass(frozen=True)
class Choice:
    """How each int8 slot's candidates are chosen ([quantization] choose / size_slack) and compared."""

    rule: str = "speed"
    size_slack: float = 1.25
    timer: Timer | None = None  # None: nothing is timed (speed then keeps the first eligible recipe)
    layer_requests: int = 50  # calibration requests each int8 candidate is compared on, layer by layer
    requests: Callable | None = None  # the job's calibration requests (set by export_formats)


@dataclass(frozen=True)
class Verified:
    artifact: Artifact
    verification: Verification
    outputs: Outputs | None = None  # recorded during the parity check: the bundle's vectors are made from them


@dataclass
class ExportOutcome:
    shipped: list[Verified]
    failures: list[Failure]
    quantization: dict[str, QuantizationRecord] = field(default_factory=dict)  # by the file name it ships as
    layers: dict[str, list[CandidateLayers]] = field(default_factory=dict)  # the same slots, layer by layer
    layer_requests: int = 0  # how many calibration requests the layer comparison ran


def export_formats(job: ExportJob, names: tuple[str, ...], out_dir: Path, check: ParityCheck,
                   progress: Callable[[str], None], stream=None, choice: Choice = Choice()) -> ExportOutcome:
    outcome = ExportOutcome([], [])
    choice = replace(choice, requests=job.calibration)
    for fmt in (f for f in formats.FORMATS.values() if f.name in names):
        progress(f"{fmt.title}: converting")
        _one(lambda: fmt.convert(job, out_dir, _derived(outcome.shipped)), fmt.name, None, out_dir, check,
             outcome, progress, stream, choice)
    failed = {f.format for f in outcome.failures}  # a format whose own files failed makes no trainable file either
    for fmt in (f for f in formats.FORMATS.values()
                if job.personal and f.personal and f.name in names and f.name not in failed):
        name = fmt.personal_file
        progress(f"{name}: the trainable file (learns its user on the phone)")
        _one(lambda: [fmt.convert_personal(job, out_dir, _derived(outcome.shipped))], fmt.name, name, out_dir,
             check, outcome, progress, stream, choice)
    return outcome


def _one(make: Callable[[], list[Artifact]], fmt: str, what: str | None, out_dir: Path, check: ParityCheck,
         outcome: ExportOutcome, progress, stream, choice: Choice) -> None:
    """Convert and verify one format (or one extra file): what ranks like the model ships, what does not, or
    does not convert, is recorded, and nothing half-made stays."""
    before = set(out_dir.iterdir())
    try:
        made = make()
        checked, refused = _checked(made, check, stream)
        own = [a for a in made if a.failed is not None and a.ships_as is None]  # a file of its own not made
    except Exception as e:  # one converter failing must not lose the other formats
        for path in set(out_dir.iterdir()) - before:
            remove(path)
        reason = one_line(e, 300)
        outcome.failures.append(Failure(fmt, FailedAt.CONVERT, reason, what))
        progress(f"{what or fmt}: FAILED ({reason}); the other formats go on")
        return
    for a in own:
        outcome.failures.append(Failure(fmt, FailedAt.CONVERT, a.failed, a.name))
        progress(f"{a.name}: FAILED ({a.failed}); the other files go on")
    for final in _choose(checked, [a for a in made if a.failed and a.ships_as is not None] + refused, outcome,
                         progress, out_dir, choice):
        if final.verification.passed:
            outcome.shipped.append(final)
        else:  # a file that does not rank like the model is not shipped, and the run says so
            remove(final.artifact.path)
            outcome.failures.append(Failure(fmt, FailedAt.PARITY, "; ".join(final.verification.reasons),
                                            final.artifact.name))


def _checked(made: list[Artifact], check: ParityCheck, stream) -> tuple[list[Verified], list[Artifact]]:
    """Each made file executed and compared; a recipe's candidate its runtime refuses (e.g. XNNPACK failing to
    prepare a node, seen in a search) is lost alone, like one that did not convert (tune's trials drop such a
    file the same way). A file of its own that does not run fails its format."""
    checked, refused = [], []
    for a in (a for a in made if a.failed is None):
        try:
            checked.append(Verified(a, *check_parity(a, check, stream)))
        except Exception as e:
            if a.ships_as is None:
                raise
            remove(a.path)
            refused.append(replace(a, failed=f"its runtime refused it: {one_line(e, 300)}"))
    return checked, refused


def _derived(shipped: list[Verified]) -> Derived:
    return Derived({(s.artifact.format, s.artifact.precision): s.artifact.path for s in shipped
                    if not s.artifact.trainable})


def _choose(checked: list[Verified], failed: list[Artifact], outcome: ExportOutcome, progress, out_dir: Path,
            choice: Choice) -> list[Verified]:
    """One file per slot: where a converter made several candidates for one file name (one per recipe), the
    one the rule picks among the eligible ships under that name, the others are deleted, and all are recorded
    (a recipe that did not convert too). No eligible candidate: the slot ships nothing, and the failure says
    why each lost."""
    finals = []
    for slot in dict.fromkeys([c.artifact.slot for c in checked] + [a.slot for a in failed]):
        group = [c for c in checked if c.artifact.slot == slot]
        broken = [a for a in failed if a.slot == slot]
        if not broken and len(group) == 1 and group[0].artifact.ships_as is None:
            finals.append(group[0])
            continue
        fmt = formats.get((group[0].artifact if group else broken[0]).format)
        fp32 = next((c.artifact.path for c in checked if c.artifact.format == fmt.name
                     and c.artifact.precision == "fp32"), None)
        measured, base = _measure(slot, group, fp32, choice, progress)
        best, why = recipes.choose(measured, choice.rule, choice.size_slack)
        fp32_bytes = size(fp32) if fp32 else max((m.bytes for m in measured), default=1)
        outcome.quantization[slot] = _record(group, broken, measured, best, why, base, fp32_bytes, choice.rule)
        if fmt.layers and fp32 is not None and choice.requests is not None and group:
            progress(f"{slot}: comparing each candidate with {fp32.name} layer by layer")
            requests = list(itertools.islice(choice.requests(), choice.layer_requests))
            outcome.layer_requests = len(requests)
            outcome.layers[slot] = [
                CandidateLayers(m.name, i == best, fmt.layer_errors(fp32, c.artifact.path, requests))
                for i, (c, m) in enumerate(zip(group, measured))]
        for a in broken:
            progress(f"  {a.quantization_method}: did not convert ({a.failed})")
        for m, line in zip(measured, why):
            progress(f"  {m.name}: {m.bytes:,} bytes ({m.bytes / fp32_bytes:.2f}x fp32)"
                     + ("" if m.p50_ms is None else f", p50 {m.p50_ms * 1000:.1f} µs"
                        + (f" ({m.p50_ms / base:.2f}x fp32)" if base else "")) + f"; {line}")
        for i, c in enumerate(group):
            if i != best:
                remove(c.artifact.path)
        if best is None:
            outcome.failures.append(Failure(fmt.name, FailedAt.PARITY if group else FailedAt.CONVERT,
                                            "no int8 candidate is eligible (" + ELIGIBLE + "): " + "; ".join(
                                                [f"{m.name} {w}" for m, w in zip(measured, why)]
                                                + [f"{a.quantization_method} did not convert" for a in broken]), slot))
            progress(f"{slot}: nothing ships (no candidate eligible)")
            continue
        final = out_dir / slot
        group[best].artifact.path.rename(final)
        finals.append(replace(group[best], artifact=replace(group[best].artifact, path=final, ships_as=None)))
        progress(f"{slot}: {measured[best].name} ships (by {choice.rule}; every candidate is in manifest.json)")
    return finals


def _measure(slot: str, group: list[Verified], fp32: Path | None, choice: Choice, progress
             ) -> tuple[list[recipes.Measured], float | None]:
    """Each candidate as the choice sees it, timed beside the fp32 file of its format; and the fp32 p50."""
    timings = {}
    if choice.timer is not None and group:
        progress(f"{slot}: timing {len(group)} candidate(s)" + (f" beside {fp32.name}" if fp32 else "")
                 + " (bench harness, interleaved)")
        timings = choice.timer(([fp32] if fp32 else []) + [c.artifact.path for c in group])
    return [measured(c.artifact, c.verification, timings.get(c.artifact.path)) for c in group], timings.get(fp32)


def measured(artifact: Artifact, verification: Verification, p50_ms: float | None) -> recipes.Measured:
    """One int8 candidate as the choice sees it (the export stage's and `edgeship tune`'s)."""
    return recipes.Measured(artifact.quantization_method or artifact.name,
                            artifact.recipe is None or artifact.recipe.eight_bit, verification.passed,
                            tuple(verification.reasons), size(artifact.path), verification.quality, p50_ms)


def _record(group: list[Verified], broken: list[Artifact], measured: list[recipes.Measured], best: int | None,
            why: list[str], base: float | None, fp32_bytes: int, rule: str) -> QuantizationRecord:
    def us(ms: float | None) -> float | None:
        return None if ms is None else round(ms * 1000, 2)

    candidates = {m.name: QuantizationCandidate(
        c.artifact.recipe.method if c.artifact.recipe else (c.artifact.quantization_method or ""), m.bytes,
        sha256(c.artifact.path), i == best, c.verification, us(m.p50_ms),
        None if m.p50_ms is None or not base else round(m.p50_ms / base, 3), round(m.bytes / fp32_bytes, 3), why[i])
        for i, (c, m) in enumerate(zip(group, measured))}
    candidates |= {a.quantization_method: QuantizationCandidate(a.recipe.method, 0, "", False, None, None, None, 0.0,
                                                                f"lost: did not convert ({a.failed})")
                   for a in broken}
    return QuantizationRecord(None if best is None else measured[best].name, RULES[rule], rule, ELIGIBLE, us(base),
                              candidates)
