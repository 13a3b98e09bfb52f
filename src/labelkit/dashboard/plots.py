"""The dashboard's plots, drawn with matplotlib from the figures of `project_figures`.

Each function takes the figures dict and returns a `matplotlib.figure.Figure` (None when there
is nothing to draw); `png` turns one into image bytes for an ipywidgets Image. Figures are made
without pyplot: no global state, nothing kept alive between refreshes, safe in a kernel thread.
Dataset text (labels, model names) is drawn as plain text: "$" would start matplotlib's math
mode, so it is escaped. Titles and axis labels are in the reader's language (`locale`, the
`dashboard.*` catalogue keys), tick numbers written its way ("0,5" in French).
"""

from __future__ import annotations

import io
from datetime import datetime

from babel.numbers import format_decimal
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from labelkit.i18n import DEFAULT_LOCALE, catalogue, translate

COLORS = {"complete": "#2e7d32", "in_progress": "#f9a825", "not_started": "#cfd8dc"}
BAR = "#3f6fb5"
MAX_LABEL_CHARS = 28


def png(figure: Figure | None, dpi: int = 96) -> bytes:
    if figure is None:
        return b""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    return buffer.getvalue()


def plain_text(value) -> str:
    """Dataset text as a plot label: no math mode, not too long."""
    text = str(value).replace("\n", " ")
    if len(text) > MAX_LABEL_CHARS:
        text = text[: MAX_LABEL_CHARS - 1] + "…"
    return text.replace("$", r"\$")


def word(locale: str, kind: str, value) -> str:
    """A role, status, measure level... (`dashboard.<kind>.<value>`) in the reader's language;
    a value the catalogue lacks as it is."""
    key = f"dashboard.{kind}.{value}"
    return translate(locale, key) if key in catalogue(locale) else str(value)


def _numbers(axis, locale: str) -> None:
    """Tick numbers written the language's way."""
    axis.set_major_formatter(FuncFormatter(lambda x, _: format_decimal(x, locale=locale)))


def progress_plot(figures: dict, locale: str = DEFAULT_LOCALE) -> Figure:
    """One stacked bar: items complete, in progress, not started."""
    figure = Figure(figsize=(8, 1.6))
    axes = figure.subplots()
    left = 0
    for key in COLORS:
        count = figures.get(key, 0)
        title = translate(locale, f"dashboard.stat.{key}")
        label = f"{title} ({format_decimal(count, locale=locale)})"
        axes.barh([0], [count], left=left, color=COLORS[key], label=label)
        left += count
    axes.set_xlim(0, max(left, 1))
    axes.set_yticks([])
    _numbers(axes.xaxis, locale)
    axes.set_xlabel(translate(locale, "dashboard.stat.items"))
    axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.6), ncol=3, frameon=False)
    return figure


def throughput_plot(figures: dict, locale: str = DEFAULT_LOCALE) -> Figure | None:
    periods = figures["throughput"]["periods"]
    if not periods:
        return None
    unit = figures["throughput"]["unit"]
    moments = [datetime.fromisoformat(start) for start, _ in periods]
    counts = [n for _, n in periods]
    figure = Figure(figsize=(8, 2.6))
    axes = figure.subplots()
    width = (1 / 24 if unit == "hour" else 1) * 0.9  # in days, matplotlib's date unit
    axes.bar(moments, counts, width=width, align="edge", color=BAR)
    _numbers(axes.yaxis, locale)
    axes.set_ylabel(translate(locale, f"dashboard.plot.answers_per_{unit}"))
    axes.set_title(translate(locale, "dashboard.plot.throughput"))
    figure.autofmt_xdate()
    return figure


