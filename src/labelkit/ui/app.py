"""The annotator app that notebooks/label.ipynb shows (in Voila or JupyterLab).

Who is labeling is decided here, in the kernel, never by the page:
- served by `labelkit serve` (Voila): once the project has accounts, only from the access link's
  token, which Voila hands the kernel as the QUERY_STRING environment variable. No token, a
  wrong one, or a suspended account gets a page that says so, and no labeling session;
- served before any account exists (loopback only): the local user, or LABELKIT_ANNOTATOR;
- in a notebook (JupyterLab, `project.label()`): the local user, no token.
"""

from __future__ import annotations

import getpass
import html
import os
from collections.abc import Mapping
from urllib.parse import parse_qs

from labelkit.team.accounts import AccessDenied, Accounts, hash_token

PROJECT_VARIABLE = "LABELKIT_PROJECT"
ANNOTATOR_VARIABLE = "LABELKIT_ANNOTATOR"
HOST_VARIABLE = "LABELKIT_SERVE_HOST"  # set by `labelkit serve`: the address it listens on

_TITLES = {
    "no_token": "A personal link is needed",
    "bad_token": "This link is not valid",
    "suspended": "Access suspended",
    "network": "Access links are not set up",
}


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
        project.close()
        return access_page(denied)
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
    name = environ.get(ANNOTATOR_VARIABLE) or getpass.getuser()
    accounts.ensure_active(project.store.annotator_id(name))
    return name, None


def access_page(denied: AccessDenied):
    """What a visitor who may not label sees instead of the widget (plain HTML, no widget)."""
    from IPython.display import HTML

    title = _TITLES.get(denied.reason, "No access")
    return HTML(
        f'<div class="lk-access-denied" role="alert" data-reason="{html.escape(denied.reason)}"'
        ' style="max-width:40em;margin:3em auto;font:16px/1.5 system-ui,sans-serif">'
        f'<h2 class="lk-access-title">{html.escape(title)}</h2>'
        f'<p class="lk-access-text">{html.escape(str(denied))}</p></div>'
    )


def _loopback(host: str) -> bool:
    from labelkit.serve import is_loopback

    return is_loopback(host)
