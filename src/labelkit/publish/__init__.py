"""Publish a project's labels as Hugging Face datasets: views, dataset card, hub folder, push."""

from labelkit.publish.card import CardOptions
from labelkit.publish.dataset import build_dataset
from labelkit.publish.publish import PublishReport, publish, push
from labelkit.publish.reimport import import_published
from labelkit.publish.rows import REJECTED, Filters
from labelkit.publish.splits import Splits
from labelkit.publish.views import VIEWS, make_view, views_for

__all__ = [
    "REJECTED",
    "VIEWS",
    "CardOptions",
    "Filters",
    "PublishReport",
    "Splits",
    "build_dataset",
    "import_published",
    "make_view",
    "publish",
    "push",
    "views_for",
]
