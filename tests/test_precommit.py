"""The pre-commit hook: `.pre-commit-hooks.yaml`, and `check --whole-project FILE...`, which
analyses the whole project (so cross-file rules see every module) but reports only the
findings in the files pre-commit passes.

The last tests run the real ``pre-commit try-repo`` against a temporary git repository. They
try a fresh clone of this repository's HEAD (the committed hook and code, whatever else is
uncommitted in the work tree), with pre-commit's store in a temporary folder.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from mldebt.api import analyse
from mldebt.cli import main
from mldebt.config import load_config
from mldebt.findings import CATEGORIES
from mldebt.gating import named_files, whole_project
from mldebt.registry import load_registry
from mldebt.rule import ProjectRule

ROOT = Path(__file__).resolve().parents[1]
HOOKS = ROOT / ".pre-commit-hooks.yaml"
#: The rules these tests are about, so that rules added later do not change the counts.
SELECT = 'select = ["MLD001", "MLD201", "MLD701"]\n'
DEAD = "def f(model, X, y):\n    # model.fit(X, y)\n    # model.save('m.pkl')\n    return 1\n"
CLEAN = "def g():\n    return 2\n"


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str


def mldebt(*args: str | Path) -> Run:
    result = CliRunner().invoke(main, [str(a) for a in args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Run(result.exit_code, result.stdout, result.stderr)


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


# the manifest ------------------------------------------------------------------------------


def test_the_manifest_declares_the_mldebt_hook() -> None:
    [hook] = yaml.safe_load(HOOKS.read_text(encoding="utf-8"))
    assert hook["id"] == "mldebt"
    assert hook["language"] == "python"
    assert hook["types_or"] == ["python", "jupyter"]
    assert hook["require_serial"] is True
    # in the entry, not in args: a user's own args replace a hook's args
    assert hook["entry"] == "mldebt check --whole-project"
    assert "args" not in hook


def test_the_hook_entry_is_a_real_command_line(tmp_path: Path) -> None:
    [hook] = yaml.safe_load(HOOKS.read_text(encoding="utf-8"))
    write(tmp_path, {"mldebt.toml": SELECT, "a.py": DEAD, "b.py": CLEAN})
    program, *args = hook["entry"].split()
    assert program == "mldebt"
    run = mldebt(*args, tmp_path / "b.py")
    assert run.code == 0
    assert run.stdout == "No debt found in 1 file.\n"


# --whole-project ---------------------------------------------------------------------------


def test_check_of_one_file_alone_analyses_just_that_file(tmp_path: Path) -> None:
    write(tmp_path, {"mldebt.toml": SELECT, "a.py": DEAD, "b.py": CLEAN})
    run = mldebt("check", "--format", "json", tmp_path / "b.py")
    assert json.loads(run.stdout)["summary"]["files"] == 1


def test_whole_project_reports_only_the_named_files(tmp_path: Path) -> None:
    write(tmp_path, {"mldebt.toml": SELECT, "a.py": DEAD, "b.py": CLEAN, "pkg/c.py": DEAD})
    clean = mldebt("check", "--whole-project", tmp_path / "b.py")
    assert clean.code == 0
    assert clean.stdout == "No debt found in 1 file.\n"
    dirty = mldebt("check", "--whole-project", tmp_path / "b.py", tmp_path / "pkg" / "c.py")
    assert dirty.code == 1
    assert dirty.stdout.startswith("pkg/c.py:2:5: MLD201 [commented-out-code]")
    assert "a.py" not in dirty.stdout
    assert "in 2 files" in dirty.stdout


def test_whole_project_reads_the_whole_project_through_the_cache(tmp_path: Path) -> None:
    write(tmp_path, {"mldebt.toml": SELECT, "a.py": DEAD, "b.py": CLEAN, "pkg/c.py": DEAD})
    mldebt("check", "--whole-project", tmp_path / "b.py")
    assert len(list((tmp_path / ".mldebt_cache").rglob("*.json"))) == 3


def test_whole_project_skips_named_files_the_configuration_excludes(tmp_path: Path) -> None:
    write(
        tmp_path, {"mldebt.toml": SELECT + 'extend-exclude = ["legacy/"]\n', "legacy/old.py": DEAD}
    )
    assert mldebt("check", tmp_path / "legacy" / "old.py").code == 1  # named: analysed
    run = mldebt("check", "--whole-project", tmp_path / "legacy" / "old.py")
    assert run.code == 0
    assert run.stdout == "No debt found in 0 files.\n"


def test_whole_project_without_a_configuration_uses_the_git_work_tree(tmp_path: Path) -> None:
    write(tmp_path, {"src/a.py": DEAD, "src/b.py": CLEAN, "lib/c.py": CLEAN})
    git(tmp_path, "init", "-q")
    run = mldebt(
        "check",
        "--whole-project",
        "--select",
        "MLD201",
        "--format",
        "json",
        tmp_path / "src" / "a.py",
    )
    [finding] = json.loads(run.stdout)["findings"]
    assert finding["path"] == "src/a.py"  # relative to the work tree, the project's root
    assert (tmp_path / ".mldebt_cache").is_dir()


def test_whole_project_with_a_missing_file_exits_2(tmp_path: Path) -> None:
    write(tmp_path, {"mldebt.toml": SELECT, "a.py": CLEAN})
    run = mldebt("check", "--whole-project", tmp_path / "gone.py")
    assert run.code == 2
    assert "gone.py: no such file or directory" in run.stderr


class UnimportedModule(ProjectRule):
    """A test-only cross-file rule: a module no other module imports."""

    code = "TST901"
    name = "unimported-module"
    category = CATEGORIES[4]
    summary = what = why = limits = "test only"

    def check(self) -> None:
        for module in self.graph.modules():
            if not self.graph.importers(module.module):
                self.report(module.path, 1, f"nothing imports {module.module}")


def test_cross_file_rules_see_the_whole_project_but_report_only_named_files(
    tmp_path: Path,
) -> None:
    write(
        tmp_path,
        {"mldebt.toml": SELECT, "main.py": "import helpers\n", "helpers.py": CLEAN, "x.py": CLEAN},
    )
    registry = load_registry()
    registry.rules[UnimportedModule.code] = UnimportedModule
    registry.packs[UnimportedModule.code] = "test"
    named = [tmp_path / "helpers.py"]
    config = dataclasses.replace(load_config(named[0]), select=[UnimportedModule.code])

    alone = analyse(named, config, use_cache=False, registry=registry)
    assert [f.message for f in alone.findings] == ["nothing imports helpers"]

    config, analysed, named_rel = whole_project(named, config)
    result = analyse(analysed, config, use_cache=False, registry=registry)
    assert {f.path for f in result.findings} == {"main.py", "x.py"}
    assert named_files(result, named_rel).findings == []  # main.py imports helpers


# the real pre-commit -----------------------------------------------------------------------


def _pre_commit() -> str | None:
    beside = Path(sys.executable).parent / "pre-commit"
    return str(beside) if beside.exists() else shutil.which("pre-commit")


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A clone of this repository at HEAD: the hook as committed."""
    if _pre_commit() is None:
        pytest.skip("pre-commit is not installed (pip install pre-commit, or '.[test]')")
    if not (ROOT / ".git").exists():
        pytest.skip("this copy of mldebt is not a git repository; try-repo needs one")
    clone = tmp_path_factory.mktemp("hook") / "mldebt"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True, timeout=120)
    yield clone


