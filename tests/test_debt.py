"""The debt model: remediation totals, the debt ratio and its A-E rating, churn and hotspots."""

from __future__ import annotations

import os
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from mldebt import analyse
from mldebt.config import apply_overrides, load_config
from mldebt.debt import (
    MINUTES_PER_LINE,
    Total,
    ancestors,
    build,
    debt_ratio,
    git_churn,
    lines_of_code,
    of_result,
    rating,
)
from mldebt.findings import Finding, Severity
from mldebt.registry import load_registry


def finding(
    path: str,
    minutes: float,
    *,
    rule: str = "MLD701",
    category: str = "self-admitted-debt",
    severity: Severity = Severity.INFO,
    line: int = 1,
) -> Finding:
    return Finding(
        rule=rule,
        name="debt-marker",
        category=category,
        severity=severity,
        path=path,
        line=line,
        column=1,
        end_line=line,
        end_column=None,
        message="TODO comment",
        debt_minutes=minutes,
        fingerprint=f"{path}:{line}:{rule}",
    )


# ratio and rating ---------------------------------------------------------------------------


def test_the_ratio_is_remediation_time_over_thirty_minutes_a_line() -> None:
    assert MINUTES_PER_LINE == 30
    assert debt_ratio(15, 10) == pytest.approx(0.05)
    assert debt_ratio(300, 100) == pytest.approx(0.1)


def test_no_code_and_no_debt_is_a_zero_ratio_but_debt_without_code_has_none() -> None:
    assert debt_ratio(0, 0) == 0.0
    assert debt_ratio(5, 0) is None
    assert rating(None) is None


@pytest.mark.parametrize(
    ("ratio", "letter"),
    [
        (0.0, "A"),
        (0.05, "A"),
        (0.0501, "B"),
        (0.10, "B"),
        (0.1001, "C"),
        (0.20, "C"),
        (0.2001, "D"),
        (0.50, "D"),
        (0.5001, "E"),
        (3.0, "E"),
    ],
)
def test_ratings_follow_sonarqubes_grid(ratio: float, letter: str) -> None:
    assert rating(ratio) == letter


def test_a_ratio_exactly_on_a_boundary_gets_the_better_letter() -> None:
    # 15 minutes on 10 lines is 5 % whatever floating point makes of 15 / 300.
    assert rating(debt_ratio(15, 10)) == "A"
    assert rating(debt_ratio(60, 20)) == "B"


# totals -------------------------------------------------------------------------------------


def test_totals_per_category_severity_and_rule() -> None:
    findings = [
        finding("a.py", 10),
        finding("a.py", 10, line=2),
        finding(
            "b.py",
            6.5,
            rule="MLD201",
            category="dead-experimental-code",
            severity=Severity.WARNING,
        ),
        finding("c.py", 5, rule="MLD001", category="analysis", severity=Severity.ERROR),
    ]
    model = build(findings, {"a.py": 100, "b.py": 50, "c.py": 0})
    assert model.debt_minutes == 31.5
    assert model.findings == 4
    # Categories in the taxonomy's order, severities most severe first, rules most debt first.
    assert model.by_category == [
        Total("dead-experimental-code", 1, 6.5),
        Total("self-admitted-debt", 2, 20.0),
        Total("analysis", 1, 5.0),
    ]
    assert model.by_severity == [
        Total("error", 1, 5.0),
        Total("warning", 1, 6.5),
        Total("info", 2, 20.0),
    ]
    assert [t.key for t in model.by_rule] == ["MLD701", "MLD201", "MLD001"]


def test_the_project_ratio_uses_all_lines_of_code() -> None:
    model = build([finding("a.py", 45)], {"a.py": 10, "b.py": 20})
    assert model.lines_of_code == 30
    assert model.ratio == pytest.approx(45 / 900)
    assert model.rating == "A"


def test_files_without_findings_count_towards_lines_and_are_listed() -> None:
    model = build([], {}, files=["clean.py"])
    [clean] = model.files
    assert (clean.path, clean.findings, clean.debt_minutes, clean.rating) == (
        "clean.py",
        0,
        0.0,
        "A",
    )


def test_each_file_gets_its_own_debt_ratio_and_rating() -> None:
    model = build(
        [finding("good.py", 10), finding("bad.py", 10), finding("bad.py", 10, line=2)],
        {"good.py": 400, "bad.py": 2},
    )
    by_path = {f.path: f for f in model.files}
    assert by_path["good.py"].rating == "A"
    assert by_path["bad.py"].ratio == pytest.approx(20 / 60)
    assert by_path["bad.py"].rating == "D"
    assert by_path["bad.py"].by_severity == {"info": 2}


def test_a_file_that_did_not_parse_has_debt_but_no_rating() -> None:
    model = build([finding("broken.py", 5)], {})
    assert model.files[0].ratio is None
    assert model.files[0].rating is None


def test_folder_totals_include_every_file_below_the_folder() -> None:
    model = build(
        [finding("a/x.py", 10), finding("a/b/y.py", 20), finding("top.py", 40)],
        {"a/x.py": 10, "a/b/y.py": 10, "a/b/z.py": 5, "top.py": 10},
    )
    folders = {f.path: f for f in model.folders}
    assert set(folders) == {"a", "a/b"}
    assert (folders["a"].files, folders["a"].debt_minutes, folders["a"].lines_of_code) == (
        3,
        30.0,
        25,
    )
    assert (folders["a/b"].files, folders["a/b"].debt_minutes) == (2, 20.0)
    assert ancestors("a/b/c") == ["a", "a/b", "a/b/c"]
    assert ancestors("") == []


