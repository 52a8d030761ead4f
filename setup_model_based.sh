#!/usr/bin/env bash
# Makes .venv-jax with Python 3.12 or newer (current JAX needs it) and installs
# requirements-model-based.txt: the model-based suite on current JAX, without TensorFlow
# (README "Model-based suite on current JAX, without TensorFlow").
# Usage: bash setup_model_based.sh   (re-running is cheap: an up-to-date .venv-jax is left as it is)
set -euo pipefail
cd "$(dirname "$0")"

find_python() {
  local candidate
  # pyenv's shims name every installed version but run only the selected ones: the versions'
  # own folders come right after each name.
  for candidate in "${PYTHON_MODEL_BASED:-}" python3.12 "$HOME"/.pyenv/versions/3.12*/bin/python3.12 \
                   python3.13 "$HOME"/.pyenv/versions/3.13*/bin/python3.13 python3; do
    [ -n "$candidate" ] || continue
    if "$candidate" -c 'import sys; assert sys.version_info[:2] >= (3, 12)' >/dev/null 2>&1; then
      command -v "$candidate" 2>/dev/null || echo "$candidate"
      return 0
    fi
  done
  return 1
}

if ! PY=$(find_python); then
  echo "setup_model_based.sh: no Python 3.12 or newer found (tried \$PYTHON_MODEL_BASED, python3.12, python3.13, ~/.pyenv/versions/3.1[23]*, python3); install one (e.g. 'pyenv install 3.12') or set PYTHON_MODEL_BASED=/path/to/python3.12" >&2
  exit 2
fi

stamp=.venv-jax/.requirements.sha
want=$(sha256sum requirements-model-based.txt | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi

echo "setup_model_based.sh: creating .venv-jax with $PY ($("$PY" --version 2>&1))" >&2
if [ -x .venv-jax/bin/python ] && ! .venv-jax/bin/python -c 'import sys; assert sys.version_info[:2] >= (3, 12)' >/dev/null 2>&1; then
  rm -rf .venv-jax  # Made by an older Python: current JAX does not install there.
fi
[ -x .venv-jax/bin/python ] || "$PY" -m venv .venv-jax
.venv-jax/bin/python -m pip install --quiet --progress-bar off -r requirements-model-based.txt
.venv-jax/bin/python -m pip check >&2 || { echo "setup_model_based.sh: pip check failed" >&2; exit 1; }
echo "$want" > "$stamp"
echo "setup_model_based.sh: .venv-jax ready" >&2
