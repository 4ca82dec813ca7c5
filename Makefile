# Two entry points a new user needs: `make demo` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3

# PyTorch first, pinned: a bare `torch` requirement pulls a multi-GB CUDA build.
TORCH ?= torch==2.13.0

.PHONY: setup setup-kernels sandbox-tools demo ui test lint bench bench-ui bench-peers bench-tasks
setup: $(VENV)/.installed
setup-kernels: $(VENV)/.kernels

$(VENV)/.installed: pyproject.toml setup.py
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[test]"
	touch $@

# The kernel tasks and their tests need PyTorch and Triton (the CPU interpreter is enough).
$(VENV)/.kernels: $(VENV)/.installed
	$(PY) -m pip install -q "$(TORCH)"
	$(PY) -m pip install -q -e ".[test,kernels]"
	touch $@

# The process sandbox isolates every candidate with bubblewrap (docs/sandboxes.md). As root
# on Debian or Ubuntu this installs it; elsewhere it says what to install.
sandbox-tools:
	@command -v bwrap >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get install -y -qq bubblewrap >/dev/null || \
	      { apt-get update -qq && apt-get install -y -qq bubblewrap >/dev/null; }; \
	  else echo "install bubblewrap first (Debian/Ubuntu: sudo apt-get install bubblewrap)"; exit 1; fi; }

demo: setup sandbox-tools
	$(VENV)/bin/evoforge run circle_packing --max-evaluations 200 --seed 1

ui: setup
	$(VENV)/bin/evoforge ui

lint: setup
	$(VENV)/bin/ruff check .

test: lint setup-kernels sandbox-tools
	$(VENV)/bin/pytest -q -ra

bench: setup
	$(PY) benchmarks/startup.py
	$(PY) benchmarks/overhead.py
	$(PY) benchmarks/strategies.py
	$(PY) benchmarks/pipeline.py
	$(PY) benchmarks/sandbox_overhead.py
	$(PY) benchmarks/scaling.py

# Needs Debian's chromium (the browser half of the lineage render time).
bench-ui: setup
	$(PY) benchmarks/ui_lineage.py

# OpenEvolve and GEPA beside evoforge on the same work. The script installs the peers
# (benchmark-only, pinned in benchmarks/peers/requirements.txt) into .venv-peers.
bench-peers: setup
	$(PY) benchmarks/peers/compare.py

bench-tasks: setup
	$(PY) benchmarks/tasks.py
