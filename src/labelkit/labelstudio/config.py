"""A labelkit `Schema` as a Label Studio labeling config (XML), and a config as a schema.

Every schema becomes a config that Label Studio accepts, and parsing that config gives the same
schema back. A config written by hand in Label Studio parses too, as long as it only uses tags
with a labelkit equivalent; any other tag is named in one `ConfigError`.

Fields (object tags):

    text      <Text>        plain text (also a markdown field that a span question marks, so
                            that character offsets stay offsets into the markdown source)
    markdown  <HyperText>   the task data holds the markdown rendered to HTML and sanitized
                            (the same allow-list as the labeling widget); never raw HTML
    chat      <Paragraphs>  layout="dialogue", nameKey="role", textKey="content"
    image     <Image>       URLs as they are; files and bytes travel as data: URIs

Questions (control tags) and their result values:

    label        <Choices choice="single">    {"choices": [label]}
    multi_label  <Choices choice="multiple">  {"choices": [labels]}
    rating       <Rating maxRating=N>         {"rating": n}   for 1..N (N <= 10, step 1)
                 <Number min max step>        {"number": n}   for any other scale (0-100 ...)
    preference   <Pairwise toName="a,b">      {"selected": "left" | "right"}  (two options)
                 <Choices>                    {"choices": [field]}  (more than two options)
                 and, with strengths or ties, a helper <Choices name="<q>__strength"> whose
                 choices are the strengths and "tie" (Pairwise cannot say "tie" by itself)
    ranking      <List name="<q>__items"> + <Ranker>   {"ranker": {"<q>": [options]}}
    text         <TextArea>                   {"text": [text]}
    spans        <Labels> on a <Text>         {"start", "end", "text", "labels": [label]}
                 severity: a helper <Choices name="<q>__severity" perRegion="true">, one
                 result per span with the same region id: {"start", "end", "choices": [sev]}
    taxonomy     <Taxonomy>                   {"taxonomy": [["a", "b"], ...]} for "a/b"
                 (maxUsages="1" when one path only)

Conditions become visibleWhen="choice-selected" (whenTagName, whenChoiceValue) on the View that
wraps the question; they can depend on label and multi-label questions (Label Studio shows a
control only after a choice of a Choices tag). Each part sits in its own <View> with a <Header>
holding its title. What Label Studio has no attribute for (rating end labels, min/max selected,
max text length, ranking options, the markdown type of a Text) travels in a `labelkit`
attribute holding JSON, which Label Studio ignores.
"""

from __future__ import annotations

import base64
import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

from labelkit.errors import LabelkitError, SchemaError
from labelkit.schema import (
    NAME_PATTERN,
    Condition,
    LabelQuestion,
    MultiLabelQuestion,
    PreferenceQuestion,
    RankingQuestion,
    RatingQuestion,
    Schema,
    SpanQuestion,
    TaxonomyQuestion,
    TextQuestion,
)

EXTRA = "labelkit"  # the attribute carrying what Label Studio has no attribute for
STRENGTH, SEVERITY, ITEMS = "__strength", "__severity", "__items"
TIE = "tie"
MAX_STARS = 10  # larger 1..N scales become a Number

OBJECT_TAGS = {"Text", "HyperText", "Paragraphs", "Image", "List"}
CONTROL_TAGS = {
    "Choices",
    "Pairwise",
    "Rating",
    "Number",
    "Ranker",
    "TextArea",
    "Labels",
    "Taxonomy",
}
LAYOUT_TAGS = {"View", "Header", "Style", "Choice", "Label", "Collapse", "Filter", "Shortcut"}
FIELD_TAGS = {"text": "Text", "markdown": "HyperText", "chat": "Paragraphs", "image": "Image"}


