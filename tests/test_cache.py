"""The per-file cache: keyed by content and by everything else the outcome depends on, never
trusted blindly, never in the way, and enough on its own to build the project graph."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import libcst
import pytest
from click.testing import CliRunner

import mldebt.cache
import mldebt.engine as engine
from mldebt.api import AnalysisResult, analyse
from mldebt.cache import CACHE_DIR, Cache
from mldebt.cli import main
from mldebt.config import parse_config, resolve_rules
from mldebt.fileprocess import analyse_bytes
from mldebt.registry import load_registry
from mldebt.rule import FileRule

KEY = "ab" + "0" * 62
VALUE: dict[str, Any] = {"reports": [], "facts": None, "suppressions": [], "cells": [[1, 1]]}


def _project(root: Path, files: int = 4) -> Path:
    (root / "mldebt.toml").write_text("", encoding="utf-8")
    for n in range(files):
        (root / f"step{n}.py").write_text(
            f"import pandas as pd\nfrom step{max(n - 1, 0)} import load\n\n"
            f"# TODO: step {n} is slow\ndf = pd.read_csv('{n}.csv')\n# df = df.dropna()\n",
            encoding="utf-8",
        )
    return root


def _analyse(root: Path, jobs: int = 1, **config: Any) -> AnalysisResult:
    return analyse([root], parse_config(config, root, root / "mldebt.toml"), jobs=jobs)


def _report(result: AnalysisResult) -> list[tuple[str, int, str, str]]:
    return [(f.path, f.line, f.rule, f.message) for f in result.findings]


def _entries(root: Path) -> list[Path]:
    return sorted((root / CACHE_DIR).rglob("*.json"))


@pytest.fixture
def parsed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The files the per-file pass analyses (in this process: these tests use jobs=1)."""
    seen: list[str] = []
    real = analyse_bytes

    def spy(rel: str, data: bytes, rules: Any) -> Any:
        seen.append(rel)
        return real(rel, data, rules)

    monkeypatch.setattr(engine, "analyse_bytes", spy)
    return seen


# the Cache class ---------------------------------------------------------------------------


def test_a_stored_value_comes_back(tmp_path: Path) -> None:
    cache = Cache(tmp_path / CACHE_DIR, "salt")
    assert cache.get(KEY) is None
    cache.put(KEY, VALUE)
    assert cache.get(KEY) == VALUE


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda text: "\x00\xff not json at all", id="garbage"),
        pytest.param(lambda text: text[: len(text) // 2], id="truncated"),
        pytest.param(lambda text: "", id="empty"),
        pytest.param(lambda text: text.replace('"cells"', '"cel'), id="corrupt"),
        pytest.param(lambda text: "[1, 2, 3]", id="not-an-object"),
        pytest.param(lambda text: json.dumps({"key": KEY, "value": [1]}), id="value-not-object"),
        pytest.param(lambda text: "[" * 100_000, id="nested-too-deep"),
    ],
)
def test_a_damaged_entry_is_ignored_and_rebuilt(tmp_path: Path, damage: Any) -> None:
    cache = Cache(tmp_path / CACHE_DIR, "salt")
    cache.put(KEY, VALUE)
    entry = cache.path(KEY)
    entry.write_text(damage(entry.read_text(encoding="utf-8")), encoding="utf-8")
    assert cache.get(KEY) is None
    cache.put(KEY, VALUE)
    assert cache.get(KEY) == VALUE


def test_an_entry_written_for_another_key_is_ignored(tmp_path: Path) -> None:
    cache = Cache(tmp_path / CACHE_DIR, "salt")
    other = "cd" + "1" * 62
    cache.put(other, VALUE)
    cache.path(KEY).parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(cache.path(other), cache.path(KEY))
    assert cache.get(KEY) is None


def test_the_cache_folder_says_what_it_is(tmp_path: Path) -> None:
    folder = tmp_path / CACHE_DIR
    Cache(folder, "salt").put(KEY, VALUE)
    assert (folder / ".gitignore").read_text(encoding="utf-8").splitlines()[-1] == "*"
    assert (folder / "CACHEDIR.TAG").read_text(encoding="utf-8").startswith("Signature: 8a477f59")
    assert [p.name for p in folder.rglob("*") if p.name.startswith(".tmp")] == []


