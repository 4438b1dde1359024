"""Re-check a bundle as it lies on disk: manifest schema, checksums, and each artifact reproducing its test
vectors in its own runtime. Needs no training code and no Keras model."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import EdgeshipError
from ..files import read_json
from . import FORMAT_MODULES, format_module
from .bundle import MANIFEST, SCHEMA_VERSION, TESTVECTORS, sha256

_ARTIFACT_KEYS = ("path", "format", "precision", "bytes", "sha256", "inputs", "outputs", "verification")
_DTYPES = {"int32": np.int32, "float32": np.float32, "int8": np.int8, "uint8": np.uint8, "int64": np.int64}


@dataclass(frozen=True)
class ArtifactCheck:
    path: str
    max_error: float
    atol: float
    passed: bool


def _load_json(path: Path, what: str) -> dict:
    return read_json(path, what, exit_code=1)  # a broken bundle: verify's exit code


def read_manifest(bundle: Path) -> dict:
    """The manifest, with its schema and every artifact's size and checksum checked."""
    if not bundle.is_dir():
        raise EdgeshipError(f"{bundle}: bundle directory not found", exit_code=2)
    manifest = _load_json(bundle / MANIFEST, "manifest.json")
    where = bundle / MANIFEST
    if manifest.get("schema_version") != SCHEMA_VERSION:
        raise EdgeshipError(f"{where}: schema_version: expected {SCHEMA_VERSION}, got "
                            f"{manifest.get('schema_version')!r}", exit_code=1)
    if not isinstance(manifest.get("artifacts"), list) or not manifest["artifacts"]:
        raise EdgeshipError(f"{where}: artifacts: expected a non-empty list", exit_code=1)
    for i, entry in enumerate(manifest["artifacts"]):
        missing = [k for k in _ARTIFACT_KEYS if k not in entry]
        if missing:
            raise EdgeshipError(f"{where}: artifacts[{i}]: missing field {missing[0]!r}", exit_code=1)
        if entry["format"] not in FORMAT_MODULES:
            raise EdgeshipError(f"{where}: artifacts[{i}].format: unknown format {entry['format']!r}", exit_code=1)
        path = (bundle / entry["path"]).resolve()
        if bundle.resolve() not in path.parents:
            raise EdgeshipError(f"{where}: artifacts[{i}].path {entry['path']!r} points outside the bundle",
                                exit_code=1)
        if not path.is_file():
            raise EdgeshipError(f"{bundle / entry['path']}: listed in the manifest but missing", exit_code=1)
        if path.stat().st_size != entry["bytes"] or sha256(path) != entry["sha256"]:
            raise EdgeshipError(f"{bundle / entry['path']}: checksum mismatch (the file is not the one the "
                                "manifest describes: tampered, truncated or replaced)", exit_code=1)
    return manifest


def check_bundle(bundle: Path) -> list[ArtifactCheck]:
    """Checksums, schemas and test vectors; raises EdgeshipError (exit 1) on the first broken promise."""
    manifest = read_manifest(bundle)
    vectors = _load_json(bundle / TESTVECTORS, "testvectors.json")
    where = bundle / TESTVECTORS
    if vectors.get("schema_version") != SCHEMA_VERSION or not vectors.get("cases"):
        raise EdgeshipError(f"{where}: expected schema_version {SCHEMA_VERSION} and a non-empty 'cases' list",
                            exit_code=1)
    results = []
    for entry in manifest["artifacts"]:
        rel = entry["path"]
        if rel not in vectors.get("atol", {}):
            raise EdgeshipError(f"{where}: atol: no tolerance for {rel}", exit_code=1)
        dtypes = {t["name"]: _DTYPES[t["dtype"]] for t in entry["inputs"]}
        try:
            run = format_module(entry["format"]).load(bundle / rel)
        except Exception as e:  # a runtime that cannot even load the file: the artifact is broken
            raise EdgeshipError(f"{bundle / rel}: {entry['format']} runtime cannot load it ({e})".splitlines()[0],
                                exit_code=1) from None
        worst = 0.0
        for i, case in enumerate(vectors["cases"]):
            if rel not in case.get("expected", {}):
                raise EdgeshipError(f"{where}: cases[{i}].expected: no output for {rel}", exit_code=1)
            feeds = {name: np.asarray(value, dtype=dtypes[name]) for name, value in case["inputs"].items()}
            got = np.asarray(run(feeds), dtype=np.float64).reshape(-1)
            want = np.asarray(case["expected"][rel], dtype=np.float64)
            if got.shape != want.shape:
                raise EdgeshipError(f"{bundle / rel}: case {i} gives {got.size} scores, expected {want.size}",
                                    exit_code=1)
            worst = max(worst, float(np.max(np.abs(got - want))))
        atol = float(vectors["atol"][rel])
        results.append(ArtifactCheck(rel, worst, atol, worst <= atol))
    bad = [r for r in results if not r.passed]
    if bad:
        raise EdgeshipError(f"{bundle / bad[0].path}: test vectors off by {bad[0].max_error:.2e} (atol "
                            f"{bad[0].atol:.1e})", exit_code=1)
    return results
