"""Configuration: ``[tool.mldebt]`` in pyproject.toml or ``mldebt.toml``, found by walking up
from the analysed path; every mistake exits 2 with a message naming the key and the file."""

from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from mldebt.api import analyse
from mldebt.cli import main
from mldebt.config import Config, ConfigError, load_config, resolve_rules
from mldebt.findings import Severity
from mldebt.registry import Registry, load_registry
from mldebt.rule import BAD, GOOD, FileRule

# One file per rule we lean on: a debt marker (MLD701, info) and commented-out code (MLD201).
MARKER = "import pandas as pd\n\n# TODO: drop the duplicated rows\ndf = pd.read_csv('a.csv')\n"
COMMENTED = (
    "def fit(model, X, y):\n    # model.fit(X, y)\n    # model.save('m.pkl')\n    return 1\n"
)
#: For the tests about other keys: only the rules we lean on (and the analysis rules) run, so
#: what rules added later find in MARKER (it reads a CSV) does not change the findings or gates.
SELECT = "select = ['analysis', 'MLD201', 'MLD701']\n"


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str


def mldebt(*args: str | Path) -> Run:
    """Run the command line in-process; an uncaught exception would fail the test here."""
    result = CliRunner().invoke(main, [str(a) for a in args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Run(result.exit_code, result.stdout, result.stderr)


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return root


def pyproject(settings: str) -> str:
    """A pyproject.toml holding mldebt.toml-style ``settings`` (their tables nested)."""
    lines = [
        line.replace("[", "[tool.mldebt.", 1) if line.startswith("[") else line
        for line in textwrap.dedent(settings).splitlines()
    ]
    return "[project]\nname = 'churn'\n\n[tool.mldebt]\n" + "\n".join(lines) + "\n"


def rules_found(root: Path, *paths: str) -> list[tuple[str, str]]:
    targets = [root / p for p in paths] or [root]
    result = analyse(targets, use_cache=False, jobs=1)
    return [(f.path, f.rule) for f in result.findings]


def effective(*args: str | Path) -> dict[str, object]:
    run = mldebt("config", *args)
    assert run.code == 0, run.stderr
    data: dict[str, object] = json.loads(run.stdout)
    return data


# finding the file ----------------------------------------------------------------------------


def test_pyproject_is_found_walking_up_from_the_analysed_folder(tmp_path: Path) -> None:
    write(tmp_path, {"pyproject.toml": pyproject(SELECT + "ignore = ['MLD701']\n")})
    write(tmp_path, {"src/pipeline/clean.py": MARKER + COMMENTED})
    data = effective(tmp_path / "src" / "pipeline")
    assert data["config-file"] == str(tmp_path / "pyproject.toml")
    assert data["root"] == str(tmp_path)
    assert rules_found(tmp_path, "src/pipeline") == [("src/pipeline/clean.py", "MLD201")]


def test_a_pyproject_without_a_tool_mldebt_table_is_passed_over(tmp_path: Path) -> None:
    write(tmp_path, {"pyproject.toml": pyproject("ignore = ['MLD201']\n")})
    write(tmp_path, {"pkg/pyproject.toml": "[project]\nname = 'pkg'\n", "pkg/a.py": COMMENTED})
    assert effective(tmp_path / "pkg")["config-file"] == str(tmp_path / "pyproject.toml")


def test_mldebt_toml_holds_the_settings_at_its_top_level(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "mldebt.toml": """
                ignore = ["MLD201"]

                [options.debt-marker]
                markers = ["NOTE"]
            """,
            "a.py": "# NOTE: the scaler is refit here\n# TODO: not a marker any more\n",
        },
    )
    assert [(f.rule, f.line) for f in analyse([tmp_path], use_cache=False).findings] == [
        ("MLD701", 1)
    ]


def test_mldebt_toml_wins_over_pyproject_in_the_same_folder(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "pyproject.toml": pyproject("ignore = ['MLD201']\n"),
            "mldebt.toml": "ignore = ['MLD701']\n",
        },
    )
    data = effective(tmp_path)
    assert data["config-file"] == str(tmp_path / "mldebt.toml")
    assert data["ignore"] == ["MLD701"]


