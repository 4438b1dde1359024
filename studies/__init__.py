"""Studies that drive the whole pipeline or the installed CLI to measure it: not part of the installed library.
Run from the repository with `python -m studies.<name> --out DIR`; the tests run each at a tiny size."""
