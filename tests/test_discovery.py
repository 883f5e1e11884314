"""Which files a run analyses: .py and .ipynb under the given paths, minus default skips,
``exclude`` / ``extend-exclude`` and, inside a git work tree, what ``.gitignore`` ignores.
Files named explicitly are always analysed.

Every file in these trees carries a ``# TODO``, so the paths with a finding are exactly the
files the run analysed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mldebt.api import analyse

NOTEBOOK = json.dumps(
    {"cells": [{"cell_type": "code", "source": "# TODO: in a notebook"}], "metadata": {}}
)


def make(root: Path, *paths: str) -> None:
    for path in paths:
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        text = NOTEBOOK if path.endswith(".ipynb") else f"# TODO: in {path}\n"
        target.write_text(text)


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def git_init(root: Path) -> None:
    subprocess.run(["git", "init", "-q", str(root)], check=True)


def check(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mldebt", "check", *args, "--format", "json", "--no-cache"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def analysed(cwd: Path, *args: str) -> list[str]:
    """The files a real ``mldebt check`` run analysed, in report order."""
    result = check(cwd, *args)
    assert result.returncode in (0, 1), result.stderr
    paths = [f["path"] for f in json.loads(result.stdout)["findings"] if f["rule"] == "MLD701"]
    return sorted(set(paths), key=paths.index)


def test_python_files_and_notebooks_are_found_and_nothing_else(tmp_path: Path) -> None:
    make(tmp_path, "train.py", "pkg/model.py", "notebooks/eda.ipynb")
    write(tmp_path / "notes.txt", "# TODO: not source\n")
    write(tmp_path / "script", "# TODO: no suffix\n")
    assert analysed(tmp_path, ".") == ["notebooks/eda.ipynb", "pkg/model.py", "train.py"]


@pytest.mark.parametrize(
    "folder",
    [
        ".venv",
        "venv",
        "build",
        "dist",
        "__pycache__",
        ".ipynb_checkpoints",
        "node_modules",
        ".mldebt_cache",
        ".git",
        "pkg.egg-info",
        "src/build",
    ],
)
def test_tool_and_build_folders_are_skipped_by_default(tmp_path: Path, folder: str) -> None:
    make(tmp_path, "train.py", f"{folder}/skipped.py", f"{folder}/nb-checkpoint.ipynb")
    assert analysed(tmp_path, ".") == ["train.py"]


def test_any_folder_holding_a_pyvenv_cfg_is_a_virtualenv_and_skipped(tmp_path: Path) -> None:
    make(tmp_path, "train.py", "env-3.11/lib/site.py")
    write(tmp_path / "env-3.11" / "pyvenv.cfg", "home = /usr/bin\n")
    assert analysed(tmp_path, ".") == ["train.py"]


def test_gitignore_is_honoured_inside_a_git_work_tree(tmp_path: Path) -> None:
    git_init(tmp_path)
    make(tmp_path, "train.py", "scratch.py", "data/generated.py", "src/keep.py")
    write(tmp_path / ".gitignore", "scratch.py\ndata/\n")
    assert analysed(tmp_path, ".") == ["src/keep.py", "train.py"]


def test_gitignore_is_not_read_outside_a_git_work_tree(tmp_path: Path) -> None:
    make(tmp_path, "train.py", "scratch.py")
    write(tmp_path / ".gitignore", "scratch.py\n")
    assert analysed(tmp_path, ".") == ["scratch.py", "train.py"]


def test_no_respect_gitignore_turns_it_off(tmp_path: Path) -> None:
    git_init(tmp_path)
    make(tmp_path, "train.py", "scratch.py")
    write(tmp_path / ".gitignore", "scratch.py\n")
    assert analysed(tmp_path, ".", "--no-respect-gitignore") == ["scratch.py", "train.py"]


def test_nested_gitignores_apply_below_their_folder_and_the_deepest_decides(
    tmp_path: Path,
) -> None:
    git_init(tmp_path)
    make(
        tmp_path,
        "train.py",
        "tmp_run.py",
        "experiments/tmp_trial.py",
        "experiments/tmp_baseline.py",
        "experiments/keep_me.py",
        "experiments/old/v1.py",
        "experiments/old/README_example.py",
        "serving/old/api.py",
    )
    write(tmp_path / ".gitignore", "tmp_*.py\n")
    write(
        tmp_path / "experiments" / ".gitignore",
        "old/*\n!old/README_example.py\n!tmp_baseline.py\n",
    )
    assert analysed(tmp_path, ".") == [
        "experiments/keep_me.py",
        "experiments/old/README_example.py",
        "experiments/tmp_baseline.py",
        "serving/old/api.py",
        "train.py",
    ]


def test_a_parent_gitignore_applies_when_analysing_a_subfolder(tmp_path: Path) -> None:
    git_init(tmp_path)
    make(tmp_path, "pkg/model.py", "pkg/model_pb2.py")
    write(tmp_path / ".gitignore", "*_pb2.py\n")
    assert analysed(tmp_path / "pkg", ".") == ["model.py"]


def test_git_info_exclude_is_honoured(tmp_path: Path) -> None:
    git_init(tmp_path)
    make(tmp_path, "train.py", "mine.py")
    write(tmp_path / ".git" / "info" / "exclude", "mine.py\n")
    assert analysed(tmp_path, ".") == ["train.py"]


def test_exclude_and_extend_exclude_from_the_configuration(tmp_path: Path) -> None:
    make(tmp_path, "train.py", "legacy/old.py", "gen/a_pb2.py", "build/lib.py", "src/gen/b.py")
    write(
        tmp_path / "pyproject.toml",
        '[tool.mldebt]\nextend-exclude = ["legacy/", "*_pb2.py", "/src/gen"]\n',
    )
    assert analysed(tmp_path, ".") == ["train.py"]
    write(tmp_path / "pyproject.toml", '[tool.mldebt]\nexclude = ["legacy"]\n')
    assert analysed(tmp_path, ".") == [
        "build/lib.py",
        "gen/a_pb2.py",
        "src/gen/b.py",
        "train.py",
    ]


def test_an_anchored_pattern_excludes_only_at_the_root(tmp_path: Path) -> None:
    make(tmp_path, "gen/a.py", "src/gen/b.py")
    assert analysed(tmp_path, ".", "--extend-exclude", "/gen") == ["src/gen/b.py"]


def test_exclude_flags_override_the_configuration(tmp_path: Path) -> None:
    make(tmp_path, "train.py", "legacy/old.py", "build/lib.py")
    write(tmp_path / "mldebt.toml", 'exclude = ["legacy"]\n')
    assert analysed(tmp_path, ".", "--exclude", "build") == ["legacy/old.py", "train.py"]


def test_files_named_explicitly_are_analysed_even_when_excluded_or_ignored(
    tmp_path: Path,
) -> None:
    git_init(tmp_path)
    make(tmp_path, "scratch.py", "legacy/old.py", "build/gen.py", "train.py")
    write(tmp_path / ".gitignore", "scratch.py\n")
    write(tmp_path / "pyproject.toml", '[tool.mldebt]\nextend-exclude = ["legacy/"]\n')
    named = ["scratch.py", "legacy/old.py", "build/gen.py"]
    assert analysed(tmp_path, *named) == ["build/gen.py", "legacy/old.py", "scratch.py"]
    assert analysed(tmp_path, ".") == ["train.py"]


def test_a_folder_named_explicitly_is_walked_even_when_excluded(tmp_path: Path) -> None:
    make(tmp_path, "build/gen.py", "build/__pycache__/cached.py", "train.py")
    write(tmp_path / "mldebt.toml", "")  # the root, so paths stay relative to it
    assert analysed(tmp_path, "build") == ["build/gen.py"]


def test_a_file_named_twice_or_inside_a_named_folder_is_analysed_once(tmp_path: Path) -> None:
    make(tmp_path, "pkg/model.py", "pkg/data.py")
    write(tmp_path / "mldebt.toml", "")
    result = analyse([tmp_path / "pkg", tmp_path / "pkg/model.py", tmp_path / "pkg/model.py"])
    assert result.files == ["pkg/data.py", "pkg/model.py"]


def test_a_missing_path_is_one_message_and_exit_2(tmp_path: Path) -> None:
    make(tmp_path, "train.py")
    result = check(tmp_path, "train.py", "no_such_dir")
    assert result.returncode == 2
    assert result.stderr == "mldebt: error: no_such_dir: no such file or directory\n"
    assert result.stdout == ""


def test_symlinked_folders_are_not_followed_so_loops_end(tmp_path: Path) -> None:
    make(tmp_path, "pkg/model.py")
    (tmp_path / "pkg" / "again").symlink_to("..", target_is_directory=True)
    (tmp_path / "elsewhere").symlink_to(tmp_path / "pkg", target_is_directory=True)
    assert analysed(tmp_path, ".") == ["pkg/model.py"]


def test_the_order_is_the_same_whatever_the_creation_order_and_jobs(tmp_path: Path) -> None:
    names = [f"m{i:02d}/file_{(i * 7) % 30:02d}.py" for i in range(30)]
    make(tmp_path, *reversed(names))
    serial = check(tmp_path, ".", "--jobs", "1")
    parallel = check(tmp_path, ".", "--jobs", "2")
    assert serial.stdout == parallel.stdout
    assert analysed(tmp_path, ".") == sorted(names)
    assert analyse([tmp_path], jobs=2, use_cache=False).files == sorted(names)
