"""The project graph as a picture: which nodes to show, and where, with the debt on them.

Takes any node and edge kinds from ``ProjectGraph.nx`` (modules and imports today;
artifacts, signals, config keys and models as the graph grows), leaving out only the
symbols each module defines. Debt marks a node whose ``path`` attribute is an analysed file
(or that carries ``debt_minutes`` itself): its size grows with the debt, its colour is the
file's rating.

Beyond ``max_nodes`` the picture summarises: files are grouped by folder, as deep as the limit
allows; if even top-level folders are too many, the nodes with the most debt are kept and
the rest counted in a note.

The layout is a small layered (Sugiyama-style) one, computed here and deterministic: strongly
connected parts are condensed, each part goes one layer below everything that points at it
(importers above what they import), layers are ordered by the barycentre of their
neighbours in a few sweeps, long layers wrap, and unconnected nodes form a grid at the bottom.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from mldebt.debt import FileDebt, debt_ratio, rating

#: Node kinds left out of the picture: what modules define, not how the project is wired.
HIDDEN_KINDS = frozenset({"function", "class", "method", "variable", "symbol"})
#: Kinds left out to keep the picture about modules, data and models; the page counts them.
LEFT_OUT_KINDS = frozenset({"signal"})
#: Edges that point at what is depended on; the others point the way data flows.
STRUCTURE_EDGE_KINDS = frozenset({"imports", "defines", "calls"})
#: The order of kinds in the legend and which kinds are trimmed last.
KIND_ORDER = {"module": 0, "folder": 1, "file": 2, "artifact": 3, "model": 4}
MAX_NODES = 150

KIND_NAMES = {
    "module": "modules (circles)",
    "folder": "folders of modules (circles)",
    "file": "files missing from the graph, as they did not parse (squares)",
    "artifact": "artifacts the code reads or writes (small squares)",
    "model": "models (diamonds)",
}

COLUMN = 128.0  # horizontal distance between node centres
ROW = 84.0  # vertical distance between rows
MARGIN = 48.0
TOP = 76.0  # room above the first row for arcs between nodes of one row
ROW_MAX = 10  # nodes per row before a layer wraps
SWEEPS = 6
MIN_RADIUS = 6.0
MAX_RADIUS = 20.0
LABEL_CHARS = 20
LABEL_DROP = 18.0  # a node's label sits this far below its rim


@dataclass
class Node:
    id: str
    label: str
    title: str
    kind: str
    path: str | None  # what the findings filter is set to when the node is clicked
    debt_minutes: float = 0.0
    findings: int = 0
    rating: str | None = None
    members: int = 1
    x: float = 0.0
    y: float = 0.0
    r: float = MIN_RADIUS

    @property
    def css(self) -> str:
        if not self.findings:
            return "r-none"
        return f"r-{self.rating}" if self.rating else "r-x"


@dataclass
class Edge:
    source: str
    target: str
    kinds: tuple[str, ...]
    count: int

    @property
    def flow(self) -> bool:
        """A data edge (reads, writes, trains-on, ...), not a dependency."""
        return any(k not in STRUCTURE_EDGE_KINDS for k in self.kinds)

    d: str = ""  # the SVG path
    s: int = 0  # positions of the source and target in GraphView.nodes
    t: int = 0


@dataclass
class GraphView:
    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    width: float = 0.0
    height: float = 0.0
    total: int = 0  # nodes in the graph before summarising
    left_out: dict[str, int] = field(default_factory=dict)  # kinds not drawn, and how many
    note: str = ""  # how the picture was summarised, if it was
    isolated_from: float | None = None  # y above the grid of unconnected nodes

    @property
    def kinds(self) -> list[str]:
        return sorted({n.kind for n in self.nodes}, key=lambda k: (KIND_ORDER.get(k, 9), k))

    @property
    def structure_kinds(self) -> list[str]:
        return sorted({k for e in self.edges for k in e.kinds if k in STRUCTURE_EDGE_KINDS})

    @property
    def flow_kinds(self) -> list[str]:
        return sorted({k for e in self.edges for k in e.kinds if k not in STRUCTURE_EDGE_KINDS})

    @property
    def dense(self) -> bool:
        """Many links: the picture draws them fainter."""
        return len(self.edges) > 2 * max(len(self.nodes), 30)

    @property
    def kind_names(self) -> list[str]:
        """The kinds of node shown, as the page's legend names them."""
        return [KIND_NAMES.get(kind, f"{kind}s") for kind in self.kinds]

    @property
    def edge_kinds(self) -> list[str]:
        return sorted({k for e in self.edges for k in e.kinds})


