"""labelkit: keyboard-first labeling for the micro-tasks that train and check AI models."""

from labelkit.errors import AnswerError, InputError, LabelkitError, ProjectError, SchemaError
from labelkit.ingest import ImportReport
from labelkit.project import Project
from labelkit.schema import (
    ChatField,
    Condition,
    ImageField,
    LabelQuestion,
    MarkdownField,
    MultiLabelQuestion,
    PreferenceQuestion,
    RankingQuestion,
    RatingQuestion,
    Schema,
    SpanQuestion,
    TaxonomyQuestion,
    TextField,
    TextQuestion,
)
from labelkit.templates import TEMPLATES, template

__version__ = "0.1.0"

__all__ = [
    "TEMPLATES",
    "AnswerError",
    "ChatField",
    "Condition",
    "ImageField",
    "ImportReport",
    "InputError",
    "LabelQuestion",
    "LabelkitError",
    "MarkdownField",
    "MultiLabelQuestion",
    "PreferenceQuestion",
    "Project",
    "ProjectError",
    "RankingQuestion",
    "RatingQuestion",
    "Schema",
    "SchemaError",
    "SpanQuestion",
    "TaxonomyQuestion",
    "TextField",
    "TextQuestion",
    "template",
]
