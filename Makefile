# detente: the two quick-start commands are `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
PIP    := $(PY) -m pip --disable-pip-version-check --no-input -q

.PHONY: demo test lint typecheck unit bench docs clean help browser

help:
	@echo "make demo   set up .venv, install detente, run the Hanoi 2019 analysis"
	@echo "make test   lint, type checks, import contracts and the whole test suite (never installs system packages)"
	@echo "make bench  run the benchmarks (figures in docs/performance.md)"
	@echo "make browser  install Debian's chromium for the browser tests (apt, when absent; CI runs it before make test)"
	@echo "make docs   build the documentation site (MkDocs, offline) into site/"

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip setuptools wheel

$(VENV)/.installed: pyproject.toml | $(PY)
	$(PIP) install -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(PY)
	$(PIP) install -e ".[dev]"
	@touch $(VENV)/.installed $@

demo: $(VENV)/.installed
	$(BIN)/detente cases
	$(BIN)/detente validate hanoi-2019
	$(BIN)/detente show hanoi-2019
	$(BIN)/detente check hanoi-2019 --schedule us-big-deal
	$(BIN)/detente check hanoi-2019 --schedule dprk-offer
	$(BIN)/detente check hanoi-2019 --schedule phased --leverage --tipping
	$(BIN)/detente report hanoi-2019 --out report.html
	@echo "The Hanoi 2019 report is in $(CURDIR)/report.html (one self-contained page: open it in a browser)."

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy
	$(BIN)/lint-imports

# The browser tests drive Debian's Chromium through Playwright (never a downloaded browser).
# `make test` never installs it: without it the browser tests are skipped (one line says so);
# `make browser` installs it with apt, and .ci/run calls it before `make test`.
CHROMIUM := /usr/bin/chromium

browser:
	@if [ ! -x $(CHROMIUM) ]; then \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; elif command -v sudo >/dev/null; then SUDO=sudo; else SUDO=none; fi; \
	  if [ "$$SUDO" = none ]; then \
	    echo "note: $(CHROMIUM) is missing and apt needs root; the browser tests will be skipped (apt-get install chromium)"; \
	  else \
	    echo "installing Debian's chromium for the browser tests"; \
	    $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; \
	  fi; \
	fi

unit: $(VENV)/.installed-dev
	$(BIN)/pytest -n 2

test: lint typecheck unit

bench: $(VENV)/.installed-dev
	@for f in benchmarks/bench_*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

docs: $(VENV)/.installed-dev
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site
	@echo "The documentation site is in $(CURDIR)/site (open site/index.html)."

clean:
	rm -rf site $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache .hypothesis src/*.egg-info report.html
