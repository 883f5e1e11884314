"""Collects a module's facts during the shared traversal (a visitor like any file rule)."""

from __future__ import annotations

from collections.abc import Sequence

import libcst as cst

from mldebt.context import FileContext
from mldebt.facts.model import Call, Definition, Import, ModuleFacts, module_name
from mldebt.literals import string_value
from mldebt.resolve.names import dotted


def _module_of(node: cst.BaseExpression | None) -> str:
    return dotted(node) or "" if node is not None else ""


class FactsCollector(cst.BatchableCSTVisitor):
    """Imports, definitions, references and calls; lines are attached after the traversal."""

    def __init__(self, context: FileContext) -> None:
        super().__init__()
        self.context = context
        self.package = module_name(context.path).rpartition(".")[0]
        if context.path.endswith("__init__.py"):
            self.package = module_name(context.path)
        self.aliases: dict[str, str] = {}
        self._imports: list[tuple[cst.CSTNode, str, str | None, str | None, int]] = []
        self._defs: list[tuple[cst.CSTNode, str, str, str, tuple[str, ...]]] = []
        self._calls: list[tuple[cst.CSTNode, str, str, str]] = []
        self.references: set[str] = set()
        self.dunder_all: list[str] | None = None
        self.main_guard = False
        self._classes: set[str] = set()

    # imports -------------------------------------------------------------------------------
    def visit_Import(self, node: cst.Import) -> None:
        for alias in node.names:
            module = _module_of(alias.name)
            bound = alias.asname.name if alias.asname else None
            if isinstance(bound, cst.Name):
                self.aliases[bound.value] = module
                self._imports.append((node, module, None, bound.value, 0))
            else:
                head = module.split(".")[0]
                self.aliases.setdefault(head, head)
                self._imports.append((node, module, None, None, 0))

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        level = len(node.relative)
        module = _module_of(node.module)
        if level:
            base = self.package.split(".") if self.package else []
            base = base[: len(base) - (level - 1)] if level > 1 else base
            module = ".".join(p for p in [*base, module] if p)
        if isinstance(node.names, cst.ImportStar):
            self._imports.append((node, module, "*", None, level))
            return
        for alias in node.names:
            name = _module_of(alias.name)
            bound = alias.asname.name if alias.asname else None
            local = bound.value if isinstance(bound, cst.Name) else name
            self.aliases[local] = f"{module}.{name}" if module else name
            self._imports.append((node, module, name, local if bound else None, level))

    # definitions ---------------------------------------------------------------------------
    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        outer = self.context.scope.qualname
        kind = "method" if self._in_class() else "function"
        self._define(node, node.name.value, outer, kind, node.decorators)

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        outer = self.context.scope.qualname
        self._define(node, node.name.value, outer, "class", node.decorators)
        self._classes.add(f"{outer}.{node.name.value}" if outer else node.name.value)

    def _in_class(self) -> bool:
        return self.context.scope.qualname in self._classes

    def _define(
        self,
        node: cst.CSTNode,
        name: str,
        outer: str,
        kind: str,
        decorators: Sequence[cst.Decorator] = (),
    ) -> None:
        qualname = f"{outer}.{name}" if outer else name
        names = []
        for decorator in decorators:
            target = decorator.decorator
            if isinstance(target, cst.Call):
                target = target.func
            names.append(dotted(target) or "")
        self._defs.append((node, name, qualname, kind, tuple(names)))

    def visit_Assign(self, node: cst.Assign) -> None:
        if self.context.scope.names:
            return
        for target in node.targets:
            if isinstance(target.target, cst.Name):
                name = target.target.value
                self._define(node, name, "", "variable")
                if name == "__all__":
                    self.dunder_all = _strings(node.value)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if not self.context.scope.names and isinstance(node.target, cst.Name):
            self._define(node, node.target.value, "", "variable")

    # references and calls ------------------------------------------------------------------
    def visit_Name(self, node: cst.Name) -> None:
        self.references.add(node.value)

    def visit_Attribute(self, node: cst.Attribute) -> None:
        self.references.add(node.attr.value)

    def visit_SimpleString(self, node: cst.SimpleString) -> None:
        # Names used through getattr, registries and config-driven factories.
        value = node.value.strip("\"'bBrRuU")
        if value.isidentifier():
            self.references.add(value)

    def visit_Call(self, node: cst.Call) -> None:
        callee = dotted(node.func)
        if callee is None:
            return
        self._calls.append((node, callee, self.resolve_name(callee), self.context.scope.qualname))

    def visit_If(self, node: cst.If) -> None:
        test = node.test
        if (
            not self.context.scope.names
            and isinstance(test, cst.Comparison)
            and isinstance(test.left, cst.Name)
            and test.left.value == "__name__"
        ):
            self.main_guard = True

    def resolve_name(self, dotted: str) -> str:
        """Resolve a dotted name through the module's imports (``pd.read_csv`` -> pandas...)."""
        head, _, rest = dotted.partition(".")
        target = self.aliases.get(head)
        if target is None:
            return dotted
        return f"{target}.{rest}" if rest else target

    # results ---------------------------------------------------------------------------------
    def nodes(self) -> list[cst.CSTNode]:
        return (
            [n for n, *_ in self._imports]
            + [n for n, *_ in self._defs]
            + [n for n, *_ in self._calls]
        )

    def facts(self, lines: dict[cst.CSTNode, int]) -> ModuleFacts:
        ctx = self.context
        return ModuleFacts(
            path=ctx.path,
            module=module_name(ctx.path),
            notebook=ctx.notebook,
            lines_of_code=_lines_of_code(ctx),
            imports=[
                Import(module, name, alias, lines.get(node, 1), level)
                for node, module, name, alias, level in self._imports
            ],
            definitions=[
                Definition(name, qual, kind, lines.get(node, 1), decorators)
                for node, name, qual, kind, decorators in self._defs
            ],
            references=sorted(self.references),
            calls=[
                Call(callee, resolved, lines.get(node, 1), scope)
                for node, callee, resolved, scope in self._calls
            ],
            comments=[(c.line, c.text) for c in ctx.comments],
            dunder_all=self.dunder_all,
            main_guard=self.main_guard,
        )


def _lines_of_code(ctx: FileContext) -> int:
    """Lines holding code, as SonarQube counts them: neither blank nor only a comment."""
    blank = sum(1 for line in ctx.lines if not line.strip())
    comment_only = len({c.line for c in ctx.comments if c.own_line})
    return max(0, len(ctx.lines) - blank - comment_only)


def _strings(node: cst.BaseExpression) -> list[str] | None:
    if not isinstance(node, (cst.List, cst.Tuple)):
        return None
    values = []
    for element in node.elements:
        if isinstance(element.value, cst.SimpleString):
            evaluated = string_value(element.value)  # None: an escape Python refuses
            if evaluated is not None:
                values.append(evaluated)
    return values