def test_the_key_depends_on_content_path_salt_and_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = Cache(tmp_path, "salt")
    key = cache.key("a.py", b"x = 1\n")
    assert cache.key("a.py", b"x = 1\n") == key
    assert cache.key("a.py", b"x = 2\n") != key
    assert cache.key("b.py", b"x = 1\n") != key
    assert Cache(tmp_path, "other salt").key("a.py", b"x = 1\n") != key
    monkeypatch.setattr(mldebt.cache, "__version__", "99.0")
    assert Cache(tmp_path, "salt").key("a.py", b"x = 1\n") != key


def test_the_salt_depends_on_the_file_rules_and_their_options(tmp_path: Path) -> None:
    registry = load_registry()

    def salt(**config: Any) -> str:
        enabled = resolve_rules(parse_config(config, tmp_path, None), registry)
        file_rules = [(e.rule, e.options) for e in enabled if issubclass(e.rule, FileRule)]
        return engine._salt(registry, file_rules)

    default = salt()
    assert salt() == default
    assert salt(ignore=["MLD201"]) != default
    assert salt(select=["MLD701"]) != default
    assert salt(options={"MLD701": {"markers": ["TODO"]}}) != default
    assert salt(severity={"MLD701": "error"}) == default  # severity is applied afterwards


# the cache in a run --------------------------------------------------------------------------


