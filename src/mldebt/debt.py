"""The debt model: remediation time totalled per category, rule, file and folder, the debt
ratio and its A-E rating, and hotspots (debt x churn).

Each finding carries its remediation estimate (``Finding.debt_minutes``, from its rule's
``remediation(size)``: a constant, or linear in the finding's size, after SonarQube's
remediation functions). Everything else here is arithmetic over findings and lines of code:

- **debt ratio** = remediation minutes / (lines of code x 30 minutes), 30 minutes being the
  cost of developing one line (SonarQube's default);
- **rating** on SonarQube's grid: A <= 5 %, B <= 10 %, C <= 20 %, D <= 50 %, E above;
- **churn** = the number of commits that touched a file in a window (default 90 days), read
  from ``git log`` in the analysed root; ``None`` outside a git work tree or without git;
- **hotspot** = a file's debt x its churn: debt in code that keeps changing costs the most.

Folder totals include every file below the folder (``a`` counts ``a/b/c.py``). Only
:func:`git_churn` touches the outside world; the rest are pure functions over plain data.
"""

from __future__ import annotations

import os
import subprocess
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from mldebt.findings import CATEGORIES, Finding, Severity

if TYPE_CHECKING:
    from mldebt.api import AnalysisResult

#: Minutes it takes to develop one line of code (SonarQube's default development cost).
MINUTES_PER_LINE = 30.0
#: The upper bound of each rating's debt ratio; anything above the last is E.
RATING_GRID: tuple[tuple[str, float], ...] = (("A", 0.05), ("B", 0.10), ("C", 0.20), ("D", 0.50))
RATINGS = ("A", "B", "C", "D", "E")
DEFAULT_CHURN_DAYS = 90
_GIT_TIMEOUT = 60.0


def debt_ratio(
    debt_minutes: float, lines_of_code: int, minutes_per_line: float = MINUTES_PER_LINE
) -> float | None:
    """Remediation time over development time; ``None`` when there is debt but no code to
    measure it against (a file that did not parse), 0 when there is neither."""
    if lines_of_code <= 0:
        return 0.0 if debt_minutes <= 0 else None
    return debt_minutes / (lines_of_code * minutes_per_line)


def rating(ratio: float | None) -> str | None:
    """The A-E letter for a debt ratio (A <= 5 %, B <= 10 %, C <= 20 %, D <= 50 %, E above)."""
    if ratio is None:
        return None
    rounded = round(ratio, 9)  # 15 min on 10 lines is exactly 5 %, whatever floats say
    for letter, bound in RATING_GRID:
        if rounded <= bound:
            return letter
    return "E"


@dataclass(frozen=True)
class Total:
    """Findings and remediation minutes for one category, severity or rule."""

    key: str
    findings: int
    debt_minutes: float


@dataclass(frozen=True)
class FileDebt:
    path: str
    folder: str  # "" for a file in the root
    lines_of_code: int
    findings: int
    debt_minutes: float
    ratio: float | None
    rating: str | None
    churn: int | None = None  # commits in the window; None when churn was not measured
    by_severity: Mapping[str, int] = field(default_factory=dict)

    @property
    def hotspot(self) -> float | None:
        """Debt x churn (minutes x commits); ``None`` when churn was not measured."""
        if self.churn is None:
            return None
        return round(self.debt_minutes * self.churn, 2)


@dataclass(frozen=True)
class FolderDebt:
    path: str
    files: int
    lines_of_code: int
    findings: int
    debt_minutes: float
    ratio: float | None
    rating: str | None


@dataclass(frozen=True)
class DebtModel:
    debt_minutes: float
    lines_of_code: int
    findings: int
    ratio: float | None
    rating: str | None
    by_category: list[Total]  # in the taxonomy's order, categories with findings only
    by_severity: list[Total]  # most severe first, severities with findings only
    by_rule: list[Total]  # most debt first
    files: list[FileDebt]  # by path
    folders: list[FolderDebt]  # by path; each includes its subfolders
    churn_days: int | None = None  # the churn window, None when churn was not measured

    @property
    def churn_measured(self) -> bool:
        return self.churn_days is not None

    @property
    def hotspots(self) -> list[FileDebt]:
        """Files with debt that changed in the window, highest debt x churn first."""
        hot = [f for f in self.files if f.hotspot]
        return sorted(hot, key=lambda f: (-(f.hotspot or 0.0), f.path))

    def file(self, path: str) -> FileDebt | None:
        return next((f for f in self.files if f.path == path), None)


def folder_of(path: str) -> str:
    parent = PurePosixPath(path).parent.as_posix()
    return "" if parent == "." else parent


def ancestors(folder: str) -> list[str]:
    """``a/b/c`` -> ``["a", "a/b", "a/b/c"]``; the root ("") has none."""
    if not folder:
        return []
    parts = folder.split("/")
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


def _minutes(value: float) -> float:
    return float(round(value, 2))


