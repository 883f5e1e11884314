"""The engine's per-file pass: in-process or in a pool, the same answer; a rule that raises
or a worker that dies costs one rule or one file, never the run."""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import libcst as cst
import pytest

import mldebt.engine as engine
from mldebt.analysis_rules import ANALYSIS_RULES
from mldebt.api import analyse
from mldebt.config import Config, parse_config, resolve_rules
from mldebt.engine import EngineResult, RunOptions, run
from mldebt.registry import Registry, load_registry
from mldebt.rule import GOOD, FileRule

POOL_THRESHOLD = engine._IN_PROCESS_BELOW
PARENT = "MLDEBT_TEST_PARENT_PID"


class _TestRule(FileRule):
    """Metadata every registered rule needs; the behaviour is in the subclasses."""

    category = "glue-code"
    summary = "A rule that exists to test the engine."
    what = "Nothing a user would want."
    why = "The engine must survive rules and files that go wrong."
    limits = "Only for tests."
    no_bad_example = "Its findings depend on the test that uses it."
    examples = (GOOD("x = 1\n"),)


class CrashesOnCalls(_TestRule):
    code = "TST901"
    name = "crashes-on-calls"

    def visit_Call(self, node: cst.Call) -> None:
        raise ZeroDivisionError("boom")


class DiesInAWorker(_TestRule):
    """Takes its whole process down on ``poison.py``, as a native parser crash would; only in
    a worker (the test's own process is recorded in the environment, which workers inherit)."""

    code = "TST902"
    name = "dies-in-a-worker"

    def visit_Module(self, node: cst.Module) -> None:
        parent = os.environ.get(PARENT)
        if self.context.path.endswith("poison.py") and parent and int(parent) != os.getpid():
            os._exit(1)


def _registry(*extra: type[FileRule]) -> Registry:
    registry = Registry()
    builtin = load_registry()
    for rule in ANALYSIS_RULES:
        registry.add(rule, "mldebt")
    for code, rule in builtin.rules.items():
        if code not in registry.rules:
            registry.add(rule, builtin.packs[code])
    for rule in extra:
        registry.add(rule, "tests")
    registry.signature = builtin.signature + "+tests"
    return registry


def _project(root: Path, files: int) -> Path:
    """``files`` modules importing each other, each with admitted debt and a call or two."""
    (root / "mldebt.toml").write_text("", encoding="utf-8")
    package = root / "pipeline"
    package.mkdir()
    (package / "__init__.py").write_text("", encoding="utf-8")
    for n in range(files):
        body = "".join(f"    total += step_{n}_{k}(rows)\n" for k in range(n % 7))
        (package / f"step{n:02d}.py").write_text(
            f"from pipeline.step{max(n - 1, 0):02d} import run as previous\n\n"
            f"# TODO: step {n} reads the whole table\n"
            f"def run(rows):\n    total = previous(rows)\n{body}"
            f"    # total = total * {n}\n    return total\n",
            encoding="utf-8",
        )
    return root


def _run(root: Path, jobs: int, registry: Registry | None = None, cache: bool = False) -> Any:
    registry = registry or _registry()
    config = parse_config({}, root, root / "mldebt.toml")
    enabled = resolve_rules(config, registry)
    return run([root], config, enabled, RunOptions(jobs=jobs, use_cache=cache), registry)


def _summary(result: EngineResult) -> list[tuple[str, int, str, str]]:
    return [(f.path, f.line, f.rule, f.message) for f in result.findings]


