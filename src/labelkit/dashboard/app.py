"""The team dashboard that notebooks/dashboard.ipynb shows (Voila, or a notebook): tabs for
progress, annotators, questions, disagreements and the model leaderboard, refreshed every few
seconds while people label.

Who may look is decided in the kernel, as for the labeling app (labelkit.ui.app): a page opened
through an access link shows the dashboard only when the link's account is an active admin,
checked again at every refresh (a suspended admin or a rotated link stops it); without a link
(a notebook, or a loopback server before any account exists) the local user is the admin.
Every dataset string is escaped before it becomes HTML; plots draw it as plain text.
The page speaks the viewer's language (labelkit.i18n.locale_for: their account's locale, else
the project's): its words come from the `dashboard.*` catalogue keys, its numbers are written
by Babel ("0,850", "85,3 %", "12,50 €" in French). Dataset text is never translated.
"""

from __future__ import annotations

import asyncio
import copy
import html
import json
import logging
import os
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from decimal import Decimal

from babel import Locale
from babel.numbers import format_currency, format_decimal, is_currency

from labelkit.dashboard import plots
from labelkit.dashboard.figures import project_figures
from labelkit.dashboard.plots import word
from labelkit.errors import LabelkitError
from labelkit.i18n import DEFAULT_LOCALE, Message, error_text, locale_for, translate
from labelkit.team.accounts import AccessDenied, Accounts
from labelkit.ui.app import (
    PROJECT_VARIABLE,
    access_page,
    link_token,
    page_locale,
    resolve_annotator,
)

log = logging.getLogger(__name__)

DEFAULT_REFRESH_SECONDS = 30
MIN_REFRESH_SECONDS = 1
TABS = ("progress", "annotators", "questions", "disagreements", "leaderboard")  # dashboard.tab.*


def dashboard_app(project_path: str | None = None, refresh_seconds: float | None = None):
    """The dashboard for the served project (or `project_path`), ready to display; a page
    saying why not when the visitor is not an admin. `refresh_seconds`: default the project's
    `dashboard: {refresh_seconds: N}` setting, else 30."""
    from labelkit.project import Project

    path = project_path or os.environ.get(PROJECT_VARIABLE)
    if not path:
        raise RuntimeError(
            "no project: run `labelkit serve PATH --app dashboard`, or pass the project folder"
        )
    project = Project.open(path)
    try:
        viewer = admin_check(project, os.environ)
        seconds = refresh_interval(project, refresh_seconds)
    except AccessDenied as denied:
        page = refusal_page(project, denied)
        project.close()
        return page
    except LabelkitError:
        project.close()
        raise
    dashboard = Dashboard(project, seconds, os.environ, locale_for(project, viewer))
    dashboard.start()
    return dashboard.root


def admin_check(project, environ: Mapping[str, str]) -> str:
    """The admin looking at the dashboard, or AccessDenied (see the module doc)."""
    name, link_hash = resolve_annotator(project, environ)
    if link_hash is not None and Accounts(project.store).get(name).role != "admin":
        raise AccessDenied("not_admin", Message.of("dashboard.not_admin"), name)
    return name


def refusal_page(project, denied: AccessDenied, locale: str | None = None):
    """The "no access" page in the visitor's language (theirs when known, else the project's)."""
    return access_page(denied, locale or page_locale(project, denied))


def refresh_interval(project, seconds: float | None) -> float:
    if seconds is None:
        settings = project.settings.get("dashboard") or {}
        seconds = settings.get("refresh_seconds", DEFAULT_REFRESH_SECONDS)
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        raise LabelkitError(f"dashboard refresh_seconds must be a number, got {seconds!r}")
    if seconds < MIN_REFRESH_SECONDS:
        raise LabelkitError(
            f"dashboard refresh_seconds must be at least {MIN_REFRESH_SECONDS}, got {seconds}"
        )
    return float(seconds)


