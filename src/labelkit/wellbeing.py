"""Wellbeing: content warnings, opt-outs and exposure limits for sensitive items.

Rules (per annotator; `wellbeing:` in project.yaml holds the limits):
- an item is sensitive when imported so (`sensitive`, or any `warnings` category), or when other
  annotators' answers say so (see `flag_from_answer`); it is blurred behind its content warning;
- an annotator never gets an item with a warning category they opted out of (annotators.opt_outs);
- a sensitive item counts toward their exposure once they acted on it in any way (submitted,
  skipped, escalated or reported: they were shown it). Once they reach `sensitive_per_hour`
  (the last 60 minutes) or `sensitive_per_day` (the last 24 hours), or their last
  `streak_break` new items were all sensitive, they get only non-sensitive items (a streak ends
  with the first non-sensitive one) and the session proposes a break.

The windows slide (no reset at midnight: M items at 23:59 and M more at 00:01 would be 2M in
a few minutes) and are measured on wall-clock time against `annotations.created_at`, which the
database writes: not on `store.clock`, the leases' clock that tests fake. A test moves time on
by moving the answers back (their created_at), which is exact on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from labelkit.errors import LabelkitError, ProjectError
from labelkit.store.tables import annotations, annotators, items

MAX_CATEGORY_CHARS = 64
MAX_OPT_OUTS = 50
REPORTED = "reported"  # the content warning of an item another annotator reported
FLAGGED = "flagged"  # ... and of one a moderation answer marked harmful without a category
_SAFE_LINK = re.compile(r"(https?://|mailto:)\S+", re.IGNORECASE)


class WellbeingError(LabelkitError):
    """A bad opt-out list or wellbeing setting."""


class Limits(BaseModel):
    """The project's wellbeing settings (all optional; no limit when unset)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sensitive_per_hour: int | None = Field(None, ge=0)
    sensitive_per_day: int | None = Field(None, ge=0)
    streak_break: int | None = Field(None, ge=1)
    support_link: str | None = Field(None, max_length=2000)
    support_text: str | None = Field(None, max_length=500)
    # The categories annotators may opt out of in the app; by default the items' own.
    categories: list[str] | None = None

    @field_validator("support_link")
    @classmethod
    def _link(cls, value):
        if value is not None and not _SAFE_LINK.fullmatch(value.strip()):
            raise ValueError("must start with http://, https:// or mailto:")
        return value and value.strip()

    @field_validator("categories")
    @classmethod
    def _categories(cls, value):
        return None if value is None else check_categories(value)

    @property
    def active(self) -> bool:
        """Whether any exposure limit is set (else assignment does not count anything)."""
        return any(
            v is not None
            for v in (self.sensitive_per_hour, self.sensitive_per_day, self.streak_break)
        )

    def blocked(
        self, conn: sa.Connection, annotator_id: int, now: float | None = None
    ) -> str | None:
        """Why this annotator may not get a sensitive item now ("hour", "day", "streak"), or
        None. Called by team/assignment.py inside the leasing transaction."""
        if not self.active:
            return None
        return self.reached(exposure_counts(conn, annotator_id, now, streak=self.streak_break))

    def reached(self, seen: dict) -> str | None:
        """The limit that counts `seen` (from exposure_counts) reach, or None."""
        if self.sensitive_per_hour is not None and seen["hour"] >= self.sensitive_per_hour:
            return "hour"
        if self.sensitive_per_day is not None and seen["day"] >= self.sensitive_per_day:
            return "day"
        if self.streak_break is not None and seen["streak"] >= self.streak_break:
            return "streak"
        return None


def limits_of(settings: dict) -> Limits:
    """The wellbeing settings in a project's settings dict (`wellbeing:`)."""
    try:
        return Limits.model_validate(settings.get("wellbeing") or {})
    except ValidationError as exc:
        raise ProjectError(f"invalid wellbeing settings: {_problems(exc)}") from None


