"""One shared, lean traversal of a libcst tree for every file rule, and positions on demand.

libcst's own ``Module.visit`` rebuilds every node as it goes and ``PositionProvider`` records a
range for every node; together they cost several parses. Rules only need to see the
syntactic nodes and the positions of what they report, so we walk the dataclass fields
directly (skipping whitespace and token fields unless a rule asks for them) and compute
positions afterwards for just the nodes that need them, in one code generation pass.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import libcst as cst
from libcst._nodes.internal import CodegenState

Callback = Callable[[Any], Any]

# Fields that hold only whitespace, comments or punctuation tokens.
_TOKEN_FIELDS = frozenset(
    {
        "lpar",
        "rpar",
        "leading_lines",
        "lines_after_decorators",
        "header",
        "footer",
        "trailing_whitespace",
        "semicolon",
        "comma",
        "lbracket",
        "rbracket",
        "lbrace",
        "rbrace",
        "equal",
        "dot",
        "colon",
        "asynchronous",
        "newline",
        "first_colon",
        "second_colon",
        "leading_whitespace",
        "whitespace",
        "star_tok",
        "encoding",
        "default_indent",
        "default_newline",
        "has_trailing_newline",
    }
)

# Where libcst visits children in source order rather than in dataclass field order.
_ORDER = {
    "Arg": ("keyword", "value"),
    "ClassDef": ("decorators", "name", "type_parameters", "bases", "keywords", "body"),
    "FunctionDef": ("decorators", "name", "type_parameters", "params", "returns", "body"),
    "ExceptHandler": ("type", "name", "body"),
    "ExceptStarHandler": ("type", "name", "body"),
    "IfExp": ("body", "test", "orelse"),
    "ImportFrom": ("relative", "module", "names"),
    "MatchCase": ("pattern", "guard", "body"),
    "Parameters": (
        "posonly_params",
        "posonly_ind",
        "params",
        "star_arg",
        "kwonly_params",
        "star_kwarg",
    ),
    "Slice": ("lower", "upper", "step"),
    "TypeAlias": ("name", "type_parameters", "value"),
}

_WHITESPACE_NODES = frozenset(
    {
        "Comment",
        "EmptyLine",
        "TrailingWhitespace",
        "SimpleWhitespace",
        "ParenthesizedWhitespace",
        "Newline",
    }
)


def _child_fields(cls: type, tokens: bool) -> tuple[str, ...]:
    names = [f.name for f in dataclasses.fields(cls)]
    if not tokens:
        names = [n for n in names if n not in _TOKEN_FIELDS and not n.startswith("whitespace")]
    order = _ORDER.get(cls.__name__)
    if order:
        names = [n for n in order if n in names] + [n for n in names if n not in order]
    return tuple(names)


class Dispatch:
    """The visit/leave callbacks of a batch of visitors, indexed by node class name."""

    def __init__(self, visitors: Iterable[cst.BatchableCSTVisitor]) -> None:
        self.visit: dict[str, list[Callback]] = {}
        self.leave: dict[str, list[Callback]] = {}
        for visitor in visitors:
            for method_name, method in visitor.get_visitors().items():
                kind, _, node_name = method_name.partition("_")
                if kind == "visit":
                    self.visit.setdefault(node_name, []).append(method)
                elif kind == "leave" and not node_name.endswith("_"):
                    self.leave.setdefault(node_name, []).append(method)
        wanted = set(self.visit) | set(self.leave)
        self.tokens = bool(wanted & _WHITESPACE_NODES)
        self._fields: dict[type, tuple[str, ...]] = {}

    def fields(self, cls: type) -> tuple[str, ...]:
        found = self._fields.get(cls)
        if found is None:
            found = self._fields[cls] = _child_fields(cls, self.tokens)
        return found


class Scope:
    """The qualified name of the class or function the traversal is inside."""

    def __init__(self) -> None:
        self.names: list[str] = []

    @property
    def qualname(self) -> str:
        return ".".join(self.names)


_LEAVE = object()


def walk(module: cst.Module, dispatch: Dispatch, scope: Scope) -> None:
    """Visit ``module`` depth-first in source order, calling every batched callback once.

    Iterative, so deeply nested expressions cannot exhaust Python's recursion limit.
    A ``visit_*`` callback returning ``False`` skips the node's children, as in libcst.
    """
    visit, leave = dispatch.visit, dispatch.leave
    stack: list[Any] = [module]
    while stack:
        node = stack.pop()
        if node is _LEAVE:
            done = stack.pop()
            name = type(done).__name__
            for callback in leave.get(name, ()):
                callback(done)
            if name in ("FunctionDef", "ClassDef"):
                scope.names.pop()
            continue
        cls = type(node)
        name = cls.__name__
        descend = True
        for callback in visit.get(name, ()):
            if callback(node) is False:
                descend = False
        if name in ("FunctionDef", "ClassDef"):
            scope.names.append(node.name.value)
        stack.append(node)
        stack.append(_LEAVE)
        if not descend:
            continue
        children: list[cst.CSTNode] = []
        for field_name in dispatch.fields(cls):
            value = getattr(node, field_name)
            if isinstance(value, cst.CSTNode):
                children.append(value)
            elif type(value) in (list, tuple):
                children.extend(v for v in value if isinstance(v, cst.CSTNode))
        stack.extend(reversed(children))


Span = tuple[
    int, int, int, int
]  # line, column (1-based), end line, end column (1-based, exclusive)


class _TargetedState(CodegenState):
    """Code generation that remembers token offsets for a chosen set of nodes only."""

    def __init__(self, module: cst.Module, targets: set[cst.CSTNode]) -> None:
        super().__init__(default_indent=module.default_indent, default_newline="\n")
        self.targets = targets
        self.inclusive: dict[cst.CSTNode, tuple[int, int]] = {}
        self.syntactic: dict[cst.CSTNode, tuple[int, int, Any, Any]] = {}
        self.open: dict[cst.CSTNode, int] = {}

    def before_codegen(self, node: cst.CSTNode) -> None:
        if node in self.targets:
            self.open[node] = len(self.tokens)

    def after_codegen(self, node: cst.CSTNode) -> None:
        if node in self.targets:
            self.inclusive[node] = (self.open.pop(node), len(self.tokens))

    @contextmanager
    def record_syntactic_position(
        self,
        node: cst.CSTNode,
        *,
        start_node: cst.CSTNode | None = None,
        end_node: cst.CSTNode | None = None,
    ) -> Iterator[None]:
        if node not in self.targets:
            yield
            return
        for hoisted in (start_node, end_node):
            if hoisted is not None:
                self.targets.add(hoisted)
        start = len(self.tokens)
        yield
        self.syntactic[node] = (start, len(self.tokens), start_node, end_node)


def positions(module: cst.Module, nodes: Iterable[cst.CSTNode]) -> dict[cst.CSTNode, Span]:
    """Source spans of ``nodes``, matching libcst's ``PositionProvider`` (1-based columns)."""
    targets = set(nodes)
    if not targets:
        return {}
    state = _TargetedState(module, set(targets))
    module._codegen(state)
    offsets: dict[cst.CSTNode, tuple[int, int]] = {}
    for node in state.syntactic.keys() | state.inclusive.keys():
        offsets[node] = _span(state, node, offsets)
    coords = _token_coordinates(state.tokens, {i for pair in offsets.values() for i in pair})
    return {
        node: (*coords[start], *coords[end])
        for node, (start, end) in offsets.items()
        if node in targets
    }


def _span(
    state: _TargetedState, node: cst.CSTNode, memo: dict[cst.CSTNode, tuple[int, int]]
) -> tuple[int, int]:
    """A node's syntactic token span, with starts and ends hoisted from children as libcst does."""
    if node in memo:
        return memo[node]
    if node not in state.syntactic:
        return state.inclusive[node]
    start, end, start_node, end_node = state.syntactic[node]
    if start_node is not None:
        start = _span(state, start_node, memo)[0]
    if end_node is not None:
        end = _span(state, end_node, memo)[1]
    memo[node] = (start, end)
    return start, end


def _token_coordinates(tokens: list[str], indices: set[int]) -> dict[int, tuple[int, int]]:
    """Line and 1-based column at which each token index starts, in one pass."""
    wanted = sorted(indices)
    coords: dict[int, tuple[int, int]] = {}
    line, column = 1, 0
    position = 0
    for index in wanted:
        while position < index and position < len(tokens):
            token = tokens[position]
            newlines = token.count("\n")
            if newlines:
                line += newlines
                column = len(token) - token.rfind("\n") - 1
            else:
                column += len(token)
            position += 1
        coords[index] = (line, column + 1)
    return coords
