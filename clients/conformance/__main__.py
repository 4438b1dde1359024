"""python -m clients.conformance: rewrite the suite's contracts and cases.json from the Python reference."""

from . import write

for path in write():
    print(path)