def test_without_a_file_the_defaults_apply_and_the_root_is_the_folder(tmp_path: Path) -> None:
    config = load_config(tmp_path)
    assert config.source is None and config.root == tmp_path.resolve()
    assert config.fail_on == "warning" and config.select is None and ".venv" in config.exclude


def test_config_file_names_a_file_explicitly(tmp_path: Path) -> None:
    strict = SELECT + "fail-on = 'info'\n"
    write(tmp_path, {"mldebt.toml": SELECT, "ci/strict.toml": strict, "a.py": MARKER})
    assert mldebt("check", "--no-cache", tmp_path).code == 0  # info does not fail by default
    assert (
        mldebt("check", "--no-cache", "--config", tmp_path / "ci/strict.toml", tmp_path).code == 1
    )


# what each key does --------------------------------------------------------------------------


def test_select_enables_only_the_named_rules(tmp_path: Path) -> None:
    write(
        tmp_path, {"pyproject.toml": pyproject("select = ['MLD201']\n"), "a.py": MARKER + COMMENTED}
    )
    assert rules_found(tmp_path) == [("a.py", "MLD201")]


def test_select_takes_categories_and_code_prefixes(tmp_path: Path) -> None:
    write(tmp_path, {"a.py": MARKER + COMMENTED})
    for selector in ("self-admitted-debt", "MLD7", "debt-marker"):
        write(tmp_path, {"mldebt.toml": f"select = ['{selector}']\n"})
        assert rules_found(tmp_path) == [("a.py", "MLD701")], selector


def test_extend_select_adds_to_the_selection(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "mldebt.toml": "select = ['MLD201']\nextend-select = ['MLD701']\n",
            "a.py": MARKER + COMMENTED,
        },
    )
    assert sorted(rules_found(tmp_path)) == [("a.py", "MLD201"), ("a.py", "MLD701")]


def test_ignore_wins_over_select(tmp_path: Path) -> None:
    write(
        tmp_path,
        {"mldebt.toml": "select = ['MLD701']\nignore = ['self-admitted-debt']\n", "a.py": MARKER},
    )
    assert rules_found(tmp_path) == []


def test_per_file_ignores_match_globs_relative_to_the_root(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "mldebt.toml": SELECT
            + """
                [per-file-ignores]
                "tests/*" = ["MLD701"]
                "notebooks/**/*.py" = ["dead-experimental-code"]
                "scratch_*.py" = ["MLD"]
            """,
            "tests/test_a.py": MARKER + COMMENTED,
            "notebooks/old/b.py": MARKER + COMMENTED,
            "lib/scratch_c.py": MARKER + COMMENTED,
            "d.py": MARKER,
        },
    )
    assert sorted(rules_found(tmp_path)) == [
        ("d.py", "MLD701"),
        ("notebooks/old/b.py", "MLD701"),
        ("tests/test_a.py", "MLD201"),
    ]


def test_exclude_replaces_and_extend_exclude_adds_patterns(tmp_path: Path) -> None:
    files = {"a.py": MARKER, "legacy/b.py": MARKER, "build/c.py": MARKER}
    write(tmp_path, {**files, "mldebt.toml": SELECT + "extend-exclude = ['legacy/']\n"})
    assert [p for p, _ in rules_found(tmp_path)] == ["a.py"]  # build/ is a default exclude
    write(tmp_path, {"mldebt.toml": SELECT + "exclude = ['legacy/']\n"})
    assert [p for p, _ in rules_found(tmp_path)] == ["a.py", "build/c.py"]


