"""What each module uses, binds and guards: the facts behind the dead-code rules (MLD211-214).

``extract(text, module)`` reads one module with Python's own ``ast`` (fast, and only the
syntax matters here) into a :class:`Usage`: names used (loads, attribute names, identifier-like
strings, imported names), names used as values rather than called, module-level bindings,
falsy constants, attribute stores, keyword names, call shapes, argparse destinations, the
tests of ``if`` / ``while`` / conditional expressions as small trees, and the functions,
classes and methods defined. Everything is plain data (sets, lists, tuples), so it can be
cached with the other module facts.

``project_usage(graph)`` gives every analysed module's usage plus the text of the project's
other files that can name code (Makefile, shell scripts, CI and DVC files, YAML / TOML /
JSON / INI configuration, docs), read from the graph's root. Until the per-file pass
computes these facts, they are computed here from the files on disk, once per run.

Never imports or runs the analysed code.
"""

from __future__ import annotations

import ast
import json
import os
import re
import stat
import sys
import warnings
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mldebt.context import FileContext
from mldebt.facts.model import ModuleFacts, module_name
from mldebt.graph import ProjectGraph
from mldebt.labels import LABELS_FILE
from mldebt.rule import ProjectRule
from mldebt.source import CellMap, SourceError, decode_notebook, decode_python

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

#: A test expression as a small tree: ("c", value) constant, ("g", name) module-level name,
#: ("i", "mod.NAME") imported name, ("p", name) parameter of the enclosing function,
#: ("a", receiver, attr) attribute, ("not", x), ("and", (...)), ("or", (...)),
#: ("cmp", op, left, right), ("?",) anything else.
Test = tuple[Any, ...]
UNKNOWN: Test = ("?",)

FALSY = (False, 0, None)
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DOC_IMPORT = re.compile(r"(?:from\s+([\w.]+)\s+)?import\s+[\w(]")
_DOTTED = re.compile(r"^[A-Za-z_][\w]*(?:[.:][A-Za-z_][\w]*)+$")
_PY_FILE = re.compile(r"[\w./\\-]*\w\.py\b")


@dataclass(frozen=True)
class Definition:
    """A module-level function or class, or a method of a module-level class."""

    name: str
    qualname: str
    kind: str  # "function" | "class" | "method"
    line: int
    end_line: int
    decorators: tuple[str, ...] = ()
    bases: tuple[str, ...] = ()  # classes: base expressions, dotted, through the imports
    conditional: bool = False  # defined inside if / try at module level (a fallback)


@dataclass(frozen=True)
class Guard:
    """An ``if`` / ``while`` / conditional expression and the lines each outcome runs."""

    test: Test
    kind: str  # "if" | "while" | "ifexp"
    line: int
    body: tuple[int, int]
    orelse: tuple[int, int] | None
    scope: str  # qualname of the enclosing function, "" at module level
    idiom: bool = False  # body only imports / pass / yield / docstrings (typing-only idioms)
    text: str = ""  # the statement's first line, without its comment


@dataclass(frozen=True)
class Param:
    """A parameter whose default is False or None."""

    function: str  # qualname
    name: str
    default: Any
    index: int | None  # positional index not counting self / cls; None for keyword-only


@dataclass
class Usage:
    uses: set[str] = field(default_factory=set)
    value_uses: set[str] = field(default_factory=set)
    strings: set[str] = field(default_factory=set)
    prefixes: set[str] = field(default_factory=set)
    mentions: set[str] = field(default_factory=set)  # strings naming .py files or dotted paths
    definitions: list[Definition] = field(default_factory=list)
    bindings: dict[str, int] = field(default_factory=dict)  # module-level binding counts
    constants: dict[str, tuple[int, Any]] = field(default_factory=dict)  # bound once, falsy
    class_constants: dict[str, list[tuple[str, int, Any]]] = field(default_factory=dict)
    #: attribute name -> (line, falsy value or "<other>", owning class for ``self.x = ...``)
    attr_stores: dict[str, list[tuple[int, Any, str]]] = field(default_factory=dict)
    global_stores: set[str] = field(default_factory=set)
    keywords: set[str] = field(default_factory=set)
    calls: dict[str, tuple[int, bool]] = field(default_factory=dict)  # name -> (max pos, splat)
    dests: set[str] = field(default_factory=set)  # argparse destinations
    dynamic_setattr: set[str] = field(default_factory=set)  # receivers; "" for this module
    #: receivers of ``getattr(x, <computed name>)``, ``vars(x)[...]``: "" for ``globals()``,
    #: ``self:<class>`` inside a class
    dynamic_getattr: set[str] = field(default_factory=set)
    key_reads: set[str] = field(default_factory=set)  # cfg["key"], cfg.get("key")
    key_stores: set[str] = field(default_factory=set)  # cfg["key"] = ..., setdefault("key")
    guards: list[Guard] = field(default_factory=list)
    params: list[Param] = field(default_factory=list)
    exports: list[str] | None = None
    top_level_code: bool = False
    main_guard: bool = False
    dynamic_import: bool = False
    aliases: dict[str, str] = field(default_factory=dict)


#: Fields only the extraction needs (how names resolve inside the file): not stored.
_LOCAL_FIELDS = frozenset({"bindings", "aliases", "key_reads"})


def usage_to_json(usage: Usage) -> dict[str, Any]:
    """A module's usage as plain JSON data (empty fields left out), for the facts cache."""
    data: dict[str, Any] = {}
    for name, value in vars(usage).items():
        if name in _LOCAL_FIELDS or value is None or (not value and name != "exports"):
            continue
        if isinstance(value, set):
            data[name] = sorted(value)
        elif name in ("definitions", "guards", "params"):
            data[name] = [_row(item) for item in value]
        else:
            data[name] = value
    return data


def _row(item: Definition | Guard | Param) -> list[Any]:
    return [getattr(item, f) for f in item.__dataclass_fields__]


def usage_from_json(data: dict[str, Any]) -> Usage:
    """The inverse of :func:`usage_to_json` (tuples where the extraction makes tuples)."""
    usage = Usage()
    for name, value in data.items():
        if name not in Usage.__dataclass_fields__:
            continue
        current = getattr(usage, name)
        if isinstance(current, set):
            setattr(usage, name, set(value))
        elif name == "definitions":
            usage.definitions = [
                Definition(n, q, k, a, b, tuple(d), tuple(bs), c)
                for n, q, k, a, b, d, bs, c in value
            ]
        elif name == "guards":
            usage.guards = [
                Guard(_tuples(t), k, ln, tuple(b), tuple(o) if o else None, sc, i, tx)
                for t, k, ln, b, o, sc, i, tx in value
            ]
        elif name == "params":
            usage.params = [Param(*row) for row in value]
        elif name in ("constants", "calls"):
            setattr(usage, name, {k: tuple(v) for k, v in value.items()})
        elif name in ("class_constants", "attr_stores"):
            setattr(usage, name, {k: [tuple(e) for e in v] for k, v in value.items()})
        else:
            setattr(usage, name, value)
    return usage


def _tuples(value: Any) -> Any:
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value


