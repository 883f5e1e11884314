"""Labelled ground truth for evaluation projects, and precision / recall per rule against it.

A project folder holds ``labels.toml`` with two kinds of tables::

    [[finding]]               # a rule must report this
    path = "03_train.py"      # POSIX, relative to the project folder
    line = 42                 # 1-based; in a notebook, the line inside the cell
    end_line = 44             # optional: the label covers lines line..end_line
    cell = 3                  # notebooks only: 1-based index among all cells
    rule = "MLD519"
    note = "scaler fit on all rows before the split"

    [[clean]]                 # a look-alike the rule must not report here
    ...

A reported finding matches a ``[[finding]]`` label of its rule when path and cell agree and
their line ranges overlap; each finding matches at most one label and each label at most one
finding. Every unmatched finding of a scored rule is a false positive, whether or not a
``[[clean]]`` label names its line; those that do are listed apart, as the worst kind.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mldebt.findings import Finding

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

LABELS_FILE = "labels.toml"
KINDS = ("finding", "clean")
_CODE = re.compile(r"^[A-Z][A-Z0-9]*\d{3}$")
_REQUIRED = {"path": str, "line": int, "rule": str, "note": str}
_OPTIONAL = {"end_line": int, "cell": int}


class LabelError(Exception):
    """A labels file that cannot be read or says something impossible."""


@dataclass(frozen=True)
class Label:
    project: str
    kind: str  # "finding" or "clean"
    path: str
    line: int
    end_line: int
    cell: int | None
    rule: str
    note: str

    def where(self) -> str:
        cell = f" cell {self.cell}" if self.cell is not None else ""
        lines = str(self.line) if self.end_line == self.line else f"{self.line}-{self.end_line}"
        return f"{self.project}/{self.path}{cell}:{lines}"

    def __str__(self) -> str:
        return f"{self.where()} {self.rule} ({self.note})"


def load_labels(project: Path) -> list[Label]:
    """The labels of one project folder; ``LabelError`` names the file and entry at fault."""
    source = project / LABELS_FILE
    try:
        with source.open("rb") as handle:
            data = tomllib.load(handle)
    except OSError as exc:
        raise LabelError(f"{source}: cannot read: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise LabelError(f"{source}: invalid TOML: {exc}") from None
    unknown = set(data) - set(KINDS)
    if unknown:
        raise LabelError(
            f"{source}: unknown tables {sorted(unknown)}; use [[finding]] or [[clean]]"
        )
    labels: list[Label] = []
    for kind in KINDS:
        entries = data.get(kind, [])
        if not isinstance(entries, list):
            raise LabelError(f"{source}: {kind!r} must be an array of tables: [[{kind}]]")
        for number, entry in enumerate(entries, start=1):
            labels.append(_label(f"{source}: [[{kind}]] #{number}", project.name, kind, entry))
    return labels


def _label(where: str, project: str, kind: str, entry: Any) -> Label:
    if not isinstance(entry, dict):
        raise LabelError(f"{where}: must be a table")
    for key in _REQUIRED:
        if key not in entry:
            raise LabelError(f"{where}: missing {key!r}")
    extra = set(entry) - set(_REQUIRED) - set(_OPTIONAL)
    if extra:
        raise LabelError(f"{where}: unknown keys {sorted(extra)}")
    for key, expected in {**_REQUIRED, **_OPTIONAL}.items():
        value = entry.get(key)
        if value is not None and (not isinstance(value, expected) or isinstance(value, bool)):
            raise LabelError(f"{where}: {key!r} must be {expected.__name__}, got {value!r}")
    line: int = entry["line"]
    end_line: int = entry.get("end_line") or line
    if line < 1 or end_line < line:
        raise LabelError(
            f"{where}: lines must satisfy 1 <= line <= end_line, got {line}..{end_line}"
        )
    path, cell = entry["path"], entry.get("cell")
    if "\\" in path or path.startswith("/"):
        raise LabelError(f"{where}: path must be POSIX and relative, got {path!r}")
    if path.endswith(".ipynb") != (cell is not None):
        raise LabelError(f"{where}: 'cell' is required for notebooks and only for notebooks")
    if cell is not None and cell < 1:
        raise LabelError(f"{where}: 'cell' is 1-based, got {cell}")
    if not _CODE.match(entry["rule"]):
        raise LabelError(
            f"{where}: 'rule' must be a rule code such as MLD519, got {entry['rule']!r}"
        )
    return Label(project, kind, path, line, end_line, cell, entry["rule"], entry["note"])


def check_positions(project: Path, labels: Iterable[Label]) -> list[str]:
    """Problems with where labels point: missing files, cells or lines, and contradictions."""
    problems: list[str] = []
    texts: dict[str, list[list[str]] | None] = {}
    kinds: dict[tuple[str, int | None, int, str], str] = {}
    for label in labels:
        if label.path not in texts:
            texts[label.path] = _units(project / label.path)
        units = texts[label.path]
        if units is None:
            problems.append(f"{label}: no such file")
            continue
        index = (label.cell or 1) - 1
        if index >= len(units):
            problems.append(f"{label}: the notebook has {len(units)} cells")
            continue
        if label.end_line > len(units[index]):
            problems.append(f"{label}: past the end ({len(units[index])} lines)")
        for line in range(label.line, label.end_line + 1):
            key = (label.path, label.cell, line, label.rule)
            if kinds.setdefault(key, label.kind) != label.kind:
                problems.append(f"{label}: labelled both finding and clean")
    return problems


def _units(path: Path) -> list[list[str]] | None:
    """A file's lines, or a notebook's cells' lines (every cell, markdown included)."""
    if not path.is_file():
        return None
    text = path.read_text(encoding="utf-8")
    if path.suffix != ".ipynb":
        return [text.splitlines()]
    cells = json.loads(text).get("cells", [])
    units = []
    for cell in cells:
        source = cell.get("source", "")
        units.append(("".join(source) if isinstance(source, list) else source).splitlines())
    return units


