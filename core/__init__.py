"""Shared basics every stage may import: the user-facing error family, file reading and atomic writing, the
one dataclass <-> TOML/JSON codec (with JSON Schemas), the tensor-signature type, and where progress lines go.
Imports no stage."""