def configure_wellbeing(project, **changes) -> Limits:
    """Change some wellbeing settings, validated; saved in project.yaml and in force at once."""
    try:
        limits = Limits.model_validate(limits_of(project.settings).model_dump() | changes)
    except ValidationError as exc:
        raise ProjectError(f"invalid wellbeing settings: {_problems(exc)}") from None
    project.settings["wellbeing"] = limits.model_dump(exclude_none=True)
    project.save_settings()
    project.store.wellbeing = limits
    return limits


def _problems(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())


# ---------------------------------------------------------------------------- categories


def check_categories(value) -> list[str]:
    """Content-warning categories as stored: lowercase, trimmed, unique, sorted. A string may
    list them separated by commas ("violence, self-harm"); None or "" is none."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list | tuple) or len(value) > MAX_OPT_OUTS:
        raise WellbeingError(f"expected up to {MAX_OPT_OUTS} category names, got {value!r}")
    found = set()
    for category in value:
        if not isinstance(category, str) or len(category.strip()) > MAX_CATEGORY_CHARS:
            raise WellbeingError(
                f"a category is a name of up to {MAX_CATEGORY_CHARS} characters, got {category!r}"
            )
        if category.strip():
            found.add(category.strip().lower())
    return sorted(found)


def warning_pattern(category: str) -> str:
    """A LIKE pattern that finds `category` in items.warnings (compact JSON text, see
    store/tables.py JSONText), with LIKE's wildcards escaped (escape character "\\")."""
    quoted = json.dumps(category, ensure_ascii=False)
    escaped = quoted.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def opted_out(pattern_param) -> sa.ColumnElement:
    """The where-clause "this item carries the category bound to `pattern_param`"."""
    return sa.type_coerce(items.c.warnings, sa.Text).like(pattern_param, escape="\\")


def opt_outs(project, annotator: str) -> list[str]:
    with project.store.reading() as conn:
        found = conn.execute(
            sa.select(annotators.c.opt_outs).where(annotators.c.name == annotator)
        ).scalar()
    return list(found or [])


def set_opt_outs(project, annotator: str, categories) -> list[str]:
    """The content-warning categories `annotator` is never served from now on (replaces the
    list; [] serves everything again). Returns the list as stored."""
    categories = check_categories(categories)
    annotator_id = project.store.annotator_id(annotator)
    with project.store.writing() as conn:
        conn.execute(
            annotators.update()
            .where(annotators.c.id == annotator_id)
            .values(opt_outs=categories or None)
        )
    return categories


def known_categories(project) -> list[str]:
    """The categories an annotator can opt out of: the project's list, else the items'."""
    configured = limits_of(project.settings).categories
    if configured is not None:
        return configured
    found: set[str] = set()
    query = sa.select(items.c.warnings).where(items.c.warnings.is_not(None)).distinct()
    with project.store.reading() as conn:
        for (warnings,) in conn.execute(query.limit(1000)):
            found.update(w for w in warnings or () if isinstance(w, str))
    return sorted(found)


def has_sensitive_items(project) -> bool:
    with project.store.reading() as conn:
        query = sa.select(items.c.id).where(items.c.sensitive == sa.true()).limit(1)
        return conn.execute(query).first() is not None


# ---------------------------------------------------------------------------- exposure


def _since(conn: sa.Connection, moment: datetime):
    # SQLite keeps created_at as naive UTC text; PostgreSQL compares real instants.
    return moment.replace(tzinfo=None) if conn.dialect.name == "sqlite" else moment


def _sensitive_items_since(annotator_id, since):
    return (
        sa.select(sa.func.count(sa.distinct(annotations.c.item_id)))
        .join(items, items.c.id == annotations.c.item_id)
        .where(
            annotations.c.annotator_id == annotator_id,
            annotations.c.created_at >= since,
            items.c.sensitive == sa.true(),
        )
        .scalar_subquery()
    )


