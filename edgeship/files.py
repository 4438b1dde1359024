"""Reading the TOML and JSON files users hand us, and writing reports, with one behaviour everywhere: a missing,
unreadable or malformed file is one line naming the file; a report replaces its old version only when whole."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from .errors import ConfigError, EdgeshipError


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


def read_json(path: Path, what: str, exit_code: int = 2):
    if not path.is_file():
        raise EdgeshipError(f"{path}: {what} not found", exit_code=exit_code)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise EdgeshipError(f"{path}: not valid JSON ({e})", exit_code=exit_code) from None


def write_text(path: Path, text: str) -> None:
    """Written beside the target and renamed over it: a reader never sees half a report."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
