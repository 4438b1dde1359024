"""Developer tools run from the repository with `python -m tools.<name>`; not installed with edgeship."""