# hotspots -----------------------------------------------------------------------------------


def test_hotspots_rank_debt_times_churn() -> None:
    findings = [finding("calm.py", 60), finding("busy.py", 10), finding("new.py", 30)]
    churn = {"calm.py": 1, "busy.py": 12, "clean.py": 40}
    model = build(findings, {}, files=["clean.py"], churn=churn, churn_days=90)
    assert model.churn_measured
    assert [(f.path, f.hotspot) for f in model.hotspots] == [
        ("busy.py", 120.0),
        ("calm.py", 60.0),
    ]
    # A file that did not change, or that has no debt, is no hotspot.
    assert model.file("new.py") is not None and model.file("new.py").churn == 0  # type: ignore[union-attr]
    assert "clean.py" not in [f.path for f in model.hotspots]


def test_without_churn_there_are_no_hotspots() -> None:
    model = build([finding("a.py", 10)], {"a.py": 10}, churn=None, churn_days=90)
    assert not model.churn_measured
    assert model.churn_days is None
    assert model.files[0].churn is None
    assert model.files[0].hotspot is None
    assert model.hotspots == []


# churn from git -----------------------------------------------------------------------------

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git(repo: Path, *args: str, when: datetime | None = None) -> None:
    env = {**os.environ, **GIT_ENV}
    if when is not None:
        stamp = when.strftime("%Y-%m-%dT%H:%M:%S+0000")
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = stamp
    subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)


def commit(repo: Path, files: dict[str, str], when: datetime | None = None) -> None:
    for name, text in files.items():
        path = repo / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        git(repo, "add", "--", name)
    git(repo, "commit", "-q", "-m", "change", when=when)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    git(tmp_path, "init", "-q")
    return tmp_path


def test_churn_counts_the_commits_that_touched_each_file(repo: Path) -> None:
    commit(repo, {"a.py": "1", "b.py": "1"})
    commit(repo, {"a.py": "2"})
    commit(repo, {"a.py": "3", "pkg/c.py": "1"})
    assert git_churn(repo) == {"a.py": 3, "b.py": 1, "pkg/c.py": 1}


def test_churn_only_counts_commits_inside_the_window(repo: Path) -> None:
    now = datetime.now(timezone.utc)
    commit(repo, {"old.py": "1", "both.py": "1"}, when=now - timedelta(days=200))
    commit(repo, {"both.py": "2"}, when=now - timedelta(days=10))
    assert git_churn(repo, days=90) == {"both.py": 1}
    assert git_churn(repo, days=365) == {"old.py": 1, "both.py": 2}


def test_churn_paths_are_relative_to_the_analysed_folder(repo: Path) -> None:
    commit(repo, {"outside.py": "1", "project/src/model.py": "1"})
    assert git_churn(repo / "project") == {"src/model.py": 1}


def test_churn_keeps_unusual_file_names_as_they_are(repo: Path) -> None:
    name = "<b>x</b> ü.py"
    commit(repo, {name: "1"})
    assert git_churn(repo) == {name: 1}


def test_no_churn_outside_a_git_work_tree(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("x = 1\n", encoding="utf-8")
    ceiling = {"GIT_CEILING_DIRECTORIES": str(tmp_path.parent)}
    with pytest.MonkeyPatch.context() as patch:
        for key, value in ceiling.items():
            patch.setenv(key, value)
        assert git_churn(tmp_path) is None


def test_no_churn_when_git_cannot_be_run(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    commit(repo, {"a.py": "1"})
    monkeypatch.setenv("PATH", str(repo / "no-such-bin"))
    assert git_churn(repo) is None


# from an analysis ---------------------------------------------------------------------------


def test_the_model_of_an_analysis_uses_rule_remediation_and_module_facts(repo: Path) -> None:
    source = (
        "import os\n\n\ndef f():\n    # TODO: one\n    # x = f()\n    # y = x + 1\n    return 1\n"
    )
    commit(repo, {"pkg/mod.py": source, "main.py": "import pkg.mod\n"})
    registry = load_registry()
    config = apply_overrides(load_config(repo), registry, select=["MLD201", "MLD701"])
    result = analyse([repo], config, jobs=1, use_cache=False)
    model = of_result(result)

    expected = {f.rule: registry.rules[f.rule] for f in result.findings}
    assert set(expected) == {"MLD701", "MLD201"}
    marker, block = expected["MLD701"].remediation(1), expected["MLD201"].remediation(2)
    assert model.debt_minutes == marker + block
    # lines of code: neither blank nor only a comment (the three comment lines do not count)
    assert lines_of_code(result) == {"pkg/mod.py": 3, "main.py": 1}
    assert model.lines_of_code == result.summary.lines_of_code == 4
    assert model.file("pkg/mod.py").churn == 1  # type: ignore[union-attr]
    assert [f.path for f in model.hotspots] == ["pkg/mod.py"]


def test_churn_can_be_left_out(repo: Path) -> None:
    commit(repo, {"a.py": "# TODO: x\n"})
    config = apply_overrides(load_config(repo), load_registry(), select=["MLD701"])
    model = of_result(analyse([repo], config, jobs=1, use_cache=False), churn_days=None)
    assert not model.churn_measured
