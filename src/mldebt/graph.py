"""The project graph: built from cached module facts only, never by re-parsing.

Nodes (``kind`` attribute):

* ``module:<dotted>`` - a module or notebook (``path``, ``notebook``);
* ``symbol:<module>.<qualname>`` - a definition; its kind is ``function``, ``method``,
  ``class`` or ``variable``;
* ``artifact:<path>`` - a file or table the code reads or writes (``artifact:table:NAME``),
  one node however the path is spelled: templates are resolved through the modules'
  constants, normalised against the repository root and the script's folder, and wildcard
  templates (``data/{}/x.csv``) are matched against the concrete paths;
* ``model:<identity>`` - an estimator or network that is fit, predicts or is saved/loaded.
  Its identity across scripts is the artifact it is saved to or loaded from
  (``model:models/churn.joblib``), else where it is made (``model:<path>:<var>@<line>``);
* ``signal:column:<name>`` - a column used; ``signal:constant:<module>.<NAME>`` - a constant
  (a feature list when its value is a list of strings) consumed;
* ``config-file:<path>`` - a YAML / TOML / JSON settings file or a DVC pipeline, and
  ``config-key:<key>`` - a setting: a settings file's dotted key (``train.lr``), an option
  (``argparse:lr``, ``click:lr``), an environment variable (``env:HOME``) or a configuration
  module's entry (``config.TrainConfig.lr``); see :meth:`ProjectGraph.add_config`.

Edges (``kind`` attribute). Structure edges point at what is depended on: ``imports``
(module -> module), ``defines`` (module -> symbol or model), ``calls`` (caller symbol or module
-> callee symbol). ML edges point the way data flows: ``writes`` (module -> artifact),
``reads`` (artifact -> module), ``trains-on`` (artifact or signal -> model), ``predicts-to``
(model -> artifact), ``saves`` (model -> artifact), ``loads`` (artifact -> model),
``uses-signal`` (signal -> module), ``reads-config`` (config key -> module or DVC pipeline);
``defines`` also goes from a settings file or module to the config keys it defines.

Project rules query the indexes below (:attr:`ProjectGraph.artifacts`, ``uses``, ``models``,
``flows``) or ``self.graph.nx`` directly.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import networkx as nx

from mldebt.facts import paths
from mldebt.facts.apis import is_library
from mldebt.facts.config import FACTS_KEY as CONFIG_FACTS
from mldebt.facts.config import ConfigFile
from mldebt.facts.model import Artifact, Model, ModuleFacts
from mldebt.source import CellMap

_ROOT = "\x00"  # marks "the repository root" inside a resolved template
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
_DRIVE = re.compile(r"[A-Za-z]:/")  # C:/Users/... (backslashes are slashes by then)
_MAX_DEPTH = 8
# Tokens of a flow that do not name anything the graph knows.
_SKIPPED = ("p:", "mp:", "h:")
_UNSEEN: Any = object()


def module_node(name: str) -> str:
    return f"module:{name}"


def symbol_node(module: str, qualname: str) -> str:
    return f"symbol:{module}.{qualname}"


def artifact_node(label: str) -> str:
    return f"artifact:{label}"


def column_node(name: str) -> str:
    return f"signal:column:{name}"


def constant_node(qualname: str) -> str:
    return f"signal:constant:{qualname}"


def config_key_node(key: str) -> str:
    return f"config-key:{key}"


def _defined_key(kind: str, key: str, owner: str | None, module: str) -> str:
    """How the graph names a key a module defines: ``argparse:lr``, ``click:lr``, or the
    configuration module's qualified name (``config.TRAIN.lr``, ``config.TrainConfig.lr``)."""
    if kind in ("argparse", "click"):
        return f"{kind}:{key}"
    return ".".join(p for p in (module, owner, key) if p)


def is_test_path(path: str) -> bool:
    """Test code (``tests/``, ``test_*.py``, ``*_test.py``, ``conftest.py``)."""
    parts = path.split("/")
    name = parts[-1]
    return (
        any(p in ("tests", "test", "testing") for p in parts[:-1])
        or name.startswith("test_")
        or name.endswith("_test.py")
        or name == "conftest.py"
    )


@dataclass(eq=False)
class ArtifactUse:
    """One read or write of an artifact (a fact of one module) and the nodes it reaches."""

    path: str
    module: str
    index: int
    fact: Artifact
    #: The template after constants and ``{here}`` were resolved, before normalisation.
    template: str
    nodes: tuple[str, ...] = ()
    #: True when the use reached its nodes through a wildcard match, not by equality.
    matched: bool = False
    #: The modules (paths) that run this use: the module itself, or, for a helper function of
    #: a library module, the modules that call it.
    steps: tuple[str, ...] = ()

    @property
    def mode(self) -> str:
        return self.fact.mode

    @property
    def line(self) -> int:
        return self.fact.line

    @property
    def scope(self) -> str:
        return self.fact.scope

    @property
    def api(self) -> str:
        return self.fact.api


