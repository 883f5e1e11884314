"""The run: discover -> per-file pass (pool + cache) -> project graph and rules -> filters.

Knows no rule by name: it runs whatever the selection enables. One process pool per run;
``jobs == 1`` (or a handful of files) runs in-process. A worker that dies (a native parser
crash) costs only the file it was on: unfinished files are retried one per process.
"""

from __future__ import annotations

import dataclasses
import gc
import hashlib
import os
import pickle
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
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
from mldebt.discovery import CONFIG_SUFFIXES, SourceFile, discover
from mldebt.facts.config import ConfigFile, read_config_files
from mldebt.facts.model import ModuleFacts
from mldebt.fileprocess import Outcome, RuleSpec, analyse_bytes
from mldebt.findings import Finding, Location
from mldebt.graph import ProjectGraph
from mldebt.registry import Registry, load_registry
from mldebt.rule import FileRule, ProjectRule, Report
from mldebt.secrets import scrub
from mldebt.source import CellMap
from mldebt.suppress import Suppression, suppressed_by

Progress = Callable[[int, int], None]
#: One file to analyse: its index in the run, path relative to the root, bytes, cache key.
Task = tuple[int, str, bytes, str | None]
_IN_PROCESS_BELOW = 24  # files; a pool's start-up costs more than it saves below this
_CHUNKS_PER_JOB = 16  # batches per worker: enough to balance, few enough to batch traffic
_MAX_CHUNK = 64  # files


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
    key: str | None = None  # the cache key of its content (None without a cache)


@dataclass
class EngineResult:
    findings: list[Finding]
    files: list[str]
    lines_of_code: int
    #: The project graph, or how to build it: a run whose project findings came from the
    #: cache never needs one unless a report or export asks.
    graph_source: ProjectGraph | Callable[[], ProjectGraph]
    suppressed: int = 0
    facts: list[ModuleFacts] = field(default_factory=list)
    #: Files by language (extension), counted by discovery: the project's language mix.
    languages: dict[str, int] = field(default_factory=dict)

    @property
    def graph(self) -> ProjectGraph:
        source = self.graph_source
        if not isinstance(source, ProjectGraph):
            self.graph_source = source = source()
        return source


def run(
    paths: Sequence[Path],
    config: Config,
    enabled: Sequence[EnabledRule],
    options: RunOptions,
    registry: Registry | None = None,
) -> EngineResult:
    registry = registry or load_registry()
    languages: Counter[str] = Counter()
    sources = list(
        discover(
            paths,
            config.root,
            [*config.exclude, *config.extend_exclude],
            config.respect_gitignore,
            languages=languages,
        )
    )
    file_rules: list[RuleSpec] = [
        (e.rule, e.options)
        for e in enabled
        if issubclass(e.rule, FileRule)
        or (issubclass(e.rule, ProjectRule) and e.rule.wants_file_facts())
    ]
    cache = (
        Cache(options.cache_dir or config.root / CACHE_DIR, _salt(registry, file_rules))
        if options.use_cache
        else None
    )
    with _collector_paused():  # bulk loading: nothing here makes cyclic garbage
        states = _per_file_pass(sources, file_rules, cache, options)
        facts = _facts(states)
        config_files = _config_files(paths, config)
    built: list[ProjectGraph] = []

    def graph() -> ProjectGraph:
        if not built:
            with _collector_paused():
                built.append(ProjectGraph(facts, config.root))
                built[0].add_config(config_files)
        return built[0]

    with _collector_paused():  # project rules build many small objects and few cycles
        project_reports = _cached_project_pass(
            graph, enabled, cache, states, config_files, config.root
        )
    findings, suppressed = _finalise(states, project_reports, enabled, config, registry)
    loc = sum(f.lines_of_code for f in facts)
    files = [s.source.rel for s in states]
    mix = dict(sorted(languages.items(), key=lambda kv: (-kv[1], kv[0])))
    return EngineResult(findings, files, loc, built[0] if built else graph, suppressed, facts, mix)