def _label(text: str) -> str:
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1] + "…"


def _describe(node_id: str, data: Mapping[str, Any]) -> tuple[str, str, str]:
    """(kind, short label, full title) of a graph node."""
    kind = str(data.get("kind") or node_id.split(":", 1)[0] or "node")
    path = data.get("path")
    name = node_id.split(":", 1)[1] if ":" in node_id else node_id
    if kind == "module" and isinstance(path, str):
        return kind, path.rsplit("/", 1)[-1], f"{path} (module {name})"
    label = str(data.get("label") or name)
    short = label
    if kind == "artifact":
        short = label.rstrip("/").rsplit("/", 1)[-1] or label
    elif " (" in label:  # "LogisticRegression (train.py:46)", "model (models/m.joblib)"
        head, _, where = label.partition(" (")
        short = head if head != kind else where.rstrip(")").rsplit("/", 1)[-1]
    return kind, short, f"{kind} {label}"


def build(
    graph: nx.MultiDiGraph | None,
    files: Mapping[str, FileDebt],
    max_nodes: int = MAX_NODES,
) -> GraphView:
    """What to draw of ``graph``, laid out, with the debt of ``files`` on its nodes."""
    view = GraphView()
    if graph is None:
        return view
    shown: dict[str, Node] = {}
    for node_id, data in graph.nodes(data=True):
        if data.get("kind") in HIDDEN_KINDS:
            continue
        kind, label, title = _describe(node_id, data)
        if kind in LEFT_OUT_KINDS:
            view.left_out[kind] = view.left_out.get(kind, 0) + 1
            continue
        path = data.get("path")
        # A module's debt is its file's; other nodes (a model made in a file) are not the file.
        mine = path if kind == "module" and isinstance(path, str) and path in files else None
        node = Node(node_id, _label(label), title, kind, mine)
        if node.path is not None:
            debt = files[node.path]
            node.debt_minutes, node.findings, node.rating = (
                debt.debt_minutes,
                debt.findings,
                debt.rating,
            )
        elif isinstance(data.get("debt_minutes"), (int, float)):
            node.debt_minutes = float(data["debt_minutes"])
            node.findings = int(data.get("findings", 1))
        shown[node_id] = node
    # Files with debt the graph does not know (they did not parse): shown, unlinked.
    drawn = {n.path for n in shown.values()}
    for path, debt in files.items():
        if debt.findings and path not in drawn:
            shown[f"file:{path}"] = Node(
                f"file:{path}",
                _label(path.rsplit("/", 1)[-1]),
                f"{path} (not in the project graph)",
                "file",
                path,
                debt.debt_minutes,
                debt.findings,
                debt.rating,
            )
    view.total = len(shown)
    group = {node_id: node_id for node_id in shown}
    if len(shown) > max_nodes:
        shown, group, view.note = _summarise(shown, files, max_nodes)

    pairs: dict[tuple[str, str], set[str]] = {}
    counts: dict[tuple[str, str], int] = {}
    for source, target, kind in graph.edges(data="kind"):
        a, b = group.get(source), group.get(target)
        if a is None or b is None or a == b or a not in shown or b not in shown:
            continue
        pairs.setdefault((a, b), set()).add(str(kind or "edge"))
        counts[(a, b)] = counts.get((a, b), 0) + 1
    view.nodes = list(shown.values())
    view.edges = [Edge(a, b, tuple(sorted(k)), counts[(a, b)]) for (a, b), k in pairs.items()]
    _size(view.nodes)
    _layout(view)
    return view


