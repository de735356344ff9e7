#!/usr/bin/env bash
# Runs every check: lint, Rasa data validation, training, and the whole pytest suite
# (unit, PostgreSQL, end-to-end against a real trained Rasa). Sets itself up on a fresh machine.
# Extra arguments go to pytest, e.g. `scripts/test.sh -k language`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
.venv/bin/ruff check .
.venv/bin/intake train --validate
exec .venv/bin/python -m pytest "$@"
