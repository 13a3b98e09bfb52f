"""The tables of a label store (SQLAlchemy Core), the same on SQLite and PostgreSQL.

Annotations are append-only: an edit is a new row with a higher `version` for the same item and
annotator; nothing is updated or deleted. `items.answer_count` is the one running counter (how
many distinct annotators submitted an answer) so that finding the next item stays an index seek.
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator

SCHEMA_VERSION = 7  # bump with a step in migrations.py


class JSONText(TypeDecorator):
    """JSON stored as compact text: portable, and cheaper to write in bulk than native JSON."""

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return (
            None if value is None else json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        )

    def process_result_value(self, value, dialect):
        return None if value is None else json.loads(value)


def _now():
    return sa.func.current_timestamp()


metadata = sa.MetaData()

meta = sa.Table(
    "meta",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", JSONText, nullable=False),
)

imports = sa.Table(
    "imports",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("source", sa.Text, nullable=False),
    # Same source file and options -> same fingerprint: lets an interrupted import resume.
    sa.Column("fingerprint", sa.String(64), index=True),
    sa.Column("status", sa.String(16), nullable=False),  # running | done | failed
    sa.Column("rows_read", sa.Integer, nullable=False, default=0),
    sa.Column("rows_added", sa.Integer, nullable=False, default=0),
    sa.Column("started_at", sa.DateTime(timezone=True), server_default=_now()),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
)

items = sa.Table(
    "items",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("key", sa.String(200), nullable=False, unique=True),  # the source id or a hash
    sa.Column("data", JSONText, nullable=False),  # field name -> value
    sa.Column("content_hash", sa.String(32), nullable=False),
    sa.Column("metadata", JSONText),  # shown to reviewers only
    sa.Column("suggestions", JSONText),  # question -> model's pre-answer
    sa.Column("language", sa.String(35)),
    sa.Column("level", sa.Integer, nullable=False, server_default="0"),
    sa.Column("sensitive", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("warnings", JSONText),  # content-warning categories, e.g. ["violence"]; sensitive
    # Gold items (a row in `gold`) stay out of the normal queue: honeypots are mixed in at the
    # project's rate and exam items are served only in exams (labelkit.gold).
    sa.Column("gold", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("answer_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("priority", sa.Integer, nullable=False, server_default="0"),  # higher goes first
    # The project's serving order (team/assignment.py): 0 (sequential), -priority, or a seeded
    # hash of the id (random). Ties go by id, i.e. import order.
    sa.Column("order_key", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("import_id", sa.Integer, sa.ForeignKey("imports.id")),
    sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now()),
    sa.Index("ix_items_queue", "answer_count", "order_key", "id"),  # the next item: one seek
    sa.Index("ix_items_import_id", "import_id"),
)

gold = sa.Table(
    "gold",
    metadata,
    sa.Column(
        "item_id", sa.Integer, sa.ForeignKey("items.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("answer", JSONText, nullable=False),
    sa.Column("explanation", sa.Text, nullable=False, server_default=""),
    sa.Column("exam", sa.String(64)),  # the exam or training it belongs to; NULL = a honeypot
)

annotators = sa.Table(
    "annotators",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    sa.Column("role", sa.String(16), nullable=False, server_default="annotator"),
    sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now()),
    # Access links: only a hash of the token is kept (sha256 hex), so a leaked store leaks no link.
    sa.Column("token_hash", sa.String(64), unique=True),
    sa.Column("languages", JSONText),  # language codes this annotator works in; NULL = any
    sa.Column("level", sa.Integer, nullable=False, server_default="0"),
    sa.Column("status", sa.String(16), nullable=False, server_default="active"),  # | suspended
    sa.Column("daily_goal", sa.Integer),  # answers a day, set by them or the lead; NULL = project's
    sa.Column("opt_outs", JSONText),  # content-warning categories they are never served
    sa.Column("locale", sa.String(16)),  # the app's language for them (en, fr); NULL = project's
)

# Every change of an annotator's level or status, and every exam result, with its reason: the
# annotator's history, shown to them and to the lead. actor: "system" or the lead's name.
annotator_events = sa.Table(
    "annotator_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("annotator_id", sa.Integer, sa.ForeignKey("annotators.id"), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),  # level | status | exam | warning
    sa.Column("old", sa.String(64)),
    sa.Column("new", sa.String(64)),
    sa.Column("reason", sa.Text, nullable=False),  # in English (logs, the CLI, old stores)
    # The reason as a catalogue key and values (labelkit.i18n.Message), so the annotator reads it
    # in their language; NULL for a lead's own words, shown as written.
    sa.Column("reason_message", JSONText),
    sa.Column("actor", sa.String(200), nullable=False, server_default="system"),
    sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now()),
    sa.Index("ix_annotator_events_annotator", "annotator_id", "id"),
)

# Exams and training: an attempt serves the exam's gold items; its answers stay here, apart from
# the work's annotations (they are never consensus, exports or pay).
exam_attempts = sa.Table(
    "exam_attempts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("exam", sa.String(64), nullable=False),
    sa.Column("annotator_id", sa.Integer, sa.ForeignKey("annotators.id"), nullable=False),
    sa.Column("started_at", sa.Float, nullable=False),  # epoch seconds
    sa.Column("finished_at", sa.Float),
    sa.Column("score", sa.Float),  # 0..1, set when finished
    sa.Column("passed", sa.Boolean),
    sa.Index("ix_exam_attempts_annotator", "annotator_id", "exam"),
)

exam_answers = sa.Table(
    "exam_answers",
    metadata,
    sa.Column("attempt_id", sa.Integer, sa.ForeignKey("exam_attempts.id"), primary_key=True),
    sa.Column("item_id", sa.Integer, sa.ForeignKey("items.id"), primary_key=True),
    sa.Column("answer", JSONText),
    sa.Column("score", sa.Float, nullable=False),  # 0..1 against the gold answer
    sa.Column("duration_ms", sa.Integer),
    sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now()),
)

# An item handed to an annotator is theirs until `expires_at` (epoch seconds, UTC); a closed tab
# or a dead kernel gives it back when the lease runs out. Renewed while the annotator is active.
leases = sa.Table(
    "leases",
    metadata,
    sa.Column("item_id", sa.Integer, sa.ForeignKey("items.id"), primary_key=True),
    sa.Column("annotator_id", sa.Integer, sa.ForeignKey("annotators.id"), primary_key=True),
    sa.Column("expires_at", sa.Float, nullable=False),
    sa.Index("ix_leases_annotator", "annotator_id"),
)

# reported: the annotator flagged the content itself (disturbing, broken, spam); see comment.
ANNOTATION_STATUSES = ("submitted", "skipped", "escalated", "reported")

annotations = sa.Table(
    "annotations",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("item_id", sa.Integer, sa.ForeignKey("items.id"), nullable=False),
    sa.Column("annotator_id", sa.Integer, sa.ForeignKey("annotators.id"), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("answer", JSONText),
    sa.Column("comment", sa.Text),  # escalation reason, report note
    sa.Column("duration_ms", sa.Integer),
    # Sent by the client with each submit: a retry with the same key never writes twice.
    sa.Column("client_key", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now()),
    sa.UniqueConstraint("item_id", "annotator_id", "version", name="uq_annotation_version"),
    sa.Index("ix_annotations_annotator_item", "annotator_id", "item_id"),
    # An annotator's recent answers (exposure limits' sliding windows, the day panel): a range.
    sa.Index("ix_annotations_annotator_created", "annotator_id", "created_at"),
)


# A reviewer's verdict on one annotation version (append-only too: the newest verdict counts).
# Rejected answers are left out of consensus, exports and pay, and count against the annotator.
REVIEW_VERDICTS = ("accepted", "rejected")

reviews = sa.Table(
    "reviews",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("annotation_id", sa.Integer, sa.ForeignKey("annotations.id"), nullable=False),
    sa.Column("reviewer_id", sa.Integer, sa.ForeignKey("annotators.id"), nullable=False),
    sa.Column("verdict", sa.String(16), nullable=False),
    sa.Column("comment", sa.Text),
    sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now()),
    sa.Index("ix_reviews_annotation", "annotation_id"),
)


def newest_verdict(annotation_id=None) -> sa.ScalarSelect:
    """A reviewer's newest verdict (the one that counts) on the annotation whose id is the
    column `annotation_id` of the enclosing query (default annotations.id), or NULL."""
    target = annotations.c.id if annotation_id is None else annotation_id
    return (
        sa.select(reviews.c.verdict)
        .where(reviews.c.annotation_id == target)
        .order_by(reviews.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )


# The score (0..1) of a submitted answer to a hidden gold item (a honeypot), written with it.
gold_scores = sa.Table(
    "gold_scores",
    metadata,
    sa.Column("annotation_id", sa.Integer, sa.ForeignKey("annotations.id"), primary_key=True),
    sa.Column("annotator_id", sa.Integer, sa.ForeignKey("annotators.id"), nullable=False),
    sa.Column("item_id", sa.Integer, sa.ForeignKey("items.id"), nullable=False),
    sa.Column("score", sa.Float, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now()),
    sa.Index("ix_gold_scores_annotator", "annotator_id", "annotation_id"),
)

# Automatic checks on an answer, e.g. kind "fast": answered much faster than the honest median.
answer_flags = sa.Table(
    "answer_flags",
    metadata,
    sa.Column("annotation_id", sa.Integer, sa.ForeignKey("annotations.id"), primary_key=True),
    sa.Column("kind", sa.String(16), primary_key=True),
    sa.Column("annotator_id", sa.Integer, sa.ForeignKey("annotators.id"), nullable=False),
    sa.Column("detail", JSONText),
    sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now()),
    sa.Index("ix_answer_flags_annotator", "annotator_id", "annotation_id"),
)

# A reviewer's or admin's final answer to an escalated item (the newest counts): it is the
# item's consensus, whatever the annotators answered.
resolutions = sa.Table(
    "resolutions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("item_id", sa.Integer, sa.ForeignKey("items.id"), nullable=False),
    sa.Column("reviewer_id", sa.Integer, sa.ForeignKey("annotators.id"), nullable=False),
    sa.Column("answer", JSONText, nullable=False),
    sa.Column("comment", sa.Text),
    sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now()),
    sa.Index("ix_resolutions_item", "item_id"),
)

# The sensitive items each annotator was shown, and when they first acted on one: the exposure
# limits' sliding windows count these few rows, not all of the annotator's answers
# (labelkit.wellbeing). Written with the first answer to a sensitive item, and for everyone who
# had acted on an item when it is flagged sensitive later.
exposures = sa.Table(
    "exposures",
    metadata,
    sa.Column("annotator_id", sa.Integer, sa.ForeignKey("annotators.id"), primary_key=True),
    sa.Column("item_id", sa.Integer, sa.ForeignKey("items.id"), primary_key=True),
    sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now()),
    sa.Index("ix_exposures_annotator_created", "annotator_id", "created_at"),
)

# Dynamic overlap (team/overlap.py): when an item settles with a strict majority on the deciding
# question, whether each voter was in it. An annotator's recent rows make their accuracy.
majority_agreements = sa.Table(
    "majority_agreements",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("item_id", sa.Integer, sa.ForeignKey("items.id"), nullable=False),
    sa.Column("annotator_id", sa.Integer, sa.ForeignKey("annotators.id"), nullable=False),
    sa.Column("agreed", sa.Boolean, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now()),
    sa.UniqueConstraint("item_id", "annotator_id", name="uq_majority_agreement"),
    sa.Index("ix_majority_agreements_annotator", "annotator_id", "id"),
)

# ---------------------------------------------------------------------------- Label Studio sync
# Mappings between this store and linked Label Studio projects (labelkit.labelstudio). Each is
# written in the same transaction as the data it maps, so a sync cut short resumes cleanly.

ls_links = sa.Table(
    "ls_links",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("url", sa.Text, nullable=False),  # the server's base URL (never a token)
    sa.Column("project_id", sa.Integer, nullable=False),  # the Label Studio project
    sa.Column("origin", sa.String(16), nullable=False),  # labelkit | labelstudio: whose config
    sa.Column("label_config", sa.Text, nullable=False),  # the config last pushed or read
    sa.Column("cursor", sa.String(40)),  # newest updated_at pulled (Label Studio's clock)
    sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now()),
    sa.UniqueConstraint("url", "project_id", name="uq_ls_links_project"),
)

ls_tasks = sa.Table(
    "ls_tasks",
    metadata,
    sa.Column("link_id", sa.Integer, sa.ForeignKey("ls_links.id"), primary_key=True),
    sa.Column("item_id", sa.Integer, sa.ForeignKey("items.id"), primary_key=True),
    sa.Column("task_id", sa.Integer, nullable=False),
    sa.Column("ls_updated_at", sa.String(40)),  # the task's updated_at when last pulled
    sa.UniqueConstraint("link_id", "task_id", name="uq_ls_tasks_task"),
)

# One row per labelkit annotation version that went to (push) or came from (pull) Label Studio.
# ls_annotation_id is NULL for an annotation pushed inside a task import until a pull sees it
# (Label Studio keeps our annotation id as the annotation's import_id).
ls_annotations = sa.Table(
    "ls_annotations",
    metadata,
    sa.Column("link_id", sa.Integer, sa.ForeignKey("ls_links.id"), primary_key=True),
    sa.Column("annotation_id", sa.Integer, sa.ForeignKey("annotations.id"), primary_key=True),
    sa.Column("kind", sa.String(16), primary_key=True),  # annotation | prediction
    sa.Column("direction", sa.String(8), nullable=False),  # push | pull
    sa.Column("ls_annotation_id", sa.Integer),
    sa.Column("ls_task_id", sa.Integer, nullable=False),
    sa.Column("ls_updated_at", sa.String(40)),  # Label Studio's updated_at when last in step
    sa.Index("ix_ls_annotations_ls_id", "link_id", "ls_annotation_id"),
    sa.Index("ix_ls_annotations_task", "link_id", "ls_task_id"),
)

# Annotators as Label Studio users (matched by email).
ls_users = sa.Table(
    "ls_users",
    metadata,
    sa.Column("link_id", sa.Integer, sa.ForeignKey("ls_links.id"), primary_key=True),
    sa.Column("annotator_id", sa.Integer, sa.ForeignKey("annotators.id"), primary_key=True),
    sa.Column("email", sa.String(254), nullable=False),
    sa.Column("ls_user_id", sa.Integer, nullable=False),
    sa.UniqueConstraint("link_id", "email", name="uq_ls_users_email"),
)
