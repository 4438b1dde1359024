"""python -m clients.conformance: rewrite the suite's contracts and cases.json from the Python reference."""

from . import releases, write

for path in write() + releases.write():
    print(path)
