"""``[tool.mldebt]`` in pyproject.toml, or ``mldebt.toml``: loading, validation, rule selection.

The configuration is found by walking up from the analysed path to the first folder holding a
``mldebt.toml`` (settings at its top level) or a ``pyproject.toml`` with a ``[tool.mldebt]``
table; that folder is the root that paths, excludes and the cache are relative to. Every
mistake (unknown key, wrong type, unknown rule) is a ``ConfigError`` naming the key and the
file; the command line turns it into a message and exit code 2.

Selectors (in ``select``, ``ignore``, ``per-file-ignores``, ``severity``) are a rule code
(``MLD201``), a rule name (``commented-out-code``), a code prefix (``MLD2``), a category
(``dead-experimental-code``) or ``ALL``. ``ignore`` wins over ``select``. Options are set per
rule, by code or name only.
"""

from __future__ import annotations

import difflib
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pathspec

from mldebt.analysis_rules import InternalError
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
DEFAULT_FAIL_ON = "warning"
SEVERITIES = tuple(s.value for s in Severity)
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

_LIST_OF_STR = "a list of strings"
_BOOL = "true or false"
_PATH = "a path (a string, relative to the configuration file)"

#: Every key the configuration accepts, with what its value must be.
KEYS: dict[str, str] = {
    "select": _LIST_OF_STR,
    "extend-select": _LIST_OF_STR,
    "ignore": _LIST_OF_STR,
    "per-file-ignores": 'a table of "glob" = [rule codes or names]',
    "exclude": _LIST_OF_STR,
    "extend-exclude": _LIST_OF_STR,
    "severity": "a table of rule = " + " | ".join(f'"{s}"' for s in SEVERITIES),
    "options": "a table of tables: [tool.mldebt.options.<rule code or name>]",
    "fail-on": "one of " + ", ".join(f'"{v}"' for v in FAIL_ON),
    "preview": _BOOL,
    "respect-gitignore": _BOOL,
    "baseline": _PATH,
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
    fail_on: str = DEFAULT_FAIL_ON
    preview: bool = False
    respect_gitignore: bool = True
    baseline: str | None = None  # relative to ``root``

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
            "baseline": self.baseline,
        }


# finding and reading the file ----------------------------------------------------------------


def _resolve(path: Path) -> Path:
    """``path.resolve()``; for a symbolic link loop, its folder (discovery then reports it)."""
    try:
        return path.resolve()
    except (RuntimeError, OSError):
        return path.absolute().parent.resolve()


def find_config(start: Path) -> tuple[Path | None, dict[str, Any]]:
    """Walk up from ``start`` to the first mldebt.toml, or pyproject.toml with [tool.mldebt].

    A folder's mldebt.toml wins over its pyproject.toml.
    """
    here = _resolve(start)
    if not here.is_dir():
        here = here.parent
    for folder in (here, *here.parents):
        dedicated = folder / "mldebt.toml"
        if dedicated.is_file():
            return dedicated, _settings(dedicated, _read_toml(dedicated))
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file():
            data = _read_toml(pyproject)
            if _has_tool_table(data):
                return pyproject, _settings(pyproject, data)
    return None, {}


def _has_tool_table(data: Mapping[str, Any]) -> bool:
    tool = data.get("tool")
    return isinstance(tool, dict) and "mldebt" in tool


def _settings(path: Path, data: dict[str, Any]) -> dict[str, Any]:
    """The mldebt settings in a parsed file: [tool.mldebt] of a pyproject.toml; the top level
    of a mldebt.toml (which may also use a [tool.mldebt] table)."""
    if path.name == "pyproject.toml" or set(data) == {"tool"}:
        tool = data.get("tool", {})
        if not isinstance(tool, dict):
            raise ConfigError(f"{path}: 'tool' must be a table")
        table = tool.get("mldebt", {})
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: [tool.mldebt] must be a table, got {table!r}")
        return table
    return data


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            data: dict[str, Any] = tomllib.load(handle)
            return data
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None


