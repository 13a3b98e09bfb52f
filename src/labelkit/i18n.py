"""The app's own text in several languages: one catalogue per language.

`src/labelkit/ui/locales/<code>.json` maps keys to strings with `{placeholders}`. Every catalogue
has the same keys and placeholders (a test checks), so a new language is one more file. Dataset
text is never translated. Which language an annotator sees: their own (annotators.locale), else
the project's (`locale:` in project.yaml), else English.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from importlib import resources

import sqlalchemy as sa

from labelkit.errors import LabelkitError

DEFAULT_LOCALE = "en"
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _folder():
    return resources.files("labelkit") / "ui" / "locales"


def locales() -> list[str]:
    """The languages there is a catalogue for, e.g. ["en", "fr"]."""
    return sorted(p.name[:-5] for p in _folder().iterdir() if p.name.endswith(".json"))


def check_locale(value) -> str | None:
    """A known locale code ("fr", "FR", "fr-CA" -> "fr"), None for none; LabelkitError else."""
    if value is None or value == "":
        return None
    code = str(value).strip().lower().replace("_", "-")
    known = locales()
    if code not in known and code.split("-")[0] in known:
        code = code.split("-")[0]
    if code not in known:
        raise LabelkitError(f"unknown locale {value!r}: use one of {', '.join(known)}")
    return code


@lru_cache(maxsize=16)
def catalogue(locale: str) -> dict[str, str]:
    """The strings of one language; keys missing from it fall back to English."""
    english = json.loads((_folder() / f"{DEFAULT_LOCALE}.json").read_text("utf-8"))
    if locale == DEFAULT_LOCALE:
        return english
    own = json.loads((_folder() / f"{check_locale(locale)}.json").read_text("utf-8"))
    return english | own


def placeholders(text: str) -> set[str]:
    return set(_PLACEHOLDER.findall(text))


def translate(locale: str, key: str, **values) -> str:
    """The string `key` in `locale` with its {placeholders} filled (unknown ones stay)."""
    text = catalogue(locale).get(key, key)
    return _PLACEHOLDER.sub(lambda m: str(values.get(m.group(1), m.group(0))), text)


def locale_for(project, annotator: str) -> str:
    """The annotator's own locale, else the project's, else English."""
    from labelkit.store.tables import annotators

    with project.store.reading() as conn:
        own = conn.execute(
            sa.select(annotators.c.locale).where(annotators.c.name == annotator)
        ).scalar()
    try:
        return check_locale(own) or check_locale(project.settings.get("locale")) or DEFAULT_LOCALE
    except LabelkitError:
        return DEFAULT_LOCALE  # a stale code in the database or settings: still usable
