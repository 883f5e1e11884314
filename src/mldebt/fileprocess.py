"""The per-file pass: bytes in, a JSON-ready outcome (reports, facts, suppressions) out.

This runs in worker processes and its outcome is what the cache stores, so it takes and
returns plain data only.
"""

from __future__ import annotations

import ast
import io
import re
import sys
import threading
import tokenize
import traceback
import warnings
from collections.abc import Callable, Mapping, Sequence
from itertools import accumulate
from typing import Any

import libcst as cst
from libcst.metadata import MetadataWrapper

from mldebt.analysis_rules import InternalError, ParseError, UnreadableFile
from mldebt.context import FileContext, PendingReport
from mldebt.facts.extract import FactsCollector
from mldebt.facts.ml import MLFactsCollector
from mldebt.findings import Location
from mldebt.rule import FileRule, ProjectRule, Report
from mldebt.source import Source, SourceError, decode_notebook, decode_python
from mldebt.suppress import parse_suppressions
from mldebt.traversal import Dispatch, Span, positions, walk

#: A rule to run in the per-file pass: a FileRule, or a ProjectRule that wants file facts.
RuleSpec = tuple[type[FileRule] | type[ProjectRule], Mapping[str, Any]]
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
    kept = len(outcome["reports"])
    try:
        _run_rules(rel, source, module, rules, outcome)
    except RecursionError:
        # libcst's code generation (positions, node source) recurses once per nesting level;
        # try once more with room for it before giving up on the file.
        del outcome["reports"][kept:]
        try:
            _with_deep_stack(lambda: _run_rules(rel, source, module, rules, outcome))
        except RecursionError:
            del outcome["reports"][kept:]
            outcome["facts"] = None
            outcome["suppressions"] = []
            line = _deep_statement_line(module)
            outcome["reports"].append(
                _simple(ParseError.code, "too deeply nested to analyse", line, 1)
            )
    return outcome


def _simple(code: str, message: str, line: int, column: int) -> dict[str, Any]:
    report = Report(code, message, line, column, line, None, basis=message)
    return report.__dict__.copy()


# CPython refuses more than 200 nested brackets ("too many nested parentheses"); libcst's
# native parser accepts them, slows down quadratically and crashes its process past a few
# thousand, so such files never reach it.
MAX_BRACKET_DEPTH = 200
_NOT_BRACKETS = re.compile(r"[^()\[\]{}]+")
_OPENERS, _CLOSERS = frozenset("([{"), frozenset(")]}")
_DEPTH_STEP = {ord(c): 1 for c in _OPENERS} | {ord(c): -1 for c in _CLOSERS}

# Room for deep recursion, used only for files that need it (see _with_deep_stack).
_DEEP_RECURSION_LIMIT = 50_000
_DEEP_STACK_BYTES = 512 * 1024 * 1024


def _parse(source: Source, reports: list[dict[str, Any]]) -> cst.Module | None:
    """Parse; in a notebook, a cell that does not parse is reported and left out."""
    text = source.text
    blanked: set[int | None] = set()
    for _ in range(len(source.cells.starts) + 1):
        problem = _nesting_problem(text)
        if problem is None:
            try:
                return cst.parse_module(text)
            except cst.ParserSyntaxError as exc:
                problem = _describe_syntax_error(text, exc)
            except (RecursionError, MemoryError):
                problem = 1, 1, "too deeply nested to parse"
            except BaseException as exc:
                if type(exc).__name__ != "PanicException":  # pyo3: the native parser panicked
                    raise
                reports.append(_simple(InternalError.code, f"the parser failed: {exc}", 1, 1))
                return None
        line, column, message = problem
        reports.append(_simple(ParseError.code, message, max(line, 1), max(column, 1)))
        cell, _ = source.cells.locate(line)
        if not source.notebook or not source.cells.starts or cell in blanked:
            return None
        blanked.add(cell)
        text = _blank_cell(text, source, line)
    return None


