"""Write schemas/*.schema.json from the typed records: `python -m tools.schemas` (after changing a record).
tests/test_schemas.py fails while the files in schemas/ differ from what this writes."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from edgeship.benchmarks.records import SCHEMAS as BENCH
from edgeship.core.typed import json_schema
from edgeship.export.manifest import SCHEMAS as BUNDLE
from edgeship.offpolicy import SCHEMAS as OPE

ROOT = Path(__file__).resolve().parents[1]


def generated() -> dict[str, str]:
    """File name -> the text it should hold."""
    return {name: json.dumps(json_schema(cls, title, f"urn:edgeship:schema:{name}"), indent=2) + "\n"
            for name, (cls, title) in {**BUNDLE, **BENCH, **OPE}.items()}


def main() -> int:
    for name, text in generated().items():
        (ROOT / "schemas" / name).write_text(text, encoding="utf-8")
        print(f"schemas/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
