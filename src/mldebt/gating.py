"""Merge gates over an analysis: which findings a run reports and whether they fail it.

Each step takes an ``AnalysisResult`` and returns a narrower one, with a record of what it
did in the summary's extra fields:

- ``named_files``: the whole project was analysed (so cross-file rules see every module) but
  only the findings in the named paths are reported -- what a pre-commit hook wants;
- ``against_baseline``: only findings not in a baseline file (``summary.baseline``);
- ``new_since``: only findings whose fingerprints are not among the findings at a git ref,
  whose tree is analysed from git objects through the same cache (``summary.new_since``);
- ``changed_lines``: only findings on lines changed since a git ref, plus findings whose
  related locations touch a changed file (``summary.diff``).

Comparisons run before the diff filter, so that a finding outside the diff never counts as
fixed.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from mldebt.api import AnalysisResult, analyse, summarise
from mldebt.baseline import BASELINE_NAME, Baseline, Comparison
from mldebt.cache import CACHE_DIR
from mldebt.config import Config
from mldebt.discovery import SOURCE_SUFFIXES, DiscoveryError, relative
from mldebt.findings import Finding, Location
from mldebt.gitdiff import (
    Changes,
    GitError,
    changes_since,
    materialise,
    renames_since,
    resolve_commit,
    work_tree,
)


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.relative_to(folder)
    except ValueError:
        return False
    return True


def _under(path: str, prefixes: Sequence[str]) -> bool:
    return any(
        p in (".", "") or path == p or path.startswith(p.rstrip("/") + "/") for p in prefixes
    )


def narrowed(
    result: AnalysisResult,
    findings: list[Finding],
    files: list[str] | None = None,
    extra: dict[str, Any] | None = None,
    comparison: Comparison | None = None,
) -> AnalysisResult:
    """``result`` reporting only ``findings`` (and ``files``), with ``extra`` summary fields."""
    kept_files = result.files if files is None else files
    loc = result.summary.lines_of_code
    if files is not None and result.graph is not None:
        by_path = result.graph.by_path
        loc = sum(by_path[p].lines_of_code for p in kept_files if p in by_path)
    summary = summarise(
        findings, len(kept_files), loc, result.summary.suppressed, result.summary.languages
    )
    summary = dataclasses.replace(summary, extra={**result.summary.extra, **(extra or {})})
    return dataclasses.replace(
        result,
        findings=findings,
        summary=summary,
        files=list(kept_files),
        comparison=comparison if comparison is not None else result.comparison,
    )


# pre-commit: the whole project analysed, the named files reported -------------------------


def whole_project(targets: Sequence[Path], config: Config) -> tuple[Config, list[Path], list[str]]:
    """What to analyse so that cross-file rules see the project around ``targets``.

    The project is the configuration's root; without a configuration file, the git work tree
    holding the first target (else the folder the configuration search started from).
    Returns the configuration to use, the paths to analyse and the named paths relative to
    the root.
    """
    for target in targets:
        if not target.exists():
            raise DiscoveryError(f"{target}: no such file or directory")
    if config.source is None:
        try:
            top = work_tree(targets[0], "--whole-project")
        except GitError:
            top = None
        if top is not None:
            config = dataclasses.replace(config, root=top)
    root = config.root
    named = [t.resolve() for t in targets]
    analysed = [root, *(p for p in named if not _inside(p, root))]
    return config, analysed, [relative(p, root) for p in named]


def named_files(result: AnalysisResult, named: Sequence[str]) -> AnalysisResult:
    """Report only the findings in (and under) the named paths."""
    files = [f for f in result.files if _under(f, named)]
    findings = [f for f in result.findings if _under(f.path, named)]
    return narrowed(result, findings, files)


# baselines ---------------------------------------------------------------------------------


def baseline_path(config: Config, option: Path | None) -> Path:
    """``--baseline FILE`` (relative to the working folder), else the configuration's
    ``baseline`` key (relative to the configuration file), else the default name at the root."""
    if option is not None:
        return option
    if config.baseline:
        return config.root / config.baseline
    return config.root / BASELINE_NAME


def scope_of(result: AnalysisResult, targets: Sequence[Path]) -> Callable[[str], bool]:
    """Whether a recorded finding's path lies in what this run analysed: an analysed file,
    or a file under an analysed folder that no longer exists (deleting a file fixes its
    debt)."""
    analysed = set(result.files)
    root = result.config.root
    folders = [relative(t.resolve(), root) for t in targets if t.is_dir()]

    def in_scope(path: str) -> bool:
        if path in analysed:
            return True
        return _under(path, folders) and not (root / path).exists()

    return in_scope


def against_baseline(
    result: AnalysisResult,
    baseline: Baseline,
    where: str,
    targets: Sequence[Path],
    everything: Sequence[Finding] | None = None,
) -> AnalysisResult:
    """Only the findings that are not in ``baseline``.

    ``everything`` is the run's whole set of findings when an earlier step already narrowed
    ``result``: the comparison needs all of them, or what that step left out would count as
    fixed.
    """
    pool = result.findings if everything is None else everything
    comparison = baseline.compare(pool, scope_of(result, targets), where, "baseline")
    return narrowed(
        result,
        _still(result.findings, comparison.new),
        extra={"baseline": comparison.to_dict()},
        comparison=comparison,
    )


def _still(findings: Sequence[Finding], new: Sequence[Finding]) -> list[Finding]:
    """The findings that are also among ``new`` (the same objects)."""
    ids = {id(f) for f in new}
    return [f for f in findings if id(f) in ids]


# --new-since: the findings at a git ref ----------------------------------------------------


def findings_at(
    ref: str,
    config: Config,
    targets: Sequence[Path],
    *,
    jobs: int = 0,
    use_cache: bool = True,
) -> tuple[list[Finding], str]:
    """The findings of the same analysis (same configuration, same paths) on the tree of
    ``ref``, read from git objects into a temporary folder and analysed through this
    project's cache, so files unchanged since ``ref`` are cache hits. Returns the findings
    and the commit's hash."""
    top = work_tree(config.root, "--new-since")
    commit = resolve_commit(top, ref, "--new-since")
    root = config.root.resolve()
    if not _inside(root, top):
        raise GitError(f"--new-since: the project root {root} is outside the git work tree {top}")
    mapped_targets: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="mldebt-ref-") as temp:
        tree = Path(temp)
        keep = _tree_filter(root.relative_to(top).as_posix())
        materialise(top, commit, tree, keep, renames_since(top, commit))
        (tree / ".git").mkdir(exist_ok=True)  # .gitignore files apply as in the work tree
        ref_root = tree / root.relative_to(top)
        for target in targets:
            absolute = target.resolve()
            if not _inside(absolute, top):
                raise GitError(f"--new-since: {target} is outside the git work tree {top}")
            mapped = tree / absolute.relative_to(top)
            if mapped.exists():
                mapped_targets.append(mapped)
        if not mapped_targets:
            return [], commit
        ref_root.mkdir(parents=True, exist_ok=True)
        ref_config = dataclasses.replace(config, root=ref_root)
        at_ref = analyse(
            mapped_targets,
            ref_config,
            jobs=jobs,
            use_cache=use_cache,
            cache_dir=root / CACHE_DIR,
        )
    return at_ref.findings, commit