def _config_files(paths: Sequence[Path], config: Config) -> list[ConfigFile]:
    """The settings files under the analysed folders (same excludes as the sources)."""
    folders = [p for p in paths if p.is_dir()]
    if not folders:
        return []
    found = discover(
        folders,
        config.root,
        [*config.exclude, *config.extend_exclude],
        config.respect_gitignore,
        CONFIG_SUFFIXES,
    )
    return read_config_files(found)


def _salt(registry: Registry, file_rules: Sequence[RuleSpec]) -> str:
    spec = repr(sorted((cls.code, sorted(opts.items())) for cls, opts in file_rules))
    return hashlib.sha256(f"{registry.signature}|{spec}".encode()).hexdigest()[:16]


# the per-file pass --------------------------------------------------------------------------


def _per_file_pass(
    sources: list[SourceFile], rules: list[RuleSpec], cache: Cache | None, options: RunOptions
) -> list[FileState]:
    """Every file's outcome: from the cache when its content was seen before, else analysed
    (and then cached by whoever analysed it, a worker or this process)."""
    outcomes: dict[int, Outcome] = {}
    keys: dict[int, str | None] = {}
    todo: list[Task] = []
    for index, source in enumerate(sources):
        try:
            data = source.read()
        except OSError as exc:
            outcomes[index] = _unreadable(f"cannot read: {exc.strerror or exc}")
            continue
        key = cache.key(source.rel, data) if cache else None
        keys[index] = key
        cached = cache.get(key) if cache and key else None
        if cached is not None and _valid(cached):
            outcomes[index] = cached
        else:
            todo.append((index, source.rel, data, key))
    jobs = options.jobs or os.cpu_count() or 1
    total = len(todo)
    for done, (index, outcome) in enumerate(_analyse_all(todo, rules, jobs, cache), start=1):
        outcomes[index] = outcome
        if options.progress:
            options.progress(done, total)
    return [FileState(source, outcomes[i], keys.get(i)) for i, source in enumerate(sources)]


def _facts(states: list[FileState]) -> list[ModuleFacts]:
    """Every analysed file's facts as objects; the plain-data copies are let go."""
    found = []
    for state in states:
        data = state.outcome["facts"]
        if data:
            found.append(ModuleFacts.from_dict(data))
            state.outcome["facts"] = None
    return found


def _valid(outcome: dict[str, Any]) -> bool:
    return all(k in outcome for k in ("reports", "facts", "suppressions", "cells"))


def _unreadable(message: str) -> Outcome:
    return _failed(UnreadableFile.code, message, message)


def _failed(code: str, message: str, basis: str) -> Outcome:
    """The outcome of a file that could not be analysed: one report at its top."""
    report = Report(code, message, 1, 1, 1, None, basis=basis)
    return {"reports": [report.__dict__.copy()], "facts": None, "suppressions": [], "cells": []}


_WORKER_RULES: list[RuleSpec] = []
_WORKER_CACHE: list[Cache] = []


def _init_worker(rules: list[RuleSpec], cache: Cache | None) -> None:
    _WORKER_RULES[:] = rules
    _WORKER_CACHE[:] = [cache] if cache is not None else []
    # A worker's heap is only the file at hand: collect its cycles after each file
    # (see _analyse_one) instead of letting the collector rescan live syntax trees.
    gc.disable()
    gc.freeze()


def _work(tasks: list[Task]) -> list[tuple[int, Outcome]]:
    cache = _WORKER_CACHE[0] if _WORKER_CACHE else None
    return [(task[0], _analyse_one(task, _WORKER_RULES, cache)) for task in tasks]


def _analyse_one(task: Task, rules: Sequence[RuleSpec], cache: Cache | None) -> Outcome:
    """Analyse one file, cache what was learnt, and free the file's cyclic garbage."""
    _, rel, data, key = task
    try:
        outcome = analyse_bytes(rel, data, rules)
    except Exception as exc:  # a bug of ours costs this file, not the run (and is not cached)
        message = f"mldebt failed on this file: {type(exc).__name__}: {exc}"
        outcome = _failed(InternalError.code, message, "internal-error")
    else:
        if cache is not None and key is not None:
            cache.put(key, outcome)
    gc.collect(0)  # only what this file allocated: everything older is frozen or alive
    return outcome


