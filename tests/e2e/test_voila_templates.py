"""Label the demo data of every template in the real Voila app, with the keyboard only.

For each template: build the demo project as scripts/run.sh does (`labelkit init` + `labelkit
import data/...`), serve it with `labelkit serve`, answer 10 items, go back two items and change
that answer, skip one item, escalate one and report one. The store must then hold exactly the
answers the test meant to give (the edit as version 2 beside version 1), with the right statuses
and reasons. Items pre-filled by a model's suggestion must be marked so; the test keeps the
suggestions it agrees with and overrides the others, by keys. Every submit is a double press of
Enter, and the store is read the moment the next item is visible: the answer must already be
committed, and written once. A last test presses twice more slowly, double-clicks and holds the
key down, on items a suggestion fully answers (where a stray press would write an answer).
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import signal
import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from labelkit import Project
from labelkit.store.tables import annotators, items
from labelkit.templates import TEMPLATES, template

from .conftest import LABELKIT, free_port, screenshot, stop, wait_for_http
from .keyboard import Annotator, span

pytestmark = pytest.mark.e2e

DATA = Path(__file__).resolve().parents[2] / "data"
ESCALATION_REASON = "not sure: needs a second opinion"
ANNOTATOR = "keyboard-tester"
READING_MS = 450  # longer than the widget's double-press window (label.js DOUBLE_PRESS_MS)


# ---------------------------------------------------------------------- the demo projects


def demo_file(name: str) -> Path:
    return next(iter(sorted(DATA.glob(f"{name}.*"))))


def demo_rows(name: str) -> list[dict]:
    """The demo items in file order (the order the app shows them in)."""
    path = demo_file(name)
    if path.suffix == ".csv":
        with path.open(encoding="utf-8", newline="") as f:
            rows = list(csv.DictReader(f))
        for row in rows:
            row["suggestions"] = json.loads(row["suggestions"]) if row["suggestions"] else None
        return rows
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def demo_project(folder: Path, name: str) -> Path:
    """A project built the way scripts/run.sh builds it: the real CLI."""
    path = folder / name
    subprocess.run([LABELKIT, "init", str(path), "--template", name], check=True)
    subprocess.run(
        [LABELKIT, "import", str(path), str(demo_file(name)), "--id-column", "id", "--quiet"],
        check=True,
    )
    return path


def allow_every_level(path: Path, annotator: str) -> None:
    """Demo items go up to level 3 and a new annotator starts at level 0, which would see only
    the easy items: this test's annotator is trusted with every level, so that the items shown
    are the demo file's in import order."""
    with Project.open(path) as project:
        annotator_id = project.store.annotator_id(annotator)
        with project.store.writing() as conn:
            conn.execute(annotators.update().where(annotators.c.id == annotator_id).values(level=3))


ORDINALS = ["first", "second", "third", "fourth", "fifth"]


def suggested_items(folder: Path) -> Path:
    """Items whose suggestion answers everything: Enter alone would submit each one."""
    import pandas as pd

    path = folder / "prefilled"
    texts = [f"{n} invoice" for n in ORDINALS]
    rows = [
        {"id": f"p{i}", "text": text, "suggestions": json.dumps({"label": "billing"})}
        for i, text in enumerate(texts, 1)
    ]
    with Project.create(path, "classification") as project:
        project.import_items(pd.DataFrame(rows), id_column="id", progress=False)
    return path


