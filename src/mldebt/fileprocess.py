"""The per-file pass: bytes in, a JSON-ready outcome (reports, facts, suppressions) out.

This runs in worker processes and its outcome is what the cache stores, so it takes and
returns plain data only.
"""

from __future__ import annotations

import ast
import traceback
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import libcst as cst
from libcst.metadata import MetadataWrapper

from mldebt.analysis_rules import InternalError, ParseError, UnreadableFile
from mldebt.context import FileContext, PendingReport
from mldebt.facts.extract import FactsCollector
from mldebt.findings import Location
from mldebt.rule import FileRule, Report
from mldebt.source import Source, SourceError, decode_notebook, decode_python
from mldebt.suppress import parse_suppressions
from mldebt.traversal import Dispatch, Span, positions, walk

RuleSpec = tuple[type[FileRule], Mapping[str, Any]]
Outcome = dict[str, Any]


def analyse_bytes(rel: str, data: bytes, rules: Sequence[RuleSpec]) -> Outcome:
    """Everything the per-file pass learns about one file."""
    outcome: Outcome = {"reports": [], "facts": None, "suppressions": [], "cells": []}
    try:
        source = decode_notebook(data) if rel.endswith(".ipynb") else Source(decode_python(data))
    except SourceError as exc:
        outcome["reports"].append(_simple(UnreadableFile.code, exc.message, exc.line, exc.column))
        return outcome
    outcome["cells"] = source.cells.to_list()
    module = _parse(source, outcome["reports"])
    if module is None:
        return outcome
    try:
        _run_rules(rel, source, module, rules, outcome)
    except RecursionError:
        outcome["reports"].append(_simple(ParseError.code, "nesting too deep for analysis", 1, 1))
    return outcome


def _simple(code: str, message: str, line: int, column: int) -> dict[str, Any]:
    report = Report(code, message, line, column, line, None, basis=message)
    return report.__dict__.copy()


def _parse(source: Source, reports: list[dict[str, Any]]) -> cst.Module | None:
    """Parse; in a notebook, a cell that does not parse is reported and left out."""
    text = source.text
    for _ in range(len(source.cells.starts) + 1):
        try:
            return cst.parse_module(text)
        except cst.ParserSyntaxError as exc:
            line, column, message = _describe_syntax_error(text, exc)
            reports.append(_simple(ParseError.code, message, max(line, 1), max(column, 1)))
            if not source.notebook or not source.cells.starts:
                return None
            text = _blank_cell(text, source, line)
        except (RecursionError, MemoryError):
            reports.append(_simple(ParseError.code, "too deeply nested to parse", 1, 1))
            return None
    return None


def _describe_syntax_error(text: str, exc: cst.ParserSyntaxError) -> tuple[int, int, str]:
    """CPython's message and position when it agrees the code is broken: they are far clearer
    than the parser's list of expected tokens. (``ast.parse`` compiles nothing and runs nothing.)"""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ast.parse(text)
    except SyntaxError as error:
        if error.lineno:
            return error.lineno, max(error.offset or 1, 1), f"syntax error: {error.msg}"
    except (ValueError, RecursionError, MemoryError):
        pass
    message = exc.message.split(": expected one of")[0]
    return exc.raw_line, exc.raw_column + 1, f"syntax error: {message}"


def _blank_cell(text: str, source: Source, line: int) -> str:
    cell, _ = source.cells.locate(line)
    lines = text.split("\n")
    i = source.cells.cells.index(cell) if cell is not None else 0
    start = source.cells.starts[i] - 1
    end = source.cells.starts[i + 1] - 1 if i + 1 < len(source.cells.starts) else len(lines)
    for n in range(start, min(end, len(lines))):
        lines[n] = ""
    return "\n".join(lines)


def _run_rules(
    rel: str, source: Source, module: cst.Module, rules: Sequence[RuleSpec], outcome: Outcome
) -> None:
    active = list(rules)
    for _ in range(len(active) + 1):
        context = FileContext(rel, source.text, module, source.notebook)
        instances = [cls(context, options) for cls, options in active]
        collector = FactsCollector(context)
        _resolve_metadata(module, instances)
        try:
            walk(module, Dispatch([*instances, collector]), context.scope)
            break
        except RecursionError:
            raise
        except Exception as exc:
            culprit = _culprit(exc, instances)
            if culprit is None:
                raise
            outcome["reports"].append(
                _simple(
                    InternalError.code,
                    f"rule {culprit.code} [{culprit.name}] crashed: {type(exc).__name__}: {exc}",
                    1,
                    1,
                )
            )
            active = [(cls, opts) for cls, opts in active if cls is not type(culprit)]
    spans = positions(module, [*context.report_nodes(), *collector.nodes()])
    outcome["reports"].extend(_finish(context, p, spans) for p in context.pending)
    facts = collector.facts({node: span[0] for node, span in spans.items()})
    facts.cells = outcome["cells"]
    outcome["facts"] = facts.to_dict()
    outcome["suppressions"] = [
        s.to_dict()
        for s in parse_suppressions(
            (
                (c.line, c.column, c.text, c.own_line)
                for c in context.comments
                if "mldebt" in c.text
            ),
            source.cells.starts,
        )
    ]


def _resolve_metadata(module: cst.Module, instances: Sequence[FileRule]) -> None:
    wanted = {p for rule in instances for p in rule.get_inherited_dependencies()}
    if not wanted:
        return
    resolved = MetadataWrapper(module, unsafe_skip_copy=True).resolve_many(wanted)
    for rule in instances:
        rule.metadata = {p: resolved[p] for p in rule.get_inherited_dependencies()}


def _culprit(exc: BaseException, instances: Sequence[FileRule]) -> FileRule | None:
    ids = {id(rule): rule for rule in instances}
    for frame, _ in reversed(list(traceback.walk_tb(exc.__traceback__))):
        owner = frame.f_locals.get("self")
        if id(owner) in ids:
            return ids[id(owner)]
    return None


def _finish(
    context: FileContext, pending: PendingReport, spans: dict[cst.CSTNode, Span]
) -> dict[str, Any]:
    end_column: int | None
    if pending.node is not None:
        line, column, end_line, end_column = spans[pending.node]
        basis = pending.basis or context.node_source(pending.node)
    else:
        assert pending.line is not None
        line, column = pending.line, pending.column
        end_line, end_column = pending.end_line or line, pending.end_column
        basis = pending.basis or pending.message
    related = []
    for where, message in pending.related:
        if isinstance(where, Location):
            related.append({**where.to_dict(), "message": message})
        else:
            r_line, r_col, r_end, r_end_col = spans[where]
            related.append(
                Location(context.path, r_line, r_col, r_end, r_end_col, message=message).to_dict()
            )
    report = Report(
        rule=pending.rule.code,
        message=pending.message,
        line=line,
        column=column,
        end_line=end_line,
        end_column=end_column,
        basis=f"{pending.scope}|{basis}",
        size=pending.size,
        related=related,
    )
    return report.__dict__.copy()
