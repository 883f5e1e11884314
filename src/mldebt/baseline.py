"""Baselines: the debt a team already carries, recorded so that only new debt fails a check.

A baseline is a JSON file (``.mldebt-baseline.json`` by default) listing each finding's rule,
path, fingerprint and message, plus a count. Findings are matched by fingerprint only: the
engine computes it from the rule, the path, the enclosing qualified name, the normalised
source of the flagged code and an occurrence index -- never the line number -- so the match
survives line shifts, unrelated edits and code moved within its file. The message is there for
the humans reading a diff of the file.

The file is written for version control: one entry per line, sorted by path, rule and
fingerprint, keys in a fixed order, so that regenerating it gives a small diff and two
branches that each fix debt merge cleanly. ``--update-baseline`` only removes entries (a
ratchet): debt that was paid cannot come back unnoticed.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mldebt.findings import Finding

BASELINE_NAME = ".mldebt-baseline.json"
FORMAT = 1


class BaselineError(Exception):
    """A baseline that cannot be read or written: the CLI prints it and exits 2."""


@dataclass(frozen=True)
class Entry:
    """One recorded finding (``count`` instances with the same fingerprint)."""

    rule: str
    path: str
    fingerprint: str
    message: str
    count: int = 1

    @property
    def sort_key(self) -> tuple[str, str, str]:
        return (self.path, self.rule, self.fingerprint)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "path": self.path,
            "fingerprint": self.fingerprint,
            "message": self.message,
            "count": self.count,
        }


@dataclass
class Comparison:
    """Findings set against a reference (a baseline file, or the findings at a git ref).

    ``new`` findings are not in the reference, ``unchanged`` ones are; ``fixed`` are the
    reference's entries that no longer occur (only among the files this run looked at).
    """

    reference: str
    kind: str  # "baseline" or "ref"
    new: list[Finding] = field(default_factory=list)
    unchanged: list[Finding] = field(default_factory=list)
    fixed: list[Entry] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "reference": self.reference,
            "new": len(self.new),
            "unchanged": len(self.unchanged),
            "fixed": sum(e.count for e in self.fixed),
            "fixed_findings": [e.to_dict() for e in self.fixed],
        }


def entries_of(findings: Iterable[Finding]) -> list[Entry]:
    """Findings as baseline entries: one per fingerprint, counted, sorted."""
    counts: Counter[str] = Counter()
    first: dict[str, Finding] = {}
    for finding in findings:
        counts[finding.fingerprint] += 1
        first.setdefault(finding.fingerprint, finding)
    entries = [
        Entry(f.rule, f.path, f.fingerprint, f.message, counts[fp]) for fp, f in first.items()
    ]
    return sorted(entries, key=lambda e: e.sort_key)


@dataclass
class Baseline:
    entries: list[Entry] = field(default_factory=list)

    @classmethod
    def of(cls, findings: Iterable[Finding]) -> Baseline:
        return cls(entries_of(findings))

    @property
    def total(self) -> int:
        return sum(e.count for e in self.entries)

    # reading and writing ---------------------------------------------------------------------

    def to_text(self) -> str:
        """The file's text: a JSON object with one entry per line, in a stable order."""
        lines = [
            "{",
            f'  "mldebt_baseline": {FORMAT},',
            '  "note": "Findings accepted as existing debt: mldebt check --baseline reports only '
            "findings not listed here. Regenerate with mldebt baseline; shrink with "
            'mldebt check --update-baseline.",',
        ]
        if not self.entries:
            lines.append('  "findings": []')
        else:
            lines.append('  "findings": [')
            rows = [
                "    " + json.dumps(e.to_dict(), ensure_ascii=False)
                for e in sorted(self.entries, key=lambda e: e.sort_key)
            ]
            lines.append(",\n".join(rows))
            lines.append("  ]")
        lines.append("}")
        return "\n".join(lines) + "\n"

    @classmethod
    def parse(cls, text: str, where: str) -> Baseline:
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise BaselineError(f"{where}: not a valid baseline (invalid JSON: {exc})") from None
        if not isinstance(data, dict) or "mldebt_baseline" not in data:
            raise BaselineError(
                f"{where}: not an mldebt baseline (no 'mldebt_baseline' version key)"
            )
        if data["mldebt_baseline"] != FORMAT:
            raise BaselineError(
                f"{where}: baseline format {data['mldebt_baseline']!r} is not supported "
                f"(this mldebt reads format {FORMAT})"
            )
        rows = data.get("findings")
        if not isinstance(rows, list):
            raise BaselineError(f"{where}: 'findings' must be a list")
        entries = []
        for number, row in enumerate(rows, start=1):
            entries.append(_entry(row, f"{where}: finding {number}"))
        return cls(sorted(entries, key=lambda e: e.sort_key))

    @classmethod
    def load(cls, path: Path) -> Baseline:
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise BaselineError(
                f"{path}: baseline not found (create it with `mldebt baseline`)"
            ) from None
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            raise BaselineError(f"{path}: cannot read the baseline: {reason}") from None
        return cls.parse(text, str(path))

    def save(self, path: Path) -> None:
        """Write atomically: a reader (or a crash) never leaves half a baseline."""
        temp: str | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
                handle.write(self.to_text())
            os.chmod(temp, file_mode(path))
            os.replace(temp, path)
        except OSError as exc:
            if temp is not None:
                Path(temp).unlink(missing_ok=True)
            raise BaselineError(
                f"{path}: cannot write the baseline: {exc.strerror or exc}"
            ) from None

    # comparing -------------------------------------------------------------------------------

    def compare(
        self,
        findings: Sequence[Finding],
        in_scope: Callable[[str], bool],
        reference: str,
        kind: str = "baseline",
    ) -> Comparison:
        """Split ``findings`` into new and unchanged; entries in scope not seen are fixed.

        ``in_scope(path)`` says whether this run looked at a path: entries of files outside
        the analysed paths are neither matched nor fixed.
        """
        left = Counter({e.fingerprint: e.count for e in self.entries})
        comparison = Comparison(reference, kind)
        for finding in findings:
            if left[finding.fingerprint] > 0:
                left[finding.fingerprint] -= 1
                comparison.unchanged.append(finding)
            else:
                comparison.new.append(finding)
        for entry in self.entries:
            remaining = left[entry.fingerprint]
            if remaining > 0 and in_scope(entry.path):
                comparison.fixed.append(
                    Entry(entry.rule, entry.path, entry.fingerprint, entry.message, remaining)
                )
        return comparison

    def without_fixed(self, comparison: Comparison) -> Baseline:
        """The ratchet: this baseline minus what was fixed; never anything added."""
        fixed = {e.fingerprint: e.count for e in comparison.fixed}
        kept = []
        for entry in self.entries:
            count = entry.count - fixed.get(entry.fingerprint, 0)
            if count > 0:
                kept.append(Entry(entry.rule, entry.path, entry.fingerprint, entry.message, count))
        return Baseline(kept)


def file_mode(path: Path) -> int:
    """The mode the file keeps (an existing file's), else what the umask gives a new file
    (a temporary file starts private, which a committed or shared baseline must not be)."""
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _entry(row: Any, where: str) -> Entry:
    if not isinstance(row, dict):
        raise BaselineError(f"{where} must be an object, got {row!r}")
    for key in ("rule", "path", "fingerprint"):
        if not isinstance(row.get(key), str) or not row[key]:
            raise BaselineError(f"{where}: {key!r} must be a non-empty string")
    message = row.get("message", "")
    count = row.get("count", 1)
    if not isinstance(message, str):
        raise BaselineError(f"{where}: 'message' must be a string")
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise BaselineError(f"{where}: 'count' must be a positive integer, got {count!r}")
    return Entry(row["rule"], row["path"], row["fingerprint"], message, count)
