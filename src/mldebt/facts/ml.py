"""ML facts of one module: artifacts read and written, models, signals, constants.

:class:`MLFactsCollector` runs in the shared traversal next to the facts collector. During the
walk it only records bindings (see :mod:`mldebt.facts.dataflow`) and the calls that look like
I/O or model code, chosen by one set lookup on the callee's last name. Everything else happens
in :meth:`MLFactsCollector.contribute`, after the walk, and costs nothing in files that have
no such calls.

Qualified names come from the file's imports (:meth:`Flow.qualname`); when the engine has put
the name resolver (:mod:`mldebt.resolve`) around the traversal, the kinds it knows (is this a
DataFrame?) are used for column signals, else a small inference over the recorded bindings.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import libcst as cst

from mldebt.facts import apis, paths
from mldebt.facts.apis import IOSpec
from mldebt.facts.dataflow import (
    At,
    Def,
    Flow,
    Scope,
    Tokens,
    bind_arguments,
    literal_value,
    string_list,
)
from mldebt.facts.model import Artifact, Fit, Model, ModuleFacts, Signal, module_name
from mldebt.literals import string_value
from mldebt.resolve.kinds import type_kind
from mldebt.resolve.names import canonical, dotted, import_bindings, package_of

if TYPE_CHECKING:
    from mldebt.context import FileContext
    from mldebt.resolve import Resolver

_EMPTY: Tokens = frozenset()
_FRAME_KINDS = frozenset({"dataframe", "series", "groupby"})
_MODEL_KINDS = frozenset({"estimator", "transformer", "module", "keras_model"})
# DataFrame/Series attributes that are not columns.
_FRAME_ATTRIBUTES = frozenset(
    {
        "columns",
        "index",
        "values",
        "shape",
        "dtypes",
        "dtype",
        "T",
        "loc",
        "iloc",
        "at",
        "iat",
        "str",
        "dt",
        "cat",
        "size",
        "ndim",
        "empty",
        "name",
        "names",
        "plot",
        "array",
        "axes",
        "flags",
        "attrs",
        "sparse",
        "style",
        "hasnans",
        "is_unique",
        "nbytes",
        "groups",
        "ngroups",
        "indices",
        "is_monotonic_increasing",
        "is_monotonic_decreasing",
    }
)
_COLUMN_KEYWORDS = frozenset({"usecols", "columns", "subset", "on", "by", "left_on", "right_on"})
_WRITE_MODES = re.compile(r"[wax+]")
_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*(/[\w.-]+)?\Z")
_SQL_READ = re.compile(r"\b(?:FROM|JOIN)\s+([A-Za-z_][\w.\"`\[\]]*)", re.IGNORECASE)
_SQL_WRITE = re.compile(
    r"\b(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|CREATE\s+(?:OR\s+REPLACE\s+)?(?:TEMP\w*\s+)?TABLE"
    r"(?:\s+IF\s+NOT\s+EXISTS)?|UPDATE|DELETE\s+FROM|REPLACE\s+INTO|MERGE\s+INTO)\s+"
    r"([A-Za-z_][\w.\"`\[\]]*)",
    re.IGNORECASE,
)
_SQL_START = re.compile(
    r"\s*(SELECT|WITH|INSERT|CREATE|UPDATE|DELETE|REPLACE|MERGE)\b", re.IGNORECASE
)
# Unannotated parameters taken for DataFrames in a file that uses pandas.
_FRAME_NAME = re.compile(r"(df|frame|data_?frame)(_\w+)?\Z|\w+_df\Z")
_GENERIC_METHODS = frozenset(
    {"save", "load_model", "load_weights", "restore", "save_model", "save_weights", "sql"}
)
# Names of objects that are called or saved like models but are not models.
_NOT_MODELS = re.compile(r"optim|sched|grad_scaler|\bema\b|crit|loss", re.IGNORECASE)


class _Artifact:
    __slots__ = ("api", "inputs", "line_node", "mode", "scope", "template", "var")

    def __init__(
        self, mode: str, template: str, api: str, node: cst.CSTNode, scope: str, var: str | None
    ) -> None:
        self.mode = mode
        self.template = template
        self.api = api
        self.line_node = node
        self.scope = scope
        self.var = var
        self.inputs: set[str] = set()


class _Model:
    __slots__ = (
        "cls",
        "fits",
        "kind",
        "line_node",
        "loaded_from",
        "predicts",
        "saved_to",
        "scope",
        "var",
    )

    def __init__(
        self, var: str, node: cst.CSTNode, scope: str, cls: str | None, kind: str | None
    ) -> None:
        self.var = var
        self.line_node = node
        self.scope = scope
        self.cls = cls
        self.kind = kind
        self.fits: list[tuple[cst.CSTNode, str, frozenset[str]]] = []
        self.predicts: list[cst.CSTNode] = []
        self.saved_to: set[int] = set()
        self.loaded_from: set[int] = set()


class MLFactsCollector(cst.BatchableCSTVisitor):
    """Records during the traversal; :meth:`contribute` adds the ML facts to ModuleFacts."""

    def __init__(self, context: FileContext) -> None:
        super().__init__()
        self.context = context
        self.module_name = module_name(context.path)
        self._package = package_of(context.path)
        self.module_scope = Scope(self.module_name and "", "module", None, context.module)
        self._scopes: list[Scope] = [self.module_scope]
        self.aliases: dict[str, str] = {}
        self.seq = 0
        self._pandas = False
        self._io: list[tuple[cst.Call, At]] = []
        self._model_calls: list[tuple[cst.Call, At, str]] = []
        self._plain_calls: list[tuple[cst.Call, At]] = []
        self._handle_writes: list[tuple[cst.Call, At]] = []
        self._column_calls: list[tuple[cst.Call, At]] = []
        self._subscripts: list[tuple[cst.Subscript, At, bool]] = []
        self._attributes: list[tuple[cst.Attribute, At]] = []
        self._frames: dict[int, bool] = {}  # the resolver's verdicts, by node id
        self._called: set[int] = set()
        self._targets: set[int] = set()
        self._cli: dict[str, tuple[cst.BaseExpression | None, At]] = {}
        self._assigned: dict[int, str] = {}
        self._modules: set[str] = set()  # names bound by ``import x [as y]``
        self._class_bases: dict[int, list[str]] = {}
        self._resolver_checked = False
        self._resolver: Resolver | None = None
        # results, filled by contribute()
        self._artifacts: list[_Artifact] = []
        self._artifact_of: dict[int, frozenset[str]] = {}
        self._models: list[_Model] = []
        self._model_keys: dict[object, int] = {}
        self._signals: list[tuple[str, cst.CSTNode, str, str, bool]] = []
        self.flow: _Flow | None = None

    # --- the resolver, when the engine runs it ----------------------------------------------

    def resolver(self) -> Resolver | None:
        """The name resolver if it takes part in this traversal (it then exists on the context
        before the walk starts); never created here, since it would miss the walk."""
        if not self._resolver_checked:
            self._resolver_checked = True
            self._resolver = self.context.__dict__.get("resolver")
        return self._resolver

    # --- scopes -------------------------------------------------------------------------------

    @property
    def scope(self) -> Scope:
        return self._scopes[-1]

    def _at(self) -> At:
        return At(self._scopes[-1], self.seq + 1)

    def _next(self) -> int:
        self.seq += 1
        return self.seq

    def visit_Import(self, node: cst.Import) -> None:
        self._imports(node)

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        self._imports(node)

    def _imports(self, node: cst.Import | cst.ImportFrom) -> None:
        for local, target in import_bindings(node, self._package):
            self.aliases[local] = target
            if isinstance(node, cst.Import):
                self._modules.add(local)
            if target.startswith(("pandas", "polars")):
                self._pandas = True

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        outer = self.scope
        qualname = f"{outer.qualname}.{node.name.value}" if outer.qualname else node.name.value
        scope = Scope(qualname, "function", outer, node, self._next())
        outer.functions[node.name.value] = scope
        params = node.params
        positional = [*params.posonly_params, *params.params]
        if outer.kind == "class":
            scope.cls = outer
            static = any(
                isinstance(d.decorator, cst.Name)
                and d.decorator.value in ("staticmethod", "classmethod")
                for d in node.decorators
            )
            if positional and not static:
                scope.self_name = positional[0].name.value
        every = [*positional, *params.kwonly_params]
        for extra in (params.star_arg, params.star_kwarg):
            if isinstance(extra, cst.Param):
                every.append(extra)
        for param in every:
            scope.params.append(param.name.value)
            scope.add(
                param.name.value, Def(scope.seq, "param", None, scope, param=param, node=param)
            )
        self._scopes.append(scope)

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        if len(self._scopes) > 1 and self._scopes[-1].node is node:
            self._scopes.pop()

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        outer = self.scope
        qualname = f"{outer.qualname}.{node.name.value}" if outer.qualname else node.name.value
        scope = Scope(qualname, "class", outer, node, self._next())
        outer.functions[node.name.value] = scope
        self._class_bases[id(scope)] = [
            canonical(name)
            for base in node.bases
            if base.keyword is None and (name := self._qualname(base.value)) is not None
        ]
        self._scopes.append(scope)

    def leave_ClassDef(self, node: cst.ClassDef) -> None:
        if len(self._scopes) > 1 and self._scopes[-1].node is node:
            self._scopes.pop()

    def _qualname(self, node: cst.BaseExpression) -> str | None:
        name = dotted(node)
        if name is None:
            return None
        head, _, rest = name.partition(".")
        target = self.aliases.get(head)
        if target is None:
            return name
        return f"{target}.{rest}" if rest else target

    # --- bindings -----------------------------------------------------------------------------

    def visit_Assign(self, node: cst.Assign) -> None:
        if self._pandas:
            for target in node.targets:
                self._targets.add(id(target.target))

    def leave_Assign(self, node: cst.Assign) -> None:
        seq = self._next()
        for target in node.targets:
            self._bind(target.target, node.value, seq, node)
        self._note_assigned(node.targets[0].target, node.value)

    def _note_assigned(self, target: cst.BaseExpression, value: cst.BaseExpression | None) -> None:
        """Remember the target of the calls a value is made of (``x = read(p).astype(f)``)."""
        name = dotted(target)
        while name is not None and value is not None:
            if isinstance(value, cst.Call):
                self._assigned[id(value)] = name
                func = value.func
                value = func.value if isinstance(func, cst.Attribute) else None
            elif isinstance(value, (cst.Attribute, cst.Subscript)):
                value = value.value
            else:
                break

    def leave_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None:
            self._bind(node.target, node.value, self._next(), node)

    def leave_AugAssign(self, node: cst.AugAssign) -> None:
        target = node.target
        seq = self._next()
        if isinstance(target, cst.Name):
            self.scope.add(target.value, Def(seq, "aug", node.value, self.scope, node=node))
        else:
            self._bind(target, node.value, seq, node)

    def leave_NamedExpr(self, node: cst.NamedExpr) -> None:
        self._bind(node.target, node.value, self._next(), node)

    def visit_For(self, node: cst.For) -> None:
        seq = self._next()
        self._bind(node.target, node.iter, seq, node, how="for")

    def _comprehension(
        self, node: cst.ListComp | cst.SetComp | cst.GeneratorExp | cst.DictComp
    ) -> None:
        # Comprehension targets are bound in the enclosing scope, before the element is
        # visited (a small leak that lets ``[load(p) for p in glob(...)]`` see what ``p`` is).
        comp: cst.CompFor | None = node.for_in
        while comp is not None:
            self._bind(comp.target, comp.iter, self._next(), comp, how="for")
            comp = comp.inner_for_in

    def visit_ListComp(self, node: cst.ListComp) -> None:
        self._comprehension(node)

    def visit_SetComp(self, node: cst.SetComp) -> None:
        self._comprehension(node)

    def visit_GeneratorExp(self, node: cst.GeneratorExp) -> None:
        self._comprehension(node)

    def visit_DictComp(self, node: cst.DictComp) -> None:
        self._comprehension(node)

    def visit_With(self, node: cst.With) -> None:
        seq = self._next()
        for item in node.items:
            if item.asname is not None:
                self._bind(item.asname.name, item.item, seq, node, how="with")
                self._note_assigned(item.asname.name, item.item)

    def leave_Return(self, node: cst.Return) -> None:
        if node.value is not None:
            for scope in reversed(self._scopes):
                if scope.kind == "function":
                    scope.returns.append((self.seq, node.value))
                    break

    def _bind(
        self,
        target: cst.BaseExpression,
        value: cst.BaseExpression,
        seq: int,
        node: cst.CSTNode,
        how: str = "assign",
        index: int | None = None,
        count: int = 1,
    ) -> None:
        scope = self.scope
        if isinstance(target, cst.Name):
            if index is not None and how == "assign":
                how = "unpack"
            scope.add(target.value, Def(seq, how, value, scope, index, count, node))
        elif isinstance(target, (cst.Tuple, cst.List)):
            elements = target.elements
            for position, element in enumerate(elements):
                self._bind(element.value, value, seq, node, how, position, len(elements))
        elif isinstance(target, cst.StarredElement):
            self._bind(target.value, value, seq, node, how)
        elif isinstance(target, cst.Subscript):
            root = _root_name(target.value)
            if root is not None:
                scope.add(root, Def(seq, "mutate", value, scope, node=node))
        elif isinstance(target, cst.Attribute):
            base = target.value
            method = self._method_scope()
            if (
                method is not None
                and method.cls is not None
                and isinstance(base, cst.Name)
                and base.value == method.self_name
            ):
                definition = Def(
                    seq, "assign" if index is None else "unpack", value, scope, index, count, node
                )
                method.cls.attrs.setdefault(target.attr.value, []).append(definition)
            else:
                root = _root_name(base)
                if root is not None:
                    scope.add(root, Def(seq, "mutate", value, scope, node=node))

    def _method_scope(self) -> Scope | None:
        for scope in reversed(self._scopes):
            if scope.kind == "function":
                return scope
        return None

    # --- calls, subscripts, attributes --------------------------------------------------------

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Attribute):
            last = func.attr.value
            if self._pandas:
                self._called.add(id(func))
        elif isinstance(func, cst.Name):
            last = func.value
            self._plain_calls.append((node, self._at()))
        else:
            return
        if last in apis.CALL_NAMES:
            self._io.append((node, self._at()))
        if last in apis.MODEL_METHODS or last in apis.FIT_FUNCTION_NAMES:
            self._model_calls.append((node, self._at(), last))
        elif last in apis.MUTATORS and isinstance(func, cst.Attribute):
            root = _root_name(func.value)
            if root is not None:
                at = self._at()
                if last in apis.HANDLE_WRITES:
                    self._handle_writes.append((node, at))
                elif last == "load_state_dict":
                    self._model_calls.append((node, at, last))
                self._mutate(func.value, node)
        elif last == "add_argument":
            self._add_argument(node)
        elif (
            isinstance(func, cst.Attribute)
            and isinstance(func.value, cst.Name)
            and func.value.value == self._self_name()
        ):
            self._plain_calls.append((node, self._at()))
        if self._pandas and node.args and any(a.keyword is not None for a in node.args):
            self._column_calls.append((node, self._at()))

    def _self_name(self) -> str | None:
        method = self._method_scope()
        return method.self_name if method is not None else None

    def _mutate(self, receiver: cst.BaseExpression, call: cst.Call) -> None:
        seq = self._next()
        scope = self.scope
        if isinstance(receiver, cst.Attribute) and isinstance(receiver.value, cst.Name):
            method = self._method_scope()
            if (
                method is not None
                and method.cls is not None
                and receiver.value.value == method.self_name
            ):
                method.cls.attrs.setdefault(receiver.attr.value, []).append(
                    Def(seq, "mutate", call, scope, node=call)
                )
                return
        root = _root_name(receiver)
        if root is not None:
            scope.add(root, Def(seq, "mutate", call, scope, node=call))

    def _add_argument(self, node: cst.Call) -> None:
        dest: str | None = None
        default: cst.BaseExpression | None = None
        for argument in node.args:
            if argument.keyword is not None:
                key = argument.keyword.value
                if key == "dest" and isinstance(argument.value, cst.SimpleString):
                    dest = string_value(argument.value) or dest
                elif key == "default":
                    default = argument.value
                elif (
                    key == "action"
                    and default is None
                    and string_value(argument.value) == "store_true"
                ):
                    default = cst.Name("False")
                continue
            if isinstance(argument.value, cst.SimpleString) and dest is None:
                flag = string_value(argument.value)
                if isinstance(flag, str):
                    if flag.startswith("--"):
                        dest = flag[2:].replace("-", "_")
                    elif not flag.startswith("-"):
                        dest = flag
        if dest:
            self._cli[dest] = (default, self._at())

    def visit_Subscript(self, node: cst.Subscript) -> None:
        if not self._pandas or len(node.slice) != 1:
            return
        inner = node.slice[0].slice
        if not isinstance(inner, cst.Index) and not (
            isinstance(node.value, cst.Attribute) and node.value.attr.value in ("loc", "iloc")
        ):
            return
        key = inner.value if isinstance(inner, cst.Index) else None
        if key is not None and not isinstance(
            key,
            (
                cst.SimpleString,
                cst.List,
                cst.Tuple,
                cst.Name,
                cst.Attribute,
                cst.BinaryOperation,
                cst.Call,
            ),
        ):
            return
        at = self._at()
        self._subscripts.append((node, at, id(node) in self._targets))
        self._frame_verdict(node.value, node)

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if not self._pandas:
            return
        base = node.value
        if (
            type(base) is not cst.Name
            or id(node) in self._called
            or node.attr.value in _FRAME_ATTRIBUTES
            or base.value == "self"
            or node.attr.value.startswith("_")
        ):
            return
        if base.value in self.aliases:
            return
        self._attributes.append((node, self._at()))
        self._frame_verdict(base, node)

    def _frame_verdict(self, base: cst.BaseExpression, node: cst.CSTNode) -> None:
        resolver = self.resolver()
        if resolver is None:
            return
        if isinstance(base, cst.Attribute) and base.attr.value in ("loc", "iloc", "at", "iat"):
            base = base.value
        self._frames[id(node)] = resolver.kind_of(base) in _FRAME_KINDS

    # --- after the walk -----------------------------------------------------------------------

    def nodes(self) -> list[cst.CSTNode]:
        """The nodes whose lines :meth:`contribute` needs (call it after the walk)."""
        self._analyse()
        found: list[cst.CSTNode] = [a.line_node for a in self._artifacts]
        for model in self._models:
            found.append(model.line_node)
            found.extend(node for node, _, _ in model.fits)
            found.extend(model.predicts)
        found.extend(node for _, node, _, _, _ in self._signals)
        return found

    def contribute(self, facts: ModuleFacts, lines: dict[cst.CSTNode, int]) -> None:
        """Add the ML facts to ``facts`` (lines as computed for :meth:`nodes`)."""
        self._analyse()
        assert self.flow is not None
        order = sorted(
            range(len(self._models)), key=lambda i: (lines.get(self._models[i].line_node, 1), i)
        )
        renumber = {f"m:{old}": f"m:{new}" for new, old in enumerate(order)}
        kept = sorted(
            range(len(self._artifacts)),
            key=lambda i: (lines.get(self._artifacts[i].line_node, 1), i),
        )
        renumber.update({f"a:{old}": f"a:{new}" for new, old in enumerate(kept)})
        new_index = {old: new for new, old in enumerate(kept)}

        def tokens(found: set[str] | frozenset[str]) -> tuple[str, ...]:
            return tuple(sorted({renumber.get(token, token) for token in found}))

        facts.artifacts = [
            Artifact(
                a.mode,
                a.template,
                a.api,
                lines.get(a.line_node, 1),
                a.scope,
                a.var,
                tokens(a.inputs) if a.mode == "w" else (),
            )
            for a in (self._artifacts[i] for i in kept)
        ]
        facts.models = []
        for old in order:
            model = self._models[old]
            facts.models.append(
                Model(
                    model.var,
                    lines.get(model.line_node, 1),
                    model.scope,
                    model.cls,
                    model.kind,
                    tuple(
                        Fit(lines.get(n, 1), api, tokens(inputs)) for n, api, inputs in model.fits
                    ),
                    tuple(sorted({lines.get(n, 1) for n in model.predicts})),
                    tuple(sorted(new_index[i] for i in model.saved_to)),
                    tuple(sorted(new_index[i] for i in model.loaded_from)),
                )
            )
        seen: set[tuple[str, int, str, str, bool]] = set()
        facts.signals = []
        for name, node, scope, via, write in self._signals:
            key = (name, lines.get(node, 1), scope, via, write)
            if key not in seen:
                seen.add(key)
                facts.signals.append(Signal(*key))
        facts.signals.sort(key=lambda s: (s.line, s.name, s.via))
        facts.constants = self._constants()
        facts.cli_defaults = {
            dest: self._exported(value, at) for dest, (value, at) in self._cli.items()
        }
        facts.returns = {}
        if self._artifacts or self._models:
            for function in self._functions():
                summary = self.flow.summary(function)
                if any(
                    t[:2] in ("a:", "m:", "k:", "f:", "s:") or t.startswith("mp:") for t in summary
                ):
                    facts.returns[function.qualname] = list(tokens(summary))

    _analysed = False

    def _analyse(self) -> None:
        if self._analysed:
            return
        self._analysed = True
        flow = _Flow(self)
        self.flow = flow
        for node, at, method in self._model_calls:
            self._model_event(node, at, method)
        for node, at in self._io:
            flow.call_tokens(node, at)
        for node, at in self._handle_writes:
            self._handle_write(node, at)
        self._param_model_fits()
        self._collect_signals()

    # --- artifacts ----------------------------------------------------------------------------

    def io_spec(self, node: cst.Call) -> tuple[IOSpec, str] | None:
        """The I/O spec of a call and its API label, or None."""
        func = node.func
        assert self.flow is not None
        qualname = self.flow.qualname(func)
        if qualname is not None:
            qualname = canonical(qualname)
            spec = apis.FUNCTIONS.get(qualname)
            if spec is not None:
                return spec, qualname
        if not isinstance(func, cst.Attribute):
            return None
        method = func.attr.value
        receiver = func.value
        if isinstance(receiver, cst.Name) and receiver.value in self._modules:
            return None  # a module's function we do not list (json.loads, av.open...)
        if method == "open":
            return apis.PATH_OPEN, "pathlib.Path.open"
        if method in ("glob", "rglob"):
            return IOSpec("glob", None), "pathlib.Path." + method
        spec = apis.METHODS.get(method)
        if spec is None:
            return None
        return spec, method

    def artifact_tokens(self, node: cst.Call, at: At) -> Tokens | None:
        """Tokens of an I/O call's value, registering its artifacts (once per call)."""
        known = self._artifact_of.get(id(node))
        if known is not None:
            return known
        found = self.io_spec(node)
        if found is None:
            return None
        self._artifact_of[id(node)] = _EMPTY  # re-entrancy: a call inside its own arguments
        spec, api = found
        result = self._io_call(node, at, spec, api)
        self._artifact_of[id(node)] = result if result is not None else _EMPTY
        return result

    def _io_call(self, node: cst.Call, at: At, spec: IOSpec, api: str) -> Tokens | None:
        flow = self.flow
        assert flow is not None
        func = node.func
        receiver = func.value if isinstance(func, cst.Attribute) else None
        path_expr = _argument(node, spec.path) if spec.path is not None else receiver
        if spec.path is not None and path_expr is None:
            if spec.mode == "w" and spec.data is None:
                return None  # df.to_csv() with no path returns a string
            return None
        assert path_expr is not None
        if spec.mode == "glob" and spec.path is None:
            path_expr = node  # pathlib: the pattern is joined to the receiver
        path_deps = flow.deps(path_expr, at) if path_expr is not node else _EMPTY
        handles = {t for t in path_deps if t.startswith("h:")}
        scope = at.scope.qualname
        if spec.mode in ("sql", "table"):
            return self._sql(node, at, spec, api, path_expr)
        mode = spec.mode
        if mode == "open":
            mode_expr = _argument(node, spec.mode_arg) if spec.mode_arg else None
            text = spec.default_mode
            if isinstance(mode_expr, cst.SimpleString):
                text = string_value(mode_expr) or text
            mode = "w" if _WRITE_MODES.search(text.replace("r+", "r")) else "r"
        if mode == "w" and handles:
            data = self._data_expr(node, spec, receiver)
            models = self._models_in(data, at) if data is not None else ()
            for handle in handles:
                index = int(handle[2:])
                self._artifacts[index].inputs |= (
                    flow.deps(data, at) if data is not None else _EMPTY
                )
                for model in models:  # pickle.dump(clf, fh) with fh = open(path, "wb")
                    self._models[model].saved_to.add(index)
            return frozenset(handles)
        template = flow.template(path_expr, at)
        read = frozenset(t for t in path_deps if t.startswith("a:"))
        if mode == "r" and read and template is None:
            return read  # json.load(fh), yaml.safe_load(path.read_text()): content, not a path
        if template is None:
            template = paths.WILD
        if mode == "glob":
            template = paths.from_glob(template)
            mode = "r"
        if (api in _GENERIC_METHODS and not paths.is_known(template)) or (
            api == "from_pretrained" and not _local_path(template)
        ):
            return None
        if mode == "copy":
            source = self._add(node, "r", template, api, scope, dotted(path_expr))
            target_expr = _argument(node, spec.dest)
            target = flow.template(target_expr, at) if target_expr is not None else None
            written = self._add(node, "w", target or paths.WILD, api, scope, None)
            self._artifacts[written].inputs.add(f"a:{source}")
            return _EMPTY
        if mode == "w":
            data = self._data_expr(node, spec, receiver)
            var = dotted(data) if data is not None else None
            index = self._add(node, "w", template, api, scope, var)
            if data is not None:
                self._artifacts[index].inputs |= flow.deps(data, at)
                for model in self._models_in(data, at):
                    self._models[model].saved_to.add(index)
            elif spec.data is not None and spec.data[0] >= 0:  # np.savez(path, a=x, b=y)
                for argument in node.args:
                    if argument.value is not path_expr:
                        self._artifacts[index].inputs |= flow.deps(argument.value, at)
            if api.endswith("open") or api in ("open", "csv.writer", "csv.DictWriter"):
                return frozenset({f"h:{index}"})
            return _EMPTY
        var = self._assigned_name(node, at)
        if spec.into and receiver is not None:
            var = dotted(receiver)
        index = self._add(node, "r", template, api, scope, var)
        if spec.into and receiver is not None:
            loaded = self.model_key(receiver, at, create=True)
            if loaded is not None:
                self._models[loaded].loaded_from.add(index)
        return frozenset({f"a:{index}"})

    def _data_expr(
        self, node: cst.Call, spec: IOSpec, receiver: cst.BaseExpression | None
    ) -> cst.BaseExpression | None:
        if spec.data is None:
            return receiver
        if spec.data[0] == -1 and not spec.data[1]:
            return None
        return _argument(node, spec.data)

    def _add(
        self, node: cst.CSTNode, mode: str, template: str, api: str, scope: str, var: str | None
    ) -> int:
        self._artifacts.append(_Artifact(mode, template, api, node, scope, var))
        return len(self._artifacts) - 1

    def _assigned_name(self, node: cst.Call, at: At) -> str | None:
        """The variable a read is assigned to (``df = pd.read_csv(...).dropna()``), if any."""
        return self._assigned.get(id(node))

    def _sql(
        self, node: cst.Call, at: At, spec: IOSpec, api: str, query: cst.BaseExpression
    ) -> Tokens | None:
        assert self.flow is not None
        template = self.flow.template(query, at)
        text = paths.unescape(template) if template is not None else None
        scope = at.scope.qualname
        if spec.mode == "table":
            if text is None:
                return None
            mode = "w" if spec.default_mode == "w" else "r"
            index = self._add(node, mode, "table:" + text, api, scope, None)
            if mode == "w" and isinstance(node.func, cst.Attribute):
                self._artifacts[index].inputs |= self.flow.deps(node.func.value, at)
                return _EMPTY
            return frozenset({f"a:{index}"})
        if text is None or not _SQL_START.match(text):
            return None
        written = {_table(t) for t in _SQL_WRITE.findall(text)}
        read = {_table(t) for t in _SQL_READ.findall(text)} - {""}
        out: set[str] = set()
        for table in sorted(read):
            if table not in written or text.lstrip().upper().startswith(("SELECT", "WITH")):
                out.add(f"a:{self._add(node, 'r', 'table:' + table, api, scope, None)}")
        for table in sorted(written - {""}):
            index = self._add(node, "w", "table:" + table, api, scope, None)
            self._artifacts[index].inputs |= out
        return frozenset(out)

    def _handle_write(self, node: cst.Call, at: At) -> None:
        assert self.flow is not None
        func = node.func
        assert isinstance(func, cst.Attribute)
        for token in self.flow.deps(func.value, at):
            if token.startswith("h:"):
                found: set[str] = set()
                for argument in node.args:
                    found |= self.flow.deps(argument.value, at)
                self._artifacts[int(token[2:])].inputs |= found

    # --- models -------------------------------------------------------------------------------

    def model_key(self, node: cst.BaseExpression, at: At, create: bool) -> int | None:
        """The model an expression holds (its index), registering it when ``create`` or when
        it is plainly a model (a known estimator or network class)."""
        assert self.flow is not None
        if isinstance(node, cst.Call):
            func = node.func
            if isinstance(func, cst.Attribute) and func.attr.value in apis.OBJECT_METHODS:
                return self.model_key(func.value, at, create and func.attr.value != "compile")
            known = self._model_keys.get(id(node))
            if known is not None:
                return known
            cls, kind = self._constructed(node, at)
            if kind is not None or (cls is not None and create):
                return self._register(id(node), _describe(node), node, at, cls, kind)
            return None
        if isinstance(node, cst.Attribute):
            held = self.flow.self_attribute(node, at)
            if held is None:
                if node.attr.value in apis.OBJECT_METHODS:
                    return self.model_key(node.value, at, create)
                return None
            full = [d for d in held if d.how != "mutate"]
            return (
                self._def_model(full[-1], "self." + node.attr.value, at, create) if full else None
            )
        if isinstance(node, cst.Name):
            defs = self.flow.lookup(node.value, at)
            full = [d for d in defs if d.how != "mutate"]
            if not full:
                return None
            return self._def_model(full[-1], node.value, at, create)
        return None

    def _def_model(self, definition: Def, name: str, at: At, create: bool) -> int | None:
        known = self._model_keys.get(id(definition))
        if known is not None:
            return known
        if definition.how == "param":
            if not create or _NOT_MODELS.search(name):
                return None
            kind = "parameter"
            param = definition.param
            if param is not None and param.annotation is not None:
                found = self._qualname(param.annotation.annotation)
                typed = type_kind(canonical(found)) if found else None
                kind = typed[0] if typed else kind
            return self._register(
                id(definition),
                name,
                definition.param or definition.scope.node,
                at,
                None,
                kind,
                definition.scope,
            )
        value = definition.value
        if definition.how in ("assign", "with") and isinstance(value, cst.Call):
            inner = value
            while (
                isinstance(inner.func, cst.Attribute)
                and inner.func.attr.value in apis.OBJECT_METHODS
                and isinstance(inner.func.value, (cst.Call, cst.Name, cst.Attribute))
            ):
                receiver = inner.func.value
                if not isinstance(receiver, cst.Call):
                    found_model = self.model_key(
                        receiver, At(definition.scope, definition.seq), create
                    )
                    if found_model is not None:
                        self._model_keys[id(definition)] = found_model
                    return found_model
                inner = receiver
            if self._model_keys.get(id(inner)) is not None:
                return self._model_keys[id(inner)]
            made, made_kind = self._constructed(inner, At(definition.scope, definition.seq))
            if made_kind is not None or create:
                if _NOT_MODELS.search(name) and made_kind is None:
                    return None
                index = self._register(
                    id(definition),
                    name,
                    definition.node or inner,
                    at,
                    made,
                    made_kind,
                    definition.scope,
                )
                self._loaded_from(index, definition)
                return index
            return None
        if (
            create
            and definition.how in ("assign", "unpack", "for")
            and not _NOT_MODELS.search(name)
        ):
            index = self._register(
                id(definition),
                name,
                definition.node or definition.scope.node,
                at,
                None,
                None,
                definition.scope,
            )
            self._loaded_from(index, definition)
            return index
        return None

    def _loaded_from(self, index: int, definition: Def) -> None:
        """A model bound from an artifact read by a model-loading API was loaded from it."""
        assert self.flow is not None
        for token in self.flow.deps(definition.value, At(definition.scope, definition.seq)):
            if token.startswith("a:"):
                artifact = self._artifacts[int(token[2:])]
                if artifact.mode == "r" and artifact.api in apis.MODEL_LOADERS:
                    self._models[index].loaded_from.add(int(token[2:]))

    def _register(
        self,
        key: int,
        var: str,
        node: cst.CSTNode | None,
        at: At,
        cls: str | None,
        kind: str | None,
        scope: Scope | None = None,
    ) -> int:
        known = self._model_keys.get(key)
        if known is not None:
            return known
        index = len(self._models)
        owner = scope if scope is not None else at.scope
        self._models.append(_Model(var, node or self.context.module, owner.qualname, cls, kind))
        self._model_keys[key] = index
        return index

    def _constructed(self, call: cst.Call, at: At) -> tuple[str | None, str | None]:
        """(class, kind) when ``call`` makes a model: a known estimator/network class, a class
        of this file deriving from one, ``from_pretrained``, a pipeline."""
        assert self.flow is not None
        func = call.func
        local = self.flow.local_function(func, at)
        if local is not None:
            if local.kind == "class":
                for base in self._class_bases.get(id(local), []):
                    typed = type_kind(base)
                    if typed is not None and typed[0] in _MODEL_KINDS:
                        return local.qualname, typed[0]
                return local.qualname, None
            return local.qualname, None
        name = self.flow.qualname(func)
        if name is None:
            return None, None
        name = canonical(name)
        if name.endswith((".from_pretrained", ".from_config")):
            owner = name.rpartition(".")[0]
            typed = type_kind(owner)
            if typed is not None and typed[0] in _MODEL_KINDS:
                return owner, typed[0]
            return None, None
        if name in apis.MODEL_FACTORIES:
            return name, "estimator"
        typed = type_kind(name)
        if typed is not None and typed[0] in _MODEL_KINDS:
            if name.endswith("Loss") or name.rpartition(".")[2] in _NOT_NETWORKS:
                return None, None
            return name, typed[0]
        if apis.is_library(name):
            return None, None
        return name, None

    def _models_in(self, node: cst.BaseExpression, at: At) -> set[int]:
        """Models an expression holds directly (a model, its state, a dict/list of those)."""
        if isinstance(node, (cst.Dict,)):
            found: set[int] = set()
            for element in node.elements:
                if isinstance(element, cst.DictElement):
                    found |= self._models_in(element.value, at)
            return found
        if isinstance(node, (cst.List, cst.Tuple)):
            found = set()
            for item in node.elements:
                found |= self._models_in(item.value, at)
            return found
        evidence = (
            isinstance(node, cst.Call)
            and isinstance(node.func, cst.Attribute)
            and node.func.attr.value in ("state_dict", "get_booster", "get_weights")
        )
        model = self.model_key(node, at, create=evidence)
        return {model} if model is not None else set()

    def _model_event(self, node: cst.Call, at: At, method: str) -> None:
        assert self.flow is not None
        func = node.func
        if method in apis.FIT_FUNCTION_NAMES:
            name = self.flow.qualname(func)
            spec = apis.FIT_FUNCTIONS.get(canonical(name)) if name else None
            estimator = _argument(node, (0, "estimator"))
            if spec is None or estimator is None:
                return
            model = self.model_key(estimator, at, create=True)
            if model is not None:
                inputs = self._inputs(
                    [_argument(node, (i, k)) for i, k in zip(spec, ("X", "y"), strict=False)], at
                )
                self._models[model].fits.append(
                    (node, name.rpartition(".")[2] if name else method, inputs)
                )
            return
        if not isinstance(func, cst.Attribute):
            return
        receiver = func.value
        if method == "train":
            name = self.flow.qualname(func)
            train = apis.TRAIN_FUNCTIONS.get(canonical(name)) if name else None
            if train is not None:
                return  # registered when the assignment of its result is looked at
            self._trainer_fit(node, at, receiver, method)
            return
        if method == "fit" and self._trainer_fit(node, at, receiver, method):
            return
        if method == "backward":
            self._backward(node, at, receiver)
            return
        if method == "load_state_dict":
            model = self.model_key(
                receiver, at, create=not _NOT_MODELS.search(dotted(receiver) or "")
            )
            if model is not None:
                for argument in node.args:
                    for token in self.flow.deps(argument.value, at):
                        if token.startswith("a:"):
                            self._models[model].loaded_from.add(int(token[2:]))
            return
        if _root_name(receiver) in self.aliases:
            return  # lgb.train(...), np.fit?: a module, not a model
        model = self.model_key(receiver, at, create=True)
        if model is None:
            return
        if method in apis.FIT_METHODS:
            inputs = self._inputs([a.value for a in node.args if a.keyword not in _NOT_INPUTS], at)
            self._models[model].fits.append((node, method, inputs))
        if method in apis.PREDICT_METHODS:
            self._models[model].predicts.append(node)

    def _inputs(self, nodes: list[cst.BaseExpression | None], at: At) -> frozenset[str]:
        assert self.flow is not None
        found: set[str] = set()
        for node in nodes:
            found |= self.flow.deps(node, at)
        return frozenset(found)

    def _trainer_fit(
        self, node: cst.Call, at: At, receiver: cst.BaseExpression, method: str
    ) -> bool:
        """``Trainer(model=m, train_dataset=d).train()``, Lightning ``trainer.fit(m, dm)``."""
        assert self.flow is not None
        if not isinstance(receiver, cst.Name):
            return False
        defs = [d for d in self.flow.lookup(receiver.value, at) if d.how != "mutate"]
        if not defs or not isinstance(defs[-1].value, cst.Call):
            return False
        made = defs[-1].value
        name = self.flow.qualname(made.func)
        if name is None or canonical(name) not in apis.TRAINER_CLASSES:
            return False
        where = At(defs[-1].scope, defs[-1].seq)
        if method == "train":
            model_expr = _argument(made, (0, "model"))
            data = [_argument(made, (-1, k)) for k in ("train_dataset", "eval_dataset")]
            model_at = where
        else:
            model_expr = _argument(node, (0, "model"))
            data = [a.value for a in node.args[1:]]
            model_at = at
        if model_expr is None:
            return True
        model = self.model_key(model_expr, model_at, create=True)
        if model is not None:
            self._models[model].fits.append(
                (node, method, self._inputs(data, model_at if method == "train" else at))
            )
        return True

    def _backward(self, node: cst.Call, at: At, loss: cst.BaseExpression) -> None:
        assert self.flow is not None
        tokens = self.flow.deps(loss, at)
        for token in tokens:
            if token.startswith("m:"):
                model = int(token[2:])
            elif token.startswith("mp:"):
                param = token[3:]
                defs = self.flow.lookup(param, at)
                if not defs or defs[-1].how != "param":
                    continue
                found = self._def_model(defs[-1], param, at, create=True)
                if found is None:
                    continue
                model = found
            else:
                continue
            own = {f"m:{model}", token, "p:" + self._models[model].var}
            self._models[model].fits.append((node, "backward", frozenset(tokens - own)))

    def _param_model_fits(self) -> None:
        """A model trained inside a function of this file that got it as a parameter is
        trained where that function is called with a model: the fit is repeated there."""
        assert self.flow is not None
        functions: dict[int, list[tuple[str, _Model]]] = {}
        for scope in self._all_scopes():
            for name in scope.params:
                defs = scope.defs.get(name, [])
                if defs and defs[0].how == "param":
                    index = self._model_keys.get(id(defs[0]))
                    if index is not None and self._models[index].fits:
                        functions.setdefault(id(scope), []).append((name, self._models[index]))
        if not functions:
            return
        for call, at in self._plain_calls:
            function = self.flow.local_function(call.func, at)
            if function is None or id(function) not in functions:
                continue
            bound = bind_arguments(function, call)
            for name, param_model in functions[id(function)]:
                given = bound.get(name)
                if given is None:
                    continue
                model = self.model_key(given, at, create=True)
                if model is None:
                    continue
                for _, api, inputs in param_model.fits:
                    substituted: set[str] = set()
                    for token in inputs:
                        kind, _, param = token.partition(":")
                        if kind == "p" and param in bound:
                            substituted |= self.flow.deps(bound[param], at)
                        elif kind not in ("p", "mp"):
                            substituted.add(token)
                    self._models[model].fits.append((call, api, frozenset(substituted)))

    def _all_scopes(self) -> list[Scope]:
        found: list[Scope] = []
        pending = [self.module_scope]
        while pending:
            scope = pending.pop()
            found.append(scope)
            pending.extend(scope.functions.values())
        return found

    def _functions(self) -> list[Scope]:
        return [s for s in self._all_scopes() if s.kind == "function"]

    # --- signals ------------------------------------------------------------------------------

    def is_frame(self, node: cst.CSTNode, base: cst.BaseExpression, at: At) -> bool:
        verdict = self._frames.get(id(node))
        if verdict is not None:
            return verdict
        if isinstance(base, cst.Attribute) and base.attr.value in ("loc", "iloc", "at", "iat"):
            base = base.value
        return self._frame_like(base, at, 0)

    def _frame_like(self, node: cst.BaseExpression, at: At, depth: int) -> bool:
        """A small inference of DataFrame-ness when the resolver is not running."""
        assert self.flow is not None
        if depth > 12:
            return False
        depth += 1
        if isinstance(node, cst.Name):
            defs = [d for d in self.flow.lookup(node.value, at) if d.how != "mutate"]
            if not defs:
                return False
            last = defs[-1]
            if last.how == "param":
                annotation = last.param.annotation if last.param is not None else None
                name = self._qualname(annotation.annotation) if annotation is not None else None
                if name is None:
                    return _FRAME_NAME.match(node.value) is not None
                return canonical(name) in ("pandas.DataFrame", "pandas.Series")
            if last.how in ("assign", "unpack") and last.value is not None:
                value = last.value
                if (
                    last.how == "unpack"
                    and isinstance(value, (cst.Tuple, cst.List))
                    and last.index is not None
                    and len(value.elements) == last.count
                ):
                    value = value.elements[last.index].value
                return self._frame_like(value, At(last.scope, last.seq), depth)
            return False
        if isinstance(node, cst.Subscript):
            return self._frame_like(node.value, at, depth)
        if isinstance(node, cst.Attribute):
            if node.attr.value in ("loc", "iloc", "T"):
                return self._frame_like(node.value, at, depth)
            return False
        if isinstance(node, cst.Call):
            func = node.func
            name = self.flow.qualname(func)
            if name is not None and name.startswith(("pandas.", "polars.")):
                return True
            if isinstance(func, cst.Attribute) and func.attr.value not in (
                "to_numpy",
                "tolist",
                "to_dict",
                "to_list",
            ):
                if isinstance(func.value, cst.Name) and func.value.value in self.aliases:
                    return False
                return self._frame_like(func.value, at, depth)
            local = self.flow.local_function(func, at)
            if local is not None and local.kind == "function":
                return any(self._frame_like(v, At(local, s + 1), depth) for s, v in local.returns)
        return False

    def _collect_signals(self) -> None:
        if not self._pandas:
            return
        for node, at, write in self._subscripts:
            if not self.is_frame(node, node.value, at):
                continue
            for token in self._key_tokens(node, at):
                self._signal_from_token(token, node, at, write)
        for attribute, at in self._attributes:
            if self.is_frame(attribute, attribute.value, at):
                self._signals.append(
                    (attribute.attr.value, attribute, at.scope.qualname, "column", False)
                )
        for call, at in self._column_calls:
            self._keyword_signals(call, at)

    def _signal_from_token(self, token: str, node: cst.CSTNode, at: At, write: bool) -> None:
        kind, _, name = token.partition(":")
        if kind == "s":
            self._signals.append((name, node, at.scope.qualname, "column", write))
        elif kind == "k":
            self._signals.append((name, node, at.scope.qualname, "constant", False))

    def _key_tokens(self, node: cst.Subscript, at: At) -> Tokens:
        """Column and constant tokens of a frame subscript's key (``df["a"]``, ``df[COLS]``,
        ``df.loc[rows, ["a", "b"]]``)."""
        assert self.flow is not None
        keys: list[cst.BaseExpression] = []
        element = node.slice[-1].slice
        if isinstance(element, cst.Index):
            keys.append(element.value)
        base = node.value
        if (
            isinstance(base, cst.Attribute)
            and base.attr.value in ("loc", "at")
            and isinstance(element, cst.Index)
        ):
            value = element.value
            keys = (
                [value.elements[-1].value]
                if isinstance(value, cst.Tuple) and value.elements
                else []
            )
        found: set[str] = set()
        for key in keys:
            found |= self._column_names(key, at)
        return frozenset(found)

    def _column_names(self, key: cst.BaseExpression, at: At) -> set[str]:
        assert self.flow is not None
        if isinstance(key, cst.SimpleString):
            text = string_value(key)
            return {"s:" + text} if text is not None else set()
        strings = string_list(key)
        if strings is not None:
            return {"s:" + s for s in strings}
        if isinstance(key, (cst.List, cst.Tuple, cst.BinaryOperation)):
            found: set[str] = set()
            for child in _parts(key):
                found |= self._column_names(child, at)
            return found
        if isinstance(key, (cst.Name, cst.Attribute)):
            found = {t for t in self.flow.deps(key, at) if t.startswith("k:")}
            if isinstance(key, cst.Name):
                defs = [d for d in self.flow.lookup(key.value, at) if d.how != "mutate"]
                if defs and defs[-1].how == "assign":
                    value = defs[-1].value
                    literal = string_value(value)
                    if isinstance(value, cst.SimpleString) and literal is not None:
                        found.add("s:" + literal)
                    for text in string_list(value) or []:
                        found.add("s:" + text)
            elif isinstance(key, cst.Attribute):
                module = self.flow.imported_module(key.value)
                if module is not None:
                    found.add(f"k:{module}.{key.attr.value}")
            return found
        return set()

    def _keyword_signals(self, call: cst.Call, at: At) -> None:
        func = call.func
        method = func.attr.value if isinstance(func, cst.Attribute) else None
        if (
            method == "drop"
            and isinstance(func, cst.Attribute)
            and self.is_frame(call, func.value, at)
        ):
            self._drop_signals(call, at)
            return
        for argument in call.args:
            keyword = argument.keyword.value if argument.keyword is not None else None
            if keyword is None:
                continue
            if keyword in _COLUMN_KEYWORDS or (method == "rename" and keyword == "columns"):
                value = argument.value
                if isinstance(value, cst.Dict):
                    for element in value.elements:
                        if isinstance(element, cst.DictElement):
                            for text in (element.key, element.value):
                                name = string_value(text)
                                if isinstance(text, cst.SimpleString) and name is not None:
                                    self._signals.append(
                                        (name, call, at.scope.qualname, "column", False)
                                    )
                    continue
                for token in self._column_names(value, at):
                    self._signal_from_token(token, call, at, False)
            elif (
                method == "assign"
                and isinstance(func, cst.Attribute)
                and self.is_frame(call, func.value, at)
            ):
                self._signals.append((keyword, call, at.scope.qualname, "column", True))

    def _drop_signals(self, call: cst.Call, at: At) -> None:
        """``df.drop(columns=[...])``, ``df.drop(["a"], axis=1)``: signals ``via`` "drop"."""
        dropped = _argument(call, (-1, "columns"))
        if dropped is None:
            axis = _argument(call, (1, "axis"))
            by_column = (
                isinstance(axis, cst.Integer) and axis.value == "1"
            ) or (isinstance(axis, cst.SimpleString) and string_value(axis) == "columns")
            dropped = _argument(call, (0, "labels")) if by_column else None
        if dropped is None:
            return
        for token in self._column_names(dropped, at):
            kind, _, name = token.partition(":")
            if kind == "s":
                self._signals.append((name, call, at.scope.qualname, "drop", False))

    def column_tokens(self, node: cst.CSTNode, at: At) -> Tokens:
        if not self._pandas:
            return _EMPTY
        if isinstance(node, cst.Subscript):
            if not self.is_frame(node, node.value, at):
                return _EMPTY
            return self._key_tokens(node, at)
        if isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name):
            attr = node.attr.value
            if (
                attr in _FRAME_ATTRIBUTES
                or attr.startswith("_")
                or node.value.value in self.aliases
            ):
                return _EMPTY
            if self.is_frame(node, node.value, at):
                return frozenset({"s:" + attr})
        return _EMPTY

    # --- constants ----------------------------------------------------------------------------

    def _constants(self) -> dict[str, Any]:
        assert self.flow is not None
        found: dict[str, Any] = {}
        for name, defs in self.module_scope.defs.items():
            full = [d for d in defs if d.how not in ("mutate", "param")]
            if not full or full[-1].how not in ("assign", "aug"):
                continue
            last = full[-1]
            value = self._exported(
                last.value, At(self.module_scope, last.seq), name if last.how == "aug" else None
            )
            if value is not _MISSING:
                found[name] = value
        return found

    def _exported(self, node: cst.BaseExpression | None, at: At, aug: str | None = None) -> Any:
        """A JSON value for a constant or default: a literal, or a known string template."""
        assert self.flow is not None
        if aug is None:
            ok, value = literal_value(node)
            if ok:
                return value
        if node is None:
            return None
        if aug is not None:
            defs = [d for d in self.module_scope.defs.get(aug, []) if d.seq < at.seq + 1]
            template = self.flow.def_template(defs[-1], aug) if defs else None
        else:
            template = self.flow.template(node, at)
        if template is None or "\n" in template or len(template) > 300:
            return _MISSING
        if not paths.is_known(template):
            return _MISSING
        return template


