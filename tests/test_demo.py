"""`mldebt check fixtures/demo` finds exactly the debt planted in the demo project.

The expectations are read from fixtures/demo/LABELS.md, the demo's ground truth, so the
labels and the analyser cannot drift apart silently. A failure marked RULE BUG means a rule
in rules/ misses a planted item or flags a decoy; LABELS.md itself is believed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner

from mldebt.cli import main

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "fixtures" / "demo"
TESTS = ROOT / "tests"
#: The rules whose every finding on the demo LABELS.md lists (other rules may add findings).
LABELLED_RULES = {"MLD701", "MLD201", "MLD001"}


@dataclass(frozen=True)
class Label:
    """One row of a LABELS.md table: where something is (or must not be) found."""

    rule: str
    path: str
    cell: int | None
    line: int
    end_line: int
    text: str

    def __str__(self) -> str:
        where = f"cell {self.cell}, " if self.cell is not None else ""
        return f"{self.rule} {self.path} ({where}lines {self.line}-{self.end_line}): {self.text}"


def _positions(cell_text: str) -> list[tuple[int | None, int, int]]:
    """'34-35', '45, 49', 'cell 7, lines 4-6 [json 88-90]' -> (cell, first, last) ranges."""
    text = re.sub(r"\[[^\]]*\]", "", cell_text).strip()
    notebook = re.fullmatch(r"cell (\d+), lines? (\d+)(?:-(\d+))?", text)
    if notebook:
        first = int(notebook.group(2))
        return [(int(notebook.group(1)), first, int(notebook.group(3) or first))]
    ranges = []
    for part in text.split(","):
        first, _, last = part.strip().partition("-")
        ranges.append((None, int(first), int(last or first)))
    return ranges


def _tables(markdown: str) -> dict[str, list[list[str]]]:
    """Rows of every table, keyed by the heading or the line that introduces it."""
    tables: dict[str, list[list[str]]] = {}
    title = ""
    for line in markdown.splitlines():
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if set("".join(cells)) <= {"-"} or cells[0] == "File":
                continue
            tables.setdefault(title, []).append(cells)
        elif line.strip():
            title = line.lstrip("# ").strip()
    return tables


def _labels(rule: str, rows: list[list[str]]) -> list[Label]:
    found = []
    for path, where, text, *_ in rows:
        for cell, first, last in _positions(where):
            found.append(Label(rule, path.strip("`"), cell, first, last, text))
    return found


TABLES = _tables((DEMO / "LABELS.md").read_text(encoding="utf-8"))
_MARKERS = _labels("MLD701", TABLES["Self-admitted debt markers (MLD701)"])
PLANTED = [
    *(label for label in _MARKERS if "suppressed" not in label.text),
    *_labels("MLD201", TABLES["Commented-out code blocks"]),
    *_labels("MLD001", TABLES["Parse error"]),
]
SUPPRESSED = [label for label in _MARKERS if "suppressed" in label.text]
DECOYS = [
    *_labels("MLD701", TABLES["Not debt markers:"]),
    *_labels("MLD201", TABLES["Not commented-out code (prose / pragmas / headers):"]),
]


def _ids(label: Label) -> str:
    where = f"cell{label.cell}:" if label.cell is not None else ""
    return f"{label.rule}-{label.path}:{where}{label.line}"


@pytest.fixture(scope="module")
def report() -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(main, ["check", "--no-cache", "--format", "json", str(DEMO)])
    return result.exit_code, json.loads(result.output)


def _findings(report: tuple[int, dict[str, Any]]) -> list[dict[str, Any]]:
    return list(report[1]["findings"])


def _at(finding: dict[str, Any], label: Label) -> bool:
    return (
        finding["rule"] == label.rule
        and finding["path"] == label.path
        and finding["cell"] == label.cell
    )


# the labels themselves ------------------------------------------------------------------------


def test_labels_list_what_the_summary_line_promises() -> None:
    rules = [label.rule for label in PLANTED]
    assert (rules.count("MLD701"), rules.count("MLD201"), rules.count("MLD001")) == (7, 5, 1)
    assert len(SUPPRESSED) == 1
    assert len(DECOYS) >= 20


# the command line -----------------------------------------------------------------------------


def test_demo_fails_the_gate_with_exit_1(report: tuple[int, dict[str, Any]]) -> None:
    assert report[0] == 1


def test_text_format_exits_1_and_ends_with_the_summary() -> None:
    result = CliRunner().invoke(main, ["check", "--no-cache", str(DEMO)])
    assert result.exit_code == 1
    assert result.output.splitlines()[-1].startswith("Found ")
    assert "notebooks/exploration.ipynb:cell 6:1:1: MLD701 [debt-marker]" in result.output


def test_json_report_is_valid_against_the_contract_schema(
    report: tuple[int, dict[str, Any]],
) -> None:
    shared = ROOT.parent / "shared" / "schemas" / "mldebt-report.schema.json"
    schema_path = shared if shared.is_file() else TESTS / "schemas" / "mldebt-report.schema.json"
    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema).validate(report[1])


def test_every_source_file_is_analysed_despite_the_broken_one(
    report: tuple[int, dict[str, Any]],
) -> None:
    sources = [*DEMO.rglob("*.py"), *DEMO.rglob("*.ipynb")]
    assert report[1]["summary"]["files"] == len(sources)
    paths = {f["path"] for f in _findings(report)}
    assert "utils/broken_loader.py" in paths
    assert len(paths) > 5


# planted debt, decoys, suppressions -----------------------------------------------------------


@pytest.mark.parametrize("label", PLANTED, ids=_ids)
def test_planted_debt_is_reported(report: tuple[int, dict[str, Any]], label: Label) -> None:
    matches = [f for f in _findings(report) if _at(f, label) and f["line"] == label.line]
    assert matches, f"RULE BUG: planted item not reported: {label}"
    if label.rule == "MLD201":
        assert matches[0]["end_line"] == label.end_line, (
            f"RULE BUG: commented-out block reported with the wrong extent: {label}"
        )


def test_labelled_rules_report_nothing_beyond_the_planted_debt(
    report: tuple[int, dict[str, Any]],
) -> None:
    found = {
        (f["rule"], f["path"], f["cell"], f["line"])
        for f in _findings(report)
        if f["rule"] in LABELLED_RULES
    }
    planted = {(p.rule, p.path, p.cell, p.line) for p in PLANTED}
    assert found - planted == set(), "RULE BUG: findings on the demo that LABELS.md does not list"


def test_no_other_analysis_findings(report: tuple[int, dict[str, Any]]) -> None:
    analysis = [f for f in _findings(report) if f["category"] == "analysis"]
    assert [(f["rule"], f["path"]) for f in analysis] == [("MLD001", "utils/broken_loader.py")]


@pytest.mark.parametrize("decoy", DECOYS, ids=_ids)
def test_decoy_is_not_flagged(report: tuple[int, dict[str, Any]], decoy: Label) -> None:
    flagged = [
        f
        for f in _findings(report)
        if _at(f, decoy) and f["line"] <= decoy.end_line and f["end_line"] >= decoy.line
    ]
    assert flagged == [], f"RULE BUG: decoy flagged: {decoy}"


@pytest.mark.parametrize("label", SUPPRESSED, ids=_ids)
def test_per_file_ignores_silence_the_tests_folder(
    report: tuple[int, dict[str, Any]], label: Label
) -> None:
    source = (DEMO / label.path).read_text(encoding="utf-8").splitlines()
    assert "TODO" in source[label.line - 1]  # the marker is there; only the config hides it
    assert not [f for f in _findings(report) if _at(f, label) and f["line"] == label.line]
