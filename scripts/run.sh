#!/usr/bin/env bash
# The main job on a fresh machine: set up, build a demo project from data/, show its figures.
# Usage: scripts/run.sh [TEMPLATE]   (default: chatbot-rating; see `labelkit templates`)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
TEMPLATE="${1:-chatbot-rating}"
PROJECT="demo-projects/$TEMPLATE"

bash scripts/setup.sh
DATA="$(ls data/"$TEMPLATE".* | head -n 1)"
if [ ! -f "$PROJECT/project.yaml" ]; then
  .venv/bin/labelkit init "$PROJECT" --template "$TEMPLATE"
fi
.venv/bin/labelkit import "$PROJECT" "$DATA" --id-column id   # a second run adds nothing
.venv/bin/labelkit stats "$PROJECT"
