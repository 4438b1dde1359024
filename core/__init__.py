"""Shared basics every stage may import: the user-facing error family, file reading and atomic writing, the
one dataclass <-> TOML/JSON codec (with JSON Schemas), and the tensor-signature type. Imports no stage."""
