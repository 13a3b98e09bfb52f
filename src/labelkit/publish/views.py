"""The published shapes of a project's labels ("views"), each a stream of typed rows.

A view has explicit `features` and a `rows()` generator over the store (one item in memory at a
time); `build_dataset` turns it into a `datasets.Dataset` / `DatasetDict`, `publish` writes it
as parquet shards. Views:

- raw: one row per item, its fields, every current annotation, and per question the lists of
  answers, annotators and statuses (Argilla style ``<q>.responses``) to re-aggregate from.
- consensus: one row per item, one typed column per question with its confidence.
- preference: TRL ``prompt`` / ``chosen`` / ``rejected``, per answer or per item (consensus).
- ratings: HelpSteer style, one integer column per rating question; 0–100 scores also
  z-normalised per annotator, and error spans scored MQM style (translation).
"""

from __future__ import annotations

import importlib.util
import statistics
from array import array
from collections import defaultdict
from collections.abc import Iterator
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np
from datasets import ClassLabel, Features, Json, List, Value

from labelkit.errors import LabelkitError
from labelkit.publish.encode import RawJSON
from labelkit.publish.features import (
    MESSAGES,
    STRING,
    answer_feature,
    field_feature,
    field_value,
    messages,
)
from labelkit.publish.rows import Filters, ItemRecord, count_items, item_records
from labelkit.quality.translation import annotator_norms, error_score, z_score
from labelkit.schema import PreferenceQuestion, RatingQuestion, Schema, SpanQuestion, TextQuestion

if TYPE_CHECKING:
    from labelkit.project import Project

VIEWS = ("raw", "consensus", "preference", "ratings")
NO_FILTERS = Filters()  # gold items and rejected answers left out


class View:
    name = ""
    record_hook = None

    def __init__(self, project: Project, filters: Filters = NO_FILTERS):
        self.project = project
        self.schema: Schema = project.schema
        self.filters = filters
        self.features = Features(self._features())

    def _features(self) -> dict:
        raise NotImplementedError

    def rows(self) -> Iterator[dict]:
        raise NotImplementedError

    def estimated_rows(self) -> int | None:
        """For the progress bar: rows when one per item."""
        return count_items(self.project.store, self.filters)

    def items(self) -> Iterator[ItemRecord]:
        # A hook set by the caller sees each record of the next pass once (publish counts the
        # card's figures this way instead of reading the store again).
        hook, self.record_hook = self.record_hook, None
        for record in item_records(self.project.store, self.filters):
            if hook is not None:
                hook(record)
            yield record

    def _item_columns(self) -> dict:
        return {"item_id": STRING} | {f.name: field_feature(f) for f in self.schema.fields}

    def _item_values(self, record: ItemRecord) -> dict:
        return {"item_id": record.key} | {
            f.name: field_value(f, record.data.get(f.name)) for f in self.schema.fields
        }

    def describe(self) -> str:
        """One sentence for the dataset card."""
        return " ".join((self.__doc__ or "").split())


# ---------------------------------------------------------------------------- raw


ANNOTATION = {
    "annotator": STRING,
    "status": STRING,
    "version": Value("int64"),
    "answer": Json(),
    "comment": STRING,
    "duration_ms": Value("int64"),
    "created_at": Value("timestamp[us, tz=UTC]"),
}


class RawView(View):
    """One row per item: its fields, every annotator's current answer with status and timing,
    and per question the lists of answers, annotators and statuses."""

    name = "raw"

    def _features(self) -> dict:
        columns = self._item_columns() | {
            "language": STRING,
            "level": Value("int64"),
            "annotations": List(ANNOTATION),
        }
        for q in self.schema.questions:
            columns[f"{q.name}.responses"] = List(answer_feature(q))
            columns[f"{q.name}.responses.users"] = List(STRING)
            columns[f"{q.name}.responses.status"] = List(STRING)
        if self.filters.include_gold:
            columns |= {"gold": Json(), "gold_explanation": STRING}
        return columns

    def rows(self) -> Iterator[dict]:
        for record in self.items():
            row = self._item_values(record) | {
                "language": record.language,
                "level": record.level,
                "annotations": [_published(a) for a in record.annotations],
            }
            for q in self.schema.questions:
                given = [
                    a for a in record.annotations if (a["answer"] or {}).get(q.name) is not None
                ]
                row[f"{q.name}.responses"] = [a["answer"][q.name] for a in given]
                row[f"{q.name}.responses.users"] = [a["annotator"] for a in given]
                row[f"{q.name}.responses.status"] = [a["status"] for a in given]
            if self.filters.include_gold:
                row["gold"] = record.gold and record.gold["answer"]
                row["gold_explanation"] = record.gold and record.gold["explanation"]
            yield row


