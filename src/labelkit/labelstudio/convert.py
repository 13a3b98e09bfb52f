"""Answers <-> Label Studio results, for a `LabelConfig` (see config.py for the shapes).

`answer_to_result` writes the result regions of a valid labelkit answer. `result_to_answer`
reads regions back into an answer *without* trusting them: it raises `ResultError` for shapes it
cannot read, and the caller still validates the answer against the schema (Label Studio does not
check results against the config).

Span offsets: labelkit counts characters (code points); Label Studio counts UTF-16 code units
(JavaScript string offsets). They differ after any character outside the BMP (most emoji), so
offsets are converted with the item's text both ways.
"""

from __future__ import annotations

from typing import Any

from labelkit.errors import LabelkitError
from labelkit.labelstudio.config import TIE, LabelConfig
from labelkit.schema import (
    LabelQuestion,
    MultiLabelQuestion,
    PreferenceQuestion,
    RankingQuestion,
    RatingQuestion,
    SpanQuestion,
    TaxonomyQuestion,
    TextQuestion,
)


class ResultError(LabelkitError):
    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("unreadable result: " + "; ".join(problems))


# ---------------------------------------------------------------------------- offsets


def py_to_js(text: str, index: int) -> int:
    """A code point offset as a UTF-16 offset."""
    return index + sum(1 for ch in text[:index] if ord(ch) > 0xFFFF)


def js_to_py(text: str, offset: int) -> int | None:
    """A UTF-16 offset as a code point offset (None when it falls inside a surrogate pair)."""
    units = 0
    for i, ch in enumerate(text):
        if units == offset:
            return i
        if units > offset:
            return None
        units += 2 if ord(ch) > 0xFFFF else 1
    return len(text) if units == offset else None


# ---------------------------------------------------------------------------- answer -> result


def answer_to_result(config: LabelConfig, answer: dict, item_data: dict) -> list[dict]:
    """The result regions of a (validated) labelkit answer."""
    schema = config.schema
    first_object = config.fields[schema.fields[0].name].name
    result: list[dict] = []
    for q in schema.questions:
        if q.name not in answer:
            continue
        value = answer[q.name]
        tag = config.questions[q.name]
        alias = {label: value for value, label in tag.values.items()}

        def region(kind: str, content: dict, *, to_name: str | None = None, tag=tag) -> dict:
            to_name = to_name or tag.to_name
            return {"from_name": tag.name, "to_name": to_name, "type": kind, "value": content}

        if isinstance(q, LabelQuestion):
            result.append(region("choices", {"choices": [alias.get(value, value)]}))
        elif isinstance(q, MultiLabelQuestion):
            result.append(region("choices", {"choices": [alias.get(v, v) for v in value]}))
        elif isinstance(q, RatingQuestion):
            kind = "rating" if tag.tag == "Rating" else "number"
            result.append(region(kind, {kind: value}))
        elif isinstance(q, PreferenceQuestion):
            choice, strength = value["choice"], value.get("strength")
            if tag.tag == "Pairwise":
                if choice != TIE:
                    side = "left" if choice == q.options[0] else "right"
                    result.append(region("pairwise", {"selected": side}, to_name=tag.name))
            else:
                result.append(region("choices", {"choices": [alias.get(choice, choice)]}))
            helper = TIE if tag.tag == "Pairwise" and choice == TIE else strength
            if helper is not None and tag.strength:
                result.append(
                    {
                        "from_name": tag.strength,
                        "to_name": first_object,
                        "type": "choices",
                        "value": {"choices": [helper]},
                    }
                )
        elif isinstance(q, RankingQuestion):
            result.append(region("ranker", {"ranker": {tag.name: list(value)}}))
        elif isinstance(q, TextQuestion):
            result.append(region("textarea", {"text": [value]}))
        elif isinstance(q, SpanQuestion):
            text = item_data.get(q.field) or ""
            for i, span in enumerate(value):
                start, end = py_to_js(text, span["start"]), py_to_js(text, span["end"])
                where = {"start": start, "end": end, "text": text[span["start"] : span["end"]]}
                rid = f"{tag.name}-{i}"
                result.append({"id": rid, **region("labels", {**where, "labels": [span["label"]]})})
                if span.get("severity") is not None and tag.severity:
                    result.append(
                        {
                            "id": rid,
                            "from_name": tag.severity,
                            "to_name": tag.to_name,
                            "type": "choices",
                            "value": {**where, "choices": [span["severity"]]},
                        }
                    )
        elif isinstance(q, TaxonomyQuestion):
            paths = value if q.multiple else [value]
            result.append(region("taxonomy", {"taxonomy": [p.split("/") for p in paths]}))
    return result


# ---------------------------------------------------------------------------- result -> answer


