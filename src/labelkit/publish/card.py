"""The dataset card (README.md) of a published folder: YAML header and a body in Markdown.

The header is what the Hub indexes (license, language, task categories, tags, size, pretty
name, who annotated, and the `configs` that tell `load_dataset` where each view's shards are).
The body says how the labels were made: guidelines, schema, annotators, agreement, label
distribution, how consensus was computed. Every dataset string is escaped: the Hub renders the
card as HTML.
"""

from __future__ import annotations

import html
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import nh3
from huggingface_hub import DatasetCard, DatasetCardData

from labelkit.schema import (
    LabelQuestion,
    MultiLabelQuestion,
    PreferenceQuestion,
    RankingQuestion,
    RatingQuestion,
    Schema,
    SpanQuestion,
    TaxonomyQuestion,
)

TASK_CATEGORIES = {
    "chatbot-rating": ["text-classification"],
    "pairwise-preference": ["text-generation"],
    "moderation": ["text-classification"],
    "translation": ["translation"],
    "image-validation": ["image-classification"],
    "classification": ["text-classification"],
}
KIND_TAGS = {
    "chatbot-rating": ["human-feedback", "ratings", "llm-evaluation"],
    "pairwise-preference": ["human-feedback", "preference", "rlhf", "dpo"],
    "moderation": ["moderation", "safety"],
    "translation": ["translation-quality", "esa", "mqm"],
    "image-validation": ["text-to-image", "image-quality"],
    "classification": ["classification"],
}
SIZE_CATEGORIES = [
    (1_000, "n<1K"),
    (10_000, "1K<n<10K"),
    (100_000, "10K<n<100K"),
    (1_000_000, "100K<n<1M"),
    (10_000_000, "1M<n<10M"),
    (100_000_000, "10M<n<100M"),
]


@dataclass
class CardOptions:
    license: str = "other"
    language: list[str] | None = None  # default: the items' languages
    annotations_creators: str = "crowdsourced"
    pretty_name: str | None = None  # default: the schema's title
    tags: list[str] = field(default_factory=list)


class LabelStats:
    """Figures for the card, counted item by item (`add`) while a view streams."""

    def __init__(self, schema: Schema):
        self.items = self.answers = 0
        self.annotators: set[str] = set()
        self.languages: Counter = Counter()
        self.distribution: dict[str, Counter] = defaultdict(Counter)
        # What each question's answer counts as, decided once (not per answer).
        self._counters = [
            (q.name, counted_as(q), self.distribution[q.name]) for q in schema.questions
        ]

    def add(self, record) -> None:
        """Count one item (an ItemRecord) with its answers."""
        self.items += 1
        if record.language:
            self.languages[record.language] += 1
        for a in record.annotations:
            if a["status"] != "submitted" or not a["answer"]:
                continue
            self.answers += 1
            self.annotators.add(a["annotator"])
            answer = a["answer"]
            for name, counted, counts in self._counters:
                value = answer.get(name)
                if value is None:
                    continue
                if counted is None:  # the value itself (labels, ratings): the common case
                    counts[value] = counts.get(value, 0) + 1
                    continue
                for key in counted(value):
                    counts[key] = counts.get(key, 0) + 1


def counted_as(question):
    """Function from an answer's value to the keys it counts under in a label distribution,
    or None when the value itself is the key (the card's and the dashboard's distributions)."""
    if isinstance(question, MultiLabelQuestion | TaxonomyQuestion):
        return lambda value: value if isinstance(value, list) else [value]
    if isinstance(question, PreferenceQuestion):
        return lambda value: [value["choice"]]
    if isinstance(question, SpanQuestion):
        return lambda value: (
            [" / ".join(filter(None, [s["label"], s.get("severity")])) for s in value]
            or ["(no span)"]
        )
    if isinstance(question, RankingQuestion):
        return lambda value: [f"first: {value[0]}"]
    if isinstance(question, LabelQuestion | RatingQuestion):
        return None
    return lambda value: ["(answered)"]  # free text: only how often it was filled in


def card_text(
    schema: Schema,
    configs: list[dict],
    view_notes: dict[str, str],
    stats: LabelStats,
    options: CardOptions,
    agreement: dict[str, dict] | None = None,
    consensus_note: str | None = None,
) -> str:
    """README.md: `configs` as for the Hub ({config_name, data_files, default}), `view_notes`
    a sentence per view, `agreement` the figures per question of `card_agreement`."""
    default_rows = max(stats.items, 1)
    size = next((name for limit, name in SIZE_CATEGORIES if default_rows < limit), "n>1T")
    languages = options.language or sorted(stats.languages) or ["en"]
    data = DatasetCardData(
        license=options.license,
        language=languages,
        annotations_creators=[options.annotations_creators],
        task_categories=TASK_CATEGORIES.get(schema.kind, ["text-classification"]),
        size_categories=[size],
        pretty_name=options.pretty_name or schema.title,
        tags=["labelkit", "human-annotated", *KIND_TAGS.get(schema.kind, []), *options.tags],
        configs=configs,
    )
    body = _body(schema, configs, view_notes, stats, agreement, consensus_note, options)
    return str(DatasetCard(f"---\n{data.to_yaml()}\n---\n\n{body}"))


