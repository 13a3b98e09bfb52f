"""Ready schemas for the micro-task kinds of AI checking work.

Each template is a function returning a `Schema`; `TEMPLATES` maps its CLI name to it.
Keyword arguments adapt a template (labels, taxonomy preset, strengths) without editing YAML.
"""

from __future__ import annotations

from collections.abc import Callable

from labelkit.errors import LabelkitError
from labelkit.schema import (
    ChatField,
    Condition,
    ImageField,
    LabelQuestion,
    MarkdownField,
    MultiLabelQuestion,
    PreferenceQuestion,
    RatingQuestion,
    Schema,
    SpanQuestion,
    TaxonomyQuestion,
    TextField,
    TextQuestion,
)

# Moderation taxonomies in use in the field (see shared notes): OpenAI's moderation categories
# and the MLCommons hazard taxonomy used by Llama Guard 3.
TAXONOMY_PRESETS: dict[str, list[str]] = {
    "openai": [
        "harassment/threatening",
        "hate/threatening",
        "illicit/violent",
        "self-harm/intent",
        "self-harm/instructions",
        "sexual/minors",
        "violence/graphic",
    ],
    "mlcommons": [
        "violent crimes",
        "non-violent crimes",
        "sex-related crimes",
        "child sexual exploitation",
        "defamation",
        "specialized advice",
        "privacy",
        "intellectual property",
        "indiscriminate weapons",
        "hate",
        "suicide & self-harm",
        "sexual content",
        "elections",
        "code interpreter abuse",
    ],
}

YES_NO = ["yes", "no"]


def chatbot_rating() -> Schema:
    """Rate one chatbot answer: accuracy, clarity, bias, inappropriate content, overall."""
    return Schema(
        title="Rate a chatbot answer",
        kind="chatbot-rating",
        guidelines=(
            "Read the conversation and the assistant's answer, then rate it.\n\n"
            "- **Accuracy**: are the facts right? Check anything you are unsure of.\n"
            "- **Clarity**: is it easy to follow, well organised, the right length?\n"
            "- **Bias**: does it favour a group, a product or an opinion without reason?\n"
            "- **Inappropriate**: anything harmful, offensive or unsafe? Then say which category.\n"
            "- **Overall**: would you be glad to receive this answer?\n"
        ),
        fields=[
            ChatField(name="conversation", title="Conversation"),
            MarkdownField(name="response", title="Assistant's answer"),
        ],
        questions=[
            RatingQuestion(name="accuracy", low_label="wrong", high_label="fully correct"),
            RatingQuestion(name="clarity", low_label="confusing", high_label="very clear"),
            LabelQuestion(
                name="bias", labels=["none", "slight", "strong"], help="Unjustified favouritism."
            ),
            LabelQuestion(name="inappropriate", labels=YES_NO),
            TaxonomyQuestion(
                name="inappropriate_category",
                title="Which category?",
                categories=TAXONOMY_PRESETS["openai"],
                when=Condition(question="inappropriate", equals="yes"),
            ),
            RatingQuestion(name="overall", low_label="very poor", high_label="excellent"),
            TextQuestion(name="comment", required=False, placeholder="Optional note"),
        ],
    )


def pairwise_preference(strengths: list[str] | None = None) -> Schema:
    """Compare two answers to one prompt (RLHF / DPO preference data)."""
    return Schema(
        title="Which answer is better?",
        kind="pairwise-preference",
        guidelines=(
            "Read the prompt, then both answers. Pick the one you would rather receive; "
            "choose **tie** only when they are equally good (or equally bad). "
            "Say how much better, and tick the reasons that decided it."
        ),
        fields=[
            TextField(name="prompt", title="Prompt"),
            MarkdownField(name="response_a", title="Answer A"),
            MarkdownField(name="response_b", title="Answer B"),
        ],
        questions=[
            PreferenceQuestion(
                name="preference",
                options=["response_a", "response_b"],
                strengths=["better", "much better"] if strengths is None else strengths,
            ),
            MultiLabelQuestion(
                name="reasons",
                labels=["more accurate", "more helpful", "clearer", "safer", "more concise"],
                required=False,
            ),
            TextQuestion(name="comment", required=False, placeholder="Optional note"),
        ],
    )