def load_config(start: Path, explicit: Path | None = None) -> Config:
    """The configuration for analysing ``start`` (or the file named by ``--config``)."""
    if explicit is not None:
        if not explicit.is_file():
            raise ConfigError(f"{explicit}: configuration file not found")
        source: Path | None = explicit.resolve()
        assert source is not None
        data = _settings(source, _read_toml(source))
    else:
        source, data = find_config(start)
    if source is not None:
        root = source.parent
    else:
        resolved = _resolve(start)
        root = resolved if resolved.is_dir() else resolved.parent
    return parse_config(data, root, source)


# validation ----------------------------------------------------------------------------------


def _is_str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _wrong(where: str, key: str, expected: str, value: Any) -> ConfigError:
    return ConfigError(f"{where}: {key!r} must be {expected}, got {value!r}")


def parse_config(data: Mapping[str, Any], root: Path, source: Path | None) -> Config:
    """Validate the settings of one file (types only: rules are checked by ``resolve_rules``)."""
    where = str(source) if source else "configuration"
    for key, value in data.items():
        if key not in KEYS:
            hint = difflib.get_close_matches(key.replace("_", "-"), KEYS, n=1)
            suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
            known = ", ".join(sorted(KEYS))
            raise ConfigError(f"{where}: unknown key {key!r}{suggestion} (known keys: {known})")
        _check_type(where, key, value)
    config = Config(root=root, source=source)
    config.select = list(data["select"]) if "select" in data else None
    config.extend_select = list(data.get("extend-select", []))
    config.ignore = list(data.get("ignore", []))
    config.per_file_ignores = {k: list(v) for k, v in data.get("per-file-ignores", {}).items()}
    if "exclude" in data:
        config.exclude = list(data["exclude"])
    config.extend_exclude = list(data.get("extend-exclude", []))
    config.severity = dict(data.get("severity", {}))
    config.options = {k: dict(v) for k, v in data.get("options", {}).items()}
    config.fail_on = data.get("fail-on", DEFAULT_FAIL_ON)
    config.preview = data.get("preview", False)
    config.respect_gitignore = data.get("respect-gitignore", True)
    config.baseline = data.get("baseline")
    return config


def _check_type(where: str, key: str, value: Any) -> None:
    expected = KEYS[key]
    if expected == _LIST_OF_STR:
        if not _is_str_list(value):
            raise _wrong(where, key, expected, value)
        if key in ("exclude", "extend-exclude"):
            for pattern in value:
                _check_pattern(where, key, pattern)
    elif expected == _BOOL:
        if not isinstance(value, bool):
            raise _wrong(where, key, expected, value)
    elif expected == _PATH:
        if not isinstance(value, str) or not value.strip():
            raise _wrong(where, key, expected, value)
    elif key == "fail-on":
        if not isinstance(value, str) or value not in FAIL_ON:
            raise _wrong(where, key, expected, value)
    elif not isinstance(value, dict):
        raise _wrong(where, key, expected, value)
    elif key == "per-file-ignores":
        for pattern, codes in value.items():
            _check_pattern(where, "per-file-ignores", pattern)
            if not _is_str_list(codes):
                raise _wrong(where, f"per-file-ignores.{pattern}", _LIST_OF_STR, codes)
    elif key == "severity":
        for rule, level in value.items():
            if not isinstance(level, str) or level not in SEVERITIES:
                choices = " | ".join(f'"{s}"' for s in SEVERITIES)
                raise _wrong(where, f"severity.{rule}", choices, level)
    elif key == "options":
        for rule, table in value.items():
            if not isinstance(table, dict):
                raise _wrong(where, f"options.{rule}", "a table of option = value", table)


