"""The tool's own findings (category ``analysis``): files it cannot analyse, bad suppressions.

These are emitted by the engine itself rather than by a visitor, so they live with the engine;
they are registered, selected, documented and tested like every other rule.
"""

from __future__ import annotations

from mldebt.findings import Severity
from mldebt.rule import BAD, GOOD, Rule


class AnalysisRule(Rule):
    category = "analysis"
    severity = Severity.ERROR
    debt_minutes = 5.0
    tags = ("mldebt",)


class ParseError(AnalysisRule):
    code = "MLD001"
    name = "parse-error"
    summary = "A file that is not valid Python: nothing else in it can be checked."
    what = (
        "A `.py` file, or a notebook cell, that the Python grammar rejects. The finding is "
        "placed where the parser stopped; every other file is still analysed, and in a notebook "
        "the other cells are."
    )
    why = (
        "Broken files are the purest dead experimental code (Sculley et al. 2015, section 5): "
        "half-finished edits that nothing can run, that hide every other debt they carry."
    )
    limits = "Syntax newer than the parser knows (libcst follows CPython's grammar closely)."
    examples = (
        BAD(
            """
            def load(path):
                return pd.read_csv(path, sep=";"
            """,
            expect=1,
        ),
        GOOD(
            """
            def load(path):
                return pd.read_csv(path, sep=";")
            """
        ),
    )


class UnreadableFile(AnalysisRule):
    code = "MLD002"
    name = "unreadable-file"
    summary = "A file that cannot be read, decoded or (for notebooks) loaded as JSON."
    what = (
        "Files that are not readable, are not valid in their declared encoding (PEP 263 "
        "cookie, BOM, else UTF-8), contain NUL bytes, or are notebooks that are not valid "
        "nbformat JSON."
    )
    why = (
        "A file the tools cannot read is one nobody can review; it usually is a corrupted or "
        "generated artifact checked in by accident."
    )
    limits = "Notebooks are read as nbformat 4 JSON; other notebook formats are not supported."
    examples = (
        BAD('{"cells": [}', path="analysis.ipynb", expect=1),
        GOOD('{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}', path="a.ipynb"),
    )


class UnusedSuppression(AnalysisRule):
    code = "MLD003"
    name = "unused-suppression"
    severity = Severity.WARNING
    debt_minutes = 1.0
    summary = "A `# mldebt: ignore` comment that suppresses nothing."
    what = (
        "Suppression comments (`# mldebt: ignore[...]`, `# mldebt: ignore-file[...]` or a bare "
        "`# mldebt: ignore`) naming enabled rules that report nothing where the comment applies."
    )
    why = (
        "Stale suppressions are self-admitted debt that outlived its cause; they also hide any "
        "new debt that appears on that line later."
    )
    limits = "Codes of rules that are not enabled in this run are not judged."
    examples = (
        BAD("x = 1  # mldebt: ignore[MLD701]\n", expect=1),
        GOOD("# TODO: drop once the v2 schema ships  # mldebt: ignore[MLD701]\n"),
    )


class UnknownSuppressionCode(AnalysisRule):
    code = "MLD004"
    name = "unknown-suppression-code"
    severity = Severity.WARNING
    debt_minutes = 1.0
    summary = "A suppression naming a rule code or name that no installed rule has."
    what = "Codes or names in `# mldebt: ignore[...]` that match no registered rule."
    why = "A typo in a suppression silently suppresses nothing and misleads the reader."
    limits = "Rules of packs that are not installed in this environment count as unknown."
    examples = (
        BAD("x = 1  # mldebt: ignore[MLD9999]\n", expect=1),
        GOOD("# HACK: retry the flaky bucket  # mldebt: ignore[debt-marker]\n"),
    )


class InternalError(AnalysisRule):
    code = "MLD005"
    name = "internal-error"
    debt_minutes = 0.0
    summary = "mldebt itself failed on this file (a rule or the parser crashed); please report it."
    what = (
        "A rule that raised an exception on this file, or a parser process that died on it. "
        "Only the failing rule (or file) is lost: the rest of the run goes on."
    )
    why = "Not debt in your code: a finding so that a gap in the analysis is never silent."
    limits = "Carries no remediation time; it is excluded from debt totals."
    no_bad_example = "a crash cannot be written as an example; tests/test_engine.py provokes one"
    examples = (GOOD("x = 1\n"),)


ANALYSIS_RULES: tuple[type[Rule], ...] = (
    ParseError,
    UnreadableFile,
    UnusedSuppression,
    UnknownSuppressionCode,
    InternalError,
)
