"""MLD211: flags that are always off, and the branches they guard."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from mldebt.facts.model import ModuleFacts
from mldebt.findings import Location, Severity
from mldebt.graph import ProjectGraph
from mldebt.rule import BAD, GOOD
from mldebt_rules._usage import (
    FALSY,
    ClassIndex,
    Guard,
    ProjectUsage,
    Test,
    Usage,
    UsageRule,
    lines_text,
    place,
    project_usage,
    public_api,
)
from mldebt_rules.unused_definitions import HOOK_PREFIXES, HOOKS, TRANSPARENT_DECORATORS

_OTHER = "<other>"
#: Libraries that let the command line override any setting (``train.py model.lr=0.1``).
CLI_SETTINGS = frozenset(
    {"hydra", "fire", "jsonargparse", "simple_parsing", "ml_collections", "absl", "tyro"}
)


@dataclass(frozen=True)
class Flag:
    """A name whose value is known to be ``value`` wherever it is read."""

    name: str
    value: Any
    path: str
    line: int
    what: str  # how the message names it


class _Unknown:
    pass


UNKNOWN = _Unknown()


class FlagIndex:
    """Every always-off flag of the project: module constants, class and instance attributes
    set once to False / 0 / None, and function parameters defaulting to False / None that no
    call passes."""

    def __init__(self, graph: ProjectGraph, project: ProjectUsage) -> None:
        self.graph = graph
        self.project = project
        self._index_of: dict[int, tuple[Usage, dict[tuple[str, str], Any], dict[str, Any]]] = {}
        usages = [(f, u) for f in graph.modules() if (u := project.usage(f)) is not None]
        self.unreadable = len(usages) + len(project.opaque) < len(project.modules)
        self.strings: set[str] = set()
        self.keywords: set[str] = set()
        self.dests: set[str] = set()
        self.value_uses: set[str] = set()
        self.key_stores: set[str] = set()
        self.calls: dict[str, tuple[int, bool]] = {}
        self.dynamic: set[str] = set()  # modules whose attributes are set by computed names
        #: attribute name -> (path, line, value, owning class qualname or "")
        self.attr_bindings: dict[str, list[tuple[str, int, Any, str]]] = {}
        self.classes = ClassIndex(graph, project)
        for facts, usage in usages:
            self.strings |= usage.strings
            self.keywords |= usage.keywords
            self.dests |= {d.lower() for d in usage.dests}
            self.value_uses |= usage.value_uses
            self.key_stores |= usage.key_stores
            for name, (count, splat) in usage.calls.items():
                before = self.calls.get(name, (0, False))
                self.calls[name] = (max(before[0], count), before[1] or splat)
            for receiver in usage.dynamic_setattr:
                self.dynamic.add(facts.module if receiver in ("", "?") else receiver)
                if receiver == "?" or usage.dynamic_setattr - {""}:
                    self.dynamic.add(facts.module)
            for name, stores in usage.attr_stores.items():
                for line, value, owner in stores:
                    entry = (facts.path, line, value, owner)
                    self.attr_bindings.setdefault(name, []).append(entry)
            for name, entries in usage.class_constants.items():
                for cls, line, value in entries:
                    self.attr_bindings.setdefault(name, []).append((facts.path, line, value, cls))
        self.config_names = {n.lower() for n in project.files.identifiers(("config",))}
        # Code the analysis has no facts of (it does not parse) may set any name it spells.
        self.strings |= project.files.identifiers(("code",))
        self.run_names = project.files.identifiers(("run",))
        #: settings any key of which the command line can override (Hydra, Fire, ...)
        self.cli_settings = any(
            imp.module.split(".")[0] in CLI_SETTINGS or (imp.name or "") in CLI_SETTINGS
            for facts in graph.modules()
            for imp in facts.imports
        )
        self.module_flags: dict[tuple[str, str], Flag] = {}
        for facts, usage in usages:
            for name, (line, value) in usage.constants.items():
                if self._module_constant_kept(facts, name):
                    what = (
                        f"`{name}` is always {value!r} (set once at {place(facts, line)}, "
                        "never changed anywhere in the project)"
                    )
                    self.module_flags[(facts.module, name)] = Flag(
                        name, value, facts.path, line, what
                    )
        self.usages = usages
        self.suffixes: dict[str, list[ModuleFacts]] = {}
        for facts in graph.modules():
            parts = facts.module.split(".")
            for i in range(1, len(parts)):
                self.suffixes.setdefault(".".join(parts[i:]), []).append(facts)

    # what may change a value ---------------------------------------------------------------
    def _changed_by_name(self, name: str) -> bool:
        """Set from the command line, a config file, a string-named setattr / patch."""
        return (
            name in self.strings
            or name.lower() in self.dests
            or name.lower() in self.config_names
            or self.unreadable
        )

    def _module_constant_kept(self, facts: ModuleFacts, name: str) -> bool:
        if name.startswith("__") or name == "TYPE_CHECKING":
            return False
        if name in self.attr_bindings or facts.module in self.dynamic:
            return False  # config.USE_X = True somewhere, or setattr(config, key, value)
        return not self._changed_by_name(name)

    def _owner_kept(self, facts: ModuleFacts, qualname: str) -> bool:
        """Whether attributes of this class can only be set by the project's own code: no
        base outside the project, no ``setattr`` by computed names in its lineage's modules,
        never built from ``**kwargs``, never passed around as a value (a factory, a parser,
        ``from_dict``), and not a library's public class."""
        cls = self.classes.find(facts, qualname)
        if cls is None:
            return False
        lineage, outside = self.classes.lineage(facts, cls)
        if outside:
            return False
        for owner_facts, owner in lineage:
            name = owner.name
            if owner_facts.module in self.dynamic or self.calls.get(name, (0, False))[1]:
                return False
            if name in self.value_uses or name in self.strings:
                return False
            if public_api(self.graph, self.project, owner_facts.path, name):
                return False
        return True

    # lookups ---------------------------------------------------------------------------------
    def module(self, dotted: str) -> ModuleFacts | None:
        """The project module ``dotted`` names: exactly, or as the one module it ends."""
        found = self.graph.by_module.get(dotted)
        if found is not None:
            return found
        matches = self.suffixes.get(dotted, [])
        return matches[0] if len(matches) == 1 else None

    def module_flag(self, module: str, name: str) -> Flag | None:
        return self.module_flags.get((module, name))

    def attribute_flag(self, name: str) -> Flag | None:
        bindings = self.attr_bindings.get(name, [])
        if len(bindings) != 1:
            return None
        path, line, value, owner = bindings[0]
        if value == _OTHER or isinstance(value, str) or not owner:
            return None
        if name.startswith("__") or name in self.keywords or self._changed_by_name(name):
            return None
        facts = self.graph.by_path.get(path)
        if facts is None or not self._owner_kept(facts, owner):
            return None
        where = place(facts, line)
        what = f"`{name}` is always {value!r} (set once at {where}, never changed in the project)"
        return Flag(name, value, path, line, what)

    def config_flag(self, key: str) -> Flag | None:
        """A setting that every settings file of the project sets off (``use_mixup: false``
        in ``configs/train.yaml``) and nothing overrides: no other value, no store into the
        loaded settings, no keyword, option or attribute of that name, no command line in a
        script or pipeline file that names it (Hydra overrides)."""
        values = self.project.files.values.get(key)
        if not values or key.startswith("_") or self.cli_settings:
            return None
        if any(
            isinstance(v, str) or v not in FALSY or isinstance(v, (list, dict))
            for _, _, v in values
        ):
            return None
        if (
            key in self.key_stores
            or key in self.keywords
            or key in self.attr_bindings
            or key in self.strings
            or key.lower() in self.dests
            or key in self.run_names
            or self.unreadable
        ):
            return None
        path, line, value = values[0]
        where = f"{path}:{line}" + (f" and {len(values) - 1} more" if len(values) > 1 else "")
        return Flag(
            key, value, path, line, f"`{key}` is {value!r} in {where} and nothing overrides it"
        )

    def _indexed(self, usage: Usage) -> tuple[dict[tuple[str, str], Any], dict[str, Any]]:
        """A module's parameters by (function, name) and definitions by qualname (the first
        of each, as a scan would find), built once per module."""
        found = self._index_of.get(id(usage))
        if found is None or found[0] is not usage:
            params: dict[tuple[str, str], Any] = {}
            for param in usage.params:
                params.setdefault((param.function, param.name), param)
            definitions: dict[str, Any] = {}
            for definition in usage.definitions:
                definitions.setdefault(definition.qualname, definition)
            found = self._index_of[id(usage)] = (usage, params, definitions)
        return found[1], found[2]

    def parameter_flag(
        self, facts: ModuleFacts, usage: Usage, scope: str, name: str
    ) -> Flag | None:
        params, definitions = self._indexed(usage)
        param = params.get((scope, name))
        definition = definitions.get(scope)
        if param is None or definition is None or definition.kind == "class":
            return None
        if any(d not in TRANSPARENT_DECORATORS for d in definition.decorators):
            return None
        function = definition.name
        if function != "__init__" and (
            function in HOOKS or function.startswith(HOOK_PREFIXES) or function.startswith("__")
        ):
            return None
        callees = {function}
        if function == "__init__":
            owner = scope.rpartition(".")[0]
            callees = {owner.rpartition(".")[2], "__init__"}
            cls = owner.rpartition(".")[2]
            if cls in self.value_uses or cls in self.strings:
                return None
        elif function in self.value_uses or function in self.strings:
            return None  # passed around or named in a string: callers we cannot see
        shapes = [self.calls[c] for c in callees if c in self.calls]
        if not shapes or any(splat for _, splat in shapes):
            return None
        if name in self.keywords or self._changed_by_name(name):
            return None
        if param.index is not None and max(count for count, _ in shapes) > param.index:
            return None
        if public_api(self.graph, self.project, facts.path, function):
            return None
        where = f"`{scope}`"
        return Flag(
            name,
            param.default,
            facts.path,
            definition.line,
            f"parameter `{name}` of {where} defaults to {param.default!r} and no call in the "
            "project passes it",
        )

    # evaluation ------------------------------------------------------------------------------
    def evaluate(
        self, facts: ModuleFacts, usage: Usage, guard: Guard, test: Test, used: list[Flag]
    ) -> Any:
        kind = test[0]
        if kind == "c":
            return test[1]
        if kind == "g":
            return self._value(self.module_flag(facts.module, test[1]), used)
        if kind == "i":
            module, _, name = test[1].rpartition(".")
            target = self.module(module) if module else None
            if target is None:
                return UNKNOWN
            return self._value(self.module_flag(target.module, name), used)
        if kind == "a":
            receiver, name = test[1], test[2]
            target = self.module(receiver) if receiver and receiver != "self" else None
            if target is not None:
                return self._value(self.module_flag(target.module, name), used)
            flag = self.attribute_flag(name) or self.config_flag(name)
            return self._value(flag, used)
        if kind == "k":
            return self._value(self.config_flag(test[1]), used)
        if kind == "p":
            return self._value(self.parameter_flag(facts, usage, guard.scope, test[1]), used)
        if kind == "not":
            value = self.evaluate(facts, usage, guard, test[1], used)
            return UNKNOWN if value is UNKNOWN else not value
        if kind in ("and", "or"):
            values = [self.evaluate(facts, usage, guard, t, used) for t in test[1]]
            if kind == "and":
                if any(v is not UNKNOWN and not v for v in values):
                    return False
                return True if all(v is not UNKNOWN for v in values) else UNKNOWN
            if any(v is not UNKNOWN and v for v in values):
                return True
            return False if all(v is not UNKNOWN for v in values) else UNKNOWN
        if kind == "cmp":
            left = self.evaluate(facts, usage, guard, test[2], used)
            right = self.evaluate(facts, usage, guard, test[3], used)
            if left is UNKNOWN or right is UNKNOWN:
                return UNKNOWN
            return _compare(test[1], left, right)
        return UNKNOWN

    @staticmethod
    def _value(flag: Flag | None, used: list[Flag]) -> Any:
        if flag is None:
            return UNKNOWN
        used.append(flag)
        return flag.value


