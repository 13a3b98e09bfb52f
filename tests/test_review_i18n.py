"""The review app speaks the reviewer's language: every word of review.js comes from the
catalogue, and the kernel sends a French reviewer French strings, refusals and pages."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pandas as pd
import pytest

from labelkit import Project
from labelkit.i18n import catalogue
from labelkit.review import ReviewError
from labelkit.ui.review_session import ReviewSession, review_app
from labelkit.ui.review_widget import ReviewWidget

from .test_session_chrome import ONE_TEST

ROOT = Path(__file__).resolve().parents[1]
KEY = re.compile(r"[a-z_]+(?:\.[a-z_]+)+")


@pytest.fixture
def project(tmp_path):
    project = Project.create(tmp_path / "p", "classification", overlap=2)
    rows = [{"id": f"t{i}", "text": f"message {i}"} for i in range(3)]
    project.import_items(pd.DataFrame(rows), id_column="id", progress=False)
    for i in range(2):
        project.submit(f"t{i}", {"label": "billing"}, annotator="ana")
        project.submit(f"t{i}", {"label": "account"}, annotator="bo")
    project.submit("t2", annotator="bo", status="escalated", comment="unsure")
    yield project
    project.close()


def act(widget, action, **extra) -> dict:
    """What review.js sends; the ack the kernel answers with."""
    acks = []
    widget.send = lambda content, buffers=None: acks.append(content)
    widget._on_action(widget, {"action": action, "client_key": uuid.uuid4().hex} | extra, [])
    return acks[-1]


# ---------------------------------------------------------------------------- review.js


def _literals(source: str) -> list[str]:
    """The string literals of a JS source, comments left out (good enough for this file)."""
    code = re.sub(r"(?m)^\s*//.*$|\s//\s.*$", "", source)  # line comments first: "locales/*.json"
    code = re.sub(r"/\*.*?\*/", "", code, flags=re.S)
    pattern = r'"((?:[^"\\\n]|\\.)*)"|\'((?:[^\'\\\n]|\\.)*)\'|`((?:[^`\\]|\\.)*)`'
    return [a or b or c for a, b, c in re.findall(pattern, code)]


def _looks_english(text: str) -> bool:
    """Words a person reads: two words in a row, or a capitalised word (class lists and the
    key names the code compares with are not)."""
    text = re.sub(r"\$\{[^}]*\}", " ", text)
    if all(word.startswith("lk-") for word in text.split()):
        return False
    capitalised = set(re.findall(r"\b[A-Z][a-z]{2,}\b", text)) - {"Enter", "Escape"}
    return bool(capitalised or re.search(r"[A-Za-z]{2,} [a-z]{2,}", text))


def test_review_js_uses_only_keys_the_catalogues_have():
    source = (ROOT / "widgets" / "review.js").read_text("utf-8")
    literals = _literals(source)
    # Keys are literal: in t("…") calls, and in the maps of the kernel's codes and the key map.
    used = {text for text in literals if KEY.fullmatch(text) and "." in text} - {"review.key."}
    assert len(used) > 90
    for code in ("en", "fr"):  # a key, or a count's key with its plural forms (KEY.one, ...)
        known = set(catalogue(code)) | {key.rpartition(".")[0] for key in catalogue(code)}
        assert used <= known, (code, sorted(used - known))
    called = set(re.findall(r"(?<![\w$])tn?\(\s*\"([a-z_]+\.[a-z_.]+)\"", source))
    assert called and called <= used
    # Counts take the language's plural rules (the catalogue's forms), never a test for 1.
    assert "review.choose.pending" in used and "review.choose.pending.other" in catalogue("fr")
    assert not re.search(ONE_TEST, source)
    # No English text left in the page's own strings, nor built from English fragments.
    assert [text for text in literals if _looks_english(text)] == []
    assert not re.search(r"\bt\(\s*[`'][^`']*\$\{", source)


def test_the_english_catalogue_keeps_the_review_apps_words():
    strings = catalogue("en")
    assert strings["review.tab.escalations"] == "Escalations"
    assert strings["review.reviewer"] == "Reviewer: {name} ({role})"
    assert catalogue("fr")["review.action.reject"] == "Refuser"


# ---------------------------------------------------------------------------- the kernel


def test_a_french_reviewer_gets_french_strings_and_refusals(project):
    project.annotators.add("rita", role="reviewer", locale="fr")
    widget = ReviewWidget(ReviewSession(project, "rita"))
    assert widget.locale == "fr" and widget.strings["review.action.accept"] == "Accepter"

    ack = act(widget, "start", mode="annotator", annotator=" ")
    assert ack["error"] == "choisissez l’annotateur dont vous relirez les réponses"
    assert widget.error == ack["error"]
    assert act(widget, "start", mode="annotator", annotator="ana")["ok"]
    token = widget.entry["token"]
    ack = act(widget, "verdict", token=token, verdict="rejected", comment=" ")  # ReviewError
    assert ack["error"] == "dites pourquoi la réponse est refusée (un commentaire)"
    ack = act(widget, "verdict", token="old", verdict="accepted")
    assert ack["error"] == "cette réponse n’est plus affichée"
    assert act(widget, "verdict", token=token, verdict="rejected", comment="non")["ok"]
    assert widget.notice == "Refusée."
    assert act(widget, "skip", token=widget.entry["token"])["ok"]
    assert widget.notice == "Passé."

    act(widget, "escalations")
    assert widget.entry["reasons"] == [{"annotator": "bo", "reason": "unsure"}]  # data as is
    ack = act(widget, "resolve", token=widget.entry["token"], answer={"label": "spam"})
    assert ack["error"].startswith("réponse invalide") and "ne fait pas partie des" in ack["error"]
    assert act(widget, "resolve", token=widget.entry["token"], answer={"label": "other"})["ok"]
    assert widget.notice == "Tranché."

    project.annotators.suspend("rita")
    act(widget, "menu")
    assert widget.state == "error" and widget.error.startswith("L’accès de rita est suspendu")


def test_a_demoted_french_reviewer_is_told_in_french(project):
    project.annotators.add("rita", role="reviewer", locale="fr")
    widget = ReviewWidget(ReviewSession(project, "rita"))
    project.annotators.update("rita", role="annotator")
    assert not act(widget, "start", mode="sampled")["ok"]
    assert widget.state == "error"
    assert widget.error.startswith(
        "Cette page est réservée aux relecteurs. rita annote avec le rôle annotateur"
    )


def test_review_errors_keep_english_words_and_say_them_in_french(project):
    with pytest.raises(ReviewError, match="reviewers never review their own answers") as caught:
        project.review.verdict(1, "accepted", reviewer="ana")
    assert caught.value.message.text("fr") == "un relecteur ne relit jamais ses propres réponses"
    with pytest.raises(ReviewError, match=r"unknown review mode 'x'; modes: sampled") as caught:
        project.review.queue("x")
    assert caught.value.message.text("fr").startswith("mode de relecture inconnu 'x'\u00a0; modes")


def test_the_no_access_page_speaks_the_visitors_language(project, monkeypatch):
    _, token = project.annotators.add("ana", locale="fr")  # an annotator, not a reviewer
    monkeypatch.setenv("LABELKIT_PROJECT", str(project.path))
    monkeypatch.setenv("LABELKIT_SERVE_HOST", "127.0.0.1")
    monkeypatch.setenv("QUERY_STRING", f"token={token}")
    page = review_app().data
    assert 'data-reason="not_reviewer"' in page and 'lang="fr"' in page
    assert "Accès refusé" in page and "Cette page est réservée aux relecteurs" in page
    assert "avec le rôle annotateur" in page

    project.settings["locale"] = "fr"
    project.save_settings()
    monkeypatch.setenv("QUERY_STRING", "")  # links are in force: no link, the project's language
    page = review_app().data
    assert 'data-reason="no_token"' in page and "Un lien personnel est nécessaire" in page