@pytest.fixture
def user_repo(tmp_path: Path) -> Path:
    root = tmp_path / "user"
    write(root, {"pyproject.toml": "[tool.mldebt]\n" + SELECT, "train.py": DEAD, "score.py": CLEAN})
    git(root, "init", "-q")
    git(root, "add", ".")
    return root


def try_repo(hook_repo: Path, user_repo: Path, *files: str) -> subprocess.CompletedProcess[str]:
    program = _pre_commit()
    assert program is not None
    env = dict(os.environ, PRE_COMMIT_HOME=str(user_repo.parent / "pre-commit-home"))
    env.pop("MLDEBT_DEBUG", None)
    return subprocess.run(
        [program, "try-repo", str(hook_repo), "mldebt", "--color", "never", "--files", *files],
        cwd=user_repo,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )


def test_pre_commit_fails_on_a_file_with_debt(hook_repo: Path, user_repo: Path) -> None:
    run = try_repo(hook_repo, user_repo, "train.py", "score.py")
    assert run.returncode == 1, run.stdout + run.stderr
    assert "mldebt" in run.stdout and "Failed" in run.stdout
    assert "train.py:2:5: MLD201 [commented-out-code]" in run.stdout


def test_pre_commit_passes_when_the_passed_files_are_clean(
    hook_repo: Path, user_repo: Path
) -> None:
    run = try_repo(hook_repo, user_repo, "score.py")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Passed" in run.stdout
    assert "train.py" not in run.stdout.split("mldebt...", 1)[-1]