def _published(annotation: dict) -> dict:
    published = {name: annotation[name] for name in ANNOTATION}  # not the store's own id
    if annotation["answer_json"] is not None:  # copied as stored, not encoded again
        published["answer"] = RawJSON(annotation["answer_json"])
    return published


# ---------------------------------------------------------------------------- consensus


class ConsensusView(View):
    """One row per item: per question the consensus answer (typed) and its confidence (0–1)."""

    name = "consensus"

    def __init__(self, project: Project, filters: Filters = NO_FILTERS, method: str = "majority"):
        self.method = method
        super().__init__(project, filters)

    def questions(self):
        # Free text has no consensus worth publishing; its answers are in the raw view.
        return [q for q in self.schema.questions if not isinstance(q, TextQuestion)]

    def _features(self) -> dict:
        columns = self._item_columns()
        for q in self.questions():
            columns[q.name] = answer_feature(q)
            columns[f"{q.name}_confidence"] = Value("float64")
            columns[f"{q.name}_n"] = Value("int64")
        return columns

    def rows(self) -> Iterator[dict]:
        by_item = consensus_by_item(self, self.method)
        for record in self.items():
            row = self._item_values(record)
            found = by_item.get(record.key, {})
            for q in self.questions():
                value, confidence, n = found.get(q.name, (None, None, 0))
                row[q.name] = _typed(q, value)
                row[f"{q.name}_confidence"] = confidence
                row[f"{q.name}_n"] = n
            yield row

    def describe(self) -> str:
        return f"{super().describe()} Method: {self.method}."


# The columns of Project.annotations(), the table labelkit.quality.consensus reads.
ANSWER_COLUMNS = ["id", "item", "item_id", "annotator", "version", "status", "answer"]
ANSWER_COLUMNS += ["comment", "duration_ms", "created_at", "current"]


def consensus_by_item(view: View, method: str) -> dict[str, dict[str, tuple]]:
    """{item key: {question: (value, confidence, n)}} from labelkit.quality.consensus over the
    view's submitted answers (gold and rejected answers already filtered out)."""
    import pandas as pd

    try:
        from labelkit.quality import consensus
    except ImportError:
        raise LabelkitError(
            "the consensus views need labelkit.quality (not installed in this version)"
        ) from None
    answers = pd.DataFrame(
        [
            {"item": record.key, "item_id": record.id, "current": True} | a
            for record in view.items()
            for a in record.submitted()
        ],
        columns=ANSWER_COLUMNS,
    )
    by_item: dict[str, dict[str, tuple]] = defaultdict(dict)
    if not answers.empty:
        table = consensus(answers, view.schema, method=method)
        for row in table.itertuples(index=False):
            confidence = None if pd.isna(row.confidence) else float(row.confidence)
            by_item[str(row.item)][row.question] = (row.value, confidence, int(row.n))
    # A resolved escalation's final answer is the item's consensus (labelkit.review).
    from labelkit.review.consensus import resolved_by_key

    for key, answer in resolved_by_key(view.project.store).items():
        n = max((found[2] for found in by_item.get(key, {}).values()), default=0)
        by_item[key] = {q: (value, confidence, n) for q, (value, confidence) in answer.items()}
    return by_item


def _typed(question, value: Any) -> Any:
    if value is None or (isinstance(value, float) and value != value):  # NaN: no consensus
        return None
    if isinstance(question, RatingQuestion):
        return round(float(value))
    return value


# ---------------------------------------------------------------------------- preference