def result_to_answer(config: LabelConfig, result: Any, item_data: dict) -> dict:
    """The labelkit answer in Label Studio result regions (not yet validated)."""
    if not isinstance(result, list):
        raise ResultError([f"result must be a list of regions, got {type(result).__name__}"])
    schema = config.schema
    controls = config.controls
    problems: list[str] = []
    by_question: dict[str, dict[str, list[dict]]] = {}
    for i, region in enumerate(result):
        if not isinstance(region, dict) or not isinstance(region.get("value"), dict):
            problems.append(f"region {i} is not an object with a value")
            continue
        name = region.get("from_name")
        if name not in controls:
            problems.append(f"region {i} is for {name!r}, not a control of the config")
            continue
        tag, role = controls[name]
        by_question.setdefault(tag.question, {}).setdefault(role, []).append(region)

    answer: dict[str, Any] = {}
    for q in schema.questions:
        regions = by_question.get(q.name, {})
        tag = config.questions[q.name]
        main = regions.get("main", [])
        try:
            if isinstance(q, SpanQuestion):
                answer[q.name] = _spans(q, tag, main, regions.get("severity", []), item_data)
                continue
            if not main and not regions:
                continue
            if isinstance(q, PreferenceQuestion):
                value = _preference(q, tag, main, regions.get("strength", []))
                if value is not None:
                    answer[q.name] = value
                continue
            if len(main) != 1:
                raise ResultError([f"{len(main)} regions, expected one"])
            content = main[0]["value"]
            if isinstance(q, LabelQuestion | MultiLabelQuestion):
                chosen = [tag.values.get(c, c) for c in _list(content, "choices")]
                if isinstance(q, LabelQuestion):
                    if len(chosen) != 1:
                        raise ResultError([f"{len(chosen)} choices, expected one"])
                    answer[q.name] = chosen[0]
                else:
                    answer[q.name] = chosen
            elif isinstance(q, RatingQuestion):
                key = "rating" if tag.tag == "Rating" else "number"
                if key not in content:
                    raise ResultError([f"no {key!r} in {content!r}"])
                answer[q.name] = content[key]
            elif isinstance(q, RankingQuestion):
                ranker = content.get("ranker")
                if not isinstance(ranker, dict) or len(ranker) != 1:
                    raise ResultError([f"expected one ranked list, got {ranker!r}"])
                answer[q.name] = next(iter(ranker.values()))
            elif isinstance(q, TextQuestion):
                texts = _list(content, "text")
                answer[q.name] = "\n".join(str(t) for t in texts)
            elif isinstance(q, TaxonomyQuestion):
                paths = []
                for path in _list(content, "taxonomy"):
                    if not isinstance(path, list) or not all(isinstance(p, str) for p in path):
                        raise ResultError([f"taxonomy path {path!r} is not a list of names"])
                    paths.append("/".join(path))
                if q.multiple:
                    answer[q.name] = paths
                elif len(paths) == 1:
                    answer[q.name] = paths[0]
                else:
                    raise ResultError([f"{len(paths)} categories, expected one"])
        except ResultError as exc:
            problems.extend(f"question {q.name!r}: {p}" for p in exc.problems)
    if problems:
        raise ResultError(problems)
    # A span question that is asked and has no region was answered "no span".
    for q in schema.questions:
        if isinstance(q, SpanQuestion) and q.name not in answer and schema.asked(q, answer):
            answer[q.name] = []
    return answer


def _list(content: dict, key: str) -> list:
    value = content.get(key)
    if not isinstance(value, list):
        raise ResultError([f"expected a list in {key!r}, got {value!r}"])
    return value


def _preference(q: PreferenceQuestion, tag, main: list[dict], strength: list[dict]):
    helper = None
    if strength:
        chosen = _list(strength[0]["value"], "choices")
        helper = chosen[0] if len(chosen) == 1 else None
    if tag.tag == "Pairwise":
        if helper == TIE:
            return {"choice": TIE, "strength": None}
        if not main:
            if helper is None:
                return None
            raise ResultError(["a strength without a choice"])
        selected = main[0]["value"].get("selected")
        if selected not in ("left", "right"):
            raise ResultError([f"selected {selected!r}, expected 'left' or 'right'"])
        choice = q.options[0] if selected == "left" else q.options[1]
        return {"choice": choice, "strength": helper}
    if not main:
        raise ResultError(["a strength without a choice"])
    chosen = [tag.values.get(c, c) for c in _list(main[0]["value"], "choices")]
    if len(chosen) != 1:
        raise ResultError([f"{len(chosen)} choices, expected one"])
    return {"choice": chosen[0], "strength": helper}


def _spans(q: SpanQuestion, tag, labels: list[dict], severities: list[dict], item_data: dict):
    text = item_data.get(q.field)
    if not isinstance(text, str):
        text = ""
    by_id: dict[Any, str] = {}
    by_place: dict[tuple, str] = {}
    for region in severities:
        chosen = _list(region["value"], "choices")
        if len(chosen) != 1:
            raise ResultError([f"{len(chosen)} severities for one span, expected one"])
        if region.get("id") is not None:
            by_id[region["id"]] = chosen[0]
        by_place[(region["value"].get("start"), region["value"].get("end"))] = chosen[0]
    spans = []
    for region in labels:
        content = region["value"]
        start, end = content.get("start"), content.get("end")
        if not all(isinstance(x, int) and not isinstance(x, bool) for x in (start, end)):
            raise ResultError([f"span offsets {start!r}-{end!r} are not character offsets"])
        py_start, py_end = js_to_py(text, start), js_to_py(text, end)
        if py_start is None or py_end is None:
            raise ResultError([f"span {start}-{end} is outside the text or splits a character"])
        severity = by_id.get(region.get("id"), by_place.get((start, end)))
        for label in _list(content, "labels"):
            spans.append({"start": py_start, "end": py_end, "label": label, "severity": severity})
    return spans