FACTS_KEY = "dead-code/usage"


def file_usage(text: str, path: str, module: str) -> dict[str, Any] | None:
    """The cached per-file facts of the dead-code rules: the usage of a module, ``{"opaque":
    true}`` for generated or huge modules, None when it does not parse."""
    if generated(text):
        return {"opaque": True}
    usage = extract(text, module, package=path.endswith("__init__.py"))
    return usage_to_json(usage) if usage is not None else None


# extraction ---------------------------------------------------------------------------------


def extract(text: str, module: str, *, package: bool = False) -> Usage | None:
    """The usage facts of one module's source, or None when it does not parse."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    base = module if package else module.rpartition(".")[0]
    collector = _Collector(base, text.split("\n"))
    try:
        collector.run(tree)
    except RecursionError:
        return None
    return collector.usage


def _literal(node: ast.expr | None) -> tuple[bool, Any]:
    """(True, value) for a constant False / 0 / None (also -0), else (False, None)."""
    if isinstance(node, ast.Constant) and not isinstance(node.value, (str, bytes)):
        value = node.value
        if value is None or value is False or (type(value) in (int, float) and value == 0):
            return True, value
    return False, None


def dotted(node: ast.expr) -> str | None:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


def _span(statements: list[ast.stmt]) -> tuple[int, int]:
    first, last = statements[0], statements[-1]
    return first.lineno, getattr(last, "end_lineno", None) or last.lineno


def _trivial(statements: list[ast.stmt]) -> bool:
    """Only imports, ``pass``, ``...``, docstrings or ``yield``: a typing or generator idiom."""
    for stmt in statements:
        if isinstance(stmt, (ast.Import, ast.ImportFrom, ast.Pass)):
            continue
        if isinstance(stmt, ast.Expr) and isinstance(
            stmt.value, (ast.Constant, ast.Yield, ast.YieldFrom)
        ):
            continue
        return False
    return True


def _bound_names(target: ast.expr) -> Iterator[str]:
    if isinstance(target, ast.Name):
        yield target.id
    elif isinstance(target, (ast.Tuple, ast.List)):
        for element in target.elts:
            yield from _bound_names(element)
    elif isinstance(target, ast.Starred):
        yield from _bound_names(target.value)


_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


@dataclass
class _Function:
    qualname: str
    params: set[str]
    stored: set[str]  # names bound in the body (a parameter when it is reassigned)
    globals: set[str]


class _Collector(ast.NodeVisitor):
    def __init__(self, package: str, lines: list[str]) -> None:
        self.package = package
        self.lines = lines
        self.usage = Usage()
        self.aliases = self.usage.aliases
        self.functions: list[_Function] = []
        self.classes: list[str] = []
        self.callees: set[int] = set()
        self.docstrings: set[int] = set()
        self.keys: set[int] = set()  # string constants used as keys of a read or a store

    # module level ---------------------------------------------------------------------------
    def run(self, tree: ast.Module) -> None:
        self._prepass(tree)
        self._module_bindings(tree.body, nested=False)
        self._definitions(tree.body, "", conditional=False)
        self._top_level(tree.body)
        self.visit(tree)
        for name, count in self.usage.bindings.items():
            if count != 1:
                self.usage.constants.pop(name, None)
        for name in self.usage.global_stores:
            self.usage.constants.pop(name, None)

    def _prepass(self, tree: ast.Module) -> None:
        """One walk for what the main visit needs first: import aliases, docstrings, and the
        names each function binds (a name assigned anywhere in a function is local to it)."""
        self.scopes: dict[int, tuple[set[str], set[str]]] = {}  # function -> (stored, global)
        module_scope: tuple[set[str], set[str]] = (set(), set())
        stack: list[tuple[ast.AST, tuple[set[str], set[str]]]] = [(tree, module_scope)]
        while stack:
            node, scope = stack.pop()
            inner = scope
            if isinstance(node, (*_FUNCTIONS, ast.ClassDef, ast.Module)):
                body = node.body
                first = body[0] if body else None
                if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                    self.docstrings.add(id(first.value))
            if isinstance(node, (*_FUNCTIONS, ast.Lambda)):
                inner = (set(), set())
                self.scopes[id(node)] = inner
                if not isinstance(node, ast.Lambda):
                    scope[0].add(node.name)
            elif isinstance(node, ast.ClassDef):
                scope[0].add(node.name)
                inner = (set(), set())
            elif isinstance(node, _COMPREHENSIONS):
                inner = (set(), set())
            elif isinstance(node, ast.Name):
                if not isinstance(node.ctx, ast.Load):
                    scope[0].add(node.id)
                continue
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        self.aliases[alias.asname] = alias.name
                        scope[0].add(alias.asname)
                    else:
                        head = alias.name.split(".")[0]
                        self.aliases.setdefault(head, head)
                        scope[0].add(head)
                continue
            elif isinstance(node, ast.ImportFrom):
                module = self._absolute(node.module or "", node.level)
                for alias in node.names:
                    if alias.name == "*":
                        continue
                    target = f"{module}.{alias.name}" if module else alias.name
                    self.aliases[alias.asname or alias.name] = target
                    scope[0].add(alias.asname or alias.name)
                continue
            elif isinstance(node, ast.Global):
                scope[1].update(node.names)
                continue
            elif isinstance(node, ast.ExceptHandler) and node.name:
                scope[0].add(node.name)
            for child in ast.iter_child_nodes(node):
                stack.append((child, inner))

    def _absolute(self, module: str, level: int) -> str:
        if not level:
            return module
        parts = self.package.split(".") if self.package else []
        if level > 1:
            parts = parts[: len(parts) - (level - 1)]
        return ".".join(p for p in [*parts, module] if p)

    def _module_bindings(self, body: list[ast.stmt], nested: bool) -> None:
        """Count the module-level bindings of each name; note falsy constants bound plainly."""
        counts = self.usage.bindings

        def bind(name: str) -> None:
            counts[name] = counts.get(name, 0) + 1

        for stmt in body:
            if isinstance(stmt, (*_FUNCTIONS, ast.ClassDef)):
                bind(stmt.name)
                continue
            for node in _walk_module_level(stmt):
                if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
                    bind(node.id)
                elif isinstance(node, (ast.Import, ast.ImportFrom)):
                    for alias in node.names:
                        bind(alias.asname or alias.name.split(".")[0])
                elif isinstance(node, ast.ExceptHandler) and node.name:
                    bind(node.name)
                elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
                    bind(node.target.id)  # counted twice with its Store: never a constant
            if nested:
                continue
            value: ast.expr | None = None
            names: list[str] = []
            if isinstance(stmt, ast.Assign):
                value = stmt.value
                names = [t.id for t in stmt.targets if isinstance(t, ast.Name)]
            elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
                value, names = stmt.value, [stmt.target.id]
            falsy, constant = _literal(value)
            if falsy:
                for name in names:
                    self.usage.constants[name] = (stmt.lineno, constant)

    def _definitions(self, body: list[ast.stmt], outer: str, conditional: bool) -> None:
        for stmt in body:
            if isinstance(stmt, (*_FUNCTIONS, ast.ClassDef)):
                self._define(stmt, outer, conditional)
            elif not outer and isinstance(stmt, (ast.If, ast.Try)):
                blocks = [stmt.body, stmt.orelse]
                if isinstance(stmt, ast.Try):
                    blocks += [h.body for h in stmt.handlers] + [stmt.finalbody]
                if isinstance(stmt, ast.If) and _is_main_guard(stmt.test):
                    continue
                for block in blocks:
                    self._definitions(block, outer, conditional=True)

    def _define(self, node: ast.stmt, outer: str, conditional: bool) -> None:
        assert isinstance(node, (*_FUNCTIONS, ast.ClassDef))
        qualname = f"{outer}.{node.name}" if outer else node.name
        decorators = tuple(self._decorator(d) for d in node.decorator_list)
        end = getattr(node, "end_lineno", None) or node.lineno
        if isinstance(node, ast.ClassDef):
            bases = tuple(self._resolve(dotted(b) or "") for b in node.bases)
            if any(k.arg == "metaclass" for k in node.keywords):
                bases += ("<metaclass>",)
            self.usage.definitions.append(
                Definition(
                    node.name, qualname, "class", node.lineno, end, decorators, bases, conditional
                )
            )
            if not outer:
                self._definitions(node.body, qualname, conditional)
            return
        kind = "method" if outer else "function"
        self.usage.definitions.append(
            Definition(node.name, qualname, kind, node.lineno, end, decorators, (), conditional)
        )

    def _decorator(self, node: ast.expr) -> str:
        target = node.func if isinstance(node, ast.Call) else node
        return self._resolve(dotted(target) or "?")

    def _resolve(self, name: str) -> str:
        head, _, rest = name.partition(".")
        target = self.aliases.get(head)
        if target is None:
            return name
        return f"{target}.{rest}" if rest else target

    def _top_level(self, body: list[ast.stmt]) -> None:
        usage = self.usage
        for stmt in body:
            if isinstance(stmt, ast.If) and _is_main_guard(stmt.test):
                usage.main_guard = True
            elif isinstance(stmt, ast.Expr) and stmt is not body[0]:
                usage.top_level_code = True  # a call, ``t1 >> t2`` in a DAG file, ...
            elif isinstance(stmt, (ast.For, ast.AsyncFor, ast.While, ast.With, ast.AsyncWith)):
                usage.top_level_code = True
            elif isinstance(stmt, ast.If) and not _is_type_checking(stmt.test):
                if any(
                    isinstance(s, ast.Expr) and isinstance(s.value, ast.Call) for s in stmt.body
                ):
                    usage.top_level_code = True
            elif isinstance(stmt, ast.Assign) and _is_all(stmt.targets):
                usage.exports = _strings(stmt.value)

    # the walk --------------------------------------------------------------------------------
    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        for decorator in node.decorator_list:
            self.visit(decorator)
        self._defaults(node.args)
        if node.returns is not None:
            self.visit(node.returns)
        for arg in _all_args(node.args):
            if arg.annotation is not None:
                self.visit(arg.annotation)
        outer = self.functions[-1].qualname if self.functions else ""
        if not self.functions and self.classes:
            outer = self.classes[-1]
        qualname = f"{outer}.{node.name}" if outer else node.name
        params = {a.arg for a in _all_args(node.args)}
        stored, declared = self.scopes.get(id(node), (set(), set()))  # a reassigned parameter too
        self.usage.global_stores |= declared & stored
        self.functions.append(_Function(qualname, params, stored - declared, declared))
        self._param_flags(node, qualname, in_class=bool(self.classes) and outer == self.classes[-1])
        for stmt in node.body:
            self.visit(stmt)
        self.functions.pop()

    visit_AsyncFunctionDef = visit_FunctionDef

    def _defaults(self, args: ast.arguments) -> None:
        for default in [*args.defaults, *(d for d in args.kw_defaults if d is not None)]:
            self.visit(default)

    def _param_flags(
        self, node: ast.FunctionDef | ast.AsyncFunctionDef, qualname: str, in_class: bool
    ) -> None:
        args = node.args
        positional = [*args.posonlyargs, *args.args]
        skip = 1 if in_class and not _is_static(node) else 0
        for i, default in enumerate(args.defaults):
            index = len(positional) - len(args.defaults) + i
            falsy, value = _literal(default)
            if falsy and value in (False, None) and index >= skip:
                param = positional[index]
                self.usage.params.append(Param(qualname, param.arg, value, index - skip))
        for arg, kw_default in zip(args.kwonlyargs, args.kw_defaults, strict=True):
            falsy, value = _literal(kw_default)
            if falsy and value in (False, None):
                self.usage.params.append(Param(qualname, arg.arg, value, None))

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self._defaults(node.args)
        self.functions.append(_Function("<lambda>", _lambda_names(node), set(), set()))
        self.visit(node.body)
        self.functions.pop()

    def _comprehension(
        self, node: ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp
    ) -> None:
        names = {n for g in node.generators for n in _bound_names(g.target)}
        self.functions.append(_Function("<comprehension>", set(), names, set()))
        self.generic_visit(node)
        self.functions.pop()

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _comprehension

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for expr in [*node.decorator_list, *node.bases, *(k.value for k in node.keywords)]:
            self.visit(expr)
        outer = self.classes[-1] if self.classes and not self.functions else ""
        qualname = f"{outer}.{node.name}" if outer else node.name
        if not self.functions:
            self._class_constants(node, qualname)
        self.classes.append(qualname)
        saved, self.functions = self.functions, []
        for stmt in node.body:
            self.visit(stmt)
        self.functions = saved
        self.classes.pop()

    def _class_constants(self, node: ast.ClassDef, qualname: str) -> None:
        counts: dict[str, int] = {}
        found: dict[str, tuple[int, Any]] = {}
        for stmt in node.body:
            targets: list[str] = []
            value: ast.expr | None = None
            if isinstance(stmt, ast.Assign):
                targets = [n for t in stmt.targets for n in _bound_names(t)]
                value = stmt.value
            elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
                targets, value = [stmt.target.id], stmt.value
                if value is None:
                    continue
            elif isinstance(stmt, (*_FUNCTIONS, ast.ClassDef)):
                targets = [stmt.name]
            for name in targets:
                counts[name] = counts.get(name, 0) + 1
                falsy, constant = _literal(value)
                found[name] = (stmt.lineno, constant) if falsy else (stmt.lineno, _OTHER)
        for name, (line, constant) in found.items():
            kept = constant if counts[name] == 1 else _OTHER
            self.usage.class_constants.setdefault(name, []).append((qualname, line, kept))

    def visit_Call(self, node: ast.Call) -> None:
        self.callees.add(id(node.func))
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        splat = any(isinstance(a, ast.Starred) for a in node.args) or any(
            k.arg is None for k in node.keywords
        )
        positional = sum(1 for a in node.args if not isinstance(a, ast.Starred))
        if name:
            before = self.usage.calls.get(name, (0, False))
            self.usage.calls[name] = (max(before[0], positional), before[1] or splat)
        for keyword in node.keywords:
            if keyword.arg:
                self.usage.keywords.add(keyword.arg)
        if name == "setattr" and len(node.args) >= 2:
            self._setattr(node.args[0], node.args[1])
        elif name in ("getattr", "hasattr") and len(node.args) >= 2:
            if not isinstance(node.args[1], ast.Constant) and not _prefixed(node.args[1]):
                self.usage.dynamic_getattr.add(self._getattr_receiver(node.args[0]))
        elif name in ("globals", "locals") and not node.args:
            self.usage.dynamic_getattr.add("")
        elif name in ("get", "setdefault", "pop") and isinstance(func, ast.Attribute):
            key = _string_key(node.args[0] if node.args else None)
            if key is not None:
                assert isinstance(node.args[0], ast.Constant)
                self.keys.add(id(node.args[0]))
                (self.usage.key_reads if name == "get" else self.usage.key_stores).add(key)
        elif name == "add_argument":
            self._argument(node)
        elif name == "set_defaults":
            self.usage.dests |= {k.arg for k in node.keywords if k.arg}
        elif name == "update" and isinstance(func, ast.Attribute):
            self._dict_update(func.value)
        elif name in _IMPORTERS:
            first = node.args[0] if node.args else None
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                self.usage.mentions.add(first.value)
            else:
                self.usage.dynamic_import = True
        self.generic_visit(node)

    def _setattr(self, receiver: ast.expr, name: ast.expr) -> None:
        if isinstance(name, ast.Constant) and isinstance(name.value, str):
            entry = (receiver.lineno, _OTHER, "")
            self.usage.attr_stores.setdefault(name.value, []).append(entry)
        else:
            self.usage.dynamic_setattr.add(self._receiver(receiver))

    def _dict_update(self, target: ast.expr) -> None:
        """``x.__dict__.update(...)``, ``vars(x).update(...)``, ``globals().update(...)``."""
        if isinstance(target, ast.Attribute) and target.attr == "__dict__":
            self.usage.dynamic_setattr.add(self._receiver(target.value))
        elif isinstance(target, ast.Call) and isinstance(target.func, ast.Name):
            if target.func.id == "globals":
                self.usage.dynamic_setattr.add("")
            elif target.func.id == "vars" and target.args:
                self.usage.dynamic_setattr.add(self._receiver(target.args[0]))

    def _getattr_receiver(self, node: ast.expr) -> str:
        if isinstance(node, ast.Name) and node.id in ("self", "cls") and self.classes:
            return f"self:{self.classes[-1]}"
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id in ("globals", "locals"):
                return ""
            if node.func.id == "vars" and node.args:
                return self._getattr_receiver(node.args[0])
        name = dotted(node)
        if name is None or name.split(".")[0] not in self.aliases:
            return "?"  # an object, not a module this file imports
        return self._resolve(name)

    def _receiver(self, node: ast.expr) -> str:
        name = dotted(node)
        return self._resolve(name) if name else "?"

    def _argument(self, node: ast.Call) -> None:
        dest = next((k.value for k in node.keywords if k.arg == "dest"), None)
        if isinstance(dest, ast.Constant) and isinstance(dest.value, str):
            self.usage.dests.add(dest.value)
            return
        for arg in node.args:
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                self.usage.dests.add(arg.value.lstrip("-").replace("-", "_"))

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load):
            self.usage.uses.add(node.id)
            if id(node) not in self.callees:
                self.usage.value_uses.add(node.id)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if isinstance(node.ctx, ast.Load):
            self.usage.uses.add(node.attr)
            if id(node) not in self.callees:
                self.usage.value_uses.add(node.attr)
        else:
            assigned = getattr(node, "_assigned", None)
            value = assigned[0] if assigned is not None else _OTHER
            owner = ""
            if isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"):
                owner = self.classes[-1] if self.classes else ""
            self.usage.attr_stores.setdefault(node.attr, []).append((node.lineno, value, owner))
        self.visit(node.value)

    def visit_Assign(self, node: ast.Assign) -> None:
        falsy, value = _literal(node.value)
        for target in node.targets:
            if isinstance(target, ast.Attribute) and falsy:
                target._assigned = (value,)  # type: ignore[attr-defined]
        if _is_all(node.targets):
            self.usage.exports = _strings(node.value)
            return
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        falsy, value = _literal(node.value)
        if isinstance(node.target, ast.Attribute) and falsy:
            node.target._assigned = (value,)  # type: ignore[attr-defined]
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        target = node.target
        if (
            isinstance(target, ast.Name)
            and self.functions
            and target.id in self.functions[-1].globals
        ):
            self.usage.global_stores.add(target.id)
        self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.usage.uses.add(alias.name.split(".")[-1])

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        for alias in node.names:
            self.usage.uses.add(alias.name)
            if alias.asname and alias.asname != alias.name:
                self.usage.value_uses.add(alias.name)  # called under another name

    def visit_Subscript(self, node: ast.Subscript) -> None:
        key = _string_key(node.slice)
        if key is not None:
            assert isinstance(node.slice, ast.Constant)
            self.keys.add(id(node.slice))
            if isinstance(node.ctx, ast.Load):
                self.usage.key_reads.add(key)
            else:
                self.usage.key_stores.add(key)
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        if not isinstance(node.value, str) or id(node) in self.keys:
            return
        if id(node) not in self.docstrings:
            self._string(node.value)
        elif ">>>" in node.value or "import " in node.value:
            self._documented(node.value)

    def _documented(self, docstring: str) -> None:
        """Names a docstring shows being used: a doctest is code the documentation shows and
        the test runner runs (``>>> from pkg.mod import _helper``), and a usage section's
        import lines (``from src.viz.palette import (palette_for_n, ...)``) tell readers
        what to import. Both are uses; the prose around them is not."""
        inside = False  # within the parentheses of a multi-line import
        for line in docstring.splitlines():
            code = line.lstrip()
            doctest = code.startswith((">>>", "..."))
            if doctest:
                code = code[3:].lstrip()
            match = None if inside else _DOC_IMPORT.match(code)
            if doctest or inside or match:
                self.usage.strings.update(_IDENT.findall(code))
            if inside or match:
                inside = (inside or "(" in code) and ")" not in code
            if match and match.group(1):
                self.usage.mentions.add(match.group(1))

    def _string(self, value: str) -> None:
        if len(value) > 300:
            return
        if value.isidentifier():
            self.usage.strings.add(value)
        elif _DOTTED.match(value):
            self.usage.mentions.add(value.split(":")[0])
            self.usage.strings.update(re.split(r"[.:]", value))
        if ".py" in value:
            self.usage.mentions.update(_PY_FILE.findall(value))

    def visit_JoinedStr(self, node: ast.JoinedStr) -> None:
        first = node.values[0] if node.values else None
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            self._prefix(first.value)
        self.generic_visit(node)

    def visit_BinOp(self, node: ast.BinOp) -> None:
        left = node.left
        if (
            isinstance(node.op, ast.Add)
            and isinstance(left, ast.Constant)
            and isinstance(left.value, str)
        ):
            self._prefix(left.value)
        self.generic_visit(node)

    def _prefix(self, text: str) -> None:
        """``f"_handle_{kind}"``, ``"visit_" + name``, ``f"models.{name}"``: dynamic names."""
        match = re.fullmatch(r"[A-Za-z_][\w.]*", text)
        if match and len(text) >= 3:
            self.usage.prefixes.add(text)

    # guards ------------------------------------------------------------------------------------
    def visit_If(self, node: ast.If) -> None:
        self._guard(node, "if")
        self.generic_visit(node)

    def visit_While(self, node: ast.While) -> None:
        self._guard(node, "while")
        self.generic_visit(node)

    def visit_IfExp(self, node: ast.IfExp) -> None:
        test = self._test(node.test)
        if _interesting(test):
            body = (node.body.lineno, node.body.end_lineno or node.body.lineno)
            orelse = (node.orelse.lineno, node.orelse.end_lineno or node.orelse.lineno)
            self.usage.guards.append(Guard(test, "ifexp", node.lineno, body, orelse, self._scope()))
        self.generic_visit(node)

    def _guard(self, node: ast.If | ast.While, kind: str) -> None:
        if not self.functions and _is_main_guard(node.test):
            return
        test = self._test(node.test)
        if not _interesting(test):
            return
        orelse = _span(node.orelse) if node.orelse else None
        first, last = _span(node.body)
        header_end = node.test.end_lineno or node.lineno
        body = (min(first, header_end + 1), last)  # comments opening the block belong to it
        self.usage.guards.append(
            Guard(
                test,
                kind,
                node.lineno,
                body,
                orelse,
                self._scope(),
                idiom=_trivial(node.body),
                text=self._header(node.lineno),
            )
        )

    def _header(self, line: int) -> str:
        text = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
        return text.split("  #")[0].strip()

    def _scope(self) -> str:
        return self.functions[-1].qualname if self.functions else ""

    def _test(self, node: ast.expr) -> Test:
        if isinstance(node, ast.Constant):
            if isinstance(node.value, (bool, int, float)) or node.value is None:
                return ("c", node.value)
            return UNKNOWN
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return ("not", self._test(node.operand))
        if isinstance(node, ast.BoolOp):
            op = "and" if isinstance(node.op, ast.And) else "or"
            return (op, tuple(self._test(v) for v in node.values))
        if isinstance(node, ast.Compare) and len(node.ops) == 1:
            compare = _COMPARE.get(type(node.ops[0]))
            if compare is not None:
                return ("cmp", compare, self._test(node.left), self._test(node.comparators[0]))
            return UNKNOWN
        if isinstance(node, ast.Name):
            return self._name(node.id)
        if isinstance(node, ast.Subscript):
            key = _string_key(node.slice)
            return ("k", key) if key is not None else UNKNOWN
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "get"
            and node.args
        ):
            key = _string_key(node.args[0])
            return ("k", key) if key is not None else UNKNOWN
        if isinstance(node, ast.Attribute):
            receiver = dotted(node.value)
            if receiver is None:
                return UNKNOWN
            head = receiver.split(".")[0]
            if any(head in f.params | f.stored for f in self.functions):
                return ("a", receiver, node.attr)
            return ("a", self._resolve(receiver), node.attr)
        return UNKNOWN

    def _name(self, name: str) -> Test:
        if name == "TYPE_CHECKING":
            return UNKNOWN
        if self.functions:
            function = self.functions[-1]
            if name not in function.globals:
                if name in function.params:
                    plain = function.qualname[0] != "<" and name not in function.stored
                    return ("p", name) if plain else UNKNOWN
                if name in function.stored:
                    return UNKNOWN
                if any(name in f.params | f.stored for f in self.functions[:-1]):
                    return UNKNOWN
        if name in self.aliases:
            return ("i", self.aliases[name])
        if name in self.usage.bindings:
            return ("g", name)
        return UNKNOWN


_OTHER = "<other>"
#: Calls that load a module by name (``importlib.import_module("pkg.mod")``).
_IMPORTERS = frozenset(
    {"import_module", "__import__", "import_string", "find_spec", "iter_modules", "walk_packages"}
)
_COMPARE: dict[type, str] = {
    ast.Is: "is",
    ast.IsNot: "is not",
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
}


def _string_key(node: ast.expr | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.isidentifier():
        return node.value
    return None


def _prefixed(node: ast.expr) -> bool:
    """``f"handle_{kind}"`` or ``"visit_" + name``: the prefix says which names it reaches."""
    if isinstance(node, ast.JoinedStr) and node.values:
        first = node.values[0]
        return isinstance(first, ast.Constant) and bool(first.value)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return isinstance(node.left, ast.Constant) and isinstance(node.left.value, str)
    return False


def _interesting(test: Test) -> bool:
    """A test worth keeping: it has a constant or a name whose value may be known."""
    kind = test[0]
    if kind in ("c", "g", "i", "p", "a", "k"):
        return True
    if kind == "not":
        return _interesting(test[1])
    if kind in ("and", "or"):
        return any(_interesting(t) for t in test[1])
    if kind == "cmp":
        return _interesting(test[2]) and test[3][0] == "c"
    return False


def _walk_module_level(stmt: ast.stmt) -> Iterator[ast.AST]:
    """Nodes of a module-level statement, not entering function or class bodies."""
    stack: list[ast.AST] = [stmt]
    while stack:
        node = stack.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (*_SCOPES, *_COMPREHENSIONS)):
                if isinstance(child, (*_FUNCTIONS, ast.ClassDef)):
                    yield child
                continue
            stack.append(child)


def _all_args(args: ast.arguments) -> list[ast.arg]:
    found = [*args.posonlyargs, *args.args, *args.kwonlyargs]
    if args.vararg:
        found.append(args.vararg)
    if args.kwarg:
        found.append(args.kwarg)
    return found


def _lambda_names(node: ast.Lambda) -> set[str]:
    return {a.arg for a in _all_args(node.args)}


def _is_static(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    return any(dotted(d) == "staticmethod" for d in node.decorator_list)


def _is_main_guard(test: ast.expr) -> bool:
    return (
        isinstance(test, ast.Compare)
        and isinstance(test.left, ast.Name)
        and test.left.id == "__name__"
    )


def _is_type_checking(test: ast.expr) -> bool:
    name = dotted(test)
    return name is not None and name.split(".")[-1] == "TYPE_CHECKING"


def _is_all(targets: list[ast.expr]) -> bool:
    return any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets)


def _strings(node: ast.expr) -> list[str] | None:
    if not isinstance(node, (ast.List, ast.Tuple)):
        return None
    return [e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]


# the project ---------------------------------------------------------------------------------

#: Files that can name code: build and task runners, shell, CI, pipelines, config, docs.
_RUN_NAMES = frozenset(
    {
        "makefile",
        "gnumakefile",
        "justfile",
        "procfile",
        "jenkinsfile",
        "snakefile",
        "taskfile",
        "dockerfile",
        "vagrantfile",
    }
)
_RUN_SUFFIXES = frozenset({".mk", ".sh", ".bash", ".zsh", ".bat", ".cmd", ".ps1", ".smk", ".nf"})
_CONFIG_SUFFIXES = frozenset({".yaml", ".yml", ".toml", ".cfg", ".ini", ".json", ".conf"})
_DOC_SUFFIXES = frozenset({".md", ".rst", ".txt"})
_SKIP_DIRS = frozenset(
    {
        "node_modules",
        "__pycache__",
        "site-packages",
        "dist",
        "build",
        ".git",
        ".hg",
        ".svn",
        ".tox",
        ".nox",
        ".eggs",
        ".venv",
        "venv",
        ".mldebt_cache",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".ipynb_checkpoints",
    }
)
_KEEP_HIDDEN = frozenset({".github", ".gitlab", ".circleci", ".buildkite", ".dvc"})
_MAX_FILE = 512 * 1024
_MAX_FILES = 5000
#: Python files outside the analysis (they do not parse, or are excluded) read for their names
_MAX_CODE_FILES = 500


@dataclass
class ProjectFiles:
    """The project's other files that can name code, by what they are for."""

    run: dict[str, str] = field(default_factory=dict)  # path -> text: scripts, CI, pipelines
    config: dict[str, str] = field(default_factory=dict)  # YAML / TOML / JSON / INI
    docs: dict[str, str] = field(default_factory=dict)
    #: Python files the analysis has no facts of (Python 2 code that does not parse, excluded
    #: folders): whatever they name may be used, and whatever they import is imported
    code: dict[str, str] = field(default_factory=dict)
    #: settings files' scalar values by key: key -> [(path, line, value)]
    values: dict[str, list[tuple[str, int, Any]]] = field(default_factory=dict)

    def identifiers(self, which: Iterable[str]) -> set[str]:
        found: set[str] = set()
        for kind in which:
            for text in getattr(self, kind).values():
                found.update(_IDENT.findall(text))
        return found

    def texts(self, which: Iterable[str] = ("run", "config", "docs")) -> Iterator[str]:
        for kind in which:
            yield from getattr(self, kind).values()


