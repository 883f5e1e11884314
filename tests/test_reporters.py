"""The text and JSON reports, compared with golden files in tests/golden/.

When a change to a report is intended, regenerate the golden files and review the diff:

    MLDEBT_UPDATE_GOLDEN=1 pytest tests/test_reporters.py
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import click
import jsonschema
import pytest
from click.testing import CliRunner

from mldebt import __version__, analyse
from mldebt.api import AnalysisResult, summarise
from mldebt.cli import main
from mldebt.config import Config
from mldebt.findings import Finding, Location, Severity
from mldebt.report import json_report, render, text

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
GOLDEN = TESTS / "golden"
FIXTURE = ROOT / "fixtures" / "reporting"
UPDATE = os.environ.get("MLDEBT_UPDATE_GOLDEN") == "1"


def schema() -> dict[str, Any]:
    """The contract schema: the shared one beside the repository, else the copy in tests/."""
    shared = ROOT.parent / "shared" / "schemas" / "mldebt-report.schema.json"
    path = shared if shared.is_file() else TESTS / "schemas" / "mldebt-report.schema.json"
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def assert_valid(document: Any) -> None:
    validator = jsonschema.Draft202012Validator(schema())
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]
    assert errors == []


def normalise_json(report: str) -> str:
    """The report with the version that wrote it replaced, so releases do not churn goldens."""
    document = json.loads(report)
    assert document["tool"]["version"] == __version__
    document["tool"]["version"] = "<version>"
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def assert_golden(name: str, actual: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.write_text(actual, encoding="utf-8")
    assert path.is_file(), f"no golden file {path}; create it with MLDEBT_UPDATE_GOLDEN=1"
    expected = path.read_text(encoding="utf-8")
    assert actual == expected, f"{name} differs; if intended, regenerate: MLDEBT_UPDATE_GOLDEN=1"


@pytest.fixture(scope="module")
def fixture_result() -> AnalysisResult:
    return analyse([FIXTURE], jobs=1, use_cache=False)


# the reporting fixture: every severity, a notebook cell, a suppressed finding ---------------


def test_text_report_matches_golden(fixture_result: AnalysisResult) -> None:
    assert_golden("reporting.txt", render("text", fixture_result))


def test_json_report_matches_golden(fixture_result: AnalysisResult) -> None:
    assert_golden("reporting.json", normalise_json(render("json", fixture_result)))


def test_statistics_match_golden(fixture_result: AnalysisResult) -> None:
    assert_golden("reporting.statistics.txt", text.statistics(fixture_result) + "\n")


def test_golden_json_is_valid_against_the_contract_schema() -> None:
    assert_valid(json.loads((GOLDEN / "reporting.json").read_text(encoding="utf-8")))


def test_command_line_prints_the_golden_reports(tmp_path: Path) -> None:
    runner = CliRunner()
    shown = runner.invoke(main, ["check", "--no-cache", "--jobs", "1", str(FIXTURE)])
    assert shown.exit_code == 1
    assert shown.output == (GOLDEN / "reporting.txt").read_text(encoding="utf-8")
    out = tmp_path / "report.json"
    written = runner.invoke(
        main, ["check", "--no-cache", "--format", "json", "--output", str(out), str(FIXTURE)]
    )
    assert written.exit_code == 1
    assert written.output == ""
    golden = (GOLDEN / "reporting.json").read_text(encoding="utf-8")
    assert normalise_json(out.read_text(encoding="utf-8")) == golden


def test_text_report_places_notebook_findings_in_their_cell(fixture_result: AnalysisResult) -> None:
    lines = render("text", fixture_result).splitlines()
    assert lines[0].startswith("explore_clicks.ipynb:cell 3:2:1: MLD701 [debt-marker] XXX")


def test_colour_only_styles_the_plain_report(fixture_result: AnalysisResult) -> None:
    coloured = render("text", fixture_result, color=True)
    assert "\x1b[" in coloured
    assert click.unstyle(coloured) == render("text", fixture_result)


# notebooks: cells counted among all cells, one broken cell, magics, other kernels -----------

NOTEBOOKS = ROOT / "fixtures" / "notebooks"


def test_notebook_text_report_matches_golden() -> None:
    result = analyse([NOTEBOOKS], jobs=1, use_cache=False)
    assert_golden("notebooks.txt", render("text", result))


def test_notebook_json_report_is_valid_and_locates_cells() -> None:
    document = json.loads(render("json", analyse([NOTEBOOKS], jobs=1, use_cache=False)))
    assert_valid(document)
    cells = {(f["path"], f["rule"], f["cell"], f["line"]) for f in document["findings"]}
    assert ("train_baseline.ipynb", "MLD001", 8, 1) in cells  # the broken cell only
    assert ("train_baseline.ipynb", "MLD701", 11, 1) in cells  # cells after it still analysed
    assert ("truncated.ipynb", "MLD002", None, 8) in cells  # no cell: a line of the JSON file
    assert not [f for f in document["findings"] if f["path"] == "r_exploration.ipynb"]


# a hand-built result: related locations, a finding without end column, an empty run --------


def _finding(**fields: Any) -> Finding:
    base: dict[str, Any] = {
        "rule": "MLD701",
        "name": "debt-marker",
        "category": "self-admitted-debt",
        "severity": Severity.INFO,
        "path": "train.py",
        "line": 3,
        "column": 5,
        "end_line": 3,
        "end_column": 40,
        "message": "TODO comment: TODO: tune the threshold",
        "debt_minutes": 10.0,
        "fingerprint": "0123456789abcdef0123",
    }
    base.update(fields)
    return Finding(**base)


def handmade() -> AnalysisResult:
    findings = [
        _finding(
            rule="MLD901",
            name="pipeline-jungle",
            category="pipeline-jungle",
            severity=Severity.ERROR,
            path="pipeline/02_join.py",
            line=12,
            column=1,
            end_line=14,
            end_column=None,
            message="3 scripts chained through intermediate files",
            debt_minutes=90.0,
            fingerprint="fedcba9876543210fedc",
            related=(
                Location("pipeline/01_scrape.py", 20, 5, message="writes raw.csv"),
                Location("notebooks/eda.ipynb", 2, 1, 2, 30, cell=4, message="reads raw.csv"),
            ),
        ),
        _finding(path="notebooks/eda.ipynb", cell=3, line=1, column=1, end_column=30),
        _finding(),
    ]
    findings.sort(key=lambda f: f.sort_key)
    return AnalysisResult(findings, summarise(findings, 4, 120, 2), Config(root=Path(".")), [])


def test_handmade_text_report_matches_golden() -> None:
    assert_golden("handmade.txt", render("text", handmade()))


def test_handmade_json_report_matches_golden_and_schema() -> None:
    report = normalise_json(render("json", handmade()))
    assert_golden("handmade.json", report)
    assert_valid(json.loads(report))


def test_json_carries_related_locations_with_their_cells() -> None:
    document = json_report.document(handmade())
    jungle = next(f for f in document["findings"] if f["rule"] == "MLD901")
    assert jungle["related"][1] == {
        "path": "notebooks/eda.ipynb",
        "line": 2,
        "column": 1,
        "end_line": 2,
        "end_column": 30,
        "cell": 4,
        "message": "reads raw.csv",
    }
    assert "end_column" not in jungle
    assert jungle["cell"] is None


def test_empty_run_says_no_debt_and_is_valid_json() -> None:
    empty = AnalysisResult([], summarise([], 1, 10), Config(root=Path(".")), [])
    assert render("text", empty) == "No debt found in 1 file.\n"
    assert text.statistics(empty) == ""
    document = json.loads(render("json", empty))
    assert document["findings"] == []
    assert_valid(document)


@pytest.mark.parametrize(
    ("minutes", "shown"),
    [(0, "0min"), (10.5, "11min"), (60, "1h"), (105, "1h 45min"), (8 * 60 + 5, "1d 5min")],
)
def test_debt_is_shown_in_working_days_hours_and_minutes(minutes: float, shown: str) -> None:
    assert text.duration(minutes) == shown


def test_text_output_shows_control_characters_instead_of_sending_them_to_the_terminal() -> None:
    from mldebt.report.text import line

    finding = Finding(
        rule="MLD701",
        name="debt-marker",
        category="self-admitted-debt",
        severity=Severity.INFO,
        path="a\x1b.py",
        line=1,
        column=1,
        end_line=1,
        end_column=None,
        message="TODO comment: \x1b[2Jclear the screen",
        debt_minutes=10.0,
        fingerprint="f" * 20,
    )
    shown = line(finding)
    assert "\x1b" not in shown
    assert "\\x1b[2Jclear the screen" in shown