def _compare(op: str, left: Any, right: Any) -> Any:
    """``left op right`` for known constants; UNKNOWN where Python would raise."""
    same = type(left) is type(right) and left == right
    if op in ("is", "is not"):
        return same if op == "is" else not same
    if op in ("==", "!="):
        return (left == right) if op == "==" else (left != right)
    numbers = (int, float)
    if not (isinstance(left, numbers) and isinstance(right, numbers)):
        return UNKNOWN  # None < 1 raises; bool counts as a number, as in Python
    return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[op]


@dataclass(frozen=True)
class DeadBranch:
    facts: ModuleFacts
    guard: Guard
    dead: tuple[int, int]
    flags: tuple[Flag, ...]
    outcome: bool


def find_dead_branches(graph: ProjectGraph, project: ProjectUsage) -> Iterator[DeadBranch]:
    index = FlagIndex(graph, project)
    for facts, usage in index.usages:
        reported: list[tuple[int, int]] = []
        for guard in sorted(usage.guards, key=lambda g: (g.line, g.kind)):
            used: list[Flag] = []
            value = index.evaluate(facts, usage, guard, guard.test, used)
            if value is UNKNOWN:
                continue
            outcome = bool(value)
            dead = guard.orelse if outcome else guard.body
            if dead is None or (not outcome and guard.idiom):
                continue
            if outcome and guard.kind == "while":
                continue
            if any(start <= guard.line <= end for start, end in reported):
                continue  # inside a branch already reported as dead
            if not used and not _literal_worth_reporting(guard, outcome):
                continue
            reported.append(dead)
            yield DeadBranch(facts, guard, dead, tuple(dict.fromkeys(used)), outcome)


