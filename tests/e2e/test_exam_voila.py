"""The annotator's path through the real `labelkit serve`: exams, training, levels.

A new annotator (level 0) opens their link to a project whose work is all level 1: no work, and
the exams offered. By keyboard only, they practise (training: right/wrong and the explanation
after each answer), then take the exam "basics" and fail it, retake it (leaving it halfway and
resuming), pass it, see their new level and its history, and label a level-1 item. The store
holds both attempts, the level and the history. A French annotator reads what the next level
requires and why their history changed in French, numbers written the French way.
"""

from __future__ import annotations

import re
import subprocess

import pandas as pd
import pytest
from playwright.sync_api import expect

from labelkit import Project
from labelkit.gold import exams as gold_exams

from .conftest import LABELKIT, free_port, offline_page, screenshot

pytestmark = pytest.mark.e2e

LABELS = ["billing", "technical issue", "account", "feedback", "other"]  # digits 1–5
EXPLANATION = "A charge on the card is billing."
TIMEOUT = 20_000
# A key that repeats, within 400 ms, the one that brought a new screen is dropped (a double
# press): a person looks at the screen first, and so does the test.
LOOK_MS = 600


def make_project(path):
    rows = [{"id": f"w{i}", "text": f"work number {i}", "level": 1} for i in range(3)]
    rows += [
        {
            "id": f"b{i}",
            "text": f"exam question {i}",
            "level": 0,
            "gold": {"label": LABELS[i]},
            "exam": "basics",
            "gold_explanation": f"It is about {LABELS[i]}.",
        }
        for i in range(5)
    ]
    rows += [
        {
            "id": f"p{i}",
            "text": f"practice question {i}",
            "level": 0,
            "gold": {"label": "billing"},
            "exam": "warmup",
            "gold_explanation": EXPLANATION,
        }
        for i in range(2)
    ]
    with Project.create(path, "classification") as project:
        project.import_items(pd.DataFrame(rows), id_column="id", progress=False)
        project.configure_quality(
            honeypot_rate=0,
            exams={
                "basics": {"level": 1, "pass_rate": 0.8},
                "warmup": {"level": 0, "training": True},
            },
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


def shown_text(page) -> str:
    return page.locator(".lk-field-text .lk-field-body").inner_text()


def answer_exam(page, name: str, total: int, right: int, start: int = 0, stop=None) -> None:
    """Answer the exam on screen by keyboard, its items `start` to `stop` (default: the last):
    the first `right` rightly, the rest wrongly."""
    title = page.locator(".lk-exam-title")
    for n in range(start, total if stop is None else stop):
        expect(title).to_have_text(f"Exam {name} — {n}/{total}", timeout=TIMEOUT)
        i = int(re.search(r"exam question (\d+)", shown_text(page)).group(1))
        label = i if n < right else (i + 1) % len(LABELS)
        page.keyboard.press(str(label + 1))
        page.keyboard.press("Enter")


def test_a_new_annotator_passes_the_exam_before_getting_work(browser, tmp_path, serve_app):
    path = make_project(tmp_path / "p")
    port = free_port()
    link = add(path, "ana", port)
    serve_app(path, port=port)
    page = offline_page(browser)
    page.goto(link)
    keys = page.keyboard
    try:
        # No work for a level-0 annotator: the exams are offered instead.
        expect(page.locator(".lk-done")).to_be_visible(timeout=60_000)
        expect(page.locator(".lk-done-title")).to_have_text(
            "No work for you yet: pass an exam to unlock it."
        )
        expect(page.locator(".lk-path-requires")).to_have_text(
            "Pass the exam 'basics' (80% needed) to reach level 1."
        )
        exams = page.locator(".lk-done .lk-exam")
        expect(exams).to_have_count(2)
        expect(exams.nth(0)).to_have_attribute("data-exam", "warmup")
        expect(exams.nth(0).locator(".lk-exam-start")).to_have_text("Practice1")
        expect(exams.nth(1)).to_have_attribute("data-exam", "basics")
        expect(exams.nth(1).locator(".lk-exam-start")).to_have_text("Start2")
        expect(exams.nth(1).locator(".lk-exam-facts")).to_have_text(
            "level 1 · 80% to pass · 5 questions"
        )
        expect(page.locator(".lk-level-toggle")).to_contain_text("Level 0")
        assert page.locator(".lk-item").count() == 0
        screenshot(page, "exam-offered")

        # Training: after each answer, right or wrong and the explanation, with the next item.
        keys.press("1")
        title = page.locator(".lk-exam-title")
        expect(title).to_have_text("Practice warmup — 0/2", timeout=TIMEOUT)
        for hidden in (".lk-skip", ".lk-back", ".lk-escalate", ".lk-report"):
            expect(page.locator(hidden)).to_have_count(0)
        expect(page.locator(".lk-leave-exam")).to_be_visible()
        expect(page.locator(".lk-feedback")).to_have_count(0)
        expect(page.locator(".lk-exam-bar")).not_to_contain_text("null")  # the hint, no more
        keys.press("s")  # skip is off during an exam: nothing happens
        keys.press("e")
        expect(page.locator(".lk-form")).to_have_count(0)
        keys.press("5")  # "other": wrong
        keys.press("Enter")
        expect(title).to_have_text("Practice warmup — 1/2", timeout=TIMEOUT)
        feedback = page.locator(".lk-exam-bar .lk-feedback")
        expect(feedback).to_have_class(re.compile(r"\blk-fb-wrong\b"))
        expect(feedback.locator(".lk-fb-cue")).to_have_text("Previous answer: wrong.")
        expect(feedback.locator(".lk-fb-explanation")).to_have_text(EXPLANATION)
        assert "practice question" in shown_text(page)  # the explanation shows with the next item
        screenshot(page, "exam-training-feedback")
        keys.press("1")  # billing: right
        keys.press("Enter")
        result = page.locator(".lk-result")
        expect(result).to_be_visible(timeout=TIMEOUT)
        expect(page.locator(".lk-result-title")).to_have_text("Practice warmup finished.")
        expect(result.locator(".lk-feedback")).to_have_class(re.compile(r"\blk-fb-right\b"))
        expect(page.locator(".lk-result-score")).to_have_text(
            "Score 50% (80% needed) over 2 answers."
        )
        keys.press("Escape")  # close the result: the exams again
        expect(page.locator(".lk-done .lk-exam")).to_have_count(2, timeout=TIMEOUT)

        # The exam: no feedback per answer; failed with 2 of 5.
        keys.press("2")
        expect(title).to_have_text("Exam basics — 0/5", timeout=TIMEOUT)
        expect(page.locator(".lk-exam-hint")).to_contain_text("scored at the end")
        expect(page.locator(".lk-exam-bar")).not_to_contain_text("null")
        answer_exam(page, "basics", 5, right=2)
        expect(result).to_be_visible(timeout=TIMEOUT)
        expect(result).to_have_attribute("data-passed", "false")
        expect(page.locator(".lk-result-title")).to_have_text("You did not pass the exam basics.")
        expect(page.locator(".lk-result-score")).to_have_text(
            "Score 40% (80% needed) over 5 answers."
        )
        expect(page.locator(".lk-result-attempts")).to_have_text(
            "You may take it again as often as you need."
        )
        expect(page.locator(".lk-retake")).to_contain_text("Retake the exam")
        expect(page.locator(".lk-feedback")).to_have_count(0)
        expect(page.locator(".lk-actions")).to_be_hidden()
        screenshot(page, "exam-failed")

        # The retake (Enter), left after one answer and resumed where it stopped.
        page.wait_for_timeout(LOOK_MS)
        keys.press("Enter")
        expect(title).to_have_text("Exam basics — 0/5", timeout=TIMEOUT)
        answer_exam(page, "basics", 5, right=4, stop=1)
        expect(title).to_have_text("Exam basics — 1/5", timeout=TIMEOUT)
        keys.press("q")  # leave the exam
        expect(page.locator(".lk-done")).to_be_visible(timeout=TIMEOUT)
        resume = page.locator('.lk-exam[data-exam="basics"] .lk-exam-start')
        expect(resume).to_have_text("Resume2")
        keys.press("2")
        answer_exam(page, "basics", 5, right=4, start=1)

        # Passed: level 1, then level-1 work.
        expect(result).to_have_attribute("data-passed", "true", timeout=TIMEOUT)
        expect(page.locator(".lk-result-title")).to_have_text("You passed the exam basics.")
        expect(page.locator(".lk-result-level")).to_have_text("Your level is now 1.")
        expect(page.locator(".lk-level-toggle")).to_contain_text("Level 1")
        screenshot(page, "exam-passed")
        page.wait_for_timeout(LOOK_MS)
        keys.press("Enter")  # back to work
        expect(page.locator(".lk-item")).to_be_visible(timeout=TIMEOUT)
        assert shown_text(page) == "work number 0"
        expect(page.locator(".lk-skip")).to_be_visible()
        expect(page.locator(".lk-exam-bar")).to_be_hidden()

        # My level: the level, the gold figure, and what changed, when and why.
        keys.press("l")
        panel = page.locator(".lk-level")
        expect(panel).to_be_visible()
        expect(panel.locator(".lk-level-summary")).to_have_text("Level 1 · active")
        expect(panel.locator(".lk-level-gold")).to_contain_text("not enough gold answers yet")
        rows = panel.locator(".lk-history-row")
        expect(rows.first.locator(".lk-history-what")).to_have_text("Level 0 → 1")
        expect(rows.first.locator(".lk-history-why")).to_have_text(
            "passed the exam 'basics' with 0.80 (0.80 needed): level 1"
        )
        failed = panel.locator(".lk-history-what", has_text="Exam basics not passed")
        expect(failed).to_have_count(1)
        screenshot(page, "exam-level-panel")
        keys.press("Escape")
        expect(panel).to_be_hidden()

        keys.press("1")
        keys.press("Enter")
        expect(page.locator(".lk-progress .lk-stat").first).to_have_text("1 done", timeout=TIMEOUT)
        assert shown_text(page) == "work number 1"
        assert page.watch.console_errors == [] and page.watch.dialogs == []
    finally:
        page.context.close()

    with Project.open(path) as project:
        account = project.annotators.get("ana")
        assert account.level == 1 and account.status == "active"
        basics = [a for a in gold_exams.attempts(project, account.id) if a["exam"] == "basics"]
        assert [(a["passed"], a["score"]) for a in basics] == [(False, 0.4), (True, 0.8)]
        events = project.annotator_history("ana")
        assert [(e["kind"], e["old"], e["new"]) for e in events][:3] == [
            ("level", "0", "1"),
            ("exam", "basics", "passed"),
            ("exam", "basics", "failed"),
        ]
        table = project.annotations()
        assert list(table["item"]) == ["w0"]  # exam answers never became annotations


def test_a_french_annotator_reads_their_standing_in_french(browser, tmp_path, serve_app):
    path = make_project(tmp_path / "p")
    port = free_port()
    link = add(path, "zoe", port, "--locale", "fr")
    with Project.open(path) as project:  # a failed attempt (1 of 5 right), scripted
        zoe = project.annotators.get("zoe").id
        run = gold_exams.start(project, zoe, "basics")
        for item_id in run.item_ids:
            gold_exams.answer(project, run, item_id, {"label": "other"})
    serve_app(path, port=port)
    page = offline_page(browser)
    page.goto(link)
    nb = "\u00a0"  # French: a no-break space before ":" and "%", inside « »
    requires = f"Réussissez l’examen «{nb}basics{nb}» (80{nb}% requis) pour atteindre le niveau 1."
    try:
        expect(page.locator(".lk-done")).to_be_visible(timeout=60_000)
        expect(page.locator(".lk-path-requires")).to_have_text(requires)
        # Counts take French plural forms: 0 and 1 are singular.
        expect(page.locator(".lk-done-counts")).to_contain_text("0 réponse en tout")
        expect(page.locator(".lk-exam-facts").last).to_contain_text("5 questions")
        page.keyboard.press("l")
        panel = page.locator(".lk-level")
        expect(panel).to_be_visible()
        expect(panel.locator(".lk-level-requires")).to_have_text(requires)
        row = panel.locator(".lk-history-row").first
        expect(row.locator(".lk-history-what")).to_have_text("Examen basics non réussi")
        why = row.locator(".lk-history-why")
        expect(why).to_have_text(f"examen «{nb}basics{nb}» non réussi avec 0,20 (0,80 requis)")
        assert why.inner_text() == f"examen «{nb}basics{nb}» non réussi avec 0,20 (0,80 requis)"
        screenshot(page, "exam-level-panel-fr")
        assert page.watch.console_errors == [] and page.watch.dialogs == []
    finally:
        page.context.close()
