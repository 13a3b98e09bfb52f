"""What surrounds the item in the annotator's session: the app's language, the day panel,
the lease and its heartbeat, content settings and the break screen (kernel side, driven by the
messages label.js sends)."""

import json
import re
import uuid
from pathlib import Path

import pandas as pd
import pytest

from labelkit import Project
from labelkit.errors import LabelkitError
from labelkit.i18n import (
    PLURAL_FORMS,
    Message,
    catalogue,
    check_locale,
    error_text,
    locales,
    placeholders,
    translate,
)
from labelkit.pay import configure_pay
from labelkit.team.accounts import AccessDenied
from labelkit.ui.app import access_page
from labelkit.wellbeing import configure_wellbeing

ROOT = Path(__file__).resolve().parents[1]
LOCALES = ROOT / "src" / "labelkit" / "ui" / "locales"
ANSWER = {"label": "billing"}
# A count's text chosen by a test for 1 (`n === 1 ? t("…")`, "…_one" keys): wrong in French.
ONE_TEST = r"={2,3}\s*1\s*\?[^\n]*(?:\bt\(|\"[a-z_]+\.[a-z_.]+\")|_one\b"


class Clock:
    def __init__(self, now: float = 1_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def project(tmp_path):
    project = Project.create(tmp_path / "p", "classification", lease_seconds=600)
    rows = [{"id": f"t{i}", "text": f"message {i}", "warnings": ""} for i in range(6)]
    rows[0]["warnings"] = rows[1]["warnings"] = "violence"
    project.import_items(pd.DataFrame(rows), id_column="id", progress=False)
    yield project
    project.close()


class Browser:
    """Sends what label.js sends and records the acks."""

    def __init__(self, widget):
        self.widget, self.acks = widget, []
        widget.send = lambda content, buffers=None: self.acks.append(content)

    def act(self, action, **extra):
        message = {"action": action, "token": self.widget.item and self.widget.item["token"]}
        message["client_key"] = uuid.uuid4().hex
        count = len(self.acks)
        self.widget._on_action(self.widget, message | extra, [])
        return self.acks[-1] if len(self.acks) > count else None


# ---------------------------------------------------------------------------- catalogues


def test_every_catalogue_has_the_same_keys_and_placeholders():
    english = json.loads((LOCALES / "en.json").read_text("utf-8"))
    assert locales() == ["en", "fr"]
    for path in LOCALES.glob("*.json"):
        other = json.loads(path.read_text("utf-8"))
        # A count's string has one key per plural form the language uses: the rest is equal.
        assert set(map(plural_base, other)) == set(map(plural_base, english)), path.name
        for key, text in other.items():
            base = plural_base(key)
            in_english = english.get(key) or english[f"{base}.other"]
            assert placeholders(text) == placeholders(in_english), (path.name, key)
            assert text.strip(), (path.name, key)


def plural_base(key: str) -> str:
    """ "exams.questions" for "exams.questions.one"; other keys as they are."""
    base, _, form = key.rpartition(".")
    return base if form in PLURAL_FORMS else key


def test_counts_have_the_plural_forms_each_language_needs():
    from babel import Locale

    for code in locales():
        strings = json.loads((LOCALES / f"{code}.json").read_text("utf-8"))
        bases = {plural_base(key) for key in strings if plural_base(key) != key}
        assert len(bases) > 20, code  # every count the apps show
        needed = Locale.parse(code).plural_form.tags | {"other"}
        for base in bases:
            forms = {key.rpartition(".")[2] for key in strings if plural_base(key) == base}
            assert forms == needed, (code, base)
            assert all("{n}" in strings[f"{base}.{form}"] for form in forms), (code, base)
    # French says 0 and 1 with the singular, English only 1; a million has its own French form.
    assert [translate("fr", "exams.questions", n=n) for n in (0, 1, 2)] == [
        "0 question",
        "1 question",
        "2 questions",
    ]
    assert [translate("en", "exams.questions", n=n) for n in (0, 1, 2)] == [
        "0 questions",
        "1 question",
        "2 questions",
    ]
    assert translate("fr", "done.answered", n=1_000_000) == "1000000 de réponses en tout"
    # kernel-side text: the answer's problems, the next level's requirement
    too_few = Message.of("answer.invalid", problems=[Message.of("invalid.too_few", n=1)])
    assert str(too_few) == "invalid answer: pick at least 1 label"
    assert Message.of("invalid.too_few", n=0).text("fr") == "choisissez au moins 0 étiquette"
    assert Message.of("invalid.too_long", n=1, max=0).text("en") == "text is 1 character, at most 0"
    said = Message.of("gold.requires.accuracy_none", promote_at=0.9, n=1, level=2)
    assert "over 1 gold answer reaches" in str(said) and "sur 1 réponse de" in said.text("fr")


def test_label_js_uses_only_keys_the_catalogues_have():
    source = (ROOT / "widgets" / "label.js").read_text("utf-8")
    # t("key"), api.t("key"), view.t("key"), tn("key", ...): always a literal key.
    used = set(re.findall(r"(?<![\w$])(?:api\.|view\.)?tn?\(\s*\"([a-z_]+\.[a-z_.]+)\"", source))
    assert len(used) > 150  # the whole app's text goes through the catalogue
    for code in locales():  # a key, or a count's key with its plural forms
        known = set(catalogue(code)) | {plural_base(key) for key in catalogue(code)}
        assert used <= known, (code, sorted(used - known))
    # counts take the language's plural rules (the catalogue's forms), never a test for 1
    assert not re.search(ONE_TEST, source)
    # a translated string is never built from English fragments any more
    assert not re.search(r"\bt\(\s*[`'][^`']*\$\{", source)


def test_messages_are_said_in_each_language_with_its_numbers_and_stored_as_json():
    reason = Message.of("history.reason.gold_retry", accuracy=0.6667, n=3, limit=0.8, exam="basics")
    assert str(reason) == (
        "gold accuracy 0.67 over the last 3 gold answers is under 0.80: "
        "pass the exam 'basics' again to get work back"
    )
    assert "0,67" in reason.text("fr") and "0,80" in reason.text("fr")
    again = Message.from_json(json.loads(json.dumps(reason.to_json())))
    assert again == reason and Message.from_json({"no": "key"}) is None
    nested = Message.of("answer.invalid", problems=[Message.of("invalid.required", name="'q'")])
    assert nested.text("fr") == "réponse invalide\u00a0: la question 'q' est obligatoire"
    assert Message.from_json(nested.to_json()).text("en") == (
        "invalid answer: question 'q' is required"
    )
    error = LabelkitError(Message.of("error.goal"))
    assert str(error).startswith("A daily goal") and error_text(error, "fr").startswith(
        "L’objectif"
    )
    assert error_text(ValueError("plain"), "fr") == "plain"  # no Message: its own words
    # a percentage and a decimal, each language's way; a bad spec falls back to the value
    import labelkit.i18n as i18n

    assert i18n._format(0.853, "%", "fr") == "85\u00a0%" and i18n._format(0.853, "%", "en") == "85%"
    assert i18n._format(0.5, "zz", "en") == "0.5"


def test_translate_fills_placeholders_and_falls_back_to_english():
    assert translate("fr", "progress.editing", n=2, total=5) == "modification 2 sur 5"
    assert translate("en", "progress.editing", n=2, total=5) == "editing 2 of 5"
    assert translate("fr", "no.such.key") == "no.such.key"
    assert check_locale("FR-ca") == "fr" and check_locale("") is None
    with pytest.raises(Exception, match="unknown locale 'de'"):
        check_locale("de")


# ---------------------------------------------------------------------------- language


def test_a_french_annotator_gets_french_text_from_the_kernel(project):
    project.annotators.add("ana", locale="fr")
    widget = project.label("ana")
    assert widget.locale == "fr" and widget.strings["action.submit"] == "Valider"
    browser = Browser(widget)
    ack = browser.act("back", token=widget.item["token"])  # nothing answered yet
    assert not ack["ok"] and ack["error"] == "Il n’y a pas d’élément précédent."
    assert browser.act("skip")["ok"] and widget.notice == "Passé."
    assert browser.act("back")["ok"]
    assert widget.progress["position"] == "modification 1 sur 1"
    ack = browser.act("escalate", reason="  ")
    assert not ack["ok"] and ack["error"] == "Indiquez pourquoi (en quelques mots)."
    # dataset text is never translated
    assert widget.item["fields"]["text"]["text"] == "message 0"


def test_the_project_locale_applies_to_annotators_without_their_own(project):
    project.settings["locale"] = "fr"
    project.save_settings()
    assert project.label("bob").locale == "fr"
    project.annotators.add("cy", locale="en")
    assert project.label("cy").locale == "en"


def test_access_pages_speak_the_annotators_language():
    page = access_page(AccessDenied("suspended", "english text", "ana"), "fr").data
    assert "Accès suspendu" in page and "L’accès de ana est suspendu" in page
    assert 'lang="fr"' in page
    page = access_page(AccessDenied("no_token", "english text"), "en").data
    assert "A personal link is needed" in page
    hostile = access_page(AccessDenied("suspended", "x", "<script>alert(1)</script>"), "en")
    assert "<script>" not in hostile.data


# ---------------------------------------------------------------------------- the day


def test_the_day_panel_counts_answers_and_takes_the_annotators_goal(project):
    configure_pay(project, per_answer=0.1, currency="EUR")
    widget = project.label("ana")
    browser = Browser(widget)
    assert widget.day["answers_today"] == 0 and widget.day["daily_goal"] == 100
    for _ in range(3):
        assert browser.act("submit", answer=ANSWER)["ok"]
    assert widget.day["answers_today"] == 3
    assert widget.day["earned_today"] == pytest.approx(0.3)
    assert widget.day["currency"] == "EUR"

    assert browser.act("set_goal", goal=40)["ok"]
    assert widget.day["daily_goal"] == 40 and widget.notice == "Daily goal set to 40."
    assert widget.day["answers_today"] == 3  # a full refresh agrees with the running count
    for bad in (0, -3, 10**9, "many", True, None, 2.5):
        ack = browser.act("set_goal", goal=bad)
        assert not ack["ok"] and "whole number" in ack["error"], bad
    assert project.label("ana").day["daily_goal"] == 40  # kept, and the bad ones never saved


def test_the_day_shows_money_only_when_the_project_pays(project):
    widget = project.label("ana")
    assert Browser(widget).act("submit", answer=ANSWER)["ok"]
    assert widget.day["paid"] is False  # no "€0.00/h" for a project without pay
    configure_pay(project, levels={2: {"per_hour": 12.0}})  # pays, from level 2 on
    assert project.label("bo").day["paid"] is True


def test_the_all_done_screen_comes_with_the_day_that_counts_the_last_answer(project):
    widget = project.label("ana")
    browser = Browser(widget)
    updates = []  # what the browser receives: one update per action
    widget._send = lambda message, buffers=None: updates.append(message.get("state", {}))
    while widget.state == "labeling":
        assert browser.act("submit", answer=ANSWER)["ok"]
    done = next(update for update in updates if update.get("state") == "done")
    assert done["progress"]["done"] == 6 and done["day"]["answers_today"] == 6


# ---------------------------------------------------------------------------- the lease


def test_heartbeats_keep_the_lease_and_an_expired_one_is_said(project):
    project.store.clock = clock = Clock()
    widget = project.label("ana")
    browser = Browser(widget)
    assert widget.lease == {"state": "held", "left": 600}
    clock.now += 200  # past a quarter lease: the heartbeat renews
    assert browser.act("heartbeat") is None  # no ack: the lease trait answers
    assert widget.lease == {"state": "held", "left": 600}
    clock.now += 100  # within a quarter lease of the renewal: nothing written
    browser.act("heartbeat")
    assert widget.lease == {"state": "held", "left": 500}
    clock.now += 700  # the annotator went away: it ran out
    browser.act("heartbeat")
    assert widget.lease == {"state": "expired", "left": 0}
    assert browser.act("submit", answer=ANSWER)["ok"]  # the answer is still saved
    assert widget.lease["state"] == "held"


# ---------------------------------------------------------------------------- wellbeing


def test_a_break_is_proposed_at_the_limit_and_work_goes_on_without_sensitive_items(project):
    configure_wellbeing(project, sensitive_per_hour=1, support_link="https://example.org/help")
    widget = project.label("ana")
    browser = Browser(widget)
    assert widget.item["sensitive"] and widget.item["warnings"] == ["violence"]
    assert widget.wellbeing["show_support"] and widget.wellbeing["categories"] == ["violence"]
    assert widget.pause == {}
    assert browser.act("submit", answer=ANSWER)["ok"]
    assert widget.pause == {"reason": "hour", "more": True}
    assert not widget.item["sensitive"]  # t1 (sensitive) is held back: t2 comes
    assert widget.item["fields"]["text"]["text"] == "message 2"
    assert browser.act("resume")["ok"] and widget.pause == {}
    while widget.state == "labeling":
        assert not widget.item["sensitive"]
        assert browser.act("submit", answer=ANSWER)["ok"]
    assert widget.pause == {}  # proposed once, not after every answer


def test_annotators_choose_what_they_do_not_want_to_see(project):
    widget = project.label("ana")
    browser = Browser(widget)
    assert widget.item["warnings"] == ["violence"]
    assert browser.act("set_opt_outs", categories=["violence"])["ok"]
    assert widget.wellbeing["opt_outs"] == ["violence"]
    for forged in ("x" * 65, [1, 2], ["ok"] * 51, {"a": 1}):
        ack = browser.act("set_opt_outs", categories=forged)
        assert not ack["ok"] and "choose from the list" in ack["error"]
    assert project.annotators.get("ana").opt_outs == ["violence"]
    assert browser.act("skip")["ok"]  # the one shown stays until answered or skipped
    while widget.state == "labeling":
        assert widget.item["warnings"] == []
        assert browser.act("submit", answer=ANSWER)["ok"]


def test_reports_mark_the_item_sensitive_for_the_next_annotators(project):
    project.configure(overlap=2)
    browser = Browser(project.label("ana"))
    assert browser.act("skip")["ok"] and browser.act("skip")["ok"]  # the two sensitive ones
    assert browser.widget.item["fields"]["text"]["text"] == "message 2"
    assert browser.act("report", reason="disturbing")["ok"]
    item = project.item("t2")
    assert item.sensitive and item.warnings == ["reported"]
