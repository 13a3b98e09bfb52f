"""Typed `datasets` features for a schema's fields and answers, and field values fit for them.

Closed sets become `ClassLabel` (labels, taxonomy paths, preference choices), multi-label answers
lists of them, ratings integers, chats lists of {role, content} messages, images `Image()`.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from datasets import ClassLabel, Image, List, Value

from labelkit.schema import (
    AnyField,
    AnyQuestion,
    LabelQuestion,
    MultiLabelQuestion,
    PreferenceQuestion,
    RankingQuestion,
    RatingQuestion,
    SpanQuestion,
    TaxonomyQuestion,
    TextQuestion,
)

STRING = Value("string")
MESSAGES = List({"role": STRING, "content": STRING})  # the TRL conversational shape


def field_feature(field: AnyField):
    if field.type == "chat":
        return MESSAGES
    if field.type == "image":
        return Image()
    return STRING


def answer_feature(question: AnyQuestion):
    """The feature of one annotator's answer to `question` (see each question's value shape)."""
    if isinstance(question, LabelQuestion):
        return ClassLabel(names=question.labels)
    if isinstance(question, MultiLabelQuestion):
        return List(ClassLabel(names=question.labels))
    if isinstance(question, RatingQuestion):
        return Value("int64")
    if isinstance(question, PreferenceQuestion):
        return {
            "choice": ClassLabel(names=preference_choices(question)),
            "strength": ClassLabel(names=question.strengths) if question.strengths else STRING,
        }
    if isinstance(question, RankingQuestion):
        return List(STRING)
    if isinstance(question, SpanQuestion):
        return List(
            {
                "start": Value("int64"),
                "end": Value("int64"),
                "label": ClassLabel(names=question.labels),
                "severity": STRING,
            }
        )
    if isinstance(question, TaxonomyQuestion):
        paths = ClassLabel(names=question.paths)
        return List(paths) if question.multiple else paths
    if isinstance(question, TextQuestion):
        return STRING
    raise TypeError(f"no feature for question type {question.type!r}")  # a new question type


def preference_choices(question: PreferenceQuestion) -> list[str]:
    return question.options + (["tie"] if question.allow_tie else [])


def field_value(field: AnyField, value: Any) -> Any:
    """A stored field value in the shape its feature encodes."""
    if value is None:
        return None
    if field.type == "chat":
        return messages(value)
    if field.type == "image":
        return image_value(value)
    return value


def messages(chat: list[dict]) -> list[dict]:
    # Only role and content: TRL and chat templates expect exactly these keys.
    return [{"role": m["role"], "content": m["content"]} for m in chat]


def image_value(value: Any) -> dict:
    """Bytes travel inside the dataset (a hub folder must not point at local files); a URL stays
    a URL. Always {"bytes", "path"} in this order: a batch mixing orders fails in pyarrow."""
    if isinstance(value, dict) and "bytes_b64" in value:
        return {"bytes": base64.b64decode(value["bytes_b64"]), "path": None}
    if isinstance(value, str) and value.startswith(("http://", "https://")):
        return {"bytes": None, "path": value}
    # No `path` beside the bytes: datasets drops the bytes when that path exists locally.
    return {"bytes": Path(value).read_bytes(), "path": None}