def scan_project_files(root: Path | None, known: Collection[str] = ()) -> ProjectFiles:
    """Read the project's non-Python files that can name code (never following links out),
    and the Python files that are not among the ``known`` (analysed) module paths."""
    files = ProjectFiles()
    if root is None or not root.is_dir():
        return files
    seen = 0
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(
            d
            for d in dirs
            if d not in _SKIP_DIRS
            and (not d.startswith(".") or d in _KEEP_HIDDEN)
            and not d.endswith(".egg-info")
            and not (Path(folder) / d / "pyvenv.cfg").exists()
        )
        for name in sorted(names):
            lower = name.lower()
            suffix = os.path.splitext(lower)[1]
            if lower == LABELS_FILE or "mldebt" in lower:
                continue  # mldebt's own files (labels, config, baselines, reports) list paths
            if suffix == ".py":
                if len(files.code) >= _MAX_CODE_FILES:
                    continue
                rel = (Path(folder) / name).relative_to(root).as_posix()
                if rel in known:
                    continue
                kind = "code"
            elif lower in _RUN_NAMES or lower.startswith("dockerfile") or suffix in _RUN_SUFFIXES:
                kind = "run"
            elif suffix in _CONFIG_SUFFIXES:
                kind = "config"
            elif suffix in _DOC_SUFFIXES and not lower.startswith("requirements"):
                kind = "docs"
            else:
                continue
            path = Path(folder) / name
            data = None if path.is_symlink() else read_regular(path, _MAX_FILE)
            if data is None:
                continue
            text = data.decode("utf-8", errors="replace")
            rel = path.relative_to(root).as_posix()
            if "/.github/" in f"/{rel}" or "/.gitlab" in f"/{rel}" or lower == ".gitlab-ci.yml":
                kind = "run"
            if lower in ("dvc.yaml", "dvc.yml", "tox.ini", "noxfile.toml", "mkdocs.yml"):
                kind = "run"
            getattr(files, kind)[rel] = text
            if kind == "config" and _settings_file(rel):
                for key, line, value in config_values(rel, text):
                    files.values.setdefault(key, []).append((rel, line, value))
            seen += 1
            if seen >= _MAX_FILES:
                return files
    return files


