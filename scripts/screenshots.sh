#!/usr/bin/env bash
# Refreshes docs/screenshots/*.png (the queue and a referral, as the README shows them) by
# running the caseworker browser journey in headless Chromium with UPDATE_SCREENSHOTS=1.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
command -v chromium >/dev/null || { echo "install Debian's chromium first (apt-get install chromium)" >&2; exit 1; }
UPDATE_SCREENSHOTS=1 exec .venv/bin/python -m pytest -q tests/browser -k 'login_to_reply or french'