@dataclass(eq=False)
class ArtifactInfo:
    """An artifact node: ``kind`` is file, table, url, pattern (a template with wildcards)
    or unknown (a path nothing is known of; one node per use, never shared)."""

    id: str
    label: str
    kind: str
    template: str
    uses: list[ArtifactUse] = field(default_factory=list)

    @property
    def known(self) -> bool:
        return self.kind != "unknown"

    @property
    def writes(self) -> list[ArtifactUse]:
        return [u for u in self.uses if u.mode == "w"]

    @property
    def reads(self) -> list[ArtifactUse]:
        return [u for u in self.uses if u.mode == "r"]


@dataclass(eq=False)
class FitSite:
    """A fit of a model: where, with which API, and what flows into it."""

    path: str
    line: int
    api: str
    artifacts: frozenset[str] = frozenset()
    signals: frozenset[str] = frozenset()
    models: frozenset[str] = frozenset()
    #: The read uses the artifacts come from (for related locations).
    reads: tuple[ArtifactUse, ...] = ()


@dataclass(eq=False)
class ModelInfo:
    """A model node: every place (module fact) that is the same model, merged."""

    id: str
    label: str
    cls: str | None
    kind: str | None
    sites: list[tuple[str, Model]] = field(default_factory=list)
    fits: list[FitSite] = field(default_factory=list)
    predicts: list[tuple[str, int]] = field(default_factory=list)
    saved_to: set[str] = field(default_factory=set)
    loaded_from: set[str] = field(default_factory=set)
    #: The writes its predictions flow into.
    predicts_to: list[ArtifactUse] = field(default_factory=list)

    @property
    def trains_on(self) -> set[str]:
        return {a for fit in self.fits for a in fit.artifacts}

    @property
    def name(self) -> str:
        """How messages name it: its variable, class and the file it is saved to."""
        cls = (self.cls or "").rpartition(".")[2]
        if cls == "make_pipeline":
            cls = "Pipeline"
        names = [m.var for _, m in self.sites if m.var.isidentifier()]
        var = names[0] if names else ""
        details = [cls] if cls and var and var != cls else []
        if self.id.startswith("model:artifact:"):
            details.append(self.id.removeprefix("model:artifact:"))
        head = f"`{var or cls or 'model'}`"
        return head + (f" ({', '.join(details)})" if details else "")


@dataclass(frozen=True)
class Derivation:
    """Data of ``source`` flows into the write ``write`` (read in the same module by ``read``)."""

    read: ArtifactUse
    write: ArtifactUse


@dataclass
class _Flow:
    reads: set[ArtifactUse] = field(default_factory=set)
    models: set[str] = field(default_factory=set)
    signals: set[str] = field(default_factory=set)


