"""The run: discover -> per-file pass (pool + cache) -> project graph and rules -> filters.

Knows no rule by name: it runs whatever the selection enables. One process pool per run;
``jobs == 1`` (or a handful of files) runs in-process. A worker that dies (a native parser
crash) costs only the file it was on: unfinished files are retried one per process.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mldebt.analysis_rules import (
    InternalError,
    UnknownSuppressionCode,
    UnreadableFile,
    UnusedSuppression,
)
from mldebt.cache import CACHE_DIR, Cache
from mldebt.config import Config, EnabledRule, PerFileIgnores
from mldebt.discovery import SourceFile, discover
from mldebt.facts.model import ModuleFacts
from mldebt.fileprocess import Outcome, RuleSpec, analyse_bytes
from mldebt.findings import Finding, Location
from mldebt.graph import ProjectGraph
from mldebt.registry import Registry, load_registry
from mldebt.rule import FileRule, ProjectRule, Report
from mldebt.source import CellMap
from mldebt.suppress import Suppression, suppressed_by

Progress = Callable[[int, int], None]
_IN_PROCESS_BELOW = 24  # files; a pool's start-up costs more than it saves below this
_CHUNK = 8


@dataclass
class RunOptions:
    jobs: int = 0  # 0: the CPU count
    use_cache: bool = True
    progress: Progress | None = None
    cache_dir: Path | None = None  # default: .mldebt_cache/ under the configuration's root


@dataclass
class FileState:
    source: SourceFile
    outcome: Outcome


@dataclass
class EngineResult:
    findings: list[Finding]
    files: list[str]
    lines_of_code: int
    graph: ProjectGraph
    suppressed: int = 0
    facts: list[ModuleFacts] = field(default_factory=list)


def run(
    paths: Sequence[Path],
    config: Config,
    enabled: Sequence[EnabledRule],
    options: RunOptions,
    registry: Registry | None = None,
) -> EngineResult:
    registry = registry or load_registry()
    sources = list(
        discover(
            paths, config.root, [*config.exclude, *config.extend_exclude], config.respect_gitignore
        )
    )
    file_rules: list[RuleSpec] = [
        (e.rule, e.options) for e in enabled if issubclass(e.rule, FileRule)
    ]
    cache = (
        Cache(options.cache_dir or config.root / CACHE_DIR, _salt(registry, file_rules))
        if options.use_cache
        else None
    )
    states = _per_file_pass(sources, file_rules, cache, options)
    facts = [ModuleFacts.from_dict(s.outcome["facts"]) for s in states if s.outcome["facts"]]
    graph = ProjectGraph(facts)
    project_reports = _project_pass(graph, enabled)
    findings, suppressed = _finalise(states, project_reports, enabled, config, registry)
    loc = sum(f.lines_of_code for f in facts)
    return EngineResult(findings, [s.source.rel for s in states], loc, graph, suppressed, facts)


def _salt(registry: Registry, file_rules: Sequence[RuleSpec]) -> str:
    spec = repr(sorted((cls.code, sorted(opts.items())) for cls, opts in file_rules))
    return hashlib.sha256(f"{registry.signature}|{spec}".encode()).hexdigest()[:16]


# the per-file pass --------------------------------------------------------------------------


def _per_file_pass(
    sources: list[SourceFile], rules: list[RuleSpec], cache: Cache | None, options: RunOptions
) -> list[FileState]:
    outcomes: dict[int, Outcome] = {}
    todo: list[tuple[int, str, bytes, str | None]] = []
    for index, source in enumerate(sources):
        try:
            data = source.read()
        except OSError as exc:
            outcomes[index] = _unreadable(f"cannot read: {exc.strerror or exc}")
            continue
        key = cache.key(source.rel, data) if cache else None
        cached = cache.get(key) if cache and key else None
        if cached is not None and _valid(cached):
            outcomes[index] = cached
        else:
            todo.append((index, source.rel, data, key))
    jobs = options.jobs or os.cpu_count() or 1
    keys = {index: key for index, _, _, key in todo}
    total = len(todo)
    for done, (index, outcome) in enumerate(_analyse_all(todo, rules, jobs), start=1):
        outcomes[index] = outcome
        key = keys[index]
        if cache and key:
            cache.put(key, outcome)
        if options.progress:
            options.progress(done, total)
    return [FileState(source, outcomes[i]) for i, source in enumerate(sources)]


def _valid(outcome: dict[str, Any]) -> bool:
    return all(k in outcome for k in ("reports", "facts", "suppressions", "cells"))


def _unreadable(message: str) -> Outcome:
    report = Report(UnreadableFile.code, message, 1, 1, 1, None, basis=message)
    return {"reports": [report.__dict__.copy()], "facts": None, "suppressions": [], "cells": []}


_WORKER_RULES: list[RuleSpec] = []


def _init_worker(specs: list[tuple[str, dict[str, Any]]]) -> None:
    registry = load_registry()
    _WORKER_RULES[:] = [(registry.rules[code], opts) for code, opts in specs]  # type: ignore[misc]


def _work(items: list[tuple[int, str, bytes]]) -> list[tuple[int, Outcome]]:
    return [(i, _safe_analyse(rel, data, _WORKER_RULES)) for i, rel, data in items]


def _safe_analyse(rel: str, data: bytes, rules: Sequence[RuleSpec]) -> Outcome:
    try:
        return analyse_bytes(rel, data, rules)
    except Exception as exc:  # a bug of ours costs this file, not the run
        message = f"mldebt failed on this file: {type(exc).__name__}: {exc}"
        report = Report(InternalError.code, message, 1, 1, 1, None, basis="internal-error")
        return {"reports": [report.__dict__.copy()], "facts": None, "suppressions": [], "cells": []}


def _analyse_all(
    todo: list[tuple[int, str, bytes, str | None]], rules: list[RuleSpec], jobs: int
) -> Iterable[tuple[int, Outcome]]:
    if jobs <= 1 or len(todo) < _IN_PROCESS_BELOW:
        for index, rel, data, _ in todo:
            yield index, _safe_analyse(rel, data, rules)
        return
    specs = [(cls.code, dict(opts)) for cls, opts in rules]
    items = [(i, rel, data) for i, rel, data, _ in todo]
    chunks = [items[i : i + _CHUNK] for i in range(0, len(items), _CHUNK)]
    finished: set[int] = set()
    try:
        with ProcessPoolExecutor(jobs, initializer=_init_worker, initargs=(specs,)) as pool:
            futures: list[Future[list[tuple[int, Outcome]]]] = [
                pool.submit(_work, c) for c in chunks
            ]
            for future in futures:
                for index, outcome in future.result():
                    finished.add(index)
                    yield index, outcome
    except BrokenProcessPool:
        # Some file killed its worker: retry the rest one file per process to find it.
        for index, rel, data in items:
            if index not in finished:
                yield index, _isolated(rel, data, specs)


def _isolated(rel: str, data: bytes, specs: list[tuple[str, dict[str, Any]]]) -> Outcome:
    try:
        with ProcessPoolExecutor(1, initializer=_init_worker, initargs=(specs,)) as pool:
            return pool.submit(_work, [(0, rel, data)]).result()[0][1]
    except BrokenProcessPool:
        message = "the parser process crashed on this file; it was skipped"
        report = Report(InternalError.code, message, 1, 1, 1, None, basis="crash")
        return {"reports": [report.__dict__.copy()], "facts": None, "suppressions": [], "cells": []}


# the project pass ---------------------------------------------------------------------------


def _project_pass(graph: ProjectGraph, enabled: Sequence[EnabledRule]) -> list[Report]:
    reports: list[Report] = []
    for entry in enabled:
        if not issubclass(entry.rule, ProjectRule):
            continue
        rule = entry.rule(graph, entry.options)
        try:
            rule.check()
        except Exception as exc:  # a broken project rule must not take the run down
            message = f"rule {rule.code} [{rule.name}] crashed: {type(exc).__name__}: {exc}"
            path = next(iter(graph.by_path), "")
            reports.append(Report(InternalError.code, message, 1, 1, 1, None, message, path=path))
            continue
        reports.extend(rule.reports)
    return reports


# findings -----------------------------------------------------------------------------------


def _finalise(
    states: list[FileState],
    project_reports: list[Report],
    enabled: Sequence[EnabledRule],
    config: Config,
    registry: Registry,
) -> tuple[list[Finding], int]:
    by_code = {e.rule.code: e for e in enabled}
    cells = {s.source.rel: CellMap.from_list(s.outcome["cells"]) for s in states}
    suppressions = {
        s.source.rel: [Suppression.from_dict(d) for d in s.outcome["suppressions"]] for s in states
    }
    per_path: dict[str, list[Report]] = {s.source.rel: [] for s in states}
    for state in states:
        for data in state.outcome["reports"]:
            report = Report(**data)
            report.path = state.source.rel
            per_path[report.path].append(report)
    for report in project_reports:
        per_path.setdefault(report.path, []).append(report)

    ignores = PerFileIgnores(config.per_file_ignores)
    findings: list[Finding] = []
    suppressed = 0
    for path in sorted(per_path):
        ignored_here = ignores.selectors(path)
        sups = suppressions.get(path, [])
        kept: list[Report] = []
        for report in sorted(per_path[path], key=lambda r: (r.line, r.column, r.rule)):
            entry = by_code.get(report.rule)
            if entry is None:
                continue
            rule = entry.rule
            if ignores.ignores(ignored_here, rule):
                continue
            if suppressed_by(sups, rule.code, rule.name, range(report.line, report.end_line + 1)):
                suppressed += 1
                continue
            kept.append(report)
        kept.extend(_suppression_reports(path, sups, by_code, registry, ignored_here))
        findings.extend(_to_findings(kept, by_code, cells))
    findings.sort(key=lambda f: f.sort_key)
    return findings, suppressed


def _suppression_reports(
    path: str,
    sups: list[Suppression],
    by_code: dict[str, EnabledRule],
    registry: Registry,
    ignored_here: list[str],
) -> list[Report]:
    """MLD003 for suppressions that silenced nothing, MLD004 for codes no rule has."""

    def at(sup: Suppression, code: str, message: str, basis: str) -> Report:
        return Report(code, message, sup.line, sup.column, sup.line, None, basis, path=path)

    reports = []
    for sup in sups:
        if sup.codes is None:
            if not sup.used:
                reports.append(at(sup, UnusedSuppression.code, "unused blanket suppression", "*"))
            continue
        if not sup.codes:
            message = "empty suppression: name the rules to ignore, e.g. ignore[MLD201]"
            reports.append(at(sup, UnusedSuppression.code, message, "[]"))
            continue
        unknown = [c for c in sup.codes if registry.lookup(c) is None]
        if unknown:
            message = f"unknown rule code or name in suppression: {', '.join(unknown)}"
            reports.append(at(sup, UnknownSuppressionCode.code, message, ",".join(unknown)))
        unused = [
            c
            for c in sup.codes
            if c not in sup.used
            and (rule := registry.lookup(c)) is not None
            and rule.code in by_code
        ]
        if unused:
            message = f"unused suppression: nothing reported here for {', '.join(unused)}"
            reports.append(at(sup, UnusedSuppression.code, message, ",".join(unused)))
    file_level = [s for s in sups if s.file_level]
    kept = []
    for report in reports:
        rule = registry.rules[report.rule]
        if report.rule not in by_code or PerFileIgnores.ignores(ignored_here, rule):
            continue
        if suppressed_by(file_level, rule.code, rule.name, range(report.line, report.line + 1)):
            continue
        kept.append(report)
    return kept


def _to_findings(
    reports: list[Report], by_code: dict[str, EnabledRule], cells: dict[str, CellMap]
) -> list[Finding]:
    seen: Counter[tuple[str, str, str]] = Counter()
    findings = []
    for report in reports:
        entry = by_code[report.rule]
        rule = entry.rule
        occurrence_key = (rule.code, report.path, report.basis)
        occurrence = seen[occurrence_key]
        seen[occurrence_key] += 1
        digest = hashlib.sha256(
            "\0".join([rule.code, report.path, report.basis, str(occurrence)]).encode()
        ).hexdigest()[:20]
        cell_map = cells.get(report.path, CellMap())
        cell, line = cell_map.locate(report.line)
        end_cell, end_line = cell_map.locate(report.end_line)
        if end_cell != cell or end_line < line:
            end_line = line
        findings.append(
            Finding(
                rule=rule.code,
                name=rule.name,
                category=rule.category,
                severity=entry.severity,
                path=report.path,
                line=line,
                column=report.column,
                end_line=end_line,
                end_column=report.end_column,
                message=report.message,
                debt_minutes=rule.remediation(report.size),
                fingerprint=digest,
                cell=cell,
                related=tuple(_relocate(r, cells) for r in report.related),
            )
        )
    return findings


def _relocate(data: dict[str, Any], cells: dict[str, CellMap]) -> Location:
    location = Location.from_dict(data)
    cell_map = cells.get(location.path)
    if cell_map is None or not cell_map.starts or location.cell is not None:
        return location
    cell, line = cell_map.locate(location.line)
    end = location.end_line
    if end is not None:
        end_cell, end = cell_map.locate(end)
        end = end if end_cell == cell and end >= line else line
    return Location(
        location.path, line, location.column, end, location.end_column, cell, location.message
    )
