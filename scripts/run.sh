#!/usr/bin/env bash
# The main job on a fresh machine: set up, build a demo project from data/ (SQLite, in
# demo-projects/), and serve the labeling app on http://127.0.0.1:8866/ (Ctrl-C stops).
# Usage: scripts/run.sh [TEMPLATE] [PORT]   (default: chatbot-rating 8866; `labelkit templates`)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
TEMPLATE="${1:-chatbot-rating}"
PORT="${2:-8866}"
PROJECT="demo-projects/$TEMPLATE"

bash scripts/setup.sh
DATA="$(ls data/"$TEMPLATE".* | head -n 1)"
if [ ! -f "$PROJECT/project.yaml" ]; then
  .venv/bin/labelkit init "$PROJECT" --template "$TEMPLATE"
fi
.venv/bin/labelkit import "$PROJECT" "$DATA" --id-column id --quiet  # again: adds nothing
.venv/bin/labelkit stats "$PROJECT"
exec .venv/bin/labelkit serve "$PROJECT" --port "$PORT"
