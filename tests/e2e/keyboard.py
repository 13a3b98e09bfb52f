"""Drive the labeling widget the way an annotator does: with the keyboard only.

`Annotator.answer(intended, shown)` looks at where the widget's question cursor is, moves it
with Tab / Shift+Tab, and presses the keys each question type documents (widgets/label.js):
digits for labels and ratings, typed numbers for sliders, a/b/t plus a digit for preferences,
arrows and Space for taxonomies, arrows plus digits for error spans. Questions whose shown value
(a model suggestion, or the earlier answer when editing) is already the intended one are left
alone, as a person who agrees with them would.
"""

from __future__ import annotations

from labelkit.schema import Schema
from labelkit.ui.render import task_payload

ACTIVE_JS = "(root) => root.querySelector('.lk-question.lk-active')?.dataset.question ?? null"
VISIBLE_JS = (
    "(root) => [...root.querySelectorAll('.lk-question')]"
    ".filter(q => !q.hidden).map(q => q.dataset.question)"
)
IN_TEXT_BOX_JS = "() => ['TEXTAREA', 'INPUT'].includes(document.activeElement?.tagName)"


def digit(index: int) -> str:
    """The digit that picks the option at `index` (1–9, then 0 for the 10th)."""
    assert index < 10, "only ten options have a digit"
    return str((index + 1) % 10)


def span(text: str, quote: str, label: str, severity: str | None) -> dict:
    """An error span on the first occurrence of `quote` (code point offsets, as Python counts)."""
    start = text.index(quote)
    return {"start": start, "end": start + len(quote), "label": label, "severity": severity}


class Annotator:
    def __init__(self, page, schema: Schema, root: str = ".lk-root"):
        self.page = page
        self.keys = page.keyboard
        self.root = page.locator(root)
        self.questions = {q["name"]: q for q in task_payload(schema, "test")["questions"]}

    # ------------------------------------------------------------------ where the cursor is

    def active(self) -> str | None:
        return self.root.evaluate(ACTIVE_JS)

    def visible(self) -> list[str]:
        return self.root.evaluate(VISIBLE_JS)

    def in_text_box(self) -> bool:
        return self.page.evaluate(IN_TEXT_BOX_JS)

    def go_to(self, name: str) -> None:
        """Move the question cursor to `name` with Tab / Shift+Tab (as a person would)."""
        for _ in range(30):
            visible, active = self.root.evaluate(f"r => [({VISIBLE_JS})(r), ({ACTIVE_JS})(r)]")
            assert name in visible, f"question {name} is not shown (shown: {visible})"
            if active == name:
                if self.in_text_box() and self.questions[name]["type"] != "text":
                    self.keys.press("Escape")
                return
            forward = active is None or visible.index(name) > visible.index(active)
            self.keys.press("Tab" if forward else "Shift+Tab")
        raise AssertionError(f"could not reach question {name}; cursor on {self.active()}")

    # ------------------------------------------------------------------ one answer

    def answer(self, intended: dict, shown: dict | None = None) -> bool:
        """Enter `intended` (a full answer) on the current item; `shown` is what is pre-filled.
        Returns whether any key was needed (False: the pre-filled answer was right)."""
        shown = dict(shown or {})
        pressed = False
        for _ in range(len(self.questions) + 1):  # conditions may show questions as we answer
            pending = [
                name
                for name in self.visible()
                if name in intended and intended[name] != shown.get(name, _UNSET)
            ]
            if not pending:
                break
            name = pending[0]
            self.go_to(name)
            self._enter(self.questions[name], intended[name], shown.get(name))
            shown[name] = intended[name]
            pressed = True
        if self.in_text_box():
            self.keys.press("Escape")  # leave the text box so Enter submits
        return pressed

    def _enter(self, q: dict, value, current) -> None:
        kind = q["type"]
        if kind == "label":
            self.keys.press(digit(q["labels"].index(value)))
        elif kind == "rating" and q["slider"]:
            self.keys.type(str(value))  # digits typed within a second compose one number
        elif kind == "rating":
            self.keys.press(str(value % 10))
        elif kind == "multi_label":
            for label in set(value) ^ set(current or []):
                self.keys.press(digit(q["labels"].index(label)))
        elif kind == "preference":
            choice = value["choice"]
            if not current or current.get("choice") != choice:
                option = q["options"].index(choice) if choice != "tie" else None
                self.keys.press({0: "a", 1: "b", None: "t"}[option])
            if value["strength"] is not None:
                self.keys.press(digit(q["strengths"].index(value["strength"])))
        elif kind == "taxonomy":
            self._taxonomy(q, set(value) ^ set(current or []))
        elif kind == "spans":
            self._spans(q, value, current or [])
        elif kind == "text":
            if not self.in_text_box():
                self.keys.press("Tab")  # Tab on a text question enters its box
            self.keys.press("Control+a")
            self.keys.type(value)
            self.keys.press("Escape")
        else:
            raise AssertionError(f"no keyboard recipe for {kind}")

    def _block(self, q: dict):
        return self.root.locator(f".lk-question[data-question='{q['name']}']")

    def _taxonomy(self, q: dict, toggles: set[str]) -> None:
        rows = self._block(q).locator(".lk-tax-row")
        for path in [p for p in q["paths"] if p in toggles]:
            target = q["paths"].index(path)
            cursor = rows.evaluate_all("rs => rs.findIndex(r => r.classList.contains('lk-cursor'))")
            for _ in range(abs(target - cursor)):
                self.keys.press("ArrowDown" if target > cursor else "ArrowUp")
            self.keys.press("Space")

    def _spans(self, q: dict, value: list[dict], current: list[dict]) -> None:
        text = self.page.locator(f".lk-field-{q['field']}").evaluate(
            "f => f.querySelector('.lk-span-text').textContent"
        )
        words = self._tokens(q, text)
        starts = {s: i for i, (s, _) in enumerate(words)}
        ends = {e: i for i, (_, e) in enumerate(words)}
        for mark in current:
            if mark not in value:
                self._move_cursor(q, starts[mark["start"]])
                self.keys.press("x")
        for mark in value:
            if mark in current:
                continue
            first, last = starts[mark["start"]], ends[mark["end"]]
            self._move_cursor(q, first)
            for _ in range(last - first):
                self.keys.press("Shift+ArrowRight")
            index = q["labels"].index(mark["label"])
            major = bool(q["severities"]) and q["severities"].index(mark["severity"]) == 1
            self.keys.press(f"Shift+Digit{digit(index)}" if major else digit(index))

    def _tokens(self, q: dict, text: str) -> list[tuple[int, int]]:
        """The widget's word tokens, as code point ranges of the field's text (from the page)."""
        pieces = self.page.locator(f".lk-field-{q['field']} .lk-tok").evaluate_all(
            "els => els.map(e => [Number(e.dataset.t), e.textContent])"
        )
        words: dict[int, str] = {}
        for index, piece in pieces:
            words[index] = words.get(index, "") + piece
        ranges, at = [], 0
        for index in sorted(words):
            start = text.index(words[index], at)
            at = start + len(words[index])
            ranges.append((start, at))
        return ranges

    def _move_cursor(self, q: dict, target: int) -> None:
        cursor_js = "f => Number(f.querySelector('.lk-tok.lk-cursor')?.dataset.t ?? -1)"
        field = self.page.locator(f".lk-field-{q['field']}")
        for _ in range(500):
            cursor = field.evaluate(cursor_js)
            if cursor == target:
                return
            self.keys.press("ArrowRight" if cursor < target else "ArrowLeft")
        raise AssertionError(f"span cursor never reached word {target}")


_UNSET = object()
