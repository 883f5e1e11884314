"""The CI recipes: action.yml and the workflows in docs/ci.md.

Without GitHub or GitLab at hand, the recipes are checked as far as a laptop allows: every YAML
file and snippet parses and has the keys its service requires, the pieces refer to each other
consistently (inputs the action declares, the SARIF file the upload step reads, the report
files the artifacts name), and the shell they contain -- the action's own step included -- is
run with bash against a throw-away git repository with an ``origin`` remote, with the service's
variables and expressions filled in.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from mldebt.cli import main

ROOT = Path(__file__).resolve().parents[1]
ACTION = ROOT / "action.yml"
CI_DOC = ROOT / "docs" / "ci.md"
SARIF_SCHEMA = ROOT.parent / "shared" / "schemas" / "sarif-schema-2.1.0.json"
SARIF_SCHEMA_COPY = ROOT / "tests" / "schemas" / "sarif-schema-2.1.0.json"
FENCE = re.compile(r"^```yaml\n(.*?)^```", re.MULTILINE | re.DOTALL)
BIN = Path(sys.executable).parent

#: The rules these tests are about, so that rules added later do not change the counts.
SELECT = 'select = ["MLD001", "MLD201", "MLD701"]\n'
TRAIN = (
    "import pandas as pd\n\n\ndef load(path):\n    # TODO: cache the parsed frame\n"
    "    return pd.read_csv(path)\n\n\ndef train(df):\n    # model.fit(X, y)\n"
    "    # model.save('m.pkl')\n    return df.mean()\n"
)
NEW_DEBT = (
    "\n\ndef old(X, y):\n    # model = XGBClassifier()\n    # model.fit(X, y)\n    return 0\n"
)


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def bash(script: str, cwd: Path, env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    """Run ``script`` as a CI runner would, with this venv's mldebt first on PATH."""
    full = {
        **{k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "MLDEBT_DEBUG")},
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        **env,
    }
    for variable in ("GITHUB_WORKSPACE", "CI_PROJECT_DIR"):
        full.pop(variable, None)
    return subprocess.run(
        ["bash", "-c", script], cwd=cwd, env=full, capture_output=True, text=True, timeout=300
    )


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A CI checkout: a clone of ``origin`` on a branch off ``main``."""
    origin = tmp_path / "origin.git"
    seed = tmp_path / "seed"
    seed.mkdir()
    (seed / "pyproject.toml").write_text("[tool.mldebt]\n" + SELECT)
    (seed / "train.py").write_text(TRAIN)
    git(seed, "init", "-q", "-b", "main")
    git(seed, "add", ".")
    git(seed, "commit", "-q", "-m", "start")
    git(tmp_path, "clone", "-q", "--bare", str(seed), str(origin))
    work = tmp_path / "work"
    git(tmp_path, "clone", "-q", str(origin), str(work))
    git(work, "checkout", "-q", "-b", "feature")
    return work


def add_new_debt(checkout: Path) -> None:
    with (checkout / "train.py").open("a") as handle:
        handle.write(NEW_DEBT)
    git(checkout, "commit", "-q", "-am", "new debt")


def sarif_schema() -> dict[str, Any]:
    path = SARIF_SCHEMA if SARIF_SCHEMA.is_file() else SARIF_SCHEMA_COPY
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def annotations(stdout: str) -> list[str]:
    return [line for line in stdout.splitlines() if line.startswith("::")]


# action.yml --------------------------------------------------------------------------------


def action() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(ACTION.read_text(encoding="utf-8"))
    return data


def step(name: str) -> dict[str, Any]:
    [found] = [s for s in action()["runs"]["steps"] if s.get("name") == name]
    return found


def test_the_action_is_a_composite_action_with_the_documented_inputs() -> None:
    data = action()
    assert data["name"] and data["description"]
    assert data["runs"]["using"] == "composite"
    assert {"paths", "args", "sarif-file", "fail-on", "baseline"} <= set(data["inputs"])
    for name, spec in data["inputs"].items():
        assert spec["description"], name
        assert isinstance(spec.get("default", ""), str), name
    assert data["outputs"]["exit-code"]["value"] == "${{ steps.check.outputs.exit-code }}"


def test_every_run_step_names_its_shell_and_reads_inputs_only_from_env() -> None:
    for each in action()["runs"]["steps"]:
        if "run" in each:
            assert each["shell"] == "bash"
            # an input pasted into the script would be shell code an attacker could write
            assert "${{" not in each["run"]
    assert step("mldebt check")["id"] == "check"


def test_the_action_installs_itself_unless_told_a_version() -> None:
    script = step("Install mldebt")["run"]
    assert '"$GITHUB_ACTION_PATH"' in script
    assert '"$MLDEBT_VERSION"' in script


def test_the_inputs_documented_in_ci_md_are_the_actions_inputs() -> None:
    table = re.findall(r"^\| `([a-z-]+)` \|", CI_DOC.read_text(encoding="utf-8"), re.MULTILINE)
    assert set(table) == set(action()["inputs"])


def run_action_step(checkout: Path, tmp_path: Path, **inputs: str) -> tuple[Any, str]:
    """The action's check step, as the runner would run it; returns the process and what it
    wrote to GITHUB_OUTPUT."""
    output = tmp_path / "github_output"
    output.write_text("")
    env = {
        f"INPUT_{name.upper()}": inputs.get(name, "")
        for name in ("paths", "args", "sarif_file", "fail_on", "baseline")
    }
    env["GITHUB_OUTPUT"] = str(output)
    env["GITHUB_ACTION_PATH"] = str(ROOT)
    done = bash(step("mldebt check")["run"], checkout, env)
    return done, output.read_text()


def test_the_action_step_writes_sarif_of_everything_and_gates_on_new_debt(
    checkout: Path, tmp_path: Path
) -> None:
    add_new_debt(checkout)
    done, output = run_action_step(
        checkout, tmp_path, paths=".", args="--new-since origin/main", sarif_file="mldebt.sarif"
    )
    assert done.returncode == 1, done.stderr
    assert output == "exit-code=1\n"
    [annotation] = annotations(done.stdout)
    assert annotation.startswith("::warning file=train.py,line=16,")
    sarif = json.loads((checkout / "mldebt.sarif").read_text())
    jsonschema.validate(sarif, sarif_schema())
    assert len(sarif["runs"][0]["results"]) == 3  # every finding, old ones too


def test_the_action_step_passes_without_new_debt(checkout: Path, tmp_path: Path) -> None:
    done, output = run_action_step(checkout, tmp_path, args="--new-since origin/main")
    assert done.returncode == 0, done.stdout + done.stderr
    assert output == "exit-code=0\n"
    assert annotations(done.stdout) == []


def test_the_action_step_passes_fail_on_and_baseline(checkout: Path, tmp_path: Path) -> None:
    assert CliRunner().invoke(main, ["baseline", str(checkout)]).exit_code == 0
    add_new_debt(checkout)
    done, _ = run_action_step(checkout, tmp_path, baseline=".mldebt-baseline.json")
    assert done.returncode == 1
    assert len(annotations(done.stdout)) == 1
    done, output = run_action_step(checkout, tmp_path, fail_on="error")
    assert done.returncode == 0
    assert output == "exit-code=0\n"


def test_the_action_step_treats_inputs_as_data(checkout: Path, tmp_path: Path) -> None:
    done, output = run_action_step(checkout, tmp_path, paths="*", args="$(touch pwned) `id`")
    assert not (checkout / "pwned").exists()
    assert done.returncode == 2
    assert output == "exit-code=2\n"


def test_the_action_step_reports_an_error_when_the_sarif_run_fails(
    checkout: Path, tmp_path: Path
) -> None:
    done, output = run_action_step(checkout, tmp_path, paths="missing", sarif_file="x.sarif")
    assert done.returncode == 2
    assert output == "exit-code=2\n"
    assert "missing: no such file or directory" in done.stderr


# docs/ci.md --------------------------------------------------------------------------------


def snippets() -> list[Any]:
    return [yaml.safe_load(block) for block in FENCE.findall(CI_DOC.read_text(encoding="utf-8"))]


def github_workflow() -> dict[str, Any]:
    [workflow] = [s for s in snippets() if isinstance(s, dict) and "jobs" in s]
    return workflow


def gitlab_job() -> dict[str, Any]:
    [job] = [s["mldebt"] for s in snippets() if isinstance(s, dict) and "mldebt" in s]
    return dict(job)


def manual_steps() -> list[dict[str, Any]]:
    [steps] = [s for s in snippets() if isinstance(s, list)]
    return list(steps)


#: The GitHub expressions the snippets use, as they evaluate on a pull request into main.
EXPRESSIONS = {
    "github.base_ref || github.event.repository.default_branch": "main",
    "github.base_ref": "main",
    "runner.os": "Linux",
    "github.sha": "0" * 40,
}


def evaluate(text: str) -> str:
    def value(match: re.Match[str]) -> str:
        expression = match.group(1).strip()
        assert expression in EXPRESSIONS, f"unknown expression {expression!r}"
        return EXPRESSIONS[expression]

    return re.sub(r"\$\{\{(.*?)\}\}", value, text)


def test_every_yaml_snippet_in_ci_md_parses() -> None:
    assert len(snippets()) == 3


def test_the_github_workflow_has_what_actions_require() -> None:
    workflow = github_workflow()
    # YAML 1.1 reads the key `on` as True; GitHub reads it as "on"
    triggers = workflow.get("on", workflow.get(True))
    assert {"pull_request", "push"} <= set(triggers)
    assert workflow["permissions"]["security-events"] == "write"
    [job] = workflow["jobs"].values()
    assert job["runs-on"]
    for each in job["steps"]:
        assert ("uses" in each) != ("run" in each)


def test_the_github_workflow_uses_the_action_as_declared(checkout: Path, tmp_path: Path) -> None:
    [job] = github_workflow()["jobs"].values()
    steps = job["steps"]
    checkout_step = next(s for s in steps if s.get("uses", "").startswith("actions/checkout@"))
    assert checkout_step["with"]["fetch-depth"] == 0  # --new-since needs the base branch
    mine = next(s for s in steps if re.fullmatch(r"[\w-]+/mldebt@v[\d.]+", s.get("uses", "")))
    assert set(mine["with"]) <= set(action()["inputs"])
    upload = next(s for s in steps if "upload-sarif" in s.get("uses", ""))
    assert upload["uses"].startswith("github/codeql-action/upload-sarif@")
    assert upload["with"]["sarif_file"] == mine["with"]["sarif-file"]
    assert "always()" in upload["if"]
    # and the action, given those inputs, does what the page says
    add_new_debt(checkout)
    inputs = {k.replace("-", "_"): evaluate(str(v)) for k, v in mine["with"].items()}
    done, _ = run_action_step(checkout, tmp_path, **inputs)
    assert done.returncode == 1
    assert len(annotations(done.stdout)) == 1
    assert (checkout / upload["with"]["sarif_file"]).is_file()


def test_the_steps_without_the_action_run_as_documented(checkout: Path) -> None:
    add_new_debt(checkout)
    commands = [evaluate(s["run"]) for s in manual_steps()]
    assert commands[0] == "pip install mldebt"
    sarif = bash(commands[1], checkout, {})
    assert sarif.returncode == 0, sarif.stderr
    assert (checkout / "mldebt.sarif").is_file()
    gate = bash(commands[2], checkout, {})
    assert gate.returncode == 0  # the new finding's 6 minutes are within the 30 allowed
    assert len(annotations(gate.stdout)) == 1
    assert "--max-new-debt 30" in commands[2]


def test_the_gitlab_job_has_what_gitlab_requires() -> None:
    job = gitlab_job()
    assert job["variables"]["GIT_DEPTH"] == "0"
    assert job["artifacts"]["when"] == "always"
    reports = job["artifacts"]["reports"]
    script = "\n".join(job["script"])
    assert f"--format gitlab --output {reports['codequality']}" in script
    assert f"--write junit={reports['junit']}" in script
    assert ".mldebt_cache/" in job["cache"]["paths"]


def run_gitlab_script(checkout: Path) -> subprocess.CompletedProcess[str]:
    """The job's script lines as GitLab runs them: in order, stopping at the first failure."""
    job = gitlab_job()
    env = {"CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "main", "CI_DEFAULT_BRANCH": "main"}
    return bash("set -e\n" + "\n".join(job["script"]), checkout, env)


def test_the_gitlab_job_reports_everything_and_fails_on_new_debt(checkout: Path) -> None:
    add_new_debt(checkout)
    done = run_gitlab_script(checkout)
    assert done.returncode == 1, done.stderr
    reports = gitlab_job()["artifacts"]["reports"]
    quality = json.loads((checkout / reports["codequality"]).read_text())
    assert len(quality) == 3  # every finding: GitLab works out which ones are new
    for issue in quality:
        assert {"description", "check_name", "fingerprint", "severity", "location"} <= set(issue)
        assert issue["location"]["path"] == "train.py"
        assert issue["location"]["lines"]["begin"] >= 1
    assert len({issue["fingerprint"] for issue in quality}) == 3
    junit = ET.parse(checkout / reports["junit"]).getroot()
    failures = [*junit.iter("failure"), *junit.iter("error")]
    assert len(failures) == 1  # only the new finding


def test_the_gitlab_job_passes_without_new_debt(checkout: Path) -> None:
    done = run_gitlab_script(checkout)
    assert done.returncode == 0, done.stdout + done.stderr


# --write: several formats from one analysis ------------------------------------------------


def test_write_sends_other_formats_to_files_from_the_same_analysis(checkout: Path) -> None:
    result = CliRunner().invoke(
        main,
        [
            "check",
            "--format",
            "json",
            "--write",
            f"sarif={checkout / 'out.sarif'}",
            "--write",
            f"gitlab={checkout / 'out.json'}",
            str(checkout),
        ],
    )
    printed = json.loads(result.stdout)
    sarif = json.loads((checkout / "out.sarif").read_text())
    fingerprints = {f["fingerprint"] for f in printed["findings"]}
    from_sarif = {
        r["partialFingerprints"]["mldebtFingerprint/v1"] for r in sarif["runs"][0]["results"]
    }
    assert fingerprints == from_sarif
    assert len(json.loads((checkout / "out.json").read_text())) == len(fingerprints) == 2


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("sarif", "'sarif' is not FORMAT=FILE"),
        ("xml=out.xml", "unknown format 'xml'"),
    ],
)
def test_write_refuses_a_malformed_value(tmp_path: Path, value: str, message: str) -> None:
    result = CliRunner().invoke(main, ["check", "--write", value, str(tmp_path)])
    assert result.exit_code == 2
    assert message in result.output
