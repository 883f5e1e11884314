"""The command line end to end: output formats, exit codes, rule docs, the cache, determinism.

Most cases run the click app in-process (fast); the ones about processes, terminals and the
installed entry point run ``python -m mldebt`` for real.
"""

from __future__ import annotations

import json
import os
import pty
import re
import select
import shutil
import subprocess
import sys
import textwrap
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner

from mldebt import __version__
from mldebt.cli import main
from mldebt.registry import load_registry
from mldebt.testing import notebook_json

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "fixtures" / "demo"
SCHEMA_NAME = "mldebt-report.schema.json"
# The contract lives in shared/ beside the repository (beside CI's clone too); the copy in
# tests/schemas/ keeps the test running where shared/ is absent, and is checked against it.
SHARED_SCHEMA = ROOT.parent / "shared" / "schemas" / SCHEMA_NAME
SCHEMA_COPY = ROOT / "tests" / "schemas" / SCHEMA_NAME

MARKER = "import pandas as pd\n\n# TODO: drop the duplicated rows\ndf = pd.read_csv('a.csv')\n"
COMMENTED = (
    "def fit(model, X, y):\n    # model.fit(X, y)\n    # model.save('m.pkl')\n    return 1\n"
)
BROKEN = "def load(path):\n    return pd.read_csv(path\n"
#: What the sources above are written for: the comment rules and the tool's own. Tests that read
#: findings select these, so that what rules added later find in the same code changes nothing.
RULES = "analysis,MLD201,MLD701"
#: The codes those findings carry: a debt marker, commented-out code and a parse error.
CODES = {"MLD001", "MLD201", "MLD701"}
ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str