def _summarise(
    nodes: dict[str, Node], files: Mapping[str, FileDebt], max_nodes: int
) -> tuple[dict[str, Node], dict[str, str], str]:
    """Group file nodes by folder: top-level folders first, then the largest groups opened
    into their subfolders while the picture stays within ``max_nodes``; trim if even the
    top-level grouping is too many."""
    filed = {n.id: n for n in nodes.values() if n.path is not None and n.path in files}
    others = {n.id: n for n in nodes.values() if n.id not in filed}

    def split(depth: int, members: list[Node]) -> dict[str, list[Node]]:
        """``members`` grouped by their folder's first ``depth`` parts (files above that
        depth stand alone)."""
        groups: dict[str, list[Node]] = {}
        for node in members:
            parts = files[node.path].folder.split("/") if node.path else [""]
            key = f"folder:{'/'.join(parts[:depth])}" if len(parts) >= depth and parts[0] else ""
            groups.setdefault(key or node.id, []).append(node)
        return groups

    groups = split(1, list(filed.values()))
    budget = max_nodes - len(others)
    opened: set[str] = set()
    while True:
        candidates = sorted(
            (k for k in groups if k.startswith("folder:") and k not in opened),
            key=lambda k: (-len(groups[k]), k),
        )
        for key in candidates:
            depth = key.count("/") + 2
            parts = split(depth, groups[key])
            opened.add(key)
            if len(groups) - 1 + len(parts) <= budget:
                del groups[key]
                groups.update(parts)
                break
        else:
            break
    shown: dict[str, Node] = dict(others)
    mapping: dict[str, str] = {n: n for n in others}
    for key, members in sorted(groups.items()):
        if len(members) == 1:
            node = members[0]
        else:
            folder = key.removeprefix("folder:")
            minutes = round(sum(m.debt_minutes for m in members), 2)
            loc = sum(files[m.path].lines_of_code for m in members if m.path)
            node = Node(
                id=key,
                label=_label(f"{folder.rsplit('/', 1)[-1]}/ ({len(members)})"),
                title=f"{folder}/: {len(members)} files",
                kind="folder",
                path=folder + "/",
                debt_minutes=minutes,
                findings=sum(m.findings for m in members),
                rating=rating(debt_ratio(minutes, loc)),
                members=len(members),
            )
        shown[node.id] = node
        for member in members:
            mapping[member.id] = node.id
    note = f"{len(nodes)} nodes, grouped by folder into {len(shown)}"
    if len(shown) > max_nodes:
        keep = sorted(
            shown.values(),
            key=lambda n: (KIND_ORDER.get(n.kind, 9) > 2, -n.debt_minutes, -n.members, n.id),
        )
        kept = {n.id: n for n in keep[:max_nodes]}
        note += f"; {max_nodes} are shown, modules and folders first, most debt first"
        shown = kept
    return shown, mapping, note + "."


def _size(nodes: list[Node]) -> None:
    top = max((n.debt_minutes for n in nodes), default=0.0)
    for node in nodes:
        if node.debt_minutes > 0 and top > 0:
            share = math.sqrt(node.debt_minutes / top)
            node.r = round(MIN_RADIUS + 2 + (MAX_RADIUS - MIN_RADIUS - 2) * share, 1)
        else:
            node.r = MIN_RADIUS


def _layout(view: GraphView) -> None:
    nodes = {n.id: n for n in view.nodes}
    if not nodes:
        return
    simple = nx.DiGraph()
    simple.add_nodes_from(sorted(nodes))
    simple.add_edges_from((e.source, e.target) for e in view.edges)
    connected = sorted(n for n in simple if simple.degree(n) > 0)
    isolated = sorted(
        (n for n in simple if simple.degree(n) == 0),
        key=lambda n: (-nodes[n].debt_minutes, nodes[n].title),
    )

    layers: list[list[str]] = []
    if connected:
        sub = simple.subgraph(connected)
        order = {n: (nodes[n].title, n) for n in connected}
        dag = nx.DiGraph(sub)
        dag.remove_edges_from(_back_edges(sub, order))
        depth: dict[str, int] = {}
        for node_id in nx.lexicographical_topological_sort(dag, key=order.__getitem__):
            preds = [depth[p] for p in dag.predecessors(node_id)]
            depth[node_id] = max(preds) + 1 if preds else 0
        layers = [[] for _ in range(max(depth.values()) + 1)]
        for node_id in sorted(connected, key=order.__getitem__):
            layers[depth[node_id]].append(node_id)
        _order(layers, sub)

    rows = [layer[i : i + ROW_MAX] for layer in layers for i in range(0, len(layer), ROW_MAX)]
    row_of = {node_id: k for k, row in enumerate(rows) for node_id in row}
    same_row = any(row_of.get(e.source) == row_of.get(e.target) for e in view.edges)
    widest = max([len(r) for r in rows] + [min(len(isolated), ROW_MAX), 1])
    view.width = round(widest * COLUMN + 2 * MARGIN, 1)
    y = TOP if same_row else MARGIN
    for row in rows:
        _place(row, nodes, y, view.width)
        y += ROW
    if isolated:
        if rows:
            view.isolated_from = round(y - ROW / 2 + 8, 1)
            y += 20
        for i in range(0, len(isolated), ROW_MAX):
            _place(isolated[i : i + ROW_MAX], nodes, y, view.width)
            y += ROW
    view.height = round(y - ROW + MARGIN + 16, 1)
    position = {n.id: k for k, n in enumerate(view.nodes)}
    for edge in view.edges:
        edge.d = _curve(nodes[edge.source], nodes[edge.target])
        edge.s, edge.t = position[edge.source], position[edge.target]