class ProjectGraph:
    def __init__(self, facts: Iterable[ModuleFacts], root: Path | str | None = None) -> None:
        self.nx: nx.MultiDiGraph = nx.MultiDiGraph()
        self.root: Path | None = Path(root) if root is not None else None
        self.by_path: dict[str, ModuleFacts] = {}
        self.by_module: dict[str, ModuleFacts] = {}
        #: artifact node id -> its uses
        self.artifacts: dict[str, ArtifactInfo] = {}
        #: every artifact fact of every module, in path order
        self.uses: list[ArtifactUse] = []
        #: model node id -> the model
        self.models: dict[str, ModelInfo] = {}
        #: artifact id -> artifact ids its data flows into (through a module's writes)
        self.flows: dict[str, dict[str, list[Derivation]]] = {}
        self._use_of: dict[tuple[str, int], ArtifactUse] = {}
        self._model_of: dict[tuple[str, int], str] = {}
        self._resolved_modules: dict[tuple[str, str], ModuleFacts | None] = {}
        self._suffixes: dict[str, list[ModuleFacts]] | None = None
        self._defined: dict[str, set[str]] = {}
        self._callers: dict[tuple[str, str], set[tuple[str, str]]] = {}
        #: (path, scope) -> [((callee path, callee qualname), line of the call)]
        self._callees: dict[tuple[str, str], list[tuple[tuple[str, str], int]]] = {}
        self._flow_memo: dict[tuple[str, str], _Flow] = {}
        self._executors: dict[tuple[str, str], set[str]] = {}
        self._spelling: dict[str, str] = {}
        #: settings and DVC files parsed for the configuration facts (see :meth:`add_config`)
        self.config_files: list[ConfigFile] = []
        graph = self.nx
        nodes: list[tuple[str, dict[str, Any]]] = []
        edges: list[tuple[str, str, str, dict[str, Any]]] = []
        for module in sorted(facts, key=lambda f: f.path):
            self.by_path[module.path] = module
            self.by_module.setdefault(module.module, module)
            source = module_node(module.module)
            nodes.append(
                (
                    source,
                    {
                        "kind": "module",
                        "label": module.path,
                        "path": module.path,
                        "notebook": module.notebook,
                    },
                )
            )
            defined = self._defined.setdefault(module.path, set())
            for definition in module.definitions:
                defined.add(definition.qualname)
                node = symbol_node(module.module, definition.qualname)
                nodes.append(
                    (
                        node,
                        {
                            "kind": definition.kind,
                            "label": definition.qualname,
                            "path": module.path,
                            "line": definition.line,
                        },
                    )
                )
                edges.append((source, node, "defines", {"kind": "defines"}))
        _add_nodes(graph, nodes)
        for module in self.by_path.values():
            source = module_node(module.module)
            for imported in module.imports:
                target = self.resolve_import(imported.module, imported.name, module.module)
                if target is not None and target.path != module.path:
                    edges.append(
                        (
                            source,
                            module_node(target.module),
                            f"imports@{imported.line}",
                            {"kind": "imports", "line": imported.line},
                        )
                    )
        _add_keyed_edges(graph, edges)
        self._add_calls()
        self._add_artifacts()
        self._add_models()
        self._add_flows()
        self._add_signals()

    # --- configuration ---------------------------------------------------------------------

    def add_config(self, files: Iterable[ConfigFile]) -> None:
        """Join the configuration facts: ``config-file`` nodes for the settings files,
        ``config-key`` nodes for their dotted keys and the keys the modules define (argparse,
        click, configuration modules) or read; ``defines`` edges from the file or module that
        defines a key, ``reads-config`` edges from a key to the module that reads it."""
        self.config_files = sorted(files, key=lambda f: f.path)
        nodes: list[tuple[str, dict[str, Any]]] = []
        edges: list[tuple[str, str, str, dict[str, Any]]] = []
        for config in self.config_files:
            source = f"config-file:{config.path}"
            attrs = {"kind": "config-file", "label": config.path, "path": config.path}
            if config.error:
                attrs["error"] = config.error  # skipped: the reason, never a crash
            nodes.append((source, attrs))
            if config.kind == "dvc":  # a pipeline: its stages read the params they list
                for key in config.params:
                    node = config_key_node(key)
                    nodes.append((node, {"kind": "config-key", "label": key}))
                    edges.append((node, source, f"reads-config:{key}", {"kind": "reads-config"}))
                continue
            for key, (_value, line) in config.keys.items():
                node = config_key_node(key)
                nodes.append((node, {"kind": "config-key", "label": key}))
                edges.append((source, node, f"defines@{line}", {"kind": "defines", "line": line}))
        for module in self.by_path.values():
            data = module.extra.get(CONFIG_FACTS)
            if not data:
                continue
            source = module_node(module.module)
            for kind, key, _value, line, owner in data.get("defines", ()):
                name = _defined_key(kind, key, owner, module.module)
                node = config_key_node(name)
                nodes.append((node, {"kind": "config-key", "label": name}))
                edges.append((source, node, f"defines@{line}", {"kind": "defines", "line": line}))
            holders = {h[0]: h for h in data.get("holders", ())}
            for ident, key, line, _default in data.get("reads", ()):
                holder = holders.get(ident)
                if holder is None:
                    continue
                name = f"argparse:{key}" if holder[1] == "argparse" else key
                node = config_key_node(name)
                nodes.append((node, {"kind": "config-key", "label": name}))
                edges.append(
                    (node, source, f"reads-config@{line}", {"kind": "reads-config", "line": line})
                )
            for name, line, _default in data.get("env", ()):
                node = config_key_node(f"env:{name}")
                nodes.append((node, {"kind": "config-key", "label": f"env:{name}"}))
                edges.append(
                    (node, source, f"reads-config@{line}", {"kind": "reads-config", "line": line})
                )
        _add_nodes(self.nx, nodes)
        _add_keyed_edges(self.nx, edges)

    # --- modules --------------------------------------------------------------------------------

    def resolve_import(
        self, module: str, name: str | None, importer: str | None = None
    ) -> ModuleFacts | None:
        """The project module an import refers to (``from a import b`` may name module a.b).

        With ``importer`` (the importing module), a script's sibling module and a unique
        module ending with the name are found too (scripts run with their folder on the path).
        """
        if name and name != "*":
            found = self.resolve_module(f"{module}.{name}", importer, fuzzy=False)
            if found is not None:
                return found
        return self.resolve_module(module, importer)

    def resolve_module(
        self, name: str, importer: str | None = None, fuzzy: bool = True
    ) -> ModuleFacts | None:
        if not name:
            return None
        found = self.by_module.get(name)
        if found is None and name.startswith("src."):
            # module names unwrap a src/ layout; code run from the root imports src.data
            found = self.by_module.get(name[4:])
        if found is not None or importer is None:
            return found
        key = (name, importer)
        if key in self._resolved_modules:
            return self._resolved_modules[key]
        package = importer.rpartition(".")[0]
        if package:
            found = self.by_module.get(f"{package}.{name}")
        if found is None and fuzzy and not is_library(name):
            if self._suffixes is None:
                self._suffixes = {}
                for facts in self.by_path.values():
                    dotted = facts.module.split(".")
                    for start in range(1, len(dotted)):
                        self._suffixes.setdefault(".".join(dotted[start:]), []).append(facts)
            candidates = self._suffixes.get(name, [])
            found = candidates[0] if len(candidates) == 1 else None
        self._resolved_modules[key] = found
        return found

    def split_qualname(
        self, dotted: str, importer: str | None = None
    ) -> tuple[ModuleFacts, str] | None:
        """``pkg.mod.Class.method`` -> (facts of pkg.mod, "Class.method")."""
        pieces = dotted.split(".")
        for cut in range(len(pieces) - 1, 0, -1):
            found = self.resolve_module(".".join(pieces[:cut]), importer)
            if found is not None:
                return found, ".".join(pieces[cut:])
        return None

    def where(self, path: str, line: int) -> str:
        """``path:line`` for messages; ``path cell N:line`` inside a notebook."""
        facts = self.by_path.get(path)
        if facts is not None and facts.notebook and facts.cells:
            cell, inner = CellMap.from_list(facts.cells).locate(line)
            if cell is not None:
                return f"{path} cell {cell}:{inner}"
        return f"{path}:{line}"

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

    # --- calls ----------------------------------------------------------------------------------

    def _callee(
        self, facts: ModuleFacts, scope: str, resolved: str, heads: set[str]
    ) -> tuple[str, str] | None:
        """(path, qualname) of the project definition a call's resolved name names;
        ``heads``: the first parts of the module names the module imports."""
        defined = self._defined[facts.path]
        if resolved.startswith("self."):
            parts = scope.split(".")
            method = resolved[5:]
            for cut in range(len(parts) - 1, 0, -1):
                candidate = ".".join(parts[:cut]) + "." + method
                if candidate in defined:
                    return facts.path, candidate
            return None
        if resolved in defined:
            return facts.path, resolved
        head = resolved.partition(".")[0]
        if head not in heads or is_library(resolved):
            return None  # a method of a local value (``df.head``) or a library's function
        split = self.split_qualname(resolved, facts.module)
        if split is None:
            return None
        target, qualname = split
        if qualname in self._defined[target.path]:
            return target.path, qualname
        return None

    def _add_calls(self) -> None:
        """``calls`` edges between project definitions (one per caller and callee, counted);
        most calls are to libraries and are dropped after one lookup of their name."""
        edges: dict[tuple[str, str], list[int]] = {}
        callers = self._callers
        for facts in self.by_path.values():
            path = facts.path
            defined = self._defined[path]
            module = module_node(facts.module)
            targets: dict[str, tuple[tuple[str, str], str] | None] = {}
            heads = {
                (imported.module or imported.name or "").partition(".")[0]
                for imported in facts.imports
            }
            sources: dict[str, str] = {}
            for call in facts.calls:
                resolved = call.resolved
                scope = call.scope
                key = f"{scope}\x00{resolved}" if resolved.startswith("self.") else resolved
                found = targets.get(key, _UNSEEN)
                if found is _UNSEEN:
                    callee = self._callee(facts, scope, resolved, heads)
                    found = targets[key] = (
                        None
                        if callee is None
                        else (callee, symbol_node(self.by_path[callee[0]].module, callee[1]))
                    )
                if found is None:
                    continue
                callee, target = found
                callers.setdefault(callee, set()).add((path, scope))
                self._callees.setdefault((path, scope), []).append((callee, call.line))
                source = sources.get(scope)
                if source is None:
                    source = sources[scope] = (
                        symbol_node(facts.module, scope) if scope in defined else module
                    )
                counted = edges.get((source, target))
                if counted is None:
                    edges[(source, target)] = [call.line, 1]
                else:
                    counted[1] += 1
        # Keyed "calls": each caller and callee pair has one calls edge (and maybe others,
        # a class's "defines").
        _add_keyed_edges(
            self.nx,
            (
                (source, target, "calls", {"kind": "calls", "line": line, "count": count})
                for (source, target), (line, count) in edges.items()
            ),
        )

    def callers(self, path: str, qualname: str) -> set[tuple[str, str]]:
        """(path, scope) of every call of the definition ``qualname`` of module ``path``."""
        return self._callers.get((path, qualname), set())

    def callees(self, path: str, scope: str) -> list[tuple[tuple[str, str], int]]:
        """((path, qualname), line) of every call from ``scope`` of module ``path`` (``""``:
        its module-level code) to a definition of the project, in source order."""
        return self._callees.get((path, scope), [])

    def definitions(self, path: str) -> set[str]:
        """Qualified names of the functions and classes module ``path`` defines."""
        return self._defined.get(path, set())

    def executors(self, path: str, scope: str) -> set[str]:
        """The modules that run code of ``scope`` in module ``path``: the module itself for
        its own code, the callers' modules (recursively) for a function others call. Test
        modules run nothing of the project's pipeline."""
        if not scope:
            return {path}
        key = (path, scope)
        known = self._executors.get(key)
        if known is not None:
            return known
        self._executors[key] = {path}  # while in progress (recursive calls)
        callers: set[tuple[str, str]] = set()
        parts = scope.split(".")
        for cut in range(len(parts), 0, -1):
            callers |= self.callers(path, ".".join(parts[:cut]))
        callers.discard(key)
        found: set[str] = set()
        for caller_path, caller_scope in sorted(callers):
            if is_test_path(caller_path) and not is_test_path(path):
                continue
            found |= self.executors(caller_path, caller_scope)
        self._executors[key] = found = found or {path}
        return found

    # --- artifacts ------------------------------------------------------------------------------

    def constant(self, qualname: str, importer: str | None = None, depth: int = 0) -> Any:
        """The value of a module constant ``mod.NAME`` (following ``from x import NAME``
        re-exports), and the module defining it; ``(None, None)`` when unknown."""
        return self._constant(qualname, importer, depth)[0]

    def _constant(
        self, qualname: str, importer: str | None, depth: int
    ) -> tuple[Any, ModuleFacts | None]:
        if depth > _MAX_DEPTH:
            return None, None
        owner, _, name = qualname.rpartition(".")
        target = self.resolve_module(owner, importer) if owner else None
        if target is None:
            return None, None
        if name in target.constants:
            return target.constants[name], target
        for imported in target.imports:
            if (imported.name == name and imported.alias is None) or imported.alias == name:
                if imported.name is None:
                    return None, None
                return self._constant(
                    f"{imported.module}.{imported.name}", target.module, depth + 1
                )
        return None, None

    def resolve_template(self, template: str, facts: ModuleFacts, depth: int = 0) -> str:
        """``template`` with references replaced by the constants' values and ``{here}`` by
        the root marker and the folder of the module the text comes from."""
        out: list[str] = []
        for kind, value in paths.parts(template):
            if kind == "text":  # a NUL is no part of a real path, and is our root marker
                out.append(paths.literal(value.replace(_ROOT, "\ufffd")))
            elif kind == "here":
                folder = facts.path.rpartition("/")[0]
                out.append(_ROOT + "/" + paths.literal(folder))
            elif kind == "ref":
                out.append(self._resolve_ref(value, facts, depth))
            else:
                out.append(paths.WILD)
        return "".join(out)

    def _resolve_ref(self, qualname: str, facts: ModuleFacts, depth: int) -> str:
        if depth < _MAX_DEPTH:
            value, owner = self._constant(qualname, facts.module, 0)
            if isinstance(value, str) and owner is not None:
                return self.resolve_template(value, owner, depth + 1)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return paths.literal(str(value))
        return "{ref:" + qualname + "}"

    def _add_artifacts(self) -> None:
        candidates: list[tuple[ArtifactUse, list[str]]] = []
        spellings: dict[int, list[str]] = {}
        for facts in self.by_path.values():
            folder = facts.path.rpartition("/")[0]
            for index, fact in enumerate(facts.artifacts):
                template = fact.template
                if not template.startswith("table:"):
                    template = self.resolve_template(template, facts)
                use = ArtifactUse(facts.path, facts.module, index, fact, template)
                self.uses.append(use)
                self._use_of[(facts.path, index)] = use
                root_first = _candidates(template, folder)
                if facts.notebook and folder and len(root_first) == 2:
                    root_first = root_first[1:]  # Jupyter runs a notebook in its folder
                spellings[id(use)] = root_first
                found = root_first
                candidates.append((use, found))
        # Concrete paths first: each takes the spelling another module confirms, else its own.
        support: dict[str, set[str]] = {}
        patterns: list[tuple[ArtifactUse, list[str]]] = []
        for use, found in candidates:
            if found and not _is_pattern(found[0]):
                for candidate in found:  # case-blind: data science runs on macOS and Windows
                    support.setdefault(candidate.lower(), set()).add(use.path)
        read_patterns = [
            (_regex(c), use.path)
            for use, found in candidates
            if found and _is_pattern(found[0]) and _wild(found[0]) and use.mode == "r"
            for c in found
        ]
        for use, found in candidates:
            if not found:
                self._attach(use, _unknown_label(use), "unknown", use.template)
                continue
            if _is_pattern(found[0]):
                patterns.append((use, found))
                continue
            chosen = None
            for candidate in spellings[id(use)]:
                others = support.get(candidate.lower(), set()) - {use.path}
                if others or any(
                    p != use.path and regex.match(candidate) for regex, p in read_patterns
                ):
                    chosen = candidate
                    break
            template = chosen or found[0]
            label = _display(template)
            kind = "table" if label.startswith("table:") else "url" if _URL.match(label) else "file"
            self._attach(use, label, kind, template)
        concrete = {i.label: i for i in self.artifacts.values() if i.kind in ("file", "url")}
        pattern_writes: dict[str, ArtifactInfo] = {}
        for use, found in patterns:
            if not _matchable(found[0]):
                self._attach(use, _unknown_label(use), "unknown", use.template)
                continue
            matched: list[str] = []
            label = found[0]
            for candidate in found if _wild(found[0]) else ():
                regex = _regex(candidate)
                matched = [name for name in concrete if regex.match(name)]
                if matched:
                    label = candidate
                    break
            if matched:
                use.matched = True
                for name in sorted(matched):
                    self._attach(use, name, concrete[name].kind, name)
                continue
            info = self._attach(use, _display(label), "pattern", label)
            if use.mode == "w":
                pattern_writes[info.id] = info
        # A wildcard read (a glob) also reaches the wildcard writes it covers.
        for use, found in patterns:
            if use.mode != "r" or use.matched or not _wild(found[0]):
                continue
            regex = _regex(found[0])
            for info in pattern_writes.values():
                if info.id not in use.nodes and regex.match(info.template):
                    use.matched = True
                    self._attach(use, info.label, "pattern", info.template, info)
        graph = self.nx
        for info in self.artifacts.values():
            graph.add_node(info.id, kind="artifact", label=info.label, artifact=info.kind)
        for use in self.uses:
            use.steps = tuple(sorted(self.executors(use.path, use.scope)))
            module = module_node(use.module)
            for node in use.nodes:
                attrs = {
                    "line": use.line,
                    "api": use.api,
                    "scope": use.scope,
                    "path": use.path,
                    "matched": use.matched,
                }
                if use.mode == "w":
                    graph.add_edge(module, node, kind="writes", **attrs)
                else:
                    graph.add_edge(node, module, kind="reads", **attrs)

    def _attach(
        self,
        use: ArtifactUse,
        label: str,
        kind: str,
        template: str,
        info: ArtifactInfo | None = None,
    ) -> ArtifactInfo:
        if info is None and kind == "file":  # one node for Data/x.csv and data/X.csv
            label = self._spelling.setdefault(label.lower(), label)
        node = artifact_node(label)
        if info is None:
            info = self.artifacts.get(node)
            if info is None:
                info = self.artifacts[node] = ArtifactInfo(node, label, kind, template)
        info.uses.append(use)
        use.nodes = (*use.nodes, node)
        return info

    def use(self, path: str, index: int) -> ArtifactUse | None:
        return self._use_of.get((path, index))

    # --- flows ------------------------------------------------------------------------------------

    def flow(self, path: str, tokens: Iterable[str], depth: int = 0) -> _Flow:
        """What the flow tokens of module ``path`` name: read uses, models, signals (through
        the returns of other modules' functions)."""
        found = _Flow()
        for token in tokens:
            if token.startswith(_SKIPPED):
                continue
            part = self._token(path, token, depth)
            found.reads |= part.reads
            found.models |= part.models
            found.signals |= part.signals
        return found

    def _token(self, path: str, token: str, depth: int) -> _Flow:
        key = (path, token)
        known = self._flow_memo.get(key)
        if known is not None:
            return known
        self._flow_memo[key] = result = _Flow()  # a recursion sees nothing
        kind, _, value = token.partition(":")
        facts = self.by_path[path]
        if kind == "a" and value.isdigit():
            use = self._use_of.get((path, int(value)))
            if use is not None and use.mode == "r":
                result.reads.add(use)
        elif kind == "m" and value.isdigit():
            model = self._model_of.get((path, int(value)))
            if model is not None:
                result.models.add(model)
        elif kind == "s":
            result.signals.add(column_node(value))
        elif kind == "k":
            result.signals.add(constant_node(self._constant_name(value, facts)))
        elif kind == "f" and depth < _MAX_DEPTH:
            split = self.split_qualname(value, facts.module)
            if split is None and value in self._defined[path]:
                split = facts, value
            if split is not None:
                target, qualname = split
                returns = target.returns.get(qualname)
                if returns is None:  # a class: what its methods give
                    prefix = qualname + "."
                    returns = [
                        t for q, r in target.returns.items() if q.startswith(prefix) for t in r
                    ]
                inner = self.flow(target.path, returns, depth + 1)
                result.reads |= inner.reads
                result.models |= inner.models
                result.signals |= inner.signals
        return result

    def _constant_name(self, qualname: str, facts: ModuleFacts) -> str:
        """``cfg.FEATURES`` as imported -> ``config.FEATURES`` as defined."""
        _, owner = self._constant(qualname, facts.module, 0)
        if owner is not None:
            return f"{owner.module}.{qualname.rpartition('.')[2]}"
        return qualname

    def _add_flows(self) -> None:
        graph = self.nx
        for use in self.uses:
            if use.mode != "w" or not use.fact.inputs:
                continue
            found = self.flow(use.path, use.fact.inputs)
            for read in found.reads:
                for source in read.nodes:
                    for target in use.nodes:
                        if source != target:
                            targets = self.flows.setdefault(source, {})
                            if target not in targets:
                                targets[target] = []
                                graph.add_edge(
                                    source, target, kind="flows-to", path=use.path, line=use.line
                                )
                            targets[target].append(Derivation(read, use))
            for model in sorted(found.models):
                info = self.models[model]
                info.predicts_to.append(use)
                for target in use.nodes:
                    graph.add_edge(model, target, kind="predicts-to", path=use.path, line=use.line)

    # --- models ---------------------------------------------------------------------------------

    def _add_models(self) -> None:
        graph = self.nx
        for facts in self.by_path.values():
            for index, model in enumerate(facts.models):
                if model.kind == "parameter":
                    continue
                identity = self._model_identity(facts, model)
                info = self.models.get(identity)
                if info is None:
                    label = (model.cls or model.var).rpartition(".")[2]
                    info = self.models[identity] = ModelInfo(identity, label, model.cls, model.kind)
                    where = (
                        identity.removeprefix("model:artifact:")
                        if identity.startswith("model:artifact:")
                        else f"{facts.path}:{model.line}"
                    )
                    graph.add_node(
                        identity,
                        kind="model",
                        label=f"{label} ({where})",
                        cls=model.cls or "",
                        model=model.kind or "",
                        path=facts.path,
                        line=model.line,
                    )
                elif info.cls is None and model.cls:  # the class is known where it is made
                    info.cls, info.kind = model.cls, model.kind
                    info.label = model.cls.rpartition(".")[2]
                    data = graph.nodes[identity]
                    data["label"] = f"{info.label} ({data['label'].partition(' (')[2][:-1]})"
                    data["cls"], data["model"] = model.cls, model.kind or ""
                info.sites.append((facts.path, model))
                self._model_of[(facts.path, index)] = identity
                graph.add_edge(module_node(facts.module), identity, kind="defines", line=model.line)
        for facts in self.by_path.values():
            for index, model in enumerate(facts.models):
                known = self._model_of.get((facts.path, index))
                if known is None:
                    continue
                identity = known
                info = self.models[identity]
                info.predicts.extend((facts.path, line) for line in model.predicts)
                for saved in model.saved_to:
                    use = self._use_of.get((facts.path, saved))
                    for node in use.nodes if use is not None and _holds_model(use) else ():
                        info.saved_to.add(node)
                        graph.add_edge(identity, node, kind="saves", path=facts.path)
                for loaded in model.loaded_from:
                    use = self._use_of.get((facts.path, loaded))
                    for node in use.nodes if use is not None and _holds_model(use) else ():
                        info.loaded_from.add(node)
                        graph.add_edge(node, identity, kind="loads", path=facts.path)
                for fit in model.fits:
                    found = self.flow(facts.path, fit.inputs)
                    models = frozenset(found.models - {identity})
                    site = FitSite(
                        facts.path,
                        fit.line,
                        fit.api,
                        frozenset(n for r in found.reads for n in r.nodes),
                        frozenset(found.signals),
                        models,
                        tuple(sorted(found.reads, key=lambda u: (u.path, u.line))),
                    )
                    info.fits.append(site)
                    for node in sorted(site.artifacts | site.signals):
                        if node.startswith("signal:") and node not in graph:
                            graph.add_node(node, kind="signal", **_signal_attrs(node))
                        graph.add_edge(
                            node, identity, kind="trains-on", path=facts.path, line=fit.line
                        )

    def _model_identity(self, facts: ModuleFacts, model: Model) -> str:
        for index in (*model.saved_to, *model.loaded_from):
            use = self._use_of.get((facts.path, index))
            if use is not None and use.nodes and _holds_model(use):
                node = sorted(use.nodes)[0]
                if self.artifacts[node].known:
                    return "model:" + node
        return f"model:{facts.path}:{model.var}@{model.line}"

    # --- signals --------------------------------------------------------------------------------

    def _add_signals(self) -> None:
        graph = self.nx
        for facts in self.by_path.values():
            seen: dict[str, int] = {}
            for signal in facts.signals:
                if signal.via == "constant":
                    node = constant_node(self._constant_name(signal.name, facts))
                else:
                    node = column_node(signal.name)
                if node in seen:
                    continue
                seen[node] = signal.line
                if node not in graph:
                    graph.add_node(node, kind="signal", **_signal_attrs(node))
                graph.add_edge(
                    node,
                    module_node(facts.module),
                    kind="uses-signal",
                    line=signal.line,
                    write=signal.write,
                )
        for node, data in graph.nodes(data=True):
            if data.get("kind") == "signal" and data.get("via") == "constant":
                value = self.constant(node.removeprefix("signal:constant:"))
                if _is_feature_list(value):
                    data["members"] = ",".join(value)
                    data["feature_list"] = True

    def feature_list(self, node: str) -> list[str] | None:
        """The column names of a constant signal that is a list of strings."""
        if not node.startswith("signal:constant:"):
            return None
        value = self.constant(node.removeprefix("signal:constant:"))
        return list(value) if _is_feature_list(value) else None

    def definition_line(self, module: str, qualname: str) -> int | None:
        facts = self.by_module.get(module)
        if facts is None:
            return None
        for definition in facts.definitions:
            if definition.qualname == qualname:
                return definition.line
        return None