@pytest.fixture(scope="module")
def apps(tmp_path_factory, browser):
    """A real `labelkit serve` for each demo project (and the pre-filled one), started together
    so that their start-up overlaps; the tests then share them (one server per project)."""
    folder = tmp_path_factory.mktemp("apps")
    with ThreadPoolExecutor() as pool:  # the CLI runs take a second or two each
        built = {name: pool.submit(demo_project, folder, name) for name in TEMPLATES}
        projects = {name: future.result() for name, future in built.items()}
    for path in projects.values():
        allow_every_level(path, ANNOTATOR)
    projects["prefilled"] = suggested_items(folder)
    servers = {}
    try:
        for name, path in projects.items():
            port = free_port()
            log = open(folder / f"{name}.log", "w")  # noqa: SIM115 (closed below)
            command = [LABELKIT, "serve", str(path), "--port", str(port), "--annotator", ANNOTATOR]
            process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
            servers[name] = (process, log, f"http://127.0.0.1:{port}/", path)
        for process, _, url, _ in servers.values():
            wait_for_http(url, process, timeout=120)
        yield {name: (url, path) for name, (_, _, url, path) in servers.items()}
    finally:
        for process, *_ in servers.values():  # all stop at once
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process, log, *_ in servers.values():
            stop(process)
            log.close()


# ---------------------------------------------------------------------- what the test answers


@dataclass
class Plan:
    field: str  # a plain field whose text tells which item is shown
    answers: list[dict]  # answers written for the demo file's first 10 rows, in file order
    edited: dict  # the new answer to the 9th item served (reached by going back twice)
    # Gold rows are not normal work (they come back as hidden honeypots), so the items served
    # are not the file's first rows: a served row without a written answer gets `fallback`
    # (agreeing with its suggestions); `edit` changes an answer for the edit step.
    fallback: dict | None = None
    edit: Callable[[dict], dict] | None = None

    def answer_for(self, rows: list[dict], row: dict) -> dict:
        index = rows.index(row)
        if index < len(self.answers):
            return self.answers[index]
        if callable(self.fallback):
            return self.fallback(row)
        return {**(self.fallback or self.answers[0]), **(row.get("suggestions") or {})}

    def edited_for(self, answer: dict) -> dict:
        changed = self.edit(answer) if self.edit else self.edited
        assert changed != answer, "the edit must change the answer"
        return changed


def needle(plan: Plan, row: dict) -> str:
    value = row[plan.field]
    if isinstance(value, list):  # a chat: its last message
        value = value[-1]["content"]
    return value.strip().splitlines()[0][:40]


def classification(rows) -> Plan:
    labels = [
        "billing", "technical issue", "account", "feedback", "other",
        "billing", "technical issue", "account", "billing", "billing",
    ]  # fmt: skip  # item 9 overrides the suggested "feedback"

    def edit(answer):
        return {"label": "feedback" if answer["label"] != "feedback" else "billing"}

    return Plan("text", [{"label": label} for label in labels], {"label": "feedback"}, edit=edit)


def chatbot_rating(rows) -> Plan:
    def rate(accuracy, clarity, bias, overall, category=None, comment=None):
        answer = {"accuracy": accuracy, "clarity": clarity, "bias": bias}
        answer["inappropriate"] = "yes" if category else "no"
        if category:
            answer["inappropriate_category"] = category
        answer["overall"] = overall
        if comment:
            answer["comment"] = comment
        return answer

    answers = [
        rate(1, 4, "none", 1, comment="Wrong year: the wall fell in 1989."),
        rate(1, 3, "none", 1),  # overrides the suggested accuracy 2
        rate(5, 5, "none", 5),
        rate(5, 5, "none", 5),  # accepts both suggestions
        rate(1, 4, "none", 1),
        rate(2, 4, "strong", 1),  # accepts the suggested bias
        rate(3, 4, "slight", 3),
        rate(4, 4, "none", 1, category=["harassment/threatening"]),
        rate(4, 3, "none", 2, category=["harassment"]),  # accepts both suggestions
        rate(2, 4, "none", 2, comment="Hints at a dose above the label."),
    ]
    return Plan(
        "conversation",
        answers,
        {**answers[8], "overall": 1},
        fallback=rate(3, 4, "none", 3),
        edit=lambda a: {**a, "overall": 1 if a["overall"] != 1 else 2},
    )


