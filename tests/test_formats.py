"""The machine formats: SARIF, GitHub annotations, GitLab Code Quality and JUnit XML.

Each is compared with golden files in tests/golden/ for the reporting fixture and for a
hand-built result with hostile content (paths with spaces, commas and colons, messages with
newlines and markup, control characters, a chain of related locations, a notebook cell, two
findings sharing a fingerprint). When a change is intended, regenerate and review the diff:

    MLDEBT_UPDATE_GOLDEN=1 pytest tests/test_formats.py
"""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

import jsonschema
import pytest
from click.testing import CliRunner

from mldebt import __version__, analyse
from mldebt.api import AnalysisResult, summarise
from mldebt.baseline import Comparison
from mldebt.cli import main
from mldebt.config import Config, EnabledRule
from mldebt.findings import Finding, Location, Severity
from mldebt.registry import load_registry
from mldebt.report import FORMATS, ReportError, github, gitlab, junit, render, sarif, write_reports
from mldebt.ruledocs import render as rule_docs

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
GOLDEN = TESTS / "golden"
FIXTURE = ROOT / "fixtures" / "reporting"
SHARED_SCHEMA = ROOT.parent / "shared" / "schemas" / "sarif-schema-2.1.0.json"
SCHEMA_COPY = TESTS / "schemas" / "sarif-schema-2.1.0.json"
UPDATE = os.environ.get("MLDEBT_UPDATE_GOLDEN") == "1"
MACHINE_FORMATS = ("sarif", "github", "gitlab", "junit")


@pytest.fixture(autouse=True)
def outside_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    """Paths relative to the analysed root, as outside CI, even when the tests run in CI."""
    monkeypatch.delenv("GITHUB_WORKSPACE", raising=False)
    monkeypatch.delenv("CI_PROJECT_DIR", raising=False)


@pytest.fixture(scope="module")
def fixture_result() -> AnalysisResult:
    return analyse([FIXTURE], jobs=1, use_cache=False)


