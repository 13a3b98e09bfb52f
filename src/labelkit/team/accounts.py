"""Annotator accounts and their personal access links.

An account is a row of `annotators` that holds an access token. The token travels only in the
link the lead hands out (`http://HOST:PORT/?token=...`); the store keeps its sha256, so a copy
of the database gives no one a working link. A link is revoked by suspending its owner or by
rotating the token. Once one account exists, "access links are in force": the served app
labels only for someone who opened a valid link (see ui/app.py).

Annotators that labeled before accounts existed (the local user, names pulled from Label
Studio or a published release) have no token; `add` with their name gives them one and keeps
their answers.
"""

from __future__ import annotations

import getpass
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from labelkit.errors import LabelkitError
from labelkit.i18n import Message
from labelkit.store.tables import annotations, annotators

ROLES = ("annotator", "reviewer", "admin")
STATUSES = ("active", "retry", "suspended")
# "retry": sent back to an exam by the gold accuracy rules (labelkit.gold): may open the app
# and take exams, gets no work (assignment serves only "active" annotators).
OPEN_STATUSES = ("active", "retry")
MAX_LEVEL = 100
MAX_NAME_CHARS = 100
DEFAULT_LINK_HOST = "127.0.0.1"
DEFAULT_LINK_PORT = 8866

# Letters (any script), digits, and . _ @ + - ' and inner spaces: fits a person's name or an
# email, and nothing that could be confused with markup or a path.
_NAME = re.compile(r"[^\W_][\w.@+' -]*", re.UNICODE)
# BCP 47-ish: "fr", "pt-br", "zh-hant". Items' languages are stored lowercased the same way.
_LANGUAGE = re.compile(r"[a-z]{2,3}(-[a-z0-9]{2,8})*")
_TOKEN = re.compile(r"[A-Za-z0-9_-]{20,200}")  # what token_urlsafe makes; anything else is wrong


class AccountError(LabelkitError):
    """A bad account request: unknown annotator, duplicate name, bad role, level or language."""


class AccessDenied(LabelkitError):
    """Nobody may label through this page. `reason` is no_token, bad_token or suspended."""

    def __init__(self, reason: str, message: str, name: str | None = None):
        self.reason = reason
        self.name = name  # whose access it is, when known (the page says it in their language)
        super().__init__(message)


@dataclass(frozen=True)
class Account:
    id: int
    name: str
    role: str
    languages: list[str] | None  # None: works in any language
    level: int
    status: str  # active | retry | suspended
    has_link: bool
    created_at: datetime | None = None
    locale: str | None = None  # the app's language for them; None: the project's
    opt_outs: list[str] | None = None  # content-warning categories they are never served

    @property
    def active(self) -> bool:
        return self.status == "active"

    @property
    def may_open(self) -> bool:
        """Active, or sent back to a retry exam: may open the app (and take exams)."""
        return self.status in OPEN_STATUSES


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


def access_link(token: str, host: str = DEFAULT_LINK_HOST, port: int = DEFAULT_LINK_PORT) -> str:
    """The personal link: Voila hands the query string to the kernel (QUERY_STRING)."""
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 address
    return f"http://{host}:{port}/?token={token}"


# ---------------------------------------------------------------------------- checks


def check_name(name) -> str:
    if not isinstance(name, str) or not name.strip():
        raise AccountError("an annotator needs a name")
    name = name.strip()
    if len(name) > MAX_NAME_CHARS or not _NAME.fullmatch(name):
        raise AccountError(
            f"invalid annotator name {name!r}: use up to {MAX_NAME_CHARS} letters, digits, "
            "spaces and . _ @ + - ' (starting with a letter or digit)"
        )
    return name


def check_role(role) -> str:
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    return role


def check_level(level) -> int:
    if isinstance(level, bool) or not isinstance(level, int) or not 0 <= level <= MAX_LEVEL:
        raise AccountError(f"level must be a whole number from 0 to {MAX_LEVEL}, got {level!r}")
    return level


def check_languages(languages) -> list[str] | None:
    """None or an empty value: any language. A string may list codes separated by commas."""
    if languages is None:
        return None
    if isinstance(languages, str):
        languages = languages.split(",")
    codes: list[str] = []
    for code in languages:
        code = str(code).strip().lower().replace("_", "-")
        if not code:
            continue
        if not _LANGUAGE.fullmatch(code):
            raise AccountError(
                f"invalid language code {code!r}: use codes like fr, en, pt-br (comma separated)"
            )
        if code not in codes:
            codes.append(code)
    return codes or None


