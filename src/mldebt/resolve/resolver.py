"""The resolver: qualified names and value kinds, current at each point of the shared walk.

It runs inside the engine's one traversal, around the rules: its ``visit_*`` callbacks run
before any rule's and its ``leave_*`` callbacks after every rule's (see :meth:`Resolver.around`).
So whenever a rule's callback for a node runs, the resolver's state is the program state
just before the innermost statement containing that node executes:

* an assignment, import, ``del`` or augmented assignment takes effect once every rule has left
  it (a rule looking at ``df = df.dropna()`` still sees the old ``df``);
* the target of ``for``/``with``/``except ... as``, a function's parameters and the names of
  a comprehension are bound when their body is entered (decorators, defaults and the iterated
  expression are evaluated outside);
* a ``def``/``class`` name is bound once the whole definition has been left.

Flow is followed in source order inside each function and at module level (a notebook is one
module, so state carries across cells); branches are not merged (the textually last
assignment wins) and loops are read once. Function bodies fall back on the module's imports
wherever they are (an import below the function still counts, as it would at call time).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Union

import libcst as cst

from mldebt.literals import string_value
from mldebt.resolve import kinds
from mldebt.resolve.kinds import Value
from mldebt.resolve.names import canonical, import_bindings, module_imports, package_of


@dataclass(frozen=True, eq=False)
class Binding:
    """What a name is bound to at the current point.

    ``qualname`` is set when the name stands for something with a qualified name: an import
    (``"pandas"``, ``"sklearn.model_selection.train_test_split"``), an alias assignment
    (``F = torch.nn.functional``), or a function/class defined in this file (``"train"``,
    ``"Net"``, ``"Trainer.fit"``). ``value`` is set when the name holds a value of a known kind.
    Both are None for a plain variable the resolver knows nothing about: it still shadows
    any import of the same name.
    """

    qualname: str | None = None
    value: Value | None = None
    #: For ``self`` (the first parameter of a method): the class it is an instance of.
    self_of: str | None = None
    #: The literal last assigned to the name (``TARGET = "label"``, ``FEATURES = ["a", "b"]``).
    constant: cst.BaseExpression | None = None


_OPAQUE = Binding()

_LITERALS = (
    cst.SimpleString,
    cst.ConcatenatedString,
    cst.Integer,
    cst.Float,
    cst.Imaginary,
    cst.List,
    cst.Tuple,
    cst.Set,
    cst.Dict,
)


def _is_literal(expr: cst.BaseExpression) -> bool:
    if isinstance(expr, cst.UnaryOperation) and isinstance(expr.operator, cst.Minus):
        expr = expr.expression
    return isinstance(expr, _LITERALS)


@dataclass
class Definition:
    """A function or class defined in the analysed file, by its qualified name in the file."""

    kind: str  # "function" | "class"
    #: Function: the value it returns when every ``return`` agrees (or its annotation says).
    #: Class: the value an instance is (kind from its bases, ``type`` = the class).
    value: Value | None = None
    decorators: tuple[str, ...] = ()
    #: Class: its base classes that are defined in this file, by qualified name.
    bases: tuple[str, ...] = ()


class _Frame:
    __slots__ = (
        "cls",
        "contexts",
        "decorators",
        "entered",
        "global_names",
        "kind",
        "loops",
        "names",
        "node",
        "qualname",
        "returns",
        "self_name",
    )

    def __init__(
        self,
        kind: str,
        node: cst.CSTNode,
        qualname: str,
        contexts: list[tuple[cst.CSTNode, str]],
        loops: list[cst.For | cst.While],
    ) -> None:
        self.kind = kind  # "module" | "function" | "class" | "lambda" | "comprehension"
        self.node = node
        self.qualname = qualname
        self.names: dict[str, Binding] = {}
        self.global_names: set[str] = set()
        self.entered = kind in ("module", "lambda", "comprehension")
        self.cls: str | None = None
        self.self_name: str | None = None
        self.returns: list[Value | None] = []
        self.contexts = contexts
        self.loops = loops
        self.decorators: tuple[str, ...] = ()


class _Each:
    """An iterable's element that unpacks into items of one value (``for x, y in loader``)."""

    __slots__ = ("value",)

    def __init__(self, value: Value) -> None:
        self.value = value


_Element = Union[Value, None, _Each, tuple["_Element", ...]]  # noqa: UP007 (a runtime alias on 3.10)


