"""Layering you can test: data flows one way through the stages, and no stage reaches back into the wiring.

Allowed imports inside the installed `edgeship` package (folder -> what it may import of edgeship):
  core, schemas -> nothing      models -> core, schemas      ondevice -> core, schemas, models
  export -> core, schemas, models, ondevice      benchmarks -> core, schemas, models, ondevice, export
  release -> core, schemas, models, ondevice, export
  edgeship/ (CLI, config, pipeline) -> everything
The generic top-level names (`models`, `ondevice`, `export`, `benchmarks`) are never imported as such anywhere.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit  # TensorFlow-free: `make test-fast`

ROOT = Path(__file__).resolve().parents[1]
BASE = {"core", "schemas"}  # shared basics every stage may import
ALLOWED = {"core": set(), "schemas": set(), "models": BASE, "ondevice": BASE | {"models"},
           "export": BASE | {"models", "ondevice"}, "benchmarks": BASE | {"models", "ondevice", "export"},
           "release": BASE | {"models", "ondevice", "export"}}
GENERIC = {"models", "ondevice", "export", "benchmarks", "release", "core", "schemas"}


def _module_name(root: Path, path: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    parts = parts[:-1] if parts[-1] == "__init__" else parts
    return ".".join(("edgeship",) + (parts[1:] if parts[0] == "edgeship" else parts))


def _imports(root: Path, path: Path):
    """(line, absolute module name) of every import in a file, relative imports resolved."""
    module = _module_name(root, path)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
                names = [target] if node.module else [f"{target}.{a.name}" for a in node.names]
                for name in names:
                    yield node.lineno, name
            else:
                yield node.lineno, node.module


def forbidden_imports(root: Path) -> list[str]:
    problems = []
    for folder in [*ALLOWED, "edgeship"]:
        for path in sorted((root / folder).rglob("*.py")):
            for line, name in _imports(root, path):
                where = f"{path.relative_to(root)}:{line}"
                top = name.split(".")[0]
                if top in GENERIC:
                    problems.append(f"{where}: imports {name!r}; use edgeship.{name}")
                    continue
                if folder == "edgeship" or top != "edgeship" or name == "edgeship.__version__":
                    continue
                layer = name.split(".")[1] if name.count(".") else ""
                if layer != folder and layer not in ALLOWED[folder]:
                    problems.append(f"{where}: {folder}/ imports {name} ({folder}/ may import "
                                    f"{', '.join(sorted(ALLOWED[folder])) or 'nothing of edgeship'})")
    return problems


def test_the_installed_code_keeps_its_layers():
    assert forbidden_imports(ROOT) == []


def test_a_planted_forbidden_import_is_caught(tmp_path):
    for folder in [*ALLOWED, "edgeship"]:
        (tmp_path / folder).mkdir()
    (tmp_path / "models" / "leak.py").write_text("from ..export import formats\n")
    (tmp_path / "export" / "tflite").mkdir()
    (tmp_path / "export" / "tflite" / "convert.py").write_text("from ...pipeline import run\n"
                                                                "from ...benchmarks.harness import plan\n")
    (tmp_path / "benchmarks" / "gate.py").write_text("import edgeship.config\nfrom models import data\n")
    (tmp_path / "core" / "files.py").write_text("from ..models.features import SCORES\n")
    (tmp_path / "ondevice" / "rules.py").write_text("from ..export.manifest import Manifest\n")
    (tmp_path / "export" / "ok.py").write_text("from ..models.data import Requests\nfrom .types import Artifact\n")
    problems = forbidden_imports(tmp_path)
    assert [p.split(":")[0] for p in problems] == ["core/files.py", "models/leak.py", "ondevice/rules.py",
                                                   "export/tflite/convert.py", "export/tflite/convert.py",
                                                   "benchmarks/gate.py", "benchmarks/gate.py"]
    assert "models/ imports edgeship.export (models/ may import core, schemas)" in problems[1]
    assert "ondevice/ imports edgeship.export.manifest (ondevice/ may import core, models, schemas)" in problems[2]
    assert "imports 'models'; use edgeship.models" in problems[6]
