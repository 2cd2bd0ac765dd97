# Everything a fresh clone needs is installed by these targets (Python venv, npm CDK CLI).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Re-install when the pinned dependencies change.
PY_STAMP   := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
NODE_STAMP := node_modules/.installed-$(shell cat package.json package-lock.json 2>/dev/null | sha1sum | cut -c1-12)
export PYTHONDONTWRITEBYTECODE := 1
# The browser tests drive the system Chromium (/usr/bin/chromium): Playwright must never fetch a browser build.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1

.PHONY: run demo test synth bench install clean

run: $(PY_STAMP)                 ## the pipeline on localhost (API :3000, AWS endpoint :4566), demo, Ctrl-C to stop
	$(BIN)/python -m infra.local $(ARGS)

demo: $(PY_STAMP)                ## play the demo and exit: 0 only if every step happened
	$(BIN)/python -m infra.local --demo-only $(ARGS)

test: $(PY_STAMP) $(NODE_STAMP)   ## the whole test suite (npm: the CDK CLI, and Microsoft's Adaptive Cards renderer the browser tests use)
	$(BIN)/python -m pytest $(ARGS)

synth: $(PY_STAMP) $(NODE_STAMP) ## CloudFormation template into cdk.out/ (no Docker, no AWS credentials); deploying: docs/deploy.md
	@$(BIN)/python -m infra.cdk.toolchain node
	npx --no-install cdk synth --quiet $(ARGS)
	@$(BIN)/python -m infra.cdk.toolchain templates

bench: $(PY_STAMP)               ## benchmarks (~25 min); results in bench/results/
	$(BIN)/python -m bench.cold_start
	$(BIN)/python -m bench.memory
	$(BIN)/python -m bench.layer_bytecode
	$(BIN)/python -m bench.latency
	$(BIN)/python -m bench.state_transitions
	$(BIN)/python -m bench.cost
	$(BIN)/python -m bench.writes
	$(BIN)/python -m bench.storm
	$(BIN)/python -m bench.faults

install: $(PY_STAMP) $(NODE_STAMP)

$(PY_STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	rm -f $(VENV)/.installed-* && touch $@

$(NODE_STAMP): package.json
	npm install --no-audit --no-fund --loglevel=error
	rm -f node_modules/.installed-* && touch $@

clean:
	rm -rf $(VENV) node_modules cdk.out .pytest_cache build