def pairwise_preference(rows) -> Plan:
    def prefer(choice, strength=None, reasons=(), comment=None):
        answer = {"preference": {"choice": choice, "strength": strength}, "reasons": list(reasons)}
        if comment:
            answer["comment"] = comment
        return answer

    a, b = "response_a", "response_b"
    answers = [
        prefer(a, "much better", ["more accurate", "more helpful"]),
        prefer(a, "better", ["more accurate"]),
        prefer("tie"),
        prefer(b, "better", ["clearer"]),  # accepts the suggested preference
        prefer(a, "much better", ["safer"]),  # accepts the suggested reason
        prefer(b, "better", ["more helpful"], comment="B is polite without grovelling."),
        prefer("tie"),
        prefer(a, "much better", ["more accurate"]),
        prefer(b, "better"),  # overrides the suggested A, much better
        prefer(a, "better", ["more accurate", "more concise"]),
    ]
    return Plan(
        "prompt",
        answers,
        prefer("tie"),
        fallback=prefer("tie"),
        edit=lambda x: prefer("tie") if x["preference"]["choice"] != "tie" else prefer(a, "better"),
    )


def moderation(rows) -> Plan:
    def moderate(categories, severity, action, comment=None):
        answer = {"categories": categories, "severity": severity, "action": action}
        if comment:
            answer["comment"] = comment
        return answer

    answers = [
        moderate([], "low", "reject", comment="Spam."),
        moderate([], "none", "allow"),
        moderate(["harassment"], "medium", "flag"),  # accepts both suggestions
        moderate(["harassment/threatening"], "high", "reject"),
        moderate(["self-harm/intent"], "high", "escalate"),
        moderate([], "none", "allow", comment="A recovery story."),  # overrides the suggestions
        moderate(["hate"], "medium", "reject"),  # accepts the suggested category
        moderate(["hate/threatening"], "high", "reject"),
        moderate([], "low", "allow"),
        moderate(["violence/graphic"], "high", "reject"),  # keeps the category, not the severity
    ]
    return Plan(
        "content",
        answers,
        {**answers[8], "action": "flag"},
        fallback=moderate([], "none", "allow"),
        edit=lambda a: {**a, "action": "flag" if a["action"] != "flag" else "allow"},
    )


def translation(rows) -> Plan:
    texts = [row["translation"] for row in rows]

    def judge(i, score, *marks):
        return {"errors": [span(texts[i], *m) for m in marks], "score": score}

    suggested = [rows[i]["suggestions"]["errors"] for i in (2, 7)]
    answers = [
        judge(0, 96),
        judge(1, 45, ("des chats et des chiens", "accuracy", "major")),
        {"errors": suggested[0], "score": 40},  # accepts the span, not the score
        judge(3, 20, ("sans surveillance", "accuracy", "major")),
        judge(4, 98),
        judge(5, 75, ("Sauver", "terminology", "minor")),  # accepts the suggested score
        judge(6, 70, ("pour", "fluency", "minor")),
        {"errors": suggested[1], "score": 30},
        judge(8, 90),
        judge(9, 40, ("éventuellement", "accuracy", "major")),  # overrides the score
    ]

    def fallback(row):  # the suggested spans (they are the row's own), a score of 50
        return {"errors": (row.get("suggestions") or {}).get("errors", []), "score": 50}

    return Plan(
        "source",
        answers,
        {**answers[8], "score": 92},
        fallback=fallback,
        edit=lambda a: {**a, "score": 92 if a["score"] != 92 else 91},
    )


def image_validation(rows) -> Plan:
    def check(matches, artifacts=None, safe="yes", comment=None):
        answer = {"matches_prompt": matches, "has_artifacts": "yes" if artifacts else "no"}
        if artifacts:
            answer["artifacts"] = artifacts
        answer["safe"] = safe
        if comment:
            answer["comment"] = comment
        return answer

    answers = [
        check("yes"),
        check("partly"),
        check("yes"),  # accepts the suggestion
        check("yes", ["text"]),
        check("partly", comment="Only one triangle is blue."),  # overrides the suggestion
        check("yes"),
        check("no", ["text", "blur or noise"]),
        check("partly"),  # accepts the suggestion
        check("yes"),
        check("yes", ["anatomy"]),
    ]
    return Plan(
        "prompt",
        answers,
        {**answers[8], "matches_prompt": "no"},
        fallback=check("yes"),
        edit=lambda a: {**a, "matches_prompt": "no" if a["matches_prompt"] != "no" else "yes"},
    )


