"""The project graph: built from cached module facts only, never by re-parsing.

Nodes are ``module:<dotted>`` (with the module's facts) and ``symbol:<module>.<qualname>``;
edges are ``imports`` (module -> module) and ``defines`` (module -> symbol). Project rules
query it through the helpers below or through ``self.graph.nx`` directly.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import networkx as nx

from mldebt.facts.model import ModuleFacts


def module_node(name: str) -> str:
    return f"module:{name}"


def symbol_node(module: str, qualname: str) -> str:
    return f"symbol:{module}.{qualname}"


class ProjectGraph:
    def __init__(self, facts: Iterable[ModuleFacts]) -> None:
        self.nx: nx.MultiDiGraph = nx.MultiDiGraph()
        self.by_path: dict[str, ModuleFacts] = {}
        self.by_module: dict[str, ModuleFacts] = {}
        for module in sorted(facts, key=lambda f: f.path):
            self.by_path[module.path] = module
            self.by_module.setdefault(module.module, module)
            self.nx.add_node(module_node(module.module), kind="module", path=module.path)
            for definition in module.definitions:
                node = symbol_node(module.module, definition.qualname)
                self.nx.add_node(node, kind=definition.kind, path=module.path, line=definition.line)
                self.nx.add_edge(module_node(module.module), node, kind="defines")
        for module in self.by_path.values():
            for imported in module.imports:
                target = self.resolve_import(imported.module, imported.name)
                if target is not None and target.path != module.path:
                    self.nx.add_edge(
                        module_node(module.module),
                        module_node(target.module),
                        kind="imports",
                        line=imported.line,
                    )

    def resolve_import(self, module: str, name: str | None) -> ModuleFacts | None:
        """The project module an import refers to (``from a import b`` may name module a.b)."""
        if name and name != "*" and f"{module}.{name}" in self.by_module:
            return self.by_module[f"{module}.{name}"]
        return self.by_module.get(module)

    def modules(self) -> Iterator[ModuleFacts]:
        yield from self.by_path.values()

    def importers(self, module: str) -> list[ModuleFacts]:
        node = module_node(module)
        if node not in self.nx:
            return []
        sources = {u for u, _, kind in self.nx.in_edges(node, data="kind") if kind == "imports"}
        return [self.by_module[s.removeprefix("module:")] for s in sorted(sources)]

    def imported_modules(self, module: str) -> list[ModuleFacts]:
        node = module_node(module)
        if node not in self.nx:
            return []
        targets = {v for _, v, kind in self.nx.out_edges(node, data="kind") if kind == "imports"}
        return [self.by_module[t.removeprefix("module:")] for t in sorted(targets)]