def assert_golden(name: str, actual: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.write_text(actual, encoding="utf-8")
    assert path.is_file(), f"no golden file {path}; create it with MLDEBT_UPDATE_GOLDEN=1"
    expected = path.read_text(encoding="utf-8")
    assert actual == expected, f"{name} differs; if intended, regenerate: MLDEBT_UPDATE_GOLDEN=1"


def normalise_sarif(report: str) -> str:
    """The log without what changes from machine to machine or release to release.

    The analysed root's URI, the version, and each rule's help (its docs page, checked against
    ``mldebt.ruledocs`` by its own test) are replaced by placeholders.
    """
    log = json.loads(report)
    run = log["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["version"] == driver["semanticVersion"] == __version__
    driver["version"] = driver["semanticVersion"] = "<version>"
    for rule in driver["rules"]:
        if "help" in rule:
            rule["help"] = {"text": f"<docs of {rule['id']}>", "markdown": "<same>"}
    run["originalUriBaseIds"]["%SRCROOT%"]["uri"] = "<root>"
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"


def normalised(fmt: str, report: str) -> str:
    return normalise_sarif(report) if fmt == "sarif" else report


GOLDEN_NAMES = {
    "sarif": "sarif.json",
    "github": "github.txt",
    "gitlab": "gitlab.json",
    "junit": "junit.xml",
}


# a hand-built result with everything a reporter can trip over --------------------------------


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


HOSTILE_PATH = "data prep/clean,v2:final 100%.py"
HOSTILE_MESSAGE = (
    'TODO comment: TODO: 50% done,\nsee </script><script>alert(1)</script> & "x" \x1b[31m'
)

JUNGLE = _finding(
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
        Location("pipeline/02_join.py", 12, 1, 14),
    ),
)


def hostile() -> AnalysisResult:
    findings = [
        JUNGLE,
        _finding(
            rule="MLD201",
            name="commented-out-code",
            category="dead-experimental-code",
            severity=Severity.WARNING,
            path="notebooks/eda.ipynb",
            cell=3,
            line=1,
            column=1,
            end_line=2,
            end_column=30,
            message="2 lines of commented-out code: `df = df[df.ts > 0]`",
            debt_minutes=5.5,
            fingerprint="aaaabbbbccccddddeeee",
            related=(Location("notebooks/eda.ipynb", 7, 1, cell=5, message="the live version"),),
        ),
        _finding(path=HOSTILE_PATH, message=HOSTILE_MESSAGE),
        _finding(line=9, fingerprint="1111222233334444aaaa"),
        # the same marker twice in one scope: one mldebt fingerprint for both
        _finding(line=20, fingerprint="1111222233334444aaaa"),
    ]
    findings.sort(key=lambda f: f.sort_key)
    files = ["clean.py", "notebooks/eda.ipynb", "pipeline/01_scrape.py", "train.py"]
    summary = summarise(findings, len(files) + 2, 120, 1)
    return AnalysisResult(findings, summary, Config(root=ROOT), [], files)


def empty() -> AnalysisResult:
    return AnalysisResult([], summarise([], 1, 10), Config(root=ROOT), [], ["clean.py"])


# every format: golden files, the command line, determinism ----------------------------------


@pytest.mark.parametrize("fmt", MACHINE_FORMATS)
def test_formats_are_offered_by_the_command_line(fmt: str) -> None:
    assert fmt in FORMATS


@pytest.mark.parametrize("fmt", MACHINE_FORMATS)
def test_fixture_report_matches_golden(fmt: str, fixture_result: AnalysisResult) -> None:
    report = render(fmt, fixture_result)
    assert_golden(f"reporting.{GOLDEN_NAMES[fmt]}", normalised(fmt, report))


@pytest.mark.parametrize("fmt", MACHINE_FORMATS)
def test_hostile_report_matches_golden(fmt: str) -> None:
    assert_golden(f"hostile.{GOLDEN_NAMES[fmt]}", normalised(fmt, render(fmt, hostile())))


@pytest.mark.parametrize("fmt", MACHINE_FORMATS)
def test_command_line_prints_the_golden_report(fmt: str) -> None:
    args = ["check", "--no-cache", "--jobs", "1", "--format", fmt, str(FIXTURE)]
    run = CliRunner().invoke(main, args)
    assert run.exit_code == 1
    golden = (GOLDEN / f"reporting.{GOLDEN_NAMES[fmt]}").read_text(encoding="utf-8")
    assert normalised(fmt, run.output) == golden


@pytest.mark.parametrize("fmt", MACHINE_FORMATS)
def test_two_analyses_give_identical_reports(fmt: str, fixture_result: AnalysisResult) -> None:
    again = analyse([FIXTURE], jobs=1, use_cache=False)
    assert render(fmt, again) == render(fmt, fixture_result)


# SARIF ----------------------------------------------------------------------------------------


def sarif_schema() -> dict[str, Any]:
    """The OASIS schema: the shared one beside the repository, else the copy in tests/."""
    path = SHARED_SCHEMA if SHARED_SCHEMA.is_file() else SCHEMA_COPY
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def _formats() -> jsonschema.FormatChecker:
    """Checks for the URI formats the schema uses (jsonschema skips them without extras)."""
    checker = jsonschema.FormatChecker()

    @checker.checks("uri")
    def is_uri(value: object) -> bool:
        return not isinstance(value, str) or (
            _is_uri_reference(value) and bool(urlsplit(value).scheme)
        )

    @checker.checks("uri-reference")
    def is_uri_reference(value: object) -> bool:
        return not isinstance(value, str) or _is_uri_reference(value)

    return checker


def _is_uri_reference(value: str) -> bool:
    allowed = set("-._~:/?#[]@!$&'()*+,;=%")
    return all(c.isascii() and (c.isalnum() or c in allowed) for c in value)


def assert_valid_sarif(log: Any) -> None:
    schema = sarif_schema()
    validator_class = jsonschema.validators.validator_for(schema)
    validator = validator_class(schema, format_checker=_formats())
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(log)]
    assert errors == []


