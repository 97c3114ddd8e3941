#!/usr/bin/env bash
# Set up torch-deeploy on a fresh Debian machine with Python 3.11: system packages (C compiler, venv),
# then a virtual environment in .venv with the package and its test/midend/torch/quant extras.
# Idempotent: a second run only checks. Usage: bash scripts/bootstrap.sh
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v cc >/dev/null 2>&1 || command -v gcc >/dev/null 2>&1 || need_apt+=(gcc libc6-dev)
command -v make >/dev/null 2>&1 || need_apt+=(make)
python3 -c "import ensurepip, venv" >/dev/null 2>&1 || need_apt+=(python3-venv)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "bootstrap: installing ${need_apt[*]} with apt-get"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq "${need_apt[@]}"
fi

if [ ! -x .venv/bin/python ]; then
  echo "bootstrap: creating .venv"
  python3 -m venv .venv
fi
stamp=.venv/.torch-deeploy-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "bootstrap: installing torch-deeploy and its dependencies into .venv (torch pinned to 2.13.0, CPU)"
  .venv/bin/python -m pip install -q --upgrade pip
  # torch is pinned: an unpinned torch may pull a multi-GB CUDA build.
  .venv/bin/python -m pip install -q "torch==2.13.0"
  .venv/bin/python -m pip install -q -e ".[test,torch,quant]"
  touch "$stamp"
fi
echo "bootstrap: ready (.venv/bin/torch-deeploy)"
