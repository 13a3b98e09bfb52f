"""What the browser receives: the task description and one item, safe to show.

Dataset text is hostile. Plain text travels as text (the browser sets it with textContent);
markdown becomes HTML here, with raw HTML disabled and then sanitized by nh3 (ammonia), so the
only HTML the browser ever inserts has passed an allow-list. Gold answers never enter a payload;
an item's metadata only enters the review app's (`metadata_payload`), never an annotator's.
"""

from __future__ import annotations

import base64
import json
import mimetypes
from functools import lru_cache
from pathlib import Path

import nh3

from labelkit.schema import PreferenceQuestion, Schema
from labelkit.store import Item

MAX_IMAGE_BYTES = 20 * 1024 * 1024
MAX_TEXT_CHARS = 200_000  # longer texts are cut, with a note, so a hostile item cannot hang a tab
MAX_METADATA_CHARS = 2_000  # per value: metadata is context for a reviewer, not the item
MAX_METADATA_ENTRIES = 100

SAFE_TAGS = {
    "p", "br", "hr", "em", "strong", "b", "i", "s", "del", "code", "pre", "blockquote",
    "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6", "a", "table", "thead", "tbody",
    "tr", "th", "td", "sup", "sub",
}  # fmt: skip
SAFE_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}, "th": {"align"}, "td": {"align"}}


@lru_cache(maxsize=1)
def _markdown():
    from markdown_it import MarkdownIt

    # "js-default": CommonMark with tables and strikethrough, raw HTML off, unsafe links refused.
    return MarkdownIt("js-default", {"linkify": False, "typographer": False})


def markdown_html(text: str) -> str:
    """Markdown to HTML that is safe to insert (allow-listed tags, http(s)/mailto links only)."""
    html = _markdown().render(_cut(text))
    return nh3.clean(
        html,
        tags=SAFE_TAGS,
        attributes=SAFE_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
        set_tag_attribute_values={"a": {"target": "_blank"}},
    )


def _cut(text: str) -> str:
    if len(text) <= MAX_TEXT_CHARS:
        return text
    return text[:MAX_TEXT_CHARS] + f"\n\n[… cut: {len(text) - MAX_TEXT_CHARS} more characters]"


def task_payload(schema: Schema, annotator: str) -> dict:
    """The task as the browser needs it: fields, questions (as the protocol describes)."""
    compare = None
    questions = []
    for q in schema.questions:
        spec = q.model_dump(mode="json", exclude={"when"})
        spec["label"] = q.label
        spec["when"] = None
        if q.when is not None:
            values = [q.when.equals] if q.when.any_of is None else q.when.any_of
            spec["when"] = {"question": q.when.question, "values": values}
        if q.type == "rating":
            spec["slider"] = q.is_slider
        if q.type == "taxonomy":
            spec["paths"] = q.paths
        if isinstance(q, PreferenceQuestion):
            spec["option_labels"] = [chr(ord("A") + i) for i in range(len(q.options))]
            if compare is None and len(q.options) == 2:
                compare = list(q.options)
        questions.append(spec)
    return {
        "title": schema.title,
        "kind": schema.kind,
        "guidelines_html": markdown_html(schema.guidelines) if schema.guidelines else "",
        "fields": [{"name": f.name, "type": f.type, "label": f.label} for f in schema.fields],
        "questions": questions,
        "compare": compare,
        "annotator": annotator,
    }


def field_payload(field_type: str, value) -> dict:
    if field_type == "text":
        return {"text": _cut(value)}
    if field_type == "markdown":
        return {"html": markdown_html(value), "text": _cut(value)}
    if field_type == "chat":
        return {
            "messages": [
                {"role": str(m.get("role", "")), "text": _cut(str(m.get("content", "")))}
                for m in value
            ]
        }
    return _image_payload(value)


def metadata_payload(metadata: dict | None) -> list[dict]:
    """An item's metadata for reviewers and admins (the review app): [{name, value}] by name,
    every value as text (JSON for anything but text) the page sets with textContent."""
    entries = []
    for name in sorted(metadata or {}, key=str)[:MAX_METADATA_ENTRIES]:
        value = metadata[name]
        if not isinstance(value, str):
            value = json.dumps(value, ensure_ascii=False, default=str)
        if len(value) > MAX_METADATA_CHARS:
            value = value[:MAX_METADATA_CHARS] + f"… [{len(value) - MAX_METADATA_CHARS} more]"
        entries.append({"name": str(name), "value": value})
    return entries


def _image_payload(value) -> dict:
    """Images travel as raw bytes (a binary buffer, not base64); URLs only if http(s).
    An image that cannot be sent is {"missing": why} with `why` a code the page says in the
    annotator's language ("not_found", "too_large" with "mb")."""
    if isinstance(value, dict) and "bytes_b64" in value:
        data = base64.b64decode(value["bytes_b64"])
        return {"bytes": data, "mime": _sniff_mime(data)}
    if isinstance(value, str) and value.startswith(("https://", "http://")):
        return {"url": value}
    path = Path(str(value))
    try:
        size = path.stat().st_size
        if size > MAX_IMAGE_BYTES:
            return {"missing": "too_large", "mb": size // 1_000_000}
        data = path.read_bytes()
    except OSError:
        return {"missing": "not_found"}
    return {"bytes": data, "mime": _sniff_mime(data, path.name)}


def _sniff_mime(data: bytes, name: str = "") -> str:
    signatures = {
        b"\x89PNG": "image/png",
        b"\xff\xd8\xff": "image/jpeg",
        b"GIF8": "image/gif",
        b"RIFF": "image/webp",
    }
    for magic, mime in signatures.items():
        if data.startswith(magic):
            return mime
    # Never image/svg+xml from a file name: an SVG can carry script.
    guessed = mimetypes.guess_type(name)[0] or ""
    return guessed if guessed.startswith("image/") and "svg" not in guessed else "image/png"


def item_payload(
    schema: Schema, item: Item, token: str, answer: dict | None, editing: bool
) -> dict:
    """One item for the browser: safe fields, the pre-filled answer, no gold, no metadata."""
    fields = {f.name: field_payload(f.type, item.data.get(f.name)) for f in schema.fields}
    suggested: list[str] = []
    if answer is None:
        answer = dict(item.suggestions or {})
        suggested = list(answer)
    return {
        "token": token,
        "fields": fields,
        "answer": answer,
        "suggested": suggested,
        "sensitive": bool(item.sensitive),
        "warnings": [str(w) for w in item.warnings or ()],  # content-warning categories
        "language": item.language,  # the text's language (the page marks it, for screen readers)
        "editing": editing,
    }
