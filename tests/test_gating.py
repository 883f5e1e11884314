"""New-code gating against git: ``--diff REF`` (findings on changed lines) and ``--new-since
REF`` (findings that were not there at REF), with the ``--fail-on`` and ``--max-new-debt``
gates. Every test works on a real temporary git repository."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner

from mldebt.cli import main
from mldebt.findings import Finding, Location, Severity
from mldebt.gating import touches
from mldebt.gitdiff import Changes, FileChange, changed_cells, parse_diff
from mldebt.testing import notebook_json

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT.parent / "shared" / "schemas" / "mldebt-report.schema.json"
SCHEMA_COPY = ROOT / "tests" / "schemas" / "mldebt-report.schema.json"

#: The rules these tests are about, so that rules added later do not change the counts.
SELECT = 'select = ["MLD001", "MLD201", "MLD701"]\n'
TRAIN = """\
import pandas as pd


def load(path):
    # TODO: cache the parsed frame
    df = pd.read_csv(path)
    return df


def train(df):
    # model.fit(X, y)
    # model.save("m.pkl")
    return df.mean()
"""
CLEAN = "def score(model, X, y):\n    return model.score(X, y)\n"
#: Commented-out code: a warning, so it fails the default gate.
DEAD = "    # model = XGBClassifier()\n    # model.fit(X, y)\n"
NOTEBOOK = (
    "import pandas as pd\n# %%\n# TODO: plot churn by tenure\ndf = pd.DataFrame()\n# %%\nx = 1\n"
)


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str

    @property
    def findings(self) -> list[str]:
        return [
            line
            for line in self.stdout.splitlines()
            if ": MLD" in line and not line.startswith("  fixed:")
        ]


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


def write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(notebook_json(text) if rel.endswith(".ipynb") else text, encoding="utf-8")


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A committed project with a marker, commented-out code and a notebook."""
    root = tmp_path / "repo"
    write(
        root,
        {
            "pyproject.toml": "[tool.mldebt]\n" + SELECT,
            "train.py": TRAIN,
            "score.py": CLEAN,
            "explore.ipynb": NOTEBOOK,
        },
    )
    git(root, "init", "-q", "-b", "main")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "start")
    return root


def schema() -> dict[str, Any]:
    path = SCHEMA if SCHEMA.is_file() else SCHEMA_COPY
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def add_dead_code(path: Path) -> None:
    with path.open("a", encoding="utf-8") as handle:
        handle.write("\n\ndef old(X, y):\n" + DEAD + "    return None\n")


# --diff ------------------------------------------------------------------------------------


def test_diff_reports_only_findings_on_changed_lines(repo: Path) -> None:
    write(repo, {"train.py": "import os\n\n" + TRAIN})  # shifts the old findings
    add_dead_code(repo / "train.py")
    run = mldebt("check", "--diff", "HEAD", repo)
    assert run.code == 1
    assert len(run.findings) == 1
    assert run.findings[0].startswith("train.py:19:5: MLD201 [commented-out-code]")
    assert "Only findings on lines changed since HEAD (1 changed source file)." in run.stdout


def test_diff_without_new_debt_passes(repo: Path) -> None:
    edit(repo / "train.py", "return df.mean()", "return df.median()")
    run = mldebt("check", "--diff", "HEAD", repo)
    assert run.code == 0
    assert run.findings == []


def test_diff_counts_committed_staged_and_unstaged_changes(repo: Path) -> None:
    add_dead_code(repo / "score.py")
    git(repo, "commit", "-q", "-am", "dead code in score")
    edit(repo / "train.py", "    return df.mean()", "    # TODO: staged\n    return df.mean()")
    git(repo, "add", "train.py")
    edit(repo / "train.py", "def load(path):\n", "def load(path):\n    # FIXME: unstaged\n")
    run = mldebt("check", "--fail-on", "info", "--diff", "HEAD~1", repo)
    assert [f.split(" [")[0] for f in run.findings] == [
        "score.py:6:5: MLD201",
        "train.py:5:5: MLD701",
        "train.py:14:5: MLD701",
    ]