def mldebt(*args: str | Path) -> Run:
    """The command line, in-process; an uncaught exception fails the test right here."""
    result = CliRunner().invoke(main, [str(a) for a in args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Run(result.exit_code, result.stdout, result.stderr)


def check(*args: str | Path) -> Run:
    """``mldebt check --no-cache`` with only the rules above."""
    return mldebt("check", "--no-cache", "--select", RULES, *args)


def mldebt_process(*args: str | Path, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "MLDEBT_DEBUG")}
    return subprocess.run(
        [sys.executable, "-m", "mldebt", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        **kwargs,
    )


def project(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if rel.endswith(".ipynb") and not text.lstrip().startswith("{"):
            text = notebook_json(textwrap.dedent(text))
        path.write_text(text, encoding="utf-8")
    return root


def report_schema() -> dict[str, Any]:
    path = SHARED_SCHEMA if SHARED_SCHEMA.is_file() else SCHEMA_COPY
    schema: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return schema


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    """A private copy of the demo project (runs write a cache beside its configuration)."""
    return Path(shutil.copytree(DEMO, tmp_path / "demo"))


# --version -----------------------------------------------------------------------------------


def test_version_prints_the_package_version() -> None:
    run = mldebt_process("--version")
    assert run.returncode == 0
    assert run.stdout.strip() == f"mldebt, version {__version__}"


def test_the_console_script_is_installed() -> None:
    beside = Path(sys.executable).parent / "mldebt"
    script = str(beside) if beside.exists() else shutil.which("mldebt")
    assert script is not None
    run = subprocess.run([script, "--version"], capture_output=True, text=True, timeout=60)
    assert run.stdout.strip() == f"mldebt, version {__version__}"


# text output ---------------------------------------------------------------------------------


def test_text_output_is_one_line_per_finding_then_a_summary(tmp_path: Path) -> None:
    project(tmp_path, {"clean.py": MARKER, "train.py": COMMENTED, "utils/io.py": BROKEN})
    run = check(tmp_path)
    *findings, blank, summary = run.stdout.splitlines()
    assert findings[0] == (
        "clean.py:3:1: MLD701 [debt-marker] TODO comment: TODO: drop the duplicated rows"
    )
    assert findings[1].startswith("train.py:2:5: MLD201 [commented-out-code] ")
    assert (
        findings[2] == "utils/io.py:2:23: MLD001 [parse-error] syntax error: '(' was never closed"
    )
    assert blank == ""
    assert re.fullmatch(
        r"Found 3 findings \(1 error, 1 warning, 1 info\) in 3 files; estimated debt \d+min\.",
        summary,
    )
    assert run.stderr == ""


def test_a_notebook_finding_names_the_cell_and_the_line_inside_it(tmp_path: Path) -> None:
    cells = [
        {"cell_type": "markdown", "metadata": {}, "source": ["# Churn exploration\n"]},
        {"cell_type": "code", "metadata": {}, "outputs": [], "source": ["import pandas\n"]},
        {
            "cell_type": "code",
            "metadata": {},
            "outputs": [],
            "source": ["df = pandas.read_csv('a.csv')\n", "# FIXME: tenure is in days\n"],
        },
    ]
    notebook = {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    project(tmp_path, {"explore.ipynb": json.dumps(notebook)})
    run = check(tmp_path)
    assert run.stdout.splitlines()[0] == (
        "explore.ipynb:cell 3:2:1: MLD701 [debt-marker] FIXME comment: FIXME: tenure is in days"
    )


def test_a_clean_project_says_so(tmp_path: Path) -> None:
    project(tmp_path, {"a.py": "x = 1\n", "b.py": "y = 2\n"})
    run = check(tmp_path)
    assert (run.code, run.stdout) == (0, "No debt found in 2 files.\n")


def test_quiet_prints_the_findings_without_the_summary(tmp_path: Path) -> None:
    project(tmp_path, {"a.py": COMMENTED})
    run = check("-q", tmp_path)
    assert run.code == 1
    assert len(run.stdout.splitlines()) == 1
    assert run.stdout.startswith("a.py:2:5: MLD201 [commented-out-code] ")


def test_statistics_counts_findings_per_rule(tmp_path: Path) -> None:
    project(tmp_path, {"a.py": MARKER + "# FIXME: b\n", "b.py": COMMENTED})
    run = check("--statistics", tmp_path)
    rows = [line.split() for line in run.stdout.splitlines()[:3]]
    assert rows[1][:3] == ["2", "MLD701", "debt-marker"]
    assert rows[2][:3] == ["1", "MLD201", "commented-out-code"]
    assert run.stdout.rstrip().endswith("min.")  # the findings and summary follow


def test_check_defaults_to_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project(tmp_path, {"pipeline/a.py": MARKER})
    monkeypatch.chdir(tmp_path)
    assert check().stdout.startswith("pipeline/a.py:3:1: MLD701")


# colour --------------------------------------------------------------------------------------


def _on_a_terminal(args: list[str], env: dict[str, str]) -> str:
    """Run with stdout on a pseudo-terminal and return what the terminal showed."""
    leader, follower = pty.openpty()
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "mldebt", *args],
            stdout=follower,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        os.close(follower)
        chunks = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 1.0)
            if not ready:
                if process.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the terminal closed: the process has gone
                break
            if not chunk:
                break
            chunks.append(chunk)
        process.wait(timeout=10)
    finally:
        os.close(leader)
    return b"".join(chunks).decode("utf-8", "replace")


def test_colour_only_on_a_terminal(tmp_path: Path) -> None:
    project(tmp_path, {"a.py": MARKER})
    args = ["check", "--no-cache", "--select", RULES, str(tmp_path)]
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    shown = _on_a_terminal(args, env)
    assert "MLD701" in shown and ANSI.search(shown)
    assert ANSI.sub("", shown).replace("\r\n", "\n").startswith("a.py:3:1: MLD701 [debt-marker]")

    piped = mldebt_process(*args)
    assert "MLD701" in piped.stdout and "\x1b" not in piped.stdout

    no_color = _on_a_terminal(args, {**env, "NO_COLOR": "1"})
    assert "MLD701" in no_color and "\x1b" not in no_color


# JSON ----------------------------------------------------------------------------------------


def test_the_report_schema_copy_matches_the_contract() -> None:
    copy = json.loads(SCHEMA_COPY.read_text(encoding="utf-8"))
    if SHARED_SCHEMA.is_file():
        assert copy == json.loads(SHARED_SCHEMA.read_text(encoding="utf-8"))
    else:
        assert copy["title"] == "mldebt JSON report"


def test_json_on_the_demo_project_is_valid_against_the_contract(demo: Path) -> None:
    run = mldebt("check", "--no-cache", "--format", "json", demo)
    assert run.code == 1
    document = json.loads(run.stdout)
    jsonschema.validate(document, report_schema())
    findings = document["findings"]
    assert {f["rule"] for f in findings} >= {"MLD001", "MLD201", "MLD701"}
    assert all("\\" not in f["path"] and not f["path"].startswith("/") for f in findings)
    notebook = [f for f in findings if f["path"].endswith(".ipynb")]
    assert notebook and all(f["cell"] >= 1 for f in notebook)
    assert all(f["cell"] is None for f in findings if f["path"].endswith(".py"))
    assert document["summary"]["findings"] == len(findings)
    assert document["tool"] == {"name": "mldebt", "version": __version__}


def test_json_of_a_clean_project_is_valid_too(tmp_path: Path) -> None:
    project(tmp_path, {"a.py": "x = 1\n"})
    run = check("--format", "json", tmp_path)
    document = json.loads(run.stdout)
    jsonschema.validate(document, report_schema())
    assert (run.code, document["findings"], document["summary"]["files"]) == (0, [], 1)


def test_output_writes_the_report_to_a_file(tmp_path: Path) -> None:
    project(tmp_path / "src", {"a.py": COMMENTED})
    target = tmp_path / "reports" / "debt.json"
    run = mldebt("check", "--no-cache", "--format", "json", "--output", target, tmp_path / "src")
    assert (run.code, run.stdout) == (1, "")
    printed = mldebt("check", "--no-cache", "--format", "json", tmp_path / "src").stdout
    assert target.read_text(encoding="utf-8") == printed
    assert [p.name for p in target.parent.iterdir()] == ["debt.json"]  # no temporary left


def test_an_output_that_cannot_be_written_exits_2(tmp_path: Path) -> None:
    project(tmp_path, {"a.py": "x = 1\n"})
    run = mldebt("check", "--no-cache", "--output", tmp_path / "a.py" / "report.txt", tmp_path)
    assert run.code == 2
    assert run.stderr.startswith("mldebt: error: cannot write ")


# exit codes ----------------------------------------------------------------------------------

# MARKER gives an info finding, COMMENTED a warning, BROKEN an error.
GATE = [
    ("info only, default gate (warning)", [MARKER], [], 0),
    ("info only, --fail-on info", [MARKER], ["--fail-on", "info"], 1),
    ("warning, default gate", [COMMENTED], [], 1),
    ("warning, --fail-on warning", [COMMENTED], ["--fail-on", "warning"], 1),
    ("warning, --fail-on error", [COMMENTED], ["--fail-on", "error"], 0),
    ("error, --fail-on error", [BROKEN], ["--fail-on", "error"], 1),
    ("error, --fail-on never", [BROKEN], ["--fail-on", "never"], 0),
    ("error, --exit-zero", [BROKEN], ["--exit-zero"], 0),
    ("nothing found", ["x = 1\n"], ["--fail-on", "info"], 0),
]


@pytest.mark.parametrize(
    ("sources", "flags", "expected"), [g[1:] for g in GATE], ids=[g[0] for g in GATE]
)
def test_exit_code_follows_the_gate(
    tmp_path: Path, sources: list[str], flags: list[str], expected: int
) -> None:
    project(tmp_path, {f"m{i}.py": text for i, text in enumerate(sources)})
    run = check(*flags, tmp_path)
    assert run.code == expected
    assert (run.stdout.count("\n") > 2) == (sources != ["x = 1\n"])  # findings still shown


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["check", "does/not/exist"], "does/not/exist: no such file or directory"),
        (["check", "--fail-on", "critical", "."], "Invalid value for '--fail-on'"),
        (["check", "--format", "xml", "."], "Invalid value for '--format'"),
        (["check", "--jobs", "-1", "."], "Invalid value for '-j' / '--jobs'"),
        (["check", "--no-such-flag"], "--no-such-flag"),
        (["explain", "MLD9999"], "no rule 'MLD9999'"),
        (["config", "does-not-exist"], "does not exist"),
        (["clean", "does-not-exist"], "does not exist"),
        (["no-such-command"], "No such command"),
    ],
)
def test_usage_errors_exit_2_with_a_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    run = mldebt(*args)
    assert run.code == 2
    assert message in run.stderr and run.stdout == ""