def test_the_schema_copy_is_the_shared_schema() -> None:
    if not SHARED_SCHEMA.is_file():
        pytest.skip("no shared schema beside the repository")
    assert SCHEMA_COPY.read_bytes() == SHARED_SCHEMA.read_bytes()


def test_schema_is_draft_4_so_validation_follows_it() -> None:
    schema = sarif_schema()
    assert jsonschema.validators.validator_for(schema) is jsonschema.Draft4Validator


def test_the_uri_format_checks_can_fail() -> None:
    with pytest.raises(AssertionError):
        assert_valid_sarif({"version": "2.1.0", "runs": [], "$schema": "not a uri"})


@pytest.mark.parametrize("result", ["fixture", "hostile", "empty"])
def test_sarif_is_valid_against_the_oasis_schema(
    result: str, fixture_result: AnalysisResult
) -> None:
    built = {"fixture": fixture_result, "hostile": hostile(), "empty": empty()}[result]
    assert_valid_sarif(json.loads(sarif.render(built)))


def test_golden_sarif_files_are_valid() -> None:
    for name in ("reporting.sarif.json", "hostile.sarif.json"):
        log = json.loads((GOLDEN / name).read_text(encoding="utf-8"))
        log["runs"][0]["originalUriBaseIds"]["%SRCROOT%"]["uri"] = "file:///root/"
        assert_valid_sarif(log)


def test_sarif_describes_every_enabled_rule_with_its_docs(fixture_result: AnalysisResult) -> None:
    driver = sarif.document(fixture_result)["runs"][0]["tool"]["driver"]
    by_id = {rule["id"]: rule for rule in driver["rules"]}
    assert list(by_id) == sorted(e.rule.code for e in fixture_result.rules)
    for enabled in fixture_result.rules:
        described = by_id[enabled.rule.code]
        assert described["name"] == enabled.rule.name
        assert described["help"]["markdown"] == rule_docs(enabled.rule)
        assert enabled.rule.category in described["properties"]["tags"]


def test_sarif_rule_level_is_the_configured_severity() -> None:
    marker = load_registry().lookup("MLD701")
    assert marker is not None and marker.severity is Severity.INFO
    result = hostile()
    result.rules = [EnabledRule(marker, Severity.ERROR, {})]
    driver = sarif.document(result)["runs"][0]["tool"]["driver"]
    described = next(rule for rule in driver["rules"] if rule["id"] == "MLD701")
    assert described["defaultConfiguration"] == {"level": "error"}


def test_sarif_levels_follow_severities() -> None:
    levels = {r["ruleId"]: r["level"] for r in sarif.document(hostile())["runs"][0]["results"]}
    assert levels == {"MLD901": "error", "MLD201": "warning", "MLD701": "note"}


def test_every_result_points_at_its_rule_descriptor(fixture_result: AnalysisResult) -> None:
    for built in (fixture_result, hostile()):
        run = sarif.document(built)["runs"][0]
        rules = run["tool"]["driver"]["rules"]
        for result in run["results"]:
            assert rules[result["ruleIndex"]]["id"] == result["ruleId"]


def test_rules_no_enabled_rule_describes_still_get_a_descriptor() -> None:
    rules = sarif.document(hostile())["runs"][0]["tool"]["driver"]["rules"]
    jungle = next(r for r in rules if r["id"] == "MLD901")
    assert jungle["name"] == "pipeline-jungle"
    assert jungle["properties"]["category"] == "pipeline-jungle"


