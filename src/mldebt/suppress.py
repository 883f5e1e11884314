"""``# mldebt: ignore[...]`` comments: parsing, matching findings, and what went unused.

A comment alone on its line covers that line and the next one; a comment after code covers
its own line. ``# mldebt: ignore-file[...]`` covers the whole file. Without brackets a
suppression covers every rule. Lines are module lines (a notebook's cells concatenated), and
a suppression never reaches across a notebook cell boundary. Only real comments count (the
tokenizer finds them), so the same text inside a string or docstring suppresses nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

# ``ignore`` must end the word (``ignore-next`` is no suppression, and certainly no bare one);
# the brackets may follow after spaces and an unclosed bracket still lists codes.
_PATTERN = re.compile(
    r"#\s*mldebt\s*:\s*(ignore-file|ignore)(?![\w-])(?:\s*\[([^\]]*)\]?)?", re.IGNORECASE
)


@dataclass
class Suppression:
    line: int
    column: int
    file_level: bool
    codes: tuple[str, ...] | None  # None: a bare suppression, every rule
    covers: tuple[int, ...]
    used: set[str] = field(default_factory=set)

    def to_dict(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "column": self.column,
            "file_level": self.file_level,
            "codes": list(self.codes) if self.codes is not None else None,
            "covers": list(self.covers),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Suppression:
        codes = data["codes"]
        return cls(
            data["line"],
            data["column"],
            data["file_level"],
            tuple(codes) if codes is not None else None,
            tuple(data["covers"]),
        )


def parse_suppressions(
    comments: Iterable[tuple[int, int, str, bool]], cell_starts: Iterable[int] = ()
) -> list[Suppression]:
    """Suppressions in ``(line, column, text, own_line)`` comments.

    Suppression comments stacked on consecutive lines of their own all cover the line after
    the stack, so several rules can be silenced above one statement.
    """
    starts = set(cell_starts)
    found = []
    for line, column, text, own_line in comments:
        for match in _PATTERN.finditer(text):
            kind, inside = match.group(1).lower(), match.group(2)
            codes = None
            if inside is not None:
                codes = tuple(c.strip() for c in inside.split(",") if c.strip())
            covers: tuple[int, ...] = (line,)
            if own_line and (line + 1) not in starts:
                covers = (line, line + 1)
            found.append(
                Suppression(line, column + match.start(), kind == "ignore-file", codes, covers)
            )
    # Extend a stack from the bottom up: each comment also covers what the one below covers.
    stacked = {s.line: s for s in found if not s.file_level and len(s.covers) == 2}
    for sup in sorted(stacked.values(), key=lambda s: -s.line):
        below = stacked.get(sup.line + 1)
        if below is not None:
            sup.covers = (sup.line, *below.covers)
    return found


def suppressed_by(
    suppressions: list[Suppression], code: str, name: str, lines: range
) -> Suppression | None:
    """The suppression that silences a finding of rule ``code``/``name`` on ``lines``."""
    for sup in suppressions:
        if not sup.file_level and not any(line in lines for line in sup.covers):
            continue
        if sup.codes is None:
            sup.used.add("*")
            return sup
        for token in sup.codes:
            if token in (code, name):
                sup.used.add(token)
                return sup
    return None
