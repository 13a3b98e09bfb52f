"""The app's own text in several languages: one catalogue per language.

`src/labelkit/ui/locales/<code>.json` maps keys to strings with `{placeholders}`. Every catalogue
has the same keys and placeholders (a test checks), so a new language is one more file. Dataset
text is never translated. Which language an annotator sees: their own (annotators.locale), else
the project's (`locale:` in project.yaml), else English.

A count's string is one key per plural form its language uses, by CLDR's rules: `KEY.one`,
`KEY.other` in English; `KEY.one` (0 and 1), `KEY.many` (a million: "de"), `KEY.other` in
French. The count is the value `{n}` (every form shows it); `translate(locale, "KEY", n=3)`
picks the form (Babel here, Intl.PluralRules in the browser: the same CLDR rules).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

import sqlalchemy as sa

from labelkit.errors import LabelkitError

DEFAULT_LOCALE = "en"
# CLDR plural categories: the suffixes of a count's keys ("other" is always there).
PLURAL_FORMS = ("zero", "one", "two", "few", "many", "other")
# {name} or {name:spec}: spec "%" is a percentage, ".2f" a decimal with 2 digits, written the
# language's way by Babel ("85 %", "0,85" in French). The page's t() fills plain {name} only,
# so specs are for kernel-side text (labelkit.i18n.Message).
_PLACEHOLDER = re.compile(r"\{(\w+)(?::([^{}]*))?\}")
_DECIMAL = re.compile(r"\.(\d)f")


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
    """The names of the {placeholders} in `text` (with or without a format spec)."""
    return {name for name, _spec in _PLACEHOLDER.findall(text)}


def translate(locale: str, key: str, **values) -> str:
    """The string `key` in `locale` with its {placeholders} filled (unknown ones stay); for a
    count's key, the plural form the language uses for `n`."""
    strings = catalogue(locale)
    text = strings.get(key)
    if text is None:
        text = _plural(strings, locale, key, values.get("n"))

    def fill(match: re.Match) -> str:
        name, spec = match.groups()
        if name not in values:
            return match.group(0)
        return _format(values[name], spec, locale)

    return _PLACEHOLDER.sub(fill, text)


def _plural(strings: dict[str, str], locale: str, key: str, n) -> str:
    """The form of the count's string `key` for `n` (its `other` form when n is no number)."""
    other = strings.get(f"{key}.other")
    if other is None:
        return key
    if isinstance(n, bool) or not isinstance(n, int | float):
        return other
    return strings.get(f"{key}.{_plural_rule(locale)(abs(n))}", other)


@lru_cache(maxsize=16)
def _plural_rule(locale: str):
    from babel import Locale  # only when a count is said: off the kernel's start-up

    return Locale.parse(locale).plural_form


def _format(value, spec: str | None, locale: str) -> str:
    if isinstance(value, Message):
        return value.text(locale)
    if isinstance(value, list | tuple):  # e.g. several problems with one answer
        return "; ".join(_format(each, spec, locale) for each in value)
    if not spec or isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    from babel.numbers import format_decimal, format_percent  # only when a number is shown

    if spec == "%":
        return format_percent(value, locale=locale)
    digits = _DECIMAL.fullmatch(spec)
    if digits:
        return format_decimal(value, format="0." + "0" * int(digits[1]), locale=locale)
    try:
        return format(value, spec)
    except ValueError:  # a bad spec in a catalogue must not turn a message into a crash
        return str(value)


@dataclass(frozen=True)
class Message:
    """Text for a person, kept as a catalogue key and its values so each reader gets it in
    their own language: `text(locale)`; str() is English (logs, the CLI, the lead's files).
    Values are plain data (numbers, names, other Messages), so a Message can be stored as JSON
    (`to_json` / `from_json`) and said again later in another language."""

    key: str
    values: dict = field(default_factory=dict)

    @classmethod
    def of(cls, key: str, **values) -> Message:
        return cls(key, values)

    def text(self, locale: str = DEFAULT_LOCALE) -> str:
        return translate(locale, self.key, **self.values)

    def __str__(self) -> str:
        return self.text(DEFAULT_LOCALE)

    def to_json(self) -> dict:
        return {"key": self.key, "values": {k: _jsonable(v) for k, v in self.values.items()}}

    @classmethod
    def from_json(cls, data) -> Message | None:
        if not isinstance(data, dict) or not isinstance(data.get("key"), str):
            return None
        values = data.get("values") if isinstance(data.get("values"), dict) else {}
        return cls(data["key"], {k: _unjson(v) for k, v in values.items()})


def _jsonable(value):
    if isinstance(value, list | tuple):
        return [_jsonable(each) for each in value]
    return {"message": value.to_json()} if isinstance(value, Message) else value


def _unjson(value):
    if isinstance(value, list):
        return [_unjson(each) for each in value]
    if isinstance(value, dict) and "message" in value:
        return Message.from_json(value["message"]) or ""
    return value


def say(text, locale: str = DEFAULT_LOCALE) -> str:
    """A Message in `locale`; anything else (a lead's own words, dataset text) as it is."""
    return text.text(locale) if isinstance(text, Message) else "" if text is None else str(text)


def error_text(exc: Exception, locale: str = DEFAULT_LOCALE) -> str:
    """What to tell a person about `exc` in their language: errors carrying a `message`
    (a Message) are translated; any other error's own (English) words are kept."""
    message = getattr(exc, "message", None)
    return message.text(locale) if isinstance(message, Message) else str(exc)


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