def _check_pattern(where: str, key: str, pattern: str) -> None:
    try:
        pathspec.GitIgnoreSpec.from_lines([pattern])
    except ValueError as exc:
        raise ConfigError(f"{where}: {key!r} has an invalid pattern {pattern!r}: {exc}") from None


# selection -----------------------------------------------------------------------------------


def specificity(selector: str, rule: type[Rule]) -> int | None:
    """How precisely ``selector`` names ``rule`` (higher is more precise); None: not at all.

    ``ALL`` < category < code prefix (longer is more precise) < exact code or name.
    """
    if selector in (rule.code, rule.name):
        return 1000
    if _is_prefix(selector) and rule.code.startswith(selector):
        return 10 + len(selector)
    if selector == rule.category:
        return 2
    if selector == "ALL":
        return 1
    return None


def _is_prefix(selector: str) -> bool:
    return selector.isalnum() and selector.isupper() and selector[0].isalpha()


def matches(selector: str, rule: type[Rule]) -> bool:
    """True when ``selector`` (code, name, code prefix, category or ``ALL``) names ``rule``."""
    return specificity(selector, rule) is not None


def check_selectors(where: str, key: str, selectors: Iterable[str], registry: Registry) -> None:
    """Every selector must name at least one installed rule (or be a category or ``ALL``)."""
    for selector in selectors:
        if selector in CATEGORIES or selector == "ALL":
            continue
        if not any(matches(selector, rule) for rule in registry.rules.values()):
            raise ConfigError(f"{where}: unknown rule code or name {selector!r} in {key!r}")


@dataclass(frozen=True)
class EnabledRule:
    rule: type[Rule]
    severity: Severity
    options: Mapping[str, Any]


def resolve_rules(config: Config, registry: Registry) -> list[EnabledRule]:
    """The rules this run enables, each with its effective severity and options.

    A rule is enabled when ``select`` (default ``ALL``) or ``extend-select`` names it and
    ``ignore`` does not; MLD005 (internal-error) stays on unless ignored by code or name.
    Rules with status ``preview`` need ``preview = true`` unless they are
    selected by exact code or name.
    """
    where = str(config.source) if config.source else "configuration"
    check_selectors(where, "select", config.select or [], registry)
    check_selectors(where, "extend-select", config.extend_select, registry)
    check_selectors(where, "ignore", config.ignore, registry)
    for pattern, codes in config.per_file_ignores.items():
        check_selectors(where, f"per-file-ignores.{pattern}", codes, registry)
    check_selectors(where, "severity", config.severity, registry)
    options = {rule.code: _options(config, rule, where) for rule in registry.sorted()}
    for key in config.options:
        if registry.lookup(key) is None:
            raise ConfigError(
                f"{where}: unknown rule code or name {key!r} in 'options' "
                "(options are set per rule, by its code or name)"
            )

    chosen = [*(config.select if config.select is not None else ["ALL"]), *config.extend_select]
    enabled: list[EnabledRule] = []
    for rule in registry.sorted():
        levels = [level for s in chosen if (level := specificity(s, rule)) is not None]
        if rule is InternalError and not any(s in (rule.code, rule.name) for s in config.ignore):
            levels.append(1000)  # a gap in the analysis is never silent, whatever is selected
        if not levels:
            continue
        if rule.status == "preview" and not config.preview and max(levels) < 1000:
            continue
        if any(matches(s, rule) for s in config.ignore):
            continue
        enabled.append(EnabledRule(rule, _severity(config, rule), options[rule.code]))
    return enabled


def _severity(config: Config, rule: type[Rule]) -> Severity:
    """The override from the most precise selector naming the rule, else its default."""
    best: tuple[int, str] | None = None
    for selector, level in config.severity.items():
        precision = specificity(selector, rule)
        if precision is not None and (best is None or precision > best[0]):
            best = (precision, level)
    return Severity(best[1]) if best else rule.severity