# ---------------------------------------------------------------------------- the accounts


class Accounts:
    """The annotator accounts of one store (`project.annotators`)."""

    def __init__(self, store):
        self.store = store

    def add(
        self,
        name: str,
        *,
        languages: list[str] | str | None = None,
        role: str = "annotator",
        level: int = 0,
        locale: str | None = None,
    ) -> tuple[Account, str]:
        """Create an account; returns it and its token (shown this once, then only hashed)."""
        name = check_name(name)
        values = {
            "role": check_role(role),
            "level": check_level(level),
            "languages": check_languages(languages),
            "status": "active",
        }
        if locale is not None:
            values["locale"] = _locale(locale)
        token = new_token()
        values["token_hash"] = hash_token(token)
        try:
            with self.store.writing() as conn:
                found = conn.execute(
                    sa.select(annotators.c.id, annotators.c.token_hash).where(
                        annotators.c.name == name
                    )
                ).first()
                if found is not None and found.token_hash is not None:
                    raise AccountError(
                        f"annotator {name!r} already has an account (rotate-token gives a new link)"
                    )
                if found is None:
                    conn.execute(annotators.insert().values(name=name, **values))
                else:  # labeled before accounts: the account takes over their answers
                    conn.execute(
                        annotators.update().where(annotators.c.id == found.id).values(**values)
                    )
        except sa.exc.IntegrityError:  # the same name added by another process meanwhile
            raise AccountError(f"annotator {name!r} already has an account") from None
        return self.get(name), token

    def list(self) -> list[Account]:
        """Every annotator, accounts and token-less ones alike, by name (never a token)."""
        with self.store.reading() as conn:
            rows = conn.execute(sa.select(*_COLUMNS).order_by(annotators.c.name)).all()
        return [_account(row) for row in rows]

    def get(self, name: str) -> Account:
        with self.store.reading() as conn:
            row = conn.execute(sa.select(*_COLUMNS).where(annotators.c.name == name)).first()
        if row is None:
            raise AccountError(f"unknown annotator {name!r} (see `labelkit annotators list`)")
        return _account(row)

    def answers(self, name: str) -> int:
        """How many annotation rows the annotator wrote (all versions and statuses)."""
        account = self.get(name)
        with self.store.reading() as conn:
            return conn.execute(
                sa.select(sa.func.count()).where(annotations.c.annotator_id == account.id)
            ).scalar_one()

    def suspend(
        self, name: str, *, reason: str | Message | None = None, actor: str | None = None
    ) -> Account:
        """Stop the annotator: their link shows a "suspended" page and their next action fails.
        The change goes to their history with `reason` and `actor` (default: you)."""
        reason = reason or Message.of("history.reason.lead_suspended")
        return self._set(name, status="suspended", reason=reason, actor=actor)

    def resume(
        self, name: str, *, reason: str | Message | None = None, actor: str | None = None
    ) -> Account:
        """Let the annotator work again (also out of "retry"); recorded in their history."""
        reason = reason or Message.of("history.reason.lead_resumed")
        return self._set(name, status="active", reason=reason, actor=actor)

    def rotate_token(self, name: str) -> str:
        """A new link for the annotator; the old one stops working at once."""
        token = new_token()
        self._set(name, token_hash=hash_token(token))
        return token

    def update(
        self,
        name: str,
        *,
        languages=...,
        role: str | None = None,
        level: int | None = None,
        locale=...,
        opt_outs=...,
        reason: str | None = None,
        actor: str | None = None,
    ) -> Account:
        """Change an annotator's languages (None: any), role, level, locale (None: the
        project's) or opt-outs (content-warning categories they are never served). A level
        change goes to their history with `reason` and `actor` (default: you)."""
        values = {}
        if locale is not ...:
            values["locale"] = _locale(locale)
        if opt_outs is not ...:
            from labelkit.wellbeing import WellbeingError, check_categories

            try:
                values["opt_outs"] = check_categories(opt_outs) or None
            except WellbeingError as exc:
                raise AccountError(str(exc)) from None
        if languages is not ...:
            values["languages"] = check_languages(languages)
        if role is not None:
            values["role"] = check_role(role)
        if level is not None:
            values["level"] = check_level(level)
            reason = reason or Message.of("history.reason.lead_level", level=level)
        if not values:
            return self.get(name)
        return self._set(name, reason=reason, actor=actor, **values)

    def _set(self, name: str, *, reason: str | None = None, actor: str | None = None, **values):
        """Update the annotator's row; a level or status change is recorded in their history
        (labelkit.gold.history), in the same transaction."""
        from labelkit.gold import history

        name = str(name).strip()  # not check_name: older names (e.g. from Label Studio) vary
        standing = {key: values.pop(key) for key in ("level", "status") if key in values}
        with self.store.writing() as conn:
            found = conn.execute(sa.select(annotators.c.id).where(annotators.c.name == name))
            annotator_id = found.scalar()
            if annotator_id is None:
                raise AccountError(f"unknown annotator {name!r} (see `labelkit annotators list`)")
            if values:
                mine = annotators.c.id == annotator_id
                conn.execute(annotators.update().where(mine).values(**values))
            if standing:
                reason = reason or Message.of("history.reason.lead_changed")
                actor = actor or getpass.getuser()
                history.change(conn, annotator_id, reason, actor=actor, **standing)
        return self.get(name)

    # ------------------------------------------------------------------ access

    def links_in_force(self) -> bool:
        """True once any annotator holds a token: then the served app requires a link."""
        with self.store.reading() as conn:
            query = sa.select(annotators.c.id).where(annotators.c.token_hash.is_not(None))
            return conn.execute(query.limit(1)).first() is not None

    def resolve(self, token: str | None) -> Account:
        """The active account whose link carries `token`; AccessDenied otherwise."""
        if not token:
            raise AccessDenied("no_token", NO_TOKEN_MESSAGE)
        if not _TOKEN.fullmatch(token):
            raise AccessDenied("bad_token", BAD_TOKEN_MESSAGE)
        digest = hash_token(token)
        # Looked up by its hash (an index seek), so the lookup leaks nothing about the tokens.
        with self.store.reading() as conn:
            query = sa.select(*_COLUMNS).where(annotators.c.token_hash == digest)
            row = conn.execute(query).first()
        if row is None or not hmac.compare_digest(row.token_hash, digest):
            raise AccessDenied("bad_token", BAD_TOKEN_MESSAGE)
        account = _account(row)
        if not account.may_open:
            raise AccessDenied("suspended", suspended_message(account.name), account.name)
        return account

    def ensure_active(self, annotator_id: int, link_hash: str | None = None) -> None:
        """Raise AccessDenied unless the annotator may open the app (active, or in "retry":
        they get no work but may take exams) and, for a page opened through a link
        (`link_hash`), that link is still theirs (one primary-key read)."""
        with self.store.reading() as conn:
            row = conn.execute(_STANDING, {"id": annotator_id}).first()
        if row is None or row.status not in OPEN_STATUSES:
            name = row.name if row is not None else f"#{annotator_id}"
            raise AccessDenied("suspended", suspended_message(name), name)
        if link_hash is not None and not hmac.compare_digest(row.token_hash or "", link_hash):
            raise AccessDenied("bad_token", REPLACED_LINK_MESSAGE)