def test_errors_in_a_real_process_show_no_traceback(tmp_path: Path) -> None:
    (tmp_path / "mldebt.toml").write_text("select = ['MLD999']\n", encoding="utf-8")
    for args in (["check", tmp_path], ["check", tmp_path / "missing"], ["explain", "nope"]):
        run = mldebt_process(*args)
        assert run.returncode == 2
        assert run.stderr.startswith("mldebt: error: ") and "Traceback" not in run.stderr


# selection flags -----------------------------------------------------------------------------


def rules_reported(tmp_path: Path, *flags: str) -> set[str]:
    project(tmp_path, {"a.py": MARKER + COMMENTED})
    run = mldebt("check", "--no-cache", "--format", "json", *flags, tmp_path)
    return {f["rule"] for f in json.loads(run.stdout)["findings"]}


@pytest.mark.parametrize(
    ("flags", "rules"),
    [
        ([], {"MLD201", "MLD701"}),
        (["--select", "MLD201"], {"MLD201"}),
        (["--select", "self-admitted-debt"], {"MLD701"}),
        (["--ignore", "MLD201"], {"MLD701"}),
        (["--ignore", "MLD201,debt-marker"], set()),
        (["--ignore", "MLD201", "--ignore", "MLD701"], set()),
        (["--select", "MLD201", "--extend-select", "MLD7"], {"MLD201", "MLD701"}),
    ],
)
def test_selection_flags(tmp_path: Path, flags: list[str], rules: set[str]) -> None:
    # Judged on the two comment rules the file is written for: other rules that the default
    # selection, a category or a prefix takes in (now or later) may find more in the same file.
    assert rules_reported(tmp_path, *flags) & {"MLD201", "MLD701"} == rules


