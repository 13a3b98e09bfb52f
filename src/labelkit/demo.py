"""The demo sets in data/ (one per template), for the quickstart and `scripts/run.sh`."""

from __future__ import annotations

from pathlib import Path

from labelkit.errors import LabelkitError
from labelkit.templates import TEMPLATES

DATA_DIR = Path(__file__).resolve().parents[2] / "data"  # a source checkout


def demo_data(template: str) -> Path:
    """The demo file for `template` (a source checkout's data/ folder)."""
    if template not in TEMPLATES:
        raise LabelkitError(f"unknown template {template!r}; templates: {', '.join(TEMPLATES)}")
    found = sorted(DATA_DIR.glob(f"{template}.*"))
    if not found:
        raise LabelkitError(f"no demo data for {template!r} in {DATA_DIR} (a source checkout)")
    return found[0]