# --- models ------------------------------------------------------------------------------------

#: APIs that save or load models whatever the file is called (``xgb.save_model("m.json")``).
_MODEL_APIS = frozenset(
    {
        "torch.save",
        "torch.load",
        "torch.jit.save",
        "torch.jit.load",
        "joblib.dump",
        "joblib.load",
        "save_model",
        "load_model",
        "save_pretrained",
        "from_pretrained",
        "save_weights",
        "load_weights",
        "save",
        "restore",
        "lightgbm.Booster",
        "xgboost.Booster",
        "keras.models.load_model",
        "keras.saving.load_model",
        "tensorflow.saved_model.save",
        "tensorflow.saved_model.load",
        "safetensors.torch.save_file",
        "safetensors.torch.load_file",
    }
)
#: Files that hold settings or data, never the model itself (a model built from
#: ``yaml.safe_load(open("params.yaml"))`` was not loaded from it).
_NOT_MODEL_FILES = frozenset(
    {
        ".yaml",
        ".yml",
        ".toml",
        ".ini",
        ".cfg",
        ".conf",
        ".json",
        ".jsonl",
        ".txt",
        ".csv",
        ".tsv",
        ".parquet",
        ".feather",
        ".xlsx",
        ".xls",
        ".md",
        ".log",
        ".npy",
        ".npz",
    }
)