_SETTINGS_WORDS = re.compile(
    r"conf|cfg|param|setting|hparam|hyper|experiment|option|args|train|model|pipeline", re.I
)
_NOT_SETTINGS = frozenset(
    {
        "pyproject.toml",
        "package.json",
        "package-lock.json",
        "tsconfig.json",
        "environment.yml",
        "environment.yaml",
        "mkdocs.yml",
        "codecov.yml",
        ".pre-commit-config.yaml",
        ".readthedocs.yaml",
        "dvc.yaml",
        "dvc.lock",
        "citation.cff",
    }
)


def _settings_file(rel: str) -> bool:
    """A YAML / JSON / TOML file that configures runs (``configs/train.yaml``,
    ``params.yaml``), not a tool's file or a data file."""
    name = rel.rsplit("/", 1)[-1].lower()
    if name in _NOT_SETTINGS or name.startswith("docker-compose") or rel.startswith("."):
        return False
    if not name.endswith((".yaml", ".yml", ".json", ".toml")):
        return False
    return bool(_SETTINGS_WORDS.search(rel))


def config_values(rel: str, text: str) -> list[tuple[str, int, Any]]:
    """Every scalar setting of a YAML / JSON / TOML file as (key, line, value)."""
    try:
        if rel.endswith((".yaml", ".yml")):
            return _yaml_values(text)
        data = json.loads(text) if rel.endswith(".json") else tomllib.loads(text)
    except Exception:  # a file we cannot read as settings names nothing
        return []
    found: list[tuple[str, int, Any]] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if isinstance(item, (dict, list)):
                    walk(item)
                elif isinstance(key, str):
                    match = re.search(rf"^.*\b{re.escape(key)}\b", text, re.M)
                    line = text.count("\n", 0, match.start()) + 1 if match else 1
                    found.append((key, line, item))
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(data)
    return found


