"""Errors a user can act on. Each names what is wrong and where."""

from __future__ import annotations


class LabelkitError(Exception):
    """Base class: the message is meant for the user, as is."""


class SchemaError(LabelkitError):
    def __init__(self, source: str, problems: list[str]):
        self.source, self.problems = source, problems
        super().__init__(f"{source}: invalid schema:\n  " + "\n  ".join(problems))


class AnswerError(LabelkitError, ValueError):
    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("invalid answer: " + "; ".join(problems))


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