class PreferenceView(View):
    """TRL preference pairs: prompt, chosen, rejected (conversational when the prompt is a
    chat), with the strength of the preference; ties dropped unless kept."""

    name = "preference"

    def __init__(
        self,
        project: Project,
        filters: Filters = NO_FILTERS,
        *,
        per: str = "answer",
        keep_ties: bool = False,
        method: str = "majority",
        question: str | None = None,
    ):
        schema = project.schema
        candidates = [q for q in schema.questions if isinstance(q, PreferenceQuestion)]
        if question is not None:
            candidates = [q for q in candidates if q.name == question]
        if not candidates:
            raise LabelkitError(
                f"the preference view needs a preference question; {schema.kind!r} has "
                f"{[q.name for q in schema.questions]}"
            )
        if per not in ("answer", "item"):
            raise LabelkitError(f"per must be 'answer' or 'item', not {per!r}")
        self.question: PreferenceQuestion = candidates[0]
        self.per, self.keep_ties, self.method = per, keep_ties, method
        prompts = [
            f
            for f in schema.fields
            if f.name not in self.question.options and f.type in ("chat", "text", "markdown")
        ]
        if not prompts:
            raise LabelkitError("the preference view needs a prompt field besides the options")
        self.prompt = next((f for f in prompts if f.type == "chat"), prompts[0])
        compared = [schema.field(name) for name in self.question.options]
        self.conversational = any(f.type == "chat" for f in [self.prompt, *compared])
        super().__init__(project, filters)

    def _features(self) -> dict:
        text = MESSAGES if self.conversational else STRING
        options = ClassLabel(names=self.question.options)
        strength = answer_feature(self.question)["strength"]
        columns = {"item_id": STRING, "prompt": text, "chosen": text, "rejected": text}
        columns |= {"chosen_option": options, "rejected_option": options, "strength": strength}
        columns["tie"] = Value("bool")
        if self.per == "answer":
            return columns | {"annotator": STRING}
        return columns | {"confidence": Value("float64"), "n": Value("int64")}

    def rows(self) -> Iterator[dict]:
        if self.per == "answer":
            for record in self.items():
                for a in record.submitted():
                    value = (a["answer"] or {}).get(self.question.name)
                    yield from self._pairs(record, value, {"annotator": a["annotator"]})
            return
        by_item = consensus_by_item(self, self.method)
        for record in self.items():
            found = by_item.get(record.key, {}).get(self.question.name)
            if found is not None:
                value, confidence, n = found
                yield from self._pairs(record, value, {"confidence": confidence, "n": n})

    def _pairs(self, record: ItemRecord, value: dict | None, extra: dict) -> Iterator[dict]:
        if not value or not value.get("choice"):
            return
        choice, options = value["choice"], self.question.options
        if choice == "tie":
            if not self.keep_ties:
                return
            pairs = [(a, b) for i, a in enumerate(options) for b in options[i + 1 :]]
        else:
            pairs = [(choice, other) for other in options if other != choice]
        prompt = self._text(self.prompt, record.data[self.prompt.name], role="user")
        for chosen, rejected in pairs:
            yield {
                "item_id": record.key,
                "prompt": prompt,
                "chosen": self._text(self.schema.field(chosen), record.data[chosen]),
                "rejected": self._text(self.schema.field(rejected), record.data[rejected]),
                "chosen_option": chosen,
                "rejected_option": rejected,
                "strength": value.get("strength"),
                "tie": choice == "tie",
            } | extra

    def _text(self, field, value, role: str = "assistant"):
        if field.type == "chat":
            return messages(value)
        return [{"role": role, "content": value}] if self.conversational else value

    def estimated_rows(self) -> int | None:
        return None if self.per == "answer" else super().estimated_rows()

    def describe(self) -> str:
        how = "one row per annotator's answer" if self.per == "answer" else "one row per item"
        ties = "ties kept (tie=True)" if self.keep_ties else "ties dropped"
        return f"{super().describe()} Question {self.question.name!r}, {how}, {ties}."


# ---------------------------------------------------------------------------- ratings