class ConfigError(LabelkitError):
    """A labeling config (or a schema) that has no counterpart on the other side."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("Label Studio config: " + "; ".join(problems))


@dataclass(frozen=True)
class FieldTag:
    """Where a labelkit field lives in Label Studio: an object tag reading task data `key`."""

    field: str
    tag: str
    name: str
    key: str
    name_key: str = "role"  # Paragraphs
    text_key: str = "content"


@dataclass(frozen=True)
class QuestionTag:
    """The control tag(s) of one labelkit question."""

    question: str
    tag: str
    name: str
    to_name: str
    strength: str | None = None  # helper Choices of a preference
    severity: str | None = None  # per-region Choices of a span question
    items: str | None = None  # the List a Ranker orders
    values: dict[str, str] = field(default_factory=dict)  # result value (alias) -> label


@dataclass
class LabelConfig:
    """A config with its schema and the name mapping both ways."""

    xml: str
    schema: Schema
    fields: dict[str, FieldTag]  # by labelkit field name
    questions: dict[str, QuestionTag]  # by labelkit question name

    @classmethod
    def from_schema(cls, schema: Schema) -> LabelConfig:
        return cls.parse(schema_to_config(schema), title=schema.title, guidelines=schema.guidelines)

    @classmethod
    def parse(cls, xml: str, *, title: str = "", guidelines: str = "") -> LabelConfig:
        return _Parser(xml).parse(title=title, guidelines=guidelines)

    @property
    def controls(self) -> dict[str, tuple[QuestionTag, str]]:
        """Label Studio control name -> (its question, role: main | strength | severity)."""
        found = {}
        for tag in self.questions.values():
            found[tag.name] = (tag, "main")
            if tag.strength:
                found[tag.strength] = (tag, "strength")
            if tag.severity:
                found[tag.severity] = (tag, "severity")
        return found

    # ------------------------------------------------------------------ task data

    def task_data(self, item_data: dict) -> dict:
        """An item's field values as Label Studio task data (safe to show there)."""
        data: dict[str, Any] = {}
        for name, tag in self.fields.items():
            value = item_data.get(name)
            if tag.tag == "HyperText":
                from labelkit.ui.render import markdown_html

                data[tag.key] = markdown_html(value) if isinstance(value, str) else ""
            elif tag.tag == "Paragraphs":
                data[tag.key] = [
                    {tag.name_key: m.get("role"), tag.text_key: m.get("content")}
                    for m in value or []
                ]
            elif tag.tag == "Image":
                data[tag.key] = image_uri(value)
            else:
                data[tag.key] = value
        for name, question in self.questions.items():
            if question.items:
                options = self.schema.question(name).options
                data[question.items] = [{"id": o, "title": o} for o in options]
        return data

    def item_data(self, task_data: dict, markdown: dict | None = None) -> dict:
        """A task's data as item field values. `markdown`: sources kept in the task's meta."""
        item: dict[str, Any] = {}
        for name, tag in self.fields.items():
            value = task_data.get(tag.key)
            if tag.tag == "HyperText" and markdown and isinstance(markdown.get(name), str):
                value = markdown[name]
            elif tag.tag == "Paragraphs" and isinstance(value, list):
                value = [
                    {"role": m.get(tag.name_key), "content": m.get(tag.text_key)}
                    if isinstance(m, dict)
                    else m
                    for m in value
                ]
            elif tag.tag == "Image" and isinstance(value, str) and value.startswith("data:"):
                value = {"bytes_b64": value.partition(",")[2]}
            item[name] = value
        return item


# ---------------------------------------------------------------------------- schema -> XML