def test_select_by_code_runs_only_the_rules_named(tmp_path: Path) -> None:
    assert rules_reported(tmp_path, "--select", "MLD201") == {"MLD201"}
    assert rules_reported(tmp_path, "--select", "MLD201,MLD701") == {"MLD201", "MLD701"}


# rules and explain ---------------------------------------------------------------------------


def test_rules_lists_every_registered_rule() -> None:
    run = mldebt("rules")
    assert run.code == 0
    codes = [line.split()[0] for line in run.stdout.splitlines()]
    assert codes == [rule.code for rule in load_registry().sorted()]
    row = next(line.split() for line in run.stdout.splitlines() if line.startswith("MLD201"))
    assert row[1:5] == ["commented-out-code", "dead-experimental-code", "warning", "stable"]


def test_rules_as_json() -> None:
    rows = json.loads(mldebt("rules", "--format", "json").stdout)
    by_code = {row["code"]: row for row in rows}
    assert by_code["MLD701"]["name"] == "debt-marker"
    assert by_code["MLD701"]["category"] == "self-admitted-debt"
    assert by_code["MLD701"]["pack"] == "builtin"
    assert by_code["MLD001"]["pack"] == "mldebt"
    assert set(rows[0]) >= {"code", "name", "category", "severity", "status", "summary"}


@pytest.mark.parametrize("rule", ["MLD201", "commented-out-code", "mld201"])
def test_explain_shows_the_rule_docs_by_code_or_name(rule: str) -> None:
    run = mldebt("explain", rule)
    assert run.code == 0
    assert run.stdout.startswith("# MLD201 `commented-out-code`")
    for heading in ("What it finds", "Why it is debt", "Example", "Use instead", "Known limits"):
        assert f"## {heading}" in run.stdout
    assert run.stdout == mldebt("explain", "MLD201").stdout