def _nesting_problem(text: str) -> tuple[int, int, str] | None:
    """Where brackets nest deeper than CPython allows, or None (the usual, cheap answer)."""
    brackets = _NOT_BRACKETS.sub("", text)
    if brackets.count("(") + brackets.count("[") + brackets.count("{") <= MAX_BRACKET_DEPTH:
        return None
    if max(accumulate(map(_DEPTH_STEP.__getitem__, brackets.encode("ascii")))) <= (
        MAX_BRACKET_DEPTH
    ):
        return None
    # Brackets inside strings and comments inflate that count: ask the tokenizer.
    depth = 0
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type != tokenize.OP:
                continue
            if token.string in _OPENERS:
                depth += 1
                if depth > MAX_BRACKET_DEPTH:
                    line, column = token.start
                    return line, column + 1, "too many nested parentheses"
            elif token.string in _CLOSERS:
                depth -= 1
    except tokenize.TokenError:
        return None  # raised at the end of the text: every bracket was seen, none too deep
    except SyntaxError as exc:  # Python >= 3.12 tokenizes with the interpreter's own rules
        return exc.lineno or 1, exc.offset or 1, f"syntax error: {exc.msg}"
    return None


def _with_deep_stack(function: Callable[[], None]) -> None:
    """Run ``function`` in a thread with a large stack and a high recursion limit."""
    failure: list[BaseException] = []

    def target() -> None:
        try:
            function()
        except BaseException as exc:
            failure.append(exc)

    limit = sys.getrecursionlimit()
    try:
        stack = threading.stack_size(_DEEP_STACK_BYTES)
    except (ValueError, RuntimeError):  # a platform that will not give this much
        raise RecursionError("no room for a deeper stack") from None
    sys.setrecursionlimit(max(limit, _DEEP_RECURSION_LIMIT))
    try:
        thread = threading.Thread(target=target, name="mldebt-deep-file")
        try:
            thread.start()
        except RuntimeError:  # no memory for such a stack here
            raise RecursionError("no room for a deeper stack") from None
        thread.join()
    finally:
        sys.setrecursionlimit(limit)
        threading.stack_size(stack)
    if failure:
        raise failure[0]


def _deep_statement_line(module: cst.Module) -> int:
    """The first line of the top-level statement that is too deep to generate code for."""
    line = 1 + len(module.header)  # each header entry is one blank or comment line
    for statement in module.body:
        try:
            code = module.code_for_node(statement)
        except RecursionError:
            return line + len(statement.leading_lines)
        line += code.count("\n")
    return 1


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
    project = [cls for cls, _ in rules if issubclass(cls, ProjectRule)]
    active = [(cls, opts) for cls, opts in rules if issubclass(cls, FileRule)]
    with_ml_facts = True
    for _ in range(len(active) + 2):
        context = FileContext(
            rel, source.text, module, source.notebook, source.cells.starts, source.magics
        )
        instances = [cls(context, options) for cls, options in active]
        collector = FactsCollector(context)
        ml = MLFactsCollector(context) if with_ml_facts else None
        _resolve_metadata(module, instances)
        visitors = [*instances, collector, *([ml] if ml else [])]
        try:
            walk(module, Dispatch(context.resolver.around(visitors)), context.scope)
            break
        except RecursionError:
            raise
        except Exception as exc:
            culprit = _culprit(exc, [*instances, *([ml] if ml else [])])
            if culprit is None:
                raise
            outcome["reports"].append(_crash_report(culprit, exc))
            if culprit is ml:
                with_ml_facts = False
            active = [(cls, opts) for cls, opts in active if cls is not type(culprit)]
    ml_nodes: list[cst.CSTNode] = []
    if ml is not None:
        try:
            ml_nodes = ml.nodes()
        except Exception as exc:  # the ML facts are lost for this file, never the findings
            outcome["reports"].append(_crash_report(ml, exc))
            ml = None
    dead = dead_branches(module) if _CONSTANT_TEST.search(source.text) else []
    spans = positions(module, [*context.report_nodes(), *collector.nodes(), *ml_nodes, *dead])
    reports = [_finish(context, p, spans) for p in context.pending]
    if dead:
        reports = _outside(reports, [spans[d] for d in dead if d in spans], active)
    outcome["reports"].extend(reports)
    lines = {node: span[0] for node, span in spans.items()}
    facts = collector.facts(lines)
    if ml is not None:
        try:
            ml.contribute(facts, lines)
        except Exception as exc:
            outcome["reports"].append(_crash_report(ml, exc))
    _project_file_facts(context, project, facts.extra, outcome)
    facts.cells = outcome["cells"]
    outcome["facts"] = facts.to_dict()
    outcome["suppressions"] = [
        s.to_dict()
        for s in parse_suppressions(
            (
                (c.line, c.column, c.text, c.own_line)
                for c in context.comments
                if "mldebt" in c.text.lower()
            ),
            source.cells.starts,
        )
    ]