def schema_to_config(schema: Schema) -> str:
    """The Label Studio labeling config (XML) of a schema; `ConfigError` when it has none."""
    problems: list[str] = []
    reserved = {p.name for p in [*schema.fields, *schema.questions]}
    for q in schema.questions:
        for suffix in (STRENGTH, SEVERITY, ITEMS):
            if q.name + suffix in reserved:
                problems.append(f"question name {q.name + suffix!r} is reserved for {q.name!r}")
    root = ET.Element("View")
    root.set(EXTRA, _json({"kind": schema.kind}))
    marked = {q.field for q in schema.questions if isinstance(q, SpanQuestion)}
    first = schema.fields[0].name

    for f in schema.fields:
        view = ET.SubElement(root, "View")
        _header(view, f)
        tag = "Text" if f.name in marked else FIELD_TAGS[f.type]
        element = ET.SubElement(view, tag, name=f.name, value=f"${f.name}")
        extra = {"help": f.help} if f.help else {}
        if f.type == "markdown" and tag == "Text":
            extra["type"] = "markdown"
        if tag == "Paragraphs":
            element.attrib.update(layout="dialogue", nameKey="role", textKey="content")
        if extra:
            element.set(EXTRA, _json(extra))

    for q in schema.questions:
        view = ET.SubElement(root, "View")
        if q.when is not None:
            problem = _condition(view, schema, q.name, q.when)
            if problem:
                problems.append(problem)
        _header(view, q)
        attrs = {"name": q.name, "toName": first}
        if q.help:
            attrs["hint"] = q.help
        attrs["required"] = "true" if q.required else "false"
        extra: dict[str, Any] = {}

        if isinstance(q, LabelQuestion | MultiLabelQuestion):
            multiple = isinstance(q, MultiLabelQuestion)
            element = ET.SubElement(
                view, "Choices", attrs, choice="multiple" if multiple else "single"
            )
            for label in q.labels:
                ET.SubElement(element, "Choice", value=label)
            if multiple and q.min_selected:
                extra["min_selected"] = q.min_selected
            if multiple and q.max_selected is not None:
                extra["max_selected"] = q.max_selected
        elif isinstance(q, RatingQuestion):
            if q.min == 1 and q.step == 1 and q.max <= MAX_STARS:
                element = ET.SubElement(view, "Rating", attrs, maxRating=str(q.max))
            else:
                element = ET.SubElement(
                    view, "Number", attrs, min=str(q.min), max=str(q.max), step=str(q.step)
                )
            if q.low_label:
                extra["low_label"] = q.low_label
            if q.high_label:
                extra["high_label"] = q.high_label
        elif isinstance(q, PreferenceQuestion):
            if len(q.options) == 2:
                attrs["toName"] = ",".join(q.options)
                element = ET.SubElement(view, "Pairwise", attrs)
                helper = [*q.strengths, *([TIE] if q.allow_tie else [])]
            else:
                element = ET.SubElement(view, "Choices", attrs, choice="single")
                for option in [*q.options, *([TIE] if q.allow_tie else [])]:
                    ET.SubElement(element, "Choice", value=option)
                extra.update(type="preference", options=q.options, allow_tie=q.allow_tie)
                helper = list(q.strengths)
            if helper:
                strength = ET.SubElement(
                    view,
                    "Choices",
                    name=q.name + STRENGTH,
                    toName=first,
                    choice="single",
                    required="false",
                )
                for value in helper:
                    ET.SubElement(strength, "Choice", value=value)
        elif isinstance(q, RankingQuestion):
            ET.SubElement(view, "List", name=q.name + ITEMS, value=f"${q.name}{ITEMS}")
            attrs["toName"] = q.name + ITEMS
            element = ET.SubElement(view, "Ranker", attrs)
            extra["options"] = q.options
        elif isinstance(q, TextQuestion):
            element = ET.SubElement(
                view, "TextArea", attrs, maxSubmissions="1", editable="true", rows="3"
            )
            if q.placeholder:
                element.set("placeholder", q.placeholder)
            if q.max_length != TextQuestion.model_fields["max_length"].default:
                extra["max_length"] = q.max_length
        elif isinstance(q, SpanQuestion):
            attrs["toName"] = q.field
            element = ET.SubElement(view, "Labels", attrs)
            for label in q.labels:
                ET.SubElement(element, "Label", value=label)
            if q.severities:
                severity = ET.SubElement(
                    view,
                    "Choices",
                    name=q.name + SEVERITY,
                    toName=q.field,
                    perRegion="true",
                    choice="single",
                    required="true",
                )
                for value in q.severities:
                    ET.SubElement(severity, "Choice", value=value)
        elif isinstance(q, TaxonomyQuestion):
            element = ET.SubElement(view, "Taxonomy", attrs)
            if not q.multiple:
                element.set("maxUsages", "1")
            _taxonomy_tree(element, q.categories)
        else:  # pragma: no cover - every question type is handled above
            problems.append(f"question {q.name!r}: type {q.type!r} has no Label Studio tag")
            continue
        if extra:
            element.set(EXTRA, _json(extra))

    if problems:
        raise ConfigError(problems)
    ET.indent(root, space="  ")
    return ET.tostring(root, encoding="unicode")


