"""Items and valid answers for any schema, for the sync and publishing tests (deterministic
per seed).

Texts carry non-ASCII letters, an emoji outside the BMP (Label Studio counts UTF-16 units) and
hostile HTML, so offsets and sanitizing are exercised on every template.
"""

from __future__ import annotations

import random

from labelkit.schema import (
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

WORDS = "the café answer is naïve 😀 but <b>bold</b> and wrong über alles 🎉 ok".split()  # noqa: SIM905
IMAGE_URL = "https://images.example.invalid/cat.png"


def sample_item(schema: Schema, rng: random.Random, n: int) -> dict:
    data = {}
    for f in schema.fields:
        words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 12)))
        if f.type == "text":
            data[f.name] = f"{n}: {words}"
        elif f.type == "markdown":
            data[f.name] = f"**{n}** {words} <script>alert({n})</script>"
        elif f.type == "chat":
            data[f.name] = [
                {"role": "user", "content": f"question {n}: {words}"},
                {"role": "assistant", "content": words},
            ]
        else:
            data[f.name] = f"{IMAGE_URL}?n={n}"
    return data


def sample_answer(schema: Schema, item: dict, rng: random.Random) -> dict:
    """A random answer that `schema.validate_answer` accepts (normalized)."""
    answer: dict = {}
    for q in schema.questions:
        if not schema.asked(q, answer):
            continue
        if isinstance(q, LabelQuestion):
            answer[q.name] = rng.choice(q.labels)
        elif isinstance(q, MultiLabelQuestion):
            k = rng.randint(max(q.min_selected, 0), q.max_selected or len(q.labels))
            answer[q.name] = rng.sample(q.labels, k)
        elif isinstance(q, RatingQuestion):
            answer[q.name] = rng.randrange(q.min, q.max + 1, q.step)
        elif isinstance(q, PreferenceQuestion):
            choice = rng.choice([*q.options, *(["tie"] if q.allow_tie else [])])
            strength = rng.choice(q.strengths) if q.strengths and choice != "tie" else None
            answer[q.name] = {"choice": choice, "strength": strength}
        elif isinstance(q, RankingQuestion):
            answer[q.name] = rng.sample(q.options, len(q.options))
        elif isinstance(q, TextQuestion):
            if q.required or rng.random() < 0.7:
                answer[q.name] = f"note {rng.randint(0, 999)} – ça va 😀"
        elif isinstance(q, SpanQuestion):
            text = item[q.field]
            spans = []
            for _ in range(rng.randint(0, 3)):
                start = rng.randrange(0, len(text) - 1)
                end = rng.randint(start + 1, min(len(text), start + 12))
                label = rng.choice(q.labels)
                severity = rng.choice(q.severities) if q.severities else None
                spans.append({"start": start, "end": end, "label": label, "severity": severity})
            answer[q.name] = spans
        elif isinstance(q, TaxonomyQuestion):
            paths = q.paths
            if q.multiple:
                answer[q.name] = rng.sample(paths, rng.randint(0, 3))
            else:
                answer[q.name] = rng.choice(paths)
    return schema.validate_answer(answer, item)
