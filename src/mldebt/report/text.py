"""``--format text``: one line per finding, like compilers and ruff, then a summary."""

from __future__ import annotations

import re

import click

from mldebt.api import AnalysisResult, Summary
from mldebt.findings import Finding, Severity

_COLORS = {Severity.ERROR: "red", Severity.WARNING: "yellow", Severity.INFO: "blue"}


def location(finding: Finding) -> str:
    cell = f"cell {finding.cell}:" if finding.cell is not None else ""
    return f"{finding.path}:{cell}{finding.line}:{finding.column}"


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """Control characters quoted from analysed code (ESC above all) shown, never obeyed."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def line(finding: Finding, color: bool = False) -> str:
    where = printable(location(finding))
    code = finding.rule
    if color:
        where = click.style(where, bold=True)
        code = click.style(code, fg=_COLORS[finding.severity], bold=True)
    return f"{where}: {code} [{finding.name}] {printable(finding.message)}"


def duration(minutes: float) -> str:
    total = int(minutes + 0.5)  # half up: 10.5 min shows as 11min, as people round
    hours, rest = divmod(total, 60)
    days, hours = divmod(hours, 8)  # a working day, as debt estimates count it
    parts = [f"{days}d" if days else "", f"{hours}h" if hours else "", f"{rest}min" if rest else ""]
    return " ".join(p for p in parts if p) or "0min"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 or noun == "info" else f"{n} {noun}s"


def summary_line(summary: Summary) -> str:
    files = _count(summary.files, "file")
    if not summary.findings:
        return f"No debt found in {files}."
    counts = ", ".join(_count(n, sev) for sev, n in summary.by_severity.items())
    return (
        f"Found {_count(summary.findings, 'finding')} ({counts}) in {files}; "
        f"estimated debt {duration(summary.debt_minutes)}."
    )


def statistics(result: AnalysisResult) -> str:
    """``--statistics``: findings and estimated debt per rule, most frequent first."""
    if not result.findings:
        return ""
    debt: dict[str, float] = {}
    for finding in result.findings:
        debt[finding.rule] = debt.get(finding.rule, 0.0) + finding.debt_minutes
    names = {f.rule: f.name for f in result.findings}
    rows = [f"{'count':>6}  {'code':<8} {'name':<28} debt"]
    for code, count in sorted(result.summary.by_rule.items(), key=lambda kv: (-kv[1], kv[0])):
        rows.append(f"{count:>6}  {code:<8} {names[code]:<28} {duration(debt[code])}")
    return "\n".join(rows)


def render(result: AnalysisResult, color: bool = False) -> str:
    out = [line(f, color) for f in result.findings]
    if result.findings:
        out.append("")
    # The language mix never displaces the summary line: that stays the first line of a
    # clean run and the last of a run with findings (scripts and hooks read it there).
    mix = language_mix(result.summary)
    if mix and result.findings:
        out.append(mix)
    out.append(summary_line(result.summary))
    if result.summary.suppressed:
        out.append(f"({result.summary.suppressed} suppressed by comments)")
    if mix and not result.findings:
        out.append(mix)
    return "\n".join(out) + "\n"


def language_mix(summary: Summary) -> str:
    """``Languages: Python 12 files, R 2 files, SQL 1 file.`` when the project mixes several
    (one language is no mix, and says nothing)."""
    if len(summary.languages) < 2:
        return ""
    parts = ", ".join(f"{name} {_count(n, 'file')}" for name, n in summary.languages.items())
    return f"Languages: {parts}."
