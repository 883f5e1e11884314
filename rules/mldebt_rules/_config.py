"""The project's configuration as the configuration-debt rules (MLD301-MLD305) see it.

Built once per project graph from the cached per-file facts (``graph.by_path[p].extra``
under :data:`mldebt.facts.config.FACTS_KEY`) and the settings files the engine parsed
(``graph.config_files``). Never reads a file.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from mldebt.context import FileContext
from mldebt.facts.config import (
    FACTS_KEY,
    HYPERPARAMETERS,
    ConfigFile,
    is_config_module,
    normalise,
    python_config_facts,
)
from mldebt.graph import ProjectGraph, is_test_path
from mldebt.rule import ProjectRule

ML_FRAMEWORKS = (
    "sklearn",
    "torch",
    "tensorflow",
    "keras",
    "xgboost",
    "lightgbm",
    "catboost",
    "jax",
    "flax",
    "optax",
    "transformers",
    "pytorch_lightning",
    "lightning",
    "statsmodels",
)
#: Keys a framework reads itself (Hydra's own settings, instantiate's target).
FRAMEWORK_KEYS = frozenset({"defaults", "hydra", "_target_", "_recursive_", "_partial_"})
#: Options a launcher passes whether the script reads them or not.
LAUNCHER_OPTIONS = frozenset({"local_rank", "local-rank", "help", "version"})
_MERGING_KEYS = frozenset(
    {"defaults", "_base_", "base", "include", "includes", "imports", "extends", "inherit"}
)


@dataclass
class Place:
    """Where a setting gets a value."""

    path: str
    line: int
    name: str  # as written: "lr", "optimizer.lr", "EPOCHS"
    value: Any
    kind: str  # "config" | "option" | "module" | "code"
    api: str = ""
    owner: str = ""  # a configuration module's dict or class holding the setting

    @property
    def short_api(self) -> str:
        return self.api.rsplit(".", 1)[-1]

    @property
    def setting(self) -> str:
        return normalise(self.name)

    def describe(self) -> str:
        if self.kind == "config":
            return f"`{self.name}: {_show(self.value)}` in {self.path}"
        if self.kind == "option":
            return f"the default of option `{self.name}` ({_show(self.value)}) in {self.path}"
        if self.kind == "module":
            return f"`{self.name} = {_show(self.value)}` in {self.path}"
        if self.api:
            return f"`{self.short_api}({self.name}={_show(self.value)})` in {self.path}"
        return f"`{self.name} = {_show(self.value)}` in {self.path}"


def _show(value: Any) -> str:
    return repr(value) if isinstance(value, str) else str(value)


@dataclass
class ProjectConfig:
    graph: ProjectGraph
    facts: dict[str, dict[str, Any]] = field(default_factory=dict)
    files: dict[str, ConfigFile] = field(default_factory=dict)
    words: set[str] = field(default_factory=set)
    passed: set[str] = field(default_factory=set)
    splats: set[str] = field(default_factory=set)
    functions: set[str] = field(default_factory=set)
    mentions: set[str] = field(default_factory=set)
    dumps: bool = False
    dvc_params: set[str] = field(default_factory=set)
    interpolations: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        for path, module in self.graph.by_path.items():
            data = module.extra.get(FACTS_KEY)
            if not data:
                continue
            self.facts[path] = data
            self.words.update(data.get("words", ()))
            self.passed.update(data.get("passed", ()))
            self.splats.update(data.get("splats", ()))
            self.functions.update(data.get("functions", ()))
            self.dumps = self.dumps or bool(data.get("dumps"))
            for mention in data.get("mentions", ()):
                self.mentions.add(posixpath.normpath(mention.replace("\\", "/")))
        for config in getattr(self.graph, "config_files", ()):
            if config.kind == "dvc":
                self.dvc_params.update(config.params)
            elif config.error is None:
                self.files[config.path] = config
                self.interpolations.update(config.interpolations)

    # --- sources ---------------------------------------------------------------------------

    def holders(self, path: str) -> dict[int, list[Any]]:
        return {h[0]: h for h in self.facts.get(path, {}).get("holders", ())}

    def resolve_file(self, path: str, source: str) -> ConfigFile | None:
        """The settings file a literal path names from the script at ``path``."""
        if not source:
            return None
        source = posixpath.normpath(source.replace("\\", "/"))
        folder = posixpath.dirname(path)
        for candidate in (source, posixpath.normpath(posixpath.join(folder, source))):
            if candidate in self.files:
                return self.files[candidate]
        matches = [f for p, f in self.files.items() if p.endswith("/" + source)]
        return matches[0] if len(matches) == 1 else None

    def hydra_files(self, path: str, source: str) -> tuple[ConfigFile | None, str]:
        """The primary file of a ``@hydra.main`` and the folder its groups live in."""
        config_path, _, config_name = source.partition("|")
        if "?" in (config_path, config_name) or not config_name:
            return None, ""
        folder = posixpath.normpath(posixpath.join(posixpath.dirname(path), config_path or "."))
        folder = "" if folder == "." else folder
        name = config_name if config_name.endswith((".yaml", ".yml")) else f"{config_name}.yaml"
        primary = self.files.get(posixpath.join(folder, name) if folder else name)
        return primary, folder

    def consumed(self, config: ConfigFile) -> bool:
        """Does any code or pipeline name this settings file (so its keys are meant to be
        read by the project)?"""
        if config.path in self._loaded_files():
            return True
        base = config.path.rsplit("/", 1)[-1]
        for mention in self.mentions:
            if mention == config.path or config.path.endswith("/" + mention) or mention == base:
                return True
        return bool(self.dvc_params) and base == "params.yaml"

    def _loaded_files(self) -> set[str]:
        cached: set[str] | None = getattr(self, "_loaded", None)
        if cached is not None:
            return cached
        loaded: set[str] = set()
        for path in self.facts:
            for _ident, kind, source, _line, _scope in self.holders(path).values():
                if kind == "file":
                    found = self.resolve_file(path, source)
                    if found is not None:
                        loaded.add(found.path)
                elif kind == "hydra":
                    primary, folder = self.hydra_files(path, source)
                    if primary is not None:
                        prefix = folder + "/" if folder else ""
                        loaded.update(p for p in self.files if p.startswith(prefix))
        self._loaded = loaded
        return loaded

    def consumed_by(self, path: str) -> set[str]:
        """The settings files and configuration modules a module reads: files loaded by a
        literal path, a Hydra script's configuration folder, configuration modules imported."""
        memo: dict[str, set[str]] = self.__dict__.setdefault("_consumed", {})
        if path in memo:
            return memo[path]
        found: set[str] = set()
        memo[path] = found
        for _ident, kind, source, _line, _scope in self.holders(path).values():
            if kind == "file":
                loaded = self.resolve_file(path, source)
                if loaded is not None:
                    found.add(loaded.path)
            elif kind == "hydra":
                primary, folder = self.hydra_files(path, source)
                if primary is not None:
                    prefix = folder + "/" if folder else ""
                    found.update(p for p in self.files if p.startswith(prefix))
        module = self.graph.by_path.get(path)
        if module is not None:
            for imported in self.graph.imported_modules(module.module):
                if is_config_module(imported.path):
                    found.add(imported.path)
        return found

    def project_sources(self) -> list[str]:
        """Project-wide settings: settings files with keys and configuration modules that
        define settings (as names for a message)."""
        cached: list[str] | None = getattr(self, "_sources", None)
        if cached is not None:
            return cached
        found = [p for p, f in self.files.items() if f.keys]
        for path, data in self.facts.items():
            if (
                is_config_module(path)
                and not is_test_path(path)
                and any(d[0] in ("dict", "field", "constant") for d in data.get("defines", ()))
            ):
                found.append(path)
        self._sources = sorted(found)
        return self._sources

    def sources_for(self, path: str) -> list[str]:
        """The project-wide sources that configure a module: those in its folder or a folder
        above it (a source in ``conf/`` / ``configs/`` configures its parent folder), and those
        it loads or imports itself. In a repository of unrelated projects, one project's
        ``params.py`` does not configure the others."""
        consumed = self.consumed_by(path)
        return [s for s in self.project_sources() if s in consumed or covers(s, path)]

    def local_source(self, path: str) -> str:
        """The command-line or Hydra configuration a script has itself, or ""."""
        data = self.facts.get(path, {})
        kinds = {d[0] for d in data.get("defines", ())}
        if "argparse" in kinds:
            return "its argparse options"
        if "click" in kinds:
            return "its click options"
        if any(h[1] == "hydra" for h in data.get("holders", ())):
            return "its Hydra configuration"
        return ""

    # --- places ----------------------------------------------------------------------------

    def places(self) -> Iterator[Place]:
        """Every value given to a hyper-parameter: settings files, option defaults,
        configuration modules and literals in code (tests and notebooks left out)."""
        for config in self.files.values():
            for key, (value, line) in config.keys.items():
                if normalise(key) in HYPERPARAMETERS and _number(value):
                    yield Place(config.path, line, key, value, "config")
        for path, data in self.facts.items():
            if is_test_path(path) or self.graph.by_path[path].notebook:
                continue
            for kind, key, value, line, owner in data.get("defines", ()):
                if normalise(key) not in HYPERPARAMETERS or not _number(value):
                    continue
                if kind in ("argparse", "click"):
                    yield Place(path, line, key, value, "option")
                else:
                    yield Place(path, line, key, value, "module", owner=owner or "")
            for name, value, line, api, kind in data.get("settings", ()):
                if not _plausible(name, api, kind):
                    continue
                yield Place(path, line, name, value, "code", api)

    def places_of(self, path: str) -> Iterator[Place]:
        """The literal hyper-parameters in one module's code."""
        for name, value, line, api, kind in self.facts.get(path, {}).get("settings", ()):
            if _plausible(name, api, kind):
                yield Place(path, line, name, value, "code", api)

    def uses_setting(self, path: str, place: Place) -> bool:
        """Does the module at ``path`` use the part of a configuration that holds ``place``:
        the dict or class of a configuration module (``cfg.LGB_PARAMS``, ``from config import
        TrainConfig``), the section of a settings file it reads from (``train`` for
        ``train.lr``)? A module that hard-codes another model's settings beside a config it
        never touches is no conflict with it."""
        if place.kind == "module":
            if not place.owner:
                return True
            module = self.graph.by_path.get(path)
            names = {i.name for i in module.imports} if module is not None else set()
            return place.owner in names or place.owner in self.facts.get(path, {}).get(
                "words", ()
            )
        if place.kind == "config":
            section = place.name.rpartition(".")[0]
            if not section:
                return True
            data = self.facts.get(path, {})
            touched = [r[1] for r in data.get("reads", ())]
            touched += [w[1] for w in data.get("whole", ())]
            return any(t == section or t.startswith(section + ".") for t in touched)
        return True

    def ml_code(self, path: str) -> bool:
        module = self.graph.by_path.get(path)
        if module is None:
            return False
        return any(i.module.split(".")[0] in ML_FRAMEWORKS for i in module.imports)