def _yaml_values(text: str) -> list[tuple[str, int, Any]]:
    found: list[tuple[str, int, Any]] = []
    for document in yaml.compose_all(text, Loader=yaml.SafeLoader):
        stack = [document]
        while stack:
            node = stack.pop()
            if isinstance(node, yaml.MappingNode):
                for key, value in node.value:
                    if isinstance(value, yaml.ScalarNode) and isinstance(key, yaml.ScalarNode):
                        loaded = (
                            yaml.safe_load(value.value)
                            if value.tag.endswith((":bool", ":null", ":int", ":float"))
                            else value.value
                        )
                        found.append((key.value, key.start_mark.line + 1, loaded))
                    else:
                        stack.append(value)
            elif isinstance(node, yaml.SequenceNode):
                stack.extend(node.value)
    return found


@dataclass
class ProjectUsage:
    """Every analysed module's usage (None when it could not be read) and the other files."""

    root: Path | None
    modules: dict[str, Usage | None]  # by path
    files: ProjectFiles
    #: generated or huge modules: read for nothing, reported on never (their names come
    #: from the facts' references)
    opaque: set[str] = field(default_factory=set)
    _lines: dict[str, list[str] | None] = field(default_factory=dict)
    #: Results the four dead-code rules share (imported paths, orphans, copies), computed once.
    memo: dict[Any, Any] = field(default_factory=dict)

    def usage(self, facts: ModuleFacts) -> Usage | None:
        return self.modules.get(facts.path)

    def source_lines(self, path: str) -> list[str] | None:
        """A module's text lines, read from disk on first use (for MLD214's similarity)."""
        if path not in self._lines:
            text = None if path in self.opaque else read_module(self.root, path)
            self._lines[path] = text.splitlines() if text is not None else None
        return self._lines[path]


