"""Rows of a view to Arrow tables, a batch at a time, for the parquet shards.

datasets encodes example by example through generic code (`Features.encode_example`); at a
million answers that alone took longer than the pyarrow floor's whole export. Here each column
gets a converter built once from its feature (only where one is needed: class names to ids,
JSON to text), then pyarrow builds the column in C. The result has exactly the Arrow types of
`features.arrow_schema`; the tests check it loads back equal to datasets' own encoding.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pyarrow as pa
from datasets import ClassLabel, Features, Json, List

from labelkit.errors import LabelkitError

Convert = Callable[[Any], Any]


class RawJSON(str):
    """JSON text as the store keeps it (compact, UTF-8): written as is, not encoded again."""


class BatchEncoder:
    def __init__(self, features: Features):
        self.schema = features.arrow_schema
        self.columns = []
        for name, feature in features.items():
            arrow_type = self.schema.field(name).type
            storage = _storage_type(arrow_type)
            self.columns.append((name, _converter(feature), storage, arrow_type))

    def table(self, rows: list[dict]) -> pa.Table:
        arrays = []
        for name, convert, storage, arrow_type in self.columns:
            values = [row.get(name) for row in rows]
            if convert is not None:
                values = [None if v is None else convert(v) for v in values]
            array = pa.array(values, type=storage)
            arrays.append(array if storage == arrow_type else array.cast(arrow_type))
        return pa.Table.from_arrays(arrays, schema=self.schema)


def _converter(feature) -> Convert | None:
    """A function from a row's value to its Arrow storage value, or None when it is the same."""
    if isinstance(feature, ClassLabel):
        ids = {name: i for i, name in enumerate(feature.names)}

        def class_id(value):
            if isinstance(value, int):
                return value
            try:
                return ids[value]
            except KeyError:
                raise LabelkitError(
                    f"{value!r} is not one of the labels {feature.names} (schema changed "
                    "after answers were given?)"
                ) from None

        return class_id
    if isinstance(feature, Json):

        def json_text(value):
            if type(value) is RawJSON:
                return value  # a str: pyarrow takes it as it is
            return json.dumps(value, ensure_ascii=False, separators=(",", ":"))

        return json_text
    if isinstance(feature, List):
        inner = _converter(feature.feature)
        if inner is None:
            return None
        return lambda values: [None if v is None else inner(v) for v in values]
    if isinstance(feature, dict):
        inner = [(key, c) for key, sub in feature.items() if (c := _converter(sub)) is not None]
        if not inner:
            return None

        def struct(value: dict) -> dict:
            for key, convert in inner:
                field_value = value.get(key)
                if field_value is not None:
                    converted = convert(field_value)
                    if converted is not field_value:  # copied on change: rows stay as given
                        value = {**value, key: converted}
            return value

        return struct
    return None  # Value, Image (already {"bytes", "path"}): pyarrow takes them as they are


def _storage_type(arrow_type: pa.DataType) -> pa.DataType:
    """The type pyarrow can build from Python values (extension types by their storage)."""
    if isinstance(arrow_type, pa.BaseExtensionType):
        return arrow_type.storage_type
    if pa.types.is_list(arrow_type):
        return pa.list_(_storage_type(arrow_type.value_type))
    if pa.types.is_large_list(arrow_type):
        return pa.large_list(_storage_type(arrow_type.value_type))
    if pa.types.is_struct(arrow_type):
        return pa.struct([pa.field(f.name, _storage_type(f.type), f.nullable) for f in arrow_type])
    return arrow_type