def _back_edges(graph: nx.DiGraph, order: Mapping[str, Any]) -> set[tuple[str, str]]:
    """Edges that close a cycle, chosen by Eades, Lin and Smyth's greedy heuristic: sinks go
    last, sources first, otherwise the node with the most outgoing over incoming edges goes
    next; the edges that then point backwards are few. Leaving them out of the layering makes
    the rest flow one way (they are still drawn, swinging back up)."""
    left = set(graph)
    head: list[str] = []
    tail: list[str] = []

    def degree(node: str, incoming: bool) -> int:
        near = graph.predecessors(node) if incoming else graph.successors(node)
        return sum(1 for other in near if other in left and other != node)

    while left:
        changed = True
        while changed:
            changed = False
            for node in sorted(left, key=order.__getitem__):
                if degree(node, incoming=False) == 0:
                    tail.append(node)
                    left.discard(node)
                    changed = True
                elif degree(node, incoming=True) == 0:
                    head.append(node)
                    left.discard(node)
                    changed = True
        if left:
            best = max(
                sorted(left, key=order.__getitem__),
                key=lambda n: degree(n, incoming=False) - degree(n, incoming=True),
            )
            head.append(best)
            left.discard(best)
    position = {node: k for k, node in enumerate(head + tail[::-1])}
    return {(a, b) for a, b in graph.edges if position[a] >= position[b]}


def _order(layers: list[list[str]], graph: nx.DiGraph) -> None:
    """Barycentre ordering: each layer sorted by its neighbours' mean position."""
    for sweep in range(SWEEPS):
        downward = sweep % 2 == 0
        indices = range(1, len(layers)) if downward else range(len(layers) - 2, -1, -1)
        for i in indices:
            fixed = layers[i - 1] if downward else layers[i + 1]
            where = {n: k for k, n in enumerate(fixed)}
            current = {n: k for k, n in enumerate(layers[i])}

            def centre(
                n: str,
                where: dict[str, int] = where,
                current: dict[str, int] = current,
                downward: bool = downward,
            ) -> float:
                near = graph.predecessors(n) if downward else graph.successors(n)
                spots = [where[m] for m in near if m in where]
                return sum(spots) / len(spots) if spots else float(current[n])

            layers[i].sort(key=lambda n: (centre(n), current[n]))


def _place(row: list[str], nodes: Mapping[str, Node], y: float, width: float) -> None:
    start = (width - (len(row) - 1) * COLUMN) / 2
    for k, node_id in enumerate(row):
        nodes[node_id].x = round(start + k * COLUMN, 1)
        nodes[node_id].y = round(y, 1)


def _curve(a: Node, b: Node) -> str:
    """A cubic curve from ``a`` to ``b`` that leaves and enters nodes at their rims."""
    gap = 4.0  # room for the arrow head
    if abs(a.y - b.y) < 1:  # same row: arc above
        x1, y1, x2, y2 = a.x, a.y - a.r, b.x, b.y - b.r - gap
        lift = min(60.0, 18 + abs(x2 - x1) / 5)
        return (
            f"M{x1:.1f},{y1:.1f} C{x1:.1f},{y1 - lift:.1f} {x2:.1f},{y2 - lift:.1f} "
            f"{x2:.1f},{y2:.1f}"
        )
    if b.y > a.y:  # downwards: leave below the label
        x1, y1, x2, y2 = a.x, a.y + a.r + LABEL_DROP, b.x, b.y - b.r - gap
        middle = (y1 + y2) / 2
        return f"M{x1:.1f},{y1:.1f} C{x1:.1f},{middle:.1f} {x2:.1f},{middle:.1f} {x2:.1f},{y2:.1f}"
    # Upwards (an edge that closes a cycle): swing out to the side, so it reads as going back.
    x1, y1, x2, y2 = a.x + a.r, a.y, b.x + b.r + gap, b.y
    swing = max(x1, x2) + 40 + abs(y1 - y2) / 6
    return f"M{x1:.1f},{y1:.1f} C{swing:.1f},{y1:.1f} {swing:.1f},{y2:.1f} {x2:.1f},{y2:.1f}"
