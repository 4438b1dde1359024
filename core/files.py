"""Reading the TOML and JSON files users hand us, and writing outputs, with one behaviour everywhere: a missing,
unreadable or malformed file is one line naming the file; an output replaces its old version only when whole."""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
import tomllib
from pathlib import Path

from .errors import ConfigError, EdgeshipError, InputError


def parse_toml(text: str, where: str) -> dict:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{where}: not valid TOML ({e})") from None


def read_toml(path: Path, what: str) -> dict:
    """what: how the message names the file when it is missing ("config file", "schema file", ...)."""
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"{path}: expected a TOML file, got a directory")
    if not path.is_file():
        raise ConfigError(f"{path}: {what} not found")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML ({e})") from None
    return parse_toml(text, str(path))


def read_json(path: Path, what: str, error: type[EdgeshipError] = InputError):
    """error: what a missing or malformed file is to the caller (bad input, or a broken bundle)."""
    if not path.is_file():
        raise error(f"{path}: {what} not found")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise error(f"{path}: not valid JSON ({e})") from None


def write_text(path: Path, text: str) -> None:
    """Written beside the target and renamed over it: a reader never sees half a file."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def write_figure(fig, path: Path, dpi: int = 110) -> Path:
    """A matplotlib figure as PNG, written beside the target and renamed over it, then closed; no software tag in
    the file, so the same figure gives the same bytes under another matplotlib."""
    import matplotlib.pyplot as plt

    tmp = path.with_name(f".{path.name}.tmp")
    fig.savefig(tmp, format="png", dpi=dpi, metadata={"Software": None})
    plt.close(fig)
    tmp.replace(path)
    return path


def write_json(path: Path, payload, compact: bool = False) -> None:
    """Strict JSON (NaN refused: the codec writes undefined numbers as null), atomically. compact: one line, for
    files of numbers (test vectors), where an indented number per line would triple the size."""
    text = json.dumps(payload, separators=(",", ":"), allow_nan=False) if compact else json.dumps(
        payload, indent=2, allow_nan=False)
    write_text(path, text + "\n")


def package_files(path: Path) -> list[str]:
    """The files of a folder-shaped model (a Core ML .mlpackage), as relative POSIX paths in byte order."""
    root = Path(path)
    return sorted((p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()),
                  key=lambda name: name.encode("utf-8"))


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def sha256(path: Path) -> str:
    """A file's SHA-256; for a folder (a .mlpackage), the SHA-256 of its listing as `sha256sum` prints it: one
    line "<hex digest>  <relative path>\n" per file, paths in byte order, so that any server or client can
    recompute it (docs/bundle.md)."""
    path = Path(path)
    if not path.is_dir():
        return _file_sha256(path)
    listing = "".join(f"{_file_sha256(path / name)}  {name}\n" for name in package_files(path))
    return hashlib.sha256(listing.encode("utf-8")).hexdigest()


def size(path: Path) -> int:
    """Bytes of a file, or of every file of a folder."""
    path = Path(path)
    if not path.is_dir():
        return path.stat().st_size
    return sum((path / name).stat().st_size for name in package_files(path))


def gzip_size(path: Path) -> int:
    """Bytes over the network with gzip; a folder's files each gzipped (as a static host serves them)."""
    path = Path(path)
    if path.is_dir():
        return sum(gzip_size(path / name) for name in package_files(path))
    # mtime=0 and a fixed level: the download cost is a property of the file, not of when it was measured
    return len(gzip.compress(path.read_bytes(), compresslevel=9, mtime=0))


def remove(path: Path) -> None:
    """A file, or a folder-shaped model with everything in it."""
    path = Path(path)
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()