class Dashboard:
    """The widgets, and the loop that refreshes them. Figures are computed in a worker thread
    (the kernel stays responsive: drill-downs keep working) and shown on the kernel's loop."""

    def __init__(
        self,
        project,
        refresh_seconds: float,
        environ: Mapping[str, str],
        locale: str | None = None,
    ):
        import ipywidgets as w

        self.project = project
        # The viewer's language (dashboard_app says whose); else the local user's, as in a notebook.
        self.locale = locale or locale_for(project, project.local_user())
        self.refresh_seconds = refresh_seconds
        self.environ = dict(environ)
        self.figures: dict | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lk-dashboard")
        self._task: asyncio.Task | None = None
        self._busy = False

        self.title = w.HTML().add_class("lk-dash-title")
        self.updated = w.HTML().add_class("lk-dash-updated")
        self.refresh_button = w.Button(description=self._("dashboard.refresh"), icon="refresh")
        self.refresh_button.add_class("lk-dash-refresh")
        self.refresh_button.on_click(lambda _: self._schedule_refresh())
        every = self._(
            "dashboard.auto", seconds=format_decimal(refresh_seconds, locale=self.locale)
        )
        self.auto = w.Checkbox(value=True, description=every, indent=False)
        self.auto.add_class("lk-dash-auto")
        self.error = w.HTML().add_class("lk-dash-error")

        self.progress = w.HTML().add_class("lk-dash-progress")
        self.progress_image = _plot_image()
        self.throughput_image = _plot_image()
        self.annotators = w.HTML().add_class("lk-dash-annotators")
        self.annotators_image = _plot_image()
        self.agreement = w.HTML().add_class("lk-dash-agreement")
        self.agreement_image = _plot_image()
        self.distributions = w.VBox().add_class("lk-dash-distributions")
        self.disagreement_list = w.Select(options=[], rows=12, layout=w.Layout(width="100%"))
        self.disagreement_list.add_class("lk-dash-disagreements")
        self.disagreement_list.observe(self._drill_down, names="value")
        self.drilldown = w.HTML().add_class("lk-dash-drilldown")
        self.board = w.HTML().add_class("lk-dash-leaderboard")
        self.board_image = _plot_image()

        pages = [
            w.VBox([self.progress, self.progress_image, self.throughput_image]),
            w.VBox([self.annotators, self.annotators_image]),
            w.VBox([self.agreement, self.agreement_image, self.distributions]),
            w.VBox([self.disagreement_list, self.drilldown]),
            w.VBox([self.board, self.board_image]),
        ]
        titles = [self._(f"dashboard.tab.{tab}") for tab in TABS]
        self.tabs = w.Tab(children=pages, titles=titles).add_class("lk-dash-tabs")
        header = w.HBox(
            [self.title, self.updated, self.refresh_button, self.auto],
            layout=w.Layout(align_items="center", justify_content="space-between"),
        )
        self.root = w.VBox([header, self.error, self.tabs]).add_class("lk-dashboard")

    def _(self, key: str, **values) -> str:
        return translate(self.locale, key, **values)

    # ------------------------------------------------------------------ refreshing

    def start(self) -> None:
        """Show the figures now, then refresh them every `refresh_seconds` (auto on)."""
        self.show(project_figures(self.project))
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no kernel loop (a plain script): the Refresh button still works
            return
        self._task = loop.create_task(self._refresh_loop())

    async def _refresh_loop(self) -> None:
        while True:
            await asyncio.sleep(self.refresh_seconds)
            if self.auto.value and not await self.refresh():
                return

    def _schedule_refresh(self) -> None:
        try:
            asyncio.get_running_loop().create_task(self.refresh())
        except RuntimeError:
            self._compute_and_show()

    async def refresh(self) -> bool:
        """Compute the figures again (in the worker thread) and show them; False once the
        viewer lost access (the page then says so and stops refreshing)."""
        if self._busy:
            return True
        self._busy = True
        try:
            loop = asyncio.get_running_loop()
            figures = await loop.run_in_executor(self._executor, self._checked_figures)
        except AccessDenied as denied:
            self._lose_access(denied)
            return False
        except Exception as error:  # a refresh that fails says so and tries again next time
            log.exception("dashboard refresh failed")
            self.error.value = _alert(
                self._("dashboard.refresh_failed", error=error_text(error, self.locale))
            )
            return True
        finally:
            self._busy = False
        self.show(figures)
        return True

    def _compute_and_show(self) -> None:
        try:
            self.show(self._checked_figures())
        except AccessDenied as denied:
            self._lose_access(denied)

    def _checked_figures(self) -> dict:
        # The link is checked again at each refresh: suspending the admin or rotating their
        # token stops the figures coming.
        if link_token(self.environ.get("QUERY_STRING", "")) is not None:
            admin_check(self.project, self.environ)
        return project_figures(self.project)

    def _lose_access(self, denied: AccessDenied) -> None:
        # Final for this page: the figures go, and only a reload (a new check) brings them back.
        self.auto.value = False
        self.refresh_button.disabled = True
        self.tabs.children = ()
        self.error.value = refusal_page(self.project, denied, self.locale).data

    # ------------------------------------------------------------------ showing

    def show(self, figures: dict) -> None:
        self.figures = figures
        self.error.value = ""
        locale = self.locale
        title = self._("dashboard.title", title=figures["title"])
        self.title.value = f"<h2 class='lk-dash-heading' lang='{_e(locale)}'>{_e(title)}</h2>"
        moment = datetime.fromisoformat(figures["generated_at"])
        updated = self._("dashboard.updated", time=f"{moment:%H:%M:%S}")
        self.updated.value = f"<span>{_e(updated)}</span>"
        self.progress.value = progress_html(figures, locale)
        self.progress_image.value = plots.png(plots.progress_plot(figures, locale))
        self.throughput_image.value = plots.png(plots.throughput_plot(figures, locale))
        self.annotators.value = annotators_html(figures, locale)
        self.annotators_image.value = plots.png(plots.annotator_plot(figures, locale))
        self.agreement.value = agreement_html(figures, locale)
        self.agreement_image.value = plots.png(plots.agreement_plot(figures, locale))
        self._show_distributions(figures)
        self._show_disagreements(figures)
        self.board.value = leaderboard_html(figures, locale)
        self.board_image.value = plots.png(plots.leaderboard_plot(figures, locale))

    def _show_distributions(self, figures: dict) -> None:
        images = []
        for question in figures["distributions"]:
            image = plots.png(plots.distribution_plot(figures, question, self.locale))
            if image:
                images.append(_plot_image(image))
        self.distributions.children = images

    def _show_disagreements(self, figures: dict) -> None:
        chosen = self.disagreement_list.value
        rows = figures["disagreements"]
        # Option labels are plain text in a <select>: the browser never parses them as HTML.
        options = [
            (
                self._(
                    "dashboard.disagreement",
                    item=row["item"][:60],
                    agreement=number(row["agreement"], 2, self.locale),
                    answers=row["answers"],
                ),
                row["item_id"],
            )
            for row in rows
        ]
        self.disagreement_list.options = options
        ids = [row["item_id"] for row in rows]
        if chosen in ids:
            self.disagreement_list.value = chosen
        self._drill_down()
        if not rows:
            none = self._("dashboard.drilldown.none")
            self.drilldown.value = f"<p class='lk-dash-empty'>{_e(none)}</p>"

    def _drill_down(self, _change=None) -> None:
        chosen = self.disagreement_list.value
        rows = (self.figures or {}).get("disagreements") or []
        found = next((row for row in rows if row["item_id"] == chosen), None)
        self.drilldown.value = (
            drilldown_html(found, self.project.schema, self.locale)
            if found
            else f"<p class='lk-dash-hint'>{_e(self._('dashboard.drilldown.hint'))}</p>"
        )

    def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
        self._executor.shutdown(wait=False)
        self.project.close()