def covers(source: str, path: str) -> bool:
    """Is ``path`` inside the folder a configuration source at ``source`` configures?"""
    scope = posixpath.dirname(source)
    if posixpath.basename(scope) in _CONFIG_FOLDER_NAMES:
        scope = posixpath.dirname(scope)
    return not scope or path.startswith(scope + "/")


_CONFIG_FOLDER_NAMES = frozenset({"conf", "config", "configs", "settings"})


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


_PLOTTING = ("plt.", "matplotlib", "seaborn", "sns.", "ax.", "axes", "fig.", "plotly", "px.")


def _plausible(name: str, api: str, kind: str) -> bool:
    """Is a literal keyword really a model's hyper-parameter (not a plot's ``alpha``)?"""
    if kind != "keyword":
        return True
    last = api.rsplit(".", 1)[-1]
    if api.startswith(_PLOTTING) or any(p in api for p in (".plot", "scatter", "hist")):
        return False
    if normalise(name) in ("alpha", "threshold", "momentum", "c"):
        return bool(last[:1].isupper()) or api.startswith(("sklearn", "xgboost", "lightgbm"))
    return True


_CACHE: dict[int, tuple[ProjectGraph, ProjectConfig]] = {}


def project_config(graph: ProjectGraph) -> ProjectConfig:
    cached = _CACHE.get(id(graph))
    if cached is not None and cached[0] is graph:
        return cached[1]
    _CACHE.clear()
    found = ProjectConfig(graph)
    _CACHE[id(graph)] = (graph, found)
    return found


def defined(key: str, keys: set[str], mappings: set[str]) -> bool:
    """Is ``key`` defined by ``keys`` (leaves) and ``mappings`` (inner keys): the key itself,
    a mapping it names, or below a leaf (a leaf can hold a mapping set at run time)?"""
    if key in keys or key in mappings:
        return True
    parts = key.split(".")
    return any(".".join(parts[:i]) in keys for i in range(1, len(parts)))


class ConfigRule(ProjectRule):
    """A configuration-debt rule: its per-file facts are the module's configuration facts."""

    facts_key = FACTS_KEY
    category = "configuration-debt"

    @classmethod
    def file_facts(cls, context: FileContext) -> Any:
        return python_config_facts(context.text, context.path)

    @property
    def config(self) -> ProjectConfig:
        return project_config(self.graph)