def _header(view: ET.Element, part) -> None:
    """The part's title as a Header; an untitled part shows its default label, marked so."""
    header = ET.SubElement(view, "Header", value=part.label)
    if not part.title:
        header.set(EXTRA, _json({"untitled": True}))


def _condition(view: ET.Element, schema: Schema, name: str, when: Condition) -> str | None:
    parent = schema.question(when.question)
    values = [when.equals] if when.any_of is None else when.any_of
    choices_based = isinstance(parent, LabelQuestion | MultiLabelQuestion) or (
        isinstance(parent, PreferenceQuestion) and len(parent.options) > 2
    )
    if not choices_based:
        return (
            f"question {name!r} depends on {parent.name!r} ({parent.type}): Label Studio can "
            "only show a question depending on a choice (label or multi-label question)"
        )
    if any(not isinstance(v, str) or "," in v for v in values):
        return f"question {name!r}: a condition value with a comma cannot be expressed"
    view.attrib.update(
        visibleWhen="choice-selected", whenTagName=parent.name, whenChoiceValue=",".join(values)
    )
    if when.any_of is not None and len(values) == 1:
        view.set(EXTRA, _json({"any_of": True}))
    return None


def _taxonomy_tree(element: ET.Element, categories: list[str]) -> None:
    nodes: dict[tuple[str, ...], ET.Element] = {(): element}
    for path in categories:
        parts = tuple(path.split("/"))
        for depth in range(1, len(parts) + 1):
            if parts[:depth] not in nodes:
                nodes[parts[:depth]] = ET.SubElement(
                    nodes[parts[: depth - 1]], "Choice", value=parts[depth - 1]
                )


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


# ---------------------------------------------------------------------------- XML -> schema