def _body(schema, configs, view_notes, stats, agreement, consensus_note, options) -> str:
    title = _text(options.pretty_name or schema.title)
    out = [f"# {title}", ""]
    out += [
        f"Labels made with labelkit ({_text(schema.kind)} task): "
        f"{stats.items} items, {stats.answers} answers by **{len(stats.annotators)} "
        f"annotator{'s' if len(stats.annotators) != 1 else ''}**.",
        "",
        "## Views (configs)",
        "",
        "| config | splits | what it holds |",
        "|---|---|---|",
    ]
    for config in configs:
        splits = ", ".join(f["split"] for f in config["data_files"])
        note = view_notes.get(config["config_name"], "")
        out.append(f"| `{config['config_name']}` | {splits} | {_cell(note)} |")
    out += [
        "",
        "```python",
        "from datasets import load_dataset",
        "",
        f'ds = load_dataset("REPO_OR_FOLDER", "{configs[0]["config_name"]}")',
        "```",
        "",
        "## Guidelines given to annotators",
        "",
        nh3.clean(schema.guidelines).strip() or "(none)",
        "",
        "## Schema",
        "",
        "| field | type |",
        "|---|---|",
    ]
    out += [f"| `{_cell(f.name)}` | {f.type} |" for f in schema.fields]
    out += ["", "| question | type | answers |", "|---|---|---|"]
    for q in schema.questions:
        out.append(f"| `{_cell(q.name)}` | {q.type} | {_cell(_choices(q))} |")
    out += _agreement_section(agreement)
    out += ["", "## Label distribution", "", "Counted over every submitted answer.", ""]
    for q in schema.questions:
        counts = stats.distribution.get(q.name)
        if not counts:
            continue
        out += [f"**{_text(q.label)}** (`{_cell(q.name)}`)", "", "| answer | count |", "|---|---|"]
        out += [f"| {_cell(str(value))} | {n} |" for value, n in _ordered(q, counts)]
        out.append("")
    out += ["## How consensus was computed", ""]
    out.append(consensus_note or "No consensus view in this release; see the raw view.")
    out += [
        "",
        "Hidden gold (control) items and answers a reviewer rejected are left out unless the "
        "release says otherwise. The raw view keeps every annotator's current answer "
        "(`<question>.responses`, `.responses.users`, `.responses.status`) to re-aggregate from.",
        "",
    ]
    return "\n".join(out)


def card_agreement(project, include_gold: bool = False) -> dict[str, dict]:
    """Agreement per question over the answers a release holds (current, submitted, not
    rejected; gold items' only with `include_gold`): the dashboard's figures
    (labelkit.quality.project_figures.agreement_by_question)."""
    from labelkit.quality.project_figures import agreement_by_question
    from labelkit.quality.tidy import gold_answers, project_answers

    answers = project_answers(project)
    if not include_gold:
        answers = answers[~answers["item_id"].isin(list(gold_answers(project.store)))]
    return agreement_by_question(project, answers)


def _agreement_section(agreement: dict[str, dict] | None) -> list[str]:
    measured = {name: found for name, found in (agreement or {}).items() if found["measure"]}
    if not measured:
        return []
    out = [
        "",
        "## Agreement",
        "",
        "Between annotators, per question, at the level of measurement of its type "
        "(Krippendorff's alpha: 1 is perfect agreement, 0 what chance gives). Items with one "
        "answer are not counted.",
        "",
        "| question | measure | value | Fleiss' kappa | items with 2+ answers |",
        "|---|---|---|---|---|",
    ]
    for name, found in measured.items():
        value, kappa = found["value"], found["fleiss_kappa"]
        out.append(
            f"| `{_cell(name)}` | {found['measure']} | "  # our own words, not dataset text
            f"{'–' if value is None else f'{value:.3f}'} | "
            f"{'–' if kappa is None else f'{kappa:.3f}'} | {found['items']} |"
        )
    return out


def _choices(question) -> str:
    if isinstance(question, LabelQuestion | MultiLabelQuestion | SpanQuestion):
        return ", ".join(question.labels)
    if isinstance(question, RatingQuestion):
        return f"{question.min}–{question.max}"
    if isinstance(question, PreferenceQuestion):
        return ", ".join(question.options + (["tie"] if question.allow_tie else []))
    if isinstance(question, TaxonomyQuestion):
        return ", ".join(question.categories)
    if isinstance(question, RankingQuestion):
        return "order of " + ", ".join(question.options)
    return "free text"


def _ordered(question, counts: Counter) -> list[tuple]:
    if isinstance(question, RatingQuestion):
        return sorted(counts.items())
    return counts.most_common()


def _text(value: str) -> str:
    """A dataset string as inline Markdown that cannot become markup."""
    return html.escape(str(value), quote=True).replace("\n", " ")


def _cell(value: str) -> str:
    return _text(value).replace("|", "\\|")