class RatingsView(View):
    """HelpSteer style: one integer column per rating question (the annotators' median, or
    each answer); 0–100 scores also z-normalised per annotator; error spans scored MQM style."""

    name = "ratings"

    def __init__(self, project: Project, filters: Filters = NO_FILTERS, *, per: str = "item"):
        self.ratings = [q for q in project.schema.questions if isinstance(q, RatingQuestion)]
        if not self.ratings:
            raise LabelkitError(
                f"the ratings view needs rating questions; {project.schema.kind!r} has none"
            )
        if per not in ("answer", "item"):
            raise LabelkitError(f"per must be 'answer' or 'item', not {per!r}")
        self.per = per
        self.scores = [q for q in self.ratings if q.is_slider]  # 0-100 style: z-normalised
        self.spans = [
            q for q in project.schema.questions if isinstance(q, SpanQuestion) and q.severities
        ]
        super().__init__(project, filters)

    def _features(self) -> dict:
        columns = self._item_columns()
        number = Value("float64") if self.per == "item" else None
        for q in self.ratings:
            columns[q.name] = Value("int64")
        for q in self.scores:
            columns[f"{q.name}_z"] = Value("float64")
        for q in self.spans:
            columns[f"{q.name}_score"] = number or Value("int64")
        if self.per == "answer":
            return columns | {"annotator": STRING}
        return columns | {"n_annotators": Value("int64")}

    def rows(self) -> Iterator[dict]:
        norms = self._annotator_norms() if self.scores else {}
        for record in self.items():
            answers = [a for a in record.submitted() if a["answer"]]
            per_answer = [self._answer_values(a, norms) for a in answers]
            base = self._item_values(record)
            if self.per == "answer":
                for a, values in zip(answers, per_answer, strict=True):
                    yield base | values | {"annotator": a["annotator"]}
                continue
            row = base | {"n_annotators": len(answers)}
            for name in self._columns_from_answers():
                found = [v[name] for v in per_answer if v.get(name) is not None]
                if name in self._integer_columns():
                    row[name] = statistics.median_low(found) if found else None
                else:
                    row[name] = statistics.fmean(found) if found else None
            yield row

    def _integer_columns(self) -> set[str]:
        return {q.name for q in self.ratings}

    def _columns_from_answers(self) -> list[str]:
        return (
            [q.name for q in self.ratings]
            + [f"{q.name}_z" for q in self.scores]
            + [f"{q.name}_score" for q in self.spans]
        )

    def _answer_values(self, annotation: dict, norms: dict) -> dict:
        answer, values = annotation["answer"], {}
        for q in self.ratings:
            values[q.name] = answer.get(q.name)
        for q in self.scores:
            value, norm = answer.get(q.name), norms.get((annotation["annotator"], q.name))
            values[f"{q.name}_z"] = None if value is None or norm is None else norm(value)
        for q in self.spans:
            spans = answer.get(q.name)
            values[f"{q.name}_score"] = None if spans is None else round(error_score(spans))
        return values

    def _annotator_norms(self) -> dict:
        """(annotator, question) -> z-normaliser, from all of the annotator's exported scores
        (the arithmetic is labelkit.quality.translation's, as for project.system_scores)."""
        import pandas as pd

        scores: dict[str, tuple[list[str], array]] = {q.name: ([], array("d")) for q in self.scores}
        for record in self.items():  # compact columns: a million scores stay a few MB
            for a in record.submitted():
                for name, (annotators, values) in scores.items():
                    value = (a["answer"] or {}).get(name)
                    if value is not None:
                        annotators.append(a["annotator"])
                        values.append(value)
        norms = {}
        for name, (annotators, values) in scores.items():
            table = pd.DataFrame({"annotator": annotators, "value": np.frombuffer(values)})
            for annotator, row in annotator_norms(table).iterrows():
                norms[(annotator, name)] = partial(z_score, mean=row["mean"], std=row["std"])
        return norms

    def describe(self) -> str:
        how = (
            "the median (lower middle) of the annotators' ratings per item"
            if self.per == "item"
            else "one row per annotator's answer"
        )
        return f"{super().describe()} Integer columns: {how}."


# ---------------------------------------------------------------------------- choosing


def views_for(schema: Schema) -> list[str]:
    """The views that apply to a schema, the most useful first (the card's default)."""
    names = []
    if any(isinstance(q, PreferenceQuestion) for q in schema.questions):
        names.append("preference")
    if any(isinstance(q, RatingQuestion) for q in schema.questions):
        names.append("ratings")
    # Consensus comes from labelkit.quality; a build without it publishes the other views.
    consensus = ["consensus"] if importlib.util.find_spec("labelkit.quality") else []
    return [*names, *consensus, "raw"]


# Options each view takes (publish passes every view only its own).
VIEW_OPTIONS = {
    "raw": (),
    "consensus": ("method",),
    "preference": ("per", "keep_ties", "method", "question"),
    "ratings": ("per",),
}


def make_view(project: Project, name: str, filters: Filters = NO_FILTERS, **options) -> View:
    classes = {"raw": RawView, "consensus": ConsensusView, "preference": PreferenceView}
    classes["ratings"] = RatingsView
    if name not in classes:
        raise LabelkitError(f"unknown view {name!r}; views: {', '.join(VIEWS)}")
    unknown = sorted(set(options) - set(VIEW_OPTIONS[name]))
    if unknown:
        raise LabelkitError(
            f"view {name!r} takes no option {unknown}; its options: {list(VIEW_OPTIONS[name])}"
        )
    return classes[name](project, filters, **options)