def test_sarif_locations_resolve_to_the_analysed_files(fixture_result: AnalysisResult) -> None:
    run = sarif.document(fixture_result)["runs"][0]
    root = run["originalUriBaseIds"]["%SRCROOT%"]["uri"]
    assert root == FIXTURE.as_uri() + "/"
    for result in run["results"]:
        artifact = result["locations"][0]["physicalLocation"]["artifactLocation"]
        assert artifact["uriBaseId"] == "%SRCROOT%"
        assert Path(unquote(urlsplit(urljoin(root, artifact["uri"])).path)).is_file()


def test_sarif_percent_encodes_awkward_file_names() -> None:
    results = sarif.document(hostile())["runs"][0]["results"]
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results}
    assert "data%20prep/clean%2Cv2%3Afinal%20100%25.py" in uris
    assert HOSTILE_PATH in {unquote(uri) for uri in uris}


def test_sarif_writes_a_file_name_that_is_not_utf8_as_its_bytes() -> None:
    assert sarif.uri("data/bad\udcffname.py") == "data/bad%FFname.py"
    assert sarif.uri("données/été.py") == "donn%C3%A9es/%C3%A9t%C3%A9.py"


def test_sarif_keeps_the_notebook_cell_beside_the_region() -> None:
    results = sarif.document(hostile())["runs"][0]["results"]
    notebook = next(r for r in results if r["ruleId"] == "MLD201")
    region = notebook["locations"][0]["physicalLocation"]["region"]
    assert region == {
        "startLine": 1,
        "startColumn": 1,
        "endLine": 2,
        "endColumn": 30,
        "properties": {"cell": 3},
    }
    assert notebook["properties"]["cell"] == 3
    related = notebook["relatedLocations"][0]["physicalLocation"]["region"]
    assert related["properties"] == {"cell": 5}


def test_sarif_carries_related_locations_and_the_chain_as_a_code_flow() -> None:
    results = sarif.document(hostile())["runs"][0]["results"]
    jungle = next(r for r in results if r["ruleId"] == "MLD901")
    related = jungle["relatedLocations"]
    assert [r["id"] for r in related] == [1, 2, 3]
    assert [r["message"]["text"] for r in related] == [
        "writes raw.csv",
        "reads raw.csv",
        "related location 3",
    ]
    (flow,) = jungle["codeFlows"]
    steps = flow["threadFlows"][0]["locations"]
    assert [s["executionOrder"] for s in steps] == [1, 2, 3]
    paths = [s["location"]["physicalLocation"]["artifactLocation"]["uri"] for s in steps]
    assert paths == ["pipeline/01_scrape.py", "notebooks/eda.ipynb", "pipeline/02_join.py"]


def test_one_related_location_is_no_code_flow() -> None:
    results = sarif.document(hostile())["runs"][0]["results"]
    notebook = next(r for r in results if r["ruleId"] == "MLD201")
    assert len(notebook["relatedLocations"]) == 1
    assert "codeFlows" not in notebook


def test_sarif_fingerprints_and_debt_travel_with_each_result() -> None:
    results = sarif.document(hostile())["runs"][0]["results"]
    jungle = next(r for r in results if r["ruleId"] == "MLD901")
    assert jungle["partialFingerprints"] == {"mldebtFingerprint/v1": "fedcba9876543210fedc"}
    assert jungle["properties"]["debtMinutes"] == 90.0
    assert jungle["properties"]["category"] == "pipeline-jungle"


def test_sarif_region_without_end_column_has_none() -> None:
    results = sarif.document(hostile())["runs"][0]["results"]
    jungle = next(r for r in results if r["ruleId"] == "MLD901")
    region = jungle["locations"][0]["physicalLocation"]["region"]
    assert region == {"startLine": 12, "startColumn": 1, "endLine": 14}


def test_sarif_marks_results_new_after_a_baseline_comparison() -> None:
    result = hostile()
    others = [f for f in result.findings if f is not JUNGLE]
    result.comparison = Comparison(".mldebt-baseline.json", "baseline", [JUNGLE], others)
    log = sarif.document(result)
    assert_valid_sarif(log)
    states = {r["ruleId"]: r["baselineState"] for r in log["runs"][0]["results"]}
    assert states == {"MLD901": "new", "MLD201": "unchanged", "MLD701": "unchanged"}


