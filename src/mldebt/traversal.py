"""One shared, lean traversal of a libcst tree for every file rule, and positions on demand.

libcst's own ``Module.visit`` rebuilds every node as it goes and ``PositionProvider`` records a
range for every node; together they cost several parses. Rules only need to see the
syntactic nodes and the positions of what they report, so we walk the dataclass fields
directly (skipping whitespace and token fields unless a rule asks for them) and compute
positions afterwards for just the nodes that need them, in one code generation pass.
"""

from __future__ import annotations

import dataclasses
import re
from bisect import bisect_right
from collections.abc import Callable, Iterable
from itertools import accumulate
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
    """The fields of a node class holding child nodes, in the order libcst visits them.

    libcst's visiting order is source order, which is not always the dataclass field order
    (a decorator comes before its function's name). Each class's
    ``_visit_and_replace_children`` names its fields as string constants in the order it
    visits them, so that order is read from its code object once per class; fields it does
    not name (plain values such as ``Name.value``) follow in dataclass order.
    """
    names = [f.name for f in dataclasses.fields(cls)]
    method = getattr(cls, "_visit_and_replace_children", None)
    code = getattr(method, "__code__", None)
    visited: list[str] = []
    for constant in code.co_consts if code is not None else ():
        if isinstance(constant, str) and constant in names and constant not in visited:
            visited.append(constant)
    names = visited + [n for n in names if n not in visited]
    if not tokens:
        names = [n for n in names if n not in _TOKEN_FIELDS and not n.startswith("whitespace")]
    return tuple(names)


def callback_names(cls: type) -> tuple[str, ...]:
    """The ``visit_<Node>`` and ``leave_<Node>`` methods a visitor class really defines
    (libcst's empty stubs carry ``_is_no_op``), found once per class, not once per file.
    ``visit_<Node>_<field>`` hooks belong to libcst's own visitor and are not dispatched."""
    found = _CALLBACKS.get(cls)
    if found is None:
        names = []
        for attribute in sorted(dir(cls)):
            kind, _, node_name = attribute.partition("_")
            if kind not in ("visit", "leave") or not node_name or "_" in node_name:
                continue
            method = getattr(cls, attribute)
            if callable(method) and not getattr(method, "_is_no_op", False):
                names.append(attribute)
        found = _CALLBACKS[cls] = tuple(names)
    return found


_CALLBACKS: dict[type, tuple[str, ...]] = {}
_FIELDS: dict[tuple[type, bool], tuple[str, ...]] = {}


class Dispatch:
    """The visit/leave callbacks of a batch of visitors, indexed by node class name."""

    def __init__(self, visitors: Iterable[cst.BatchableCSTVisitor]) -> None:
        self.visit: dict[str, list[Callback]] = {}
        self.leave: dict[str, list[Callback]] = {}
        for visitor in visitors:
            if type(visitor).get_visitors is not cst.BatchableCSTVisitor.get_visitors:
                names = list(visitor.get_visitors())  # a visitor that chooses its own methods
            else:
                names = list(callback_names(type(visitor)))
            for method_name in names:
                kind, _, node_name = method_name.partition("_")
                if kind in ("visit", "leave") and node_name and "_" not in node_name:
                    table = self.visit if kind == "visit" else self.leave
                    table.setdefault(node_name, []).append(getattr(visitor, method_name))
        wanted = set(self.visit) | set(self.leave)
        self.tokens = bool(wanted & _WHITESPACE_NODES)

    def fields(self, cls: type) -> tuple[str, ...]:
        found = _FIELDS.get((cls, self.tokens))
        if found is None:
            found = _FIELDS[(cls, self.tokens)] = _child_fields(cls, self.tokens)
        return found

    def plan(self, cls: type) -> _Plan:
        """What the walk does at a node of class ``cls``: its visit and leave callbacks,
        its child fields last to first, and whether it opens a scope."""
        name = cls.__name__
        return (
            tuple(self.visit.get(name, ())),
            tuple(self.leave.get(name, ())),
            tuple(reversed(self.fields(cls))),
            name in ("FunctionDef", "ClassDef"),
        )


_Plan = tuple[tuple[Callback, ...], tuple[Callback, ...], tuple[str, ...], bool]


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
    plans: dict[type, _Plan] = {}
    stack: list[Any] = [module]
    pop, push = stack.pop, stack.append
    names = scope.names
    while stack:
        node = pop()
        if node is _LEAVE:
            done = pop()
            _, leaves, _, scoped = plans[type(done)]
            for callback in leaves:
                callback(done)
            if scoped:
                names.pop()
            continue
        cls = type(node)
        plan = plans.get(cls)
        if plan is None:
            plan = plans[cls] = dispatch.plan(cls)
        visits, leaves, fields, scoped = plan
        descend = True
        for callback in visits:
            if callback(node) is False:
                descend = False
        if scoped:
            names.append(node.name.value)
        if leaves or scoped:
            push(node)
            push(_LEAVE)
        if not descend:
            continue
        for field_name in fields:  # last to first: the first child is popped first
            value = getattr(node, field_name)
            kind = type(value)
            if kind is list or kind is tuple:
                for child in reversed(value):
                    if isinstance(child, cst.CSTNode):
                        push(child)
            elif isinstance(value, cst.CSTNode):
                push(value)


