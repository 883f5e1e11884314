"""Precision and recall of every labelled rule on the realistic fixture projects.

Each ``fixtures/<project>/labels.toml`` lists the ``[[finding]]``s a good tool must report
and ``[[clean]]`` look-alikes it must leave alone (format: ``mldebt.labels``). Each project
is analysed as ``mldebt check`` would, with preview rules on; then, per rule that is both
labelled and registered, findings are matched one to one with the labels and precision and
recall must reach the thresholds below. Labelled rules that are not registered yet are
skipped and listed. Run with ``-s`` to see the per-rule table.

The labels are believed: a failure means a rule misses a planted smell or flags something
else, and the message lists each case.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from mldebt.api import analyse
from mldebt.config import Config, load_config
from mldebt.findings import Finding, Severity
from mldebt.labels import (
    Label,
    LabelError,
    Reported,
    Score,
    check_positions,
    load_labels,
    score_rule,
    table,
)
from mldebt.registry import load_registry

MIN_PRECISION = 0.9
MIN_RECALL = 0.9

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
PROJECTS = sorted(p for p in FIXTURES.iterdir() if (p / "labels.toml").is_file())
LABELS = [label for project in PROJECTS for label in load_labels(project)]
LABELLED_RULES = sorted({label.rule for label in LABELS})
REGISTERED = load_registry().rules
SCORED_RULES = [rule for rule in LABELLED_RULES if rule in REGISTERED]
UNREGISTERED = [rule for rule in LABELLED_RULES if rule not in REGISTERED]


def project_config(project: Path) -> Config:
    """The project's own configuration if it has one, else defaults; preview rules on."""
    config = load_config(project)
    if config.source is None or config.source.parent != project.resolve():
        config = Config(root=project)  # do not pick up the repository's own settings
    config.preview = True
    return config


@pytest.fixture(scope="module")
def reported() -> list[Reported]:
    found = []
    for project in PROJECTS:
        result = analyse([project], project_config(project), jobs=1, use_cache=False)
        found += [Reported(project.name, finding) for finding in result.findings]
    return found


@pytest.fixture(scope="module")
def scores(reported: list[Reported]) -> dict[str, Score]:
    result = {rule: score_rule(rule, reported, LABELS) for rule in SCORED_RULES}
    print(f"\nprecision / recall on {len(PROJECTS)} labelled fixtures", flush=True)
    print(table(result.values()))
    return result


def test_there_are_labelled_fixtures() -> None:
    assert len(PROJECTS) >= 3
    assert any(label.kind == "clean" for label in LABELS)


@pytest.mark.parametrize("project", PROJECTS, ids=lambda p: p.name)
def test_labels_point_at_real_lines(project: Path) -> None:
    assert check_positions(project, load_labels(project)) == []


def test_fixtures_parse_and_need_no_analysis_findings(reported: list[Reported]) -> None:
    problems = [str(r) for r in reported if r.finding.category == "analysis"]
    assert problems == []


@pytest.mark.parametrize("rule", SCORED_RULES)
def test_rule_reaches_precision_and_recall(rule: str, scores: dict[str, Score]) -> None:
    score = scores[rule]
    assert score.passes(MIN_PRECISION, MIN_RECALL), (
        f"{rule} below precision {MIN_PRECISION} / recall {MIN_RECALL}:\n{score.explain()}"
    )


def test_rules_not_registered_yet_are_not_scored() -> None:
    if UNREGISTERED:
        pytest.skip(f"labelled but not registered yet, not scored: {', '.join(UNREGISTERED)}")


# the scorer itself ---------------------------------------------------------------------------


def _finding(
    rule: str, path: str, line: int, end_line: int | None = None, cell: int | None = None
) -> Finding:
    return Finding(
        rule=rule,
        name="some-rule",
        category="ml-api-misuse",
        severity=Severity.WARNING,
        path=path,
        line=line,
        column=1,
        end_line=end_line or line,
        end_column=None,
        message="planted",
        debt_minutes=1.0,
        fingerprint="0",
        cell=cell,
    )


def _labels(tmp_path: Path, body: str) -> list[Label]:
    (tmp_path / "labels.toml").write_text(body)
    return load_labels(tmp_path)


FINDING = '[[finding]]\npath = "{path}"\nline = {line}\nrule = "MLD519"\nnote = "planted"\n'


