"""Which split a published row goes to: one name, random fractions (seeded), or a column.

Random splits hash the item's id with the seed instead of shuffling: the choice streams, stays
the same between runs, and keeps every row of one item (per-answer views) in the same split.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from labelkit.errors import LabelkitError

SPLIT_NAME = re.compile(r"^\w+(\.\w+)*$")  # what datasets accepts as a split name


@dataclass(frozen=True)
class Splits:
    name: str = "train"  # the one split, when neither fractions nor column are given
    fractions: tuple[tuple[str, float], ...] = ()
    column: str | None = None
    seed: int = 0

    @classmethod
    def parse(
        cls, split: str | dict[str, float] | None = None, *, by: str | None = None, seed: int = 0
    ) -> Splits:
        """`split`: a split name, or {name: fraction} summing to 1; `by`: a column of the view
        whose values name the splits."""
        if by is not None and isinstance(split, dict):
            raise LabelkitError("give split fractions or a split column, not both")
        if isinstance(split, dict):
            fractions = tuple((str(name), float(part)) for name, part in split.items())
            for name, part in fractions:
                _check_name(name)
                if part < 0:
                    raise LabelkitError(f"split {name!r} has a negative fraction {part}")
            if not fractions or abs(sum(p for _, p in fractions) - 1) > 1e-6:
                raise LabelkitError(f"split fractions must add up to 1, got {dict(fractions)}")
            return cls(fractions=fractions, seed=seed)
        name = split or "train"
        _check_name(name)
        return cls(name=name, column=by, seed=seed)

    @property
    def known_names(self) -> list[str] | None:
        """The split names up front, or None when they come from a column's values."""
        if self.column:
            return None
        return [name for name, _ in self.fractions] or [self.name]

    def of(self, row: dict) -> str:
        if self.column is not None:
            if self.column not in row:
                raise LabelkitError(f"no column {self.column!r} to split by; columns: {list(row)}")
            value = row[self.column]
            return re.sub(r"\W", "_", str(value)) if value not in (None, "") else "none"
        if not self.fractions:
            return self.name
        digest = hashlib.sha256(f"{self.seed}:{row['item_id']}".encode()).digest()
        point = int.from_bytes(digest[:8], "big") / 2**64
        total = 0.0
        for name, part in self.fractions:
            total += part
            if point < total:
                return name
        return self.fractions[-1][0]


def _check_name(name: str) -> None:
    if not SPLIT_NAME.match(name):
        raise LabelkitError(f"split name {name!r} must be letters, digits and '_'")


def split_order(name: str) -> tuple:
    """Sort key: train, validation, test first, then the others by name."""
    usual = ["train", "validation", "test"]
    return (usual.index(name) if name in usual else len(usual), name)
