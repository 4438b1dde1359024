"""The bundle a mobile team downloads: artifacts, manifest.json, testvectors.json and README.md.

A bundle is built in a hidden staging folder beside its destination and renamed into place only when complete,
so an interrupted run never leaves a half-written artifact or a manifest that points at missing files.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import EdgeshipError
from ..models.data import Requests
from ..models.features import SCORES
from . import format_module
from .types import Artifact, Verification

SCHEMA_VERSION = 1
MANIFEST = "manifest.json"
TESTVECTORS = "testvectors.json"
README = "README.md"

# How far a runtime on another CPU may drift from the expected outputs recorded on this host.
ATOL = {"fp32": 1e-5, "int8": 0.1}  # int8: about two steps of the int8 logit output (scale ~0.04-0.06)
ATOL_COREML = 1e-3  # Core ML may pick other float kernels than the NumPy executor that recorded the vectors


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def atol_for(artifact: Artifact) -> float:
    return ATOL_COREML if artifact.format == "coreml" else ATOL[artifact.precision]


@dataclass
class ShippedArtifact:
    artifact: Artifact
    verification: Verification

    def manifest_entry(self, bundle: Path) -> dict:
        a = self.artifact
        inputs, outputs = format_module(a.format).describe(a.path)
        return {
            "path": a.path.relative_to(bundle).as_posix(),
            "format": a.format,
            "precision": a.precision,
            "bytes": a.path.stat().st_size,
            "sha256": sha256(a.path),
            "inputs": [t.to_dict() for t in inputs],
            "outputs": [t.to_dict() for t in outputs],
            "verification": self.verification.to_dict(),
            "notes": a.notes,
            **a.extra,
        }


def test_vectors(shipped: list[ShippedArtifact], cases: Requests, bundle: Path) -> dict:
    """Each artifact's own output on a few requests, so an app's unit test can check its integration."""
    n = len(cases)
    expected: dict[str, list] = {}
    for s in shipped:
        run = format_module(s.artifact.format).load(s.artifact.path)
        expected[s.artifact.path.relative_to(bundle).as_posix()] = [
            np.asarray(run(cases.one(i)), dtype=np.float32).reshape(-1) for i in range(n)]
    return {
        "schema_version": SCHEMA_VERSION,
        "output": SCORES,
        "cases": [{"inputs": {k: v.tolist() for k, v in cases.one(i).items()},
                   "expected": {path: [float(x) for x in out[i]] for path, out in expected.items()}}
                  for i in range(n)],
        "atol": {s.artifact.path.relative_to(bundle).as_posix(): atol_for(s.artifact) for s in shipped},
    }


def _json_safe(value):
    """NaN (an AUC without positives, say) is not JSON: it is written as null."""
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def write_json(path: Path, payload: dict) -> None:
    text = json.dumps(_json_safe(payload), indent=2, allow_nan=False)
    path.write_text(text + "\n", encoding="utf-8")


def _fsync_tree(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            with open(path, "rb") as f:
                os.fsync(f.fileno())


def check_destination(out: Path, force: bool) -> None:
    """Refuse, before any work is done, to overwrite an existing bundle without --force."""
    if out.exists() and not out.is_dir():
        raise EdgeshipError(f"--out {out}: exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise EdgeshipError(f"--out {out}: already holds a bundle; pass --force to replace it")


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
    moving the old bundle aside and moving the new one in (with --force) left the old one aside: put it back."""
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
