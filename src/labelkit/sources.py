"""Readers for every input format, streaming rows in batches with their row numbers.

A `Source` knows its name (for error messages), its columns when the format declares them up
front, its row count when cheap to know, and yields ``(first_row_number, [row dicts])`` batches.
Row numbers are 1-based data rows (a CSV header is not a row).
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labelkit.errors import InputError

BATCH_ROWS = 5000
FORMATS = ("csv", "jsonl", "parquet", "hf")


@dataclass
class Source:
    name: str
    batches: Any  # a callable returning an iterator of (first_row, rows)
    columns: list[str] | None = None
    total: int | None = None
    base_dir: Path | None = None  # where relative image paths are resolved
    fingerprint: str | None = None  # stable across runs for files: lets imports resume
    extras: dict = field(default_factory=dict)


def open_source(data: Any, *, split: str | None = None, format: str | None = None) -> Source:
    """A `Source` for a DataFrame, a datasets Dataset/DatasetDict, or a path to a file/folder."""
    type_name = type(data).__module__.split(".")[0] + "." + type(data).__name__
    if type_name == "pandas.DataFrame":
        return _dataframe(data)
    if type_name in ("datasets.Dataset", "datasets.DatasetDict", "datasets.IterableDataset"):
        return _hf_dataset(data, split, name="")
    path = Path(data)
    if not path.exists():
        raise InputError(str(path), "no such file or folder")
    kind = format or _guess_format(path)
    readers = {"csv": _csv, "jsonl": _jsonl, "parquet": _parquet, "hf": _hf_folder}
    if kind not in readers:
        raise InputError(str(path), f"unknown format {kind!r}; use one of {', '.join(FORMATS)}")
    source = readers[kind](path, split) if kind == "hf" else readers[kind](path)
    source.base_dir = path.resolve().parent if path.is_file() else path.resolve()
    return source


def _guess_format(path: Path) -> str:
    if path.is_dir():
        return "hf"
    suffix = "".join(path.suffixes[-2:]).lower() if path.suffix == ".gz" else path.suffix.lower()
    by_suffix = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}
    if suffix not in by_suffix:
        raise InputError(
            str(path), f"cannot tell the format from {suffix!r}; pass format= one of {FORMATS}"
        )
    return by_suffix[suffix]


def count_lines(path: Path) -> int:
    """Lines in a file (for the progress bar), read in 1 MB blocks: about 1 s per GB."""
    lines, last = 0, b"\n"
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            lines += block.count(b"\n")
            last = block[-1:]
    return lines + (last != b"\n")


def file_fingerprint(path: Path) -> str:
    stat = path.stat()
    key = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
    return hashlib.sha256(key.encode()).hexdigest()


# ---------------------------------------------------------------------------- files


def _csv(path: Path) -> Source:
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            header = next(csv.reader(handle), None)
    except UnicodeDecodeError as exc:
        raise InputError(str(path), f"header is not UTF-8 text ({exc.reason})") from None
    if not header:
        raise InputError(str(path), "empty file: no header row")

    def batches():
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.reader(handle)
            next(reader)
            batch, first, row_number = [], 1, 0
            try:
                for row_number, values in enumerate(reader, start=1):
                    if len(values) != len(header):
                        raise InputError(
                            str(path),
                            f"has {len(values)} values, the header has {len(header)}",
                            row=row_number,
                        )
                    batch.append(dict(zip(header, values, strict=True)))
                    if len(batch) == BATCH_ROWS:
                        yield first, batch
                        batch, first = [], row_number + 1
            except UnicodeDecodeError as exc:
                raise InputError(
                    str(path), f"not UTF-8 text ({exc.reason})", row=row_number + 1
                ) from None
            except csv.Error as exc:
                raise InputError(str(path), f"malformed CSV: {exc}", row=row_number + 1) from None
            if batch:
                yield first, batch

    total = count_lines(path) - 1  # an estimate when quoted values span lines
    return Source(
        str(path), batches, columns=header, total=total, fingerprint=file_fingerprint(path)
    )


def _jsonl(path: Path) -> Source:
    def batches():
        batch, first, row_number = [], 1, 0
        with path.open("rb") as handle:
            for line in handle:
                if not line.strip():
                    continue
                row_number += 1
                try:
                    row = json.loads(line.decode("utf-8"))
                except UnicodeDecodeError as exc:
                    raise InputError(
                        str(path), f"not UTF-8 text ({exc.reason})", row=row_number
                    ) from None
                except json.JSONDecodeError as exc:
                    raise InputError(
                        str(path), f"invalid JSON: {exc.msg}", row=row_number
                    ) from None
                if not isinstance(row, dict):
                    raise InputError(str(path), "each line must be a JSON object", row=row_number)
                batch.append(row)
                if len(batch) == BATCH_ROWS:
                    yield first, batch
                    batch, first = [], row_number + 1
        if batch:
            yield first, batch

    return Source(str(path), batches, total=count_lines(path), fingerprint=file_fingerprint(path))


def _parquet(path: Path) -> Source:
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises several types for a broken file
        raise InputError(str(path), f"cannot read as Parquet: {exc}") from None

    def batches():
        first = 1
        for record_batch in parquet.iter_batches(batch_size=BATCH_ROWS):
            rows = record_batch.to_pylist()
            yield first, rows
            first += len(rows)

    return Source(
        str(path),
        batches,
        columns=parquet.schema_arrow.names,
        total=parquet.metadata.num_rows,
        fingerprint=file_fingerprint(path),
    )


# ---------------------------------------------------------------------------- in memory


def _dataframe(frame) -> Source:
    def batches():
        for start in range(0, len(frame), BATCH_ROWS):
            chunk = frame.iloc[start : start + BATCH_ROWS]
            yield start + 1, [_clean_missing(row) for row in chunk.to_dict("records")]

    columns = [str(c) for c in frame.columns]
    return Source("DataFrame", batches, columns=columns, total=len(frame))


def _clean_missing(row: dict) -> dict:
    # pandas fills gaps with NaN / None / NaT; to labelkit a gap is simply None.
    return {
        k: None if (isinstance(v, float) and math.isnan(v)) or v is _pd_na() else v
        for k, v in row.items()
    }


def _pd_na():
    import pandas as pd

    return pd.NA


def _hf_folder(path: Path, split: str | None) -> Source:
    import datasets

    try:
        loaded = datasets.load_from_disk(str(path))
    except Exception as exc:  # FileNotFoundError, or a folder that is not a saved dataset
        raise InputError(str(path), f"not a dataset saved with save_to_disk: {exc}") from None
    source = _hf_dataset(loaded, split, name=str(path))
    source.fingerprint = getattr(loaded, "_fingerprint", None) if split is None else None
    return source


def _hf_dataset(data, split: str | None, name: str) -> Source:
    import datasets

    if isinstance(data, datasets.DatasetDict):
        if split is None:
            if len(data) != 1:
                raise InputError(name or "DatasetDict", f"choose a split: {', '.join(data)}")
            split = next(iter(data))
        if split not in data:
            raise InputError(name or "DatasetDict", f"no split {split!r}; splits: {list(data)}")
        data = data[split]
        name = f"{name or 'DatasetDict'}[{split}]"
    name = name.strip() or "Dataset"
    # Images and audio stay undecoded: bytes/paths travel, PIL objects would not store.
    for column, feature in data.features.items():
        if isinstance(feature, datasets.Image) and feature.decode:
            data = data.cast_column(column, datasets.Image(decode=False))

    def batches():
        first = 1
        for batch in data.iter(batch_size=BATCH_ROWS):
            rows = [
                dict(zip(batch, values, strict=True))
                for values in zip(*batch.values(), strict=True)
            ]
            yield first, rows
            first += len(rows)

    fingerprint = getattr(data, "_fingerprint", None)
    return Source(
        name, batches, columns=list(data.column_names), total=len(data), fingerprint=fingerprint
    )


def read_json_cell(value: Any) -> Any:
    """A JSON object given inline (JSONL, Parquet struct) or as a JSON string (CSV cell)."""
    if isinstance(value, str):
        return json.loads(value) if value.strip() else None
    return value
