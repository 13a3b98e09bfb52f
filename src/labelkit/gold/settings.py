"""The `quality:` section of project.yaml: honeypots, gold accuracy rules, speed checks, exams.

Every key is optional; the defaults are the field's (../shared/notes/quality-and-formats.md):

```yaml
quality:
  honeypot_rate: 0.1      # share of handed-out items that are hidden gold (0 = none)
  window: 10              # rolling gold accuracy: the last N gold answers...
  min_count: 3            # ...once at least this many exist (retry / suspend)
  promote_after: 10       # gold answers needed before a promotion (default: window)
  promote_at: 0.9         # accuracy >= this: next level (or its exam)
  retry_below: 0.8        # accuracy < this: back to the retry exam (or a warning)
  suspend_below: 0.6      # accuracy < this: suspended
  rating_tolerance: 1     # a rating within +-1 of the gold one counts as right
  slider_tolerance: 10    # same for wide scales (0-100 sliders)
  tolerances: {}          # per question name, overrides the two above
  rejections: {min_reviewed: 4, max_rate: 0.5}      # null: no rejection rule
  fast: {ratio: 0.5, min_samples: 20, suspend_after: 5, window: 10, samples: 200}  # null: off
  exams:
    basics: {level: 1, pass_rate: 0.8, language: null, training: false,
             questions: null, max_attempts: null}
```

Why `promote_after`: with only `min_count` (3) answers, three lucky answers would promote a
middling annotator; demotions may act early, a promotion waits for a full window.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from labelkit.errors import ProjectError

MAX_EXAM_NAME = 64


class QualitySettingsError(ProjectError):
    """The `quality:` section of project.yaml is wrong; the message names the key."""


@dataclass(frozen=True)
class ExamSettings:
    name: str
    level: int = 0  # passing grants this level (never lowers one)
    pass_rate: float = 0.8
    language: str | None = None  # only annotators with this language may take it
    training: bool = False  # the explanation is shown after each answer
    questions: int | None = None  # items per attempt (None: every item of the exam)
    max_attempts: int | None = None  # None: unlimited


@dataclass(frozen=True)
class FastSettings:
    ratio: float = 0.5  # faster than ratio x the honest median: flagged
    min_samples: int = 20  # answers with a duration needed before any flag
    suspend_after: int = 5  # this many fast flags...
    window: int = 10  # ...within the annotator's last N answers: suspended
    samples: int = 200  # the median is taken over the project's last N unflagged answers


@dataclass(frozen=True)
class RejectionSettings:
    min_reviewed: int = 4
    max_rate: float = 0.5  # more than this share rejected: suspended


@dataclass(frozen=True)
class QualitySettings:
    honeypot_rate: float = 0.1
    window: int = 10
    min_count: int = 3
    promote_after: int | None = None  # None: `window`
    promote_at: float = 0.9
    retry_below: float = 0.8
    suspend_below: float = 0.6
    rating_tolerance: float = 1
    slider_tolerance: float = 10
    tolerances: dict[str, float] = field(default_factory=dict)
    rejections: RejectionSettings | None = field(default_factory=RejectionSettings)
    fast: FastSettings | None = field(default_factory=FastSettings)
    exams: dict[str, ExamSettings] = field(default_factory=dict)
    seed: int = 0  # mixes the honeypot draws (the same seed, the same honeypot positions)

    @property
    def promotion_count(self) -> int:
        return self.promote_after if self.promote_after is not None else self.window

    def exam(self, name: str) -> ExamSettings:
        found = self.exams.get(name)
        if found is None:
            known = ", ".join(sorted(self.exams)) or "none configured"
            raise QualitySettingsError(f"unknown exam {name!r} (exams: {known})")
        return found

    def exams_for_level(self, level: int) -> list[ExamSettings]:
        return [e for e in self.exams.values() if e.level == level]


def quality_settings(settings: dict | None) -> QualitySettings:
    """The project's quality settings from its settings dict (project.yaml), checked."""
    section = (settings or {}).get("quality")
    if section is None:
        return QualitySettings()
    return parse(section)


def parse(section: Any) -> QualitySettings:
    """Check a `quality:` mapping; QualitySettingsError names the first wrong key."""
    values = _mapping(section, "quality", QualitySettings)
    out: dict[str, Any] = {}
    for key in ("honeypot_rate",):
        if key in values:
            out[key] = _number(values[key], f"quality.{key}", 0, 1, upper_open=True)
    for key in ("window", "min_count", "seed"):
        if key in values:
            out[key] = _whole(values[key], f"quality.{key}", 0 if key == "seed" else 1)
    if values.get("promote_after") is not None:
        out["promote_after"] = _whole(values["promote_after"], "quality.promote_after", 1)
    for key in ("promote_at", "retry_below", "suspend_below"):
        if key in values:
            out[key] = _number(values[key], f"quality.{key}", 0, 1)
    for key in ("rating_tolerance", "slider_tolerance"):
        if key in values:
            out[key] = _number(values[key], f"quality.{key}", 0, None)
    if values.get("tolerances") is not None:
        tolerances = _mapping(values["tolerances"], "quality.tolerances", None)
        out["tolerances"] = {
            str(k): _number(v, f"quality.tolerances.{k}", 0, None) for k, v in tolerances.items()
        }
    if "rejections" in values:
        out["rejections"] = _rejections(values["rejections"])
    if "fast" in values:
        out["fast"] = _fast(values["fast"])
    if values.get("exams") is not None:
        exams = _mapping(values["exams"], "quality.exams", None)
        out["exams"] = {str(name): _exam(str(name), spec) for name, spec in exams.items()}
    settings = QualitySettings(**out)
    _check_consistent(settings)
    return settings


