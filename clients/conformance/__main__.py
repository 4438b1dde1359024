"""python -m clients.conformance: rewrite the suite's contracts and cases.json from the Python reference."""

from . import exploration, releases, write

for path in write() + releases.write() + exploration.write():
    print(path)
