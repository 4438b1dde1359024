"""Re-check a bundle as it lies on disk: manifest schema, checksums, and each artifact reproducing its test
vectors in its own runtime. Needs no training code and no Keras model."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core.errors import BundleError, EdgeshipError, InputError
from ..core.files import read_json, sha256, size
from ..ondevice.contract import FEATURES, Contract, RawEncoder
from ..ondevice.fallback import FALLBACK, Fallback
from ..ondevice.rules import RULES, RuleSet
from . import formats
from .bundle import VOCABULARIES, output_shape
from .manifest import (MANIFEST, TESTVECTORS, Manifest, read_contract_file, read_fallback, read_manifest_file,
                       read_raw_vectors, read_rules, read_test_vectors)
from .parity import scorer
from .raw_vectors import RAW_TESTVECTORS, check_raw


@dataclass(frozen=True)
class ArtifactCheck:
    path: str
    max_error: float
    atol: float
    passed: bool


def read_manifest(bundle: Path, error: type[EdgeshipError] = BundleError, only: Collection[str] | None = None
                  ) -> Manifest:
    """The manifest, with its schema and every artifact's size and checksum checked. error: what a broken
    bundle is to the caller (`verify`: a bundle that fails, exit 1; `bench`/`gate`: bad input, exit 2). only: a
    per-platform release's bundle, which holds these model files of the manifest's (and their side files)."""
    if not bundle.is_dir():
        raise InputError(f"{bundle}: bundle directory not found")
    if not (bundle / MANIFEST).is_file():
        raise InputError(f"{bundle}: not a bundle (no {MANIFEST}); expected a folder written by edgeship")
    manifest = read_manifest_file(bundle / MANIFEST, error)
    where = bundle / MANIFEST
    if not manifest.artifacts:
        raise error(f"{where}: artifacts: expected a non-empty list")
    for i, entry in enumerate(manifest.artifacts):
        if only is not None and entry.path not in only:
            continue
        path = (bundle / entry.path).resolve()
        if bundle.resolve() not in path.parents:
            raise error(f"{where}: artifacts[{i}].path {entry.path!r} points outside the bundle")
        if not path.exists():
            raise error(f"{bundle / entry.path}: listed in the manifest but missing")
        if size(path) != entry.bytes or sha256(path) != entry.sha256:
            raise error(f"{bundle / entry.path}: checksum mismatch (the file is not the one the manifest "
                        "describes: tampered, truncated or replaced)")
    # beside the artifacts: the contract, vocabularies and test vectors an app reads, and the operator list a
    # reduced ORT Mobile build is made from
    sides = dict(manifest.files)
    for e in manifest.artifacts:
        if only is None or e.path in only:
            sides.update(formats.get(e.format).side_files(e.details))
    for name, digest in sides.items():
        side = bundle / name
        if bundle.resolve() not in side.resolve().parents:
            raise error(f"{where}: files: {name!r} points outside the bundle")
        if not side.is_file() or sha256(side) != digest:
            raise error(f"{side}: missing or not the file the manifest describes (checksum mismatch)")
    return manifest


def _feeds(entry, case) -> dict[str, np.ndarray]:
    """A test case's inputs as the tensors the file declares."""
    dtypes = {t.name: np.dtype(t.dtype) for t in entry.inputs}
    return {name: np.asarray(value, dtype=dtypes[name]) for name, value in case.inputs.items()}


def _replay_training(bundle: Path, manifest: Manifest, vectors, t) -> ArtifactCheck:
    """The recorded train call from the shipped state: same loss, same scores after it, and reset gives the
    shipped scores back."""
    entry = next((e for e in manifest.artifacts if e.path == t.file), None)
    if entry is None or not 0 <= t.case < len(vectors.cases):
        raise BundleError(f"{bundle / TESTVECTORS}: training: {t.file} (case {t.case}) is not in the bundle")
    feeds = _feeds(entry, vectors.cases[t.case])
    trainer = formats.get(entry.format).trainer(bundle / t.file, error=BundleError)
    trainer.reset()
    loss = trainer.train(feeds, t.labels, t.mask, t.learning_rate)
    after = np.asarray(trainer.scores(feeds))
    trainer.reset()
    shipped = np.asarray(vectors.cases[t.case].expected[t.file])
    recorded = np.asarray(t.scores_after)
    if recorded.shape != after.shape or shipped.shape != after.shape:
        raise BundleError(f"{bundle / TESTVECTORS}: training: {t.file}: shape {list(recorded.shape)}, the file gives "
                          f"{list(after.shape)}")
    worst = max(abs(loss - t.loss), float(np.max(np.abs(after - recorded))),
                float(np.max(np.abs(np.asarray(trainer.scores(feeds)) - shipped))))
    return ArtifactCheck(f"{t.file} (train, reset)", worst, t.atol, worst <= t.atol)


