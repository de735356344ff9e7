#!/usr/bin/env bash
# Runs every check: lint, Rasa data validation, training, and the whole pytest suite
# (unit, PostgreSQL, browser, end-to-end against a real trained Rasa). Sets itself up on a fresh
# machine.
# Extra arguments go to pytest, e.g. `scripts/test.sh -k language`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
# Debian's Chromium for the caseworker UI tests (Playwright drives it; browser downloads are not
# possible here). Installed when missing and apt-get can run; otherwise those tests say so.
if ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 \
    && [ "$(id -u)" = 0 ]; then
  echo "[setup] installing Debian's chromium for the browser tests"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
.venv/bin/ruff check .
.venv/bin/intake train --validate
exec .venv/bin/python -m pytest "$@"