def test_diff_reports_untracked_files_whole(repo: Path) -> None:
    write(repo, {"pipeline/new_step.py": "# TODO: write the step\nimport os\n"})
    run = mldebt("check", "--fail-on", "info", "--diff", "HEAD", repo)
    assert run.code == 1
    assert run.findings == [
        "pipeline/new_step.py:1:1: MLD701 [debt-marker] TODO comment: TODO: write the step"
    ]


def test_diff_treats_the_lines_around_a_deletion_as_changed(repo: Path) -> None:
    edit(repo / "train.py", "    df = pd.read_csv(path)\n", "")  # the line below the TODO
    run = mldebt("check", "--fail-on", "info", "--diff", "HEAD", repo)
    assert [f.split(" [")[0] for f in run.findings] == ["train.py:5:5: MLD701"]


def test_diff_in_a_notebook_reports_only_cells_whose_source_changed(repo: Path) -> None:
    shifted = "import os\n# %%\n" + NOTEBOOK.replace("x = 1\n", "x = 1\n# TODO: new cell note\n")
    write(repo, {"explore.ipynb": shifted})
    run = mldebt("check", "--fail-on", "info", "--diff", "HEAD", repo)
    assert run.findings == [
        "explore.ipynb:cell 4:2:1: MLD701 [debt-marker] TODO comment: TODO: new cell note"
    ]


def test_diff_in_a_notebook_ignores_output_only_changes(repo: Path) -> None:
    notebook = json.loads((repo / "explore.ipynb").read_text())
    notebook["cells"][1]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": ["1"]}]
    notebook["cells"][1]["execution_count"] = 7
    (repo / "explore.ipynb").write_text(json.dumps(notebook))
    run = mldebt("check", "--fail-on", "info", "--diff", "HEAD", repo)
    assert run.findings == []


def test_diff_maps_paths_of_a_project_in_a_subfolder(repo: Path) -> None:
    write(repo, {"ml/pyproject.toml": "[tool.mldebt]\n" + SELECT, "ml/a.py": CLEAN})
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "ml project")
    add_dead_code(repo / "ml" / "a.py")
    run = mldebt("check", "--diff", "HEAD", repo / "ml")
    assert [f.split(" [")[0] for f in run.findings] == ["a.py:6:5: MLD201"]
    assert "(1 changed source file)" in run.stdout


def test_diff_json_summary_names_the_changed_files(repo: Path) -> None:
    add_dead_code(repo / "score.py")
    run = mldebt("check", "--format", "json", "--diff", "HEAD", repo)
    document = json.loads(run.stdout)
    jsonschema.validate(document, schema())
    assert document["summary"]["diff"]["reference"] == "HEAD"
    assert document["summary"]["diff"]["changed_files"] == ["score.py"]
    assert len(document["findings"]) == 1


def test_a_finding_whose_chain_touches_a_changed_file_is_kept(tmp_path: Path) -> None:
    finding = Finding(
        rule="MLD101",
        name="pipeline-jungle",
        category="pipeline-jungle",
        severity=Severity.WARNING,
        path="pipeline/03_features.py",
        line=10,
        column=1,
        end_line=10,
        end_column=None,
        message="a chain of intermediate files",
        debt_minutes=30.0,
        fingerprint="0123456789abcdef",
        related=(Location("pipeline/01_ingest.py", 5), Location("pipeline/03_features.py", 40)),
    )
    changes = Changes(tmp_path, "0" * 40)
    assert not touches(finding, changes, tmp_path)
    changes.files["pipeline/03_features.py"] = FileChange(lines={41})
    assert not touches(finding, changes, tmp_path)  # its own file, but other lines
    changes.files["pipeline/03_features.py"] = FileChange(lines={40})
    assert touches(finding, changes, tmp_path)  # a related step's line changed
    changes.files.clear()
    changes.files["pipeline/01_ingest.py"] = FileChange(lines={99})
    assert touches(finding, changes, tmp_path)  # another file of the chain changed