def _tree_filter(prefix: str) -> Callable[[str], bool]:
    """Source files and .gitignore files under the project root (``prefix`` in the tree)."""
    base = "" if prefix in (".", "") else prefix.rstrip("/") + "/"

    def keep(path: str) -> bool:
        if not path.startswith(base):
            return False
        return path.endswith(SOURCE_SUFFIXES) or path.rsplit("/", 1)[-1] == ".gitignore"

    return keep


def new_since(
    result: AnalysisResult,
    ref: str,
    analysed: Sequence[Path],
    named: Sequence[Path],
    *,
    jobs: int = 0,
    use_cache: bool = True,
    everything: Sequence[Finding] | None = None,
) -> AnalysisResult:
    """Only the findings that are not among the findings at ``ref`` (``analysed`` are the
    paths the run analysed, ``named`` those whose findings it reports; ``everything`` as for
    ``against_baseline``)."""
    before, commit = findings_at(ref, result.config, analysed, jobs=jobs, use_cache=use_cache)
    in_scope = scope_of(result, named)
    reference = Baseline.of(f for f in before if in_scope(f.path))
    pool = result.findings if everything is None else everything
    comparison = reference.compare(pool, in_scope, ref, "ref")
    extra = {"new_since": {**comparison.to_dict(), "commit": commit}}
    kept = _still(result.findings, comparison.new)
    return narrowed(result, kept, extra=extra, comparison=comparison)


# --diff: the lines changed since a git ref -------------------------------------------------


def changed_lines(result: AnalysisResult, ref: str) -> AnalysisResult:
    """Only the findings on lines changed since ``ref`` (work tree against ``ref``, untracked
    files whole; in notebooks, the cells whose source changed), plus findings whose related
    locations are on changed lines, or in a changed file when the finding spans files."""
    root = result.config.root
    top = work_tree(root, "--diff")
    changes = changes_since(top, resolve_commit(top, ref, "--diff"))
    kept = [f for f in result.findings if touches(f, changes, root)]
    changed = sorted(relative(top / p, root) for p in changes.files if p.endswith(SOURCE_SUFFIXES))
    extra = {"diff": {"reference": ref, "commit": changes.commit, "changed_files": changed}}
    return narrowed(result, kept, extra=extra)


def touches(finding: Finding, changes: Changes, root: Path) -> bool:
    here = Location(
        finding.path, finding.line, finding.column, finding.end_line, None, finding.cell
    )
    if _on_changed_lines(here, changes, root):
        return True
    for location in finding.related:
        if _on_changed_lines(location, changes, root):
            return True
        if location.path != finding.path and changes.get(root / location.path) is not None:
            return True  # a chain across files: any change to one of its files
    return False


def _on_changed_lines(location: Location, changes: Changes, root: Path) -> bool:
    change = changes.get(root / location.path)
    if change is None:
        return False
    end = location.end_line if location.end_line is not None else location.line
    return change.covers(location.line, end, location.cell)


# the gate ----------------------------------------------------------------------------------


def gate(result: AnalysisResult, max_new_debt: float | None = None) -> tuple[bool, float]:
    """Whether the run fails, and the debt (minutes) of the findings that fail it.

    Findings at or above ``fail-on`` fail the run; with ``max_new_debt``, only when their
    estimated debt together exceeds it.
    """
    failing = result.failing()
    debt = round(sum(f.debt_minutes for f in failing), 2)
    if not failing:
        return False, debt
    if max_new_debt is not None:
        return debt > max_new_debt, debt
    return True, debt