def _holds_model(use: ArtifactUse) -> bool:
    """Whether a save or load of a model really puts the model in that file."""
    if use.api in _MODEL_APIS:
        return True
    name = use.template.rpartition("/")[2]
    dot = name.rfind(".")
    return not (dot > 0 and name[dot:].lower() in _NOT_MODEL_FILES)


# --- bulk insertion ----------------------------------------------------------------------------


def _add_nodes(graph: nx.MultiDiGraph, nodes: Iterable[tuple[str, dict[str, Any]]]) -> None:
    """``graph.add_nodes_from(nodes)``, writing networkx's dicts directly for a plain
    MultiDiGraph: its per-item bookkeeping is most of a large project's build time."""
    if type(graph) is not nx.MultiDiGraph:
        graph.add_nodes_from(nodes)
        return
    succ, pred, found = graph._succ, graph._pred, graph._node
    for node, data in nodes:
        if node not in succ:
            succ[node] = {}
            pred[node] = {}
            found[node] = dict(data)
        else:
            found[node].update(data)
    _clear_cache(graph)


def _add_keyed_edges(
    graph: nx.MultiDiGraph, edges: Iterable[tuple[str, str, Any, dict[str, Any]]]
) -> None:
    """``graph.add_edges_from`` for ``(u, v, key, data)`` edges, as :func:`_add_nodes` does
    it (an edge with an existing key is updated, as networkx would)."""
    if type(graph) is not nx.MultiDiGraph:
        graph.add_edges_from(edges)
        return
    succ, pred, found = graph._succ, graph._pred, graph._node
    for u, v, key, data in edges:
        for node in (u, v):
            if node not in succ:
                succ[node] = {}
                pred[node] = {}
                found[node] = {}
        keys = succ[u].get(v)
        if keys is None:
            keys = succ[u][v] = {}
            pred[v][u] = keys
        known = keys.get(key)
        if known is None:
            keys[key] = dict(data)
        else:
            known.update(data)
    _clear_cache(graph)