def _plot_image(value: bytes = b""):
    import ipywidgets as w

    # At its drawn size (8 inches at 96 dpi), not stretched to the page's width.
    layout = w.Layout(max_width="800px", height="auto", object_fit="contain")
    return w.Image(value=value, format="png", layout=layout).add_class("lk-dash-plot")


# ---------------------------------------------------------------------------- HTML


def _e(value) -> str:
    return html.escape(str(value), quote=True)


def _alert(text: str) -> str:
    return f"<div class='lk-dash-alert' role='alert'>{_e(text)}</div>"


def number(value, digits: int = 3, locale: str = DEFAULT_LOCALE) -> str:
    """How the dashboard writes a figure (tests format expected values the same way): rounded
    as Python rounds, written the language's way ("0,850" in French)."""
    if value is None:
        return "–"
    if isinstance(value, float):
        return format_decimal(Decimal(f"{value:.{digits}f}"), f"0.{'0' * digits}", locale=locale)
    return str(value)


def percent(share: float, locale: str = DEFAULT_LOCALE) -> str:
    """A share as a percentage with one decimal, the language's way ("85.3%", "85,3 %")."""
    pattern = copy.copy(Locale.parse(locale).percent_formats[None])
    pattern.frac_prec = (1, 1)
    return pattern.apply(share, locale)