def _literal_worth_reporting(guard: Guard, outcome: bool) -> bool:
    """``if False:`` / ``while 0:`` / ``if True: ... else: <dead>`` - not ``while True``."""
    return not (outcome and guard.kind == "while")


class AlwaysOffFlag(UsageRule):
    code = "MLD211"
    name = "always-off-flag"
    category = "dead-experimental-code"
    severity = Severity.WARNING
    debt_minutes = 10.0
    debt_per_unit = 0.5
    tags = ("dead-code", "cross-file")
    summary = (
        "A branch that can never run: its flag is always off (`USE_X = False`, never changed) "
        "or its test is a constant (`if False:`)."
    )
    what = (
        "`if`, `elif`, `while` and conditional expressions whose test is known without running "
        "the code, and the branch that therefore never runs. The test may be a constant "
        "(`if False:`, `if 0:`, `while None:`, `if True: ... else:`) or read flags that are "
        "always off: a module-level constant set once to `False`, `0` or `None` "
        "(`USE_NEW_FEATURES = False`, read in the same module, imported with `from config "
        "import ...` or as `cfg.USE_NEW_FEATURES`), a class or instance attribute set exactly "
        "once in the project to such a value (`use_ema: bool = False` in a config class), "
        "a setting that every YAML / JSON / TOML settings file of the project turns off "
        '(`use_mixup: false` in `configs/train.yaml`, read as `cfg["use_mixup"]`, '
        '`cfg.get("use_mixup")` or `cfg.use_mixup`; not in projects whose command line can '
        "override any setting, such as Hydra or Fire ones), or a parameter defaulting to "
        "`False` / `None` that no call in the project passes. "
        "`not`, `and`, `or`, `is`, `==`, `!=` and numeric comparisons are followed. A flag "
        "counts as changed — and nothing is reported — when anything assigns it again "
        "(`global`, `config.USE_X = ...`, "
        "`setattr`), when a string names it (`getattr` / `setattr` / `mock.patch`), when an "
        "`argparse` option or a key of a YAML / TOML / JSON / INI file of the project has its "
        "name, or when the module's attributes are set from computed names "
        "(`setattr(config, key, value)`). Typing-only idioms (`if False:` around imports, "
        "`if False: yield`) and `TYPE_CHECKING` are left alone. One finding per dead branch, "
        "pointing at the flag's definition."
    )
    why = (
        "Sculley et al. (2015), section 6 'Dead experimental codepaths': flags for experiments "
        "that were switched off and never removed multiply the paths a reader must follow "
        "and that must keep working, and a flag flipped by mistake runs code nobody has "
        "tested in a long time (Knight Capital lost $465M that way)."
    )
    limits = (
        "Flags set by code outside the analysed project (a framework setting attributes, a "
        "config file loaded from elsewhere, an environment read under another name) are not "
        'seen; dictionaries of settings (`CONFIG["use_x"]`) are not followed. Parameters '
        "of a library's public functions are never treated as flags."
    )
    examples = (
        BAD(
            {
                "config.py": """
                DATA = "data/train.csv"
                USE_TARGET_ENCODING = False
                """,
                "train.py": """
                import pandas as pd
                from config import DATA, USE_TARGET_ENCODING

                df = pd.read_csv(DATA)
                if USE_TARGET_ENCODING:
                    means = df.groupby("city")["churn"].mean()
                    df["city_te"] = df["city"].map(means)
                """,
            },
            expect=1,
        ),
        BAD(
            """
            def train_epoch(model, loader, optimizer, use_amp=False):
                for x, y in loader:
                    if use_amp:
                        print("mixed precision")
                    loss = model(x, y)
                    loss.backward()
                    optimizer.step()

            def fit(model, loaders, optimizer):
                for loader in loaders:
                    train_epoch(model, loader, optimizer)
            """,
            expect=1,
        ),
        BAD(
            """
            if False:
                df = df.sample(frac=0.1)
            while 0:
                print("never")
            """,
            expect=2,
        ),
        GOOD(
            {
                "config.py": """
                import argparse

                DEBUG = False
                USE_AUGMENTATION = False

                def parse():
                    global DEBUG
                    parser = argparse.ArgumentParser()
                    parser.add_argument("--debug", action="store_true")
                    DEBUG = parser.parse_args().debug
                """,
                "train.py": """
                import config

                config.USE_AUGMENTATION = True
                if config.DEBUG:
                    print("debugging")
                if config.USE_AUGMENTATION:
                    print("augmenting")
                """,
            }
        ),
        GOOD(
            """
            from typing import TYPE_CHECKING

            if TYPE_CHECKING:
                import pandas as pd
            if False:  # for type checkers only
                from numpy import ndarray
            while True:
                break
            """
        ),
        GOOD(
            {
                "configs/base.yaml": """
                model:
                  use_mixup: false
                  hidden: 256
                """,
                "configs/strong_aug.yaml": """
                model:
                  use_mixup: true
                """,
                "train.py": """
                import sys

                import yaml

                with open(sys.argv[1]) as fh:
                    cfg = yaml.safe_load(fh)
                if cfg["model"]["use_mixup"]:
                    print("mixup on")
                """,
            }
        ),
    )

    def check(self) -> None:
        project = project_usage(self.graph)
        for branch in find_dead_branches(self.graph, project):
            guard, facts = branch.guard, branch.facts
            text = guard.text or guard.kind
            text = "the conditional expression" if guard.kind == "ifexp" else f"`{_shorten(text)}`"
            start, end = branch.dead
            span = lines_text(facts, start, end)
            which = "its else branch never runs" if branch.outcome else "its body never runs"
            if branch.flags:
                reason = "; ".join(f.what for f in branch.flags)
            else:
                reason = "the test is a constant"
            related = [
                Location(f.path, f.line, message=f"`{f.name}` set to {f.value!r} here")
                for f in branch.flags
            ]
            self.report(
                facts.path,
                guard.line,
                f"{text}: {which} ({span}, dead code): {reason}",
                end_line=max(end, guard.line),
                key=f"{guard.scope}|{text}|{','.join(f.name for f in branch.flags)}",
                size=end - start + 1,
                related=related,
            )


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
