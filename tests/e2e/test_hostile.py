"""Hostile dataset text in a real browser: shown as text, no script runs, broken images handled."""

import json

import pandas as pd
import pytest

from labelkit import Project, Schema

from .conftest import screenshot

ATTACKS = [
    "<script>alert('script tag')</script>",
    "<img src=x onerror=\"alert('onerror')\">",
    "<a href=\"javascript:alert('js link')\">click me</a>",
    "[markdown link](javascript:alert('md link'))",
    "<svg onload=\"alert('svg')\"></svg>",
    "<iframe src=\"javascript:alert('iframe')\"></iframe>",
    "\"><b onmouseover=alert('attr')>hover</b>",
]
HOSTILE = "\n".join(ATTACKS)

pytestmark = pytest.mark.e2e


def hostile_project(tmp_path):
    schema = Schema.from_dict(
        {
            "title": "<b onclick=alert('title')>Title</b>",
            "guidelines": HOSTILE,
            "fields": [
                {"type": "text", "name": "prompt", "title": "<i onclick=alert(1)>Prompt</i>"},
                {"type": "markdown", "name": "response_a"},
                {"type": "markdown", "name": "response_b"},
                {"type": "chat", "name": "chat"},
                {"type": "image", "name": "image"},
            ],
            "questions": [
                {"type": "preference", "name": "pick", "options": ["response_a", "response_b"]},
                {
                    "type": "label",
                    "name": "verdict",
                    "labels": ["<script>alert('label')</script>", "<img src=x onerror=alert(2)>"],
                    "help": "<img src=x onerror=alert('help')>",
                },
            ],
        }
    )
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n this is not really an image")
    rows = [
        {
            "prompt": HOSTILE,
            "response_a": HOSTILE,
            "response_b": "**Bold** and a [real link](https://example.org)",
            "chat": json.dumps([{"role": "user", "content": HOSTILE}]),
            "image": str(broken),
            "metadata": json.dumps({"reviewer_only_marker": HOSTILE}),
        },
        {
            "prompt": "second",
            "response_a": "a",
            "response_b": "b",
            "chat": json.dumps([{"role": "assistant", "content": "hi"}]),
            "image": "https://example.org/never-loaded.png",
        },
    ]
    project = Project.create(tmp_path / "hostile", schema)
    project.import_items(pd.DataFrame(rows), progress=False)
    project.close()
    return tmp_path / "hostile"


def test_hostile_content_is_inert(tmp_path, page, serve_app):
    url = serve_app(hostile_project(tmp_path))
    page.goto(url)
    page.wait_for_selector(".lk-item", timeout=30_000)
    page.keyboard.press("g")  # open the guidelines (hostile markdown)
    page.wait_for_timeout(500)
    prompt = page.locator(".lk-field-prompt").inner_text()
    for attack in ATTACKS:
        assert attack.split("\n")[0] in prompt  # shown as the literal text
    chat = page.locator(".lk-field-chat").inner_text()
    assert "<script>alert('script tag')</script>" in chat
    # no element from the data made it into the DOM as markup
    forbidden = ", ".join(
        f".lk-root {selector}"
        for selector in [
            "script",
            "iframe",
            "svg",
            "[onerror]",
            "[onload]",
            "[onclick]",
            "[onmouseover]",
            "a[href^='javascript']",
        ]
    )
    injected = page.evaluate(
        "(s) => [...document.querySelectorAll(s)].map(e => e.outerHTML)", forbidden
    )
    assert injected == []
    # the markdown answer keeps its formatting and its safe link
    assert page.locator(".lk-field-response_b strong").inner_text() == "Bold"
    assert page.locator(".lk-field-response_b a").get_attribute("href") == "https://example.org"
    # the broken image says so instead of breaking the page
    page.wait_for_timeout(300)
    assert "could not be displayed" in page.locator(".lk-field-image").inner_text()
    labels = page.locator(".lk-question[data-question='verdict']").inner_text()
    assert "<script>alert('label')</script>" in labels
    screenshot(page, "hostile-content")
    # reviewer-only metadata never reaches the annotator's page
    assert "reviewer_only_marker" not in page.content()
    page.locator(".lk-field-image").hover()
    page.locator(".lk-field-prompt").hover()
    assert page.watch.dialogs == []
    assert page.watch.console_errors == []