def exposure_counts(
    conn: sa.Connection, annotator_id: int, now: float | None = None, streak: int | None = None
) -> dict[str, int]:
    """Sensitive items the annotator acted on in the last hour, 24 hours and 7 days before
    `now` (epoch seconds, default: the wall clock); `streak`: how many of their newest
    `streak` new items were sensitive in a row (0 when `streak` is None)."""
    moment = datetime.fromtimestamp(time.time() if now is None else now, UTC)
    counts = conn.execute(
        sa.select(
            *(
                _sensitive_items_since(annotator_id, _since(conn, moment - window))
                for window in (timedelta(hours=1), timedelta(days=1), timedelta(days=7))
            )
        )
    ).one()
    row = 0
    if streak:
        newest = conn.execute(
            sa.select(items.c.sensitive)
            .join(annotations, annotations.c.item_id == items.c.id)
            .where(annotations.c.annotator_id == annotator_id, annotations.c.version == 1)
            .order_by(annotations.c.id.desc())
            .limit(streak)
        ).scalars()
        for sensitive in newest:
            if not sensitive:
                break
            row += 1
    return {"hour": counts[0], "day": counts[1], "week": counts[2], "streak": row}


@dataclass(frozen=True)
class Exposure:
    annotator: str
    sensitive_hour: int  # sensitive items acted on in the last 60 minutes
    sensitive_day: int  # ... in the last 24 hours
    sensitive_week: int  # ... in the last 7 days
    opt_outs: list[str]
    limited: str | None  # "hour", "day" or "streak" when no sensitive item is served now

    def to_dict(self) -> dict:
        return asdict(self)


def exposure(project, now: float | None = None) -> list[Exposure]:
    """Per annotator, by name: sensitive items seen in the last hour, 24 hours and 7 days,
    their opt-outs, and which limit (if any) stops sensitive items for them now. For the lead's
    dashboard."""
    limits = limits_of(project.settings)
    streak = limits.streak_break
    result = []
    with project.store.reading() as conn:
        people = conn.execute(
            sa.select(annotators.c.id, annotators.c.name, annotators.c.opt_outs).order_by(
                annotators.c.name
            )
        ).all()
        for person in people:
            seen = exposure_counts(conn, person.id, now, streak=streak)
            result.append(
                Exposure(
                    annotator=person.name,
                    sensitive_hour=seen["hour"],
                    sensitive_day=seen["day"],
                    sensitive_week=seen["week"],
                    opt_outs=list(person.opt_outs or []),
                    limited=limits.reached(seen),
                )
            )
    return result


# ---------------------------------------------------------------------------- flags from answers


def flag_from_answer(project, item_id: int, status: str, answer: dict | None) -> list[str]:
    """Mark an item sensitive from an annotator's answer, so the next annotators see it blurred
    behind a warning. The rule, kept simple:
    - a report (status "reported") adds the warning "reported";
    - in a moderation project (schema kind "moderation"), an answer that ticks any category of
      a taxonomy question adds each ticked category's top level ("violence/graphic" ->
      "violence"; "flagged" if none can be named).
    Returns the warnings added ([] when the answer flags nothing)."""
    found: set[str] = set()
    if status == "reported":
        found.add(REPORTED)
    elif status == "submitted" and answer and project.schema.kind == "moderation":
        for question in project.schema.questions:
            if question.type != "taxonomy":
                continue
            picked = answer.get(question.name)
            picked = [picked] if isinstance(picked, str) else picked or []
            for path in picked:
                top = str(path).split("/", 1)[0].strip().lower()[:MAX_CATEGORY_CHARS]
                found.add(top or FLAGGED)
    if not found:
        return []
    with project.store.writing() as conn:
        row = conn.execute(
            sa.select(items.c.warnings, items.c.sensitive).where(items.c.id == item_id)
        ).first()
        if row is None:
            return []
        warnings = set(row.warnings or ())
        added = sorted(found - warnings)
        if added or not row.sensitive:
            conn.execute(
                items.update()
                .where(items.c.id == item_id)
                .values(sensitive=True, warnings=sorted(warnings | found))
            )
    return added
