"""The bundle a mobile team downloads: artifacts, manifest.json, features.json (the raw-input contract),
testvectors.json, testvectors_raw.json, vocabularies.json, rules.json, fallback.json and README.md.

A bundle is built in a hidden staging folder beside its destination and renamed into place only when complete,
so an interrupted run never leaves a half-written artifact or a manifest that points at missing files.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
from pathlib import Path

import numpy as np

from ..core import typed
from ..core.errors import AlreadyExists, InputError
from ..core.files import sha256, size, write_json, write_text
from ..core.tensors import TensorSpec
from ..models.data import Requests
from ..models.encoding import Collisions, Encoders
from ..models.features import CANDIDATES, SCORES
from ..ondevice.contract import FEATURES, Contract, FileIO, TensorIO
from ..ondevice.fallback import FALLBACK, ColdStart, Fallback, FallbackRecord
from ..ondevice.rules import RULES, RuleSet, rules_file
from . import formats
from .exporter import Verified
from .manifest import (MANIFEST, TESTVECTORS, TESTVECTORS_VERSION, ArtifactEntry, EncodingRecord, Manifest,
                       TrainingVector, VectorCase, Vectors)
from .parity import PROBE_LEARNING_RATE, probe_labels
from .raw_vectors import RAW_TESTVECTORS, RawProbe, RawVectors, raw_vectors
from .types import Artifact, in_contract_order

README = "README.md"
VOCABULARIES = "vocabularies.json"  # every categorical field's raw value -> id rule, vocabularies in full
SCHEMA_FILES = ("manifest.schema.json", "testvectors.schema.json", "features.schema.json",
                "testvectors_raw.schema.json", "rules.schema.json")  # copied into every bundle

def atol_for(artifact: Artifact) -> float:
    """How far a runtime on another CPU may drift from the expected outputs recorded on this host."""
    return formats.get(artifact.format).tolerance(artifact.precision)


def _declared(sig) -> tuple[list[TensorSpec], list[TensorSpec]]:
    """A file's inputs in its own order and its outputs, the scores' shape filled in where the file declares none
    (Core ML NeuralNetwork files: their runtime returns the contract's [1, K])."""
    k = next(t.shape[1] for t in sig.inputs if t.name == CANDIDATES)
    outputs = [dataclasses.replace(o, shape=output_shape(o.shape, k)) if o.name == SCORES else o for o in sig.outputs]
    return list(sig.inputs), outputs


def entry(shipped: Verified, bundle: Path) -> ArtifactEntry:
    """The manifest's record of one shipped file; its inputs and outputs are read back from the file itself."""
    a = shipped.artifact
    inputs, outputs = _declared(formats.get(a.format).signature(a.path))
    return ArtifactEntry(path=a.path.relative_to(bundle).as_posix(), format=a.format, precision=a.precision,
                         bytes=size(a.path), sha256=sha256(a.path), inputs=in_contract_order(inputs),
                         outputs=outputs, verification=shipped.verification, notes=a.notes,
                         quantization_method=a.quantization_method, **{a.format: a.details})


def with_files(contract: Contract, shipped: list[Verified], bundle: Path) -> Contract:
    """features.json with each shipped file's inputs in positional order and its output (`Contract.files`)."""
    files = {}
    for s in shipped:
        inputs, outputs = _declared(formats.get(s.artifact.format).signature(s.artifact.path))
        scores = next(o for o in outputs if o.name == SCORES)
        files[s.artifact.path.relative_to(bundle).as_posix()] = FileIO(
            [TensorIO(t.name, t.dtype, list(t.shape)) for t in inputs], TensorIO(scores.name, scores.dtype,
                                                                                list(scores.shape)))
    return dataclasses.replace(contract, files=files)


def test_vectors(shipped: list[Verified], entries: list[ArtifactEntry], cases: Requests, bundle: Path) -> Vectors:
    """Each artifact's own output on a few requests, in the output shape its manifest entry declares, so an
    app's unit test can check its integration."""
    n, k = len(cases), cases.candidates.shape[1]
    shapes = {e.path: output_shape(e.outputs[0].shape, k) for e in entries}
    expected: dict[str, list] = {}
    for s in shipped:  # the first n of the requests its parity check scored, as recorded then
        rel = s.artifact.path.relative_to(bundle).as_posix()
        expected[rel] = [s.outputs.requests[i].astype(np.float32).reshape(shapes[rel]) for i in range(n)]
    return Vectors(
        training=[training_vector(s.artifact, shapes[s.artifact.path.relative_to(bundle).as_posix()], cases, bundle)
                  for s in shipped if s.artifact.trainable],
        schema_version=TESTVECTORS_VERSION, output=SCORES,
        cases=[VectorCase(inputs={k: v.tolist() for k, v in cases.one(i).items()},
                          expected={path: out[i].astype(float).tolist() for path, out in expected.items()})
               for i in range(n)],
        atol={s.artifact.path.relative_to(bundle).as_posix(): atol_for(s.artifact) for s in shipped})


TRAINING_ATOL = 1e-4  # float32 training step replayed by another CPU's LiteRT


def output_shape(declared, k: int) -> tuple[int, ...]:
    """The shape a file declares for its scores: what a strict client allocates and compares against. The
    Core ML converter leaves the output shape undeclared; there the contract's [1, K] is used."""
    return tuple(declared) or (1, k)


def training_vector(artifact: Artifact, shape: tuple[int, ...], cases: Requests, bundle: Path) -> TrainingVector:
    """One train call from the shipped state on case 0, with the probe verification uses."""
    trainer = formats.get(artifact.format).trainer(artifact.path)
    trainer.reset()
    request = cases.one(0)
    labels = probe_labels(trainer.scores(request), cases.labels[0])
    mask = np.ones_like(labels) if cases.mask is None else cases.mask[0].astype(np.float32)
    loss = trainer.train(request, labels, mask, PROBE_LEARNING_RATE)
    after = trainer.scores(request).reshape(shape).astype(float)
    trainer.reset()
    return TrainingVector(artifact.path.relative_to(bundle).as_posix(), 0, labels.tolist(), mask.tolist(),
                          PROBE_LEARNING_RATE, loss, after.tolist(), TRAINING_ATOL)


def vocabularies_text(encoders: Encoders) -> str:
    """The exact text of vocabularies.json."""
    return json.dumps(encoders.to_json(), indent=1, ensure_ascii=False) + "\n"


def vocabularies(encoders: Encoders, item_collisions: Collisions) -> tuple[EncodingRecord, str]:
    """The manifest's encoding record and the text of vocabularies.json it describes (its sha256 and size are
    taken from this text, which write_files then writes)."""
    text = vocabularies_text(encoders)
    return EncodingRecord.of(encoders, VOCABULARIES, text, item_collisions), text


def contract(model_candidates: int, spec, encoders: Encoders) -> Contract:
    return Contract.of(spec, encoders, model_candidates, VOCABULARIES, spec.inputs(model_candidates))


def raw_test_vectors(shipped: list[Verified], entries: list[ArtifactEntry], the_contract: Contract,
                     cases: list[RawProbe], bundle: Path, table: Fallback | None = None,
                     rules: RuleSet | None = None) -> RawVectors:
    """Raw requests through the contract into every shipped file (the outputs its parity check recorded on
    them), in each file's declared output shape."""
    k = the_contract.candidates.k
    shapes = {e.path: output_shape(e.outputs[0].shape, k) for e in entries}
    files, atol = {}, {}
    for s in shipped:
        rel = s.artifact.path.relative_to(bundle).as_posix()
        files[rel] = (s.outputs.probes, shapes[rel])
        atol[rel] = atol_for(s.artifact)
    return raw_vectors(the_contract, cases, files, atol, table, rules or RuleSet())


CHECKED_FILES = (FEATURES, VOCABULARIES, TESTVECTORS, RAW_TESTVECTORS, RULES)  # their sha256 in manifest.files


def write_files(stage: Path, manifest: Manifest, vectors: Vectors, readme: str, vocabularies: str,
                the_contract: Contract, raw: RawVectors) -> Manifest:
    """features.json, testvectors.json, testvectors_raw.json, vocabularies.json, then manifest.json with their
    checksums (and fallback.json's, which write_fallback wrote when the manifest records one), the JSON Schemas
    they follow, and README.md, into the staging folder. Returns the manifest as written."""
    from ..schemas import schema_path

    write_text(stage / VOCABULARIES, vocabularies)
    write_json(stage / FEATURES, typed.dump(the_contract))
    write_json(stage / RAW_TESTVECTORS, typed.dump(raw), compact=True)
    write_json(stage / TESTVECTORS, typed.dump(vectors), compact=True)
    fallback = [FALLBACK] if manifest.fallback is not None else []
    manifest = dataclasses.replace(manifest, files={name: sha256(stage / name)
                                                    for name in [*CHECKED_FILES, *fallback]})
    write_json(stage / MANIFEST, typed.dump(manifest))
    for name in SCHEMA_FILES + (("fallback.schema.json",) if fallback else ()):
        shutil.copyfile(schema_path(name), stage / name)
    (stage / README).write_text(readme, encoding="utf-8")
    return manifest


def write_rules(stage: Path, rules: RuleSet) -> None:
    """rules.json into the staging folder: written in every bundle, holding no rules unless configured."""
    write_json(stage / RULES, typed.dump(rules_file(rules)))


def write_fallback(stage: Path, table: Fallback, ndcg: float, model_ndcg: float, cold: ColdStart) -> FallbackRecord:
    """fallback.json into the staging folder (compact: it is a table), and the manifest's record of it."""
    write_json(stage / FALLBACK, typed.dump(table), compact=True)
    return FallbackRecord(FALLBACK, (stage / FALLBACK).stat().st_size,
                          "segment_popularity" if table.segments else "item_popularity", ndcg, model_ndcg, cold)


def _fsync_tree(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            with open(path, "rb") as f:
                os.fsync(f.fileno())


def check_destination(out: Path, force: bool) -> None:
    """Refuse, before any work is done, to overwrite an existing bundle unless forced."""
    if out.exists() and not out.is_dir():
        raise InputError("exists and is not a directory", option="out", value=out)
    if out.is_dir() and any(out.iterdir()) and not force:
        raise AlreadyExists("already holds a bundle", option="out", value=out)


@contextlib.contextmanager
def staging(out: Path, force: bool):
    """Yield a fresh staging folder; on success it atomically becomes `out` (replacing it only with force)."""
    check_destination(out, force)
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = out.parent / f".{out.name}.staging-{os.getpid()}"
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir()
    try:
        yield stage
        _fsync_tree(stage)
        old = out.parent / f".{out.name}.old-{os.getpid()}"
        if out.exists():
            os.replace(out, old)
        os.replace(stage, out)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def clean_stale_staging(out: Path) -> None:
    """Remove staging folders left by runs that were killed (their process is gone). A run killed between
    moving the old bundle aside and moving the new one in (when forced) left the old one aside: put it back."""
    for stale in out.parent.glob(f".{out.name}.staging-*"):
        pid = stale.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(stale, ignore_errors=True)
    for aside in out.parent.glob(f".{out.name}.old-*"):
        pid = aside.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not _alive(int(pid)):
            if out.exists():
                shutil.rmtree(aside, ignore_errors=True)
            else:
                os.replace(aside, out)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
