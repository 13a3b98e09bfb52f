"""A team labels one project through the real `labelkit serve`, each with a personal link.

Two browser contexts (two people) open two different links and label at the same time: each
page says who it labels for and counts only its own work, and every answer in the store belongs
to the owner of the link it was given through. A page without a link, with a wrong link or with
a suspended annotator's link shows a page that says so, and no labeling widget; suspending
someone who is labeling ends their next action.
"""

from __future__ import annotations

import re
import subprocess

import pandas as pd
import pytest
from playwright.sync_api import expect

from labelkit import Project
from labelkit.project import DB_URL_VARIABLE

from .conftest import LABELKIT, free_port, offline_page, screenshot

pytestmark = pytest.mark.e2e

ITEMS = 12
ROUNDS = 3
LABELS = {"alice": ("1", "billing"), "bob": ("2", "technical issue")}  # the digit picks the label


def open_page(browser, url: str):
    """A page in a browser context of its own (its own cookies: another person)."""
    page = offline_page(browser)
    page.goto(url)
    return page


def cli(*args: str) -> str:
    return subprocess.run(
        [LABELKIT, "annotators", *args], check=True, capture_output=True, text=True
    ).stdout


def add(path, name: str, port: int, db: tuple[str, ...] = ()) -> str:
    """`labelkit annotators add`; returns the link it printed."""
    output = cli("add", str(path), name, "--host", "127.0.0.1", "--port", str(port), *db)
    link = output.strip().splitlines()[-1]
    assert re.fullmatch(rf"http://127\.0\.0\.1:{port}/\?token=[A-Za-z0-9_-]{{43}}", link)
    return link


def shown_item(page) -> str:
    """The key of the item on screen (its text is "message number N")."""
    text = page.locator(".lk-field-text").inner_text()
    number = int(re.search(r"message number (\d+)", text).group(1))
    return f"t{number:02d}"


def done_count(page) -> int:
    return int(page.locator(".lk-progress .lk-stat").first.locator("strong").inner_text())


def answers(path, db_url: str | None = None) -> pd.DataFrame:
    with Project.open(path, db_url=db_url) as project:
        table = project.annotations()
    table["label"] = [answer and answer.get("label") for answer in table["answer"]]
    return table


def expect_refused(page, text: str) -> None:
    denied = page.locator(".lk-access-denied")
    expect(denied).to_be_visible(timeout=60_000)
    expect(denied).to_contain_text(text)
    assert page.locator(".lk-root").count() == 0  # no widget at all


def make_project(path, db_url: str | None = None):
    """The team's project. On PostgreSQL its folder does not name the database (as when the URL
    holds a password): every command is told with --db, and `serve --db` tells the kernels."""
    rows = [{"id": f"t{i:02d}", "text": f"message number {i}"} for i in range(ITEMS)]
    with pytest.MonkeyPatch.context() as patch:
        if db_url:
            patch.setenv(DB_URL_VARIABLE, db_url)
        with Project.create(path, "classification") as project:
            project.import_items(pd.DataFrame(rows), id_column="id", progress=False)
    assert "db" not in (path / "project.yaml").read_text()
    return path


@pytest.fixture
def team_project(tmp_path):
    return make_project(tmp_path / "team")


def test_two_links_label_the_same_project_at_once(browser, tmp_path, db_url, serve_app):
    team_project = make_project(tmp_path / "team", db_url)
    db = ("--db", db_url) if db_url else ()
    port = free_port()
    links = {name: add(team_project, name, port, db) for name in LABELS}
    url = serve_app(team_project, *db, port=port)
    assert url == f"http://127.0.0.1:{port}/"

    pages = {name: open_page(browser, link) for name, link in links.items()}  # both loading
    try:
        for name, page in pages.items():
            expect(page.locator(".lk-item")).to_be_visible(timeout=60_000)
            expect(page.locator(".lk-annotator")).to_have_text(f"Annotator: {name}")
            assert done_count(page) == 0

        seen = {name: [] for name in pages}
        for round_number in range(1, ROUNDS + 1):  # interleaved: both work at the same time
            for name, page in pages.items():
                seen[name].append(shown_item(page))
                digit, _ = LABELS[name]
                page.keyboard.press(digit)
                page.keyboard.press("Enter")
            for page in pages.values():
                expect(page.locator(".lk-progress .lk-stat").first).to_have_text(
                    f"{round_number} done", timeout=20_000
                )
        screenshot(pages["alice"], "team-alice")

        table = answers(team_project, db_url)
        assert len(table) == 2 * ROUNDS and set(table["status"]) == {"submitted"}
        for name, (_, label) in LABELS.items():
            mine = table[table["annotator"] == name]
            # what this page showed is exactly what the store says this link's owner answered
            assert sorted(mine["item"]) == sorted(seen[name])
            assert set(mine["label"]) == {label}  # the keys pressed on this page
        assert not set(seen["alice"]) & set(seen["bob"])  # overlap 1: nobody got the same item
        for page in pages.values():
            assert done_count(page) == ROUNDS  # only their own work
            assert page.watch.console_errors == []

        # Suspending bob ends his next action; nothing more is saved for him.
        cli("suspend", str(team_project), "bob", *db)
        bob = pages["bob"]
        bob.keyboard.press("1")
        bob.keyboard.press("Enter")
        expect(bob.locator(".lk-fatal")).to_contain_text("suspended", timeout=20_000)
        assert (answers(team_project, db_url)["annotator"] == "bob").sum() == ROUNDS
        # alice carries on
        pages["alice"].keyboard.press("1")
        pages["alice"].keyboard.press("Enter")
        expect(pages["alice"].locator(".lk-progress .lk-stat").first).to_have_text(
            f"{ROUNDS + 1} done", timeout=20_000
        )
    finally:
        for page in pages.values():
            page.context.close()


def test_no_link_a_wrong_link_and_a_suspended_link_label_nothing(browser, team_project, serve_app):
    port = free_port()
    carol = add(team_project, "carol", port)
    cli("suspend", str(team_project), "carol")
    url = serve_app(team_project, port=port)
    wrong = carol[:-4] + ("AAAA" if not carol.endswith("AAAA") else "BBBB")
    cases = [
        (url, "personal links"),
        (wrong, "This link is not valid"),
        (f"{url}?token=", "personal links"),
        (carol, "Access for carol is suspended"),
    ]
    pages = [(open_page(browser, link), text) for link, text in cases]
    try:
        for page, text in pages:
            expect_refused(page, text)
        screenshot(pages[-1][0], "team-suspended")
    finally:
        for page, _ in pages:
            page.context.close()
    assert answers(team_project).empty
    with Project.open(team_project) as project:  # the refused pages created nobody
        assert [a.name for a in project.annotators.list()] == ["carol"]
    log = next(team_project.parent.glob("voila-*.log")).read_text()
    assert carol.split("token=")[1] not in log  # the server's log leaves tokens out
