"""The annotator's day and wellbeing through the real `labelkit serve`, in French.

A French annotator opens their link: the app's own text is French (dataset text is not); after
3 answers the day panel shows them, with the pay; a sensitive item sits behind its content
warning; once the hourly limit of sensitive items is reached the break screen shows, with the
support link, and going on serves only non-sensitive items.
"""

from __future__ import annotations

import re
import subprocess

import pandas as pd
import pytest
from playwright.sync_api import expect

from labelkit import Project
from labelkit.pay import configure_pay, daily_goal
from labelkit.wellbeing import configure_wellbeing

from .conftest import LABELKIT, free_port, offline_page, screenshot

pytestmark = pytest.mark.e2e

SUPPORT = "https://example.org/support"
#                 plain  plain  plain  violence    violence    plain  plain
WARNINGS = ["", "", "", "violence", "violence", "", ""]


def make_project(path):
    rows = [
        {"id": f"t{i}", "text": f"message number {i}", "warnings": w, "language": "en"}
        for i, w in enumerate(WARNINGS)
    ]
    with Project.create(path, "classification") as project:
        project.import_items(pd.DataFrame(rows), id_column="id", progress=False)
        configure_pay(project, per_answer=0.1, currency="EUR")
        configure_wellbeing(
            project, sensitive_per_hour=1, support_link=SUPPORT, support_text="Ligne d’écoute"
        )
    return path


def add(path, name: str, port: int, *options: str) -> str:
    output = subprocess.run(
        [LABELKIT, "annotators", "add", str(path), name, "--port", str(port), *options],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return output.strip().splitlines()[-1]


def shown_number(page) -> int:
    text = page.locator(".lk-field-text").inner_text()
    return int(re.search(r"message number (\d+)", text).group(1))


def answer(page, expected_done: int) -> None:
    page.keyboard.press("1")
    page.keyboard.press("Enter")
    said = "1 faite" if expected_done == 1 else f"{expected_done} faites"  # French plural forms
    expect(page.locator(".lk-progress .lk-stat").first).to_have_text(said, timeout=20_000)


def test_a_french_annotators_day_and_break(browser, tmp_path, serve_app):
    path = make_project(tmp_path / "p")
    port = free_port()
    link = add(path, "ana", port, "--locale", "fr")
    serve_app(path, port=port)
    page = offline_page(browser)
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(link)
    try:
        expect(page.locator(".lk-item")).to_be_visible(timeout=60_000)
        # French buttons and chrome; the data stays as it is
        expect(page.locator(".lk-submit")).to_contain_text("Valider")
        expect(page.locator(".lk-skip")).to_contain_text("Passer")
        expect(page.locator(".lk-annotator")).to_have_text("Annotateur\u00a0: ana")
        expect(page.locator(".lk-lease")).to_contain_text("Réservé pour vous pendant 10 min")
        assert page.locator(".lk-field-text .lk-field-body").inner_text() == "message number 0"
        # marked for screen readers: the app's words are French, the item's text English
        expect(page.locator(".lk-root")).to_have_attribute("lang", "fr")
        expect(page.locator(".lk-field-text .lk-field-body")).to_have_attribute("lang", "en")
        # the support link shows on every screen of a project with sensitive items
        expect(page.locator(".lk-daybar .lk-support")).to_have_attribute("href", SUPPORT)

        for done in (1, 2, 3):
            answer(page, done)
        expect(page.locator(".lk-today-count")).to_have_text("Aujourd’hui 3 / 100")
        expect(page.locator(".lk-day-earned")).to_contain_text("0,30\u00a0€ aujourd’hui")
        expect(page.locator(".lk-day-time")).to_contain_text("Temps aujourd’hui")
        screenshot(page, "wellbeing-day-fr")

        # the 4th item is sensitive: behind its content warning
        assert shown_number(page) == 3
        expect(page.locator(".lk-sensitive-title")).to_have_text(
            "Avertissement de contenu\u00a0: violence"
        )
        answer(page, 4)  # answered without looking: allowed

        # the hourly limit (1) is reached: the break screen, with the support link
        expect(page.locator(".lk-break")).to_be_visible(timeout=20_000)
        expect(page.locator(".lk-break-title")).to_have_text("C’est l’heure d’une pause")
        expect(page.locator(".lk-break-support")).to_have_attribute("href", SUPPORT)
        expect(page.locator(".lk-break-support")).to_have_text("Ligne d’écoute")
        expect(page.locator(".lk-actions")).to_be_hidden()
        screenshot(page, "wellbeing-break-fr")

        # going on: only non-sensitive items (t4 is held back)
        page.locator(".lk-break-continue").click()
        expect(page.locator(".lk-break")).to_have_count(0, timeout=20_000)
        expect(page.locator(".lk-item")).to_be_visible()
        assert shown_number(page) == 5
        assert page.locator(".lk-sensitive").count() == 0
        answer(page, 5)
        assert shown_number(page) == 6

        # the goal, set from the page (checked by the kernel)
        page.locator(".lk-goal-edit").click()
        page.locator(".lk-goal-input").fill("4")
        page.keyboard.press("Enter")
        expect(page.locator(".lk-today-count")).to_have_text("Aujourd’hui 5 / 4", timeout=20_000)
        assert errors == []
    finally:
        page.context.close()

    with Project.open(path) as project:
        table = project.annotations()
        keys = sorted(table["item"])
        assert keys == ["t0", "t1", "t2", "t3", "t5"] and set(table["status"]) == {"submitted"}
        assert project.annotators.get("ana").locale == "fr"
        assert daily_goal(project, "ana") == 4