def graph_root(graph: ProjectGraph) -> Path | None:
    root = getattr(graph, "root", None)
    return Path(root) if root is not None else None


_CACHE: dict[int, tuple[ProjectGraph, ProjectUsage]] = {}


def project_usage(graph: ProjectGraph) -> ProjectUsage:
    """Usage of every module of ``graph`` (computed once per graph) and the project's files."""
    cached = _CACHE.get(id(graph))
    if cached is not None and cached[0] is graph:
        return cached[1]
    root = graph_root(graph)
    modules: dict[str, Usage | None] = {}
    opaque: set[str] = set()
    for facts in graph.modules():
        if FACTS_KEY in facts.extra:  # computed in the per-file pass (cached)
            data = facts.extra[FACTS_KEY]
        else:  # a graph built without the per-file pass: read the file
            text = read_module(root, facts.path)
            data = file_usage(text, facts.path, facts.module) if text is not None else None
        if isinstance(data, dict) and data.get("opaque"):
            opaque.add(facts.path)
            data = None
        usage = usage_from_json(data) if isinstance(data, dict) else None
        if usage is not None and facts.notebook:
            runs, names = notebook_magics(root, facts.path)
            usage.mentions |= runs
            usage.uses |= names
        modules[facts.path] = usage
    files = scan_project_files(root, graph.by_path.keys())
    result = ProjectUsage(root, modules, files, opaque)
    _CACHE.clear()  # one project at a time: keep memory flat across runs in one process
    _CACHE[id(graph)] = (graph, result)
    return result


