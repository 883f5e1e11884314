"""Rule packs: discovered through the ``mldebt.rules`` entry point, the built-in one included.

An entry point names a package (or module). Every ``FileRule`` / ``ProjectRule`` subclass with
a ``code`` defined in it or in its submodules is a rule; there is nothing else to register.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import pkgutil
import sys
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType

from mldebt.analysis_rules import ANALYSIS_RULES
from mldebt.rule import FileRule, ProjectRule, Rule

ENTRY_POINT_GROUP = "mldebt.rules"


class RegistryError(Exception):
    """A rule pack that cannot be loaded or clashes with another."""


@dataclass
class Registry:
    rules: dict[str, type[Rule]] = field(default_factory=dict)  # by code
    packs: dict[str, str] = field(default_factory=dict)  # code -> pack name
    signature: str = ""  # changes whenever any rule's code changes (part of cache keys)

    def add(self, rule: type[Rule], pack: str) -> None:
        if self.rules.get(rule.code) is rule:
            return  # the same class reached twice (a pack re-exporting its own rules)
        problems = rule.metadata_problems()
        if problems:
            raise RegistryError(f"rule {rule.__name__} in pack {pack!r}: {'; '.join(problems)}")
        for other in self.rules.values():
            if other.code == rule.code or other.name == rule.name:
                raise RegistryError(
                    f"rule {rule.code} [{rule.name}] of pack {pack!r} clashes with "
                    f"{other.code} [{other.name}] of pack {self.packs[other.code]!r}"
                )
        self.rules[rule.code] = rule
        self.packs[rule.code] = pack

    def lookup(self, code_or_name: str) -> type[Rule] | None:
        if code_or_name in self.rules:
            return self.rules[code_or_name]
        for rule in self.rules.values():
            if rule.name == code_or_name:
                return rule
        return None

    def sorted(self) -> list[type[Rule]]:
        return sorted(self.rules.values(), key=lambda r: r.code)


def rules_in(pack: ModuleType) -> list[type[Rule]]:
    """Every concrete rule class defined in a module or package and its submodules."""
    modules = [pack]
    if hasattr(pack, "__path__"):
        for info in sorted(
            pkgutil.walk_packages(pack.__path__, pack.__name__ + ".", onerror=_broken),
            key=lambda i: i.name,
        ):
            try:
                modules.append(importlib.import_module(info.name))
            except Exception as exc:
                raise RegistryError(
                    f"cannot import {info.name} of rule pack {pack.__name__}: "
                    f"{type(exc).__name__}: {exc}"
                ) from exc
    found: list[type[Rule]] = []
    for module in modules:
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if (
                obj.__module__ == module.__name__
                and issubclass(obj, (FileRule, ProjectRule))
                and obj.code
            ):
                found.append(obj)
    return found


def _broken(name: str) -> None:
    """``walk_packages`` calls this, inside its ``except``, when a subpackage fails to import."""
    error = sys.exc_info()[1]
    reason = f"{type(error).__name__}: {error}" if error else "import failed"
    raise RegistryError(f"cannot import {name} of a rule pack: {reason}")


def _fingerprint(modules: list[ModuleType]) -> str:
    digest = hashlib.sha256()
    for module in sorted(modules, key=lambda m: m.__name__):
        source = getattr(module, "__file__", None)
        digest.update(module.__name__.encode())
        if source and Path(source).is_file():
            digest.update(Path(source).read_bytes())
    return digest.hexdigest()[:16]


_CACHED: Registry | None = None


def load_registry() -> Registry:
    """The analysis rules plus every installed pack's rules (loaded once per process)."""
    global _CACHED
    if _CACHED is not None:
        return _CACHED
    registry = Registry()
    for rule in ANALYSIS_RULES:
        registry.add(rule, "mldebt")
    loaded: list[ModuleType] = []
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        try:
            pack = ep.load()
        except Exception as exc:  # a broken third-party pack must not look like our crash
            raise RegistryError(
                f"cannot load rule pack {ep.name!r} (entry point {ep.value!r} in group "
                f"{ENTRY_POINT_GROUP!r}): {type(exc).__name__}: {exc}"
            ) from exc
        if not isinstance(pack, ModuleType):
            raise RegistryError(f"rule pack {ep.name!r} must name a module or package")
        for rule in rules_in(pack):
            registry.add(rule, ep.name)
        loaded.extend(m for m in _submodules(pack))
    registry.signature = _fingerprint(loaded)
    _CACHED = registry
    return registry


def _submodules(pack: ModuleType) -> list[ModuleType]:
    prefix = pack.__name__
    return [
        m
        for name, m in list(sys.modules.items())
        if name == prefix or name.startswith(prefix + ".")
    ]


def reset() -> None:
    """Forget the loaded registry (tests install packs at run time)."""
    global _CACHED
    _CACHED = None
    importlib.invalidate_caches()  # let entry points and modules added since be found
