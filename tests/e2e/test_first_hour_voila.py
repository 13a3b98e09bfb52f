"""What a new user sees in their first hour, through the real `labelkit serve`.

An annotator opens their link to a text task with no pay and no exams: Back is off on the very
first item, the key map lists only the keys the task uses, the goal button says what it does,
and the all-done screen counts the last answer as the header does, with no pay, no timer and no
"null" anywhere. A reviewer of an image task sees the item's metadata (hostile text, shown as
text), "could not be displayed" for a broken image, no revoked-URL errors while the screens
repaint, and the keys pressed while an action is in flight take effect in order. The
annotator of the same items never receives the metadata.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from playwright.sync_api import expect

from labelkit import Project

from .conftest import LABELKIT, free_port, offline_page, screenshot

pytestmark = pytest.mark.e2e

TIMEOUT = 20_000
IMAGES = Path(__file__).resolve().parents[2] / "data" / "images"
# Item metadata is dataset text: hostile, for reviewers' eyes only.
METADATA = '<img src=x onerror=alert("meta")>crawled from forum-42'
NO_NULL = re.compile(r"\bnull\b")


def add(path, name: str, *options: str) -> str:
    """`labelkit annotators add`: the person's link (the last line printed)."""
    output = subprocess.run(
        [LABELKIT, "annotators", "add", str(path), name, *options],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return output.strip().splitlines()[-1]


# ---------------------------------------------------------------------- the annotator


def test_a_new_annotator_sees_only_what_applies(browser, tmp_path, serve_app):
    path = tmp_path / "p"
    rows = [{"id": f"t{i}", "text": f"message number {i}"} for i in range(3)]
    with Project.create(path, "classification") as project:
        project.import_items(pd.DataFrame(rows), id_column="id", progress=False)
    port = free_port()
    link = add(path, "ana", "--port", str(port))
    serve_app(path, port=port)
    page = offline_page(browser)
    page.goto(link)
    keys = page.keyboard
    root = page.locator(".lk-root")
    try:
        expect(page.locator(".lk-item")).to_be_visible(timeout=60_000)
        # The very first item: nothing to go back to, and the page says so without asking.
        expect(page.locator(".lk-action.lk-back")).to_be_disabled()
        keys.press("Backspace")
        expect(page.locator(".lk-notice")).to_have_text("There is no earlier item to go back to.")
        expect(page.locator(".lk-error")).to_be_hidden()
        # The goal button says what it does (not "Goal…", which reads as cut-off text).
        expect(page.locator(".lk-goal-edit")).to_have_text("Change goal")

        # The key map of a one-question text task: no diff, zoom, spans, lists, exams, reveal.
        keys.press("?")
        keymap = page.locator(".lk-keymap")
        expect(keymap).to_be_visible()
        expect(keymap).to_contain_text("Pick / toggle an option")
        expect(keymap).to_contain_text("Show or hide the guidelines")
        for absent in (
            "Word diff",
            "Zoom images",
            "Spans:",
            "Lists (ranking",
            "Slider ±1",
            "Next question",
            "A is better",
            "sensitive content",
            "start exam",
        ):
            expect(keymap).not_to_contain_text(absent)
        expect(keymap.locator(".lk-keymap-title")).to_have_text(["Actions", "Questions", "View"])
        screenshot(page, "first-hour-keymap")
        keys.press("Escape")

        # Panels with nothing to list say so, without a stray "null".
        page.locator(".lk-prefs-toggle").click()
        expect(page.locator(".lk-prefs")).to_contain_text("My daily goal: 100 answers.")
        expect(root).not_to_contain_text(NO_NULL, use_inner_text=True)
        page.locator(".lk-prefs .lk-close").click()
        keys.press("l")
        expect(page.locator(".lk-level")).to_be_visible()
        expect(root).not_to_contain_text(NO_NULL, use_inner_text=True)
        keys.press("Escape")

        for n in range(1, 4):
            keys.press("1")
            keys.press("Enter")
            expect(page.locator(".lk-progress .lk-stat").first).to_have_text(
                f"{n} done", timeout=TIMEOUT
            )
            if n == 1:  # an earlier item now: Back works
                expect(page.locator(".lk-action.lk-back")).to_be_enabled()

        # All done: the body counts the last answer as the header does; no pay, no timer.
        done = page.locator(".lk-done")
        expect(done).to_be_visible(timeout=TIMEOUT)
        expect(page.locator(".lk-today-count")).to_have_text("Today 3 / 100")
        expect(page.locator(".lk-done-counts")).to_contain_text("3 today (goal 100)")
        expect(page.locator(".lk-timer")).to_be_hidden()
        expect(page.locator(".lk-day")).not_to_contain_text("€")
        expect(page.locator(".lk-day")).not_to_contain_text("/h")
        for absent in ("median", "--:--", "00:00", "Earned"):
            expect(root).not_to_contain_text(absent, use_inner_text=True)
        expect(root).not_to_contain_text(NO_NULL, use_inner_text=True)
        expect(page.locator(".lk-action.lk-back")).to_be_enabled()
        screenshot(page, "first-hour-all-done")
        assert page.watch.console_errors == [] and page.watch.dialogs == []
    finally:
        page.context.close()


# ---------------------------------------------------------------------- the reviewer


@pytest.fixture
def image_project(tmp_path):
    """Three images checked by ana and bo (overlap 3: one answer left for zed), the middle one
    broken (its bytes are no image), each with hostile metadata."""
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"these bytes are no image at all")
    images = [IMAGES / "img-001.png", broken, IMAGES / "img-002.png"]
    rows = [
        {
            "id": f"i{i}",
            "prompt": f"prompt number {i}",
            "image": str(image),
            "metadata": {"source": f"{METADATA} #{i}", "seed": 100 + i},
        }
        for i, image in enumerate(images)
    ]
    path = tmp_path / "images"
    answer = {"matches_prompt": "yes", "has_artifacts": "no", "safe": "yes"}
    with Project.create(path, "image-validation", overlap=3) as project:
        project.import_items(pd.DataFrame(rows), id_column="id", progress=False)
        project.configure_quality(honeypot_rate=0)
        for i in range(3):
            project.submit(f"i{i}", answer, annotator="ana")
            project.submit(f"i{i}", answer | {"safe": "no"}, annotator="bo")
    return path


