"""``--format gitlab``: a GitLab Code Quality report (a JSON array, Code Climate's issue shape).

GitLab compares the fingerprints of the merge request's report with the target branch's to
show new and resolved issues, so a fingerprint must be unique in the report and stable across
edits. mldebt's own fingerprint is location-free (rule, path, enclosing name, normalised code,
occurrence) but two findings can share it (the same code flagged twice in one scope); the
second and later ones get ``-2``, ``-3``, ... in the order of the report.

Severities: ``info`` stays ``info``, ``warning`` is ``minor``, ``error`` is ``major``
(``critical`` and ``blocker`` are left for debt that breaks things now). ``categories`` maps
mldebt's category onto Code Climate's fixed list. Paths are relative to ``CI_PROJECT_DIR``
when the analysed root lies inside it (see mldebt.report.ci). A notebook finding's lines are
inside its cell, which the description names.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from mldebt.api import AnalysisResult
from mldebt.findings import Finding, Severity
from mldebt.report.ci import GITLAB_PROJECT_DIR, base

SEVERITIES = {Severity.INFO: "info", Severity.WARNING: "minor", Severity.ERROR: "major"}

#: mldebt's categories among Code Climate's (Bug Risk, Clarity, Compatibility, Complexity,
#: Duplication, Performance, Security, Style).
CATEGORIES = {
    "pipeline-jungle": "Complexity",
    "glue-code": "Complexity",
    "entanglement": "Complexity",
    "feedback-loop": "Bug Risk",
    "dead-experimental-code": "Clarity",
    "configuration-debt": "Clarity",
    "data-dependency": "Bug Risk",
    "abstraction-debt": "Complexity",
    "multiple-language": "Complexity",
    "reproducibility": "Bug Risk",
    "ml-api-misuse": "Bug Risk",
    "self-admitted-debt": "Clarity",
    "analysis": "Bug Risk",
}


def fingerprints(findings: Iterable[Finding]) -> list[str]:
    """One fingerprint per finding, unique: repeats get ``-2``, ``-3``, ... in order."""
    used: set[str] = set()
    unique = []
    for finding in findings:
        candidate, occurrence = finding.fingerprint, 1
        while candidate in used:
            occurrence += 1
            candidate = f"{finding.fingerprint}-{occurrence}"
        used.add(candidate)
        unique.append(candidate)
    return unique


def description(finding: Finding) -> str:
    where = f" (cell {finding.cell}, line {finding.line})" if finding.cell is not None else ""
    return f"{finding.rule} [{finding.name}] {finding.message}{where}"


def issue(finding: Finding, fingerprint: str, prefix: str = "") -> dict[str, Any]:
    return {
        "type": "issue",
        "description": description(finding),
        "check_name": finding.rule,
        "fingerprint": fingerprint,
        "severity": SEVERITIES[finding.severity],
        "location": {
            "path": prefix + finding.path,
            "lines": {"begin": finding.line, "end": max(finding.end_line, finding.line)},
        },
        "categories": [CATEGORIES.get(finding.category, "Clarity")],
        "engine_name": "mldebt",
    }


def document(result: AnalysisResult) -> list[dict[str, Any]]:
    _, prefix = base(result.config.root, GITLAB_PROJECT_DIR)
    unique = fingerprints(result.findings)
    return [issue(f, fp, prefix) for f, fp in zip(result.findings, unique, strict=True)]


def render(result: AnalysisResult, color: bool = False) -> str:
    return json.dumps(document(result), indent=2, ensure_ascii=False) + "\n"