def _analyse_all(
    todo: list[Task], rules: list[RuleSpec], jobs: int, cache: Cache | None
) -> Iterable[tuple[int, Outcome]]:
    """Outcomes of ``todo`` in completion order: in this process for ``jobs == 1`` or a
    handful of files, else in one pool of worker processes fed with batches."""
    specs: list[RuleSpec] = [(cls, dict(opts)) for cls, opts in rules]
    if jobs <= 1 or len(todo) < _IN_PROCESS_BELOW or not _portable(specs):
        with _collector_paused():
            # what is alive now (cached outcomes) stays alive: keep it out of the per-file
            # collections, which should scan only what the file allocated
            gc.freeze()
            try:
                for task in todo:
                    yield task[0], _analyse_one(task, rules, cache)
            finally:
                gc.unfreeze()
        return
    finished: set[int] = set()
    try:
        with _pool(min(jobs, len(todo)), specs, cache) as pool:
            futures = [pool.submit(_work, chunk) for chunk in _chunks(todo, jobs)]
            for future in as_completed(futures):
                for index, outcome in future.result():
                    finished.add(index)
                    yield index, outcome
    except BrokenProcessPool:
        # A file killed its worker (a native crash): find it without losing the others.
        yield from _recover([t for t in todo if t[0] not in finished], jobs, specs, cache)


def _portable(specs: list[RuleSpec]) -> bool:
    """Can the rules travel to a worker? Classes go by reference (module and name), so any
    pack's rules can, the entry-point ones or a registry built by an embedding tool; a class
    defined inside a function cannot, and its run stays in this process."""
    try:
        pickle.dumps(specs)
    except (pickle.PicklingError, AttributeError, TypeError):
        return False
    return True


def _pool(workers: int, specs: list[RuleSpec], cache: Cache | None) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(workers, initializer=_init_worker, initargs=(specs, cache))


def _recover(
    todo: list[Task], jobs: int, specs: list[RuleSpec], cache: Cache | None
) -> Iterator[tuple[int, Outcome]]:
    """Analyse ``todo`` one file per task with at most ``jobs`` in flight, so that when a
    worker dies the culprit is one of those few: each of them is retried alone, in a process
    of its own, and the rest go on in a fresh pool."""
    pending = list(reversed(todo))
    while pending:
        in_flight: dict[Future[list[tuple[int, Outcome]]], Task] = {}
        try:
            with _pool(jobs, specs, cache) as pool:
                while pending or in_flight:
                    while pending and len(in_flight) < jobs:
                        task = pending.pop()
                        in_flight[pool.submit(_work, [task])] = task
                    done = next(as_completed(in_flight))
                    result = done.result()[0]  # raises while the task is still in flight
                    del in_flight[done]
                    yield result
        except BrokenProcessPool:
            for task in in_flight.values():
                yield task[0], _isolated(task, specs, cache)