def test_a_warm_run_parses_nothing_and_reports_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _project(tmp_path)
    cold = _analyse(root)
    assert len(_entries(root)) == 4 + 1  # one entry per file, one for the project rules

    def no_parsing(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a warm run parsed a file")

    monkeypatch.setattr(libcst, "parse_module", no_parsing)
    warm = _analyse(root)
    assert _report(warm) == _report(cold)
    assert warm.graph is not None and cold.graph is not None
    assert sorted(warm.graph.nx.edges) == sorted(cold.graph.nx.edges)  # facts came from the cache
    assert len(warm.graph.nx.edges) > 0


PIPELINE = {
    "prepare.py": "import pandas as pd\npd.read_csv('data/raw.csv').to_csv('data/clean.csv')\n",
    "features.py": (
        "import pandas as pd\npd.read_csv('data/clean.csv').to_parquet('data/features.parquet')\n"
    ),
    "train.py": (
        "import joblib\nimport pandas as pd\nfrom sklearn.linear_model import Ridge\n"
        "df = pd.read_parquet('data/features.parquet')\n"
        "joblib.dump(Ridge(alpha=1.0).fit(df[['x']], df['y']), 'model.joblib')\n"
    ),
}
DVC = """stages:
  prepare: {cmd: python prepare.py, deps: [data/raw.csv], outs: [data/clean.csv]}
  features: {cmd: python features.py, deps: [data/clean.csv], outs: [data/features.parquet]}
"""


@pytest.fixture
def project_passes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many times the project rules ran (the project pass is counted, not timed)."""
    runs: list[int] = []
    real = engine._project_pass

    def spy(graph: Any, enabled: Any) -> Any:
        runs.append(1)
        return real(graph, enabled)

    monkeypatch.setattr(engine, "_project_pass", spy)
    return runs


def test_a_warm_run_takes_the_project_findings_from_the_cache(
    tmp_path: Path, project_passes: list[int]
) -> None:
    for name, text in PIPELINE.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    cold = _analyse(tmp_path, select=["MLD101"])
    assert [f.rule for f in cold.findings] == ["MLD101"]
    warm = _analyse(tmp_path, select=["MLD101"])
    assert project_passes == [1]
    assert _report(warm) == _report(cold)
    assert [f.fingerprint for f in warm.findings] == [f.fingerprint for f in cold.findings]
    assert warm.graph is not None and len(warm.graph.nx.nodes) > 0  # built when asked


def test_a_changed_non_python_file_runs_the_project_rules_again(
    tmp_path: Path, project_passes: list[int]
) -> None:
    """A dvc.yaml declaring the pipeline is no Python file, yet the jungle finding goes."""
    for name, text in PIPELINE.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    assert [f.rule for f in _analyse(tmp_path, select=["MLD101"]).findings] == ["MLD101"]
    (tmp_path / "dvc.yaml").write_text(DVC, encoding="utf-8")
    assert _analyse(tmp_path, select=["MLD101"]).findings == []
    assert project_passes == [1, 1]


def test_other_project_rule_options_run_the_project_rules_again(
    tmp_path: Path, project_passes: list[int]
) -> None:
    for name, text in PIPELINE.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    _analyse(tmp_path, select=["MLD101"])
    longer = _analyse(tmp_path, select=["MLD101"], options={"MLD101": {"min-chain": 9}})
    assert project_passes == [1, 1]
    assert longer.findings == []


def test_only_a_changed_file_is_analysed_again(tmp_path: Path, parsed: list[str]) -> None:
    root = _project(tmp_path)
    _analyse(root)
    assert sorted(parsed) == ["step0.py", "step1.py", "step2.py", "step3.py"]
    parsed.clear()
    (root / "step2.py").write_text("# FIXME: rewritten\n", encoding="utf-8")
    result = _analyse(root)
    assert parsed == ["step2.py"]
    assert ("step2.py", 1, "MLD701", "FIXME comment: FIXME: rewritten") in _report(result)


def test_other_rule_options_use_other_entries(tmp_path: Path, parsed: list[str]) -> None:
    root = _project(tmp_path)
    _analyse(root)
    parsed.clear()
    _analyse(root, options={"MLD701": {"markers": ["FIXME"]}})
    assert len(parsed) == 4
    parsed.clear()
    _analyse(root)  # the first configuration's entries are still there
    assert parsed == []


def test_damaged_entries_are_rebuilt_by_the_next_run(tmp_path: Path, parsed: list[str]) -> None:
    root = _project(tmp_path)
    expected = _report(_analyse(root))
    for entry in _entries(root):
        entry.write_bytes(entry.read_bytes()[:40])
    parsed.clear()
    assert _report(_analyse(root)) == expected
    assert len(parsed) == 4
    parsed.clear()
    assert _report(_analyse(root)) == expected
    assert parsed == []


def test_a_cache_folder_that_cannot_be_written_only_costs_speed(tmp_path: Path) -> None:
    root = _project(tmp_path)
    expected = _report(_analyse(root))
    shutil.rmtree(root / CACHE_DIR)
    (root / CACHE_DIR).write_text("not a folder", encoding="utf-8")
    assert _report(_analyse(root)) == expected
    assert _report(_analyse(root, jobs=2)) == expected


@pytest.mark.skipif(os.geteuid() == 0, reason="permissions do not bind root")
def test_a_read_only_cache_folder_is_read_but_not_written(tmp_path: Path) -> None:
    root = _project(tmp_path)
    _analyse(root)
    before = _entries(root)
    (root / "step0.py").write_text("# TODO: changed\n", encoding="utf-8")
    folders = [root / CACHE_DIR, *(p for p in (root / CACHE_DIR).rglob("*") if p.is_dir())]
    for folder in folders:
        folder.chmod(0o555)
    try:
        result = _analyse(root)
    finally:
        for folder in folders:
            folder.chmod(0o755)
    assert ("step0.py", 1, "MLD701", "TODO comment: TODO: changed") in _report(result)
    assert _entries(root) == before


def test_no_cache_writes_nothing(tmp_path: Path) -> None:
    root = _project(tmp_path)
    run = CliRunner().invoke(main, ["check", "--no-cache", str(root)])
    assert run.exit_code == 1, run.output
    assert not (root / CACHE_DIR).exists()


def test_two_runs_at_once_share_the_cache_safely(tmp_path: Path) -> None:
    root = _project(tmp_path, files=engine._IN_PROCESS_BELOW + 10)
    command = [sys.executable, "-m", "mldebt", "check", "--format", "json", "-j", "2", str(root)]
    runs = [subprocess.Popen(command, stdout=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [run.communicate(timeout=300)[0] for run in runs]
    assert [run.returncode for run in runs] == [1, 1]
    assert outputs[0] == outputs[1]
    assert len(_entries(root)) == engine._IN_PROCESS_BELOW + 10 + 1  # + the project entry
    again = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert again.stdout == outputs[0]
