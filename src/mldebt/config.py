"""``[tool.mldebt]`` in pyproject.toml, or ``mldebt.toml``: loading, validation, rule selection."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mldebt.findings import CATEGORIES, Severity
from mldebt.registry import Registry
from mldebt.rule import Rule

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]


class ConfigError(Exception):
    """Invalid configuration: the CLI prints the message and exits 2."""


FAIL_ON = ("error", "warning", "info", "never")
DEFAULT_EXCLUDE = (
    ".git",
    ".hg",
    ".svn",
    ".venv",
    "venv",
    ".tox",
    ".nox",
    ".eggs",
    "*.egg-info",
    "__pycache__",
    ".ipynb_checkpoints",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    ".mldebt_cache",
    "build",
    "dist",
    "site-packages",
    "node_modules",
)

# key -> (expected type description, checker)
_LIST_OF_STR = "a list of strings"


def _is_str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


_KEYS: dict[str, str] = {
    "select": _LIST_OF_STR,
    "extend-select": _LIST_OF_STR,
    "ignore": _LIST_OF_STR,
    "per-file-ignores": "a table of glob = list of codes",
    "exclude": _LIST_OF_STR,
    "extend-exclude": _LIST_OF_STR,
    "severity": "a table of code = severity",
    "options": "a table of rule = table of options",
    "fail-on": "one of " + ", ".join(FAIL_ON),
    "preview": "a boolean",
    "respect-gitignore": "a boolean",
}


@dataclass
class Config:
    """The effective configuration: file settings with command-line overrides applied."""

    root: Path
    source: Path | None = None
    select: list[str] | None = None
    extend_select: list[str] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)
    per_file_ignores: dict[str, list[str]] = field(default_factory=dict)
    exclude: list[str] = field(default_factory=lambda: list(DEFAULT_EXCLUDE))
    extend_exclude: list[str] = field(default_factory=list)
    severity: dict[str, str] = field(default_factory=dict)
    options: dict[str, dict[str, Any]] = field(default_factory=dict)
    fail_on: str = "warning"
    preview: bool = False
    respect_gitignore: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {
            "config-file": str(self.source) if self.source else None,
            "root": str(self.root),
            "select": self.select,
            "extend-select": self.extend_select,
            "ignore": self.ignore,
            "per-file-ignores": self.per_file_ignores,
            "exclude": self.exclude,
            "extend-exclude": self.extend_exclude,
            "severity": self.severity,
            "options": self.options,
            "fail-on": self.fail_on,
            "preview": self.preview,
            "respect-gitignore": self.respect_gitignore,
        }


def find_config(start: Path) -> tuple[Path | None, dict[str, Any]]:
    """Walk up from ``start`` to the first mldebt.toml or pyproject.toml with [tool.mldebt]."""
    here = start.resolve()
    if not here.is_dir():
        here = here.parent
    for folder in (here, *here.parents):
        dedicated = folder / "mldebt.toml"
        if dedicated.is_file():
            return dedicated, _read_toml(dedicated)
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file():
            data = _read_toml(pyproject)
            tool = data.get("tool", {})
            if isinstance(tool, dict) and "mldebt" in tool:
                table = tool["mldebt"]
                if not isinstance(table, dict):
                    raise ConfigError(f"{pyproject}: [tool.mldebt] must be a table")
                return pyproject, table
    return None, {}


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            data: dict[str, Any] = tomllib.load(handle)
            return data
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None


def load_config(start: Path, explicit: Path | None = None) -> Config:
    """The configuration for analysing ``start`` (or the file named by ``--config``)."""
    if explicit is not None:
        if not explicit.is_file():
            raise ConfigError(f"{explicit}: configuration file not found")
        data = _read_toml(explicit)
        if explicit.name == "pyproject.toml":
            data = data.get("tool", {}).get("mldebt", {})
        source: Path | None = explicit.resolve()
    else:
        source, data = find_config(start)
    if source is not None:
        root = source.parent
    else:
        resolved = start.resolve()
        root = resolved if resolved.is_dir() else resolved.parent
    return parse_config(data, root, source)


def parse_config(data: Mapping[str, Any], root: Path, source: Path | None) -> Config:
    where = str(source) if source else "configuration"
    config = Config(root=root, source=source)
    for key, value in data.items():
        if key not in _KEYS:
            known = ", ".join(sorted(_KEYS))
            raise ConfigError(f"{where}: unknown key {key!r} in [tool.mldebt] (known: {known})")
        _check_type(where, key, value)
    config.select = data.get("select")
    config.extend_select = data.get("extend-select", [])
    config.ignore = data.get("ignore", [])
    config.per_file_ignores = dict(data.get("per-file-ignores", {}))
    if "exclude" in data:
        config.exclude = list(data["exclude"])
    config.extend_exclude = data.get("extend-exclude", [])
    config.severity = dict(data.get("severity", {}))
    config.options = {k: dict(v) for k, v in data.get("options", {}).items()}
    config.fail_on = data.get("fail-on", "warning")
    config.preview = data.get("preview", False)
    config.respect_gitignore = data.get("respect-gitignore", True)
    return config


def _check_type(where: str, key: str, value: Any) -> None:
    expected = _KEYS[key]
    ok: bool
    if expected == _LIST_OF_STR:
        ok = _is_str_list(value)
    elif key == "per-file-ignores":
        ok = isinstance(value, dict) and all(_is_str_list(v) for v in value.values())
    elif key == "severity":
        ok = isinstance(value, dict) and all(
            v in {s.value for s in Severity} for v in value.values()
        )
    elif key == "options":
        ok = isinstance(value, dict) and all(isinstance(v, dict) for v in value.values())
    elif key == "fail-on":
        ok = value in FAIL_ON
    else:
        ok = isinstance(value, bool)
    if not ok:
        raise ConfigError(f"{where}: {key!r} must be {expected}, got {value!r}")


@dataclass(frozen=True)
class EnabledRule:
    rule: type[Rule]
    severity: Severity
    options: Mapping[str, Any]


def _matches(selector: str, rule: type[Rule]) -> bool:
    if selector == "ALL":
        return True
    if selector in (rule.code, rule.name, rule.category):
        return True
    return selector.isupper() and rule.code.startswith(selector)


def _exact(selector: str, rule: type[Rule]) -> bool:
    return selector in (rule.code, rule.name)


def check_selectors(where: str, key: str, selectors: Iterable[str], registry: Registry) -> None:
    for selector in selectors:
        if selector in CATEGORIES or selector == "ALL":
            continue
        if not any(_matches(selector, rule) for rule in registry.rules.values()):
            raise ConfigError(f"{where}: unknown rule code or name {selector!r} in {key!r}")


def resolve_rules(config: Config, registry: Registry) -> list[EnabledRule]:
    """The rules this run enables, each with its effective severity and options."""
    where = str(config.source) if config.source else "command line"
    check_selectors(where, "select", config.select or [], registry)
    check_selectors(where, "extend-select", config.extend_select, registry)
    check_selectors(where, "ignore", config.ignore, registry)
    for pattern, codes in config.per_file_ignores.items():
        check_selectors(where, f"per-file-ignores {pattern!r}", codes, registry)
    check_selectors(where, "severity", config.severity, registry)
    check_selectors(where, "options", config.options, registry)

    chosen = [*(config.select if config.select is not None else ["ALL"]), *config.extend_select]
    enabled: list[EnabledRule] = []
    for rule in registry.sorted():
        if not any(_matches(s, rule) for s in chosen):
            continue
        if (
            rule.status == "preview"
            and not config.preview
            and not any(_exact(s, rule) for s in chosen)
        ):
            continue
        if any(_matches(s, rule) for s in config.ignore):
            continue
        enabled.append(EnabledRule(rule, _severity(config, rule), _options(config, rule, where)))
    return enabled


def _severity(config: Config, rule: type[Rule]) -> Severity:
    for key in (rule.code, rule.name):
        if key in config.severity:
            return Severity(config.severity[key])
    return rule.severity


def _options(config: Config, rule: type[Rule], where: str) -> dict[str, Any]:
    merged = dict(rule.options)
    for key in (rule.code, rule.name):
        for option, value in config.options.get(key, {}).items():
            if option not in rule.options:
                known = ", ".join(rule.options) or "none"
                raise ConfigError(
                    f"{where}: rule {rule.code} [{rule.name}] has no option {option!r} "
                    f"(options: {known})"
                )
            default = rule.options[option]
            if not _same_type(default, value):
                raise ConfigError(
                    f"{where}: option {option!r} of {rule.name} must be "
                    f"{type(default).__name__}, got {value!r}"
                )
            merged[option] = value
    return merged


def _same_type(default: Any, value: Any) -> bool:
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(default, bool) and isinstance(value, bool)
    if isinstance(default, float):
        return isinstance(value, (int, float))
    if isinstance(default, (list, tuple)):
        return isinstance(value, list)
    return isinstance(value, type(default))
