"""``--format junit``: JUnit XML, for CI services that show test results (GitLab, Jenkins, ...).

One ``testsuite`` per analysed file, named by its path. Each finding is a failing
``testcase``; a file without findings gets one passing ``testcase`` ("no debt found"), so the
CI's counts show how many files were analysed. The XML is built with ElementTree, which
escapes markup; characters XML 1.0 cannot carry at all (control characters, lone surrogates)
are written as ``\\xNN`` / ``\\uNNNN`` escapes.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import defaultdict

from mldebt.api import AnalysisResult
from mldebt.findings import Finding
from mldebt.report.text import duration, location

CLEAN = "no debt found"
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_text(text: str) -> str:
    """``text`` with the characters XML 1.0 forbids written as Python-style escapes."""

    def escape(match: re.Match[str]) -> str:
        code = ord(match.group())
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"

    return _NOT_XML.sub(escape, text)


def _where(finding: Finding) -> str:
    if finding.cell is not None:
        return f"cell {finding.cell}, {finding.line}:{finding.column}"
    return f"{finding.line}:{finding.column}"


def details(finding: Finding) -> str:
    """The failure's body: where, what, and what it costs."""
    lines = [
        f"{location(finding)}: {finding.rule} [{finding.name}] {finding.message}",
        f"severity: {finding.severity.value}",
        f"category: {finding.category}",
        f"estimated debt: {duration(finding.debt_minutes)}",
        f"fingerprint: {finding.fingerprint}",
    ]
    if finding.related:
        lines.append("related:")
        for where in finding.related:
            cell = f"cell {where.cell}:" if where.cell is not None else ""
            note = f": {where.message}" if where.message else ""
            lines.append(f"  {where.path}:{cell}{where.line}:{where.column}{note}")
    return "\n".join(lines)


def _testcase(suite: ET.Element, path: str, name: str) -> ET.Element:
    case = ET.SubElement(suite, "testcase", name=_xml_text(name), classname=_xml_text(path))
    case.set("file", _xml_text(path))
    return case


def tree(result: AnalysisResult) -> ET.Element:
    by_file: dict[str, list[Finding]] = defaultdict(list)
    for finding in result.findings:
        by_file[finding.path].append(finding)
    paths = sorted(set(result.files) | set(by_file))
    root = ET.Element("testsuites", name="mldebt")
    total = failed = 0
    for path in paths:
        findings = by_file.get(path, [])
        suite = ET.SubElement(root, "testsuite", name=_xml_text(path))
        for finding in findings:
            name = f"{finding.rule} {finding.name} at {_where(finding)}"
            case = _testcase(suite, path, name)
            if finding.cell is None:
                case.set("line", str(finding.line))
            failure = ET.SubElement(
                case,
                "failure",
                message=_xml_text(finding.message),
                type=f"{finding.rule} {finding.name}",
            )
            failure.text = _xml_text(details(finding))
        if not findings:
            _testcase(suite, path, CLEAN)
        tests = max(len(findings), 1)
        suite.set("tests", str(tests))
        suite.set("failures", str(len(findings)))
        suite.set("errors", "0")
        suite.set("skipped", "0")
        total += tests
        failed += len(findings)
    root.set("tests", str(total))
    root.set("failures", str(failed))
    root.set("errors", "0")
    return root


def render(result: AnalysisResult, color: bool = False) -> str:
    root = tree(result)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
