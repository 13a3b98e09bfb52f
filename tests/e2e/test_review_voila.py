"""A reviewer works the review app through the real `labelkit serve --app review`, keyboard
only: rejects two answers with a comment and accepts one, then resolves an escalated item. The
store then holds exactly those verdicts, by that reviewer, consensus and the raw export no
longer contain the rejected answers, and the resolution is the item's consensus. An
annotator's link opening the review app gets a "no access" page and no widget. A reviewer
whose language is French gets the whole app, and the no-access page, in French.
"""

from __future__ import annotations

import re
import subprocess

import pandas as pd
import pytest
from playwright.sync_api import expect

from labelkit import Project

from .conftest import LABELKIT, free_port, screenshot
from .test_team_voila import open_page

pytestmark = pytest.mark.e2e

ITEMS = 4


def add(path, name: str, *options: str) -> list[str]:
    """`labelkit annotators add`; the lines it printed."""
    return subprocess.run(
        [LABELKIT, "annotators", "add", str(path), name, *options],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.splitlines()


@pytest.fixture
def reviewed_project(tmp_path):
    """Two annotators answered every item (overlap 2): ana says billing, bo says account."""
    path = tmp_path / "review"
    rows = [{"id": f"t{i}", "text": f"message number {i} <b>bold?</b>"} for i in range(ITEMS + 1)]
    with Project.create(path, "classification", overlap=2) as project:
        project.import_items(pd.DataFrame(rows), id_column="id", progress=False)
        for i in range(ITEMS):
            project.submit(f"t{i}", {"label": "billing"}, annotator="ana")
            project.submit(f"t{i}", {"label": "account"}, annotator="bo")
        # The last item: bo escalates it; ana's answer is the reviewer's starting point.
        project.submit(f"t{ITEMS}", {"label": "feedback"}, annotator="ana")
        project.submit(f"t{ITEMS}", annotator="bo", status="escalated", comment="<i>spam?</i>")
    return path


def test_a_reviewer_rejects_and_accepts_with_the_keyboard(browser, reviewed_project, serve_app):
    label_port, review_port = free_port(), free_port()
    links = ("--port", str(label_port), "--review-port", str(review_port))
    printed = add(reviewed_project, "rita", "--role", "reviewer", *links)
    rita = printed[-1]
    assert re.fullmatch(rf"http://127\.0\.0\.1:{review_port}/\?token=[\w-]{{43}}", rita)
    ana = add(reviewed_project, "ana", *links)[-1]  # an annotator's (labeling) link
    assert "review app" not in " ".join(add(reviewed_project, "bo", *links))
    serve_app(reviewed_project, "--app", "review", port=review_port)

    page = open_page(browser, rita)
    refused = None
    try:
        root = page.locator(".lk-review")
        expect(root).to_be_visible(timeout=60_000)
        expect(page.locator(".lk-reviewer")).to_have_text("Reviewer: rita (reviewer)")
        expect(page.locator(".lk-lead")).to_contain_text(f"{2 * ITEMS + 1} answers await review")

        page.keyboard.press("3")  # one annotator: the picker has focus, ana first
        expect(page.locator(".lk-annotator-select")).to_be_focused()
        page.keyboard.press("Enter")
        shown, counts = [], {"a": 0, "r": 0}
        for n, verdict in enumerate(("r", "r", "a"), start=1):
            expect(page.locator(".lk-review-annotator")).to_have_text("ana", timeout=20_000)
            text = page.locator(".lk-review-entry .lk-field-text").inner_text()
            shown.append("t" + re.search(r"message number (\d+)", text).group(1))
            assert "<b>bold?</b>" in text  # dataset text shown as text
            expect(page.locator(".lk-answer-value").first).to_have_text("billing")
            expect(page.locator(".lk-other-name")).to_have_text(["bo"])  # context
            page.keyboard.press(verdict)
            comment = page.locator(".lk-comment")
            expect(comment).to_be_focused()
            if verdict == "r":
                page.keyboard.type(f"not billing ({n})")
            page.keyboard.press("Enter")
            counts[verdict] += 1
            expect(page.locator(".lk-counts")).to_contain_text(
                f"{counts['a']} accepted · {counts['r']} rejected", timeout=20_000
            )
        expect(page.locator(".lk-error")).to_be_hidden()  # nothing failed on the way
        screenshot(page, "review-app")
        page.keyboard.press("?")
        expect(page.locator(".lk-keymap")).to_contain_text("reject: say why")
        page.keyboard.press("?")

        # The escalation queue: start from ana's answer (1), move to the next label, resolve.
        page.keyboard.press("e")
        expect(page.locator(".lk-reason-text")).to_have_text("<i>spam?</i>", timeout=20_000)
        page.keyboard.press("1")
        checked = page.locator(".lk-resolve-editor input:checked")
        expect(checked).to_have_value("feedback")
        page.keyboard.press("Tab")  # into the radio group, on the checked label
        page.keyboard.press("ArrowRight")  # the next label: other
        expect(checked).to_have_value("other")
        screenshot(page, "review-escalation")
        page.keyboard.press("Enter")
        expect(page.locator(".lk-done")).to_contain_text("No escalated item left", timeout=20_000)
        assert page.watch.console_errors == [] and page.watch.dialogs == []

        refused = open_page(browser, ana.replace(f":{label_port}/", f":{review_port}/"))
        denied = refused.locator(".lk-access-denied")
        expect(denied).to_be_visible(timeout=60_000)
        expect(denied).to_contain_text("This page is for reviewers")
        assert refused.locator(".lk-review").count() == 0
        screenshot(refused, "review-no-access")
    finally:
        page.context.close()
        if refused is not None:
            refused.context.close()

    with Project.open(reviewed_project) as project:
        answers = project.annotations().set_index("id")
        with project.store.reading() as conn:
            verdicts = conn.exec_driver_sql(
                "SELECT r.annotation_id, a.name, r.verdict, r.comment FROM reviews r "
                "JOIN annotators a ON a.id = r.reviewer_id ORDER BY r.id"
            ).all()
        assert [(answers.loc[v[0], "item"], answers.loc[v[0], "annotator"]) for v in verdicts] == [
            (item, "ana") for item in shown
        ]
        assert [(v[1], v[2], v[3]) for v in verdicts] == [
            ("rita", "rejected", "not billing (1)"),
            ("rita", "rejected", "not billing (2)"),
            ("rita", "accepted", None),
        ]
        rejected, accepted = shown[:2], shown[2]
        consensus = project.consensus().set_index("item")
        raw = project.to_dataset("raw").to_pandas().set_index("item_id")
    for item in rejected:  # only bo's answer is left
        assert consensus.loc[item, "n"] == 1 and consensus.loc[item, "value"] == "account"
        assert list(raw.loc[item, "label.responses.users"]) == ["bo"]
    assert consensus.loc[accepted, "n"] == 2
    escalated = consensus.loc[f"t{ITEMS}"]
    assert (escalated["value"], escalated["confidence"]) == ("other", 1.0)  # ana said feedback
    assert sorted(raw.loc[accepted, "label.responses.users"]) == ["ana", "bo"]


def test_a_french_reviewer_works_in_french(browser, reviewed_project, serve_app):
    label_port, review_port = free_port(), free_port()
    links = ("--port", str(label_port), "--review-port", str(review_port))
    rita = add(reviewed_project, "rita", "--role", "reviewer", "--locale", "fr", *links)[-1]
    ana = add(reviewed_project, "ana", "--locale", "fr", *links)[-1]
    serve_app(reviewed_project, "--app", "review", port=review_port)

    page = open_page(browser, rita)
    refused = None
    try:
        expect(page.locator(".lk-review")).to_be_visible(timeout=60_000)
        expect(page.locator(".lk-review")).to_have_attribute("lang", "fr")
        expect(page.locator(".lk-reviewer")).to_have_text("Relecteur\u00a0: rita (relecteur)")
        expect(page.locator(".lk-tab")).to_have_text(
            ["Réponses m", "Éléments transmis e", "Raccourcis ?"]
        )
        lead = f"{2 * ITEMS + 1} réponses attendent une relecture\u00a0; 1 élément transmis"
        expect(page.locator(".lk-lead")).to_contain_text(lead)
        expect(page.locator(".lk-mode-name")).to_have_text(
            ["Échantillon", "Désaccords d’abord", "Un annotateur", "Éléments transmis"]
        )

        page.keyboard.press("3")
        page.keyboard.press("Enter")
        expect(page.locator(".lk-review-answer h3")).to_have_text("Réponse de ana", timeout=20_000)
        expect(page.locator(".lk-actions button")).to_have_text(
            ["a Accepter", "r Refuser", "s Passer"]
        )
        expect(page.locator(".lk-context h4")).to_have_text("Autres annotateurs")
        page.keyboard.press("r")
        expect(page.locator(".lk-form-title")).to_contain_text("Refuser\u00a0: dites pourquoi.")
        expect(page.locator(".lk-form-title kbd").first).to_have_text("Entrée")
        page.keyboard.press("Enter")  # no reason: refused in the page, in French
        expect(page.locator(".lk-error")).to_have_text("Dites pourquoi la réponse est refusée.")
        page.keyboard.type("pas une facturation")
        page.keyboard.press("Enter")
        expect(page.locator(".lk-counts")).to_have_text(
            "acceptées\u00a0: 0 · refusées\u00a0: 1 · passées\u00a0: 0", timeout=20_000
        )
        expect(page.locator(".lk-review-progress .lk-stat").first).to_have_text(
            re.compile(r"réponse 2 sur \d+")
        )
        page.keyboard.press("?")
        expect(page.locator(".lk-keymap")).to_contain_text("refuser\u00a0: dites pourquoi")
        page.keyboard.press("?")

        page.keyboard.press("e")
        expect(page.locator(".lk-reasons h3")).to_have_text("Transmis par", timeout=20_000)
        expect(page.locator(".lk-final h3")).to_have_text("Réponse finale")
        expect(page.locator(".lk-resolve")).to_have_text("Entrée Trancher")
        screenshot(page, "review-escalation-fr")
        page.keyboard.press("1")
        expect(page.locator(".lk-notice")).to_have_text("Point de départ\u00a0: la réponse de ana.")
        page.keyboard.press("Enter")
        expect(page.locator(".lk-done")).to_contain_text(
            "Plus aucun élément transmis", timeout=20_000
        )
        expect(page.locator(".lk-done")).to_contain_text(
            "Appuyez sur m pour choisir une autre file."
        )
        assert page.watch.console_errors == [] and page.watch.dialogs == []

        refused = open_page(browser, ana.replace(f":{label_port}/", f":{review_port}/"))
        denied = refused.locator(".lk-access-denied")
        expect(denied).to_be_visible(timeout=60_000)
        expect(denied).to_contain_text("Cette page est réservée aux relecteurs")
        expect(refused.locator(".lk-access-title")).to_have_text("Accès refusé")
    finally:
        page.context.close()
        if refused is not None:
            refused.context.close()