def build(
    findings: Sequence[Finding],
    lines_of_code: Mapping[str, int],
    files: Iterable[str] = (),
    churn: Mapping[str, int] | None = None,
    churn_days: int | None = None,
) -> DebtModel:
    """The debt model of ``findings`` over files with the given lines of code.

    ``files`` adds files without findings (they count towards lines of code and folders);
    ``churn`` maps paths to commit counts, ``None`` when it was not measured.
    """
    paths = sorted({*files, *lines_of_code, *(f.path for f in findings)})
    debt: dict[str, float] = {}
    count: Counter[str] = Counter()
    severities: dict[str, Counter[str]] = {p: Counter() for p in paths}
    for finding in findings:
        debt[finding.path] = debt.get(finding.path, 0.0) + finding.debt_minutes
        count[finding.path] += 1
        severities[finding.path][finding.severity.value] += 1

    per_file = []
    for path in paths:
        loc = lines_of_code.get(path, 0)
        minutes = _minutes(debt.get(path, 0.0))
        ratio = debt_ratio(minutes, loc)
        per_file.append(
            FileDebt(
                path=path,
                folder=folder_of(path),
                lines_of_code=loc,
                findings=count[path],
                debt_minutes=minutes,
                ratio=ratio,
                rating=rating(ratio),
                churn=None if churn is None else churn.get(path, 0),
                by_severity={
                    s.value: severities[path][s.value]
                    for s in reversed(Severity)
                    if severities[path][s.value]
                },
            )
        )

    total_debt = _minutes(sum(f.debt_minutes for f in findings))
    total_loc = sum(f.lines_of_code for f in per_file)
    ratio = debt_ratio(total_debt, total_loc)
    return DebtModel(
        debt_minutes=total_debt,
        lines_of_code=total_loc,
        findings=len(findings),
        ratio=ratio,
        rating=rating(ratio),
        by_category=_totals(findings, lambda f: f.category, order=CATEGORIES),
        by_severity=_totals(
            findings, lambda f: f.severity.value, order=[s.value for s in reversed(Severity)]
        ),
        by_rule=sorted(_totals(findings, lambda f: f.rule), key=lambda t: (-t.debt_minutes, t.key)),
        files=per_file,
        folders=_folders(per_file),
        churn_days=churn_days if churn is not None else None,
    )


def _totals(
    findings: Sequence[Finding], key: Callable[[Finding], str], order: Sequence[str] | None = None
) -> list[Total]:
    minutes: dict[str, float] = {}
    counts: Counter[str] = Counter()
    for finding in findings:
        k = key(finding)
        minutes[k] = minutes.get(k, 0.0) + finding.debt_minutes
        counts[k] += 1
    keys = [k for k in order if k in counts] if order is not None else sorted(counts)
    keys += sorted(k for k in counts if k not in keys)
    return [Total(k, counts[k], _minutes(minutes[k])) for k in keys]


def _folders(files: Sequence[FileDebt]) -> list[FolderDebt]:
    grouped: dict[str, list[FileDebt]] = {}
    for item in files:
        for folder in ancestors(item.folder):
            grouped.setdefault(folder, []).append(item)
    folders = []
    for folder, members in sorted(grouped.items()):
        minutes = _minutes(sum(m.debt_minutes for m in members))
        loc = sum(m.lines_of_code for m in members)
        ratio = debt_ratio(minutes, loc)
        folders.append(
            FolderDebt(
                path=folder,
                files=len(members),
                lines_of_code=loc,
                findings=sum(m.findings for m in members),
                debt_minutes=minutes,
                ratio=ratio,
                rating=rating(ratio),
            )
        )
    return folders


# churn from git -----------------------------------------------------------------------------


def git_churn(
    root: Path, days: int = DEFAULT_CHURN_DAYS, now: datetime | None = None
) -> dict[str, int] | None:
    """Commits that touched each file in the last ``days`` days, by path relative to ``root``.

    ``None`` when ``root`` is not in a git work tree or git cannot be run. Runs only
    ``git rev-parse`` and ``git log --name-only`` with external diff drivers, text
    conversion and the pager turned off: nothing from the analysed repository is executed.
    """
    inside = _git(root, "rev-parse", "--is-inside-work-tree")
    if inside is None or inside.strip() != "true":
        return None
    since = (now or datetime.now(timezone.utc)) - timedelta(days=days)
    out = _git(
        root,
        "log",
        f"--since={since.strftime('%Y-%m-%dT%H:%M:%S%z')}",
        "--name-only",
        "--format=",
        "--relative",
        "--no-renames",
        "--no-ext-diff",
        "--no-textconv",
        "-z",
        "--",
        ".",
    )
    if out is None:
        return None
    return dict(Counter(name for name in out.split("\0") if name.strip()))


def _git(root: Path, *args: str) -> str | None:
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0", "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        env.pop(name, None)
    command = ["git", "--no-pager", "-c", "core.fsmonitor=false", "-c", "core.quotePath=false"]
    try:
        done = subprocess.run(
            [*command, *args],
            cwd=root,
            env=env,
            capture_output=True,
            timeout=_GIT_TIMEOUT,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.SubprocessError):  # no git, no such folder, too slow
        return None
    if done.returncode != 0:
        return None
    return done.stdout.decode("utf-8", errors="replace")


# from an analysis ---------------------------------------------------------------------------


def lines_of_code(result: AnalysisResult) -> dict[str, int]:
    """Lines of code per analysed file, from the module facts of the result's graph."""
    if result.graph is None:
        return {}
    return {path: facts.lines_of_code for path, facts in result.graph.by_path.items()}


def of_result(
    result: AnalysisResult,
    churn_days: int | None = DEFAULT_CHURN_DAYS,
    now: datetime | None = None,
) -> DebtModel:
    """The debt model of an analysis; churn read from git unless ``churn_days`` is None."""
    churn = None
    if churn_days is not None:
        churn = git_churn(result.config.root, churn_days, now)
    return build(result.findings, lines_of_code(result), result.files, churn, churn_days)
