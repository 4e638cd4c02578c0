# Two entry points for a fresh clone (see README):
#   make demo   sets up .venv and runs the main job (cards/drell_yan.toml)
#   make test   sets up .venv and runs the test suite
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: env demo test bench

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
	$(BIN)/mlgen run cards/drell_yan.toml --output-dir runs/drell_yan

test: env
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: env
	$(BIN)/python benchmarks/pdf.py