# parsing git's output ------------------------------------------------------------------------


def test_parse_diff_reads_hunks_new_files_deletions_and_quoted_paths(tmp_path: Path) -> None:
    patch = b"""\
diff --git a/train.py b/train.py
index 1..2 100644
--- a/train.py
+++ b/train.py
@@ -3 +3,2 @@ def f():
@@ -10,2 +11,0 @@
@@ -20,0 +22 @@
diff --git a/new.py b/new.py
new file mode 100644
--- /dev/null
+++ b/new.py
@@ -0,0 +1,3 @@
diff --git a/gone.py b/gone.py
deleted file mode 100644
--- a/gone.py
+++ /dev/null
@@ -1,3 +0,0 @@
diff --git "a/caf\\303\\251 \\"x\\".py" "b/caf\\303\\251 \\"x\\".py"
--- "a/caf\\303\\251 \\"x\\".py"
+++ "b/caf\\303\\251 \\"x\\".py"
@@ -1 +1 @@
diff --git a/old.py b/moved.py
similarity index 100%
rename from old.py
rename to moved.py
"""
    changes = Changes(tmp_path, "0" * 40)
    parse_diff(patch, changes)
    assert changes.files["train.py"].lines == {3, 4, 11, 12, 22}
    assert changes.files["new.py"].lines is None
    assert "gone.py" not in changes.files
    assert changes.files['café "x".py'].lines == {1}
    assert "moved.py" not in changes.files  # a pure rename changes no line
    assert changes.renames == {"old.py": "moved.py"}


def test_changed_cells_follow_cells_that_moved() -> None:
    old = notebook_json("a = 1\n# %%\nb = 2\n# %%\nc = 3\n")
    new = notebook_json("z = 0\n# %%\na = 1\n# %%\nb = 2\n# %%\nc = 4\n")
    assert changed_cells(old, new) == {1, 4}
    assert changed_cells("not json", new) is None


# --new-since -------------------------------------------------------------------------------


def test_new_since_reports_only_findings_that_were_not_there(repo: Path) -> None:
    git(repo, "checkout", "-q", "-b", "feature")
    write(repo, {"train.py": "import os\n\n" + TRAIN})
    add_dead_code(repo / "score.py")
    git(repo, "commit", "-q", "-am", "work")
    run = mldebt("check", "--new-since", "main", repo)
    assert run.code == 1
    assert len(run.findings) == 1
    assert run.findings[0].startswith("score.py:6:5: MLD201")
    assert "1 new, 3 unchanged (not reported), 0 fixed since main." in run.stdout


def test_new_since_lists_what_was_fixed(repo: Path) -> None:
    edit(repo / "train.py", "    # TODO: cache the parsed frame\n", "")
    run = mldebt("check", "--new-since", "HEAD", repo)
    assert run.code == 0
    assert "0 new, 2 unchanged (not reported), 1 fixed since HEAD:" in run.stdout
    assert "  fixed: train.py: MLD701 TODO comment: TODO: cache the parsed frame" in run.stdout


def test_new_since_follows_a_renamed_file(repo: Path) -> None:
    git(repo, "mv", "train.py", "training.py")
    git(repo, "commit", "-q", "-m", "rename")
    run = mldebt("check", "--fail-on", "info", "--new-since", "HEAD~1", repo)
    assert run.code == 0, run.stdout
    assert "0 new, 3 unchanged" in run.stdout


def test_new_since_counts_uncommitted_and_untracked_work(repo: Path) -> None:
    write(repo, {"scratch.py": "def f(X, y):\n" + DEAD + "    return 0\n"})
    run = mldebt("check", "--new-since", "HEAD", repo)
    assert run.code == 1
    assert [f.split(":")[0] for f in run.findings] == ["scratch.py"]