class _Hooks(cst.BatchableCSTVisitor):
    """A set of callbacks the engine's Dispatch can batch (half of the resolver)."""

    def __init__(self, callbacks: Mapping[str, Callable[[Any], None]]) -> None:
        super().__init__()
        self._callbacks = dict(callbacks)
        for name, callback in callbacks.items():
            setattr(self, name, callback)

    def get_visitors(self) -> Mapping[str, Callable[[Any], None]]:
        return self._callbacks


_COMPREHENSIONS = ("ListComp", "SetComp", "DictComp", "GeneratorExp")


class Resolver:
    """Qualified names and value kinds for one module, during the shared traversal.

    Create it with the file's path (for relative imports) and parsed module; put
    ``resolver.around(visitors)`` in the traversal's Dispatch. Rules reach it as
    ``self.context.resolver`` and query it from their callbacks.
    """

    def __init__(self, path: str, module: cst.Module) -> None:
        self._package = package_of(path)
        # Cheap pre-scan (statements only): the module's imports, for function bodies.
        self._module_imports = module_imports(module, self._package)
        self._module_frame = _Frame("module", module, "", [], [])
        self._frames: list[_Frame] = [self._module_frame]
        self._on_enter: dict[int, Callable[[], None]] = {}
        self._defs: dict[str, Definition] = {}
        self._attributes: dict[str, dict[str, Value]] = {}
        self._enter = _Hooks(
            {
                "visit_FunctionDef": self._visit_function,
                "visit_ClassDef": self._visit_class,
                "visit_Lambda": self._visit_lambda,
                "visit_IndentedBlock": self._visit_block,
                "visit_SimpleStatementSuite": self._visit_block,
                "visit_For": self._visit_for,
                "visit_While": self._visit_while,
                "visit_With": self._visit_with,
                "visit_Global": self._visit_global,
                **{f"visit_{name}": self._visit_comprehension for name in _COMPREHENSIONS},
            }
        )
        self._leave = _Hooks(
            {
                "leave_FunctionDef": self._leave_function,
                "leave_ClassDef": self._leave_class,
                "leave_Lambda": self._leave_frame,
                "leave_Assign": self._leave_assign,
                "leave_AnnAssign": self._leave_ann_assign,
                "leave_AugAssign": self._leave_aug_assign,
                "leave_NamedExpr": self._leave_named_expr,
                "leave_Import": self._leave_import,
                "leave_ImportFrom": self._leave_import,
                "leave_Return": self._leave_return,
                "leave_Del": self._leave_del,
                "leave_For": self._leave_loop,
                "leave_While": self._leave_loop,
                "leave_With": self._leave_with,
                **{f"leave_{name}": self._leave_frame for name in _COMPREHENSIONS},
            }
        )

    # --- wiring ----------------------------------------------------------------------------------

    def around(self, visitors: Iterable[cst.BatchableCSTVisitor]) -> list[cst.BatchableCSTVisitor]:
        """``visitors`` bracketed by the resolver: its visits first, its leaves last."""
        return [self._enter, *visitors, self._leave]

    # --- queries for rules -----------------------------------------------------------------------

    def lookup(self, name: str) -> Binding | None:
        """What ``name`` is bound to here; None when it is bound nowhere in the file (a builtin,
        a star import, or a typo)."""
        innermost = True
        for frame in reversed(self._frames):
            if not frame.entered:
                continue
            if frame.kind == "class" and not innermost:
                continue
            innermost = False
            if name in frame.global_names:
                break
            found = frame.names.get(name)
            if found is not None:
                return found
        found = self._module_frame.names.get(name)
        if found is not None:
            return found
        target = self._module_imports.get(name)
        return Binding(target) if target is not None else None

    def qualname(self, expr: cst.BaseExpression) -> str | None:
        """The canonical qualified name of a Name/Attribute chain, or None.

        Through imports and aliases (``pd.read_csv`` -> ``"pandas.read_csv"``,
        ``F.relu`` -> ``"torch.nn.functional.relu"``, ``tf.keras.layers.Dense`` ->
        ``"keras.layers.Dense"``); definitions in the file by their qualified name
        (``"train"``, ``"Net.forward"`` also for ``self.forward``); attributes of a value of
        known type by the type (``df.merge`` -> ``"pandas.DataFrame.merge"``). A name bound
        nowhere in the file is returned as written (``"len"``, ``"open"``). None for a local
        variable and anything else.
        """
        if isinstance(expr, cst.Name):
            found = self.lookup(expr.value)
            if found is None:
                return expr.value
            return found.qualname
        if not isinstance(expr, cst.Attribute):
            return None
        attrs: list[str] = []
        node: cst.BaseExpression = expr
        while isinstance(node, cst.Attribute):
            attrs.append(node.attr.value)
            node = node.value
        if isinstance(node, cst.Name):
            found = self.lookup(node.value)
            if found is None or found.qualname is not None:
                head = found.qualname if found is not None and found.qualname else node.value
                attrs.append(head)
                attrs.reverse()
                return canonical(".".join(attrs))
            if found.self_of is not None and len(attrs) == 1:
                member = self._member(found.self_of, attrs[0])
                if member is not None:
                    return member[0]
                if self._held(found.self_of, attrs[0]) is not None:
                    return None  # an attribute holding a value, not a name
        receiver = self.value_of(expr.value)
        if receiver is not None and receiver.type is not None:
            return f"{receiver.type}.{expr.attr.value}"
        return None

    def call_name(self, call: cst.Call) -> str | None:
        """The qualified name of what ``call`` calls (see :meth:`qualname`)."""
        return self.qualname(call.func)

    def method_call(self, call: cst.Call) -> tuple[Value, str] | None:
        """``(receiver value, method name)`` for ``x.method(...)`` on a value of known kind."""
        func = call.func
        if not isinstance(func, cst.Attribute):
            return None
        receiver = self.value_of(func.value)
        return (receiver, func.attr.value) if receiver is not None else None

    def constant(self, expr: cst.BaseExpression) -> cst.BaseExpression | None:
        """The literal ``expr`` stands for: itself if it is one (a string, a number, a list,
        tuple, set or dict display, True/False/None), or the literal last assigned to a name
        (``TARGET = "label"``). None otherwise."""
        if isinstance(expr, cst.Name):
            if expr.value in ("True", "False", "None"):
                return expr
            found = self.lookup(expr.value)
            return found.constant if found is not None else None
        return expr if _is_literal(expr) else None

    def kind_of(self, expr: cst.BaseExpression) -> str | None:
        """The kind of value ``expr`` evaluates to here (one of ``KINDS``), or None."""
        found = self.value_of(expr)
        return found.kind if found is not None else None

    def value_of(self, expr: cst.BaseExpression) -> Value | None:
        """What ``expr`` evaluates to here, as far as known without running anything."""
        if isinstance(expr, cst.Name):
            found = self.lookup(expr.value)
            return found.value if found is not None else None
        if isinstance(expr, cst.Call):
            return self._call_value(expr)
        if isinstance(expr, cst.Attribute):
            return self._attribute_value(expr)
        if isinstance(expr, cst.Subscript):
            return self._subscript_value(expr)
        if isinstance(expr, cst.BinaryOperation):
            return kinds.arithmetic_value(expr, self.value_of(expr.left), self.value_of(expr.right))
        if isinstance(expr, cst.UnaryOperation):
            if isinstance(expr.operator, cst.Not):
                return None
            return kinds.arithmetic_value(expr, self.value_of(expr.expression))
        if isinstance(expr, cst.Comparison):
            if len(expr.comparisons) != 1 or isinstance(
                expr.comparisons[0].operator, (cst.In, cst.NotIn, cst.Is, cst.IsNot)
            ):
                return None
            return kinds.arithmetic_value(
                expr, self.value_of(expr.left), self.value_of(expr.comparisons[0].comparator)
            )
        if isinstance(expr, cst.IfExp):
            body, orelse = self.value_of(expr.body), self.value_of(expr.orelse)
            if body is not None and orelse is not None and body.kind == orelse.kind:
                return body
            return None
        if isinstance(expr, cst.NamedExpr):
            return self.value_of(expr.value)
        return None

    @property
    def contexts(self) -> tuple[str, ...]:
        """Qualified names of the context managers entered by the ``with`` statements around
        this point in the current function (or module), and of the function's decorators:
        ``("torch.no_grad",)`` inside ``with torch.no_grad():`` or ``@torch.no_grad()``."""
        return tuple(name for _, name in self._current().contexts)

    @property
    def loops(self) -> tuple[cst.For | cst.While, ...]:
        """The ``for``/``while`` statements whose body contains this point, in the current
        function (or module), outermost first."""
        return tuple(self._current().loops)

    @property
    def function(self) -> str | None:
        """Qualified name of the function this point is in (``"Trainer.fit"``), else None."""
        for frame in reversed(self._frames):
            if frame.kind == "function" and frame.entered:
                return frame.qualname
        return None

    def definition(self, qualname: str) -> Definition | None:
        """A function or class of this file already left by the traversal."""
        return self._defs.get(qualname)

    # --- evaluation ------------------------------------------------------------------------------

    def _call_value(self, call: cst.Call) -> Value | None:
        func = call.func
        if isinstance(func, cst.Attribute):
            method = func.attr.value
            receiver_expr = func.value
            held = self._held_by_self(func)
            if held is not None:
                return self._call_on_value(held, call)
            if isinstance(receiver_expr, cst.Attribute) and kinds.is_series_accessor(
                receiver_expr.attr.value
            ):
                base = self.value_of(receiver_expr.value)
                if base is not None and base.kind == kinds.SERIES:
                    return Value(kinds.SERIES, "pandas.Series", call)
            receiver = self.value_of(receiver_expr)
            if receiver is not None:
                if receiver.type is not None:
                    member = self._member(receiver.type, method)
                    if member is not None:
                        return member[1].value
                return kinds.method_value(receiver, method, call)
            if method == "to_numpy" and self._selects_from_frame(receiver_expr):
                return Value(kinds.NDARRAY, "numpy.ndarray", call)
        qualname = self.qualname(func)
        if qualname is None:
            callee = self.value_of(func)
            if callee is None:
                return None
            return self._call_on_value(callee, call)
        defined = self._defs.get(qualname)
        if defined is not None:
            if defined.kind == "class":
                instance = defined.value
                return Value(instance.kind, instance.type, call) if instance is not None else None
            return defined.value
        if qualname.endswith(".from_pretrained"):
            defined = self._defs.get(qualname[: -len(".from_pretrained")])
            if defined is not None and defined.kind == "class" and defined.value is not None:
                return Value(defined.value.kind, defined.value.type, call)
        return kinds.call_value(qualname, call, self.value_of)

    def _call_on_value(self, callee: Value, call: cst.Call) -> Value | None:
        if callee.type is not None and callee.type in self._defs:
            for method in ("forward", "__call__", "call"):
                member = self._member(callee.type, method)
                if member is not None:
                    return member[1].value
            return None
        return kinds.call_on_value(callee, call)

    def _attribute_value(self, expr: cst.Attribute) -> Value | None:
        name = expr.attr.value
        base = expr.value
        if isinstance(base, cst.Name):
            found = self.lookup(base.value)
            if found is None:
                return None
            if found.self_of is not None:
                held = self._held(found.self_of, name)
                if held is not None:
                    return held
                member = self._member(found.self_of, name)
                if member is not None and "property" in member[1].decorators:
                    return member[1].value
                if found.value is None:
                    return None
            receiver = found.value
        else:
            receiver = self.value_of(base)
        if receiver is None:
            if name == "values" and self._selects_from_frame(base):
                return Value(kinds.NDARRAY, "numpy.ndarray", expr)
            return None
        return kinds.attribute_value(receiver, name, expr)

    def _held_by_self(self, expr: cst.Attribute) -> Value | None:
        """The value ``self.name`` holds, when set by an assignment in the class."""
        base = expr.value
        if not isinstance(base, cst.Name):
            return None
        found = self.lookup(base.value)
        if found is None or found.self_of is None:
            return None
        return self._held(found.self_of, expr.attr.value)

    def _classes(self, qualname: str) -> list[str]:
        """A class of this file and its bases of this file, nearest first."""
        order: list[str] = []
        pending = [qualname]
        while pending and len(order) < 20:
            current = pending.pop(0)
            if current in order:
                continue
            order.append(current)
            defined = self._defs.get(current)
            if defined is not None:
                pending.extend(defined.bases)
        return order

    def _member(self, cls: str, name: str) -> tuple[str, Definition] | None:
        """A method of a class of this file, inherited ones included, once defined."""
        for owner in self._classes(cls):
            qualname = f"{owner}.{name}"
            defined = self._defs.get(qualname)
            if defined is not None and defined.kind == "function":
                return qualname, defined
        return None

    def _held(self, cls: str, name: str) -> Value | None:
        """What ``self.name`` holds in a class of this file, set there or in a base."""
        for owner in self._classes(cls):
            held = self._attributes.get(owner, {}).get(name)
            if held is not None:
                return held
        return None

    def _subscript_value(self, expr: cst.Subscript) -> Value | None:
        base = expr.value
        if isinstance(base, cst.Attribute) and base.attr.value in ("loc", "iloc", "at", "iat"):
            frame = self.value_of(base.value)
            if frame is not None and frame.kind in (kinds.DATAFRAME, kinds.SERIES):
                return kinds.indexer_value(
                    frame, base.attr.value, expr, self.value_of, self.constant
                )
            return None
        receiver = self.value_of(base)
        if receiver is None:
            return None
        return kinds.subscript_value(receiver, expr, self.value_of, self.constant)

    def _selects_from_frame(self, expr: cst.BaseExpression) -> bool:
        """``df[cols]``, ``df.loc[...]``: a frame or a series, even when we cannot tell which."""
        if not isinstance(expr, cst.Subscript):
            return False
        base = expr.value
        if isinstance(base, cst.Attribute) and base.attr.value in ("loc", "iloc"):
            base = base.value
        return self.kind_of(base) in (kinds.DATAFRAME, kinds.SERIES)

    def _annotation_value(
        self, annotation: cst.BaseExpression, origin: cst.CSTNode
    ) -> Value | None:
        """The value an annotation promises: ``pd.DataFrame``, ``Optional[torch.Tensor]``,
        ``np.ndarray | None``, ``"nn.Module"``."""
        if isinstance(annotation, cst.SimpleString):
            text = string_value(annotation)
            if text is None or len(text) > 200:
                return None
            try:
                annotation = cst.parse_expression(text)
            except (cst.ParserSyntaxError, RecursionError, ValueError):
                return None
        if isinstance(annotation, cst.BinaryOperation) and isinstance(
            annotation.operator, cst.BitOr
        ):
            return self._annotation_value(annotation.left, origin) or self._annotation_value(
                annotation.right, origin
            )
        if isinstance(annotation, cst.Subscript):
            qualname = self.qualname(annotation.value)
            last = qualname.rpartition(".")[2] if qualname else ""
            if last in ("Optional", "Union"):
                for element in annotation.slice:
                    if isinstance(element.slice, cst.Index):
                        found = self._annotation_value(element.slice.value, origin)
                        if found is not None:
                            return found
                return None
            annotation = annotation.value
        qualname = self.qualname(annotation)
        if qualname is None:
            return None
        defined = self._defs.get(qualname)
        if defined is not None:
            if defined.kind == "class" and defined.value is not None:
                return Value(defined.value.kind, defined.value.type, origin)
            return None
        known = kinds.type_kind(qualname)
        return Value(known[0], known[1], origin) if known is not None else None

    def _elements(self, iterable: cst.BaseExpression) -> _Element:
        """What iterating ``iterable`` yields, item by item."""
        if isinstance(iterable, cst.Call):
            func = iterable.func
            if isinstance(func, cst.Attribute):
                receiver = self.value_of(func.value)
                if receiver is not None and receiver.kind == kinds.DATAFRAME:
                    if func.attr.value in ("iterrows", "items", "iteritems"):
                        return (None, Value(kinds.SERIES, "pandas.Series", iterable))
                    return None
            name = self.qualname(func)
            if name == "enumerate":
                first = kinds.positional(iterable, 0)
                return (None, self._elements(first)) if first is not None else None
            if name == "zip":
                return tuple(
                    self._elements(arg.value)
                    for arg in iterable.args
                    if arg.keyword is None and not arg.star
                )
        found = self.value_of(iterable)
        if found is None:
            return None
        if found.kind == kinds.DATALOADER:
            return _Each(Value(kinds.TENSOR, "torch.Tensor", iterable))
        if found.kind in (kinds.TENSOR, kinds.NDARRAY):
            return Value(found.kind, found.type, iterable)
        if found.kind == kinds.GROUPBY:  # (key, group)
            if found.type and found.type.endswith("SeriesGroupBy"):
                return (None, Value(kinds.SERIES, "pandas.Series", iterable))
            return (None, Value(kinds.DATAFRAME, "pandas.DataFrame", iterable))
        return None

    def _assigned(self, value_expr: cst.BaseExpression, targets: int) -> _Element:
        """What an assignment's right-hand side gives, shaped for unpacking into ``targets``."""
        if isinstance(value_expr, (cst.Tuple, cst.List)) and not any(
            isinstance(e, cst.StarredElement) for e in value_expr.elements
        ):
            return tuple(self.value_of(e.value) for e in value_expr.elements)
        if isinstance(value_expr, cst.Call):
            unpacked = self._unpacked_call(value_expr, targets)
            if unpacked is not None:
                return unpacked
        return self.value_of(value_expr)

    def _unpacked_call(self, call: cst.Call, targets: int) -> _Element:
        name = self.call_name(call)
        if name is None:
            return None
        if name == "sklearn.model_selection.train_test_split":
            outputs: list[Value | None] = []
            for arg in call.args:
                if arg.keyword is not None or arg.star:
                    continue
                found = self.value_of(arg.value)
                part = Value(found.kind, found.type, call) if found is not None else None
                outputs.extend((part, part and Value(part.kind, part.type, call)))
            return tuple(outputs)
        if name.startswith("sklearn.datasets."):
            function = name.rpartition(".")[2]
            if function.startswith("make_") or (
                function.startswith(("load_", "fetch_"))
                and kinds.keyword(call, "return_X_y") is not None
            ):
                frame = kinds.keyword(call, "as_frame")
                if isinstance(frame, cst.Name) and frame.value == "True":
                    return (
                        Value(kinds.DATAFRAME, "pandas.DataFrame", call),
                        Value(kinds.SERIES, "pandas.Series", call),
                    )
                return (
                    Value(kinds.NDARRAY, "numpy.ndarray", call),
                    Value(kinds.NDARRAY, "numpy.ndarray", call),
                )
        if name.endswith(".prepare") and targets > 1:  # accelerate: same objects, prepared
            values = [self.value_of(a.value) for a in call.args if a.keyword is None]
            if len(values) == targets:
                return tuple(values)
        return None

    # --- binding ---------------------------------------------------------------------------------

    def _current(self) -> _Frame:
        for frame in reversed(self._frames):
            if frame.entered:
                return frame
        return self._module_frame

    def _bind(self, name: str, binding: Binding) -> None:
        frame = self._module_frame
        for candidate in reversed(self._frames):
            if candidate.entered and candidate.kind != "comprehension":
                frame = candidate
                break
        if name in frame.global_names:
            frame = self._module_frame
        frame.names[name] = binding

    def _bind_target(
        self, target: cst.BaseExpression, element: _Element, rhs: cst.BaseExpression | None
    ) -> None:
        if isinstance(target, cst.Name):
            if isinstance(rhs, cst.Name) and rhs.value == "None":
                current = self.lookup(target.value)
                if current is not None and current.qualname is not None:
                    return  # `except ImportError: torch = None` keeps the import's meaning
            if isinstance(element, Value):
                self._bind(target.value, Binding(None, element))
            elif rhs is not None and isinstance(rhs, (cst.Name, cst.Attribute)):
                self._bind(target.value, self._alias(rhs))
            elif rhs is not None and _is_literal(rhs):
                self._bind(target.value, Binding(constant=rhs))
            else:
                self._bind(target.value, _OPAQUE)
        elif isinstance(target, (cst.Tuple, cst.List)):
            items = [e.value for e in target.elements]
            starred = any(isinstance(e, cst.StarredElement) for e in target.elements)
            for index, item in enumerate(items):
                if isinstance(element, _Each):
                    part: _Element = element.value
                elif isinstance(element, tuple) and len(element) == len(items) and not starred:
                    part = element[index]
                else:
                    part = None
                self._bind_target(item, part, None)
        elif isinstance(target, cst.Attribute):
            if isinstance(element, Value) and isinstance(target.value, cst.Name):
                found = self.lookup(target.value.value)
                if found is not None and found.self_of is not None:
                    self._attributes.setdefault(found.self_of, {})[target.attr.value] = element
        elif isinstance(target, cst.StarredElement):
            self._bind_target(target.value, None, None)

    def _alias(self, rhs: cst.Name | cst.Attribute) -> Binding:
        """``F = torch.nn.functional``: the new name stands for what the old one does."""
        head: cst.BaseExpression = rhs
        while isinstance(head, cst.Attribute):
            head = head.value
        if isinstance(head, cst.Name):
            found = self.lookup(head.value)
            if found is not None and found.qualname is not None:
                qualname = self.qualname(rhs)
                if qualname is not None:
                    return Binding(qualname)
        return _OPAQUE

    # --- callbacks: before the rules -------------------------------------------------------------

    def _visit_block(self, node: cst.BaseSuite) -> None:
        action = self._on_enter.pop(id(node), None)
        if action is not None:
            action()

    def _visit_function(self, node: cst.FunctionDef) -> None:
        outer = self._current()
        qualname = self._qualname_in_scope(node.name.value)
        decorators = tuple(self._decorator_name(d) for d in node.decorators)
        frame = _Frame("function", node, qualname, [(node, d) for d in decorators if d], [])
        frame.decorators = decorators
        bindings: list[tuple[str, Binding]] = []
        params = node.params
        positional = [*params.posonly_params, *params.params]
        if outer.kind == "class":
            frame.cls = outer.qualname
            if positional and "staticmethod" not in decorators:
                first = positional[0].name.value
                positional = positional[1:]
                if "classmethod" in decorators:
                    bindings.append((first, Binding(outer.qualname)))
                else:
                    frame.self_name = first
                    defined = self._defs.get(outer.qualname)
                    instance = defined.value if defined is not None else None
                    bindings.append((first, Binding(None, instance, outer.qualname)))
        others = [*positional, *params.kwonly_params]
        for extra in (params.star_arg, params.star_kwarg):
            if isinstance(extra, cst.Param):
                bindings.append((extra.name.value, _OPAQUE))
        for param in others:
            value = None
            if param.annotation is not None:
                value = self._annotation_value(param.annotation.annotation, param)
            bindings.append((param.name.value, Binding(None, value) if value else _OPAQUE))
        self._frames.append(frame)

        def enter() -> None:
            frame.entered = True
            frame.names.update(bindings)

        self._on_enter[id(node.body)] = enter

    def _visit_class(self, node: cst.ClassDef) -> None:
        qualname = self._qualname_in_scope(node.name.value)
        instance: Value | None = None
        local_bases: list[str] = []
        for base in node.bases:
            if base.keyword is not None or base.star:
                continue
            base_name = self.qualname(base.value)
            if base_name is not None and base_name in self._defs:
                local_bases.append(base_name)
            found = self._annotation_value(base.value, node)
            if found is None:
                continue
            if instance is None or found.kind == kinds.TRANSFORMER:
                instance = Value(found.kind, qualname, node)
        self._defs[qualname] = Definition("class", instance, bases=tuple(local_bases))
        frame = _Frame("class", node, qualname, [], [])
        self._frames.append(frame)

        def enter() -> None:
            frame.entered = True

        self._on_enter[id(node.body)] = enter

    def _visit_lambda(self, node: cst.Lambda) -> None:
        outer = self._current()
        frame = _Frame("lambda", node, outer.qualname, outer.contexts, outer.loops)
        params = node.params
        for param in (*params.posonly_params, *params.params, *params.kwonly_params):
            frame.names[param.name.value] = _OPAQUE
        for extra in (params.star_arg, params.star_kwarg):
            if isinstance(extra, cst.Param):
                frame.names[extra.name.value] = _OPAQUE
        self._frames.append(frame)

    def _visit_comprehension(
        self, node: cst.ListComp | cst.SetComp | cst.DictComp | cst.GeneratorExp
    ) -> None:
        outer = self._current()
        element = self._elements(node.for_in.iter)  # the first iterable is evaluated outside
        frame = _Frame("comprehension", node, outer.qualname, outer.contexts, outer.loops)
        self._frames.append(frame)
        comp: cst.CompFor | None = node.for_in
        while comp is not None:
            if comp is not node.for_in:
                element = self._elements(comp.iter)
            self._bind_in(frame, comp.target, element)
            comp = comp.inner_for_in

    def _bind_in(self, frame: _Frame, target: cst.BaseExpression, element: _Element) -> None:
        if isinstance(target, cst.Name):
            frame.names[target.value] = (
                Binding(None, element) if isinstance(element, Value) else _OPAQUE
            )
        elif isinstance(target, (cst.Tuple, cst.List)):
            items = [e.value for e in target.elements]
            for index, item in enumerate(items):
                if isinstance(element, _Each):
                    part: _Element = element.value
                elif isinstance(element, tuple) and len(element) == len(items):
                    part = element[index]
                else:
                    part = None
                self._bind_in(frame, item, part)

    def _visit_for(self, node: cst.For) -> None:
        element = self._elements(node.iter)
        frame = self._current()

        def enter() -> None:
            self._bind_target(node.target, element, None)
            frame.loops.append(node)

        self._on_enter[id(node.body)] = enter

    def _visit_while(self, node: cst.While) -> None:
        frame = self._current()
        self._on_enter[id(node.body)] = lambda: frame.loops.append(node)

    def _visit_with(self, node: cst.With) -> None:
        frame = self._current()
        entries: list[tuple[cst.CSTNode, str]] = []
        targets: list[cst.BaseExpression] = []
        for item in node.items:
            manager = item.item
            name = (
                self.call_name(manager) if isinstance(manager, cst.Call) else self.qualname(manager)
            )
            if name:
                entries.append((node, name))
            if item.asname is not None:
                targets.append(item.asname.name)

        def enter() -> None:
            frame.contexts.extend(entries)
            for target in targets:
                self._bind_target(target, None, None)

        self._on_enter[id(node.body)] = enter

    def _visit_global(self, node: cst.Global) -> None:
        self._current().global_names.update(item.name.value for item in node.names)

    # --- callbacks: after the rules --------------------------------------------------------------

    def _leave_function(self, node: cst.FunctionDef) -> None:
        self._on_enter.pop(id(node.body), None)
        if not self._frames or self._frames[-1].node is not node:
            return
        frame = self._frames.pop()
        value: Value | None = None
        if node.returns is not None:
            value = self._annotation_value(node.returns.annotation, node)
        if value is None and frame.returns:
            first = frame.returns[0]
            if first is not None and all(
                r is not None and r.kind == first.kind for r in frame.returns
            ):
                value = first
        self._defs[frame.qualname] = Definition("function", value, frame.decorators)
        self._bind(node.name.value, Binding(frame.qualname))

    def _leave_class(self, node: cst.ClassDef) -> None:
        self._on_enter.pop(id(node.body), None)
        if not self._frames or self._frames[-1].node is not node:
            return
        frame = self._frames.pop()
        self._bind(node.name.value, Binding(frame.qualname))

    def _leave_frame(self, node: cst.CSTNode) -> None:
        if self._frames and self._frames[-1].node is node:
            self._frames.pop()

    def _leave_assign(self, node: cst.Assign) -> None:
        targets = node.targets
        count = 1
        first = targets[0].target
        if isinstance(first, (cst.Tuple, cst.List)):
            count = len(first.elements)
        element = self._assigned(node.value, count)
        for target in targets:
            self._bind_target(target.target, element, node.value)

    def _leave_ann_assign(self, node: cst.AnnAssign) -> None:
        if node.value is None:
            return
        value = self.value_of(node.value)
        if value is None:
            value = self._annotation_value(node.annotation.annotation, node)
        self._bind_target(node.target, value, node.value)

    def _leave_aug_assign(self, node: cst.AugAssign) -> None:
        target = node.target
        if isinstance(target, cst.Name):
            current = self.value_of(target)
            result = kinds.arithmetic_value(node, current, self.value_of(node.value))
            self._bind(target.value, Binding(None, result) if result is not None else _OPAQUE)

    def _leave_named_expr(self, node: cst.NamedExpr) -> None:
        self._bind_target(node.target, self.value_of(node.value), node.value)

    def _leave_import(self, node: cst.Import | cst.ImportFrom) -> None:
        for local, target in import_bindings(node, self._package):
            self._bind(local, Binding(target))

    def _leave_return(self, node: cst.Return) -> None:
        for frame in reversed(self._frames):
            if frame.kind == "function" and frame.entered:
                frame.returns.append(self.value_of(node.value) if node.value is not None else None)
                return
            if frame.kind in ("lambda", "class"):
                return

    def _leave_del(self, node: cst.Del) -> None:
        target = node.target
        items: Sequence[cst.BaseExpression] = (
            [e.value for e in target.elements]
            if isinstance(target, (cst.Tuple, cst.List))
            else [target]
        )
        for item in items:
            if isinstance(item, cst.Name):
                self._bind(item.value, _OPAQUE)

    def _leave_loop(self, node: cst.For | cst.While) -> None:
        self._on_enter.pop(id(node.body), None)
        loops = self._current().loops
        if loops and loops[-1] is node:
            loops.pop()

    def _leave_with(self, node: cst.With) -> None:
        self._on_enter.pop(id(node.body), None)
        contexts = self._current().contexts
        while contexts and contexts[-1][0] is node:
            contexts.pop()

    # --- helpers ---------------------------------------------------------------------------------

    def _qualname_in_scope(self, name: str) -> str:
        for frame in reversed(self._frames):
            if frame.kind in ("function", "class") and frame.entered:
                return f"{frame.qualname}.{name}"
        return name

    def _decorator_name(self, decorator: cst.Decorator) -> str:
        target = decorator.decorator
        if isinstance(target, cst.Call):
            target = target.func
        return self.qualname(target) or ""