def _clear_cache(graph: nx.MultiDiGraph) -> None:
    cache = getattr(graph, "__networkx_cache__", None)
    if cache:
        cache.clear()


# --- templates ---------------------------------------------------------------------------------


def _is_feature_list(value: Any) -> bool:
    return isinstance(value, list) and len(value) >= 2 and all(isinstance(v, str) for v in value)


def _signal_attrs(node: str) -> dict[str, Any]:
    via, _, name = node.removeprefix("signal:").partition(":")
    return {"via": via, "label": name}


def _is_pattern(template: str) -> bool:
    return any(kind != "text" for kind, _ in paths.parts(template))


def _matchable(template: str) -> bool:
    """A wildcard template that says enough to be matched: a reference, or some literal name
    besides a file extension (``data/{}.csv`` and ``{}/x.csv`` are; ``{}.csv`` and ``{}``
    are not)."""
    cut = template.rfind("/")
    name = template[cut + 1 :]
    dot = name.rfind(".")
    if dot > 0 and "}" not in name[dot:]:
        template = template[: cut + 1 + dot]
    return any(
        kind == "ref" or (kind == "text" and any(c.isalnum() for c in value))
        for kind, value in paths.parts(template)
    )


def _wild(template: str) -> bool:
    """A wildcard template that may be matched against other paths: it says enough, and it
    holds no reference to a constant the graph could not resolve (``{ref:cfg.OUT}`` is one
    unknown file, the same wherever it is named, not any file)."""
    return _matchable(template) and not any(kind == "ref" for kind, _ in paths.parts(template))


