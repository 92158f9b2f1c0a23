#!/usr/bin/env bash
# Installs the baselines the benchmarks compare against into .venv-bench (kept apart from .venv
# so their pins never touch ours). Usage: bench/setup-bench.sh   (from anywhere)
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv-bench/bin/python ]; then
  "$PYTHON" -m venv .venv-bench
fi
.venv-bench/bin/pip install --quiet --upgrade pip
.venv-bench/bin/pip install --quiet img2dataset
NO_ALBUMENTATIONS_UPDATE=1 .venv-bench/bin/python -c "import img2dataset; print('img2dataset ready')"
