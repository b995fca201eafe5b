# Relance: `make run` to start it, `make test` to test it. Everything else is what those need.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
FLASK  := $(BIN)/flask --app app

.PHONY: run test bench install install-dev static system-deps migrate demo clean

run: install migrate
	$(FLASK) demo --if-empty
	$(FLASK) serve

test: install-dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: install-dev migrate
	$(BIN)/python -m bench.run $(BENCH_ARGS)

install: $(VENV)/.installed static

install-dev: install $(VENV)/.installed-dev

system-deps:
	@bash scripts/system-deps.sh $(PYTHON)

$(BIN)/python:
	@bash scripts/system-deps.sh $(PYTHON)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	@bash scripts/system-deps.sh $(PYTHON)
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $@

# htmx comes from the npm registry, pinned by package-lock.json, copied into static/vendor.
static: static/vendor/htmx.min.js

static/vendor/htmx.min.js: package.json package-lock.json
	@bash scripts/system-deps.sh $(PYTHON)
	npm ci --no-audit --no-fund --loglevel=error
	mkdir -p static/vendor
	cp node_modules/htmx.org/dist/htmx.min.js static/vendor/htmx.min.js

migrate: install
	$(FLASK) db upgrade

demo: migrate
	$(FLASK) demo --if-empty

clean:
	rm -rf $(VENV) node_modules static/vendor .pytest_cache
