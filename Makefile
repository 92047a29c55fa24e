# The two commands: `make demo` and `make test`. Each creates .venv if it is missing.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed
# torch first, as the CPU build, where there is no CUDA: an open range would pull a multi-GB CUDA build
TORCH_CPU ?= torch==2.13.0

.PHONY: demo test env browser clean-demo notebooks bench
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

# every benchmarks/bench_*.py against its baseline, into benchmarks/RESULTS.md (~16-20 min on 2 cores;
# benchmarks/run_all.py --quick for a smoke run, --only NAME,... for some)
bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

# Debian's chromium for the browser tests (pytest -m browser; playwright, in '.[dev]', drives it): installed where
# this runs as root with apt-get; elsewhere the browser tests skip, naming the command
browser:
	@if command -v chromium >/dev/null 2>&1; then :; \
	 elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	   echo "installing Debian's chromium for the browser tests (apt-get install -y chromium)"; \
	   export DEBIAN_FRONTEND=noninteractive; \
	   apt-get install -y -qq chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; } \
	     || echo "could not install chromium: the browser tests will skip"; \
	 else echo "no chromium: the browser tests will skip (as root: apt-get install -y chromium)"; fi

test: $(STAMP) browser
	$(BIN)/python -m pytest -n 2 --durations=10 tests

notebooks: $(STAMP)
	$(BIN)/python -m xltkit.pipeline.notebooks notebooks

clean-demo:
	rm -rf outputs/demo