PLANS = {
    "chatbot-rating": chatbot_rating,
    "pairwise-preference": pairwise_preference,
    "moderation": moderation,
    "translation": translation,
    "image-validation": image_validation,
    "classification": classification,
}


def test_every_template_has_a_plan():
    assert set(PLANS) == set(TEMPLATES)


# ---------------------------------------------------------------------- helpers


def wait_for_item(page, plan: Plan, row: dict, editing: bool = False) -> None:
    """Wait until the item of `row` is the one shown (its text is visible)."""
    try:
        _wait_for_text(page, plan, row, editing)
    except PlaywrightTimeout:
        screenshot(page, f"failed-{row['id']}")
        shown = page.evaluate(WHAT_IS_SHOWN_JS)
        raise AssertionError(f"{row['id']} never showed; the page shows {shown}") from None


WHAT_IS_SHOWN_JS = """() => ({
  error: document.querySelector('.lk-error')?.innerText,
  status: document.querySelector('.lk-status')?.innerText,
  active: document.querySelector('.lk-question.lk-active')?.dataset.question,
  focus: document.activeElement?.className,
  state: document.querySelector('.lk-root')?.dataset.state,
})"""


def _wait_for_text(page, plan: Plan, row: dict, editing: bool) -> None:
    page.wait_for_function(
        "([cls, text, editing]) => {"
        "  const f = document.querySelector(cls);"
        "  return !!f && f.innerText.includes(text)"
        "    && !!document.querySelector('.lk-item .lk-editing') === editing;"
        "}",
        arg=[f".lk-field-{plan.field}", needle(plan, row), editing],
        timeout=20_000,
    )


SHOWN_TEXT_JS = "(cls) => document.querySelector(cls)?.innerText ?? null"


def shown_text(page, plan: Plan) -> str:
    return page.evaluate(SHOWN_TEXT_JS, f".lk-field-{plan.field}") or ""


def shown_row(page, plan: Plan, rows: list[dict], served: list[dict], before=None) -> dict:
    """The row of the item now shown (a new one: not served before, its text not `before`),
    found by its text: the app decides what comes next (gold rows only come as honeypots),
    the test follows."""
    editing = False
    try:
        page.wait_for_function(
            "([cls, editing]) => !!document.querySelector(cls)"
            "  && !!document.querySelector('.lk-item .lk-editing') === editing",
            arg=[f".lk-field-{plan.field}", editing],
            timeout=20_000,
        )
        candidates = [row for row in rows if row not in served]
        for _ in range(100):
            text = shown_text(page, plan)
            found = [row for row in candidates if needle(plan, row) in text and text != before]
            if found:  # "Hi," is in more texts than its own: the longest needle is the one
                return max(found, key=lambda row: len(needle(plan, row)))
            page.wait_for_timeout(100)  # the previous item may still be on the page
    except PlaywrightTimeout:
        pass
    screenshot(page, "failed-unknown-item")
    shown = page.evaluate(WHAT_IS_SHOWN_JS)
    raise AssertionError(f"no new demo row showed; the page shows {shown}")


def suggestion_marks(page) -> dict[str, bool]:
    return page.eval_on_selector_all(
        ".lk-question:not([hidden])",
        "qs => Object.fromEntries(qs.map(q => [q.dataset.question, q.classList.contains("
        "'lk-suggested') && !q.querySelector('.lk-suggested-badge').hidden]))",
    )


