"""Project rules that need more of each file than the graph holds ask for it with
``file_facts``: computed in the per-file pass, cached with the file, shared by key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mldebt.analysis_rules import ANALYSIS_RULES
from mldebt.config import parse_config, resolve_rules
from mldebt.context import FileContext
from mldebt.engine import EngineResult, RunOptions, run
from mldebt.registry import Registry
from mldebt.rule import BAD, GOOD, ProjectRule

CALLS: list[str] = []


class LongestFile(ProjectRule):
    """Reports the file with the most lines, from per-file facts (never from disk)."""

    code = "TST901"
    name = "longest-file"
    category = "abstraction-debt"
    facts_key = "test.line-count"
    summary = what = why = limits = "A test rule."
    examples = (BAD({"a.py": "x = 1\n"}), GOOD({"a.py": ""}))

    @classmethod
    def file_facts(cls, context: FileContext) -> Any:
        CALLS.append(context.path)
        if "explode" in context.text:
            raise ValueError("cannot count this one")
        return {"lines": len(context.lines)}

    def check(self) -> None:
        counts = {
            path: facts.extra[self.facts_key]["lines"]
            for path, facts in self.graph.by_path.items()
            if facts.extra.get(self.facts_key)
        }
        if counts:
            path = max(sorted(counts), key=counts.__getitem__)
            self.report(path, 1, f"{path} is the longest file ({counts[path]} lines)", key=path)


class SameFacts(LongestFile):
    code = "TST902"
    name = "same-facts"


def _run(root: Path, *rules: type[ProjectRule], cache: bool = False) -> EngineResult:
    registry = Registry()
    for rule in (*ANALYSIS_RULES, *rules):
        registry.add(rule, "tests")
    registry.signature = "file-facts-test"
    config = parse_config({}, root, None)
    enabled = resolve_rules(config, registry)
    return run([root], config, enabled, RunOptions(jobs=1, use_cache=cache), registry)


def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).write_text(text, encoding="utf-8")
    return root


def test_file_facts_reach_the_project_rule_through_the_graph(tmp_path: Path) -> None:
    root = _tree(tmp_path, {"a.py": "x = 1\n", "b.py": "x = 1\ny = 2\nz = 3\n"})
    result = _run(root, LongestFile)
    assert [f.message for f in result.findings] == ["b.py is the longest file (4 lines)"]
    assert result.graph.by_path["a.py"].extra == {"test.line-count": {"lines": 2}}


def test_rules_sharing_a_key_share_one_computation_per_file(tmp_path: Path) -> None:
    root = _tree(tmp_path, {"a.py": "x = 1\n"})
    CALLS.clear()
    _run(root, LongestFile, SameFacts)
    assert CALLS == ["a.py"]


def test_warm_runs_take_file_facts_from_the_cache(tmp_path: Path) -> None:
    root = _tree(tmp_path, {"a.py": "x = 1\n", "b.py": "y = 2\n"})
    _run(root, LongestFile, cache=True)
    CALLS.clear()
    warm = _run(root, LongestFile, cache=True)
    assert CALLS == []
    assert warm.graph.by_path["b.py"].extra["test.line-count"] == {"lines": 2}


def test_a_crash_in_file_facts_costs_that_file_its_facts_only(tmp_path: Path) -> None:
    root = _tree(tmp_path, {"a.py": "x = 1\n", "b.py": "explode = 1\n\n\n\n"})
    result = _run(root, LongestFile)
    rules = sorted((f.path, f.rule) for f in result.findings)
    assert rules == [("a.py", "TST901"), ("b.py", "MLD005")]
    crash = next(f for f in result.findings if f.rule == "MLD005")
    assert "file facts of rule TST901 [longest-file] crashed: ValueError" in crash.message
