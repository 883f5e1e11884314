"""Baselines: accept today's debt, fail only on new debt.

``mldebt baseline`` records every finding; ``mldebt check --baseline`` (or the ``baseline``
configuration key) reports only findings that are not recorded, says what was fixed, and
``--update-baseline`` shrinks the file as debt is paid, never growing it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner

from mldebt.api import analyse
from mldebt.baseline import BASELINE_NAME, Baseline, BaselineError
from mldebt.cli import main
from mldebt.testing import notebook_json

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "fixtures" / "demo"
SCHEMA = ROOT.parent / "shared" / "schemas" / "mldebt-report.schema.json"
SCHEMA_COPY = ROOT / "tests" / "schemas" / "mldebt-report.schema.json"

#: The rules these tests are about, so that rules added later do not change the counts.
SELECT = 'select = ["MLD001", "MLD201", "MLD701"]\n'
TRAIN = '''\
"""Training helpers."""
import pandas as pd


def load(path):
    # TODO: cache the parsed frame
    df = pd.read_csv(path)
    return df


def train(df):
    # model.fit(X, y)
    # model.save("m.pkl")
    return df.mean()


class Trainer:
    def fit(self, df):
        # FIXME: the learning rate is a guess
        return train(df)
'''
BROKEN = "def read(path):\n    return open(path.read()\n"
#: New debt that fails the default gate (commented-out code is a warning).
NEW_DEBT = "    # model.fit(X, y, epochs=3)\n    # model.save('old.h5')\n"
NOTEBOOK = "import pandas as pd\n# %%\n# TODO: plot the churn by tenure\ndf = pd.DataFrame()\n"


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


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if rel.endswith(".ipynb"):
            text = notebook_json(text)
        path.write_text(text, encoding="utf-8")
    return root


def fingerprints(root: Path) -> Counter[tuple[str, str, str]]:
    result = analyse([root], use_cache=False, jobs=1)
    return Counter((f.rule, f.path, f.fingerprint) for f in result.findings)


@pytest.fixture
def proj(tmp_path: Path) -> Path:
    return write(
        tmp_path / "proj",
        {
            "mldebt.toml": SELECT,
            "train.py": TRAIN,
            "broken.py": BROKEN,
            "explore.ipynb": NOTEBOOK,
        },
    )


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def add_new_debt(path: Path) -> None:
    """Append a function holding commented-out code (a warning: it fails the default gate)."""
    with path.open("a", encoding="utf-8") as handle:
        handle.write(
            "\n\ndef evaluate(model, X, y):\n" + NEW_DEBT + "    return model.score(X, y)\n"
        )


def schema() -> dict[str, Any]:
    path = SCHEMA if SCHEMA.is_file() else SCHEMA_COPY
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


# fingerprints survive edits that do not touch the debt --------------------------------------


def test_fingerprints_survive_a_line_shift(proj: Path) -> None:
    before = fingerprints(proj)
    for name in ("train.py", "broken.py"):
        path = proj / name
        path.write_text("import os\nimport sys\n\n\n" + path.read_text(encoding="utf-8"))
    write(proj, {"explore.ipynb": "import os\n# %%\n" + NOTEBOOK})  # a cell before them all
    assert fingerprints(proj) == before
    assert len(before) == 5


def test_fingerprints_survive_an_unrelated_edit(proj: Path) -> None:
    before = fingerprints(proj)
    edit(proj / "train.py", "    return df.mean()", "    df = df.dropna()\n    return df.median()")
    assert fingerprints(proj) == before


def test_fingerprints_survive_moving_code_within_the_file(proj: Path) -> None:
    before = fingerprints(proj)
    text = (proj / "train.py").read_text(encoding="utf-8")
    head, load, train, trainer = text.split("\n\n\n")
    (proj / "train.py").write_text("\n\n\n".join([head, trainer, train, load]) + "\n")
    assert fingerprints(proj) == before


def test_fingerprints_survive_renaming_an_unrelated_symbol(proj: Path) -> None:
    before = fingerprints(proj)
    text = (proj / "train.py").read_text(encoding="utf-8")
    (proj / "train.py").write_text(text.replace("train(df)", "fit_model(df)"))
    assert "def fit_model(df):" in (proj / "train.py").read_text()
    assert fingerprints(proj) == before


def test_fingerprints_survive_reindenting_the_file(proj: Path) -> None:
    before = fingerprints(proj)
    text = (proj / "train.py").read_text(encoding="utf-8")
    (proj / "train.py").write_text(text.replace("    ", "  "))
    assert fingerprints(proj) == before


def test_changing_the_flagged_code_changes_the_fingerprint(proj: Path) -> None:
    before = fingerprints(proj)
    edit(proj / "train.py", "TODO: cache the parsed frame", "TODO: cache the parsed frames")
    after = fingerprints(proj)
    assert len(before - after) == 1
    assert len(after - before) == 1


def test_identical_findings_in_one_scope_are_counted_not_merged(tmp_path: Path) -> None:
    twice = "def f():\n    # TODO: later\n    x = 1\n    # TODO: later\n    return x\n"
    write(tmp_path, {"mldebt.toml": SELECT + 'fail-on = "info"\n', "a.py": twice})
    assert mldebt("baseline", tmp_path).code == 0
    write(tmp_path, {"a.py": twice.replace("    return x", "    # TODO: later\n    return x")})
    run = mldebt("check", "--baseline", tmp_path / BASELINE_NAME, tmp_path)
    assert run.code == 1
    assert run.stdout.count("MLD701") == 1
    assert "2 unchanged" in run.stdout


# the file ----------------------------------------------------------------------------------


def test_the_baseline_file_is_sorted_with_one_entry_per_line(proj: Path) -> None:
    run = mldebt("baseline", proj)
    assert run.code == 0, run.stderr
    assert "recorded 5 findings in 3 files" in run.stdout
    text = (proj / BASELINE_NAME).read_text(encoding="utf-8")
    rows = [line.strip().rstrip(",") for line in text.splitlines() if '"fingerprint"' in line]
    assert len(rows) == 5
    entries = [json.loads(row) for row in rows]
    assert [list(e) for e in entries] == [["rule", "path", "fingerprint", "message", "count"]] * 5
    keys = [(e["path"], e["rule"], e["fingerprint"]) for e in entries]
    assert keys == sorted(keys)
    assert not any("line" in e for e in entries)
    assert json.loads(text)["mldebt_baseline"] == 1


def test_regenerating_after_a_line_shift_changes_nothing(proj: Path) -> None:
    mldebt("baseline", proj)
    first = (proj / BASELINE_NAME).read_bytes()
    path = proj / "train.py"
    path.write_text("import os\n\n" + path.read_text(encoding="utf-8"))
    mldebt("baseline", proj)
    assert (proj / BASELINE_NAME).read_bytes() == first


def test_the_baseline_file_gets_the_usual_permissions(proj: Path) -> None:
    mldebt("baseline", proj)
    umask = os.umask(0)
    os.umask(umask)
    assert (proj / BASELINE_NAME).stat().st_mode & 0o777 == 0o666 & ~umask


def test_baseline_goes_beside_the_configuration(proj: Path) -> None:
    mldebt("baseline", proj / "train.py")
    assert (proj / BASELINE_NAME).is_file()
    assert not (proj / "train.py").with_name("train.py" + BASELINE_NAME).exists()


def test_baseline_output_option_and_config_key_name_the_file(proj: Path) -> None:
    assert mldebt("baseline", proj, "-o", proj / "ci" / "debt.json").code == 0
    assert (proj / "ci" / "debt.json").is_file()
    (proj / "mldebt.toml").write_text(SELECT + 'baseline = "ci/debt.json"\n')
    edit(proj / "train.py", "# FIXME: the learning rate is a guess", "pass")
    run = mldebt("check", proj)
    assert run.code == 0
    assert "1 fixed since the baseline" in run.stdout


def test_a_baseline_round_trips_through_its_text() -> None:
    text = Baseline.parse(
        json.dumps(
            {
                "mldebt_baseline": 1,
                "findings": [
                    {"rule": "MLD701", "path": "b.py", "fingerprint": "f2", "message": "x"},
                    {"rule": "MLD201", "path": "a.py", "fingerprint": "f1", "count": 2},
                ],
            }
        ),
        "test",
    ).to_text()
    again = Baseline.parse(text, "test")
    assert again.to_text() == text
    assert [e.path for e in again.entries] == ["a.py", "b.py"]
    assert again.total == 3


# check --baseline --------------------------------------------------------------------------


def test_an_unchanged_project_has_no_new_debt(proj: Path) -> None:
    mldebt("baseline", proj)
    run = mldebt("check", "--baseline", proj / BASELINE_NAME, proj)
    assert run.code == 0
    assert run.stdout.splitlines()[0] == "No debt found in 3 files."
    assert "0 new, 5 unchanged (not reported), 0 fixed since the baseline." in run.stdout


def test_only_the_new_finding_is_reported_and_fails(proj: Path) -> None:
    mldebt("baseline", proj)
    add_new_debt(proj / "train.py")
    run = mldebt("check", "--baseline", proj / BASELINE_NAME, proj)
    assert run.code == 1
    findings = [line for line in run.stdout.splitlines() if ": MLD" in line]
    assert len(findings) == 1
    assert findings[0].startswith("train.py:24:5: MLD201 [commented-out-code] 2 lines")


def test_json_report_counts_new_unchanged_and_fixed_and_stays_valid(proj: Path) -> None:
    mldebt("baseline", proj)
    edit(proj / "train.py", "    # TODO: cache the parsed frame\n", "")
    edit(proj / "train.py", "    return df.mean()", "    # HACK: mean of everything\n    return 1")
    run = mldebt("check", "--format", "json", "--baseline", proj / BASELINE_NAME, proj)
    document = json.loads(run.stdout)
    jsonschema.validate(document, schema())
    summary = document["summary"]
    assert summary["findings"] == 1
    assert {k: summary["baseline"][k] for k in ("new", "unchanged", "fixed")} == {
        "new": 1,
        "unchanged": 4,
        "fixed": 1,
    }
    [fixed] = summary["baseline"]["fixed_findings"]
    assert (fixed["rule"], fixed["path"]) == ("MLD701", "train.py")
    assert "cache the parsed frame" in fixed["message"]


def test_text_report_lists_what_was_fixed(proj: Path) -> None:
    mldebt("baseline", proj)
    (proj / "broken.py").write_text("def read(path):\n    return open(path).read()\n")
    run = mldebt("check", "--baseline", proj / BASELINE_NAME, proj)
    assert run.code == 0
    assert "1 fixed since the baseline:" in run.stdout
    assert "  fixed: broken.py: MLD001 syntax error: '(' was never closed" in run.stdout


def test_a_deleted_file_counts_as_fixed(proj: Path) -> None:
    mldebt("baseline", proj)
    (proj / "explore.ipynb").unlink()
    run = mldebt("check", "--baseline", proj / BASELINE_NAME, proj)
    assert "1 fixed since the baseline:" in run.stdout


def test_checking_one_file_does_not_call_the_others_fixed(proj: Path) -> None:
    mldebt("baseline", proj)
    run = mldebt("check", "--baseline", proj / BASELINE_NAME, proj / "train.py")
    assert run.code == 0
    assert "0 new, 3 unchanged (not reported), 0 fixed since the baseline." in run.stdout


def test_the_configured_baseline_is_used_unless_no_baseline(proj: Path) -> None:
    mldebt("baseline", proj)
    (proj / "mldebt.toml").write_text(SELECT + f'baseline = "{BASELINE_NAME}"\n')
    assert mldebt("check", proj).code == 0
    everything = mldebt("check", "--no-baseline", proj)
    assert everything.code == 1
    assert everything.stdout.count(": MLD") == 5


def test_a_configured_baseline_that_is_missing_exits_2(proj: Path) -> None:
    (proj / "mldebt.toml").write_text(SELECT + 'baseline = "nowhere.json"\n')
    run = mldebt("check", proj)
    assert run.code == 2
    assert "nowhere.json: baseline not found (create it with `mldebt baseline`)" in run.stderr


def test_the_baseline_key_must_be_a_path(proj: Path) -> None:
    (proj / "mldebt.toml").write_text(SELECT + "baseline = true\n")
    run = mldebt("check", proj)
    assert run.code == 2
    assert "'baseline' must be a path" in run.stderr


# the ratchet -------------------------------------------------------------------------------


def test_update_baseline_removes_what_was_fixed(proj: Path) -> None:
    mldebt("baseline", proj)
    edit(proj / "train.py", "    # TODO: cache the parsed frame\n", "")
    run = mldebt("check", "--update-baseline", "--baseline", proj / BASELINE_NAME, proj)
    assert run.code == 0
    assert "removed 1 fixed finding" in run.stderr
    assert Baseline.load(proj / BASELINE_NAME).total == 4
    # debt that was paid cannot come back unnoticed
    edit(
        proj / "train.py",
        "    df = pd.read_csv",
        "    # TODO: cache the parsed frame\n    df = pd.read_csv",
    )
    again = mldebt("check", "--baseline", proj / BASELINE_NAME, proj)
    assert "TODO: cache the parsed frame" in again.stdout
    assert "1 new, 4 unchanged" in again.stdout


def test_update_baseline_never_adds_new_findings(proj: Path) -> None:
    mldebt("baseline", proj)
    before = (proj / BASELINE_NAME).read_bytes()
    add_new_debt(proj / "train.py")
    run = mldebt("check", "--update-baseline", "--baseline", proj / BASELINE_NAME, proj)
    assert run.code == 1
    assert "nothing fixed" in run.stderr
    assert (proj / BASELINE_NAME).read_bytes() == before


def test_update_baseline_without_a_baseline_exits_2(proj: Path) -> None:
    run = mldebt("check", "--update-baseline", proj)
    assert run.code == 2
    assert "--update-baseline needs a baseline" in run.stderr


# broken baselines --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"mldebt_baseline": 1, "findings": [', "invalid JSON"),
        ("<<<<<<< HEAD\n", "invalid JSON"),
        ("[]", "not an mldebt baseline"),
        ('{"mldebt_baseline": 99, "findings": []}', "format 99 is not supported"),
        ('{"mldebt_baseline": 1, "findings": {}}', "'findings' must be a list"),
        ('{"mldebt_baseline": 1, "findings": [{"rule": "MLD701"}]}', "'path' must be"),
        (
            '{"mldebt_baseline": 1, "findings": [{"rule": "A1", "path": "a.py", '
            '"fingerprint": "x", "count": 0}]}',
            "'count' must be a positive integer",
        ),
    ],
)
def test_a_corrupt_baseline_exits_2_and_is_never_overwritten(
    proj: Path, text: str, message: str
) -> None:
    path = proj / BASELINE_NAME
    path.write_text(text)
    for args in (["check"], ["check", "--update-baseline"]):
        run = mldebt(*args, "--baseline", path, proj)
        assert run.code == 2
        assert message in run.stderr
        assert "Traceback" not in run.stderr
    run = mldebt("baseline", proj)
    assert run.code == 2
    assert "refusing to overwrite it" in run.stderr
    assert path.read_text() == text


def test_loading_a_baseline_that_is_not_utf8_raises_a_baseline_error(tmp_path: Path) -> None:
    path = tmp_path / BASELINE_NAME
    path.write_bytes(b"\xff\xfe{")
    with pytest.raises(BaselineError, match="cannot read the baseline"):
        Baseline.load(path)


# the acceptance test: the demo project in git ----------------------------------------------


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


# Four lines that move the code down without changing what it does (code here would: a
# top-level call can make a module look like a script, and a statement above a docstring
# makes it no docstring).
SHIFT = "# Moved down by the test.\n\n\n\n"


def shift_every_file(root: Path) -> None:
    """Insert lines at the top of every file (after leading comment lines, which may be a
    shebang or an encoding cookie), and a cell at the top of every notebook."""
    for path in sorted(root.rglob("*.py")):
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        at = 0
        while at < len(lines) and lines[at].startswith("#"):
            at += 1
        path.write_text("".join([*lines[:at], SHIFT, *lines[at:]]), encoding="utf-8")
    for path in sorted(root.rglob("*.ipynb")):
        notebook = json.loads(path.read_text(encoding="utf-8"))
        for cell in notebook["cells"]:
            if cell["cell_type"] == "code" and not "".join(cell["source"]).startswith("%%"):
                cell["source"] = ["import logging\n", "\n", *cell["source"]]
        notebook["cells"].insert(
            0, {"cell_type": "markdown", "metadata": {}, "source": ["# Shifted\n"]}
        )
        path.write_text(json.dumps(notebook, indent=1) + "\n", encoding="utf-8")


@pytest.fixture
def demo_repo(tmp_path: Path) -> Path:
    repo = Path(
        shutil.copytree(DEMO, tmp_path / "demo", ignore=shutil.ignore_patterns(".mldebt_cache"))
    )
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "demo")
    assert mldebt("baseline", repo).code == 0
    git(repo, "add", BASELINE_NAME)
    git(repo, "commit", "-q", "-m", "baseline")
    return repo


def test_demo_shifted_everywhere_with_no_new_debt_passes(demo_repo: Path) -> None:
    recorded = Baseline.load(demo_repo / BASELINE_NAME)
    assert any(e.path == "utils/broken_loader.py" and e.rule == "MLD001" for e in recorded.entries)
    shift_every_file(demo_repo)
    git(demo_repo, "commit", "-q", "-am", "shift every line")
    run = mldebt("check", "--baseline", demo_repo / BASELINE_NAME, demo_repo)
    assert run.code == 0, run.stdout
    assert f"0 new, {recorded.total} unchanged (not reported), 0 fixed" in run.stdout


def test_demo_shifted_everywhere_with_one_new_instance_reports_exactly_it(
    demo_repo: Path,
) -> None:
    shift_every_file(demo_repo)
    edit(
        demo_repo / "train.py",
        "def load_data():\n",
        "def load_data():\n    # df = pd.read_parquet('features.parquet')\n"
        "    # df = df.sample(frac=0.1)\n",
    )
    git(demo_repo, "commit", "-q", "-am", "shift every line, add a marker")
    run = mldebt("check", "--format", "json", "--baseline", demo_repo / BASELINE_NAME, demo_repo)
    assert run.code == 1
    [finding] = json.loads(run.stdout)["findings"]
    assert (finding["rule"], finding["path"], finding["line"]) == ("MLD201", "train.py", 33)
    assert json.loads(run.stdout)["summary"]["baseline"]["fixed"] == 0


def test_demo_fingerprints_survive_moved_functions_and_a_renamed_helper(tmp_path: Path) -> None:
    """On the demo project with every installed rule, the code-flagging ML rules included."""
    demo = Path(
        shutil.copytree(DEMO, tmp_path / "demo", ignore=shutil.ignore_patterns(".mldebt_*"))
    )
    before = fingerprints(demo)
    train = demo / "train.py"
    text = train.read_text(encoding="utf-8")
    bucket = text[text.index("def tenure_bucket") : text.index("def load_data")]
    load = text[text.index("def load_data") : text.index("def main")]
    train.write_text(text.replace(bucket + load, load + bucket), encoding="utf-8")
    predict = demo / "predict.py"
    predict.write_text(
        predict.read_text(encoding="utf-8").replace("load_settings", "read_settings")
    )
    assert fingerprints(demo) == before
    assert len(before) >= 13


def test_demo_baseline_notebook_and_syntax_error_entries_are_stable(demo_repo: Path) -> None:
    recorded = {
        (e.rule, e.path, e.fingerprint) for e in Baseline.load(demo_repo / BASELINE_NAME).entries
    }
    shift_every_file(demo_repo)
    now = {(k[0], k[1], k[2]) for k in fingerprints(demo_repo)}
    notebook_and_broken = {k for k in recorded if k[1].endswith((".ipynb", "broken_loader.py"))}
    assert len(notebook_and_broken) >= 3
    assert notebook_and_broken <= now


def test_baseline_command_writes_where_the_configuration_says(tmp_path: Path) -> None:
    config = '[tool.mldebt]\nbaseline = "ci/mldebt-baseline.json"\n' + SELECT
    write(tmp_path, {"pyproject.toml": config, "a.py": "# TODO: one\n"})
    assert mldebt("baseline", tmp_path).code == 0
    assert Baseline.load(tmp_path / "ci" / "mldebt-baseline.json").total == 1
    assert mldebt("check", tmp_path).code == 0