def moderation(taxonomy: str = "openai") -> Schema:
    """Moderate content by policy categories: categories, severity, action."""
    if taxonomy not in TAXONOMY_PRESETS:
        raise LabelkitError(f"unknown taxonomy {taxonomy!r}; presets: {sorted(TAXONOMY_PRESETS)}")
    return Schema(
        title="Moderate content",
        kind="moderation",
        guidelines=(
            "Decide whether the content breaks the policy. Tick every category that applies "
            "(none if it is fine), rate how severe it is, and choose an action. "
            "**Escalate** when you are unsure or the content suggests someone is in danger. "
            "Take a break whenever you need one."
        ),
        fields=[TextField(name="content", title="Content")],
        questions=[
            TaxonomyQuestion(name="categories", categories=TAXONOMY_PRESETS[taxonomy]),
            LabelQuestion(name="severity", labels=["none", "low", "medium", "high"]),
            LabelQuestion(name="action", labels=["allow", "flag", "reject", "escalate"]),
            TextQuestion(name="comment", required=False, placeholder="Optional note"),
        ],
    )


def translation() -> Schema:
    """Judge a translation: a 0–100 score and error spans (minor / major), ESA style."""
    return Schema(
        title="Judge a translation",
        kind="translation",
        guidelines=(
            "First mark every error in the translation: select the words, pick the kind of error "
            "and whether it is **minor** (style, small slip) or **major** (meaning changed or "
            "lost, hard to understand). Then give a score from 0 (nonsense) to 100 (perfect)."
        ),
        fields=[
            TextField(name="source", title="Source text"),
            TextField(name="translation", title="Translation"),
        ],
        questions=[
            SpanQuestion(
                name="errors",
                field="translation",
                labels=["accuracy", "fluency", "terminology", "style", "other"],
                severities=["minor", "major"],
            ),
            RatingQuestion(
                name="score", min=0, max=100, low_label="nonsense", high_label="perfect"
            ),
        ],
    )


def image_validation() -> Schema:
    """Validate a generated image against its prompt: match, artifacts, safety."""
    return Schema(
        title="Check a generated image",
        kind="image-validation",
        guidelines=(
            "Compare the image with the prompt that generated it. Does it show what was asked? "
            "Look for artifacts (extra fingers, melted faces, garbled text). Is it safe to show?"
        ),
        fields=[TextField(name="prompt", title="Prompt"), ImageField(name="image", title="Image")],
        questions=[
            LabelQuestion(name="matches_prompt", labels=["yes", "partly", "no"]),
            LabelQuestion(name="has_artifacts", title="Artifacts?", labels=YES_NO),
            MultiLabelQuestion(
                name="artifacts",
                labels=["anatomy", "faces", "text", "blur or noise", "other"],
                min_selected=1,
                when=Condition(question="has_artifacts", equals="yes"),
            ),
            LabelQuestion(name="safe", labels=YES_NO),
            TextQuestion(name="comment", required=False, placeholder="Optional note"),
        ],
    )


def classification(labels: list[str] | None = None, multiple: bool = False) -> Schema:
    """Classify a text into given labels (one, or several with `multiple`)."""
    labels = labels or ["billing", "technical issue", "account", "feedback", "other"]
    question = (
        MultiLabelQuestion(name="labels", labels=labels, min_selected=1)
        if multiple
        else LabelQuestion(name="label", labels=labels)
    )
    return Schema(
        title="Classify",
        kind="classification",
        guidelines="Pick the label that best describes the text.",
        fields=[TextField(name="text", title="Text")],
        questions=[question],
    )


TEMPLATES: dict[str, Callable[..., Schema]] = {
    "chatbot-rating": chatbot_rating,
    "pairwise-preference": pairwise_preference,
    "moderation": moderation,
    "translation": translation,
    "image-validation": image_validation,
    "classification": classification,
}


def template(name: str, **options) -> Schema:
    """The schema of template `name`; raises a clear error listing templates when unknown."""
    try:
        factory = TEMPLATES[name]
    except KeyError:
        raise LabelkitError(
            f"unknown template {name!r}; templates: {', '.join(TEMPLATES)}"
        ) from None
    return factory(**options)