def test_respect_gitignore_can_be_switched_off(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    write(tmp_path, {".gitignore": "generated/\n", "generated/g.py": MARKER, "a.py": MARKER})
    write(tmp_path, {"mldebt.toml": SELECT})
    assert [p for p, _ in rules_found(tmp_path)] == ["a.py"]
    write(tmp_path, {"mldebt.toml": SELECT + "respect-gitignore = false\n"})
    assert [p for p, _ in rules_found(tmp_path)] == ["a.py", "generated/g.py"]


def test_severity_overrides_take_the_most_precise_selector(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "mldebt.toml": SELECT
            + """
                [severity]
                ALL = "info"
                dead-experimental-code = "warning"
                MLD701 = "error"
            """,
            "a.py": MARKER + COMMENTED,
        },
    )
    result = analyse([tmp_path], use_cache=False)
    assert {f.rule: f.severity for f in result.findings} == {
        "MLD201": Severity.WARNING,
        "MLD701": Severity.ERROR,
    }


def test_rule_options_are_set_by_code_or_name(tmp_path: Path) -> None:
    write(tmp_path, {"a.py": "# KLUDGE: a\n# NOTE: b\n"})
    for key in ("MLD701", "debt-marker"):
        write(
            tmp_path,
            {"pyproject.toml": pyproject(f"[options.{key}]\nmarkers = ['NOTE']\n")},
        )
        assert [f.line for f in analyse([tmp_path], use_cache=False).findings] == [2], key


def test_fail_on_in_the_file_sets_the_gate(tmp_path: Path) -> None:
    write(tmp_path, {"mldebt.toml": SELECT, "a.py": MARKER})  # one info finding
    assert mldebt("check", "--no-cache", tmp_path).code == 0
    write(tmp_path, {"mldebt.toml": SELECT + "fail-on = 'info'\n"})
    assert mldebt("check", "--no-cache", tmp_path).code == 1


class _PreviewRule(FileRule):
    code = "TST900"
    name = "preview-only"
    category = "glue-code"
    status = "preview"
    summary = what = why = limits = "A rule still in preview, for this test."
    examples = (BAD("x = 1\n"), GOOD("y = 2\n"))


def test_preview_rules_need_preview_or_their_exact_code() -> None:
    registry = Registry()
    registry.add(_PreviewRule, "test")
    root = Path(".")

    def codes(config: Config) -> list[str]:
        return [e.rule.code for e in resolve_rules(config, registry)]

    assert codes(Config(root=root)) == []
    assert codes(Config(root=root, select=["glue-code"])) == []
    assert codes(Config(root=root, preview=True)) == ["TST900"]
    assert codes(Config(root=root, select=["TST900"])) == ["TST900"]
    assert codes(Config(root=root, extend_select=["preview-only"])) == ["TST900"]


# command-line flags win over the file --------------------------------------------------------


def test_cli_select_replaces_the_file_selection_including_its_ignores(tmp_path: Path) -> None:
    write(tmp_path, {"mldebt.toml": "select = ['MLD201']\nignore = ['MLD701']\n", "a.py": MARKER})
    data = effective(tmp_path, "--select", "MLD701")
    assert (data["select"], data["ignore"]) == (["MLD701"], [])
    run = mldebt("check", "--no-cache", "--select", "MLD701", tmp_path)
    assert "MLD701 [debt-marker]" in run.stdout


def test_cli_ignore_and_extend_select_add_to_the_file(tmp_path: Path) -> None:
    write(tmp_path, {"mldebt.toml": "select = ['MLD201']\nignore = ['MLD001']\n"})
    data = effective(tmp_path, "--ignore", "MLD002,MLD003", "--extend-select", "MLD701")
    assert data["ignore"] == ["MLD001", "MLD002", "MLD003"]
    assert data["extend-select"] == ["MLD701"]
    enabled = [rule["code"] for rule in data["enabled-rules"]]  # type: ignore[attr-defined]
    assert enabled == ["MLD005", "MLD201", "MLD701"]  # internal-error is on unless ignored


def test_internal_error_stays_on_unless_ignored_by_its_own_code(tmp_path: Path) -> None:
    write(tmp_path, {"mldebt.toml": "select = ['MLD201']\n"})
    enabled = [r["code"] for r in effective(tmp_path)["enabled-rules"]]  # type: ignore[attr-defined]
    assert enabled == ["MLD005", "MLD201"]
    data = effective(tmp_path, "--ignore", "internal-error")
    assert [r["code"] for r in data["enabled-rules"]] == ["MLD201"]  # type: ignore[attr-defined]


