"""Write schemas/*.schema.json from the typed records: `python -m tools.schemas` (after changing a record).
tests/test_schemas.py fails while the files in schemas/ differ from what this writes."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

from edgeship.abtest import SCHEMAS as AB
from edgeship.benchmarks.records import SCHEMAS as BENCH
from edgeship.core.typed import json_schema
from edgeship.export.manifest import SCHEMAS as BUNDLE
from edgeship.offpolicy import SCHEMAS as OPE
from edgeship.ondevice.impressions import EVENT_RECORDS
from edgeship.release.record import SCHEMAS as RELEASE

ROOT = Path(__file__).resolve().parents[1]


def generated() -> dict[str, str]:
    """File name -> the text it should hold."""
    schemas = {name: json_schema(cls, title, f"urn:edgeship:schema:{name}")
               for name, (cls, title) in {**BUNDLE, **BENCH, **OPE, **AB, **RELEASE}.items()}
    name = "impressions.schema.json"  # one line of the JSON Lines log: one of the three events
    events = []
    for kind, cls in EVENT_RECORDS.items():  # fields with a default may be left out of a line; `event` names it
        event = json_schema(cls, f"{kind} event", f"urn:edgeship:schema:{name}#{kind}")
        event["properties"]["event"] = {"const": kind}
        event["required"] = [f.name for f in dataclasses.fields(cls)
                             if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
        event["required"].append("event")
        events.append(event)
    defs = {k: v for e in events for k, v in e.get("$defs", {}).items()}  # refs resolve against the root
    schemas[name] = {"$schema": events[0]["$schema"], "$id": f"urn:edgeship:schema:{name}",
                     "title": "edgeship impression log: one JSON Lines event (ondevice/impressions.py)",
                     "oneOf": [{k: v for k, v in e.items() if k not in ("$schema", "$id", "$defs")} for e in events],
                     **({"$defs": defs} if defs else {})}
    return {name: json.dumps(schema, indent=2) + "\n" for name, schema in schemas.items()}


def main() -> int:
    for name, text in generated().items():
        (ROOT / "schemas" / name).write_text(text, encoding="utf-8")
        print(f"schemas/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
