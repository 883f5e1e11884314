"""Per-scope data flow, recorded cheaply during the traversal and evaluated on demand.

The traversal only *records*: every binding (assignment, loop target, ``with ... as``,
parameter, in-place mutation) as a :class:`Def` holding the syntax of its value and a
sequence number, in the :class:`Scope` (module, function or class) it happens in. Nothing is
evaluated then. Afterwards, and only for files that do ML work, questions are answered by
walking back from the call of interest: what a name held at that point (the latest binding
before it in its scope, plus mutations since), what flows into an expression
(:meth:`Flow.deps`), and what string or path it evaluates to (:meth:`Flow.template`).

Flow is followed in source order within each scope; branches are not merged (the textually
latest binding wins) and loops are read once, like the resolver. Function bodies see the
module's final bindings (they run after the module has executed).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import libcst as cst

from mldebt.facts import paths
from mldebt.facts.apis import is_library
from mldebt.facts.paths import WILD
from mldebt.literals import string_value
from mldebt.resolve.names import dotted


@dataclass(eq=False)
class Def:
    """One binding of a name (or ``self.<attr>``) in a scope, effective from ``seq`` on."""

    seq: int
    how: str  # "assign" | "unpack" | "for" | "with" | "aug" | "mutate" | "param" | "def"
    value: cst.BaseExpression | None
    scope: Scope
    index: int | None = None  # position in an unpacked target
    count: int = 1  # number of unpacked targets
    node: cst.CSTNode | None = None  # the statement, for lines
    param: cst.Param | None = None


@dataclass(eq=False)
class Scope:
    qualname: str
    kind: str  # "module" | "function" | "class"
    parent: Scope | None
    node: cst.CSTNode | None = None
    seq: int = 0  # when the scope's definition happens in its parent
    defs: dict[str, list[Def]] = field(default_factory=dict)
    params: list[str] = field(default_factory=list)
    #: A method's class scope and the name of its ``self`` parameter.
    cls: Scope | None = None
    self_name: str | None = None
    #: class scopes: ``self.<attr>`` bindings from all methods.
    attrs: dict[str, list[Def]] = field(default_factory=dict)
    returns: list[tuple[int, cst.BaseExpression]] = field(default_factory=list)
    functions: dict[str, Scope] = field(default_factory=dict)

    def add(self, name: str, definition: Def) -> None:
        self.defs.setdefault(name, []).append(definition)

    def module(self) -> Scope:
        scope = self
        while scope.parent is not None:
            scope = scope.parent
        return scope


@dataclass(frozen=True)
class At:
    """A program point: a scope and a sequence number (bindings before it are visible)."""

    scope: Scope
    seq: int


_COMPREHENSIONS = (cst.ListComp, cst.SetComp, cst.GeneratorExp, cst.DictComp)
_LEAVES = (
    cst.SimpleString,
    cst.Integer,
    cst.Float,
    cst.Imaginary,
    cst.ConcatenatedString,
    cst.Ellipsis,
)
MAX_DEPTH = 40

Tokens = frozenset[str]
_EMPTY: Tokens = frozenset()


def _is_upper(name: str) -> bool:
    return name.isupper() or (name.replace("_", "").isdigit() is False and name.upper() == name)


class Flow:
    """Answers about values, evaluated lazily over the recorded definitions.

    ``call_tokens`` gives the tokens a call node stands for when the collector knows it (an
    artifact read, a model method), else None; ``aliases`` maps names bound by imports to
    qualified names (flow-insensitive, as imports rarely change meaning in a file).
    """

    def __init__(
        self,
        module_scope: Scope,
        module_name: str,
        aliases: dict[str, str],
        call_tokens: Callable[[cst.Call, At], Tokens | None],
        column_tokens: Callable[[cst.CSTNode, At], Tokens],
        cli_defaults: dict[str, tuple[cst.BaseExpression | None, At]],
    ) -> None:
        self.module_scope = module_scope
        self.module_name = module_name
        self.aliases = aliases
        self.call_tokens = call_tokens
        self.column_tokens = column_tokens
        self.cli_defaults = cli_defaults
        self._def_deps: dict[int, Tokens] = {}
        self._busy: set[int] = set()
        self._summaries: dict[int, Tokens] = {}
        self._templates: dict[int, str | None] = {}

    # --- names ---------------------------------------------------------------------------------

    def qualname(self, node: cst.BaseExpression) -> str | None:
        """``pd.read_csv`` -> ``pandas.read_csv`` through the imports; None for locals."""
        names: list[str] = []
        while isinstance(node, cst.Attribute):
            names.append(node.attr.value)
            node = node.value
        if not isinstance(node, cst.Name):
            return None
        head = self.aliases.get(node.value)
        if head is None:
            if node.value in self.module_scope.defs:
                return None
            head = node.value
        names.append(head)
        names.reverse()
        return ".".join(names)

    def lookup(self, name: str, at: At) -> list[Def]:
        """The bindings ``name`` may hold at ``at``: the latest full one and mutations since."""
        scope: Scope | None = at.scope
        seq: int | None = at.seq
        while scope is not None:
            if scope.kind == "class" and scope is not at.scope:
                scope = scope.parent
                continue
            found = self._visible(scope.defs.get(name), seq)
            if found:
                return found
            if name in scope.params:
                return [Def(0, "param", None, scope)]
            # Enclosing scopes run before us: everything they bind is visible.
            seq = None
            scope = scope.parent
        return []

    @staticmethod
    def _visible(defs: list[Def] | None, seq: int | None) -> list[Def]:
        if not defs:
            return []
        visible: list[Def] = []
        for definition in reversed(defs):
            if seq is not None and definition.seq >= seq:
                continue
            visible.append(definition)
            if definition.how != "mutate":
                break
        visible.reverse()
        return visible

    def self_attribute(self, node: cst.Attribute, at: At) -> list[Def] | None:
        """Bindings of ``self.<attr>`` in the class of the method ``at`` is in."""
        base = node.value
        scope: Scope | None = at.scope
        while scope is not None and scope.kind != "function":
            scope = scope.parent
        if scope is None or scope.cls is None or not isinstance(base, cst.Name):
            return None
        if base.value != scope.self_name:
            return None
        return scope.cls.attrs.get(node.attr.value, [])

    def imported_module(self, node: cst.BaseExpression) -> str | None:
        """``cfg`` bound by ``import config as cfg`` (a project module) -> ``config``."""
        if not isinstance(node, cst.Name):
            return None
        target = self.aliases.get(node.value)
        if target is None or is_library(target) or node.value in self.module_scope.defs:
            return None
        return target

    # --- what flows into an expression ---------------------------------------------------------

    def deps(self, node: cst.BaseExpression | None, at: At, depth: int = 0) -> Tokens:
        if node is None or depth > MAX_DEPTH:
            return _EMPTY
        depth += 1
        if isinstance(node, _LEAVES):
            return _EMPTY
        if isinstance(node, cst.Name):
            return self._name_deps(node, at, depth)
        if isinstance(node, cst.Attribute):
            return self._attribute_deps(node, at, depth)
        if isinstance(node, cst.Call):
            return self._call_deps(node, at, depth)
        if isinstance(node, cst.Subscript):
            found = set(self.deps(node.value, at, depth))
            for element in node.slice:
                inner = element.slice
                if isinstance(inner, cst.Index):
                    found |= self.deps(inner.value, at, depth)
            found |= self.column_tokens(node, at)
            return frozenset(found)
        if isinstance(node, _COMPREHENSIONS):
            return self._comprehension_deps(node, at, depth)
        if isinstance(node, cst.Lambda):
            return _EMPTY
        return self._children_deps(node, at, depth)

    def _children_deps(self, node: cst.CSTNode, at: At, depth: int) -> Tokens:
        found: set[str] = set()
        for child in _expressions(node):
            found |= self.deps(child, at, depth)
        return frozenset(found)

    def _comprehension_deps(self, node: cst.CSTNode, at: At, depth: int) -> Tokens:
        found: set[str] = set()
        bound: set[str] = set()
        comp = getattr(node, "for_in", None)
        while isinstance(comp, cst.CompFor):
            found |= self.deps(comp.iter, at, depth)
            bound |= _target_names(comp.target)
            comp = comp.inner_for_in
        for child in _expressions(node):
            if isinstance(child, cst.CompFor):
                continue
            found |= _without(self.deps(child, at, depth), bound)
        return frozenset(found)

    def _name_deps(self, node: cst.Name, at: At, depth: int) -> Tokens:
        name = node.value
        defs = self.lookup(name, at)
        if not defs:
            target = self.aliases.get(name)
            if target is not None and not is_library(target) and _is_upper(name.split(".")[-1]):
                return frozenset({"k:" + target})
            return _EMPTY
        found: set[str] = set()
        for definition in defs:
            found |= self.def_deps(definition, name, depth)
        if defs[0].scope.kind == "module" and _is_upper(name) and self._is_string_list(defs[-1]):
            found.add(f"k:{self.module_name}.{name}" if self.module_name else "k:" + name)
        return frozenset(found)

    def _is_string_list(self, definition: Def) -> bool:
        value = definition.value
        return definition.how == "assign" and string_list(value) is not None

    def def_deps(self, definition: Def, name: str, depth: int = 0) -> Tokens:
        key = id(definition)
        cached = self._def_deps.get(key)
        if cached is not None:
            return cached
        if definition.how == "param":
            return frozenset({"p:" + name})
        if key in self._busy or len(self._busy) > MAX_DEPTH:
            return _EMPTY
        self._busy.add(key)
        try:
            at = At(definition.scope, definition.seq)
            value = definition.value
            if definition.how == "unpack" and isinstance(value, (cst.Tuple, cst.List)):
                items = value.elements
                if definition.index is not None and len(items) == definition.count:
                    value = items[definition.index].value
            if definition.how == "aug":
                found = set(self.deps(value, at, depth))
                for earlier in self.lookup(name, at):
                    found |= self.def_deps(earlier, name, depth)
                result = frozenset(found)
            else:
                result = self.deps(value, at, depth)
        finally:
            self._busy.discard(key)
        self._def_deps[key] = result
        return result

    def _attribute_deps(self, node: cst.Attribute, at: At, depth: int) -> Tokens:
        module = self.imported_module(node.value)
        if module is not None:
            return (
                frozenset({f"k:{module}.{node.attr.value}"})
                if _is_upper(node.attr.value)
                else _EMPTY
            )
        held = self.self_attribute(node, at)
        if held is not None:
            found: set[str] = set()
            for definition in held:
                found |= self.def_deps(definition, "self." + node.attr.value, depth)
            return frozenset(found)
        return self.deps(node.value, at, depth) | self.column_tokens(node, at)

    def _call_deps(self, node: cst.Call, at: At, depth: int) -> Tokens:
        known = self.call_tokens(node, at)
        if known is not None:
            return known
        found: set[str] = set()
        for argument in node.args:
            found |= self.deps(argument.value, at, depth)
        func = node.func
        local = self.local_function(func, at)
        if local is not None:
            return self._substituted(local, node, at, depth)
        if isinstance(func, cst.Attribute):
            found |= self.deps(func.value, at, depth)
            return frozenset(found)
        qualname = self.qualname(func)
        if qualname is not None and qualname != dotted(func) and not is_library(qualname):
            found.add("f:" + qualname)
        elif isinstance(func, cst.Name):
            callee = self.deps(func, at, depth)
            found |= callee
            found |= {"mp:" + t[2:] for t in callee if t.startswith("p:")}
        return frozenset(found)

    # --- functions of this module --------------------------------------------------------------

    def local_function(self, func: cst.BaseExpression, at: At) -> Scope | None:
        """The function (or class) of this file a callee names, if it is one."""
        if isinstance(func, cst.Name):
            if self.lookup(func.value, at) and func.value not in _functions_in(at.scope):
                return None
            scope: Scope | None = at.scope
            while scope is not None:
                found = scope.functions.get(func.value)
                if found is not None:
                    return found
                scope = scope.parent
            return None
        if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name):
            method_scope: Scope | None = at.scope
            while method_scope is not None and method_scope.kind != "function":
                method_scope = method_scope.parent
            if (
                method_scope is not None
                and method_scope.cls is not None
                and func.value.value == method_scope.self_name
            ):
                return method_scope.cls.functions.get(func.attr.value)
        return None

    def summary(self, function: Scope) -> Tokens:
        """Tokens of what a function returns (``p:``/``mp:`` for its parameters); for a class,
        of what its instances hold (``self.`` attributes)."""
        key = id(function)
        cached = self._summaries.get(key)
        if cached is not None:
            return cached
        if key in self._busy:
            return _EMPTY
        self._busy.add(key)
        found: set[str] = set()
        try:
            if function.kind == "class":
                for name, defs in function.attrs.items():
                    for definition in defs:
                        found |= self.def_deps(definition, "self." + name)
            else:
                for seq, value in function.returns:
                    found |= self.deps(value, At(function, seq + 1))
        finally:
            self._busy.discard(key)
        result = frozenset(found)
        self._summaries[key] = result
        return result

    def _substituted(self, function: Scope, call: cst.Call, at: At, depth: int) -> Tokens:
        summary = self.summary(function)
        target = function
        if function.kind == "class":
            init = function.functions.get("__init__")
            if init is None:
                return summary
            target = init
        bound = bind_arguments(target, call)
        found: set[str] = set()
        for token in summary:
            kind, _, name = token.partition(":")
            if kind not in ("p", "mp"):
                found.add(token)
                continue
            given = bound.get(name)
            if given is None:
                continue
            tokens = self.deps(given, at, depth)
            if kind == "p":
                found |= tokens
            else:
                found |= self.model_prediction_tokens(given, at)
        return frozenset(found)

    def model_prediction_tokens(self, node: cst.BaseExpression, at: At) -> Tokens:
        """Overridden by the collector: ``m:<i>`` for a model passed as an argument."""
        return _EMPTY

    # --- templates -----------------------------------------------------------------------------

    def template(self, node: cst.BaseExpression | None, at: At) -> str | None:
        if node is None:
            return None
        return paths.evaluate(node, _Names(self, at))

    def def_template(self, definition: Def, name: str) -> str | None:
        key = id(definition)
        if key in self._templates:
            return self._templates[key]
        if key in self._busy or len(self._busy) > MAX_DEPTH:
            return None  # a cycle, or a long chain of re-bindings (``p = p + "/x"`` x 1000)
        self._busy.add(key)
        try:
            result = self._def_template(definition, name)
        finally:
            self._busy.discard(key)
        self._templates[key] = result
        return result

    def _def_template(self, definition: Def, name: str) -> str | None:
        at = At(definition.scope, definition.seq)
        value = definition.value
        if definition.how == "param":
            param = definition.param
            if param is not None and param.default is not None:
                outer = definition.scope.parent or definition.scope
                default = self.template(param.default, At(outer, definition.scope.seq))
                if default is not None:
                    return default
            return paths.arg(name)
        if definition.how == "unpack":
            if (
                isinstance(value, (cst.Tuple, cst.List))
                and definition.index is not None
                and len(value.elements) == definition.count
            ):
                return self.template(value.elements[definition.index].value, at)
            return None
        if definition.how == "for":
            return self.element_template(value, at)
        if definition.how == "aug":
            earlier = self.lookup(name, at)
            base = self.def_template(earlier[-1], name) if earlier else None
            added = self.template(value, at)
            if base is None and added is None:
                return None
            return (base or WILD) + (added or WILD)
        if definition.how in ("assign",):
            return self.template(value, at)
        return None

    def element_template(self, node: cst.BaseExpression | None, at: At) -> str | None:
        """What iterating ``node`` yields: a glob's matches, a list display's strings."""
        if node is None:
            return None
        if isinstance(node, cst.Call):
            name = self.qualname(node.func)
            if name in ("sorted", "list", "tuple", "reversed", "set") and node.args:
                return self.element_template(node.args[0].value, at)
            func = node.func
            if name in ("glob.glob", "glob.iglob") or (
                isinstance(func, cst.Attribute) and func.attr.value in ("glob", "rglob", "iterdir")
            ):
                if isinstance(func, cst.Attribute) and func.attr.value == "iterdir":
                    base = self.template(func.value, at)
                    return paths.join(base, WILD) if base is not None else None
                found = self.template(node, at)
                return paths.from_glob(found) if found is not None else None
            if name in ("os.listdir", "os.scandir"):
                return None
            return None
        if isinstance(node, (cst.List, cst.Tuple, cst.Set)):
            values = {self.template(e.value, at) for e in node.elements}
            if len(values) == 1:
                return values.pop()
            return WILD if values and None not in values else None
        if isinstance(node, cst.Name):
            defs = self.lookup(node.value, at)
            if defs and defs[-1].how == "assign":
                return self.element_template(defs[-1].value, At(defs[-1].scope, defs[-1].seq))
        return None

    def cli_default(self, dest: str) -> str | None:
        found = self.cli_defaults.get(dest)
        if found is None:
            return None
        default, at = found
        if default is None or (isinstance(default, cst.Name) and default.value == "None"):
            return None
        return self.template(default, at)


class _Names:
    """The :class:`paths.Names` a template evaluation at one program point asks."""

    __slots__ = ("at", "flow")

    def __init__(self, flow: Flow, at: At) -> None:
        self.flow = flow
        self.at = at

    def name(self, node: cst.Name) -> str | None:
        flow = self.flow
        defs = flow.lookup(node.value, self.at)
        full = [d for d in defs if d.how != "mutate"]
        if full:
            return flow.def_template(full[-1], node.value)
        target = flow.aliases.get(node.value)
        if (
            target is not None
            and not is_library(target)
            and node.value not in flow.module_scope.defs
        ):
            return paths.ref(target)
        return None

    def attribute(self, node: cst.Attribute) -> str | None:
        flow = self.flow
        module = flow.imported_module(node.value)
        if module is not None:
            return paths.ref(f"{module}.{node.attr.value}")
        held = flow.self_attribute(node, self.at)
        if held:
            full = [d for d in held if d.how != "mutate"]
            if full:
                return flow.def_template(full[-1], "self." + node.attr.value)
            return None
        if isinstance(node.value, cst.Name) and node.attr.value in flow.cli_defaults:
            return flow.cli_default(node.attr.value)
        return None

    def qualname(self, node: cst.BaseExpression) -> str | None:
        return self.flow.qualname(node)

    def subscript(self, node: cst.Subscript) -> str | None:
        if len(node.slice) != 1 or not isinstance(node.slice[0].slice, cst.Index):
            return None
        key = node.slice[0].slice.value
        base = node.value
        if not isinstance(base, cst.Name):
            return None
        defs = self.flow.lookup(base.value, self.at)
        if not defs or defs[-1].how != "assign":
            return None
        container = defs[-1].value
        at = At(defs[-1].scope, defs[-1].seq)
        if isinstance(container, cst.Dict) and isinstance(key, cst.SimpleString):
            for element in container.elements:
                if (
                    isinstance(element, cst.DictElement)
                    and isinstance(element.key, cst.SimpleString)
                    and string_value(element.key) is not None
                    and string_value(element.key) == string_value(key)
                ):
                    return self.flow.template(element.value, at)
        if isinstance(container, (cst.List, cst.Tuple)) and isinstance(key, cst.Integer):
            index = int(key.value, 0)
            if -len(container.elements) <= index < len(container.elements):
                return self.flow.template(container.elements[index].value, at)
        return None


# --- small syntax helpers ----------------------------------------------------------------------


def _functions_in(scope: Scope) -> set[str]:
    names: set[str] = set()
    current: Scope | None = scope
    while current is not None:
        names.update(current.functions)
        current = current.parent
    return names


def _expressions(node: cst.CSTNode) -> Iterable[cst.BaseExpression]:
    """The expressions directly inside ``node`` (through arguments, elements, f-string parts)."""
    for child in node.children:
        if isinstance(child, cst.BaseExpression):
            yield child
        elif isinstance(
            child,
            (
                cst.Arg,
                cst.Element,
                cst.StarredElement,
                cst.DictElement,
                cst.StarredDictElement,
                cst.BaseFormattedStringContent,
                cst.ComparisonTarget,
                cst.Index,
                cst.Slice,
                cst.SubscriptElement,
                cst.CompFor,
                cst.CompIf,
            ),
        ):
            yield from _expressions(child)


def _target_names(target: cst.BaseExpression) -> set[str]:
    if isinstance(target, cst.Name):
        return {target.value}
    if isinstance(target, (cst.Tuple, cst.List)):
        found: set[str] = set()
        for element in target.elements:
            found |= _target_names(element.value)
        return found
    if isinstance(target, cst.StarredElement):
        return _target_names(target.value)
    return set()


def _without(tokens: Tokens, bound: set[str]) -> Tokens:
    if not bound:
        return tokens
    return frozenset(t for t in tokens if not (t.startswith("p:") and t[2:] in bound))


def string_list(node: cst.BaseExpression | None) -> list[str] | None:
    """``["a", "b"]`` (list, tuple or set display of string literals) -> the strings."""
    if not isinstance(node, (cst.List, cst.Tuple, cst.Set)) or not node.elements:
        return None
    values = []
    for element in node.elements:
        value = element.value
        if not isinstance(value, cst.SimpleString):
            return None
        text = string_value(value)
        if text is None:
            return None
        values.append(text)
    return values


def bind_arguments(function: Scope, call: cst.Call) -> dict[str, cst.BaseExpression]:
    """Which argument expression each parameter of ``function`` gets at ``call``."""
    params = list(function.params)
    if function.self_name is not None and params and params[0] == function.self_name:
        params = params[1:]
    bound: dict[str, cst.BaseExpression] = {}
    position = 0
    for argument in call.args:
        if argument.star:
            break
        if argument.keyword is not None:
            bound[argument.keyword.value] = argument.value
        elif position < len(params):
            bound[params[position]] = argument.value
            position += 1
    return bound


def literal_value(node: cst.BaseExpression | None) -> tuple[bool, object]:
    """``(True, value)`` for a JSON-able literal (number, bool, None, string, list of those)."""
    if node is None:
        return False, None
    if isinstance(node, cst.Name) and node.value in ("True", "False", "None"):
        return True, {"True": True, "False": False, "None": None}[node.value]
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus):
        ok, value = literal_value(node.expression)
        if ok and isinstance(value, (int, float)) and not isinstance(value, bool):
            return True, -value
        return False, None
    if isinstance(node, cst.Integer):
        try:
            return True, int(node.value.replace("_", ""), 0)
        except ValueError:
            return False, None
    if isinstance(node, cst.Float):
        try:
            return True, float(node.value.replace("_", ""))
        except ValueError:
            return False, None
    strings = string_list(node)
    if strings is not None:
        return True, strings
    return False, None