_REGEX_CACHE: dict[str, re.Pattern[str]] = {}


def _regex(template: str) -> re.Pattern[str]:
    found = _REGEX_CACHE.get(template)
    if found is None:
        pattern = paths.to_regex(template).pattern
        if template.startswith("{}/"):  # an unknown folder may be the root itself
            pattern = "(?:.*/)?" + paths.to_regex(template[3:]).pattern
        found = _REGEX_CACHE[template] = re.compile(pattern, re.DOTALL)
    return found


def _display(template: str) -> str:
    out = []
    for kind, value in paths.parts(template):
        if kind == "text":
            out.append(value)
        elif kind == "ref":
            out.append("{" + value + "}")
        else:
            out.append("{}")
    return "".join(out)


def _unknown_label(use: ArtifactUse) -> str:
    shown = _display(use.template.replace(_ROOT, "")) or "?"
    return f"?{shown}@{use.path}:{use.line}"


def _normalise(template: str) -> str | None:
    """Lexical normalisation of a root-relative template: no ``.``, empty or resolvable
    ``..`` segments; None when it climbs above the root."""
    out: list[str] = []
    for segment in template.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if not out or out[-1] == "..":
                return None
            out.pop()
            continue
        out.append(segment)
    return "/".join(out)


def _candidates(template: str, folder: str) -> list[str]:
    """The root-relative spellings a resolved template may stand for: ``{here}`` paths and
    absolute ones have one; a relative path is relative to the working folder, which is the
    root (listed first) or the module's own folder (a notebook's usual working folder)."""
    if template.startswith("table:"):
        return [template]
    text = template.replace("\\", "/")
    if _ROOT in text:
        found = _normalise(text[text.rindex(_ROOT) + 1 :])
        return [found] if found else []
    if _URL.match(text):
        return [text]
    if text.startswith(("/", "~")) or _DRIVE.match(text):
        head = text[: text.index("/") + 1] if "/" in text else text
        found = _normalise(text[len(head) :])
        return [head + found] if found is not None else [text]
    if not paths.is_known(text) or text.startswith("{arg:"):
        return []
    if text.startswith(("{ref:", "{}")):  # under a folder known only at run time
        found = _normalise(text)
        return [found] if found else [text]
    out: list[str] = []
    for candidate in (
        _normalise(text),
        _normalise(f"{paths.literal(folder)}/{text}") if folder else None,
    ):
        if candidate and candidate not in out:
            out.append(candidate)
    return out
