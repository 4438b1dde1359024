"""The release archive: a POSIX ustar file of regular files only, in byte order of their paths, with zero
times, owners and fixed modes, so the same bundle and record give the same bytes; read back refusing anything a
client could be tricked by (links, absolute paths, `..`, duplicates)."""

from __future__ import annotations

import io
import tarfile
from pathlib import PurePosixPath

from ..core.errors import BundleError


def write(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name in sorted(entries, key=lambda n: n.encode("utf-8")):
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode, info.uid, info.gid = len(entries[name]), 0, 0o644, 0, 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(entries[name]))
    return buffer.getvalue()


def read(data: bytes, where: str) -> dict[str, bytes]:
    """name -> content; BundleError (a failed check: exit 1) for anything but a clean archive of files."""
    entries: dict[str, bytes] = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
            for member in tar:
                name = member.name
                path = PurePosixPath(name)
                if not member.isreg():
                    raise BundleError(f"{where}: {name!r} is not a regular file (a release holds files only)")
                if path.is_absolute() or ".." in path.parts or "\\" in name or str(path) != name:
                    raise BundleError(f"{where}: {name!r} is not a plain relative path")
                if name in entries:
                    raise BundleError(f"{where}: {name!r} appears twice")
                entries[name] = tar.extractfile(member).read()
    except (tarfile.TarError, EOFError, OSError) as e:
        raise BundleError(f"{where}: not a readable release archive ({e})") from None
    return entries