def test_cli_fail_on_and_exclude_override_the_file(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "mldebt.toml": SELECT + "fail-on = 'info'\nexclude = ['old/']\n",
            "a.py": MARKER,
            "old/b.py": MARKER,
        },
    )
    assert mldebt("check", "--no-cache", tmp_path).code == 1
    assert mldebt("check", "--no-cache", "--fail-on", "warning", tmp_path).code == 0
    data = effective(tmp_path, "--exclude", "a.py", "--no-preview")
    assert (data["exclude"], data["preview"]) == (["a.py"], False)


def test_cli_respect_gitignore_overrides_the_file(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    write(tmp_path, {"mldebt.toml": "respect-gitignore = false\n", ".gitignore": "gen/\n"})
    write(tmp_path, {"gen/g.py": MARKER})
    assert effective(tmp_path)["respect-gitignore"] is False
    assert effective(tmp_path, "--respect-gitignore")["respect-gitignore"] is True
    assert "gen/g.py" in mldebt("check", "--no-cache", tmp_path).stdout
    assert mldebt("check", "--no-cache", "--respect-gitignore", tmp_path).stdout == (
        "No debt found in 0 files.\n"
    )


def test_mldebt_config_prints_the_effective_configuration(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "pyproject.toml": pyproject("""
                fail-on = "error"
                [severity]
                MLD201 = "error"
                [options.debt-marker]
                markers = ["TODO"]
            """),
        },
    )
    data = effective(tmp_path)
    assert data["fail-on"] == "error"
    assert data["severity"] == {"MLD201": "error"}
    rules = {rule["code"]: rule for rule in data["enabled-rules"]}  # type: ignore[attr-defined]
    assert rules["MLD201"]["severity"] == "error"
    assert rules["MLD701"]["options"] == {"markers": ["TODO"]}
    stable = {r.code for r in load_registry().sorted() if r.status != "preview"}
    assert set(rules) == stable  # every rule but those in preview is on by default


def test_mldebt_config_defaults_to_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, {"mldebt.toml": "preview = true\n"})
    monkeypatch.chdir(tmp_path)
    assert effective()["preview"] is True


# mistakes: exit 2, a message naming the key and the file, no traceback -----------------------

MISTAKES = {
    "unknown key": ("colour = true\n", "unknown key 'colour'"),
    "underscore spelling": ("extend_select = ['MLD201']\n", "did you mean 'extend-select'?"),
    "unknown code in select": ("select = ['MLD999']\n", "'MLD999' in 'select'"),
    "unknown name in ignore": ("ignore = ['todo-comment']\n", "'todo-comment' in 'ignore'"),
    "unknown code in extend-select": ("extend-select = ['XYZ1']\n", "'XYZ1' in 'extend-select'"),
    "unknown code in per-file-ignores": (
        "[per-file-ignores]\n'tests/*' = ['MLD7011']\n",
        "'MLD7011' in 'per-file-ignores.tests/*'",
    ),
    "unknown code in severity": ("[severity]\nMLD999 = 'error'\n", "'MLD999' in 'severity'"),
    "unknown rule in options": ("[options.MLD999]\nx = 1\n", "'MLD999' in 'options'"),
    "options for a category": ("[options.self-admitted-debt]\nx = 1\n", "in 'options'"),
    "unknown option": ("[options.debt-marker]\nwords = ['NOTE']\n", "'options.debt-marker.words'"),
    "select not a list": ("select = 'MLD201'\n", "'select' must be a list of strings"),
    "ignore holds a number": ("ignore = [201]\n", "'ignore' must be a list of strings"),
    "exclude not a list": ("exclude = 'build'\n", "'exclude' must be a list of strings"),
    "extend-exclude bad pattern": ("extend-exclude = ['!']\n", "invalid pattern '!'"),
    "per-file-ignores not a table": ("per-file-ignores = ['x']\n", "'per-file-ignores' must be"),
    "per-file-ignores value": (
        "[per-file-ignores]\n'a.py' = 'MLD201'\n",
        "'per-file-ignores.a.py'",
    ),
    "severity level": ("[severity]\nMLD201 = 'fatal'\n", "'severity.MLD201' must be"),
    "severity not a table": ("severity = 'error'\n", "'severity' must be"),
    "options not a table": ("[options]\ndebt-marker = 3\n", "'options.debt-marker' must be"),
    "option type": ("[options.MLD701]\nmarkers = 'TODO'\n", "'options.MLD701.markers' must be"),
    "option list items": ("[options.MLD701]\nmarkers = [1]\n", "a list of strings, got [1]"),
    "fail-on value": ("fail-on = 'critical'\n", "'fail-on' must be one of"),
    "fail-on type": ("fail-on = 2\n", "'fail-on' must be one of"),
    "preview type": ("preview = 'yes'\n", "'preview' must be true or false"),
    "respect-gitignore type": ("respect-gitignore = 1\n", "'respect-gitignore' must be true or"),
    "invalid TOML": ("select = [\n", "invalid TOML"),
}


