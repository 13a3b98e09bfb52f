"""A view as a `datasets.Dataset` (one split) or `DatasetDict` (several), built from its stream.

One pass over the view writes each split's rows, a batch at a time, to an Arrow file in datasets'
cache (bounded memory; the same encoding as the published parquet shards), which the Dataset
then memory-maps. The cache key is a snapshot of the store (newest answer and item, counts)
plus the options: an unchanged project is not exported twice, a changed one always is.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import datasets
from datasets import Dataset, DatasetDict, DatasetInfo
from datasets.arrow_writer import ArrowWriter

from labelkit.publish.encode import BatchEncoder
from labelkit.publish.rows import Filters, snapshot_token
from labelkit.publish.splits import Splits, split_order
from labelkit.publish.views import View, make_view

if TYPE_CHECKING:
    from labelkit.project import Project

BATCH_ROWS = 5_000


def build_dataset(
    project: Project,
    view: str = "raw",
    *,
    split: str | dict[str, float] | None = None,
    split_by: str | None = None,
    seed: int = 0,
    include_gold: bool = False,
    include_rejected: bool = False,
    **options,
) -> Dataset | DatasetDict:
    """See `Project.to_dataset`."""
    filters = Filters(include_gold=include_gold, include_rejected=include_rejected)
    shape = make_view(project, view, filters, **options)
    splits = Splits.parse(split, by=split_by, seed=seed)
    token = snapshot_token(project.store, filters)
    key = json.dumps([token, view, sorted(options.items()), splits.__dict__], default=str)
    files = _arrow_files(shape, splits, hashlib.sha256(key.encode()).hexdigest()[:32])
    info = DatasetInfo(features=shape.features)
    built = {name: Dataset.from_file(str(path), info=info, split=name) for name, path in files}
    if len(built) == 1 and not isinstance(split, dict) and split_by is None:
        return next(iter(built.values()))
    return DatasetDict(built)


def _arrow_files(shape: View, splits: Splits, key: str) -> list[tuple[str, Path]]:
    """(split, Arrow file) pairs for the view, from the cache when already built."""
    folder = Path(datasets.config.HF_DATASETS_CACHE) / "labelkit" / key
    index = folder / "splits.json"
    if index.is_file():  # written last: the files it names are complete
        return [(name, folder / f"{name}.arrow") for name in json.loads(index.read_text())]
    building = folder.with_name(f"{key}.partial-{uuid.uuid4().hex[:8]}")
    building.mkdir(parents=True)
    encoder = BatchEncoder(shape.features)
    writers: dict[str, tuple[ArrowWriter, list]] = {}
    finished: set[str] = set()

    def writer(name: str) -> tuple[ArrowWriter, list]:
        if name not in writers:
            path = building / f"{name}.arrow"
            writers[name] = (ArrowWriter(features=shape.features, path=str(path)), [])
        return writers[name]

    try:
        for row in shape.rows():
            out, batch = writer(splits.of(row))
            batch.append(row)
            if len(batch) >= BATCH_ROWS:
                out.write_table(encoder.table(batch))
                batch.clear()
        for name in splits.known_names or ([] if writers else ["train"]):
            writer(name)  # an empty split is still a split
        names = sorted(writers, key=split_order)
        for name in names:
            out, batch = writers[name]
            if batch:
                out.write_table(encoder.table(batch))
            out.finalize()
            out.close()
            finished.add(name)
        (building / "splits.json").write_text(json.dumps(names))
        with contextlib.suppress(OSError):  # built meanwhile by another call: use that one
            building.rename(folder)
    finally:
        for name, (out, _) in writers.items():
            if name not in finished:
                out.close()
        if building.exists():
            shutil.rmtree(building, ignore_errors=True)
    return [(name, folder / f"{name}.arrow") for name in names]