def test_sarif_has_no_baseline_state_without_a_comparison() -> None:
    results = sarif.document(hostile())["runs"][0]["results"]
    assert not [r for r in results if "baselineState" in r]


def test_sarif_paths_are_relative_to_the_github_workspace_in_actions(
    monkeypatch: pytest.MonkeyPatch, fixture_result: AnalysisResult
) -> None:
    monkeypatch.setenv("GITHUB_WORKSPACE", str(ROOT))
    run = sarif.document(fixture_result)["runs"][0]
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == ROOT.as_uri() + "/"
    uri = run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "fixtures/reporting/explore_clicks.ipynb"


def test_a_workspace_that_does_not_hold_the_root_changes_nothing(
    monkeypatch: pytest.MonkeyPatch, fixture_result: AnalysisResult, tmp_path: Path
) -> None:
    outside = {fmt: render(fmt, fixture_result) for fmt in MACHINE_FORMATS}
    monkeypatch.setenv("GITHUB_WORKSPACE", str(tmp_path))
    monkeypatch.setenv("CI_PROJECT_DIR", str(tmp_path))
    assert {fmt: render(fmt, fixture_result) for fmt in MACHINE_FORMATS} == outside


# GitHub annotations ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "data", "prop"),
    [
        ("plain", "plain", "plain"),
        ("100%", "100%25", "100%25"),
        ("a\nb\r\nc", "a%0Ab%0D%0Ac", "a%0Ab%0D%0Ac"),
        ("a,b:c", "a,b:c", "a%2Cb%3Ac"),
        ("%0A", "%250A", "%250A"),  # an escape in the text stays text
        ("\x1b[8mhidden", "\\x1b[8mhidden", "\\x1b[8mhidden"),  # no terminal escapes
    ],
)
def test_github_escapes_data_and_properties(raw: str, data: str, prop: str) -> None:
    assert github.escape_data(raw) == data
    assert github.escape_property(raw) == prop


def test_github_prints_one_annotation_line_per_finding_and_nothing_else() -> None:
    result = hostile()
    lines = github.render(result).splitlines()
    assert len(lines) == len(result.findings)
    assert all(line.startswith(("::error ", "::warning ", "::notice ")) for line in lines)
    assert github.render(empty()) == ""


def test_github_annotation_for_a_hostile_file_name_and_message() -> None:
    finding = _finding(path=HOSTILE_PATH, message=HOSTILE_MESSAGE)
    assert github.annotation(finding) == (
        "::notice file=data prep/clean%2Cv2%3Afinal 100%25.py,line=3,endLine=3,col=5,"
        "title=MLD701 debt-marker::TODO comment: TODO: 50%25 done,%0Asee "
        '</script><script>alert(1)</script> & "x" \\x1b[31m'
    )


def test_github_annotates_a_notebook_finding_on_the_file_naming_its_cell() -> None:
    finding = _finding(path="eda.ipynb", cell=3, line=2, severity=Severity.WARNING)
    assert github.annotation(finding) == (
        "::warning file=eda.ipynb,title=MLD701 debt-marker::"
        "cell 3, line 2: TODO comment: TODO: tune the threshold"
    )


def test_github_paths_are_relative_to_the_workspace(
    monkeypatch: pytest.MonkeyPatch, fixture_result: AnalysisResult
) -> None:
    monkeypatch.setenv("GITHUB_WORKSPACE", str(ROOT))
    first = github.render(fixture_result).splitlines()[0]
    assert first.startswith("::notice file=fixtures/reporting/explore_clicks.ipynb,")


# GitLab Code Quality --------------------------------------------------------------------------


