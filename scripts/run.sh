#!/usr/bin/env bash
# Runs the assistant with the embedded defaults: SQLite, a local Rasa, the web chat at /chat.
# First run: builds both environments and trains the model (a few minutes), then starts.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec .venv/bin/intake run "$@"
