"""Wellbeing: content warnings, opt-outs and exposure limits for sensitive items.

Rules (per annotator; `wellbeing:` in project.yaml holds the limits):
- an item is sensitive when imported so (`sensitive`, or any `warnings` category), or when other
  annotators' answers say so (see `flag_from_answer`); it is blurred behind its content warning;
- an annotator never gets an item with a warning category they opted out of (annotators.opt_outs);
- a sensitive item counts toward their exposure once they acted on it in any way (submitted,
  skipped, escalated or reported: they were shown it), from their first action on it; an item
  flagged later counts for everyone who had acted on it (table `exposures`, written by the
  store with the answer and by `flag_from_answer`). Once they reach `sensitive_per_hour`
  (the last 60 minutes) or `sensitive_per_day` (the last 24 hours), or their last
  `streak_break` new items were all sensitive, they get only non-sensitive items (a streak ends
  with the first non-sensitive one) and the session proposes a break.

The windows slide (no reset at midnight: M items at 23:59 and M more at 00:01 would be 2M in
a few minutes) and are measured on wall-clock time against `exposures.created_at`, which the
database writes: not on `store.clock`, the leases' clock that tests fake. A test moves time on
by moving the exposures and answers back (their created_at), exact on SQLite and PostgreSQL.
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
from labelkit.store.tables import annotations, annotators, exposures, items

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
        None. Called by the store in the leasing transaction (it sees the answer just written)."""
        if not self.active:
            return None
        # Only the windows a limit is set for: the week's count (the dashboard's) is the big one.
        windows = tuple(
            window
            for window, limit in (
                ("hour", self.sensitive_per_hour),
                ("day", self.sensitive_per_day),
            )
            if limit is not None
        )
        seen = exposure_counts(conn, annotator_id, now, streak=self.streak_break, windows=windows)
        return self.reached(seen)

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
        sa.select(sa.func.count())
        .where(exposures.c.annotator_id == annotator_id, exposures.c.created_at >= since)
        .scalar_subquery()
    )


WINDOWS = {"hour": timedelta(hours=1), "day": timedelta(days=1), "week": timedelta(days=7)}


def exposure_counts(
    conn: sa.Connection,
    annotator_id: int,
    now: float | None = None,
    streak: int | None = None,
    windows: tuple[str, ...] = tuple(WINDOWS),
) -> dict[str, int]:
    """Sensitive items the annotator acted on in the last hour, 24 hours and 7 days before
    `now` (epoch seconds, default: the wall clock); `streak`: how many of their newest
    `streak` new items were sensitive in a row (0 when `streak` is None). Windows left out
    of `windows` are not counted (0)."""
    moment = datetime.fromtimestamp(time.time() if now is None else now, UTC)
    found = dict.fromkeys(WINDOWS, 0)
    if windows:
        counts = conn.execute(
            sa.select(
                *(
                    _sensitive_items_since(annotator_id, _since(conn, moment - WINDOWS[name]))
                    for name in windows
                )
            )
        ).one()
        found |= dict(zip(windows, counts, strict=True))
    row = 0
    if streak:
        newest = conn.execute(
            sa.select(items.c.sensitive)
            .join(annotations, annotations.c.item_id == items.c.id)
            .where(annotations.c.annotator_id == annotator_id, annotations.c.version == 1)
            # created_at first: a walk down ix_annotations_annotator_created (SQLite's index
            # ends with the rowid, so the tie-break is in it too), not a sort of all their rows.
            .order_by(annotations.c.created_at.desc(), annotations.c.id.desc())
            .limit(streak)
        ).scalars()
        for sensitive in newest:
            if not sensitive:
                break
            row += 1
    return found | {"streak": row}


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
        windows = _everyone_windows(conn, now)  # one grouped query, not three per person
        for person in people:
            seen = dict(windows.get(person.id, dict.fromkeys(WINDOWS, 0)))
            seen["streak"] = exposure_counts(conn, person.id, now, streak, windows=())["streak"]
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


def _everyone_windows(conn: sa.Connection, now: float | None) -> dict[int, dict[str, int]]:
    """{annotator id: {"hour", "day", "week": sensitive items acted on}} for everyone who
    acted on one in the last 7 days (exposure_counts' figures, in one grouped query)."""
    moment = datetime.fromtimestamp(time.time() if now is None else now, UTC)
    since = {name: _since(conn, moment - window) for name, window in WINDOWS.items()}
    counts = [
        sa.func.count(sa.case((exposures.c.created_at >= since[name], 1))) for name in WINDOWS
    ]
    query = (
        sa.select(exposures.c.annotator_id, *counts)
        .where(exposures.c.created_at >= since["week"])
        .group_by(exposures.c.annotator_id)
    )
    return {row[0]: dict(zip(WINDOWS, row[1:], strict=True)) for row in conn.execute(query).all()}


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
        if not row.sensitive:  # who acted on it before was exposed too (the reporter first)
            record_exposures(conn, item_id)
    return added


def record_exposures(conn: sa.Connection, item_id: int) -> None:
    """An item just became sensitive: everyone who had acted on it was exposed to it, from
    their first action on it (answers to come record their own, in the store)."""
    conn.execute(_EXPOSED_BEFORE, {"item_id": item_id})


# ON CONFLICT: one row each, even when an answer records its own exposure at the same moment.
_EXPOSED_BEFORE = sa.text(
    "INSERT INTO exposures (annotator_id, item_id, created_at)"
    " SELECT annotator_id, item_id, min(created_at) FROM annotations WHERE item_id = :item_id"
    " GROUP BY annotator_id, item_id ON CONFLICT DO NOTHING"
)