def _options(config: Config, rule: type[Rule], where: str) -> dict[str, Any]:
    merged = dict(rule.options)
    for key in (rule.code, rule.name):
        for option, value in config.options.get(key, {}).items():
            name = f"options.{key}.{option}"
            if option not in rule.options:
                known = ", ".join(rule.options) or "none"
                raise ConfigError(
                    f"{where}: unknown option {name!r}: rule {rule.code} [{rule.name}] "
                    f"has options: {known}"
                )
            default = rule.options[option]
            if not _same_type(default, value):
                raise _wrong(where, name, _describe(default), value)
            merged[option] = value
    return merged


def _describe(default: Any) -> str:
    if isinstance(default, bool):
        return _BOOL
    if isinstance(default, (list, tuple)):
        plural = {"str": "strings", "int": "integers", "float": "numbers", "bool": "booleans"}
        kinds = sorted({plural.get(type(i).__name__, type(i).__name__) for i in default})
        return f"a list of {' or '.join(kinds)}" if kinds else "a list"
    if isinstance(default, float):
        return "a number"
    return {"int": "an integer", "str": "a string"}.get(type(default).__name__, "a table")


def _same_type(default: Any, value: Any) -> bool:
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(default, bool) and isinstance(value, bool)
    if isinstance(default, float):
        return isinstance(value, (int, float))
    if isinstance(default, (list, tuple)):
        samples = list(default)
        return isinstance(value, list) and (
            not samples or all(any(_same_type(s, item) for s in samples) for item in value)
        )
    return isinstance(value, type(default))


# command-line overrides ----------------------------------------------------------------------


def apply_overrides(
    config: Config,
    registry: Registry,
    *,
    select: Sequence[str] = (),
    extend_select: Sequence[str] = (),
    ignore: Sequence[str] = (),
    exclude: Sequence[str] = (),
    extend_exclude: Sequence[str] = (),
    preview: bool | None = None,
    fail_on: str | None = None,
    respect_gitignore: bool | None = None,
) -> Config:
    """Apply command-line flags, which win over the file.

    ``--select`` replaces the file's whole selection (its select, extend-select and ignore);
    ``--extend-select`` and ``--ignore`` add to it; ``--exclude`` replaces the file's exclude
    patterns and ``--extend-exclude`` adds to them.
    """
    for flag, values in (
        ("--select", select),
        ("--extend-select", extend_select),
        ("--ignore", ignore),
    ):
        check_selectors("command line", flag, values, registry)
    for flag, patterns in (("--exclude", exclude), ("--extend-exclude", extend_exclude)):
        for pattern in patterns:
            _check_pattern("command line", flag, pattern)
    if select:
        config.select = list(select)
        config.extend_select = []
        config.ignore = []
    config.extend_select = [*config.extend_select, *extend_select]
    config.ignore = [*config.ignore, *ignore]
    if exclude:
        config.exclude = list(exclude)
    config.extend_exclude = [*config.extend_exclude, *extend_exclude]
    if preview is not None:
        config.preview = preview
    if fail_on is not None:
        if fail_on not in FAIL_ON:
            raise _wrong("command line", "--fail-on", KEYS["fail-on"], fail_on)
        config.fail_on = fail_on
    if respect_gitignore is not None:
        config.respect_gitignore = respect_gitignore
    return config


class PerFileIgnores:
    """``per-file-ignores`` compiled once: which selectors apply to a path."""

    def __init__(self, table: Mapping[str, Sequence[str]]) -> None:
        self.entries = [
            (pathspec.GitIgnoreSpec.from_lines([pattern]), list(selectors))
            for pattern, selectors in table.items()
        ]

    def selectors(self, path: str) -> list[str]:
        return [s for spec, selectors in self.entries if spec.match_file(path) for s in selectors]

    @staticmethod
    def ignores(selectors: Sequence[str], rule: type[Rule]) -> bool:
        return any(matches(s, rule) for s in selectors)