_MISSING: Any = object()
# torch.nn classes that are pieces of a network, never a model of their own.
_NOT_NETWORKS = frozenset(
    {"ReLU", "GELU", "Sigmoid", "Tanh", "Softmax", "LogSoftmax", "Dropout", "Identity", "Flatten"}
)
_NOT_INPUTS = frozenset({"callbacks", "verbose", "eval_metric", "early_stopping_rounds"})


class _Flow(Flow):
    """The data flow of the collector's file, with its I/O and model calls as known tokens."""

    def __init__(self, collector: MLFactsCollector) -> None:
        super().__init__(
            collector.module_scope,
            collector.module_name,
            collector.aliases,
            self._call_tokens,
            collector.column_tokens,
            collector._cli,
        )
        self.collector = collector
        self._model_calls = {id(node): method for node, _, method in collector._model_calls}
        self._io_calls = {id(node) for node, _ in collector._io}

    def _call_tokens(self, node: cst.Call, at: At) -> Tokens | None:
        collector = self.collector
        key = id(node)
        if key in self._io_calls:
            found = collector.artifact_tokens(node, at)
            if found is not None:
                return found
        method = self._model_calls.get(key)
        func = node.func
        if method is not None and isinstance(func, cst.Attribute):
            args = (
                frozenset().union(*(self.deps(a.value, at) for a in node.args))
                if node.args
                else _EMPTY
            )
            if method in apis.PREDICT_METHODS or method in apis.TRANSFORM_METHODS:
                model = collector.model_key(func.value, at, create=True)
                if model is None:
                    return None
                if method in apis.PREDICT_METHODS:
                    param = self._param(func.value, at)
                    return args | {f"mp:{param}" if param else f"m:{model}"}
                return args
            if method in ("fit", "partial_fit"):
                return _EMPTY
        if isinstance(func, cst.Name) and self.lookup(func.value, at):
            model = collector.model_key(func, at, create=False)
            if model is not None:
                args = (
                    frozenset().union(*(self.deps(a.value, at) for a in node.args))
                    if node.args
                    else _EMPTY
                )
                return args | {f"m:{model}"}
        if isinstance(func, cst.Attribute) and func.attr.value in ("forward", "__call__"):
            model = collector.model_key(func.value, at, create=False)
            if model is not None:
                args = (
                    frozenset().union(*(self.deps(a.value, at) for a in node.args))
                    if node.args
                    else _EMPTY
                )
                return args | {f"m:{model}"}
        if isinstance(func, cst.Name) and func.value not in self.aliases:
            name = self.qualname(func)
            if name is None and self.lookup(func.value, at) == []:
                return None
        if isinstance(func, (cst.Name, cst.Attribute)):
            name = self.qualname(func)
            if name is not None and canonical(name) in apis.TRAIN_FUNCTIONS:
                return _EMPTY
        return None

    def _param(self, node: cst.BaseExpression, at: At) -> str | None:
        """The parameter ``node`` is, when it names one of the enclosing function's."""
        if isinstance(node, cst.Name):
            defs = self.lookup(node.value, at)
            if defs and defs[-1].how == "param" and defs[-1].scope.kind == "function":
                return node.value
        return None

    def model_prediction_tokens(self, node: cst.BaseExpression, at: At) -> Tokens:
        param = self._param(node, at)
        if param is not None:
            return frozenset({"mp:" + param})
        model = self.collector.model_key(node, at, create=True)
        return frozenset({f"m:{model}"}) if model is not None else _EMPTY


