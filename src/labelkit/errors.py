"""Errors a user can act on. Each names what is wrong and where."""

from __future__ import annotations


class LabelkitError(Exception):
    """Base class: the message is meant for the user, as is.

    Raised with a labelkit.i18n.Message instead of a string, the error keeps it as `message`
    so an app can say it in the reader's language (labelkit.i18n.error_text); str() is English.
    """

    message = None

    def __init__(self, *args):
        if len(args) == 1 and callable(getattr(args[0], "text", None)):
            self.message = args[0]
            args = (str(args[0]),)
        super().__init__(*args)


class SchemaError(LabelkitError):
    def __init__(self, source: str, problems: list[str]):
        self.source, self.problems = source, problems
        super().__init__(f"{source}: invalid schema:\n  " + "\n  ".join(problems))


class AnswerError(LabelkitError, ValueError):
    """An answer that does not fit the schema. `problems` are Messages (labelkit.i18n), so
    the annotator reads them in their language; str() of each is English."""

    def __init__(self, problems: list):
        from labelkit.i18n import Message  # i18n imports this module

        self.problems = [str(p) for p in problems]
        super().__init__(Message.of("answer.invalid", problems=list(problems)))


class InputError(LabelkitError):
    """Bad input data. Names the file, the row (1-based, data rows) and the column when known."""

    def __init__(
        self, source: str, message: str, row: int | None = None, column: str | None = None
    ):
        self.source, self.row, self.column, self.message = source, row, column, message
        where = [source]
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column {column!r}")
        super().__init__(f"{', '.join(where)}: {message}")


class ProjectError(LabelkitError):
    """A project folder that is missing, already exists, or cannot be opened."""


class StoreError(LabelkitError):
    """The label store refused an operation (unknown item, unknown annotator, ...)."""
