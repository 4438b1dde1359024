"""A .mlpackage as it lies on disk: a folder with Manifest.json naming the root model (the ML Program's protobuf,
Data/com.apple.CoreML/model.mlmodel) and its weights (weights/weight.bin, MIL blob storage). Read without
coremltools' native parts, and made reproducible: coremltools names the manifest's items with random UUIDs."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from ...core.errors import EdgeshipError, InputError, reading_model
from .. import shims

MANIFEST = "Manifest.json"
DATA = "Data"
# the converter stamps the conversion date into the spec; dropping it keeps the same config -> same bytes
VOLATILE_METADATA = ("com.github.apple.coremltools.conversion_date",)
_NAMESPACE = uuid.UUID("6d1c3a2e-0b7f-4d55-9a8e-2b7f2f3c5e10")  # edgeship's, for uuid5 of each item's path


def _manifest(path: Path, error: type[EdgeshipError]) -> dict:
    where = Path(path) / MANIFEST
    if not Path(path).is_dir() or not where.is_file():
        raise error(f"{path}: not a Core ML package (expected a folder with {MANIFEST})")
    with reading_model(path, "Core ML package", error, f"{MANIFEST} is not a package manifest"):
        manifest = json.loads(where.read_text(encoding="utf-8"))
        manifest["itemInfoEntries"][manifest["rootModelIdentifier"]]["path"]
    return manifest


def root_model(path: Path, error: type[EdgeshipError] = InputError) -> Path:
    """The root model's protobuf file inside the package."""
    manifest = _manifest(path, error)
    item = manifest["itemInfoEntries"][manifest["rootModelIdentifier"]]
    found = Path(path) / DATA / item["path"]
    if not found.is_file():
        raise error(f"{path}: the manifest's root model {item['path']} is missing")
    return found


def weights_dir(path: Path, error: type[EdgeshipError] = InputError) -> Path:
    """What '@model_path/weights' in the program means: the folder beside the root model."""
    return root_model(path, error).parent / "weights"


def read_spec(path: Path, error: type[EdgeshipError] = InputError):
    """The package's protobuf `Model` (an mlProgram), parsed without importing TensorFlow."""
    spec = shims.coreml_model_proto()()
    model = root_model(path, error)
    with reading_model(path, "Core ML package", error):
        spec.ParseFromString(model.read_bytes())
    if spec.WhichOneof("Type") != "mlProgram":
        raise error(f"{path}: a Core ML package whose model is {spec.WhichOneof('Type')!r}, not an ML Program")
    return spec


def write_spec(path: Path, spec) -> None:
    """The root model rewritten with sorted map entries (protobuf maps otherwise serialize in hash order)."""
    root_model(path).write_bytes(spec.SerializeToString(deterministic=True))


def shorten_names(spec) -> None:
    """Every internal value renamed v0, v1, ... in program order (the model's inputs and outputs keep theirs):
    the converter names each op and constant after its TensorFlow path, and those names are a third of a small
    program's bytes (each is stored as the output's name, the op's name and every use). A program with nested
    blocks is left as it is."""
    for function in spec.mlProgram.functions.values():
        blocks = list(function.block_specializations.values())
        if any(op.blocks for block in blocks for op in block.operations):
            continue
        keep = {i.name for i in function.inputs} | {name for block in blocks for name in block.outputs}
        for block in blocks:
            names: dict[str, str] = {}
            for op in block.operations:
                for out in op.outputs:
                    if out.name not in keep:
                        names[out.name] = f"v{len(names)}"
            for op in block.operations:
                for out in op.outputs:
                    out.name = names.get(out.name, out.name)
                for argument in op.inputs.values():
                    for binding in argument.arguments:
                        if binding.WhichOneof("binding") == "name":
                            binding.name = names.get(binding.name, binding.name)
                if "name" in op.attributes:
                    strings = op.attributes["name"].immediateValue.tensor.strings.values
                    strings[0] = names.get(strings[0], strings[0])


def make_reproducible(path: Path) -> None:
    """Same model -> same bytes: the manifest's random item identifiers replaced by UUIDs derived from each item's
    path (Core ML reads them only as keys), and the conversion date dropped from the spec."""
    manifest = _manifest(path, InputError)
    spec = read_spec(path)
    for key in VOLATILE_METADATA:
        spec.description.metadata.userDefined.pop(key, None)
    write_spec(path, spec)
    entries = manifest["itemInfoEntries"]
    renamed = {old: str(uuid.uuid5(_NAMESPACE, entry["path"])).upper() for old, entry in entries.items()}
    manifest["itemInfoEntries"] = {renamed[old]: entries[old] for old in sorted(entries, key=renamed.get)}
    manifest["rootModelIdentifier"] = renamed[manifest["rootModelIdentifier"]]
    target = Path(path) / MANIFEST
    tmp = target.with_name(f".{MANIFEST}.tmp")
    tmp.write_text(json.dumps(manifest, indent=4, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(target)
    for item in [Path(path), *Path(path).rglob("*")]:  # the converter writes some of them owner-only
        item.chmod(0o755 if item.is_dir() else 0o644)
