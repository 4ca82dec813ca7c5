# Two entry points a new user needs: `make demo` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3

.PHONY: setup demo test lint bench
setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml setup.py
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[test]"
	touch $@

demo: setup
	$(VENV)/bin/evoforge run circle_packing --max-evaluations 200 --seed 1

lint: setup
	$(VENV)/bin/ruff check .

test: lint
	$(VENV)/bin/pytest -q -ra

bench: setup
	$(PY) benchmarks/overhead.py
	$(PY) benchmarks/strategies.py
	$(PY) benchmarks/pipeline.py
	$(PY) benchmarks/sandbox_overhead.py
	$(PY) benchmarks/scaling.py