# scoring -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reported:
    """A finding of one project (findings carry paths relative to their project)."""

    project: str
    finding: Finding

    def where(self) -> str:
        f = self.finding
        cell = f" cell {f.cell}" if f.cell is not None else ""
        lines = str(f.line) if f.end_line == f.line else f"{f.line}-{f.end_line}"
        return f"{self.project}/{f.path}{cell}:{lines}"

    def __str__(self) -> str:
        return f"{self.where()} {self.finding.rule}: {self.finding.message}"


@dataclass
class Score:
    rule: str
    true_positives: int = 0
    misses: list[Label] = field(default_factory=list)  # false negatives
    false_positives: list[Reported] = field(default_factory=list)
    on_clean: list[tuple[Reported, Label]] = field(default_factory=list)  # among the above

    @property
    def precision(self) -> float:
        found = self.true_positives + len(self.false_positives)
        return self.true_positives / found if found else 1.0

    @property
    def recall(self) -> float:
        expected = self.true_positives + len(self.misses)
        return self.true_positives / expected if expected else 1.0

    def passes(self, min_precision: float, min_recall: float) -> bool:
        return self.precision >= min_precision and self.recall >= min_recall

    def row(self) -> str:
        return (
            f"{self.rule:<8} {self.true_positives:>4} {len(self.false_positives):>4} "
            f"{len(self.misses):>4} {self.precision:>9.2f} {self.recall:>7.2f} "
            f"{len(self.on_clean):>6}"
        )

    def explain(self) -> str:
        lines = [HEADER, self.row()]
        lines += [f"  missed: {label}" for label in self.misses]
        clean = {id(reported) for reported, _ in self.on_clean}
        for reported, label in self.on_clean:
            lines.append(f"  flagged a clean look-alike: {reported}  [label: {label.note}]")
        lines += [f"  unlabelled: {r}" for r in self.false_positives if id(r) not in clean]
        return "\n".join(lines)


HEADER = f"{'rule':<8} {'TP':>4} {'FP':>4} {'FN':>4} {'precision':>9} {'recall':>7} {'clean':>6}"


def _overlaps(reported: Reported, label: Label) -> bool:
    f = reported.finding
    return (
        reported.project == label.project
        and f.path == label.path
        and f.cell == label.cell
        and f.line <= label.end_line
        and label.line <= max(f.end_line, f.line)
    )


def score_rule(rule: str, reported: Sequence[Reported], labels: Sequence[Label]) -> Score:
    """Match ``rule``'s findings to its ``[[finding]]`` labels, one to one, as many as can be."""
    findings = [r for r in reported if r.finding.rule == rule]
    expected = [label for label in labels if label.rule == rule and label.kind == "finding"]
    clean = [label for label in labels if label.rule == rule and label.kind == "clean"]
    candidates = [[j for j, lab in enumerate(expected) if _overlaps(r, lab)] for r in findings]
    owner: dict[int, int] = {}  # label index -> finding index

    def augment(i: int, seen: set[int]) -> bool:  # Kuhn's augmenting path
        for j in candidates[i]:
            if j not in seen:
                seen.add(j)
                if j not in owner or augment(owner[j], seen):
                    owner[j] = i
                    return True
        return False

    for i in range(len(findings)):
        augment(i, set())
    matched = set(owner.values())
    score = Score(rule, true_positives=len(owner))
    score.misses = [lab for j, lab in enumerate(expected) if j not in owner]
    score.false_positives = [r for i, r in enumerate(findings) if i not in matched]
    for r in score.false_positives:
        hit = next((lab for lab in clean if _overlaps(r, lab)), None)
        if hit is not None:
            score.on_clean.append((r, hit))
    return score


def table(scores: Iterable[Score]) -> str:
    return "\n".join([HEADER, *(s.row() for s in scores)])
