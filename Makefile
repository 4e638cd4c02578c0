# Two entry points for a fresh clone (see README):
#   make demo   sets up .venv and runs the main job (cards/drell_yan.toml)
#   make test   sets up .venv, type-checks mlgen/ and plugins/ (mypy) and runs the test suite
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: env demo test bench bench-nis

$(BIN)/.mlgen-env: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# torch first, pinned: an unpinned torch pulls a multi-GB CUDA build.
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q pythia8mc==8.317.2
	$(BIN)/pip install -q -e '.[test]'
	touch $@

env: $(BIN)/.mlgen-env

demo: env
	$(BIN)/mlgen run cards/drell_yan.toml --output-dir runs/drell_yan --replace

# the type check first (seconds; [tool.mypy] in pyproject.toml), then the suite
test: env
	$(BIN)/python -m mypy
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: env
	$(BIN)/python benchmarks/pdf.py

# The NIS benchmark runs madnis side by side, in its own environment (torch first, pinned).
BENCH_VENV ?= .venv-bench
$(BENCH_VENV)/bin/.mlgen-bench-env: pyproject.toml
	$(PY) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/pip install -q --upgrade pip
	$(BENCH_VENV)/bin/pip install -q torch==2.13.0
	$(BENCH_VENV)/bin/pip install -q pythia8mc==8.317.2 madnis==1.0.0
	$(BENCH_VENV)/bin/pip install -q -e '.[test]'
	touch $@

bench-nis: $(BENCH_VENV)/bin/.mlgen-bench-env
	$(BENCH_VENV)/bin/python benchmarks/nis.py --quick $(NIS_ARGS)