def verdicts(path) -> list[tuple]:
    with Project.open(path) as project, project.store.reading() as conn:
        return conn.exec_driver_sql(
            "SELECT i.key, a.name, r.verdict FROM reviews r "
            "JOIN annotations n ON n.id = r.annotation_id JOIN items i ON i.id = n.item_id "
            "JOIN annotators a ON a.id = n.annotator_id ORDER BY r.id"
        ).all()


def test_a_reviewer_sees_metadata_broken_images_and_keys_in_order(
    browser, image_project, serve_app
):
    label_port, review_port = free_port(), free_port()
    ports = ("--port", str(label_port), "--review-port", str(review_port))
    rita = add(image_project, "rita", "--role", "reviewer", *ports)
    zed = add(image_project, "zed", *ports)
    serve_app(image_project, "--app", "review", port=review_port)
    serve_app(image_project, port=label_port)

    page = offline_page(browser)
    page.goto(rita)
    keys = page.keyboard
    try:
        expect(page.locator(".lk-review")).to_be_visible(timeout=60_000)
        keys.press("3")  # one annotator's answers: ana's, oldest first (i0, i1, i2)
        keys.press("Enter")
        item = page.locator(".lk-review-entry")
        expect(item).to_have_attribute("data-item", "i0", timeout=TIMEOUT)
        # The metadata, for the reviewer: as text (no script ran, no image tag made of it).
        metadata = page.locator(".lk-metadata")
        expect(metadata).to_contain_text("Item metadata (reviewers only)")
        expect(metadata.locator("dd")).to_have_text(["100", f"{METADATA} #0"])
        assert metadata.locator("img").count() == 0
        image = item.locator(".lk-field[data-field='image'] img")
        expect(image).to_be_visible()
        assert image.evaluate("img => img.complete && img.naturalWidth > 0")

        # Keys pressed while an action is in flight wait their turn: skip i0, accept i1.
        keys.press("s")
        keys.press("a")
        keys.press("Enter")
        expect(page.locator(".lk-counts")).to_have_text(
            "1 accepted · 0 rejected · 1 skipped", timeout=TIMEOUT
        )
        expect(item).to_have_attribute("data-item", "i2")
        assert verdicts(image_project) == [("i1", "ana", "accepted")]

        # Back to the menu and into the sample at once: "m" then "1".
        keys.press("m")
        keys.press("1")
        expect(page.locator(".lk-review-answer")).to_be_visible(timeout=TIMEOUT)
        expect(page.locator(".lk-review-progress")).to_contain_text("answer 1 of")

        # A broken image says so, as in the labeling app: walk the sample to bo's answer on i1.
        progress = page.locator(".lk-review-progress .lk-stat").first
        for n in range(1, 6):
            expect(progress).to_have_text(re.compile(rf"answer {n} of 5"), timeout=TIMEOUT)
            if item.get_attribute("data-item") == "i1":
                break
            keys.press("s")
        expect(item).to_have_attribute("data-item", "i1")
        field = item.locator(".lk-field[data-field='image']")
        expect(field.locator(".lk-placeholder")).to_have_text("image could not be displayed")
        expect(field.locator("img")).to_have_count(0)
        expect(metadata.locator("dd").last).to_have_text(f"{METADATA} #1")
        screenshot(page, "first-hour-review-metadata")
        keys.press("?")
        keys.press("?")
        assert not [e for e in page.watch.console_errors if "ERR_FILE_NOT_FOUND" in e]
        assert page.watch.console_errors == [] and page.watch.dialogs == []
    finally:
        page.context.close()

    # The annotator of the same items: the metadata never reaches their browser.
    page = offline_page(browser)
    frames: list[str] = []
    page.on(
        "websocket",
        lambda ws: ws.on("framereceived", lambda data: frames.append(str(data))),
    )
    page.goto(zed)
    try:
        expect(page.locator(".lk-item")).to_be_visible(timeout=60_000)
        expect(page.locator(".lk-field-prompt")).to_contain_text("prompt number 0")
        page.keyboard.press("?")
        keymap = page.locator(".lk-keymap")
        expect(keymap).to_contain_text("Zoom images")  # an image task: zoom applies
        expect(keymap).to_contain_text("Next question")
        expect(keymap).not_to_contain_text("Word diff")
        page.keyboard.press("Escape")
        for key in ("1", "2", "1", "Enter"):  # matches, no artifacts, safe: the next item
            page.keyboard.press(key)
        expect(page.locator(".lk-field-prompt")).to_contain_text("prompt number 1", timeout=TIMEOUT)
        assert len(frames) > 3
        assert not [f for f in frames if "forum-42" in f]
        assert "forum-42" not in page.content()
        assert page.watch.console_errors == [] and page.watch.dialogs == []
    finally:
        page.context.close()
