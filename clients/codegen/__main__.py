"""python -m clients.codegen BUNDLE --out DIR: the app code for a bundle's features.json, under DIR/integration."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from edgeship.core.errors import EdgeshipError
from edgeship.export.reader import read_contract, read_manifest

from . import write


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m clients.codegen", description=__doc__)
    parser.add_argument("bundle", type=Path)
    parser.add_argument("--out", type=Path, required=True, help="the folder the integration/ code goes into")
    args = parser.parse_args(argv)
    try:
        written = write(read_contract(args.bundle, read_manifest(args.bundle)), args.out)
    except EdgeshipError as e:
        print(f"codegen: error: {e}", file=sys.stderr)
        return e.exit_code
    print("\n".join(str(args.out / rel) for rel in written))
    return 0


if __name__ == "__main__":
    sys.exit(main())
