"""The parity matrix: every saved artifact, executed by its own runtime, against the Keras fp32 model."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..core.console import progress_stream
from ..core.errors import EdgeshipError, InputError, one_line
from ..models.data import Requests
from ..models.features import SCORES
from ..models.metrics import MIN_POSITIVES, auc, masked, ndcg_at_k, rank_correlation, top_k_overlap
from . import formats
from .manifest import ApiCheck, Verification
from .types import Artifact


@dataclass(frozen=True)
class Floors:
    """A verification fails when an artifact ranks worse than this relative to the Keras fp32 model."""

    int8_ndcg_ratio: float = 0.99
    # NDCG against sparse click labels can hold even for a broken model when the trained one is weak (a model
    # with constant scores still "ranks" by position); the share of the Keras top 10 kept cannot be fooled so.
    int8_top10_overlap: float = 0.9
    # Spearman of an int8 file's scores with Keras's over all real candidates. Label-free and still meaningful
    # on short lists (the Open Bandit lists are mostly one impression long, where a top-10 overlap is always 1).
    # Measured: default run PTQ 0.998 / QAT 0.982; Open Bandit PTQ 0.994 / QAT 0.945.
    int8_rank_correlation: float = 0.98
    fp32_ndcg_ratio: float = 0.9999
    fp32_max_abs_diff: float = 1e-4  # an fp32 file must compute the same function, not just rank alike


def scorer(fmt: str, path: Path, error: type[EdgeshipError] = InputError):
    """A callable scoring one request (batch 1) with the file in its format's runtime."""
    session = formats.get(fmt).open_session(path, error=error)
    return lambda inputs: session.run(inputs)[SCORES]


def _scores(run, requests: Requests) -> np.ndarray:
    """[N, K] scores of each request, one runtime call per request (the exported batch is 1)."""
    return np.stack([np.asarray(run(requests.one(i)), dtype=np.float64).reshape(-1) for i in range(len(requests))])


def score_file(fmt: str, path: Path, requests: Requests) -> np.ndarray:
    """The same for a file of a bundle (its format named by the manifest)."""
    return _scores(scorer(fmt, path), requests)


def compare(artifact: Artifact, scores: np.ndarray, reference: np.ndarray, labels: np.ndarray,
            floors: Floors, mask: np.ndarray | None = None) -> Verification:
    fmt = formats.get(artifact.format)
    real = np.ones(labels.shape, bool) if mask is None else np.asarray(mask, bool)
    ndcg = ndcg_at_k(masked(scores, mask), labels)
    ref_ndcg = ndcg_at_k(masked(reference, mask), labels)
    ratio = ndcg / ref_ndcg if ref_ndcg > 0 else float("nan")  # the model found no relevant item at all
    diff = float(np.max(np.abs(scores - reference)[real]))
    reasons = []
    floor = floors.fp32_ndcg_ratio if artifact.precision == "fp32" else floors.int8_ndcg_ratio
    # with a handful of clicks an NDCG ratio is noise (one click moves it by percent): then the label-free
    # floors (top-10 overlap, max |diff|) decide, and the record says the ratio was not gated
    gated = int((labels[real] > 0).sum()) >= MIN_POSITIVES
    if gated and not ratio >= floor:  # also catches NaN
        reasons.append(f"NDCG@10 ratio {ratio:.4f} < floor {floor}")
    overlap = top_k_overlap(scores, reference, 10, mask)
    if artifact.precision != "fp32" and not overlap >= floors.int8_top10_overlap:
        reasons.append(f"top-10 overlap {overlap:.3f} < floor {floors.int8_top10_overlap}")
    corr = rank_correlation(scores[real], reference[real])
    if artifact.precision != "fp32" and not corr >= floors.int8_rank_correlation:
        reasons.append(f"score rank correlation {corr:.4f} < floor {floors.int8_rank_correlation}")
    if artifact.precision == "fp32" and not diff <= floors.fp32_max_abs_diff:
        reasons.append(f"max |score diff| {diff:.2e} > {floors.fp32_max_abs_diff:.0e}")
    return Verification(
        runtime=fmt.runtime, runtime_version=fmt.runtime_version(), max_abs_diff=diff, ndcg_at_10=ndcg,
        ndcg_ratio=float(ratio), auc=auc(scores[real], labels[real]), top10_overlap=overlap,
        rank_correlation=corr,
        passed=not reasons, requests=len(scores), reasons=tuple(reasons), ndcg_gated=gated)


PROBE_LEARNING_RATE = 0.1  # the one train step verification and the recorded training vector take


def probe_labels(scores: np.ndarray, labels: np.ndarray | None = None) -> np.ndarray:
    """Taps for a probing train call: the request's own when it has any, else one on the candidate the file
    ranks last (a call that changes nothing would check nothing)."""
    if labels is not None and np.asarray(labels).any():
        return np.asarray(labels, np.float32).reshape(-1)
    tap = np.zeros(np.size(scores), np.float32)
    tap[int(np.argmin(scores))] = 1.0
    return tap


