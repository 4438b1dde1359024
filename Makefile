# The two set-up commands: `make run` and `make test`. Each creates .venv from the pinned lock when missing.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# clients/web's Node packages (npm ci also builds it into dist/; onnxruntime-node bundles its CPU binary, and its
# install script would only fetch optional GPU builds from nuget.org, unreachable here: skipped)
WEB := clients/web
WEB_STAMP := $(WEB)/node_modules/.installed

.PHONY: run test test-fast reference-bundle venv clean maven chromium

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip==25.3" "setuptools==80.9.0"
	$(BIN)/python -m pip install --quiet --no-compile -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

# Maven and a JDK for clients/android (Kotlin 2 comes from Maven Central with its Maven plugin); root, as here and
# in CI. The tests' first Maven build fetches the plugins and dependencies into ~/.m2
maven:
	command -v mvn > /dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq maven)

# Debian's Chromium for clients/web's browser test (playwright-core drives it; no browser download); root
chromium:
	test -x /usr/bin/chromium || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)

$(WEB_STAMP): $(WEB)/package-lock.json
	cd $(WEB) && ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund --loglevel=error
	touch $(WEB_STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(BIN)/edgeship run $(ARGS)

FAST := -m "unit and not heavy"
# tests run in JOBS processes (pytest-xdist); the suite is CPU-bound, so one per core. Work stealing: the
# second tier's tests last 1 s to 2 min, and an idle process takes tests queued on the busy one
JOBS ?= 2

# everything, as CI runs it: the TensorFlow-free tier under its guard, then the rest
test: $(STAMP) $(WEB_STAMP) maven chromium
	EDGESHIP_NO_TENSORFLOW=1 $(BIN)/python -m pytest -n $(JOBS) $(FAST) $(PYTEST_ARGS)
	$(BIN)/python -m pytest -n $(JOBS) --dist worksteal -m "not unit or heavy" $(PYTEST_ARGS)

# the TensorFlow-free tier (modules marked `unit`, less tests marked `heavy`): importing TensorFlow there fails
test-fast: $(STAMP) $(WEB_STAMP) maven chromium
	EDGESHIP_NO_TENSORFLOW=1 $(BIN)/python -m pytest -n $(JOBS) $(FAST) $(PYTEST_ARGS)

# the committed bundle of tests/data/tiny.toml that tests read instead of running the pipeline
reference-bundle: $(STAMP)
	$(BIN)/edgeship run --config tests/data/tiny.toml --out tests/data/reference_bundle --force
	$(BIN)/python -m tools.numerics --write

clean:
	rm -rf $(VENV) build *.egg-info $(WEB)/node_modules $(WEB)/build $(WEB)/dist clients/android/target