_GENERATED = re.compile(
    r"^\s*#.*(?:\bauto-?generated\b|@generated|\bdo not edit\b"
    r"|\bgenerated (?:by|from|with|automatically)\b|\bautomatically generated\b)",
    re.I | re.M,
)
MAX_MODULE = 1_000_000  # characters: larger modules are data or generated code


def generated(text: str) -> bool:
    """Generated code (a marker in its first lines) or a module too large to be written by
    hand: nobody maintains it line by line, so its dead parts are not debt to report."""
    if len(text) > MAX_MODULE:
        return True
    head = "\n".join(text.split("\n", 5)[:5])
    return bool(_GENERATED.search(head))


_RUN_MAGIC = re.compile(r"^\s*(?:%run|!\s*python[\d.]*)\s+(?:-m\s+)?(?:-\S+\s+)*([\w./-]+)", re.M)


def notebook_magics(root: Path | None, rel: str) -> tuple[set[str], set[str]]:
    """What a notebook's IPython lines reach, which its cells' Python does not show: the
    scripts and modules it runs (``%run helpers.py``, ``!python train.py``, ``!python -m
    pkg.mod``) and the names its magics use (``%timeit featurize(df)``)."""
    if root is None:
        return set(), set()
    try:
        cells = decode_notebook_cells(root / rel)
    except (OSError, ValueError, RecursionError):
        return set(), set()
    runs = {m.group(1) for m in _RUN_MAGIC.finditer(cells)}
    names: set[str] = set()
    for line in cells.splitlines():
        if line.lstrip().startswith(("%", "!")):
            names.update(_IDENT.findall(line))
    return runs, names


def decode_notebook_cells(path: Path) -> str:
    """A notebook's code cells' raw text, IPython syntax included."""
    data = read_regular(path)
    if data is None:
        return ""
    document = json.loads(data.decode("utf-8-sig"))
    texts = []
    for cell in document.get("cells", []) if isinstance(document, dict) else []:
        if isinstance(cell, dict) and cell.get("cell_type") == "code":
            source = cell.get("source", "")
            texts.append("".join(source) if isinstance(source, list) else str(source))
    return "\n".join(texts)


def read_regular(path: Path, limit: int | None = None) -> bytes | None:
    """A regular file's bytes (None for a folder, a FIFO, a device, a dangling or looping
    link, an unreadable file, or one larger than ``limit``): reading never blocks."""
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode) or (limit is not None and info.st_size > limit):
            return None
        return path.read_bytes()
    except (OSError, ValueError):
        return None


def read_module(root: Path | None, rel: str) -> str | None:
    """A module's text as the per-file pass saw it (a notebook's code cells joined)."""
    if root is None:
        return None
    data = read_regular(root / rel)
    if data is None:
        return None
    try:
        if rel.endswith(".ipynb"):
            return decode_notebook(data).text
        return decode_python(data)
    except (SourceError, UnicodeDecodeError, ValueError):
        return None


# project-level questions ---------------------------------------------------------------------


def imported_paths(graph: ProjectGraph, project: ProjectUsage) -> frozenset[str]:
    """Paths of the modules something imports, matched loosely: an import of ``helpers`` from
    a script in ``pipeline/`` finds ``pipeline/helpers.py`` (scripts run from their folder put
    it on ``sys.path``), and so does a string such as ``"pipeline.helpers"``, a dynamic import
    prefix ``f"models.{name}"``, or a package whose modules are loaded by name at run time."""
    if "imported" not in project.memo:
        project.memo["imported"] = frozenset(_imported_paths(graph, project))
    found: frozenset[str] = project.memo["imported"]
    return found


def _imported_paths(graph: ProjectGraph, project: ProjectUsage) -> set[str]:
    by_suffix: dict[str, list[ModuleFacts]] = {}
    for facts in graph.modules():
        if facts.notebook:
            continue
        parts = facts.module.split(".")
        for i in range(len(parts)):
            by_suffix.setdefault(".".join(parts[i:]), []).append(facts)
    found: set[str] = set()
    # analysing a package's own folder (sklearn/): its absolute imports name the folder
    top = project.root.name if project.root is not None else ""

    def mark(name: str, importer: str) -> None:
        head, _, rest = name.partition(".")
        # module names unwrap a src/ layout, so `from src.data import x` names `data`
        unwrapped = rest if rest and (head == top or head == "src") else ""
        for candidate in (name, unwrapped):
            for target in by_suffix.get(candidate, ()):
                if target.path != importer:
                    found.add(target.path)

    for facts in graph.modules():
        for imp in facts.imports:
            if imp.name and imp.name != "*":
                mark(f"{imp.module}.{imp.name}" if imp.module else imp.name, facts.path)
            if imp.module:
                mark(imp.module, facts.path)
        usage = project.usage(facts)
        if usage is None:
            continue
        for mention in usage.mentions:
            name = mention.removesuffix(".py").replace("/", ".").replace("\\", ".")
            mark(name.strip("."), facts.path)
        for prefix in usage.prefixes:
            if prefix.endswith("."):
                for target in graph.modules():
                    if target.module.startswith(prefix):
                        found.add(target.path)
        if usage.dynamic_import:
            package = facts.module if facts.path.endswith("__init__.py") else ""
            package = package or facts.module.rpartition(".")[0]
            for target in graph.modules():
                if not package or target.module.startswith(f"{package}."):
                    found.add(target.path)
    return found