def annotator_plot(figures: dict, locale: str = DEFAULT_LOCALE) -> Figure | None:
    """Answers per annotator, and their agreement with the consensus and gold score."""
    people = [p for p in figures["per_annotator"] if p["answers"] or p["gold_answers"]]
    if not people:
        return None
    names = [plain_text(p["annotator"]) for p in people]
    figure = Figure(figsize=(8, 1.0 + 0.3 * len(people)))
    counts, quality = figure.subplots(1, 2, sharey=True)
    positions = range(len(people))
    counts.barh(positions, [p["answers"] for p in people], color=BAR)
    counts.set_yticks(list(positions), names)
    counts.invert_yaxis()
    _numbers(counts.xaxis, locale)
    counts.set_xlabel(translate(locale, "dashboard.col.answers"))
    agreement = [p["agreement_with_consensus"] for p in people]
    quality.barh(
        positions,
        [a if a is not None else 0 for a in agreement],
        color="#7e57c2",
        label=translate(locale, "dashboard.plot.agreement"),
    )
    gold = [(i, p["gold_score"]) for i, p in enumerate(people) if p["gold_score"] is not None]
    if gold:
        quality.scatter(
            [g for _, g in gold],
            [i for i, _ in gold],
            color="#d84315",
            zorder=3,
            label=translate(locale, "dashboard.plot.gold"),
        )
    quality.set_xlim(0, 1)
    _numbers(quality.xaxis, locale)
    quality.set_xlabel(translate(locale, "dashboard.plot.share"))
    quality.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, fontsize="small")
    figure.tight_layout()
    return figure


def agreement_plot(figures: dict, locale: str = DEFAULT_LOCALE) -> Figure | None:
    measured = [
        (q, found) for q, found in figures["agreement"].items() if found["value"] is not None
    ]
    if not measured:
        return None
    figure = Figure(figsize=(8, 0.8 + 0.45 * len(measured)))
    axes = figure.subplots()
    values = [found["value"] for _, found in measured]
    axes.barh(range(len(measured)), values, color=[BAR if v >= 0 else "#c62828" for v in values])
    labels = [f"{plain_text(q)} ({word(locale, 'measure_level', f['level'])})" for q, f in measured]
    axes.set_yticks(range(len(measured)), labels)
    axes.invert_yaxis()
    axes.axvline(0, color="black", linewidth=0.8)
    axes.set_xlim(min(-0.1, min(values) - 0.05), 1)
    _numbers(axes.xaxis, locale)
    axes.set_xlabel(translate(locale, "dashboard.plot.alpha"))
    return figure


def distribution_plot(figures: dict, question: str, locale: str = DEFAULT_LOCALE) -> Figure | None:
    counts = figures["distributions"].get(question) or []
    if not counts:
        return None
    figure = Figure(figsize=(8, 0.8 + 0.35 * len(counts)))
    axes = figure.subplots()
    axes.barh(range(len(counts)), [n for _, n in counts], color=BAR)
    axes.set_yticks(range(len(counts)), [plain_text(value) for value, _ in counts])
    axes.invert_yaxis()
    _numbers(axes.xaxis, locale)
    axes.set_xlabel(translate(locale, "dashboard.col.answers"))
    axes.set_title(plain_text(question))
    return figure


def leaderboard_plot(figures: dict, locale: str = DEFAULT_LOCALE) -> Figure | None:
    board = figures.get("leaderboard") or {}
    models = board.get("models") or []
    if not models:
        return None
    figure = Figure(figsize=(8, 0.8 + 0.4 * len(models)))
    axes = figure.subplots()
    ratings = [m["rating"] for m in models]
    below = [m["rating"] - m["lower"] for m in models]
    above = [m["upper"] - m["rating"] for m in models]
    axes.errorbar(ratings, range(len(models)), xerr=[below, above], fmt="o", color=BAR, capsize=4)
    axes.set_yticks(range(len(models)), [plain_text(m["model"]) for m in models])
    axes.invert_yaxis()
    _numbers(axes.xaxis, locale)
    axes.set_xlabel(translate(locale, "dashboard.plot.rating"))
    return figure
