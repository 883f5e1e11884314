"""``--format github``: GitHub Actions workflow commands that annotate the pull request.

One line per finding and nothing else::

    ::warning file=train.py,line=12,endLine=13,col=5,title=MLD201 commented-out-code::message

``error``, ``warning`` and ``info`` findings become ``error``, ``warning`` and ``notice``
annotations. GitHub reads ``%``, carriage returns and newlines in the message as escapes, and
also ``:`` and ``,`` in the properties, so they are percent-encoded; other control
characters (a terminal escape quoted from analysed code) are shown as ``\\xNN``.

Paths are relative to ``GITHUB_WORKSPACE`` when the analysed root lies inside it (see
mldebt.report.ci). A notebook has no lines GitHub could point at (its lines are inside a cell,
not of the JSON file), so a notebook finding annotates the whole file and names its cell and
line in the message.
"""

from __future__ import annotations

import re

from mldebt.api import AnalysisResult
from mldebt.findings import Finding, Severity
from mldebt.report.ci import GITHUB_WORKSPACE, base

COMMANDS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}
#: Control characters other than tab and line breaks: a terminal escape quoted from analysed
#: code must not colour or hide parts of the CI log.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def escape_data(text: str) -> str:
    """A message as a workflow command's data (control characters shown as ``\\xNN``)."""
    visible = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
    return visible.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A value of a workflow command's property (``file=``, ``title=``)."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(finding: Finding, prefix: str = "") -> str:
    properties = [("file", prefix + finding.path)]
    message = finding.message
    if finding.cell is None:
        properties += [
            ("line", str(finding.line)),
            ("endLine", str(max(finding.end_line, finding.line))),
            ("col", str(finding.column)),
        ]
    else:
        message = f"cell {finding.cell}, line {finding.line}: {message}"
    properties.append(("title", f"{finding.rule} {finding.name}"))
    listed = ",".join(f"{key}={escape_property(value)}" for key, value in properties)
    return f"::{COMMANDS[finding.severity]} {listed}::{escape_data(message)}"


def render(result: AnalysisResult, color: bool = False) -> str:
    _, prefix = base(result.config.root, GITHUB_WORKSPACE)
    return "".join(annotation(finding, prefix) + "\n" for finding in result.findings)
