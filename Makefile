# Relance: `make run` to start it, `make test` to test it. Everything else is what those need.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
FLASK  := $(BIN)/flask --app app

.PHONY: run test bench install install-dev static translations messages system-deps migrate demo clean

run: install migrate
	$(FLASK) demo --if-empty
	$(FLASK) serve

test: install-dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# make bench [DB=postgresql://user@host/db] [SCALE=10m] [BENCH_ARGS="--rounds 15 --skip sending"]
bench: install-dev migrate
	$(BIN)/python -m bench.run $(if $(DB),--database-url '$(DB)') $(if $(SCALE),--scale $(SCALE)) $(BENCH_ARGS)

install: $(VENV)/.installed static translations

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

# htmx and the icons come from the npm registry, pinned by package-lock.json, copied into static/vendor.
# The Lucide icons Relance uses become one sprite (scripts/icons.py); axe-core stays in node_modules for the tests.
static: static/vendor/htmx.min.js static/vendor/icons.svg

static/vendor/htmx.min.js: package.json package-lock.json
	@bash scripts/system-deps.sh $(PYTHON)
	npm ci --no-audit --no-fund --loglevel=error
	mkdir -p static/vendor
	cp node_modules/htmx.org/dist/htmx.min.js static/vendor/htmx.min.js

static/vendor/icons.svg: static/vendor/htmx.min.js scripts/icons.py
	$(PYTHON) scripts/icons.py node_modules/lucide-static/icons $@

# The interface's languages: translations/<code>/LC_MESSAGES/messages.po (committed), compiled to .mo here.
MO_FILES := $(patsubst %.po,%.mo,$(wildcard translations/*/LC_MESSAGES/messages.po))
translations: $(MO_FILES)

translations/%/LC_MESSAGES/messages.mo: translations/%/LC_MESSAGES/messages.po | $(VENV)/.installed
	$(BIN)/pybabel --quiet compile -l $* -i $< -o $@

# For developers, after changing words: extract every marked string, add the new ones to each catalogue
# (then translate them: tests/unit/test_translations.py fails while one is missing or fuzzy).
messages: $(VENV)/.installed
	$(BIN)/pybabel --quiet extract -F babel.cfg -k _l -k lazy_gettext -k lazy_pgettext:1c,2 -k say -k nsay:1,2 -k psay:1c,2 --add-location=file \
	  --ignore-dirs=".* node_modules instance" \
	  --sort-by-file --no-wrap --omit-header -o translations/messages.pot .
	$(BIN)/pybabel --quiet update -i translations/messages.pot -d translations --no-wrap --no-fuzzy-matching \
	  --ignore-obsolete
	$(MAKE) translations

migrate: install
	$(FLASK) db upgrade

demo: migrate
	$(FLASK) demo --if-empty

clean:
	rm -rf $(VENV) node_modules static/vendor .pytest_cache translations/*/LC_MESSAGES/*.mo