# the cache and mldebt clean ------------------------------------------------------------------


def test_clean_removes_the_cache_beside_the_configuration(tmp_path: Path) -> None:
    project(tmp_path, {"pyproject.toml": "[tool.mldebt]\n", "src/a.py": MARKER})
    assert mldebt("check", tmp_path / "src", "--select", RULES).code == 0
    cache = tmp_path / ".mldebt_cache"
    assert cache.is_dir()
    first = mldebt("clean", tmp_path / "src")
    assert (first.code, first.stdout) == (0, f"removed {cache}\n")
    assert not cache.exists()
    again = mldebt("clean", tmp_path)
    assert (again.code, again.stdout) == (0, f"no mldebt cache at {cache}\n")


def test_clean_leaves_a_folder_mldebt_did_not_create(tmp_path: Path) -> None:
    mine = tmp_path / ".mldebt_cache"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me\n", encoding="utf-8")
    assert mldebt("clean", tmp_path).stdout.startswith("no mldebt cache")
    assert (mine / "notes.txt").is_file()


def test_a_cached_run_reports_the_same_as_a_fresh_one(demo: Path) -> None:
    fresh = mldebt("check", "--no-cache", "--format", "json", demo).stdout
    assert mldebt("check", "--format", "json", demo).stdout == fresh  # fills the cache
    assert mldebt("check", "--format", "json", demo).stdout == fresh  # reads it


# determinism ---------------------------------------------------------------------------------


def test_output_is_the_same_whatever_the_number_of_jobs(tmp_path: Path) -> None:
    files = {}
    for i in range(36):  # above the engine's in-process threshold, so the pool really runs
        files[f"pkg_{i % 4}/step_{i:02}.py"] = (
            f"import pandas as pd\n\n# TODO: step {i}\n"
            f"def step_{i}(df):\n    # df = df.dropna()\n    # df.to_csv('s{i}.csv')\n"
            "    return df\n"
        )
    files["notebooks/explore.ipynb"] = "# %%\nimport pandas as pd\n# %%\n# FIXME: sample\n"
    files["broken.py"] = BROKEN
    project(tmp_path, files)
    outputs = {}
    for jobs in ("1", "2"):
        run = mldebt_process("check", "--no-cache", "--jobs", jobs, "--format", "json", tmp_path)
        assert run.returncode == 1, run.stderr
        outputs[jobs] = run.stdout
    assert outputs["1"] == outputs["2"]
    document = json.loads(outputs["2"])
    assert document["summary"]["files"] == 38
    # Every rule ran; the planted findings are counted (rules added later may find more).
    counted = Counter(f["rule"] for f in document["findings"])
    assert {code: counted[code] for code in CODES} == {"MLD701": 37, "MLD201": 36, "MLD001": 1}


def test_the_html_report_is_a_command_of_the_main_cli(tmp_path: Path) -> None:
    output = tmp_path / "report.html"
    run = mldebt("report", "--no-cache", "-j", "1", "-o", output, DEMO)
    assert run.code == 0, run.stderr
    assert output.read_text(encoding="utf-8").lstrip().lower().startswith("<!doctype html>")


def test_the_graph_export_is_a_command_of_the_main_cli() -> None:
    run = mldebt("graph", "--format", "mermaid", "--view", "pipeline", "--no-cache", DEMO)
    assert run.code == 0, run.stderr
    assert run.stdout.startswith("flowchart LR")
    assert "data/processed/predictions.csv" in run.stdout


def test_output_to_a_device_writes_through_it_instead_of_replacing_it(tmp_path: Path) -> None:
    device = Path("/dev/null")
    assert device.is_char_device()
    run = mldebt("check", "--no-cache", "--exit-zero", "-o", device, tmp_path)
    assert run.code == 0, run.stderr
    assert device.is_char_device()  # renaming a temporary file over it would make it a file
