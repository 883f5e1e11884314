"""Views of the project graph and writers for JSON, GraphML, DOT and Mermaid.

A *view* is a plain :class:`networkx.MultiDiGraph` built from a :class:`ProjectGraph`:

* ``full`` - everything: modules, definitions, artifacts, models, signals and every edge;
* ``pipeline`` - the artifact data-flow DAG: the scripts and notebooks that run each read or
  write (a helper function's I/O belongs to the scripts that call it) and the files and tables
  they hand on (``writes`` script -> artifact, ``reads`` artifact -> script);
* ``models`` - the models, the artifacts they train on, predict to, are saved to and loaded
  from, the feature-list constants they are fit on, and how data flows between those
  artifacts (``flows-to``).

Every node has ``kind`` and ``label``; attribute values are str, int, float or bool only (what
GraphML allows), with the same type for the same attribute everywhere. Nodes and edges are in
sorted order, edges keyed ``e0``, ``e1``..., so the same project gives the same bytes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import networkx as nx

from mldebt.graph import ProjectGraph, module_node

VIEWS = ("full", "pipeline", "models")
FORMATS = ("json", "graphml", "dot", "mermaid")

#: Attributes with a fixed type (GraphML declares one type per attribute name).
_INTS = frozenset({"line", "count"})
_BOOLS = frozenset({"notebook", "matched", "write", "feature_list"})
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")
#: Edges that say how code is organised rather than how data flows.
STRUCTURE_EDGES = frozenset({"imports", "defines", "calls"})
#: GitHub renders Mermaid diagrams up to about this size.
MERMAID_MAX_EDGES = 500
MERMAID_MAX_TEXT = 50_000


def clean_text(text: str) -> str:
    """Text safe in XML and in every format: control characters and lone surrogates become
    U+FFFD."""
    return _CONTROL.sub("\ufffd", text)


# --- views ---------------------------------------------------------------------------------------


def select_view(graph: ProjectGraph, view: str) -> nx.MultiDiGraph:
    builders: dict[str, Callable[[ProjectGraph], _Builder]] = {
        "full": _full,
        "pipeline": _pipeline,
        "models": _models,
    }
    if view not in builders:
        raise ValueError(f"unknown view {view!r}; choose from {', '.join(VIEWS)}")
    return builders[view](graph).build(view)


class _Builder:
    """Collects nodes and edges, then emits them sorted with clean attributes."""

    def __init__(self) -> None:
        self.nodes: dict[str, dict[str, Any]] = {}
        self.edges: dict[tuple[str, str, str], dict[str, Any]] = {}

    def node(self, node: str, data: dict[str, Any]) -> None:
        if node not in self.nodes:
            self.nodes[node] = dict(data)

    def edge(self, source: str, target: str, data: dict[str, Any], merge: bool = False) -> None:
        """Add an edge; with ``merge``, one edge per (source, target, kind), counted."""
        kind = str(data.get("kind", "edge"))
        key = (source, target, kind) if merge else (source, target, f"{kind}#{len(self.edges)}")
        known = self.edges.get(key)
        if known is None:
            self.edges[key] = {**data, "count": int(data.get("count", 1))}
        else:
            known["count"] += int(data.get("count", 1))

    def build(self, view: str) -> nx.MultiDiGraph:
        out = nx.MultiDiGraph(view=view, generator="mldebt graph")
        for node in sorted(self.nodes):
            out.add_node(clean_text(node), **_attributes(self.nodes[node], node))
        ordered = sorted(
            self.edges.items(),
            key=lambda item: (
                item[0][0],
                item[0][1],
                str(item[1].get("kind", "")),
                int(item[1].get("line") or 0),
                str(item[1].get("path", "")),
            ),
        )
        for index, ((source, target, _), data) in enumerate(ordered):
            out.add_edge(
                clean_text(source), clean_text(target), key=f"e{index}", **_attributes(data)
            )
        return out


def _attributes(data: dict[str, Any], node: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        if value is None:
            continue
        if key in _INTS:
            out[key] = int(value) if isinstance(value, (int, float)) else 0
        elif key in _BOOLS:
            out[key] = bool(value)
        elif isinstance(value, float):
            out[key] = value
        elif isinstance(value, (list, tuple, set, frozenset)):
            out[key] = clean_text(",".join(sorted(str(v) for v in value)))
        else:
            out[key] = clean_text(str(value))
    if node is not None:
        out.setdefault("kind", node.partition(":")[0] or "node")
        out.setdefault("label", clean_text(node.partition(":")[2] or node))
    return out


def _full(graph: ProjectGraph) -> _Builder:
    builder = _Builder()
    for node, data in graph.nx.nodes(data=True):
        builder.node(node, data)
    for source, target, data in graph.nx.edges(data=True):
        builder.edge(source, target, data)
    return builder


def _pipeline(graph: ProjectGraph) -> _Builder:
    builder = _Builder()
    for info in graph.artifacts.values():
        if not info.known:
            continue
        for use in info.uses:
            for step in use.steps:
                facts = graph.by_path[step]
                script = module_node(facts.module)
                builder.node(
                    script,
                    {
                        "kind": "module",
                        "label": facts.path,
                        "path": facts.path,
                        "notebook": facts.notebook,
                    },
                )
                builder.node(info.id, graph.nx.nodes[info.id])
                data = {
                    "kind": "writes" if use.mode == "w" else "reads",
                    "path": use.path,
                    "line": use.line,
                    "api": use.api,
                }
                if use.mode == "w":
                    builder.edge(script, info.id, data, merge=True)
                else:
                    builder.edge(info.id, script, data, merge=True)
    return builder


def _models(graph: ProjectGraph) -> _Builder:
    builder = _Builder()
    kept_kinds = {"trains-on", "predicts-to", "saves", "loads"}
    for model in graph.models:
        builder.node(model, graph.nx.nodes[model])
        for source, _, data in graph.nx.in_edges(model, data=True):
            if data.get("kind") not in kept_kinds:
                continue
            source_data = graph.nx.nodes[source]
            if source_data.get("kind") == "signal" and not source_data.get("feature_list"):
                continue  # single columns: too many to draw
            builder.node(source, source_data)
            builder.edge(source, model, data, merge=True)
        for _, target, data in graph.nx.out_edges(model, data=True):
            if data.get("kind") in kept_kinds:
                builder.node(target, graph.nx.nodes[target])
                builder.edge(model, target, data, merge=True)
    artifacts = [n for n in builder.nodes if n.startswith("artifact:")]
    for source in artifacts:
        for target, derivations in graph.flows.get(source, {}).items():
            if target in builder.nodes:
                first = derivations[0].write
                builder.edge(
                    source,
                    target,
                    {"kind": "flows-to", "path": first.path, "line": first.line},
                    merge=True,
                )
    return builder


# --- writers -------------------------------------------------------------------------------------


def export(graph: ProjectGraph, fmt: str, view: str = "full") -> str:
    """The ``view`` of ``graph`` in format ``fmt`` (one of :data:`FORMATS`)."""
    writers: dict[str, Callable[[nx.MultiDiGraph], str]] = {
        "json": to_json,
        "graphml": to_graphml,
        "dot": to_dot,
        "mermaid": to_mermaid,
    }
    if fmt not in writers:
        raise ValueError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
    return writers[fmt](select_view(graph, view))


def to_json(view: nx.MultiDiGraph) -> str:
    """networkx node-link data (``nx.node_link_graph(data, edges="edges")`` reads it back)."""
    data = nx.node_link_data(view, edges="edges")
    return json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def to_graphml(view: nx.MultiDiGraph) -> str:
    """GraphML (networkx's writer; nodes carry ``label`` for Gephi and yEd)."""
    return "\n".join(nx.generate_graphml(view, prettyprint=True)) + "\n"


_DOT_STYLE = {
    "module": ("box", "#dbe8f6"),
    "artifact": ("cylinder", "#fdf1d6"),
    "model": ("hexagon", "#e3f3df"),
    "signal": ("parallelogram", "#f3e3f1"),
}
_DOT_EDGE_COLOUR = {
    "writes": "#b8860b",
    "reads": "#b8860b",
    "trains-on": "#2e7d32",
    "predicts-to": "#c62828",
    "saves": "#2e7d32",
    "loads": "#2e7d32",
    "flows-to": "#6a1b9a",
    "uses-signal": "#8e24aa",
}


def dot_string(text: str) -> str:
    """A DOT double-quoted string: quotes and backslashes escaped, line breaks as ``\\n``
    (so that no escape sequence of the text, such as ``\\l``, is interpreted)."""
    text = clean_text(text)
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    escaped = escaped.replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n")
    return f'"{escaped}"'


def _ids(view: nx.MultiDiGraph) -> dict[str, str]:
    """Short identifiers (``n0``, ``n1``...) for the view's nodes, in sorted order."""
    return {node: f"n{index}" for index, node in enumerate(view.nodes)}


def to_dot(view: nx.MultiDiGraph) -> str:
    """Graphviz DOT; node identifiers are ``n0``...; the graph's own ids are the tooltips."""
    ids = _ids(view)
    lines = [
        "digraph mldebt {",
        "  graph [rankdir=LR, fontname=Helvetica, label="
        + dot_string(f"mldebt graph: {view.graph.get('view', '')} view")
        + "];",
        "  node [fontname=Helvetica, fontsize=10, style=filled, fillcolor=white];",
        "  edge [fontname=Helvetica, fontsize=8];",
    ]
    for node, data in view.nodes(data=True):
        shape, fill = _DOT_STYLE.get(str(data.get("kind")), ("ellipse", "#eeeeee"))
        attrs = [
            f"label={dot_string(str(data.get('label', node)))}",
            f"shape={shape}",
            f'fillcolor="{fill}"',
            f"tooltip={dot_string(node)}",
        ]
        lines.append(f"  {ids[node]} [{', '.join(attrs)}];")
    for source, target, data in view.edges(data=True):
        kind = str(data.get("kind", ""))
        attrs = [f"tooltip={dot_string(kind)}"]
        if kind in STRUCTURE_EDGES:
            attrs.append('style=dashed, color="#9e9e9e"')
        else:
            attrs.append(f"label={dot_string(kind)}")
            attrs.append(f'color="{_DOT_EDGE_COLOUR.get(kind, "#424242")}"')
        lines.append(f"  {ids[source]} -> {ids[target]} [{', '.join(attrs)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


_MERMAID_SAFE = re.compile(r"[A-Za-z0-9 _.,:/@+=*?!-]")
_MERMAID_SHAPES = {
    "module": ('["', '"]'),
    "artifact": ('[("', '")]'),
    "model": ('{{"', '"}}'),
    "signal": ('(["', '"])'),
}
_MERMAID_CLASSES = {
    "module": "fill:#dbe8f6,stroke:#4a74a8",
    "artifact": "fill:#fdf1d6,stroke:#b8860b",
    "model": "fill:#e3f3df,stroke:#2e7d32",
    "signal": "fill:#f3e3f1,stroke:#8e24aa",
    "other": "fill:#eeeeee,stroke:#9e9e9e",
}


def mermaid_text(text: str) -> str:
    """Label text for a quoted Mermaid label: everything but plain letters, digits and a few
    punctuation marks becomes an entity code (``#34;``), so quotes, brackets, pipes, ``<``,
    ``#`` and line breaks can neither end the label nor reach the page as markup."""
    return "".join(
        char if _MERMAID_SAFE.fullmatch(char) else f"#{ord(char)};" for char in clean_text(text)
    )


def to_mermaid(view: nx.MultiDiGraph) -> str:
    """A Mermaid ``flowchart LR`` (GitHub renders it in Markdown inside a mermaid block)."""
    ids = _ids(view)
    lines = ["flowchart LR"]
    classes: dict[str, list[str]] = {}
    for node, data in view.nodes(data=True):
        kind = str(data.get("kind", ""))
        opening, closing = _MERMAID_SHAPES.get(kind, ('("', '")'))
        label = mermaid_text(str(data.get("label", node)))
        lines.append(f"  {ids[node]}{opening}{label}{closing}")
        classes.setdefault(kind if kind in _MERMAID_CLASSES else "other", []).append(ids[node])
    for source, target, data in view.edges(data=True):
        kind = str(data.get("kind", ""))
        if kind in STRUCTURE_EDGES:
            lines.append(f"  {ids[source]} -.-> {ids[target]}")
        else:
            lines.append(f'  {ids[source]} -->|"{mermaid_text(kind)}"| {ids[target]}')
    for name, style in _MERMAID_CLASSES.items():
        if name in classes:
            lines.append(f"  classDef {name} {style}")
    for name, members in sorted(classes.items()):
        for start in range(0, len(members), 200):
            lines.append(f"  class {','.join(members[start : start + 200])} {name}")
    return "\n".join(lines) + "\n"


def mermaid_too_big(text: str) -> bool:
    """True when GitHub's Mermaid renderer would refuse the diagram (size or edge count)."""
    edges = sum(1 for line in text.splitlines() if "--" in line)
    return len(text) > MERMAID_MAX_TEXT or edges > MERMAID_MAX_EDGES


def kinds(view: nx.MultiDiGraph) -> dict[str, int]:
    """Node count per kind (for a one-line summary)."""
    counted: dict[str, int] = {}
    for _, kind in view.nodes(data="kind"):
        counted[str(kind)] = counted.get(str(kind), 0) + 1
    return dict(sorted(counted.items()))
