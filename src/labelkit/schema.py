"""What an item shows (fields) and what an annotator is asked (questions).

A `Schema` is plain data: it saves to and loads from YAML or JSON, and it validates answers.
Answers are dicts ``{question_name: value}``; each question type documents its value shape.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from labelkit.errors import AnswerError, SchemaError
from labelkit.i18n import Message

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


class _Part(BaseModel):
    """Common to fields and questions: a machine name, a human title, help text."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    title: str = ""
    help: str = ""

    @field_validator("name")
    @classmethod
    def _check_name(cls, name: str) -> str:
        if not NAME_PATTERN.match(name):
            raise ValueError(
                f"name {name!r} must be lower case letters, digits and '_', starting with a letter"
            )
        return name

    @property
    def label(self) -> str:
        return self.title or self.name.replace("_", " ").capitalize()


# ---------------------------------------------------------------------------- fields


class TextField(_Part):
    """Plain text, shown as text (never as HTML)."""

    type: Literal["text"] = "text"


class MarkdownField(_Part):
    """Markdown, rendered and sanitized in the browser."""

    type: Literal["markdown"] = "markdown"


class ChatField(_Part):
    """A conversation: a list of ``{"role": ..., "content": ...}`` messages."""

    type: Literal["chat"] = "chat"


class ImageField(_Part):
    """An image given as a local path, an http(s) URL, or raw bytes."""

    type: Literal["image"] = "image"


AnyField = Annotated[
    TextField | MarkdownField | ChatField | ImageField, Field(discriminator="type")
]
TEXT_FIELD_TYPES = ("text", "markdown")
CHAT_ROLES = ("system", "user", "assistant", "tool")


def check_field_value(field: AnyField, value: Any) -> str | None:
    """Return a problem with a field's value, or None when it fits the field type."""
    if field.type in TEXT_FIELD_TYPES:
        if not isinstance(value, str):
            return f"expected text, got {type(value).__name__}"
    elif field.type == "chat":
        if not isinstance(value, list) or not value:
            return "expected a non-empty list of {role, content} messages"
        for i, message in enumerate(value):
            if not isinstance(message, dict) or set(message) - {"role", "content", "name"}:
                return f"message {i} must be an object with 'role' and 'content'"
            if message.get("role") not in CHAT_ROLES:
                return f"message {i} has role {message.get('role')!r}, expected one of {CHAT_ROLES}"
            if not isinstance(message.get("content"), str):
                return f"message {i} content must be text"
    elif field.type == "image":
        if isinstance(value, dict) and set(value) <= {"bytes", "path"}:
            value = value.get("bytes") or value.get("path")
        if not isinstance(value, str | bytes) or not value:
            return "expected an image path, URL or bytes"
    return None


# ---------------------------------------------------------------------------- questions