def money(amount: float, currency: str, locale: str = DEFAULT_LOCALE) -> str:
    """An amount the language's way ("12,50 €"); a made-up unit ("credits") after it."""
    if is_currency(currency):
        return format_currency(amount, currency, locale=locale)
    return f"{number(float(amount), 2, locale)} {currency}"


def measure_text(found: dict, locale: str = DEFAULT_LOCALE) -> str:
    """The headline agreement measure of a question ("Krippendorff's alpha (nominal)")."""
    if found.get("level") is None or found["measure"] is None:
        return found["measure"] or "–"
    level = word(locale, "measure_level", found["level"])
    return translate(locale, "dashboard.measure", level=level)


TABLE_STYLE = (
    "<style>.lk-dash-table{border-collapse:collapse;font:14px system-ui,sans-serif}"
    ".lk-dash-table th,.lk-dash-table td{padding:3px 10px;border-bottom:1px solid #ddd;"
    "text-align:right}.lk-dash-table th:first-child,.lk-dash-table td:first-child"
    "{text-align:left}.lk-dash-field{white-space:pre-wrap;border-left:3px solid #ccc;"
    "padding-left:8px;margin:4px 0}</style>"
)


def _table(class_name: str, header: list[str], rows: list[str]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    return (
        f"{TABLE_STYLE}<table class='lk-dash-table {class_name}'>"
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _columns(locale: str, *names: str) -> list[str]:
    return [translate(locale, f"dashboard.col.{name}") for name in names]


def _cells(values: dict[str, object]) -> str:
    return "".join(f"<td class='lk-{key}'>{_e(value)}</td>" for key, value in values.items())


class _Html(str):
    """Markup made here (its data escaped already), to place inside a translated text."""


def _text_html(locale: str, key: str, **values) -> str:
    """A catalogue text as HTML: all of it escaped, except the values that are _Html."""
    marks = {name: f"\ue000{name}\ue000" for name, v in values.items() if isinstance(v, _Html)}
    text = _e(translate(locale, key, **(values | marks)))
    for name, mark in marks.items():
        text = text.replace(mark, values[name])
    return text


PROGRESS_FIGURES = ("items", "complete", "in_progress", "not_started", "submitted", "annotators")


def progress_html(figures: dict, locale: str = DEFAULT_LOCALE) -> str:
    total = figures["items"] or 1
    throughput = figures["throughput"]
    stats = "".join(
        f"<div class='lk-dash-stat' data-figure='{key}'><strong>{_e(figures[key])}</strong> "
        f"{_e(translate(locale, f'dashboard.stat.{key}'))}</div>"
        for key in PROGRESS_FIGURES
    )
    summary = _text_html(
        locale,
        "dashboard.progress",
        share=percent(figures["complete"] / total, locale),
        overlap=figures["overlap"],
        last_hour=_Html(f"<span data-figure='last_hour'>{_e(throughput['last_hour'])}</span>"),
        today=_Html(f"<span data-figure='today'>{_e(throughput['today'])}</span>"),
    )
    return (
        "<div style='display:flex;gap:24px;flex-wrap:wrap;font:15px system-ui,sans-serif'>"
        f"{stats}</div><p>{summary}</p>"
    )


def annotators_html(figures: dict, locale: str = DEFAULT_LOCALE) -> str:
    rows = []
    for person in figures["per_annotator"]:
        gold = person["gold_score"]
        sensitive = f"{person['sensitive_day']} / {person['sensitive_week']}"
        if person["exposure_limit"]:
            sensitive += f" ({word(locale, 'paused', person['exposure_limit'])})"
        values = {
            "name": person["annotator"],
            "role": word(locale, "role", person["role"]),
            "level": person["level"],
            "status": word(locale, "status", person["status"]),
            "answers": person["answers"],
            "median-seconds": number(person["median_seconds"], 1, locale),
            "gold": f"{number(gold, 3, locale)} ({person['gold_answers']})"
            if gold is not None
            else "–",
            "agreement": number(person["agreement_with_consensus"], 3, locale),
            "earned": money(person["earned_week"], person["currency"], locale),
            "sensitive": sensitive,
        }
        rows.append(f"<tr data-annotator='{_e(person['annotator'])}'>{_cells(values)}</tr>")
    header = _columns(locale, "annotator", "role", "level", "status", "answers", "median", "gold")
    header += _columns(locale, "agreement", "earned", "sensitive")
    return _table("lk-dash-annotator-table", header, rows)


def agreement_html(figures: dict, locale: str = DEFAULT_LOCALE) -> str:
    rows = []
    for question, found in figures["agreement"].items():
        values = {
            "question": question,
            "measure": measure_text(found, locale),
            "value": number(found["value"], 3, locale),
            "fleiss": number(found["fleiss_kappa"], 3, locale),
            "cohen": number(found["cohen_kappa"], 3, locale),
            "percent": number(found["percent_agreement"], 3, locale),
            "items": found["items"],
            "answers": found["answers"],
        }
        rows.append(f"<tr data-question='{_e(question)}'>{_cells(values)}</tr>")
    header = _columns(locale, "question", "measure", "value", "fleiss", "cohen", "percent")
    header += _columns(locale, "items_compared", "answers")
    return _table("lk-dash-agreement-table", header, rows)


def leaderboard_html(figures: dict, locale: str = DEFAULT_LOCALE) -> str:
    board = figures.get("leaderboard")
    if board is None:
        text = translate(locale, "dashboard.no_preference")
        return f"<p class='lk-dash-empty'>{_e(text)}</p>"
    if board["error"]:
        said = Message.from_json(board.get("said"))  # figures keep English words and the key
        return _alert(said.text(locale) if said is not None else board["error"])
    rows = []
    for rank, model in enumerate(board["models"], 1):
        lower, upper = number(model["lower"], 1, locale), number(model["upper"], 1, locale)
        values = {
            "rank": rank,
            "model": model["model"],
            "rating": number(model["rating"], 1, locale),
            "interval": f"{lower} – {upper}",
            "wins": model["wins"],
            "ties": model["ties"],
            "losses": model["losses"],
        }
        rows.append(f"<tr data-model='{_e(model['model'])}'>{_cells(values)}</tr>")
    header = _columns(locale, "rank", "model", "rating", "interval", "wins", "ties", "losses")
    return _table("lk-dash-leaderboard-table", header, rows)


def drilldown_html(row: dict, schema, locale: str = DEFAULT_LOCALE) -> str:
    """One item of the disagreement list: its fields and every answer, all escaped."""
    heading = translate(
        locale,
        "dashboard.drilldown.item",
        item=row["item"],
        agreement=number(row["agreement"], 2, locale),
        answers=row["answers"],
    )
    parts = [TABLE_STYLE, f"<h3 class='lk-dash-item'>{_e(heading)}</h3>"]
    for field in schema.fields:
        value = row["fields"].get(field.name)
        parts.append(
            f"<div><strong>{_e(field.label)}</strong>"
            f"<div class='lk-dash-field'>{_e(_field_text(value))}</div></div>"
        )
    header = [*_columns(locale, "annotator"), *[q.name for q in schema.questions]]
    rows = []
    for response in row["responses"]:
        answer = response["answer"] or {}
        values = {"annotator": response["annotator"]}
        values |= {f"q-{q.name}": _answer_text(answer.get(q.name)) for q in schema.questions}
        rows.append(f"<tr data-annotator='{_e(response['annotator'])}'>{_cells(values)}</tr>")
    parts.append(_table("lk-dash-answers", header, rows))
    return "".join(parts)


def _field_text(value) -> str:
    if isinstance(value, list):  # a chat
        return "\n".join(
            f"{m.get('role', '?')}: {m.get('content', '')}" if isinstance(m, dict) else str(m)
            for m in value
        )
    return "" if value is None else str(value)


def _answer_text(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, dict) and "choice" in value:
        return value["choice"] + (f" ({value['strength']})" if value.get("strength") else "")
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return ", ".join(value)
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)