class _Parser:
    def __init__(self, xml: str):
        try:
            self.root = ET.fromstring(xml)
        except ET.ParseError as exc:
            raise ConfigError([f"not valid XML: {exc}"]) from None
        self.problems: list[str] = []
        self.unsupported: list[str] = []
        self.objects: dict[str, tuple[ET.Element, str]] = {}  # LS name -> (element, title)
        self.controls: list[tuple[ET.Element, str, ET.Element | None]] = []  # + title, cond view
        self.names: dict[str, str] = {}  # LS name -> labelkit name
        self.taken: set[str] = set()

    # -- walking

    def _walk(self, element: ET.Element, condition: ET.Element | None) -> None:
        previous: ET.Element | None = None
        list_title = ""
        for child in element:
            if not isinstance(child.tag, str):  # comments, processing instructions
                continue
            title = ""
            if previous is not None and previous.tag == "List" and child.tag == "Ranker":
                title = list_title  # the Header before a ranked List titles the Ranker
            elif previous is not None and previous.tag == "Header":
                title = previous.get("value", "") or (previous.text or "").strip()
                if self._extra(previous).get("untitled"):
                    title = ""
            tag = child.tag
            if tag in OBJECT_TAGS:
                name = child.get("name")
                if not name:
                    self.problems.append(f"<{tag}> without a name")
                else:
                    self.objects[name] = (child, title)
                if tag == "List":
                    list_title = title
            elif tag in CONTROL_TAGS:
                self.controls.append((child, title, condition))
            elif tag == "View":
                own = child if child.get("visibleWhen") else condition
                self._walk(child, own)
            elif tag not in LAYOUT_TAGS:
                label = f"<{tag}>" + (f" {child.get('name')!r}" if child.get("name") else "")
                self.unsupported.append(label)
            previous = child

    def _name(self, ls_name: str, kind: str) -> str:
        """A labelkit name for a Label Studio name (the same when it is already valid)."""
        if ls_name in self.names:
            return self.names[ls_name]
        name = (
            ls_name if NAME_PATTERN.match(ls_name) else re.sub(r"[^a-z0-9_]+", "_", ls_name.lower())
        )
        name = name.strip("_")[:60] or kind
        if not name[0].isalpha():
            name = f"{kind[0]}_{name}"[:60]
        base, n = name, 2
        while name in self.taken:
            name, n = f"{base}_{n}", n + 1
        self.taken.add(name)
        self.names[ls_name] = name
        return name

    # -- parts

    def parse(self, title: str, guidelines: str) -> LabelConfig:
        if self.root.tag != "View":
            self.problems.append(f"the root tag must be <View>, not <{self.root.tag}>")
        self._walk(self.root, None)
        root_extra = self._extra(self.root)

        # Names of helpers and of Lists that a Ranker orders are not fields or questions.
        control_names = {c.get("name") for c, _, _ in self.controls}
        helpers = {
            n
            for n in control_names
            if n
            and (
                (n.endswith(STRENGTH) and n[: -len(STRENGTH)] in control_names)
                or (n.endswith(SEVERITY) and n[: -len(SEVERITY)] in control_names)
            )
        }
        ranked = {c.get("toName") for c, _, _ in self.controls if c.tag == "Ranker"}

        fields, field_tags = [], {}
        for ls_name, (element, part_title) in self.objects.items():
            if element.tag == "List":
                if ls_name not in ranked:
                    self.unsupported.append(f"<List> {ls_name!r} (without a Ranker)")
                continue
            built = self._field(ls_name, element, part_title)
            if built is not None:
                fields.append(built[0])
                field_tags[built[0]["name"]] = built[1]

        by_ls = {c.get("name"): c for c, _, _ in self.controls}
        questions, question_tags = [], {}
        for element, part_title, condition in self.controls:
            if element.get("name") in helpers:
                continue
            built = self._question(element, part_title, condition, by_ls, helpers)
            if built is not None:
                questions.append(built[0])
                question_tags[built[0]["name"]] = built[1]

        if self.unsupported:
            self.problems.insert(
                0, "tags with no labelkit equivalent: " + ", ".join(dict.fromkeys(self.unsupported))
            )
        if self.problems:
            raise ConfigError(self.problems)
        data = {
            "title": title or "Label Studio project",
            "kind": root_extra.get("kind", "labelstudio"),
            "guidelines": guidelines,
            "fields": fields,
            "questions": questions,
        }
        try:
            schema = Schema.from_dict(data, source="Label Studio config")
        except SchemaError as error:
            raise ConfigError(error.problems) from None
        xml = ET.tostring(self.root, encoding="unicode")
        return LabelConfig(xml, schema, field_tags, question_tags)

    def _extra(self, element: ET.Element) -> dict:
        text = element.get(EXTRA)
        if not text:
            return {}
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            self.problems.append(f"<{element.tag}> {element.get('name')!r}: bad {EXTRA} attribute")
            return {}
        return value if isinstance(value, dict) else {}

    def _common(self, name: str, title: str, help_text: str) -> dict:
        data: dict[str, Any] = {"name": name}
        if title:
            data["title"] = title
        if help_text:
            data["help"] = help_text
        return data

    def _field(self, ls_name: str, element: ET.Element, title: str):
        extra = self._extra(element)
        value = element.get("value", "")
        if not value.startswith("$") or len(value) < 2:
            self.problems.append(
                f'<{element.tag}> {ls_name!r} must read task data (value="$..."), not {value!r}'
            )
            return None
        name = self._name(ls_name, "field")
        data = self._common(name, title, extra.get("help", ""))
        tag = FieldTag(name, element.tag, ls_name, value[1:])
        if element.tag == "Text":
            made = {"type": "markdown" if extra.get("type") == "markdown" else "text", **data}
        elif element.tag == "HyperText":
            made = {"type": "markdown", **data}
        elif element.tag == "Paragraphs":
            made = {"type": "chat", **data}
            tag = FieldTag(
                name,
                "Paragraphs",
                ls_name,
                value[1:],
                element.get("nameKey", "author"),
                element.get("textKey", "text"),
            )
        else:
            made = {"type": "image", **data}
        return made, tag

    def _choices(self, element: ET.Element) -> tuple[list[str], dict[str, str]]:
        labels, values = [], {}
        for choice in element.iter("Choice"):
            label = choice.get("value")
            if label is None:
                continue
            labels.append(label)
            values[choice.get("alias") or label] = label
        return labels, values

    def _to_name(self, element: ET.Element, what: str) -> list[str]:
        names = [n.strip() for n in (element.get("toName") or "").split(",") if n.strip()]
        missing = [n for n in names if n not in self.objects]
        if not names or missing:
            self.problems.append(
                f"<{element.tag}> {element.get('name')!r}: toName {element.get('toName')!r} "
                f"names no {what}"
            )
        return names

    def _question(self, element, title, condition, by_ls, helpers):
        ls_name = element.get("name")
        tag = element.tag
        if not ls_name:
            self.problems.append(f"<{tag}> without a name")
            return None
        extra = self._extra(element)
        name = self._name(ls_name, "question")
        data = self._common(name, title, element.get("hint", ""))
        data["required"] = element.get("required", "false").lower() == "true"
        to_names = self._to_name(element, "object tag")
        if not to_names:
            return None
        to_name = ",".join(to_names)
        qtag = QuestionTag(name, tag, ls_name, to_name)
        where = f"<{tag}> {ls_name!r}"

        if condition is not None or element.get("visibleWhen"):
            holder = element if element.get("visibleWhen") else condition
            when = self._when(holder, where)
            if when is not None:
                data["when"] = when

        if element.get("perRegion", "").lower() == "true" or element.get("perItem"):
            self.unsupported.append(f"{where} (per region)")
            return None
        if tag == "Choices":
            if element.get("value"):
                self.unsupported.append(f"{where} (choices from task data)")
                return None
            labels, values = self._choices(element)
            qtag = QuestionTag(name, tag, ls_name, to_name, values=values)
            if extra.get("type") == "preference":
                strength = by_ls.get(ls_name + STRENGTH) if ls_name + STRENGTH in helpers else None
                made = {
                    "type": "preference",
                    **data,
                    "options": [self.names.get(o, o) for o in extra.get("options", [])],
                    "allow_tie": bool(extra.get("allow_tie", TIE in labels)),
                    "strengths": self._choices(strength)[0] if strength is not None else [],
                }
                qtag = QuestionTag(
                    name,
                    tag,
                    ls_name,
                    to_name,
                    strength=ls_name + STRENGTH if strength is not None else None,
                    values=values,
                )
            elif element.get("choice", "single") == "multiple":
                made = {
                    "type": "multi_label",
                    **data,
                    "labels": labels,
                    "min_selected": extra.get("min_selected", 0),
                    "max_selected": extra.get("max_selected"),
                }
            else:
                made = {"type": "label", **data, "labels": labels}
        elif tag == "Pairwise":
            if len(to_names) != 2:
                self.problems.append(f"{where} must compare exactly two object tags")
                return None
            strength = by_ls.get(ls_name + STRENGTH) if ls_name + STRENGTH in helpers else None
            helper = self._choices(strength)[0] if strength is not None else []
            made = {
                "type": "preference",
                **data,
                "options": [self.names[n] for n in to_names],
                "allow_tie": TIE in helper,
                "strengths": [h for h in helper if h != TIE],
            }
            qtag = QuestionTag(
                name,
                tag,
                ls_name,
                to_name,
                strength=ls_name + STRENGTH if strength is not None else None,
            )
        elif tag == "Rating":
            made = {
                "type": "rating",
                **data,
                "min": 1,
                "max": _int(element.get("maxRating", "5")),
                "low_label": extra.get("low_label", ""),
                "high_label": extra.get("high_label", ""),
            }
        elif tag == "Number":
            low, high = element.get("min"), element.get("max")
            if low is None or high is None:
                self.problems.append(f"{where} needs min and max to be a rating scale")
                return None
            made = {
                "type": "rating",
                **data,
                "min": _int(low),
                "max": _int(high),
                "step": _int(element.get("step", "1")),
                "low_label": extra.get("low_label", ""),
                "high_label": extra.get("high_label", ""),
            }
        elif tag == "Ranker":
            if list(element.iter("Bucket")) or not extra.get("options"):
                self.unsupported.append(f"{where} (ranks per-task lists or buckets)")
                return None
            made = {"type": "ranking", **data, "options": extra["options"]}
            qtag = QuestionTag(name, tag, ls_name, to_name, items=to_name)
        elif tag == "TextArea":
            made = {
                "type": "text",
                **data,
                "placeholder": element.get("placeholder", ""),
                "max_length": extra.get("max_length", 10_000),
            }
        elif tag == "Labels":
            target = self.objects[to_names[0]][0]
            if len(to_names) != 1 or target.tag != "Text":
                self.unsupported.append(f"{where} (spans on <{target.tag}>, not <Text>)")
                return None
            severity = by_ls.get(ls_name + SEVERITY) if ls_name + SEVERITY in helpers else None
            labels = [label.get("value") for label in element.iter("Label") if label.get("value")]
            made = {
                "type": "spans",
                **data,
                "field": self.names[to_names[0]],
                "labels": labels,
                "severities": self._choices(severity)[0] if severity is not None else [],
            }
            qtag = QuestionTag(
                name,
                tag,
                ls_name,
                to_name,
                severity=ls_name + SEVERITY if severity is not None else None,
            )
        elif tag == "Taxonomy":
            if element.get("apiUrl"):
                self.unsupported.append(f"{where} (loaded from apiUrl)")
                return None
            categories = []
            self._taxonomy_paths(element, [], categories, where)
            made = {
                "type": "taxonomy",
                **data,
                "categories": categories,
                "multiple": element.get("maxUsages") != "1",
            }
        else:  # pragma: no cover - CONTROL_TAGS are all handled
            return None
        return made, qtag

    def _taxonomy_paths(self, element, prefix, out, where) -> None:
        for choice in element:
            if choice.tag != "Choice":
                continue
            value = choice.get("alias") or choice.get("value") or ""
            if "/" in value:
                self.problems.append(f"{where}: category {value!r} contains '/'")
                continue
            path = [*prefix, value]
            if any(c.tag == "Choice" for c in choice):
                self._taxonomy_paths(choice, path, out, where)
            else:
                out.append("/".join(path))

    def _when(self, holder: ET.Element, where: str) -> dict | None:
        kind = holder.get("visibleWhen")
        parent = holder.get("whenTagName")
        if kind != "choice-selected" or not parent:
            self.unsupported.append(f"{where} (visibleWhen={kind!r})")
            return None
        if parent not in self.names:
            self.problems.append(f"{where}: visibleWhen names {parent!r}, not an earlier question")
            return None
        values = [v for v in (holder.get("whenChoiceValue") or "").split(",") if v]
        if not values:
            element = next((c for c, _, _ in self.controls if c.get("name") == parent), None)
            values = self._choices(element)[0] if element is not None else []
        if len(values) == 1 and not self._extra(holder).get("any_of"):
            return {"question": self.names[parent], "equals": values[0]}
        return {"question": self.names[parent], "any_of": values}


def _int(text: str) -> int:
    try:
        return int(float(text))
    except ValueError:
        raise ConfigError([f"{text!r} is not a number"]) from None


# ---------------------------------------------------------------------------- images


def image_uri(value: Any) -> str:
    """An item's image as something an <Image> tag shows: the URL, or a data: URI."""
    if isinstance(value, dict) and "bytes_b64" in value:
        raw = base64.b64decode(value["bytes_b64"])
        return f"data:{_mime(raw)};base64,{value['bytes_b64']}"
    if isinstance(value, str) and value.startswith(("http://", "https://", "data:")):
        return value
    from pathlib import Path

    path = Path(str(value))
    try:
        raw = path.read_bytes()
    except OSError:
        raise LabelkitError(f"image file not found: {path}") from None
    return f"data:{_mime(raw)};base64,{base64.b64encode(raw).decode('ascii')}"


def _mime(raw: bytes) -> str:
    for magic, mime in (
        (b"\x89PNG", "image/png"),
        (b"\xff\xd8\xff", "image/jpeg"),
        (b"GIF8", "image/gif"),
        (b"RIFF", "image/webp"),
    ):
        if raw.startswith(magic):
            return mime
    return "image/png"  # never image/svg+xml: an SVG can carry script
