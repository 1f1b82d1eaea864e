# fbfailover — two commands do everything: `make lab` opens the tutorial, `make test` runs every test.
# Both create .venv when it is missing and install what they need; a second run with nothing changed is quick.

PYTHON ?= python3
# `make test PYTHON=python3.13` tests another Python in a venv of its own (.venv-3.13); the default one is .venv.
VENV   ?= $(if $(filter python3,$(PYTHON)),.venv,.venv-$(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null))
BIN    := $(VENV)/bin
FIRST_NOTEBOOK := notebooks/00-start-here.ipynb
NBVAL_FLAGS := --nbval --nbval-current-env --nbval-sanitize-with notebooks/sanitize.cfg

.PHONY: lab test lint unit twins notebooks notebooks-refresh browser bench chromium node wrk prism clean help

help:
	@echo "make lab    open the tutorial in JupyterLab"
	@echo "make test   lint and run every test (unit, sandbox, receiver, twins, notebooks, browser)"
	@echo "make twins  run every curl, Node and Python twin the notebooks show against a sandbox"
	@echo "make bench  run the benchmarks (installs wrk and Prism for them)"

# --- environment ------------------------------------------------------------------------------
$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10))' || \
	  { echo "fbfailover needs Python 3.10 or newer (found $$($(PYTHON) --version))"; exit 1; }
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { \
	  echo "python venv support is missing; installing it with apt-get"; \
	  command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && apt-get update -qq && \
	    apt-get install -y -qq python3-venv >/dev/null && rm -rf $(VENV) && $(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.stamp-lab: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	@touch $@

$(VENV)/.stamp-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'
	@touch $@ $(VENV)/.stamp-lab

# Debian's Chromium for the browser tests (never `playwright install`: it downloads its own browser).
chromium:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	  echo "installing Debian's chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else echo "chromium is missing and cannot be installed here: the browser tests will be skipped"; fi

# Node.js 20 or newer with npm for the Node twins: Debian's nodejs and npm when they are missing or older and apt
# can install them (Debian 12's nodejs is 18, so there the twins are still skipped, with one line).
NODE_OK = command -v npm >/dev/null && node -e 'process.exit(Number(process.versions.node.split(".")[0]) < 20 ? 1 : 0)' 2>/dev/null
node:
	@if $(NODE_OK); then :; \
	elif command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	  echo "installing Debian's nodejs and npm for the Node twins"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; \
	  $(NODE_OK) || echo "Debian's nodejs is older than 20: the Node twins will be skipped (install Node.js 20 or newer)"; \
	else echo "Node.js 20 or newer with npm is missing and cannot be installed here: the Node twins will be skipped"; fi

# The Node libraries of the notebooks' twins, from the npm registry into tools/node, exactly as the lockfile says.
# Without npm the Node twins are skipped (tools/twins.py says how to enable them).
NODE_MODULES := tools/node/node_modules/.package-lock.json

$(NODE_MODULES): tools/node/package.json tools/node/package-lock.json | node
	@if command -v npm >/dev/null; then cd tools/node && npm ci --no-audit --no-fund --loglevel=error; \
	else echo "npm is missing: the Node twins will be skipped (install Node.js 20 or newer with npm)"; fi

# --- the two commands ---------------------------------------------------------------------------
# JupyterLab opens at the project root with the first notebook open: README, .env.example and .env are in the
# file browser (dotfiles shown, tool folders hidden). The settings override keeps the news and update prompt
# from greeting a learner; JupyterLab reads it from the environment it runs in, so nothing outside .venv changes.
LAB_OVERRIDES := $(VENV)/share/jupyter/lab/settings/overrides.json
LAB_HIDDEN := __pycache__ *.pyc .git .venv .venv-* .ci .fbfailover .ruff_cache .pytest_cache *.egg-info .ipynb_checkpoints
LAB_FLAGS := --ServerApp.root_dir=. --ContentsManager.allow_hidden=True \
  $(foreach glob,$(LAB_HIDDEN),--ContentsManager.hide_globs='$(glob)')

$(LAB_OVERRIDES): Makefile | $(BIN)/python
	@mkdir -p $(dir $@)
	@echo '{"@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": false},' \
	  '"@jupyterlab/filebrowser-extension:browser": {"showHiddenFiles": true}}' > $@

lab: $(VENV)/.stamp-lab $(LAB_OVERRIDES)
	@if [ -f $(FIRST_NOTEBOOK) ]; then target=$(FIRST_NOTEBOOK); fi; \
	  if [ "$$(id -u)" = 0 ]; then root=--allow-root; fi; \
	  $(BIN)/jupyter lab $$root $(LAB_FLAGS) $$target

test: $(VENV)/.stamp-test chromium lint unit twins notebooks browser

lint: $(VENV)/.stamp-test
	$(BIN)/ruff check fbfailover tests benchmarks tools
	$(BIN)/lint-imports

unit: $(VENV)/.stamp-test $(NODE_MODULES)
	$(BIN)/python -m pytest tests -n 2 --ignore=tests/browser -q

# Every twin the notebooks show (curl, Node, Python) run against a sandbox started for the run.
twins: $(VENV)/.stamp-test $(NODE_MODULES)
	$(BIN)/python tools/twins.py

# The notebooks run in order (each carries the previous one's application forward), in a temporary
# .env and data folder with no inherited credentials: always the offline sandbox, never the project's .env.
notebooks: $(VENV)/.stamp-test
	$(BIN)/python tools/sandboxed.py $(BIN)/python -m pytest notebooks $(NBVAL_FLAGS) -q -p no:cacheprovider

# Re-run the notebooks and store their outputs (after changing a notebook or what it shows).
notebooks-refresh: $(VENV)/.stamp-test
	$(BIN)/python tools/refresh_notebooks.py

browser: $(VENV)/.stamp-test chromium
	$(BIN)/python -m pytest tests/browser -q -p no:cacheprovider

# --- benchmarks ---------------------------------------------------------------------------------
# Each prints a machine-readable last line; `make bench` runs them one after another (about 20 minutes).
BENCHMARKS := jwt_mint connect webhook_latency timer_accuracy sandbox_load end_to_end workshop memory fuzz

# Debian's wrk drives the HTTP load (the benchmarks fall back to a Python client without it).
wrk:
	@if command -v wrk >/dev/null; then :; \
	elif command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	  echo "installing Debian's wrk for the load benchmarks"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; \
	else echo "wrk is missing and cannot be installed here: the load benchmarks use a Python client"; fi

# Prism 5, the static mock sandbox_load.py is measured against, from npm with its lockfile, in benchmarks/prism
# (install scripts off: Prism needs none). Only `make bench` installs it; `make test` never does.
prism:
	@if [ -x benchmarks/prism/node_modules/.bin/prism ]; then :; \
	elif command -v npm >/dev/null; then \
	  echo "installing Prism for the benchmarks (npm ci in benchmarks/prism)"; \
	  cd benchmarks/prism && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error; \
	else echo "npm is missing: sandbox_load.py runs without Prism"; fi

bench: $(VENV)/.stamp-test wrk prism
	@for b in $(BENCHMARKS); do echo "== benchmarks/$$b.py"; $(BIN)/python -m benchmarks.$$b || exit 1; done

clean:
	rm -rf $(VENV) .fbfailover .pytest_cache .ruff_cache tools/node/node_modules benchmarks/prism/node_modules