def _chunks(todo: list[Task], jobs: int) -> list[list[Task]]:
    """Batches for the pool, largest files first, each of roughly the same size in bytes.

    Big batches pay less for inter-process traffic, small ones balance the load; the
    largest files go first so that no worker is left with one at the very end.
    """
    ordered = sorted(todo, key=lambda task: len(task[2]), reverse=True)
    budget = max(sum(len(task[2]) for task in todo) // (jobs * _CHUNKS_PER_JOB), 1)
    chunks: list[list[Task]] = []
    chunk: list[Task] = []
    size = 0
    for task in ordered:
        chunk.append(task)
        size += len(task[2])
        if size >= budget or len(chunk) >= _MAX_CHUNK:
            chunks.append(chunk)
            chunk, size = [], 0
    if chunk:
        chunks.append(chunk)
    return chunks


def _isolated(task: Task, specs: list[RuleSpec], cache: Cache | None) -> Outcome:
    try:
        with _pool(1, specs, cache) as pool:
            result: list[tuple[int, Outcome]] = pool.submit(_work, [task]).result()
            return result[0][1]
    except BrokenProcessPool:
        message = "the parser process crashed on this file; it was skipped"
        return _failed(InternalError.code, message, "crash")


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Automatic garbage collection off (each file's cycles are collected after it): the
    collector would otherwise rescan every live syntax tree and cached outcome many times."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


# the project pass ---------------------------------------------------------------------------


def _cached_project_pass(
    graph: Callable[[], ProjectGraph],
    enabled: Sequence[EnabledRule],
    cache: Cache | None,
    states: list[FileState],
    config_files: list[ConfigFile],
    root: Path,
) -> list[Report]:
    """The project rules' reports, from the cache when every file, settings file, rule and
    option is as it was (a warm run with nothing changed builds no graph at all)."""
    project = [e for e in enabled if issubclass(e.rule, ProjectRule)]
    if not project:
        return []
    key = _project_key(cache, project, states, config_files, root)
    if cache is not None and key is not None:
        cached = cache.get(key)
        if cached is not None and isinstance(cached.get("reports"), list):
            try:
                return [Report(**data) for data in cached["reports"]]
            except TypeError:  # written by another version: run the rules again
                pass
    reports = _project_pass(graph(), project)
    if cache is not None and key is not None:
        cache.put(key, {"reports": [dict(r.__dict__) for r in reports]})
    return reports


def _project_key(
    cache: Cache | None,
    project: Sequence[EnabledRule],
    states: list[FileState],
    config_files: list[ConfigFile],
    root: Path,
) -> str | None:
    """What the project pass depends on: every file's content key (which covers the per-file
    rules and mldebt's code), the settings files, the project rules with their options, and
    the other files of the tree, which project rules read (Makefiles, dvc.yaml, CI files,
    docs naming modules)."""
    if cache is None or any(s.key is None for s in states):
        return None
    stamp = _tree_stamp(root, {s.source.rel for s in states})
    if stamp is None:
        return None
    digest = hashlib.sha256(b"project-pass\0")
    spec = repr(sorted((e.rule.code, sorted(e.options.items())) for e in project))
    digest.update(spec.encode())
    for state in sorted(states, key=lambda s: s.source.rel):
        digest.update(f"\0{state.source.rel}\0{state.key}".encode("utf-8", "surrogateescape"))
    for config_file in sorted(config_files, key=lambda c: c.path):
        digest.update(f"\0{config_file.path}\0{config_file.digest}".encode())
    digest.update(stamp)
    return cache.key("<project>", digest.digest())


#: Folders no project rule reads (tools' caches and version control).
_UNREAD_FOLDERS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        CACHE_DIR,
        "__pycache__",
        "node_modules",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".tox",
        ".nox",
        ".ipynb_checkpoints",
    }
)
_MAX_STAMPED = 200_000


def _tree_stamp(root: Path, analysed: set[str]) -> bytes | None:
    """Path, size and modification time of every other file under ``root``: reading them
    all would cost what the cache saves, and a file rewritten with the same size and the
    same nanosecond time is not a risk worth that. None for a tree too large to list."""
    digest = hashlib.sha256()
    count = 0
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in _UNREAD_FOLDERS)
        base = Path(folder)
        prefix = base.relative_to(root).as_posix()
        for name in sorted(names):
            rel = name if prefix == "." else f"{prefix}/{name}"
            if rel in analysed:
                continue
            count += 1
            if count > _MAX_STAMPED:
                return None
            try:
                info = (base / name).stat()
            except OSError:
                continue
            digest.update(
                f"{rel}\0{info.st_size}\0{info.st_mtime_ns}\0".encode("utf-8", "surrogateescape")
            )
    return digest.digest()


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
                message=scrub(report.message),
                debt_minutes=rule.remediation(report.size),
                fingerprint=digest,
                cell=cell,
                related=tuple(_scrubbed(_relocate(r, cells)) for r in report.related),
                redact=tuple(_relocate(r, cells) for r in report.redact),
            )
        )
    return findings


def _scrubbed(location: Location) -> Location:
    """No credential in a related location's message (an artifact named by a URL)."""
    if location.message is None:
        return location
    return dataclasses.replace(location, message=scrub(location.message))


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
