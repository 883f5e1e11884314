"""Where data came from: labels that follow values through assignments, for the leakage and
scaling rules. Not a rule module.

A :class:`Flow` keeps, per function (module level is ``""``), the labels each name holds. A
label is a small tuple such as ``("raw",)`` or ``("combined", 3)``; rules choose their own and
attach them to calls through a hook. Labels travel through names, attributes, subscripts,
method calls on the labelled value, function calls taking it, arithmetic and displays; they
stop at calls that reduce data to a size or a type (``len``, ``x.shape``). Assignments replace
a name's labels (flow-sensitive in source order; branches are not merged), subscript and
augmented assignments add to them (``df[cols] = scaler.fit_transform(df[cols])``).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable, Iterator

import libcst as cst

from mldebt.resolve import Resolver
from mldebt.resolve.names import dotted

Label = tuple[object, ...]
Labels = frozenset[Label]
EMPTY: Labels = frozenset()

# Attributes and calls whose result is not the data any more.
_NOT_DATA_ATTRIBUTES = frozenset(
    {"shape", "dtype", "dtypes", "columns", "index", "size", "ndim", "name", "names", "nbytes"}
)
_NOT_DATA_CALLS = frozenset(
    {
        "len",
        "print",
        "int",
        "float",
        "str",
        "bool",
        "type",
        "isinstance",
        "range",
        "id",
        "hash",
        "repr",
        "round",
        "open",
        "getattr",
        "hasattr",
        "logging.info",
        "logging.debug",
    }
)
_NOT_DATA_METHODS = frozenset(
    {"count", "nunique", "item", "info", "keys", "isnull", "isna", "any", "all", "__len__"}
)

_TOKEN = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")
_TRAIN_WORDS = frozenset({"train", "trn", "tr", "training", "trainval", "fit"})
_TEST_WORDS = frozenset(
    {"test", "tst", "te", "testing", "holdout", "val", "va", "valid", "validation", "eval", "dev"}
)
_PREFIXES = ("x", "y", "df", "data")


def _words(name: str) -> list[str]:
    words: list[str] = []
    for part in re.split(r"[_\W]+", name):
        words.extend(w.lower() for w in _TOKEN.findall(part))
    # Xtrain, xtest, dftest: a one-letter or short prefix glued to the word.
    expanded = []
    for word in words:
        expanded.append(word)
        for prefix in _PREFIXES:
            if word.startswith(prefix) and word[len(prefix) :] in _TRAIN_WORDS | _TEST_WORDS:
                expanded.append(word[len(prefix) :])
    return expanded


def split_role(name: str) -> str | None:
    """``"train"`` or ``"test"`` when a variable's name says which part of a split it holds
    (``X_train``, ``df_test``, ``x_te``, ``valid_df``, ``Xtest``); None otherwise or both."""
    words = set(_words(name))
    train = bool(words & _TRAIN_WORDS)
    test = bool(words & _TEST_WORDS)
    if train == test:
        return None
    return "train" if train else "test"


# Fields holding whitespace and punctuation only: never worth descending into.
_TOKEN_FIELDS = frozenset(
    {
        "lpar",
        "rpar",
        "comma",
        "equal",
        "dot",
        "colon",
        "semicolon",
        "lbracket",
        "rbracket",
        "lbrace",
        "rbrace",
        "star",
        "operator",
        "newline",
        "leading_lines",
        "trailing_whitespace",
        "header",
        "footer",
    }
)
_FIELDS: dict[type, tuple[str, ...]] = {}


def sub_nodes(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """The syntactic children of ``node`` (no whitespace or tokens), read straight from its
    dataclass fields: libcst's ``children`` rebuilds the node and costs far more."""
    cls = type(node)
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = tuple(
            f.name
            for f in dataclasses.fields(node)
            if f.name not in _TOKEN_FIELDS and not f.name.startswith("whitespace")
        )
    for name in names:
        value = getattr(node, name)
        if isinstance(value, cst.CSTNode):
            yield value
        elif isinstance(value, (tuple, list)):
            for item in value:
                if isinstance(item, cst.CSTNode):
                    yield item


def mentions(text: str, words: Iterable[str]) -> bool:
    """Whether a file's text contains any of ``words`` (a cheap gate before the real work)."""
    return any(word in text for word in words)


def root_names(expr: cst.BaseExpression) -> list[str]:
    """The variables an expression reads its data from: ``df`` in ``df[cols].to_numpy()``,
    ``X_tr`` in ``np.log1p(X_tr)``, ``self.X`` in ``self.X[idx]``."""
    found: list[str] = []
    stack: list[cst.CSTNode] = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, cst.Name):
            found.append(node.value)
        elif isinstance(node, cst.Attribute):
            chain = dotted(node)
            if chain is not None and chain.startswith("self."):
                found.append(chain)
            elif node.attr.value not in _NOT_DATA_ATTRIBUTES:
                stack.append(node.value)
        elif isinstance(node, cst.Subscript):
            stack.append(node.value)
        elif isinstance(node, cst.Call):
            func = node.func
            if isinstance(func, cst.Attribute):
                stack.append(func.value)
            stack.extend(a.value for a in node.args if a.keyword is None)
        elif isinstance(
            node,
            (cst.BinaryOperation, cst.UnaryOperation, cst.List, cst.Tuple, cst.Element),
        ):
            stack.extend(sub_nodes(node))
    found.reverse()
    return found


