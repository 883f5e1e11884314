"""The finding: what every rule reports and every reporter prints.

Field names follow the JSON report contract (shared/schemas/mldebt-report.schema.json).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

# The category taxonomy is a contract: each finding has exactly one of these.
CATEGORIES: tuple[str, ...] = (
    "pipeline-jungle",
    "glue-code",
    "entanglement",
    "feedback-loop",
    "dead-experimental-code",
    "configuration-debt",
    "data-dependency",
    "abstraction-debt",
    "multiple-language",
    "reproducibility",
    "ml-api-misuse",
    "self-admitted-debt",
    "analysis",
)


class Severity(str, enum.Enum):
    """How bad a finding is; ``--fail-on`` compares against this order."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def __str__(self) -> str:
        return self.value


_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.ERROR: 2}


@dataclass(frozen=True)
class Location:
    """A place in an analysed file; ``cell`` is set for notebooks (1-based)."""

    path: str
    line: int
    column: int = 1
    end_line: int | None = None
    end_column: int | None = None
    cell: int | None = None
    message: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"path": self.path, "line": self.line, "column": self.column}
        if self.end_line is not None:
            data["end_line"] = self.end_line
        if self.end_column is not None:
            data["end_column"] = self.end_column
        data["cell"] = self.cell
        if self.message is not None:
            data["message"] = self.message
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Location:
        return cls(
            path=data["path"],
            line=data["line"],
            column=data.get("column", 1),
            end_line=data.get("end_line"),
            end_column=data.get("end_column"),
            cell=data.get("cell"),
            message=data.get("message"),
        )


@dataclass(frozen=True)
class Finding:
    """One instance of debt, located and explained."""

    rule: str
    name: str
    category: str
    severity: Severity
    path: str
    line: int
    column: int
    end_line: int
    end_column: int | None
    message: str
    debt_minutes: float
    fingerprint: str
    cell: int | None = None
    related: tuple[Location, ...] = field(default=())
    #: Spans of this file that hold a secret: reporters never quote them (see mldebt.secrets).
    redact: tuple[Location, ...] = field(default=())

    @property
    def sort_key(self) -> tuple[str, int, int, int, str, str]:
        return (self.path, self.cell or 0, self.line, self.column, self.rule, self.message)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "rule": self.rule,
            "name": self.name,
            "category": self.category,
            "severity": self.severity.value,
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "end_line": self.end_line,
        }
        if self.end_column is not None:
            data["end_column"] = self.end_column
        data["cell"] = self.cell
        data["message"] = self.message
        data["debt_minutes"] = self.debt_minutes
        data["fingerprint"] = self.fingerprint
        if self.related:
            data["related"] = [loc.to_dict() for loc in self.related]
        if self.redact:
            data["redact"] = [loc.to_dict() for loc in self.redact]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        return cls(
            rule=data["rule"],
            name=data["name"],
            category=data["category"],
            severity=Severity(data["severity"]),
            path=data["path"],
            line=data["line"],
            column=data["column"],
            end_line=data["end_line"],
            end_column=data.get("end_column"),
            message=data["message"],
            debt_minutes=data["debt_minutes"],
            fingerprint=data["fingerprint"],
            cell=data.get("cell"),
            related=tuple(Location.from_dict(r) for r in data.get("related", ())),
            redact=tuple(Location.from_dict(r) for r in data.get("redact", ())),
        )
