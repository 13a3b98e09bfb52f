#!/usr/bin/env bash
# Set up labelkit on a fresh machine (idempotent): .venv/ with the project installed editable.
# Usage: scripts/setup.sh [--test]
#   --test  also install the test extra and the services the tests start (PostgreSQL, ...).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

WITH_TEST=0
for arg in "$@"; do
  case "$arg" in
    --test) WITH_TEST=1 ;;
    *) echo "usage: $0 [--test]" >&2; exit 2 ;;
  esac
done

# Run a command as root; sudo only when we are not root already.
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# pip, minus the harmless "Location 'file:///opt/...' is ignored" warnings this machine's pip
# config causes. `|| true` keeps grep's "nothing left" status out; pipefail still reports pip's.
pip_quiet() {
  .venv/bin/python -m pip "$@" 2>&1 | { grep -v "^WARNING: Location 'file:" || true; }
}

setup_venv() {
  [ -x .venv/bin/python ] || python3 -m venv .venv
  pip_quiet install -q --upgrade pip
  if [ "$WITH_TEST" = 1 ]; then
    pip_quiet install -q -e ".[test]"
  else
    pip_quiet install -q -e .
  fi
}

# The tests start their own throwaway PostgreSQL cluster (tests/conftest.py); they only need
# the server binaries. pg_config alone is not enough: libpq-dev ships it without a server.
setup_postgres() {
  if compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || command -v initdb >/dev/null; then
    return 0
  fi
  echo "setup: installing the PostgreSQL server (apt-get)..."
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
}

# Browser tests drive Debian's Chromium with Playwright. Never `playwright install`: it
# downloads its own browser, which cannot be fetched here.
setup_chromium() {
  if command -v chromium >/dev/null; then
    return 0
  fi
  echo "setup: installing Chromium (apt-get)..."
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
}

# The Label Studio tests start a real server from its own venv (.venv-ls/): installed into
# .venv it would downgrade pyarrow, python-dateutil and others. Created only when missing.
LABEL_STUDIO_VERSION=1.23.2
setup_label_studio() {
  if [ -x .venv-ls/bin/label-studio ] && .venv-ls/bin/python -c "import label_studio, sys; \
sys.exit(label_studio.__version__ != '$LABEL_STUDIO_VERSION')" 2>/dev/null; then
    return 0
  fi
  echo "setup: installing Label Studio $LABEL_STUDIO_VERSION into .venv-ls/ (about a minute)..."
  [ -x .venv-ls/bin/python ] || python3 -m venv .venv-ls
  .venv-ls/bin/python -m pip install -q "label-studio==$LABEL_STUDIO_VERSION" 2>&1 \
    | { grep -v "^WARNING: Location 'file:" || true; }
}

setup_venv
if [ "$WITH_TEST" = 1 ]; then
  setup_postgres
  setup_chromium
  setup_label_studio
fi
