"""``--format sarif``: a SARIF 2.1.0 log (OASIS) for code scanning (GitHub, GitLab, IDEs).

One run. ``tool.driver.rules`` describes every enabled rule (its docs page as help), and every
rule a finding names. Each finding is a result located relative to ``%SRCROOT%``, which
``originalUriBaseIds`` sets to the analysed root as a ``file://`` URI. In GitHub Actions, when
the analysed root lies inside ``GITHUB_WORKSPACE``, ``%SRCROOT%`` is the workspace instead and
the paths carry the root's folder, because code scanning reads paths relative to the
repository (see mldebt.report.ci).

SARIF has no notebook cells: a finding in a notebook keeps its line and columns inside the
cell, and names the cell in the region's and the result's ``properties``. Related locations
become ``relatedLocations``; a finding with several of them (the steps of a chain) also gets a
``codeFlows`` thread flow with the steps in order. ``partialFingerprints`` carries mldebt's
location-free fingerprint, so code scanning follows an alert across edits. After a comparison
with a baseline or a git ref, each result's ``baselineState`` says whether it is new (what
was fixed is in the summary under ``run.properties``, not as results: code scanning would
show them as open alerts).
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from mldebt import __version__
from mldebt.api import AnalysisResult
from mldebt.config import EnabledRule
from mldebt.findings import Finding, Location, Severity
from mldebt.report.ci import GITHUB_WORKSPACE, base
from mldebt.ruledocs import render as rule_docs

SCHEMA = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
VERSION = "2.1.0"
ROOT_ID = "%SRCROOT%"
FINGERPRINT = "mldebtFingerprint/v1"
LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def _prose(text: str) -> str:
    """Docs prose with its line breaks undone, paragraphs kept."""
    paragraphs = textwrap.dedent(text).strip().split("\n\n")
    return "\n\n".join(" ".join(p.split()) for p in paragraphs if p.strip())


def _unique(items: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _descriptor(enabled: EnabledRule) -> dict[str, Any]:
    rule = enabled.rule
    docs = rule_docs(rule)
    properties: dict[str, Any] = {
        "tags": _unique([rule.category, *rule.tags]),
        "category": rule.category,
        "status": rule.status,
        "debtMinutes": rule.debt_minutes,
    }
    if rule.debt_per_unit:
        properties["debtMinutesPerUnit"] = rule.debt_per_unit
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": _prose(rule.summary)},
        "fullDescription": {"text": _prose(rule.what)},
        "help": {"text": docs, "markdown": docs},
        "defaultConfiguration": {"level": LEVELS[enabled.severity]},
        "properties": properties,
    }


def _bare_descriptor(finding: Finding) -> dict[str, Any]:
    """A rule the run did not enable but a finding names (a result built by hand, a plugin)."""
    return {
        "id": finding.rule,
        "name": finding.name,
        "shortDescription": {"text": finding.name},
        "defaultConfiguration": {"level": LEVELS[finding.severity]},
        "properties": {"tags": [finding.category], "category": finding.category},
    }


def rules(result: AnalysisResult) -> list[dict[str, Any]]:
    """Descriptors of the enabled rules and of any other rule a finding names, by code."""
    described = {enabled.rule.code: _descriptor(enabled) for enabled in result.rules}
    for finding in result.findings:
        if finding.rule not in described:
            described[finding.rule] = _bare_descriptor(finding)
    return [described[code] for code in sorted(described)]


def uri(path: str) -> str:
    """A relative POSIX path as a URI reference: percent-encoded UTF-8, and a name that is not
    UTF-8 (read with ``surrogateescape``, as Python lists such files) as its original bytes."""
    return quote(path, errors="surrogateescape")


class _Locator:
    """Builds physical locations relative to ``%SRCROOT%``."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def physical(self, where: Location) -> dict[str, Any]:
        region: dict[str, Any] = {"startLine": where.line, "startColumn": where.column}
        end_line = max(where.end_line or where.line, where.line)
        region["endLine"] = end_line
        end_column = where.end_column
        if end_column is not None and (end_line > where.line or end_column >= where.column):
            region["endColumn"] = end_column
        if where.cell is not None:
            region["properties"] = {"cell": where.cell}
        return {
            "artifactLocation": {"uri": uri(self.prefix + where.path), "uriBaseId": ROOT_ID},
            "region": region,
        }

    def location(self, where: Location, fallback: str) -> dict[str, Any]:
        return {
            "physicalLocation": self.physical(where),
            "message": {"text": where.message or fallback},
        }


def _primary(finding: Finding) -> Location:
    return Location(
        finding.path,
        finding.line,
        finding.column,
        finding.end_line,
        finding.end_column,
        finding.cell,
    )


def _result(
    finding: Finding, index: int, locator: _Locator, state: str | None = None
) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "name": finding.name,
        "category": finding.category,
        "debtMinutes": finding.debt_minutes,
    }
    if finding.cell is not None:
        properties["cell"] = finding.cell
    result: dict[str, Any] = {
        "ruleId": finding.rule,
        "ruleIndex": index,
        "level": LEVELS[finding.severity],
        "message": {"text": finding.message},
        "locations": [{"physicalLocation": locator.physical(_primary(finding))}],
    }
    if state is not None:
        result["baselineState"] = state
    if finding.related:
        related = []
        for number, where in enumerate(finding.related, start=1):
            located = locator.location(where, f"related location {number}")
            related.append({"id": number, **located})
        result["relatedLocations"] = related
    if len(finding.related) > 1:
        steps = [
            {
                "location": locator.location(where, f"step {number}"),
                "executionOrder": number,
                "importance": "essential",
            }
            for number, where in enumerate(finding.related, start=1)
        ]
        result["codeFlows"] = [
            {
                "message": {"text": f"{len(steps)} steps"},
                "threadFlows": [{"locations": steps}],
            }
        ]
    result["partialFingerprints"] = {FINGERPRINT: finding.fingerprint}
    result["properties"] = properties
    return result


def _root_uri(folder: str) -> str:
    return folder if folder.endswith("/") else folder + "/"


def _states(result: AnalysisResult) -> list[str | None]:
    """Each finding's ``baselineState`` when findings were compared with a baseline or a ref."""
    comparison = result.comparison
    if comparison is None:
        return [None] * len(result.findings)
    new = {id(f) for f in comparison.new}
    return ["new" if id(f) in new else "unchanged" for f in result.findings]


def document(result: AnalysisResult) -> dict[str, Any]:
    folder, prefix = base(result.config.root, GITHUB_WORKSPACE)
    descriptors = rules(result)
    index = {descriptor["id"]: n for n, descriptor in enumerate(descriptors)}
    locator = _Locator(prefix)
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "mldebt",
                "version": __version__,
                "semanticVersion": __version__,
                "rules": descriptors,
            }
        },
        "originalUriBaseIds": {
            ROOT_ID: {
                "uri": _root_uri(folder.as_uri()),
                "description": {"text": "The folder finding paths are relative to."},
            }
        },
        "columnKind": "unicodeCodePoints",
        "results": [
            _result(f, index[f.rule], locator, state)
            for f, state in zip(result.findings, _states(result), strict=True)
        ],
        "properties": {"summary": result.summary.to_dict()},
    }
    return {"$schema": SCHEMA, "version": VERSION, "runs": [run]}


def render(result: AnalysisResult, color: bool = False) -> str:
    return json.dumps(document(result), indent=2, ensure_ascii=False) + "\n"