@pytest.fixture
def pools(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Counts the process pools the engine starts (their sizes)."""
    started: list[int] = []
    real = ProcessPoolExecutor

    def counting(workers: int, **kwargs: Any) -> Any:
        started.append(workers)
        return real(workers, **kwargs)

    monkeypatch.setattr(engine, "ProcessPoolExecutor", counting)
    yield started


def test_jobs_1_runs_in_this_process(tmp_path: Path, pools: list[int]) -> None:
    result = _run(_project(tmp_path, POOL_THRESHOLD + 6), jobs=1)
    assert pools == []
    assert len(result.files) == POOL_THRESHOLD + 7


def test_a_handful_of_files_is_not_worth_a_pool(tmp_path: Path, pools: list[int]) -> None:
    _run(_project(tmp_path, 3), jobs=2)
    assert pools == []


def test_the_pool_gives_exactly_what_one_process_gives(tmp_path: Path, pools: list[int]) -> None:
    root = _project(tmp_path, POOL_THRESHOLD + 6)
    alone = _run(root, jobs=1)
    assert pools == []
    pooled = _run(root, jobs=2)
    assert pools == [2]
    assert pooled.findings == alone.findings
    assert pooled.files == alone.files
    assert pooled.facts == alone.facts
    assert {"MLD201", "MLD701"} <= {f.rule for f in pooled.findings}


def test_a_rule_that_raises_costs_only_that_rule(tmp_path: Path) -> None:
    (tmp_path / "mldebt.toml").write_text("", encoding="utf-8")
    (tmp_path / "train.py").write_text("# TODO: tune\nmodel.fit(X, y)\n", encoding="utf-8")
    result = _run(tmp_path, jobs=1, registry=_registry(CrashesOnCalls))
    assert _summary(result) == [
        (
            "train.py",
            1,
            "MLD005",
            "rule TST901 [crashes-on-calls] crashed: ZeroDivisionError: boom",
        ),
        ("train.py", 1, "MLD701", "TODO comment: TODO: tune"),
    ]
    assert result.facts[0].calls  # the facts were still extracted


def test_a_rule_class_that_cannot_travel_keeps_the_run_in_process(
    tmp_path: Path, pools: list[int]
) -> None:
    class Local(_TestRule):  # defined in a function: cannot be pickled for a worker
        code = "TST903"
        name = "local-rule"

    root = _project(tmp_path, POOL_THRESHOLD + 6)
    result = _run(root, jobs=2, registry=_registry(Local))
    assert pools == []
    assert len([f for f in result.findings if f.rule == "MLD701"]) == POOL_THRESHOLD + 6


def test_a_worker_that_dies_costs_only_the_file_it_was_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pools: list[int]
) -> None:
    monkeypatch.setenv(PARENT, str(os.getpid()))
    root = _project(tmp_path, POOL_THRESHOLD + 6)
    # The largest file goes to a worker first, so the pool breaks with everything pending.
    poison = root / "pipeline" / "poison.py"
    poison.write_text("# TODO: never seen\n" + "x = 1\n" * 2000, encoding="utf-8")

    result = _run(root, jobs=2, registry=_registry(DiesInAWorker))

    assert len(pools) > 1  # the broken pool was replaced
    by_path: dict[str, list[str]] = {}
    for finding in result.findings:
        by_path.setdefault(finding.path, []).append(f"{finding.rule} {finding.message}")
    assert by_path.pop("pipeline/poison.py") == [
        "MLD005 the parser process crashed on this file; it was skipped"
    ]
    steps = [path for path in result.files if "/step" in path]
    assert len(steps) == POOL_THRESHOLD + 6
    for path in steps:
        assert any(message.startswith("MLD701") for message in by_path[path]), path


def test_batches_hold_every_file_once_largest_first() -> None:
    todo: list[engine.Task] = [(i, f"f{i}.py", b"x" * (i * 37 % 101 + 1), None) for i in range(200)]
    chunks = engine._chunks(todo, jobs=2)
    flat = [task for chunk in chunks for task in chunk]
    assert sorted(flat) == sorted(todo)
    sizes = [len(task[2]) for task in flat]
    assert sizes == sorted(sizes, reverse=True)
    assert 2 * 4 <= len(chunks) <= 2 * 2 * engine._CHUNKS_PER_JOB  # balanced, yet batched


DEAD_BRANCHES = """\
import random

from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

if False:
    X = StandardScaler().fit_transform(X)
    noise = random.random()
else:
    X_tr, X_te = train_test_split(X, test_size=0.2)
if True:
    pass
elif 0:
    jitter = random.random()
while None:
    jitter = random.random()
"""


def test_code_that_can_never_run_is_not_reported_except_as_dead_code(tmp_path: Path) -> None:
    """A leak or an unseeded draw under ``if False:`` cannot happen: only the rules about dead
    code (MLD211) speak of it. The live ``else`` keeps its findings."""
    (tmp_path / "prep.py").write_text(DEAD_BRANCHES, encoding="utf-8")
    config = Config(root=tmp_path, select=["MLD519", "MLD602", "MLD603", "MLD211"])
    result = analyse([tmp_path], config, jobs=1, use_cache=False)
    found = sorted((f.rule, f.line) for f in result.findings)
    assert found == [("MLD211", 6), ("MLD211", 11), ("MLD211", 15), ("MLD603", 10)]