def test_gitlab_issues_have_the_fields_gitlab_reads() -> None:
    for issue in gitlab.document(hostile()):
        assert isinstance(issue["description"], str) and issue["description"]
        assert isinstance(issue["check_name"], str)
        assert isinstance(issue["fingerprint"], str) and issue["fingerprint"]
        assert issue["severity"] in {"info", "minor", "major", "critical", "blocker"}
        lines = issue["location"]["lines"]
        assert 1 <= lines["begin"] <= lines["end"]
        assert isinstance(issue["location"]["path"], str)


def test_gitlab_fingerprints_are_unique_even_for_findings_sharing_one() -> None:
    issues = gitlab.document(hostile())
    fingerprints = [issue["fingerprint"] for issue in issues]
    assert len(set(fingerprints)) == len(fingerprints)
    shared = [fp for fp in fingerprints if fp.startswith("1111222233334444aaaa")]
    assert shared == ["1111222233334444aaaa", "1111222233334444aaaa-2"]


def test_gitlab_disambiguation_never_collides_with_another_fingerprint() -> None:
    findings = [
        _finding(fingerprint="abc"),
        _finding(fingerprint="abc-2"),  # not a real mldebt fingerprint, but must stay unique
        _finding(fingerprint="abc"),
        _finding(fingerprint="abc"),
    ]
    assert gitlab.fingerprints(findings) == ["abc", "abc-2", "abc-3", "abc-4"]


def test_gitlab_fingerprints_do_not_move_with_the_code() -> None:
    before = [_finding(line=3), _finding(line=9, fingerprint="f2")]
    after = [_finding(line=40, column=1, end_line=41), _finding(line=80, fingerprint="f2")]
    assert (
        gitlab.fingerprints(before) == gitlab.fingerprints(after) == ["0123456789abcdef0123", "f2"]
    )


def test_gitlab_severities() -> None:
    issues = {issue["check_name"]: issue for issue in gitlab.document(hostile())}
    assert issues["MLD901"]["severity"] == "major"
    assert issues["MLD201"]["severity"] == "minor"
    assert issues["MLD701"]["severity"] == "info"


def test_gitlab_names_the_notebook_cell_in_the_description() -> None:
    issues = {issue["check_name"]: issue for issue in gitlab.document(hostile())}
    assert issues["MLD201"]["description"].endswith("(cell 3, line 1)")
    assert issues["MLD201"]["location"] == {
        "path": "notebooks/eda.ipynb",
        "lines": {"begin": 1, "end": 2},
    }


def test_gitlab_paths_are_relative_to_the_project_dir(
    monkeypatch: pytest.MonkeyPatch, fixture_result: AnalysisResult
) -> None:
    monkeypatch.setenv("CI_PROJECT_DIR", str(ROOT))
    paths = {issue["location"]["path"] for issue in gitlab.document(fixture_result)}
    assert "fixtures/reporting/load_events.py" in paths


# JUnit XML ------------------------------------------------------------------------------------


def test_junit_parses_and_counts_findings_and_clean_files(
    fixture_result: AnalysisResult,
) -> None:
    root = ET.fromstring(junit.render(fixture_result))
    assert root.tag == "testsuites"
    clean = set(fixture_result.files) - {f.path for f in fixture_result.findings}
    assert root.get("failures") == str(len(fixture_result.findings))
    assert root.get("tests") == str(len(fixture_result.findings) + len(clean))
    suites = {suite.get("name"): suite for suite in root.iter("testsuite")}
    assert sorted(suites) == sorted(fixture_result.files)
    for path in clean:
        (case,) = suites[path].iter("testcase")
        assert case.get("name") == "no debt found"
        assert case.find("failure") is None