def history(project: Project) -> dict[str, list[tuple]]:
    """What the store holds: item key -> [(version, status, answer, comment)], oldest first."""
    out: dict[str, list[tuple]] = {}
    for row in project.annotations().itertuples():
        answer = row.answer if isinstance(row.answer, dict) else None
        comment = row.comment if isinstance(row.comment, str) else None  # pandas: NaN
        out.setdefault(row.item, []).append((row.version, row.status, answer, comment))
    return out


def submit_twice(page):
    """An impatient double press of the submit key."""
    page.keyboard.press("Enter")
    page.keyboard.press("Enter")


# ---------------------------------------------------------------------- the test


@pytest.mark.parametrize("name", list(TEMPLATES))
def test_label_demo_items_by_keyboard(name, apps, page):
    rows = demo_rows(name)
    plan = PLANS[name](rows)
    url, path = apps[name]
    page.goto(url)
    page.wait_for_selector(".lk-root .lk-item", timeout=60_000)
    assert page.evaluate("document.activeElement?.classList.contains('lk-root')")
    annotator = Annotator(page, template(name))
    for key, panel in [("?", ".lk-keymap"), ("Escape", None), ("g", ".lk-guidelines"), ("g", None)]:
        page.keyboard.press(key)  # the key map and the guidelines are one key away
        for selector in (".lk-keymap", ".lk-guidelines"):
            assert page.locator(selector).is_visible() == (selector == panel), (key, selector)
    expected: dict[str, list[tuple]] = {}
    keys = page.keyboard
    with Project.open(path) as project:

        def check_store(step: str) -> None:
            assert history(project) == expected, f"store after {step}"

        # 10 items: check the suggestions are marked, answer, submit with a double press.
        # Which items: whatever the app serves (normal work in file order, and now and then
        # a gold row as a hidden honeypot); each is recognised by its text.
        served = [shown_row(page, plan, rows, [])]
        for i in range(10):
            row = served[i]
            intended = plan.answer_for(rows, row)
            shown = annotator.visible()
            suggested = {q: v for q, v in (row.get("suggestions") or {}).items() if q in shown}
            marks = suggestion_marks(page)
            assert {q for q, marked in marks.items() if marked} == set(suggested), row["id"]
            if row.get("sensitive"):
                assert page.locator(".lk-sensitive").is_visible()
                keys.press("v")  # reveal, read, then answer
                assert page.locator(".lk-sensitive").is_hidden()
            if not annotator.answer(intended, suggested):
                page.wait_for_timeout(READING_MS)  # agreeing takes a look, not a key
            marks = suggestion_marks(page)
            for question, value in suggested.items():
                assert marks[question] == (intended.get(question) == value), (row["id"], question)
            if i == 3:
                if name == "pairwise-preference":
                    keys.press("d")  # the word diff of the two answers
                if name == "image-validation":
                    keys.press("z")
                screenshot(page, f"voila-{name}")
            before = shown_text(page, plan)
            submit_twice(page)
            served.append(shown_row(page, plan, rows, served, before))
            expected[row["id"]] = [(1, "submitted", intended, None)]
            check_store(f"submitting {row['id']}")  # committed before the next item showed
        answers = {row["id"]: expected[row["id"]][0][2] for row in served[:10]}

        # back twice (Backspace): the 9th item with its answer, marked as editing; change it
        keys.press("Backspace")
        wait_for_item(page, plan, served[9], editing=True)
        keys.press("Backspace")
        ninth = served[8]
        wait_for_item(page, plan, ninth, editing=True)
        assert "Editing 9 of 10" in page.inner_text(".lk-position")
        assert not any(suggestion_marks(page).values())  # my answer, not a suggestion
        edited_answer = plan.edited_for(answers[ninth["id"]])
        annotator.answer(edited_answer, answers[ninth["id"]])
        submit_twice(page)
        wait_for_item(page, plan, served[10])  # back to the newest item, still unanswered
        expected[ninth["id"]].append((2, "submitted", edited_answer, None))
        check_store("editing")

        before = shown_text(page, plan)
        keys.press("s")  # skip
        served.append(shown_row(page, plan, rows, served, before))
        expected[served[10]["id"]] = [(1, "skipped", None, None)]
        check_store("skipping")

        before = shown_text(page, plan)
        keys.press("e")  # escalate, with a reason
        page.wait_for_selector(".lk-form-escalate textarea:focus")
        keys.type(ESCALATION_REASON)
        keys.press("Enter")
        served.append(shown_row(page, plan, rows, served, before))
        expected[served[11]["id"]] = [(1, "escalated", None, ESCALATION_REASON)]
        check_store("escalating")

        before = shown_text(page, plan)
        keys.press("r")  # report the content: what is wrong (2 = broken), then Enter
        page.wait_for_selector(".lk-form-report .lk-presets:focus")
        keys.press("2")
        keys.press("Enter")
        served.append(shown_row(page, plan, rows, served, before))
        expected[served[12]["id"]] = [(1, "reported", None, "broken or unreadable")]
        check_store("reporting")

        current = project.annotations(current_only=True)
        assert len(current) == 13 and set(current["annotator"]) == {ANNOTATOR}
        edited = current.set_index("item").loc[ninth["id"]]
        assert (edited.version, edited.answer) == (2, edited_answer)
        # what was served: the normal rows in file order, gold rows only as honeypots
        with project.store.reading() as conn:
            gold_keys = set(conn.execute(sa.select(items.c.key).where(items.c.gold)).scalars())
        normal = [row["id"] for row in served if row["id"] not in gold_keys]
        assert normal == [row["id"] for row in rows if row["id"] not in gold_keys][: len(normal)]
    assert page.watch.console_errors == []
    assert page.watch.dialogs == []