def training_problems(artifact: Artifact, requests: Requests) -> list[str]:
    """What is wrong with a trainable file as the app would drive it: one train call on a tap of the candidate
    it ranks last must change `infer` and lower the loss on that request (a second call with learning rate 0
    reports the loss without changing anything); `reset` must restore the shipped scores exactly; weights read
    with get_weights and written back with set_weights must give the same scores; and the format's own rules for
    a file that trains on the device (builtin ops only in LiteRT; Apple's rules for an updatable Core ML model)."""
    fmt = formats.get(artifact.format)
    problems = fmt.trainable_problems(artifact.path)
    if problems:  # the app's runtime would refuse the file: there is nothing to drive
        return problems
    trainer = fmt.trainer(artifact.path)
    request = requests.one(0)
    shipped = trainer.scores(request).reshape(-1)
    labels = probe_labels(shipped)
    loss = trainer.train(request, labels, np.ones_like(shipped), PROBE_LEARNING_RATE)
    after = trainer.scores(request).reshape(-1)
    loss_after = trainer.train(request, labels, np.ones_like(shipped), 0.0)
    if not np.isfinite(loss):
        problems.append(f"train returned loss {loss}")
    if not np.abs(after - shipped).max() > 0:
        problems.append("a train call does not change infer's output")
    elif not loss_after < loss:
        problems.append(f"a train call does not lower the loss on its own request ({loss:.4f} -> {loss_after:.4f})")
    learned = trainer.get_weights()
    trainer.reset()
    if not np.array_equal(trainer.scores(request).reshape(-1), shipped):
        problems.append("reset does not restore the shipped scores")
    trainer.set_weights(learned)
    if not np.allclose(trainer.scores(request).reshape(-1), after, atol=1e-6):
        problems.append("set_weights(get_weights()) does not restore the learned scores")
    return problems


@dataclass(frozen=True)
class ParityCheck:
    """What every file is checked on: the held-out requests, the Keras model's scores on them, the floors, and
    extra inputs (the raw test vectors' tensors) whose outputs are recorded in the same session."""

    requests: Requests
    reference: np.ndarray
    floors: Floors
    probes: tuple[dict[str, np.ndarray], ...] = ()


@dataclass(frozen=True)
class Outputs:
    """A file's outputs, each computed once by its runtime during its parity check: [N, K] scores of the
    requests (float64 of the runtime's float32), and its raw output on each probe, in order."""

    requests: np.ndarray
    probes: tuple[np.ndarray, ...]


def _other_api(artifact: Artifact, requests: Requests, scores: np.ndarray) -> ApiCheck | None:
    """The file through its runtime's second API, where there is one: the same scores, or why it did not run
    (recorded, not failed: the first API is the one the bundle is verified by)."""
    second = formats.get(artifact.format).second_api()
    if second is None:
        return None
    name, open_file = second
    session = None
    try:
        session = open_file(artifact.path)
        other = _scores(session.scores, requests)
    except Exception as e:  # an API that refuses the file says so in the manifest
        return ApiCheck(name, None, one_line(e, 200))
    finally:
        if session is not None:
            session.close()
    return ApiCheck(name, float(np.max(np.abs(other - scores))) if other.size else 0.0)


def check_parity(artifact: Artifact, check: ParityCheck, stream=None) -> tuple[Verification, Outputs]:
    run = scorer(artifact.format, artifact.path)
    requests = check.requests
    scores = _scores(run, requests)
    outputs = Outputs(scores, tuple(np.asarray(run(p), dtype=np.float32) for p in check.probes))
    result = compare(artifact, scores, check.reference, requests.labels, check.floors, requests.mask)
    other = _other_api(artifact, requests, scores)
    if other is not None:
        tolerance = formats.get(artifact.format).tolerance(artifact.precision)
        differs = other.max_abs_diff is not None and not other.max_abs_diff <= tolerance
        result = replace(result, other_api=other, passed=result.passed and not differs, reasons=result.reasons + (
            (f"{other.api} scores differ from the first API's by {other.max_abs_diff:.2e} > {tolerance:g}",)
            if differs else ()))
    if artifact.trainable:
        problems = training_problems(artifact, requests)
        result = replace(result, passed=result.passed and not problems, reasons=result.reasons + tuple(problems))
    status = "ok" if result.passed else "below floor: " + "; ".join(result.reasons)
    print(f"  verified {artifact.name:<24} {result.runtime:<13} NDCG ratio {result.ndcg_ratio:.4f}  "
          f"max|d| {result.max_abs_diff:.1e}  {status}", file=progress_stream(stream), flush=True)
    return result, outputs