@pytest.mark.parametrize(("settings", "expected"), MISTAKES.values(), ids=MISTAKES.keys())
@pytest.mark.parametrize("file_name", ["mldebt.toml", "pyproject.toml"])
def test_a_mistake_exits_2_naming_the_key_and_the_file(
    tmp_path: Path, file_name: str, settings: str, expected: str
) -> None:
    text = pyproject(settings) if file_name == "pyproject.toml" else settings
    write(tmp_path, {file_name: text, "a.py": MARKER})
    for command in ("check", "config"):
        run = mldebt(command, tmp_path)
        assert run.code == 2, run.stdout
        assert run.stdout == ""
        assert run.stderr.startswith(f"mldebt: error: {tmp_path / file_name}: "), run.stderr
        assert expected in run.stderr
        assert len(run.stderr.splitlines()) == 1


def test_a_config_file_that_is_not_utf8_exits_2(tmp_path: Path) -> None:
    (tmp_path / "mldebt.toml").write_bytes(b"select = ['\xff']\n")
    run = mldebt("check", tmp_path)
    assert run.code == 2 and "invalid TOML" in run.stderr and "mldebt.toml" in run.stderr


@pytest.mark.parametrize(
    "text",
    ["[tool]\nmldebt = 3\n", "tool = 3\n"],
    ids=["tool.mldebt not a table", "tool not a table"],
)
def test_a_malformed_tool_table_given_with_config_exits_2(tmp_path: Path, text: str) -> None:
    write(tmp_path, {"pyproject.toml": text})
    run = mldebt("check", "--config", tmp_path / "pyproject.toml", tmp_path)
    assert run.code == 2 and "must be a table" in run.stderr


def test_a_missing_config_file_exits_2(tmp_path: Path) -> None:
    run = mldebt("check", "--config", tmp_path / "nope.toml", tmp_path)
    assert run.code == 2 and "nope.toml: configuration file not found" in run.stderr


@pytest.mark.parametrize(
    ("flag", "value", "expected"),
    [
        ("--select", "MLD999", "command line: unknown rule code or name 'MLD999' in '--select'"),
        ("--ignore", "nope", "command line: unknown rule code or name 'nope' in '--ignore'"),
        ("--extend-select", "X1", "'X1' in '--extend-select'"),
        ("--extend-exclude", "!", "'--extend-exclude' has an invalid pattern '!'"),
    ],
)
def test_a_bad_flag_is_blamed_on_the_command_line_not_the_file(
    tmp_path: Path, flag: str, value: str, expected: str
) -> None:
    write(tmp_path, {"mldebt.toml": "select = ['MLD201']\n", "a.py": MARKER})
    run = mldebt("check", flag, value, tmp_path)
    assert run.code == 2
    assert expected in run.stderr and "mldebt.toml" not in run.stderr


def test_the_api_raises_config_error_for_the_same_mistakes(tmp_path: Path) -> None:
    write(tmp_path, {"mldebt.toml": "select = ['MLD999']\n", "a.py": MARKER})
    with pytest.raises(ConfigError, match="MLD999"):
        analyse([tmp_path], use_cache=False)