def test_scorer_counts_hits_misses_and_false_positives(tmp_path: Path) -> None:
    labels = _labels(
        tmp_path,
        FINDING.format(path="a.py", line=3)
        + FINDING.format(path="a.py", line=9)
        + '[[clean]]\npath = "b.py"\nline = 4\nrule = "MLD519"\nnote = "look-alike"\n',
    )
    found = [
        Reported(tmp_path.name, _finding("MLD519", "a.py", 3)),
        Reported(tmp_path.name, _finding("MLD519", "b.py", 4)),
        Reported(tmp_path.name, _finding("MLD519", "c.py", 1)),
        Reported(tmp_path.name, _finding("MLD201", "a.py", 9)),  # another rule: not counted
    ]
    score = score_rule("MLD519", found, labels)
    assert (score.true_positives, len(score.false_positives), len(score.misses)) == (1, 2, 1)
    assert [label.line for label in score.misses] == [9]
    assert [r.finding.path for r, _ in score.on_clean] == ["b.py"]
    assert score.precision == pytest.approx(1 / 3)
    assert score.recall == pytest.approx(1 / 2)
    assert not score.passes(MIN_PRECISION, MIN_RECALL)


def test_a_finding_spanning_the_labelled_line_matches(tmp_path: Path) -> None:
    labels = _labels(tmp_path, FINDING.format(path="a.py", line=12))
    spanning = Reported(tmp_path.name, _finding("MLD519", "a.py", 10, end_line=14))
    beside = Reported(tmp_path.name, _finding("MLD519", "a.py", 13, end_line=14))
    assert score_rule("MLD519", [spanning], labels).true_positives == 1
    assert score_rule("MLD519", [beside], labels).true_positives == 0


def test_one_finding_cannot_satisfy_two_labels(tmp_path: Path) -> None:
    labels = _labels(
        tmp_path, FINDING.format(path="a.py", line=2) + FINDING.format(path="a.py", line=3)
    )
    wide = Reported(tmp_path.name, _finding("MLD519", "a.py", 1, end_line=5))
    score = score_rule("MLD519", [wide], labels)
    assert (score.true_positives, len(score.misses)) == (1, 1)


def test_a_notebook_label_matches_only_its_cell(tmp_path: Path) -> None:
    labels = _labels(
        tmp_path,
        '[[finding]]\npath = "eda.ipynb"\nline = 2\ncell = 4\nrule = "MLD519"\nnote = "x"\n',
    )
    right = Reported(tmp_path.name, _finding("MLD519", "eda.ipynb", 2, cell=4))
    wrong = Reported(tmp_path.name, _finding("MLD519", "eda.ipynb", 2, cell=5))
    assert score_rule("MLD519", [right], labels).true_positives == 1
    assert score_rule("MLD519", [wrong], labels).true_positives == 0


def test_a_wrong_label_makes_a_passing_score_fail(reported: list[Reported]) -> None:
    """Move one real MLD701 label of one project by a line: the same findings now fail."""
    if "MLD701" not in REGISTERED:
        pytest.skip("MLD701 is not registered")
    project = FIXTURES / "tabular_churn_kaggle"
    labels = load_labels(project)
    found = [r for r in reported if r.project == project.name]
    assert score_rule("MLD701", found, labels).passes(MIN_PRECISION, MIN_RECALL)
    first = next(
        i for i, lab in enumerate(labels) if lab.rule == "MLD701" and lab.kind == "finding"
    )
    moved = labels[first]
    labels[first] = replace(moved, line=moved.line + 1, end_line=moved.end_line + 1)
    score = score_rule("MLD701", found, labels)
    assert not score.passes(MIN_PRECISION, MIN_RECALL)
    assert score.misses == [labels[first]]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('[[finding]]\npath = "a.py"\nrule = "MLD519"\nnote = "x"\n', "missing 'line'"),
        ('[[finding]]\npath = "a.ipynb"\nline = 1\nrule = "MLD519"\nnote = "x"\n', "'cell'"),
        ('[[finding]]\npath = "a.py"\nline = "7"\nrule = "MLD519"\nnote = "x"\n', "must be int"),
        ('[[finding]]\npath = "a.py"\nline = 1\nrule = "leakage"\nnote = "x"\n', "rule code"),
        ('[[found]]\npath = "a.py"\n', "unknown tables"),
        ("[[finding]\n", "invalid TOML"),
    ],
)
def test_a_malformed_labels_file_is_named(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(LabelError, match=r"labels\.toml") as error:
        _labels(tmp_path, body)
    assert message in str(error.value)


def test_labels_pointing_nowhere_are_reported(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("x = 1\ny = 2\n")
    labels = _labels(
        tmp_path,
        FINDING.format(path="a.py", line=3)
        + FINDING.format(path="gone.py", line=1)
        + '[[clean]]\npath = "a.py"\nline = 1\nend_line = 2\nrule = "MLD519"\nnote = "x"\n'
        + FINDING.format(path="a.py", line=2),
    )
    problems = check_positions(tmp_path, labels)
    assert len(problems) == 3
    assert "past the end (2 lines)" in problems[0]
    assert "no such file" in problems[1]
    assert "both finding and clean" in problems[2]
