"""App code generated from a bundle's features.json: raw request -> tensors -> model -> ranked item ids, with
a fallback, for each app platform (`python -m clients.codegen BUNDLE --out DIR`).

Not part of the installed library: bundles carry data and models only, and client packages that read any
bundle of a contract version replace this generator. Every platform's file embeds the same constants
(`constants`, the part of the contract the code needs); the vocabularies stay in vocabularies.json, which the
code reads at start-up.
"""

from __future__ import annotations

import json
from pathlib import Path

from edgeship.ondevice.contract import Contract
from edgeship.ondevice.fallback import FALLBACK_ORDER

FOLDER = "integration"
# the start and end of the embedded constants in every generated file, so a test can read them back
BEGIN, END = "BEGIN EDGESHIP CONSTANTS", "END EDGESHIP CONSTANTS"


def constants(contract: Contract) -> dict:
    """What the generated code needs from features.json, in one JSON-able dict (the same in every language)."""

    def vocab(v):
        return None if v is None else {"field": v.field, "first": v.first, "oov": v.oov}

    return {
        "contract_version": contract.schema_version,
        "inputs": [{"name": i.name, "dtype": i.dtype, "shape": i.shape} for i in contract.inputs],
        "k": contract.candidates.k,
        "history_length": contract.history.length,
        "padding": contract.items.padding,
        "hash": {"offset_basis": contract.hash.offset_basis, "prime": contract.hash.prime},
        "context": [{"name": c.name, "source": c.source, "kind": c.kind, "buckets": c.buckets,
                     "vocabulary": vocab(c.vocabulary)} for c in contract.context],
        "items": {"kind": contract.items.kind, "buckets": contract.items.buckets,
                  "vocabulary": vocab(contract.items.vocabulary)},
        "features": [{"name": f.name, "mean": f.mean, "scale": f.scale, "clip": f.clip, "constant": f.constant}
                     for f in contract.candidate_features],
        "output": contract.output.name,
    }


def constants_json(contract: Contract) -> str:
    return json.dumps(constants(contract), indent=2)


def fill(template: str, constants_text: str) -> str:
    """A platform's code template with its placeholders filled: the constants (in that language's form), the
    markers around them, and the fallback every platform documents."""
    return (template.replace("__CONSTANTS__", constants_text).replace("__BEGIN__", BEGIN).replace("__END__", END)
            .replace("__FALLBACK__", FALLBACK_ORDER))


def embedded(text: str) -> dict:
    """The constants a generated file embeds (between BEGIN and END), parsed back."""
    body = text.split(BEGIN, 1)[1].split(END, 1)[0]
    return json.loads(body[body.index("{"): body.rindex("}") + 1])


def files(contract: Contract) -> dict[str, str]:
    """Bundle-relative path -> text of every generated file."""
    from . import ios

    return {f"{FOLDER}/{path}": text for platform in (ios,)
            for path, text in platform.files(contract).items()}


def write(contract: Contract, out_dir: Path) -> list[str]:
    """Writes every generated file under out_dir/integration; returns their paths relative to out_dir."""
    out = files(contract)
    for rel, text in out.items():
        path = out_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return list(out)