def test_new_since_analyses_the_ref_through_the_same_cache(repo: Path) -> None:
    cache = repo / ".mldebt_cache"
    assert mldebt("check", repo).code == 1  # fills the cache with the three files
    entries = set(cache.rglob("*.json"))
    assert len(entries) == 3
    edit(repo / "score.py", "return model.score(X, y)", "return model.score(X, y) * 100")
    mldebt("check", "--new-since", "HEAD", repo)
    # Only the edited score.py is analysed afresh; every file at HEAD was a cache hit.
    assert len(set(cache.rglob("*.json")) - entries) == 1


def test_new_since_json_summary_is_valid_and_names_the_commit(repo: Path) -> None:
    head = git(repo, "rev-parse", "HEAD").strip()
    run = mldebt("check", "--format", "json", "--new-since", "HEAD", repo)
    document = json.loads(run.stdout)
    jsonschema.validate(document, schema())
    assert document["summary"]["new_since"]["commit"] == head
    assert document["summary"]["new_since"]["unchanged"] == 3
    assert document["findings"] == []


def test_new_since_of_a_single_path_compares_only_that_path(repo: Path) -> None:
    edit(repo / "train.py", "    # TODO: cache the parsed frame\n", "")
    run = mldebt("check", "--new-since", "HEAD", repo / "score.py")
    assert run.code == 0
    assert "0 new, 0 unchanged (not reported), 0 fixed since HEAD." in run.stdout


def test_new_since_on_a_ref_before_the_folder_existed_reports_everything(repo: Path) -> None:
    write(
        repo,
        {"sub/pyproject.toml": "[tool.mldebt]\n" + SELECT, "sub/a.py": "def f(X, y):\n" + DEAD},
    )
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "sub")
    run = mldebt("check", "--new-since", "HEAD~1", repo / "sub")
    assert run.code == 1
    assert [f.split(":")[0] for f in run.findings] == ["a.py"]


# the gates ---------------------------------------------------------------------------------


def test_max_new_debt_fails_only_above_the_budget(repo: Path) -> None:
    add_dead_code(repo / "score.py")
    within = mldebt("check", "--new-since", "HEAD", "--max-new-debt", "60", repo)
    assert within.code == 0
    assert "is within --max-new-debt 1h" in within.stdout
    above = mldebt("check", "--new-since", "HEAD", "--max-new-debt", "1", repo)
    assert above.code == 1
    assert "exceeds --max-new-debt 1min" in above.stdout


def test_fail_on_still_chooses_which_new_findings_fail(repo: Path) -> None:
    edit(repo / "score.py", "    return", "    # TODO: check the metric\n    return")
    assert mldebt("check", "--diff", "HEAD", repo).code == 0  # info does not fail by default
    assert mldebt("check", "--diff", "HEAD", "--fail-on", "info", repo).code == 1


def test_diff_and_new_since_need_a_git_work_tree(tmp_path: Path) -> None:
    write(tmp_path, {"mldebt.toml": SELECT, "a.py": CLEAN})
    for option in ("--diff", "--new-since"):
        run = mldebt("check", option, "main", tmp_path)
        assert run.code == 2
        assert f"{option} needs a git work tree, and {tmp_path} is not inside one" in run.stderr


def test_an_unknown_ref_exits_2_with_a_hint(repo: Path) -> None:
    for option in ("--diff", "--new-since"):
        run = mldebt("check", option, "origin/nope", repo)
        assert run.code == 2
        assert f"{option}: unknown git revision 'origin/nope'" in run.stderr
        assert "fetch-depth: 0" in run.stderr


def test_an_option_like_ref_is_refused(repo: Path) -> None:
    run = mldebt("check", "--diff=--output=/tmp/x", repo)
    assert run.code == 2
    assert "is not a git revision" in run.stderr


def test_baseline_and_new_since_combine(repo: Path) -> None:
    assert mldebt("baseline", repo).code == 0
    add_dead_code(repo / "score.py")
    run = mldebt("check", "--baseline", repo / ".mldebt-baseline.json", "--new-since", "HEAD", repo)
    assert run.code == 1
    assert len(run.findings) == 1
    assert "Compared with the baseline" in run.stdout
    assert "Compared with HEAD" in run.stdout