#: A rule's hook, asked about every call and binary operation: the labels it adds (or None
#: for "no opinion"), and whether the result also carries its inputs' labels.
CallHook = Callable[[cst.Call | cst.BinaryOperation], "tuple[Labels, bool] | None"]


class Flow:
    """Labels of names, per function, current at the point of the walk (see module docs)."""

    def __init__(self, resolver: Resolver, hook: CallHook | None = None) -> None:
        self.resolver = resolver
        self.hook = hook
        self.scopes: dict[str, dict[str, Labels]] = {}
        #: How many times each name was assigned, per scope (tells two ``X`` apart).
        self.generation: dict[str, dict[str, int]] = {}

    @property
    def scope(self) -> str:
        return self.resolver.function or ""

    def held(self, name: str) -> Labels:
        found = self.scopes.get(self.scope, {}).get(name)
        if found is None:
            found = self.scopes.get("", {}).get(name, EMPTY)
        return found

    def version(self, name: str) -> tuple[str, int]:
        """Which assignment of ``name`` is visible here (scope, count)."""
        scope = self.scope
        if name in self.generation.get(scope, {}) or scope == "":
            return scope, self.generation.get(scope, {}).get(name, 0)
        return "", self.generation.get("", {}).get(name, 0)

    def set(self, name: str, labels: Labels) -> None:
        scope = self.scope
        self.scopes.setdefault(scope, {})[name] = labels
        counts = self.generation.setdefault(scope, {})
        counts[name] = counts.get(name, 0) + 1

    def add(self, name: str, labels: Labels) -> None:
        if labels:
            self.scopes.setdefault(self.scope, {})[name] = self.held(name) | labels

    # --- evaluation ------------------------------------------------------------------------

    def labels(self, expr: cst.BaseExpression) -> Labels:
        """The labels ``expr``'s value carries here."""
        if isinstance(expr, cst.Name):
            return self.held(expr.value)
        if isinstance(expr, cst.Attribute):
            chain = dotted(expr)
            if chain is not None and chain.startswith("self."):
                return self.held(chain)
            if expr.attr.value in _NOT_DATA_ATTRIBUTES:
                return EMPTY
            return self.labels(expr.value)
        if isinstance(expr, cst.Subscript):
            return self.labels(expr.value)
        if isinstance(expr, cst.Call):
            return self._call(expr)
        if isinstance(expr, cst.BinaryOperation):
            own: Labels = EMPTY
            if self.hook is not None:
                decided = self.hook(expr)
                if decided is not None:
                    own, carry = decided
                    if not carry:
                        return own
            return own | self.labels(expr.left) | self.labels(expr.right)
        if isinstance(expr, cst.UnaryOperation):
            return self.labels(expr.expression)
        if isinstance(expr, (cst.List, cst.Tuple, cst.Set)):
            return self._union(e.value for e in expr.elements)
        if isinstance(expr, cst.Dict):
            return self._union(e.value for e in expr.elements)
        if isinstance(expr, cst.IfExp):
            return self.labels(expr.body) | self.labels(expr.orelse)
        if isinstance(expr, (cst.ListComp, cst.GeneratorExp, cst.SetComp)):
            return self.labels(expr.for_in.iter)
        if isinstance(expr, cst.NamedExpr):
            return self.labels(expr.value)
        return EMPTY

    def _union(self, exprs: Iterable[cst.BaseExpression]) -> Labels:
        found: set[Label] = set()
        for expr in exprs:
            found |= self.labels(expr)
        return frozenset(found)

    def _call(self, call: cst.Call) -> Labels:
        own: Labels = EMPTY
        carry = True
        if self.hook is not None:
            decided = self.hook(call)
            if decided is not None:
                own, carry = decided
        if not carry:
            return own
        func = call.func
        inputs: set[Label] = set()
        if isinstance(func, cst.Attribute):
            if func.attr.value in _NOT_DATA_METHODS:
                return own
            inputs |= self.labels(func.value)
        else:
            name = self.resolver.call_name(call)
            if name in _NOT_DATA_CALLS:
                return own
        for arg in call.args:
            inputs |= self.labels(arg.value)
        return own | frozenset(inputs)

    # --- assignments -----------------------------------------------------------------------

    def assign(self, target: cst.BaseExpression, labels: Labels) -> None:
        """Bind ``target`` (a name, a tuple of names, ``self.x``, ``df[col]``) to ``labels``."""
        if isinstance(target, cst.Name):
            self.set(target.value, labels)
        elif isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self.assign(element.value, labels)
        elif isinstance(target, cst.StarredElement):
            self.assign(target.value, labels)
        elif isinstance(target, cst.Attribute):
            chain = dotted(target)
            if chain is not None and chain.startswith("self."):
                self.set(chain, labels)
        elif isinstance(target, cst.Subscript):
            base = target.value
            if isinstance(base, cst.Attribute) and base.attr.value in ("loc", "iloc", "at"):
                base = base.value
            if isinstance(base, cst.Name):
                self.add(base.value, labels)
            elif isinstance(base, cst.Attribute):
                chain = dotted(base)
                if chain is not None and chain.startswith("self."):
                    self.add(chain, labels)