def _check_consistent(s: QualitySettings) -> None:
    if s.min_count > s.window:
        raise QualitySettingsError(
            f"quality.min_count ({s.min_count}) cannot exceed quality.window ({s.window})"
        )
    if s.promote_after is not None and not s.min_count <= s.promote_after <= s.window:
        raise QualitySettingsError(
            f"quality.promote_after ({s.promote_after}) must be between quality.min_count "
            f"({s.min_count}) and quality.window ({s.window})"
        )
    if not s.suspend_below <= s.retry_below <= s.promote_at:
        raise QualitySettingsError(
            "quality thresholds must satisfy suspend_below <= retry_below <= promote_at, got "
            f"{s.suspend_below}, {s.retry_below}, {s.promote_at}"
        )


def _rejections(value) -> RejectionSettings | None:
    if value is None:
        return None
    values = _mapping(value, "quality.rejections", RejectionSettings)
    out = {}
    if "min_reviewed" in values:
        out["min_reviewed"] = _whole(values["min_reviewed"], "quality.rejections.min_reviewed", 1)
    if "max_rate" in values:
        out["max_rate"] = _number(values["max_rate"], "quality.rejections.max_rate", 0, 1)
    return RejectionSettings(**out)


def _fast(value) -> FastSettings | None:
    if value is None:
        return None
    values = _mapping(value, "quality.fast", FastSettings)
    out: dict[str, Any] = {}
    if "ratio" in values:
        out["ratio"] = _number(values["ratio"], "quality.fast.ratio", 0, 1, lower_open=True)
    for key in ("min_samples", "suspend_after", "window", "samples"):
        if key in values:
            out[key] = _whole(values[key], f"quality.fast.{key}", 1)
    fast = FastSettings(**out)
    if fast.suspend_after > fast.window:
        raise QualitySettingsError(
            f"quality.fast.suspend_after ({fast.suspend_after}) cannot exceed "
            f"quality.fast.window ({fast.window})"
        )
    return fast


def _exam(name: str, value) -> ExamSettings:
    where = f"quality.exams.{name}"
    if not name.strip() or len(name) > MAX_EXAM_NAME:
        raise QualitySettingsError(f"{where}: an exam name has 1 to {MAX_EXAM_NAME} characters")
    values = _mapping(value if value is not None else {}, where, ExamSettings, skip=("name",))
    out: dict[str, Any] = {"name": name}
    if "level" in values:
        out["level"] = _whole(values["level"], f"{where}.level", 0)
    if "pass_rate" in values:
        out["pass_rate"] = _number(values["pass_rate"], f"{where}.pass_rate", 0, 1)
    if values.get("language") is not None:
        language = values["language"]
        if not isinstance(language, str) or not language.strip():
            raise QualitySettingsError(f"{where}.language: expected a language code like fr")
        out["language"] = language.strip().lower().replace("_", "-")
    if "training" in values:
        if not isinstance(values["training"], bool):
            raise QualitySettingsError(
                f"{where}.training: expected true or false, got {values['training']!r}"
            )
        out["training"] = values["training"]
    for key in ("questions", "max_attempts"):
        if values.get(key) is not None:
            out[key] = _whole(values[key], f"{where}.{key}", 1)
    return ExamSettings(**out)


# ---------------------------------------------------------------------------- checks


def _mapping(value, where: str, model, skip: tuple[str, ...] = ()) -> dict:
    if not isinstance(value, dict):
        raise QualitySettingsError(
            f"project.yaml {where}: expected a mapping of settings, got {value!r}"
        )
    if model is not None:
        known = [f for f in model.__dataclass_fields__ if f not in skip]
        unknown = sorted(str(k) for k in value if k not in known)
        if unknown:
            raise QualitySettingsError(
                f"project.yaml {where}: unknown setting(s) {', '.join(unknown)} "
                f"(known: {', '.join(known)})"
            )
    return value


def _number(value, where, low, high, *, lower_open=False, upper_open=False) -> float:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if ok:
        ok = (value > low if lower_open else value >= low) and (
            high is None or (value < high if upper_open else value <= high)
        )
    if not ok:
        span = f"at least {low}" if high is None else f"from {low} to {high}"
        if lower_open or upper_open:
            left, right = "(" if lower_open else "[", ")" if upper_open else "]"
            span = f"in {left}{low}, {high}{right}"
        raise QualitySettingsError(f"project.yaml {where}: expected a number {span}, got {value!r}")
    return float(value)


def _whole(value, where, low) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise QualitySettingsError(
            f"project.yaml {where}: expected a whole number of at least {low}, got {value!r}"
        )
    return value
