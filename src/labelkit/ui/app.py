"""The annotator app that notebooks/label.ipynb shows (in Voila or JupyterLab).

Who is labeling is decided here, in the kernel, never by the page:
- served by `labelkit serve` (Voila): once the project has accounts, only from the access link's
  token, which Voila hands the kernel as the QUERY_STRING environment variable. No token, a
  wrong one, or a suspended account gets a page that says so, and no labeling session;
- served before any account exists (loopback only): the local user, or LABELKIT_ANNOTATOR;
- in a notebook (JupyterLab, `project.label()`): the local user, no token.
"""

from __future__ import annotations

import html
import os
from collections.abc import Mapping
from urllib.parse import parse_qs

from labelkit.i18n import DEFAULT_LOCALE, check_locale, error_text, locale_for, translate
from labelkit.team.accounts import AccessDenied, Accounts, hash_token

PROJECT_VARIABLE = "LABELKIT_PROJECT"
ANNOTATOR_VARIABLE = "LABELKIT_ANNOTATOR"
HOST_VARIABLE = "LABELKIT_SERVE_HOST"  # set by `labelkit serve`: the address it listens on

ACCESS_REASONS = ("no_token", "bad_token", "suspended", "network")  # access.<reason>.* texts


def annotator_app(project_path: str | None = None):
    """The labeling session for the served project (or `project_path`), ready to display;
    a page saying why not when the visitor may not label."""
    from labelkit.project import Project

    path = project_path or os.environ.get(PROJECT_VARIABLE)
    if not path:
        raise RuntimeError(
            f"no project: run `labelkit serve PATH`, or set {PROJECT_VARIABLE} to a project folder"
        )
    project = Project.open(path)
    try:
        annotator, link_hash = resolve_annotator(project, os.environ)
    except AccessDenied as denied:
        locale = page_locale(project, denied)
        project.close()
        return access_page(denied, locale)
    widget = project.label(annotator=annotator)
    widget.session.link_hash = link_hash  # a rotated or revoked link ends the next action
    return widget


def served(environ: Mapping[str, str]) -> bool:
    """Whether this kernel belongs to a page served to a browser (not a notebook)."""
    return HOST_VARIABLE in environ or environ.get("SERVER_SOFTWARE", "").startswith("voila/")


def link_token(query_string: str) -> str | None:
    """The token of `?token=...`; "" when the parameter is there but empty."""
    values = parse_qs(query_string or "", keep_blank_values=True).get("token")
    return values[-1].strip() if values else None


def resolve_annotator(project, environ: Mapping[str, str]) -> tuple[str, str | None]:
    """Who labels in this kernel and the hash of their link's token (None without a link),
    or AccessDenied (see the module's docstring)."""
    accounts = Accounts(project.store)
    if served(environ):
        token = link_token(environ.get("QUERY_STRING", ""))
        if token is not None or accounts.links_in_force():
            return accounts.resolve(token).name, hash_token(token)
        host = environ.get(HOST_VARIABLE)
        if host is not None and not _loopback(host):
            raise AccessDenied(
                "network",
                "This server is reachable from the network but the project has no annotator "
                "accounts yet. The project lead must add them (labelkit annotators add) and "
                "send each annotator their personal link.",
            )
    name = environ.get(ANNOTATOR_VARIABLE) or project.local_user()
    accounts.ensure_active(project.store.annotator_id(name))
    return name, None


def page_locale(project, denied: AccessDenied) -> str:
    """The access page's language: the annotator's when known (suspended), else the project's."""
    try:
        if denied.name:
            return locale_for(project, denied.name)
        return check_locale(project.settings.get("locale")) or DEFAULT_LOCALE
    except Exception:  # the page must show whatever the settings say
        return DEFAULT_LOCALE


def access_page(denied: AccessDenied, locale: str = DEFAULT_LOCALE):
    """What a visitor who may not label sees instead of the widget (plain HTML, no widget)."""
    from IPython.display import HTML

    reason = denied.reason if denied.reason in ACCESS_REASONS else None
    title = translate(locale, f"access.{reason}.title" if reason else "access.other.title")
    text = error_text(denied, locale)  # a Message in the visitor's language, else as said
    if reason:
        text = translate(locale, f"access.{reason}.text", name=denied.name or "")
    return HTML(
        f'<div class="lk-access-denied" role="alert" data-reason="{html.escape(denied.reason)}"'
        f' lang="{html.escape(locale)}"'
        ' style="max-width:40em;margin:3em auto;font:16px/1.5 system-ui,sans-serif">'
        f'<h2 class="lk-access-title">{html.escape(title)}</h2>'
        f'<p class="lk-access-text">{html.escape(text)}</p></div>'
    )


def _loopback(host: str) -> bool:
    from labelkit.serve import is_loopback

    return is_loopback(host)