def mentioned(facts: ModuleFacts, texts: Iterable[str]) -> bool:
    """Whether a file's text names the module: its path, file name, dotted name, ``-m``."""
    stem = facts.path.rsplit("/", 1)[-1]
    patterns = [
        rf"(?<![\w.-]){re.escape(stem)}\b",
        rf"(?<![\w-]){re.escape(facts.path)}\b",
    ]
    if "." in facts.module:
        patterns.append(rf"(?<![\w.]){re.escape(facts.module)}(?![\w])")
    last = facts.module.rpartition(".")[2]
    patterns.append(rf"-m\s+(?:[\w.]+\.)?{re.escape(last)}(?![\w.])")  # run from any folder
    regex = re.compile("|".join(patterns))
    return any(regex.search(text) for text in texts)


VENDORED = frozenset(
    {"externals", "extern", "vendor", "vendored", "_vendor", "third_party", "thirdparty"}
)


def is_vendored(path: str) -> bool:
    """Code copied in from another project: its unused parts are not this project's debt."""
    return any(p in VENDORED for p in path.split("/")[:-1])


def is_test_path(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    parts = path.split("/")[:-1]
    return (
        name.startswith("test_")
        or name.endswith("_test.py")
        or name in ("tests.py", "conftest.py")
        or any(p in ("tests", "test", "testing") for p in parts)
    )


def is_library(graph: ProjectGraph, project: ProjectUsage) -> bool:
    """A library, whose public names are there for other projects to use: the analysed
    folder is itself a package (``sklearn/``), or a top-level package (``pkg/``,
    ``src/pkg/``) declares an API in its ``__init__``: ``__all__`` or re-exports of five
    or more names from its modules. Packaging metadata alone does not make one: ML
    applications are packaged too."""
    if "__init__.py" in graph.by_path:
        return True
    for facts in graph.modules():
        parts = facts.path.split("/")
        top = len(parts) == 2 or (len(parts) == 3 and parts[0] == "src")
        if not top or parts[-1] != "__init__.py":
            continue
        usage = project.usage(facts)
        if usage is not None and usage.exports is not None:
            return True
        own = [i for i in facts.imports if i.module.startswith(f"{facts.module}.") and i.name]
        if len(own) >= 5:
            return True
    return False


def in_package(graph: ProjectGraph, path: str) -> bool:
    folder = path.rpartition("/")[0]
    return f"{folder}/__init__.py" in graph.by_path if folder else "__init__.py" in graph.by_path


def public_api(graph: ProjectGraph, project: ProjectUsage, path: str, name: str = "") -> bool:
    """Whether ``name`` in module ``path`` is a library's public API (used from outside)."""
    if not is_library(graph, project) or not in_package(graph, path):
        return False
    parts = [p for p in path.removesuffix(".py").split("/") if p != "__init__"]
    if any(p.startswith("_") for p in parts) or is_test_path(path):
        return False
    return not name.startswith("_")


def place(facts: ModuleFacts, line: int) -> str:
    """``path:line``, or ``path cell N:line`` in a notebook (lines inside the cell)."""
    if not facts.cells:
        return f"{facts.path}:{line}"
    cell, inner = CellMap.from_list(facts.cells).locate(line)
    return f"{facts.path} cell {cell}:{inner}" if cell is not None else f"{facts.path}:{inner}"


def lines_text(facts: ModuleFacts, start: int, end: int) -> str:
    """``lines 4-6`` (``line 4``), counted inside the cell in a notebook."""
    if facts.cells:
        cells = CellMap.from_list(facts.cells)
        start, end = cells.locate(start)[1], cells.locate(end)[1]
    return f"line {start}" if start == end else f"lines {start}-{end}"


#: Bases from outside the project whose hooks :data:`unused_definitions.HOOKS` knows, so the
#: other methods of their subclasses can be judged; any other outside base may call anything.
KNOWN_BASES = frozenset(
    {
        "object",
        "torch.nn.Module",
        "torch.nn.modules.module.Module",
        "torch.utils.data.Dataset",
        "torch.utils.data.IterableDataset",
        "torch.utils.data.dataset.Dataset",
        "sklearn.base.BaseEstimator",
        "sklearn.base.TransformerMixin",
        "sklearn.base.ClassifierMixin",
        "sklearn.base.RegressorMixin",
        "keras.layers.Layer",
        "keras.Model",
        "tensorflow.keras.layers.Layer",
        "tensorflow.keras.Model",
        "tf.keras.layers.Layer",
        "tf.keras.Model",
        "Exception",
        "ValueError",
        "RuntimeError",
        "TypeError",
        "KeyError",
        "dict",
        "list",
    }
)


class ClassIndex:
    """The project's classes by name, to follow a class's bases through the project."""

    def __init__(self, graph: ProjectGraph, project: ProjectUsage) -> None:
        self.by_name: dict[str, list[tuple[ModuleFacts, Definition]]] = {}
        self.usages: dict[str, Usage] = {}
        for facts in graph.modules():
            usage = project.usage(facts)
            if usage is None:
                continue
            self.usages[facts.path] = usage
            for definition in usage.definitions:
                if definition.kind == "class":
                    self.by_name.setdefault(definition.name, []).append((facts, definition))

    def find(self, facts: ModuleFacts, qualname: str) -> Definition | None:
        usage = self.usages.get(facts.path)
        if usage is None:
            return None
        return next((d for d in usage.definitions if d.qualname == qualname), None)

    def lineage(
        self, facts: ModuleFacts, cls: Definition
    ) -> tuple[list[tuple[ModuleFacts, Definition]], set[str]]:
        """The class and its ancestors in the project, and the bases found outside it."""
        seen: list[tuple[ModuleFacts, Definition]] = []
        outside: set[str] = set()
        todo = [(facts, cls)]
        while todo:
            current = todo.pop()
            if any(current[1] is d for _, d in seen):
                continue
            seen.append(current)
            for base in current[1].bases:
                if base in ("", "object"):
                    continue
                found = self.by_name.get(base.rpartition(".")[2], [])
                if found:
                    todo.extend(found)
                else:
                    outside.add(base)
        return seen, outside


class UsageRule(ProjectRule):
    """A dead-code rule: its per-file facts are the module's usage, shared by all four."""

    facts_key = FACTS_KEY

    @classmethod
    def file_facts(cls, context: FileContext) -> Any:
        return file_usage(context.text, context.path, module_name(context.path))
