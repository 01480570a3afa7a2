# systrade developer and operator entry points. Each target creates .venv if missing.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
DEMO_HOME ?= $(CURDIR)/demo_home

.PHONY: demo test bench lint install clean

$(STAMP): pyproject.toml setup.py
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	SYSTRADE_HOME=$${SYSTRADE_HOME:-$(DEMO_HOME)} $(VENV)/bin/systrade demo

test: $(STAMP)
	$(PY) -m pytest -q

# BENCH_ARGS=--quick runs smaller sizes
bench: $(STAMP)
	@for script in benchmarks/*.py; do echo "== $$script"; $(PY) $$script $(BENCH_ARGS) || exit 1; done

lint: $(STAMP)
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) $(DEMO_HOME) .pytest_cache .ruff_cache