NO_TOKEN_MESSAGE = (
    "This project is labeled through personal links. Open the link the project lead sent you "
    "(it ends with ?token=...); if you have none, ask them for one."
)
BAD_TOKEN_MESSAGE = (
    "This link is not valid: it may be mistyped, cut short, or replaced by a newer one. "
    "Ask the project lead for your current link."
)

REPLACED_LINK_MESSAGE = (
    "This link was replaced by a new one, so nothing more can be saved from this page. "
    "Ask the project lead for your current link."
)


def suspended_message(name: str) -> str:
    return (
        f"Access for {name} is suspended, so nothing can be labeled here. Your saved answers "
        "are kept. Ask the project lead to resume your access, then reload this page."
    )


_COLUMNS = (
    annotators.c.id,
    annotators.c.name,
    annotators.c.role,
    annotators.c.languages,
    annotators.c.level,
    annotators.c.status,
    annotators.c.token_hash,
    annotators.c.created_at,
    annotators.c.locale,
    annotators.c.opt_outs,
)

# Built once: asked on every labeling action.
_STANDING = sa.select(annotators.c.name, annotators.c.status, annotators.c.token_hash).where(
    annotators.c.id == sa.bindparam("id")
)


def _account(row) -> Account:
    return Account(
        id=row.id,
        name=row.name,
        role=row.role,
        languages=row.languages,
        level=row.level,
        status=row.status,
        has_link=row.token_hash is not None,
        created_at=row.created_at,
        locale=row.locale,
        opt_outs=row.opt_outs,
    )


def _locale(value) -> str | None:
    from labelkit.i18n import check_locale

    try:
        return check_locale(value)
    except LabelkitError as exc:
        raise AccountError(str(exc)) from None