def test_junit_failure_explains_the_finding() -> None:
    root = ET.fromstring(junit.render(hostile()))
    suite = next(s for s in root.iter("testsuite") if s.get("name") == "pipeline/02_join.py")
    (case,) = suite.iter("testcase")
    assert case.get("name") == "MLD901 pipeline-jungle at 12:1"
    assert case.get("line") == "12"
    failure = case.find("failure")
    assert failure is not None
    assert failure.get("type") == "MLD901 pipeline-jungle"
    assert failure.get("message") == "3 scripts chained through intermediate files"
    assert failure.text is not None
    assert "  notebooks/eda.ipynb:cell 4:2:1: reads raw.csv" in failure.text.splitlines()


def test_junit_keeps_hostile_text_as_text() -> None:
    report = junit.render(hostile())
    assert "<script>" not in report
    root = ET.fromstring(report)  # control characters would make this fail
    suite = next(s for s in root.iter("testsuite") if s.get("name") == HOSTILE_PATH)
    failure = suite.find("testcase/failure")
    assert failure is not None
    assert failure.get("message") == HOSTILE_MESSAGE.replace("\x1b", "\\x1b")


def test_junit_escapes_characters_xml_cannot_carry() -> None:
    finding = _finding(message="nul \x00, bell \x07, lone surrogate \udcff, tab \t kept")
    result = AnalysisResult([finding], summarise([finding], 1, 3), Config(root=ROOT), [])
    failure = ET.fromstring(junit.render(result)).find("testsuite/testcase/failure")
    assert failure is not None
    assert failure.get("message") == "nul \\x00, bell \\x07, lone surrogate \\udcff, tab \t kept"


def test_junit_names_the_notebook_cell() -> None:
    root = ET.fromstring(junit.render(hostile()))
    suite = next(s for s in root.iter("testsuite") if s.get("name") == "notebooks/eda.ipynb")
    (case,) = suite.iter("testcase")
    assert case.get("name") == "MLD201 commented-out-code at cell 3, 1:1"
    assert case.get("line") is None


def test_junit_of_an_empty_run_shows_the_clean_files() -> None:
    root = ET.fromstring(junit.render(empty()))
    assert (root.get("tests"), root.get("failures")) == ("1", "0")


# several formats from one analysis --------------------------------------------------------------


def test_write_reports_writes_every_format_from_one_result(
    fixture_result: AnalysisResult, tmp_path: Path
) -> None:
    outputs = {fmt: tmp_path / "reports" / f"mldebt.{fmt}" for fmt in (*MACHINE_FORMATS, "json")}
    write_reports(fixture_result, outputs)
    for fmt, path in outputs.items():
        assert path.read_text(encoding="utf-8") == render(fmt, fixture_result)
    assert sorted(p.name for p in (tmp_path / "reports").iterdir()) == sorted(
        p.name for p in outputs.values()
    )  # no temporary files left behind


def test_written_reports_are_as_readable_as_any_new_file(tmp_path: Path) -> None:
    kept = tmp_path / "kept.xml"
    kept.write_text("old", encoding="utf-8")
    kept.chmod(0o640)
    umask = os.umask(0o022)
    try:
        write_reports(empty(), {"sarif": tmp_path / "new.sarif", "junit": kept})
    finally:
        os.umask(umask)
    assert (tmp_path / "new.sarif").stat().st_mode & 0o777 == 0o644  # not mkstemp's 0o600
    assert kept.stat().st_mode & 0o777 == 0o640  # an existing file keeps its mode


def test_write_reports_refuses_an_unknown_format_and_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="unknown report format 'xml'"):
        write_reports(empty(), {"sarif": tmp_path / "a.sarif", "xml": tmp_path / "a.xml"})
    assert list(tmp_path.iterdir()) == []


def test_write_reports_refuses_two_formats_into_one_file(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="would both be written"):
        write_reports(empty(), {"sarif": tmp_path / "a", "junit": tmp_path / "." / "a"})
    assert list(tmp_path.iterdir()) == []


def test_write_reports_says_which_path_cannot_be_written(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("", encoding="utf-8")
    with pytest.raises(ReportError, match=r"cannot write .*not-a-folder"):
        write_reports(empty(), {"junit": blocker / "report.xml"})