def _project_file_facts(
    context: FileContext,
    rules: Sequence[type[ProjectRule]],
    extra: dict[str, Any],
    outcome: Outcome,
) -> None:
    """Each facts key once: the per-file data project rules asked for."""
    for rule in rules:
        if rule.facts_key in extra:
            continue
        try:
            extra[rule.facts_key] = rule.file_facts(context)
        except Exception as exc:  # the rule loses this file's facts; the file keeps the rest
            message = (
                f"file facts of rule {rule.code} [{rule.name}] crashed: {type(exc).__name__}: {exc}"
            )
            outcome["reports"].append(_simple(InternalError.code, message, 1, 1))
            extra[rule.facts_key] = None


def _crash_report(culprit: object, exc: Exception) -> dict[str, Any]:
    what = (
        f"rule {culprit.code} [{culprit.name}]"
        if isinstance(culprit, FileRule)
        else "the ML facts extraction"
    )
    message = f"{what} crashed: {type(exc).__name__}: {exc}"
    return _simple(InternalError.code, message, 1, 1)


def _resolve_metadata(module: cst.Module, instances: Sequence[FileRule]) -> None:
    wanted = {p for rule in instances for p in rule.get_inherited_dependencies()}
    if not wanted:
        return
    resolved = MetadataWrapper(module, unsafe_skip_copy=True).resolve_many(wanted)
    for rule in instances:
        rule.metadata = {p: resolved[p] for p in rule.get_inherited_dependencies()}


def _culprit(exc: BaseException, visitors: Sequence[cst.BatchableCSTVisitor]) -> object | None:
    """The visitor whose code raised: the innermost frame whose ``self`` is one of them."""
    ids = {id(visitor): visitor for visitor in visitors}
    for frame, _ in reversed(list(traceback.walk_tb(exc.__traceback__))):
        owner = frame.f_locals.get("self")
        if id(owner) in ids:
            return ids[id(owner)]
    return None


#: ``if False:``, ``elif 0:``, ``if True:`` (its else), ``while None:``: a test known by reading it
_CONSTANT_TEST = re.compile(r"^[ \t]*(?:if|elif|while)[ \t(]+(?:False|None|True|0|1)[ \t)]*:", re.M)
_SUITES = (cst.BaseCompoundStatement, cst.BaseSuite, cst.Else, cst.ExceptHandler, cst.Finally)
#: Findings about what code does when it runs: inside a branch that never runs they cannot
#: happen. Others (dead code itself, a secret or a TODO in the text) stay where they are.
_RUNTIME_CATEGORIES = frozenset({"ml-api-misuse", "reproducibility", "data-dependency"})


def _constant(test: cst.BaseExpression) -> bool | None:
    if isinstance(test, cst.Name) and test.value in ("False", "None", "True"):
        return test.value == "True"
    if isinstance(test, cst.Integer) and test.value in ("0", "1"):
        return test.value == "1"
    return None


def dead_branches(module: cst.Module) -> list[cst.CSTNode]:
    """The suites that can never run because their test is a constant: the body of ``if
    False:`` / ``while 0:``, the ``else`` (or ``elif`` chain) of ``if True:``. Only statements
    are visited, never expressions."""
    found: list[cst.CSTNode] = []
    stack: list[cst.CSTNode] = list(module.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (cst.If, cst.While)):
            value = _constant(node.test)
            if value is False:
                found.append(node.body)  # what is inside is dead already
                if node.orelse is not None:
                    stack.append(node.orelse)
                continue
            if value is True and isinstance(node, cst.If) and node.orelse is not None:
                found.append(node.orelse)
                stack.append(node.body)
                continue
        stack.extend(c for c in node.children if isinstance(c, _SUITES))
    return found


def _outside(
    reports: list[dict[str, Any]], dead: list[Span], rules: Sequence[RuleSpec]
) -> list[dict[str, Any]]:
    """Findings about run-time behaviour in code that never runs are dropped: a leak or an
    unseeded draw inside ``if False:`` cannot happen (MLD211 reports the branch itself)."""
    categories = {cls.code: cls.category for cls, _ in rules}
    return [
        r
        for r in reports
        if categories.get(r["rule"], "analysis") not in _RUNTIME_CATEGORIES
        or not any(start <= r["line"] <= end for start, _, end, _ in dead)
    ]


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
    redact = [
        Location(context.path, *spans[node]).to_dict() for node in pending.redact if node in spans
    ]
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
        redact=redact,
    )
    return report.__dict__.copy()