class Condition(BaseModel):
    """Ask a question only when an earlier answer matches (``equals`` one value or ``any_of``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    question: str
    equals: Any = None
    any_of: list[Any] | None = None

    @model_validator(mode="after")
    def _one_test(self) -> Condition:
        if (self.equals is None) == (self.any_of is None):
            raise ValueError("a condition needs exactly one of 'equals' or 'any_of'")
        return self

    def holds(self, answer: Any) -> bool:
        wanted = [self.equals] if self.any_of is None else self.any_of
        if isinstance(answer, list):  # multi label / taxonomy: any selected value counts
            return any(a in wanted for a in answer)
        return answer in wanted


class _Question(_Part):
    required: bool = True
    when: Condition | None = None

    def check(self, value: Any, item: dict | None) -> tuple[Any, Message | None]:
        """Return the normalized value and a problem (or None)."""
        raise NotImplementedError


def _labels_valid(labels: list[str]) -> list[str]:
    if not labels:
        raise ValueError("needs at least one label")
    if len(set(labels)) != len(labels):
        raise ValueError("labels must be unique")
    if any(not isinstance(label, str) or not label.strip() for label in labels):
        raise ValueError("labels must be non-empty text")
    return labels


class LabelQuestion(_Question):
    """Pick one label. Value: the label (text)."""

    type: Literal["label"] = "label"
    labels: list[str]

    _check_labels = field_validator("labels")(classmethod(lambda cls, v: _labels_valid(v)))

    def check(self, value, item):
        if value not in self.labels:
            return value, _problem("not_a_label", value=repr(value), labels=repr(self.labels))
        return value, None


class MultiLabelQuestion(_Question):
    """Pick any number of labels. Value: a list of labels (order kept as in `labels`)."""

    type: Literal["multi_label"] = "multi_label"
    labels: list[str]
    min_selected: int = 0
    max_selected: int | None = None

    _check_labels = field_validator("labels")(classmethod(lambda cls, v: _labels_valid(v)))

    def check(self, value, item):
        if not isinstance(value, list | tuple):
            return value, _problem("not_a_list", got=type(value).__name__)
        unknown = [v for v in value if v not in self.labels]
        if unknown:
            return value, _problem(
                "unknown_labels", unknown=repr(unknown), labels=repr(self.labels)
            )
        chosen = [label for label in self.labels if label in value]
        if len(chosen) < self.min_selected:
            return chosen, _problem("too_few", n=self.min_selected)
        if self.max_selected is not None and len(chosen) > self.max_selected:
            return chosen, _problem("too_many", n=self.max_selected)
        return chosen, None


class RatingQuestion(_Question):
    """A number on a scale with labelled ends (1–5 Likert, 0–100 score). Value: a number."""

    type: Literal["rating"] = "rating"
    min: int = 1
    max: int = 5
    step: int = 1
    low_label: str = ""
    high_label: str = ""

    @model_validator(mode="after")
    def _check_scale(self) -> RatingQuestion:
        if self.max <= self.min or self.step <= 0 or (self.max - self.min) % self.step:
            raise ValueError(f"scale {self.min}..{self.max} step {self.step} is not a valid scale")
        return self

    @property
    def is_slider(self) -> bool:
        return (self.max - self.min) // self.step > 10

    def check(self, value, item):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            return value, _problem("not_a_number", min=self.min, max=self.max, value=repr(value))
        if not self.min <= value <= self.max:
            return value, _problem("off_scale", value=value, min=self.min, max=self.max)
        if (value - self.min) % self.step:
            return value, _problem("off_step", value=value, step=self.step)
        return value, None


class PreferenceQuestion(_Question):
    """Which response is better. `options` name the fields compared (two or more).

    Value: ``{"choice": <field name or "tie">, "strength": <one of strengths or None>}``.
    """

    type: Literal["preference"] = "preference"
    options: list[str]
    allow_tie: bool = True
    strengths: list[str] = Field(default_factory=list)

    @field_validator("options")
    @classmethod
    def _check_options(cls, options: list[str]) -> list[str]:
        if len(options) < 2 or len(set(options)) != len(options):
            raise ValueError("needs at least two distinct options (the fields compared)")
        return options

    def check(self, value, item):
        if isinstance(value, str):
            value = {"choice": value}
        if not isinstance(value, dict) or set(value) - {"choice", "strength"}:
            return value, _problem("not_a_preference")
        choice, strength = value.get("choice"), value.get("strength")
        choices = self.options + (["tie"] if self.allow_tie else [])
        if choice not in choices:
            return value, _problem("bad_choice", choice=repr(choice), choices=repr(choices))
        if strength is not None:
            if choice == "tie":
                return value, _problem("tie_strength")
            if strength not in self.strengths:
                return value, _problem(
                    "bad_strength", strength=repr(strength), strengths=repr(self.strengths)
                )
        elif self.strengths and choice != "tie":
            return value, _problem("no_strength", strengths=repr(self.strengths))
        return {"choice": choice, "strength": strength}, None


class RankingQuestion(_Question):
    """Order all options, best first. Value: the list of options in ranked order."""

    type: Literal["ranking"] = "ranking"
    options: list[str]

    _check_options = field_validator("options")(classmethod(lambda cls, v: _labels_valid(v)))

    def check(self, value, item):
        if not isinstance(value, list | tuple) or sorted(value) != sorted(self.options):
            return value, _problem("not_a_ranking", options=repr(self.options))
        return list(value), None


class TextQuestion(_Question):
    """Free text. Value: a string."""

    type: Literal["text"] = "text"
    placeholder: str = ""
    max_length: int = 10_000

    def check(self, value, item):
        if not isinstance(value, str):
            return value, _problem("not_text", got=type(value).__name__)
        value = value.strip()
        if len(value) > self.max_length:
            return value, _problem("too_long", n=len(value), max=self.max_length)
        if self.required and not value:
            return value, _problem("empty_text")
        return value, None


class SpanQuestion(_Question):
    """Mark spans of a text field with a label (and a severity when `severities` are given).

    Value: a list of ``{"start": int, "end": int, "label": str, "severity": str}`` with
    character offsets into the field's text, ``start < end``. An empty list means "no span".
    """

    type: Literal["spans"] = "spans"
    field: str
    labels: list[str]
    severities: list[str] = Field(default_factory=list)
    required: bool = False

    _check_labels = field_validator("labels")(classmethod(lambda cls, v: _labels_valid(v)))

    def check(self, value, item):
        if not isinstance(value, list):
            return value, _problem("not_spans", got=type(value).__name__)
        text = (item or {}).get(self.field)
        spans = []
        for i, span in enumerate(value):
            if not isinstance(span, dict) or set(span) - {"start", "end", "label", "severity"}:
                return value, _problem("span_shape", i=i)
            start, end = span.get("start"), span.get("end")
            if not all(isinstance(x, int) and not isinstance(x, bool) for x in (start, end)):
                return value, _problem("span_offsets", i=i)
            if not 0 <= start < end:
                return value, _problem("span_order", i=i, start=start, end=end)
            if isinstance(text, str) and end > len(text):
                return value, _problem(
                    "span_outside", i=i, start=start, end=end, field=repr(self.field), n=len(text)
                )
            if span.get("label") not in self.labels:
                return value, _problem(
                    "span_label", i=i, label=repr(span.get("label")), labels=repr(self.labels)
                )
            severity = span.get("severity")
            if self.severities and severity not in self.severities:
                return value, _problem(
                    "span_severity", i=i, severity=repr(severity), severities=repr(self.severities)
                )
            if not self.severities and severity is not None:
                return value, _problem("span_no_severity", i=i)
            spans.append({"start": start, "end": end, "label": span["label"], "severity": severity})
        spans.sort(key=lambda s: (s["start"], s["end"]))
        return spans, None


class TaxonomyQuestion(_Question):
    """Pick categories in a hierarchy, written as paths such as ``"violence/graphic"``.

    `categories` lists the paths; parents are implied. Value: one path, or a list of paths
    when `multiple`. An empty list (with `multiple`) means "none of these".
    """

    type: Literal["taxonomy"] = "taxonomy"
    categories: list[str]
    multiple: bool = True

    @field_validator("categories")
    @classmethod
    def _check_categories(cls, categories: list[str]) -> list[str]:
        _labels_valid(categories)
        for path in categories:
            if any(not part.strip() for part in path.split("/")):
                raise ValueError(f"category path {path!r} has an empty part")
        return categories

    @property
    def paths(self) -> list[str]:
        """Every selectable path: the listed ones and their parents, in tree order."""
        seen: dict[str, None] = {}
        for path in self.categories:
            parts = path.split("/")
            for depth in range(1, len(parts) + 1):
                seen.setdefault("/".join(parts[:depth]))
        return list(seen)

    def check(self, value, item):
        values = value if isinstance(value, list) else [value]
        if not self.multiple and (isinstance(value, list) or value is None):
            return value, _problem("not_one_path")
        paths = set(self.paths)
        unknown = [v for v in values if v not in paths]
        if unknown:
            return value, _problem("unknown_paths", unknown=repr(unknown))
        return (sorted(set(values), key=self.paths.index) if self.multiple else value), None


AnyQuestion = Annotated[
    LabelQuestion
    | MultiLabelQuestion
    | RatingQuestion
    | PreferenceQuestion
    | RankingQuestion
    | TextQuestion
    | SpanQuestion
    | TaxonomyQuestion,
    Field(discriminator="type"),
]


# ---------------------------------------------------------------------------- schema


class Schema(BaseModel):
    """Settings of a labeling task: fields shown, questions asked, guidelines."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str = "Untitled task"
    kind: str = "custom"
    guidelines: str = ""
    fields: list[AnyField]
    questions: list[AnyQuestion]

    @model_validator(mode="after")
    def _check_references(self) -> Schema:
        if not self.fields or not self.questions:
            raise ValueError("a schema needs at least one field and one question")
        names = [p.name for p in [*self.fields, *self.questions]]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"names must be unique across fields and questions: {duplicates}")
        fields = {f.name: f for f in self.fields}
        earlier: dict[str, Any] = {}
        for q in self.questions:
            if q.when is not None and q.when.question not in earlier:
                raise ValueError(
                    f"question {q.name!r} depends on {q.when.question!r}, "
                    "which must be an earlier question"
                )
            if isinstance(q, SpanQuestion) and (
                q.field not in fields or fields[q.field].type not in TEXT_FIELD_TYPES
            ):
                raise ValueError(f"span question {q.name!r} needs a text field, not {q.field!r}")
            if isinstance(q, PreferenceQuestion):
                missing = [o for o in q.options if o not in fields]
                if missing:
                    raise ValueError(f"preference {q.name!r} compares unknown fields {missing}")
            earlier[q.name] = q
        return self

    # -- lookups

    def field(self, name: str) -> AnyField:
        return next(f for f in self.fields if f.name == name)

    def question(self, name: str) -> AnyQuestion:
        return next(q for q in self.questions if q.name == name)

    @property
    def field_names(self) -> list[str]:
        return [f.name for f in self.fields]

    # -- answers

    def asked(self, question: AnyQuestion, answer: dict) -> bool:
        """Whether `question` is shown given the other answers (its condition holds)."""
        if question.when is None:
            return True
        parent = self.question(question.when.question)
        return self.asked(parent, answer) and question.when.holds(answer.get(parent.name))

    def validate_answer(self, answer: Any, item: dict | None = None) -> dict:
        """Check an answer against the schema; return it normalized or raise `AnswerError`.

        `item` (the item's field values) lets span offsets be checked against the text.
        """
        if not isinstance(answer, dict):
            raise AnswerError([_problem("not_an_object", got=repr(answer)[:200])])
        problems = [
            _problem("unknown_question", name=repr(k)[:200])
            for k in answer
            if k not in self._question_names
        ]
        clean: dict[str, Any] = {}
        for q in self.questions:
            value = answer.get(q.name)
            if not self.asked(q, answer):
                if value not in (None, [], ""):
                    wanted = q.when.equals if q.when.any_of is None else q.when.any_of
                    problems.append(
                        _problem(
                            "not_asked",
                            name=repr(q.name),
                            parent=repr(q.when.question),
                            wanted=repr(wanted),
                        )
                    )
                continue
            # An empty list is an answer ("none of these") for the list-valued questions.
            if value is None or value == "" or (value == [] and isinstance(q, RankingQuestion)):
                if q.required:
                    problems.append(_problem("required", name=repr(q.name)))
                continue
            normalized, problem = q.check(value, item)
            if problem:
                problems.append(_problem("question", name=repr(q.name), problem=problem))
            else:
                clean[q.name] = normalized
        if problems:
            raise AnswerError(problems)
        return clean

    @property
    def _question_names(self) -> set[str]:
        return {q.name for q in self.questions}

    # -- files

    def to_dict(self) -> dict:
        return self.model_dump(
            mode="json", exclude_defaults=True, exclude={"fields", "questions"}
        ) | {
            "fields": [_dump_part(f) for f in self.fields],
            "questions": [_dump_part(q) for q in self.questions],
        }

    @classmethod
    def from_dict(cls, data: Any, source: str = "schema") -> Schema:
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise SchemaError(source, _pydantic_problems(exc)) from None

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2)

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), allow_unicode=True, sort_keys=False)

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        text = self.to_json() if path.suffix == ".json" else self.to_yaml()
        path.write_text(text, encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | Path) -> Schema:
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
            data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, yaml.YAMLError) as exc:
            raise SchemaError(str(path), [f"cannot read: {exc}"]) from None
        return cls.from_dict(data, source=str(path))


def _problem(key: str, **values) -> Message:
    """One thing wrong with an answer, said in the annotator's language (labelkit.i18n)."""
    return Message.of(f"invalid.{key}", **values)


def _dump_part(part: BaseModel) -> dict:
    # `type` first and always present, defaults left out: short, readable files.
    return {"type": part.type} | part.model_dump(mode="json", exclude_defaults=True)


def _pydantic_problems(exc: ValidationError) -> list[str]:
    problems = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"] if not str(p).endswith("Question"))
        message = error["msg"].removeprefix("Value error, ")
        problems.append(f"{where}: {message}" if where else message)
    return problems
