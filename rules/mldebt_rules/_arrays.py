"""Helpers shared by the pandas / NumPy / tensor rules (no rule lives here)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import libcst as cst

from mldebt.literals import string_value
from mldebt.resolve import Resolver
from mldebt.resolve import kinds as k
from mldebt.traversal import callback_names

if TYPE_CHECKING:
    from mldebt.context import FileContext

#: Kinds that are pandas objects with labelled rows and columns.
PANDAS = frozenset({k.DATAFRAME, k.SERIES})
#: What :func:`pandas_kind` says of a selection that is a DataFrame or a Series.
SELECTION = "selection"
#: Label- and position-based pandas indexers.
INDEXERS = frozenset({"loc", "iloc", "at", "iat"})
#: Series accessors whose attributes are Series again (``s.cat.codes``, ``s.dt.year``).
ACCESSORS = frozenset({"str", "dt", "cat"})


def is_true(node: cst.BaseExpression | None) -> bool:
    return isinstance(node, cst.Name) and node.value == "True"


def label(resolver: Resolver, node: cst.BaseExpression | None) -> str | None:
    """A column label given as a string literal or a name bound to one (``TARGET``)."""
    if node is None:
        return None
    found = string_value(node)
    if found is not None:
        return found
    literal = resolver.constant(node)
    return string_value(literal) if literal is not None and literal is not node else None


def index_value(subscript: cst.Subscript) -> cst.BaseExpression | None:
    """The single index of ``x[i]`` (``None`` for slices and multi-dimensional indexes)."""
    if len(subscript.slice) != 1:
        return None
    part = subscript.slice[0].slice
    return part.value if isinstance(part, cst.Index) else None


def pandas_kind(resolver: Resolver, expr: cst.BaseExpression) -> str | None:
    """``dataframe`` / ``series`` when ``expr`` is known to be one, ``selection`` for a
    selection from one the resolver cannot type precisely (``df[cols]``, ``df.loc[...]``),
    ``series`` for accessor attributes (``s.cat.codes``); None otherwise."""
    kind = resolver.kind_of(expr)
    if kind in PANDAS:
        return kind
    if kind is not None:
        return None
    if isinstance(expr, cst.Subscript):
        base = expr.value
        if isinstance(base, cst.Attribute) and base.attr.value in ("loc", "iloc"):
            base = base.value
        return SELECTION if resolver.kind_of(base) in PANDAS else None
    if (
        isinstance(expr, cst.Attribute)
        and isinstance(expr.value, cst.Attribute)
        and expr.value.attr.value in ACCESSORS
        and resolver.kind_of(expr.value.value) == k.SERIES
    ):
        return k.SERIES
    return None


def source(module: cst.Module, node: cst.CSTNode) -> str:
    """A node's code on one line (for messages), shortened when long."""
    text = " ".join(module.code_for_node(node).split())
    return text if len(text) <= 60 else text[:57] + "..."


class TextGate:
    """A rule mixin (listed before ``FileRule``): the rule takes part in a file's traversal
    only when, for every group in ``gates``, the file's text contains one of its strings —
    words its findings cannot do without (``merge``, ``.values``, ``dot``) — so files that
    cannot hold a finding cost it nothing."""

    gates: ClassVar[tuple[tuple[str, ...], ...]] = ()
    context: FileContext

    def get_visitors(self) -> Mapping[str, Callable[[Any], Any]]:
        text = self.context.text
        if not all(any(word in text for word in group) for group in self.gates):
            return {}
        return {name: getattr(self, name) for name in callback_names(type(self))}
