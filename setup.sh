#!/usr/bin/env bash
# Makes .venv with Python 3.10 and installs every pin of requirements.txt, then the project itself.
# Usage: bash setup.sh   (re-running is cheap: an up-to-date .venv is left as it is)
set -euo pipefail
cd "$(dirname "$0")"

find_python310() {
  local candidate
  for candidate in "${PYTHON:-}" python3.10 "$HOME"/.pyenv/versions/3.10*/bin/python3.10 \
                   /usr/local/bin/python3.10 /usr/bin/python3.10; do
    [ -n "$candidate" ] || continue
    if "$candidate" -c 'import sys; assert sys.version_info[:2] == (3, 10)' >/dev/null 2>&1; then
      command -v "$candidate" 2>/dev/null || echo "$candidate"
      return 0
    fi
  done
  return 1
}

if ! PY=$(find_python310); then
  echo "setup.sh: no Python 3.10 found (tried \$PYTHON, python3.10, ~/.pyenv/versions/3.10*); install it (e.g. 'pyenv install 3.10') or set PYTHON=/path/to/python3.10" >&2
  exit 2
fi

stamp=.venv/.requirements.sha
want=$(sha256sum requirements.txt setup.py | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi

echo "setup.sh: creating .venv with $PY" >&2
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install --quiet --progress-bar off --upgrade "pip<25" "setuptools<70" wheel
grep -v '# no-deps' requirements.txt | sed 's/#.*//' | grep -v '^\s*$' > .venv/requirements-deps.txt
grep '# no-deps' requirements.txt | sed 's/#.*//' > .venv/requirements-nodeps.txt
.venv/bin/python -m pip install --quiet --progress-bar off -r .venv/requirements-deps.txt
.venv/bin/python -m pip install --quiet --progress-bar off --no-deps -r .venv/requirements-nodeps.txt

.venv/bin/python -m pip check >&2 || { echo "setup.sh: pip check failed: the pinned set is inconsistent" >&2; exit 1; }
echo "$want" > "$stamp"
echo "setup.sh: .venv ready" >&2
