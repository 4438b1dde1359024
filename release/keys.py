"""Ed25519 keys as PEM files: the private key (PKCS#8, readable by its owner only) signs releases; the public
key (SubjectPublicKeyInfo) ships inside the app. A key's id is the first 16 hex digits of the SHA-256 of its 32
raw public bytes, written into each release so a client knows which of its keys to try."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from ..core.errors import InputError

PRIVATE, PUBLIC = "release.key", "release.pub"


def _crypto():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    return serialization, ed25519


def keygen(out: Path) -> tuple[Path, Path]:
    """A new key pair in `out`; an existing key is never replaced (a lost signing key cannot be recovered)."""
    serialization, ed25519 = _crypto()
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError("expected a folder", option="out", value=out)
    for name in (PRIVATE, PUBLIC):
        if (out / name).exists():
            raise InputError(f"already holds {name}; a key is never replaced (give another folder)", option="out",
                             value=out)
    out.mkdir(parents=True, exist_ok=True)
    key = ed25519.Ed25519PrivateKey.generate()
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    fd = os.open(out / PRIVATE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(private)
    (out / PUBLIC).write_bytes(public)
    return out / PRIVATE, out / PUBLIC


def load_private(path: Path, option: str = "key"):
    serialization, ed25519 = _crypto()
    return _load(path, option, lambda data: serialization.load_pem_private_key(data, password=None),
                 ed25519.Ed25519PrivateKey, "a PEM private key without password", "private key (edgeship keygen)")


def load_public(path: Path, option: str = "public_key"):
    serialization, ed25519 = _crypto()
    return _load(path, option, serialization.load_pem_public_key, ed25519.Ed25519PublicKey, "a PEM public key",
                 "public key (release.pub)")


def _load(path: Path, option: str, loader, kind: type, pem: str, expected: str):
    path = Path(path)
    if not path.is_file():
        raise InputError("not found", option=option, value=path)
    try:
        key = loader(path.read_bytes())
    except (ValueError, TypeError) as e:
        raise InputError(f"not {pem} ({str(e).splitlines()[0]})", option=option, value=path) from None
    if not isinstance(key, kind):
        raise InputError(f"a {type(key).__name__}, expected an Ed25519 {expected}", option=option, value=path)
    return key


def key_id(public) -> str:
    serialization, _ = _crypto()
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]
