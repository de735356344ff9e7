#!/usr/bin/env bash
# Creates .venv (Python >= 3.11) and installs the app with the pinned versions of
# requirements/app.lock.txt. Does nothing when pyproject.toml and the lock have not changed.
set -euo pipefail
cd "$(dirname "$0")/.."

find_python() {
  for candidate in "${PYTHON:-}" python3.13 python3.12 python3.11 python3; do
    [ -n "$candidate" ] || continue
    command -v "$candidate" >/dev/null 2>&1 || continue
    if "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  echo "The app needs Python 3.11 or newer; none was found. Install python3.11 (or set PYTHON=/path/to/python)." >&2
  return 1
}

stamp_file=.venv/.intake-lock.sha256
digest=$(cat pyproject.toml requirements/app.lock.txt | sha256sum | cut -d' ' -f1)
if [ -x .venv/bin/intake ] && [ "$(cat "$stamp_file" 2>/dev/null)" = "$digest" ]; then
  exit 0
fi
python=$(find_python)
echo "[setup] creating .venv with $($python --version) and installing the app (pinned versions)"
rm -rf .venv
"$python" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --progress-bar off -c requirements/app.lock.txt -e ".[dev]" \
  | grep -E '^(Collecting|Successfully)' || true
.venv/bin/intake --help >/dev/null  # fails loudly if the install did not work
echo "$digest" > "$stamp_file"
echo "[setup] app environment ready"