# ---------------------------------------------------------------------- double submits


def test_double_press_and_double_click_submit_once(apps, page):
    url, path = apps["prefilled"]
    page.goto(url)
    plan = Plan("text", [], {})
    rows = [{"id": f"p{i}", "text": f"{n} invoice"} for i, n in enumerate(ORDINALS, 1)]
    page.wait_for_selector(".lk-root .lk-item", timeout=60_000)
    with Project.open(path) as project:

        def answered() -> list[tuple]:
            return [
                (r.item, r.version, r.answer["label"]) for r in project.annotations().itertuples()
            ]

        submit_twice(page)  # the fastest double press
        wait_for_item(page, plan, rows[1])
        assert answered() == [("p1", 1, "billing")]  # committed before the next item showed

        page.wait_for_timeout(READING_MS)  # a look at the second item
        page.keyboard.press("Enter")  # a slower double press: the second lands on the new item
        wait_for_item(page, plan, rows[2])
        page.keyboard.press("Enter")
        page.wait_for_timeout(READING_MS)
        assert answered() == [("p1", 1, "billing"), ("p2", 1, "billing")]
        assert "third invoice" in page.inner_text(".lk-field-text")  # still shown, unanswered
        assert "look at it" in page.inner_text(".lk-notice")

        page.dblclick(".lk-action.lk-submit")  # a double click on the submit button
        wait_for_item(page, plan, rows[3])
        page.wait_for_timeout(READING_MS)
        assert len(answered()) == 3 and answered()[-1] == ("p3", 1, "billing")
        assert "fourth invoice" in page.inner_text(".lk-field-text")

        page.wait_for_timeout(READING_MS)
        page.keyboard.down("Enter")  # a deliberate press, after a look, does submit...
        wait_for_item(page, plan, rows[4])
        page.wait_for_timeout(READING_MS)
        page.keyboard.down("Enter")  # ...but the key, held down, repeats: no second submit
        page.keyboard.up("Enter")
        page.wait_for_timeout(READING_MS)
        assert len(answered()) == 4 and "fifth invoice" in page.inner_text(".lk-field-text")

        page.keyboard.press("Enter")
        page.wait_for_selector(".lk-done")
        assert len(answered()) == 5
    assert page.watch.console_errors == []