Span = tuple[int, int, int, int]  # line, column (1-based), end line, end column (exclusive)


class _NoRecord:
    """What ``record_syntactic_position`` gives a node nobody asked about: nothing to do."""

    __slots__ = ()

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


_NO_RECORD = _NoRecord()


class _Record:
    """Remembers the token span of a target node's syntactic part (hoisting is resolved later)."""

    __slots__ = ("end_node", "node_id", "start", "start_node", "state")

    def __init__(
        self,
        state: _TargetedState,
        node_id: int,
        start_node: cst.CSTNode | None,
        end_node: cst.CSTNode | None,
    ) -> None:
        self.state = state
        self.node_id = node_id
        self.start_node = start_node
        self.end_node = end_node
        self.start = 0

    def __enter__(self) -> None:
        self.start = len(self.state.tokens)

    def __exit__(self, *exc: object) -> None:
        self.state.syntactic[self.node_id] = (
            self.start,
            len(self.state.tokens),
            self.start_node,
            self.end_node,
        )


class _TargetedState(CodegenState):
    """Code generation that remembers token offsets for a chosen set of nodes only.

    Nodes are tracked by ``id()``: a node's own ``__hash__`` is a Python call, and these
    hooks run for every node of the module.
    """

    def __init__(self, module: cst.Module, targets: set[int]) -> None:
        super().__init__(default_indent=module.default_indent, default_newline="\n")
        self.targets = targets
        self.inclusive: dict[int, tuple[int, int]] = {}
        self.syntactic: dict[int, tuple[int, int, cst.CSTNode | None, cst.CSTNode | None]] = {}
        self.open: dict[int, int] = {}

    def before_codegen(self, node: cst.CSTNode) -> None:
        if id(node) in self.targets:
            self.open[id(node)] = len(self.tokens)

    def after_codegen(self, node: cst.CSTNode) -> None:
        if id(node) in self.targets:
            self.inclusive[id(node)] = (self.open.pop(id(node)), len(self.tokens))

    def record_syntactic_position(  # type: ignore[override]
        self,
        node: cst.CSTNode,
        *,
        start_node: cst.CSTNode | None = None,
        end_node: cst.CSTNode | None = None,
    ) -> _Record | _NoRecord:
        if id(node) not in self.targets:
            return _NO_RECORD
        for hoisted in (start_node, end_node):
            if hoisted is not None:
                self.targets.add(id(hoisted))
        return _Record(self, id(node), start_node, end_node)


def positions(module: cst.Module, nodes: Iterable[cst.CSTNode]) -> dict[cst.CSTNode, Span]:
    """Source spans of ``nodes``, matching libcst's ``PositionProvider`` (1-based columns).

    One code generation pass over the module that notes token offsets only for the nodes
    asked about (and the children their spans are hoisted from).
    """
    wanted = {id(node): node for node in nodes}
    if not wanted:
        return {}
    state = _TargetedState(module, set(wanted))
    module._codegen(state)
    offsets: dict[int, tuple[int, int]] = {}
    for node_id in wanted:
        if node_id in state.inclusive:  # else the node is not part of this module
            offsets[node_id] = _span(state, node_id, offsets)
    coords = _token_coordinates(state.tokens, {i for pair in offsets.values() for i in pair})
    return {
        node: (*coords[offsets[node_id][0]], *coords[offsets[node_id][1]])
        for node_id, node in wanted.items()
        if node_id in offsets
    }


def _span(state: _TargetedState, node_id: int, memo: dict[int, tuple[int, int]]) -> tuple[int, int]:
    """A node's syntactic token span, with starts and ends hoisted from children as libcst does."""
    if node_id in memo:
        return memo[node_id]
    if node_id not in state.syntactic:
        return state.inclusive[node_id]
    start, end, start_node, end_node = state.syntactic[node_id]
    if start_node is not None:
        start = _span(state, id(start_node), memo)[0]
    if end_node is not None:
        end = _span(state, id(end_node), memo)[1]
    memo[node_id] = (start, end)
    return start, end


def _token_coordinates(tokens: list[str], indices: set[int]) -> dict[int, tuple[int, int]]:
    """Line and 1-based column at which each token index starts (C-speed bulk work)."""
    offsets = list(accumulate(map(len, tokens), initial=0))
    text = "".join(tokens)
    line_starts = [0]
    line_starts.extend(m.end() for m in _NEWLINE.finditer(text))
    coords: dict[int, tuple[int, int]] = {}
    for index in indices:
        offset = offsets[min(index, len(tokens))]
        line = bisect_right(line_starts, offset)
        coords[index] = (line, offset - line_starts[line - 1] + 1)
    return coords


_NEWLINE = re.compile("\n")
