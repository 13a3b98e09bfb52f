#!/usr/bin/env bash
# The one test command: set up (idempotent), lint, then pytest with the given arguments.
# Usage: scripts/test.sh [pytest args...]
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# Setup runs with the real HOME, where pip finds its user config and cache.
bash scripts/setup.sh --test

.venv/bin/ruff check .
.venv/bin/ruff format --check .

# The tests get a throwaway HOME (Jupyter and Chromium write there). Keep pip's cache in the
# real HOME in case a test runs pip.
export PIP_CACHE_DIR="${PIP_CACHE_DIR:-$HOME/.cache/pip}"
TEST_HOME="$(mktemp -d -t labelkit-home-XXXXXX)"
trap 'rm -rf "$TEST_HOME"' EXIT

status=0
HOME="$TEST_HOME" .venv/bin/python -m pytest "$@" || status=$?
# Exit code 5 means "no tests collected" (e.g. a -k that matches nothing): not a failure.
if [ "$status" -eq 5 ]; then
  status=0
fi
exit "$status"