def check_bundle(bundle: Path, only: Collection[str] | None = None) -> list[ArtifactCheck]:
    """Checksums, schemas and test vectors; raises BundleError (exit 1) on the first broken promise. only: the
    model files a per-platform release carries (the others are neither expected nor run)."""
    manifest = read_manifest(bundle, only=only)
    vectors = read_test_vectors(bundle / TESTVECTORS)
    where = bundle / TESTVECTORS
    results, runs = [], {}
    for entry in manifest.artifacts:
        rel = entry.path
        if only is not None and rel not in only:
            continue
        if rel not in vectors.atol:
            raise BundleError(f"{where}: atol: no tolerance for {rel}")
        run = runs[rel] = scorer(entry.format, bundle / rel, error=BundleError)
        declared = output_shape(entry.outputs[0].shape, manifest.model.candidates)
        worst = 0.0
        for i, case in enumerate(vectors.cases):
            if rel not in case.expected:
                raise BundleError(f"{where}: cases[{i}].expected: no output for {rel}")
            got = np.asarray(run(_feeds(entry, case)), dtype=np.float64)
            want = np.asarray(case.expected[rel], dtype=np.float64)
            if want.shape != declared:  # a strict client allocates the declared shape and compares with it
                raise BundleError(f"{where}: cases[{i}].expected[{rel!r}] has shape {list(want.shape)}; the file "
                                  f"declares {list(declared)}")
            if got.shape != want.shape:
                raise BundleError(f"{bundle / rel}: case {i} gives shape {list(got.shape)}, expected "
                                  f"{list(want.shape)}")
            worst = max(worst, float(np.max(np.abs(got - want))))
        atol = float(vectors.atol[rel])
        results.append(ArtifactCheck(rel, worst, atol, worst <= atol))
    for t in vectors.training:
        if only is None or t.file in only:
            results.append(_replay_training(bundle, manifest, vectors, t))
    results += _check_raw(bundle, manifest, runs, _check_fallback(bundle, manifest), _check_rules(bundle, manifest))
    bad = [r for r in results if not r.passed]
    if bad:
        raise BundleError(f"{bundle / bad[0].path}: test vectors off by {bad[0].max_error:.2e} (atol "
                          f"{bad[0].atol:.1e})")
    return results


def read_contract(bundle: Path, manifest: Manifest) -> Contract:
    """features.json, checked against what the files themselves take: the same inputs in the same shapes (a file
    may take another dtype than the contract's, as Core ML takes float32 ids: its manifest entry says so)."""
    where = bundle / FEATURES
    if not where.is_file():
        raise BundleError(f"{where}: missing; every bundle carries its raw-input contract")
    contract = read_contract_file(where)
    declared = [(i.name, list(i.shape)) for i in contract.inputs]
    for entry in manifest.artifacts:
        actual = [(t.name, list(t.shape)) for t in entry.inputs]
        if actual != declared:
            raise BundleError(f"{where}: inputs {declared} disagree with {entry.path}, which takes {actual}")
    if len(contract.context) != declared[0][1][-1]:
        raise BundleError(f"{where}: context: {len(contract.context)} columns, the model's context input has "
                          f"{declared[0][1][-1]}")
    if contract.candidates.k != manifest.model.candidates:
        raise BundleError(f"{where}: candidates.k = {contract.candidates.k}, the manifest says K = "
                          f"{manifest.model.candidates}")
    return contract


def _check_fallback(bundle: Path, manifest: Manifest) -> Fallback | None:
    """fallback.json follows its schema and is the file the manifest describes (its checksum is checked with the
    other files'); a manifest that records a fallback has the file, and the other way round. Returns it."""
    listed, recorded = FALLBACK in manifest.files, manifest.fallback is not None
    if listed != recorded:
        raise BundleError(f"{bundle / MANIFEST}: fallback and files disagree about {FALLBACK}")
    if listed:
        table = read_fallback(bundle / FALLBACK)
        size = (bundle / FALLBACK).stat().st_size
        if size != manifest.fallback.bytes:
            raise BundleError(f"{bundle / FALLBACK}: {manifest.fallback.bytes} bytes in the manifest, the file has "
                              f"{size}")
        if any(s.column >= len(manifest.model.feature_spec.context_fields) for s in table.segments):
            raise BundleError(f"{bundle / FALLBACK}: segments: a column beyond the model's context")
        return table
    return None


def _check_rules(bundle: Path, manifest: Manifest) -> RuleSet:
    """rules.json follows its schema, is listed with its checksum, and holds as many rules as the manifest says."""
    if RULES not in manifest.files:
        raise BundleError(f"{bundle / MANIFEST}: files: {RULES} is not listed; every bundle carries one")
    rules = read_rules(bundle / RULES).rules
    if manifest.rules is not None and manifest.rules.rules != rules.count():
        raise BundleError(f"{bundle / RULES}: {rules.count()} rules, the manifest says {manifest.rules.rules}")
    return rules


def _check_raw(bundle: Path, manifest: Manifest, runs: dict, table: Fallback | None, rules: RuleSet
               ) -> list[ArtifactCheck]:
    """testvectors_raw.json replayed the way an app would: encoded from features.json alone, then every file
    (runs: each file's scorer, already loaded for the tensor vectors), the fallback table and the rules."""
    contract = read_contract(bundle, manifest)
    where = bundle / RAW_TESTVECTORS
    vectors = read_raw_vectors(where)
    encoder = RawEncoder(contract, read_json(bundle / VOCABULARIES, VOCABULARIES, error=BundleError))
    try:
        worst = check_raw(encoder, vectors, runs, where, table, rules)
    except ValueError as e:
        raise BundleError(str(e)) from None
    return [ArtifactCheck(f"{path} (raw requests)", w, vectors.atol.get(path, 0.0), w <= vectors.atol.get(path, 0.0))
            for path, w in worst.items()]