# --- helpers -----------------------------------------------------------------------------------


def _argument(node: cst.Call, where: tuple[int, str] | None) -> cst.BaseExpression | None:
    if where is None:
        return None
    position, keyword = where
    if keyword:
        for argument in node.args:
            if argument.keyword is not None and argument.keyword.value == keyword:
                return argument.value
    if position < 0:
        return None
    seen = 0
    for argument in node.args:
        if argument.keyword is not None:
            continue
        if argument.star:
            return None
        if seen == position:
            return argument.value
        seen += 1
    return None


def _root_name(node: cst.BaseExpression) -> str | None:
    while isinstance(node, (cst.Attribute, cst.Subscript)):
        node = node.value
    return node.value if isinstance(node, cst.Name) else None


def _local_path(template: str) -> bool:
    """Not a hub id: a path that says it is local (``./x``, ``/x``, ``{here}``, a reference,
    several folders or a file extension)."""
    text = paths.unescape(template)
    if text is None:
        return paths.is_known(template) and not template.startswith(("{}", "{arg:"))
    return text.startswith((".", "/", "~")) or not _HUB_ID.match(text) or text.count("/") > 1


def _table(name: str) -> str:
    return name.strip('"`[]').lower()


def _describe(node: cst.Call) -> str:
    return (dotted(node.func) or "<call>") + "()"


def _target_of(definition: Def) -> str | None:
    node = definition.node
    if isinstance(node, cst.Assign):
        target = node.targets[0].target
        return dotted(target)
    if isinstance(node, cst.With):
        for item in node.items:
            if item.item is definition.value and item.asname is not None:
                return dotted(cst.ensure_type(item.asname.name, cst.Name))
    return None


def _parts(node: cst.BaseExpression) -> list[cst.BaseExpression]:
    if isinstance(node, cst.BinaryOperation):
        return [node.left, node.right]
    if isinstance(node, (cst.List, cst.Tuple)):
        return [e.value for e in node.elements]
    return []
