# The two commands: `make demo` and `make test`. Each creates .venv if it is missing.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed
# torch first, as the CPU build, where there is no CUDA: an open range would pull a multi-GB CUDA build
TORCH_CPU ?= torch==2.13.0

.PHONY: demo test env clean-demo notebooks
env: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "xltkit needs Python >= 3.11, found " + sys.version.split()[0]'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	@if command -v nvidia-smi >/dev/null 2>&1; then echo "CUDA found: installing torch from the project's range"; \
	 else echo "no CUDA: installing $(TORCH_CPU) first"; $(BIN)/python -m pip install -q "$(TORCH_CPU)"; fi
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/xltkit run params/demo.yaml

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 --durations=10 tests

notebooks: $(STAMP)
	$(BIN)/python -m xltkit.pipeline.notebooks notebooks

clean-demo:
	rm -rf outputs/demo
