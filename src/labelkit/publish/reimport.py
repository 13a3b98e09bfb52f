"""Bring a published raw view back into a project: its items, then its answers.

Each answer is submitted again under its annotator with a client key derived from the release,
so importing the same folder twice adds nothing, and `next_item` serves only the items still
needing answers: labeling continues where it stopped.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tqdm.auto import tqdm

from labelkit.errors import InputError
from labelkit.publish.publish import MARKER

if TYPE_CHECKING:
    from labelkit.project import Project


@dataclass
class ReimportReport:
    folder: str
    items_added: int
    answers_added: int
    answers_there: int

    def __str__(self) -> str:
        return (
            f"{self.folder}: {self.items_added} items added, {self.answers_added} answers added, "
            f"{self.answers_there} already there"
        )


def import_published(project: Project, folder: str | Path, *, progress: bool = True):
    """Import the raw view of a folder written by `publish` (items and current answers)."""
    import datasets

    folder = Path(folder)
    _check_schema(project, folder)
    try:
        raw = datasets.load_dataset(str(folder), "raw")
    except ValueError as exc:  # no raw config in this release
        raise InputError(str(folder), f"cannot read the raw view: {exc}") from None
    report = ReimportReport(str(folder), 0, 0, 0)
    for split in raw:
        report.items_added += project.import_items(
            raw, split=split, id_column="item_id", progress=progress
        ).added
        answers = raw[split].select_columns(["item_id", "annotations"])
        bar = tqdm(answers, desc=f"answers ({split})", unit=" items", disable=not progress)
        for row in bar:
            for a in row["annotations"]:
                written = project.submit(
                    row["item_id"],
                    a["answer"],
                    annotator=a["annotator"],
                    status=a["status"],
                    comment=a["comment"],
                    duration_ms=a["duration_ms"],
                    client_key=_client_key(row["item_id"], a),
                    history=True,  # past answers: imported even if the author is suspended
                )
                if written.created:
                    report.answers_added += 1
                else:
                    report.answers_there += 1
    return report


def _check_schema(project: Project, folder: Path) -> None:
    marker = folder / MARKER
    if not marker.is_file():
        raise InputError(str(folder), f"not a labelkit release (no {MARKER})")
    published = json.loads(marker.read_text("utf-8"))
    ours = project.schema.to_dict()
    for part in ("fields", "questions"):
        if published[part] != ours[part]:
            names = [p["name"] for p in published[part]]
            raise InputError(
                str(folder),
                f"its {part} ({names}) differ from the project's; create the project from "
                f"it: Project.create(path, '{marker}')",
            )


def _client_key(item: str, annotation: dict) -> str:
    answer = json.dumps(annotation["answer"], sort_keys=True, ensure_ascii=False)
    key = f"published|{item}|{annotation['annotator']}|{annotation['version']}|{answer}"
    return hashlib.sha256(key.encode()).hexdigest()
