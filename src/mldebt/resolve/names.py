"""Dotted names, import targets and their canonical spelling.

Everything here is pure syntax: it never imports the analysed code or the libraries it names.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from functools import lru_cache

import libcst as cst

from mldebt.facts.model import module_name


def dotted(node: cst.BaseExpression) -> str | None:
    """``a.b.c`` for a Name/Attribute chain, else None."""
    parts: list[str] = []
    while isinstance(node, cst.Attribute):
        parts.append(node.attr.value)
        node = node.value
    if not isinstance(node, cst.Name):
        return None
    parts.append(node.value)
    parts.reverse()
    return ".".join(parts)


# Re-exports and private homes, rewritten to the one spelling rules match on. Applied to the
# start of a qualified name, first match wins; each maps a prefix to its replacement.
_PREFIXES: tuple[tuple[str, str], ...] = (
    ("tensorflow.python.keras", "keras"),
    ("tensorflow.keras", "keras"),
    ("tf_keras", "keras"),
    ("keras.src", "keras"),
    ("keras.api", "keras"),
    ("keras._tf_keras.keras", "keras"),
    ("tensorflow.compat.v2", "tensorflow"),
    ("keras.models.Sequential", "keras.Sequential"),
    ("keras.models.Model", "keras.Model"),
    ("keras.engine.sequential.Sequential", "keras.Sequential"),
    ("keras.engine.training.Model", "keras.Model"),
    ("keras.engine.base_layer.Layer", "keras.layers.Layer"),
    ("pandas.core.frame.DataFrame", "pandas.DataFrame"),
    ("pandas.core.series.Series", "pandas.Series"),
    ("pandas.core.reshape.concat.concat", "pandas.concat"),
    ("pandas.core.reshape.merge.merge", "pandas.merge"),
    ("numpy._core", "numpy"),
    ("numpy.core", "numpy"),
    ("numpy.random.mtrand", "numpy.random"),
    ("numpy.random._generator", "numpy.random"),
    ("torch.autograd.grad_mode", "torch"),
    ("torch.utils.data.dataloader", "torch.utils.data"),
    ("torch.utils.data.dataset", "torch.utils.data"),
    ("torch.utils.data.sampler", "torch.utils.data"),
    ("torch.optim.optimizer", "torch.optim"),
    ("sklearn.cross_validation", "sklearn.model_selection"),
    ("sklearn.grid_search", "sklearn.model_selection"),
    ("xgboost.sklearn", "xgboost"),
    ("lightgbm.sklearn", "lightgbm"),
    ("catboost.core", "catboost"),
)
_PREFIX_HEADS = frozenset(p.split(".")[0] for p, _ in _PREFIXES)

# Private submodules whose public names live one level up: ``torch.nn.modules.linear.Linear``
# is ``torch.nn.Linear``; ``sklearn.preprocessing._data.StandardScaler`` is
# ``sklearn.preprocessing.StandardScaler``; ``pandas.io.parsers.readers.read_csv`` is
# ``pandas.read_csv``.
_SUBMODULE_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^torch\.nn\.modules(?:\.\w+)?\.([A-Z]\w*)(.*)$"), r"torch.nn.\1\2"),
    (re.compile(r"^torch\.optim\.(?!lr_scheduler\b)[a-z_]+\.([A-Z]\w*)(.*)$"), r"torch.optim.\1\2"),
    (re.compile(r"^sklearn\.(\w+)\.(?:_\w+\.)+(\w+)(.*)$"), r"sklearn.\1.\2\3"),
    (re.compile(r"^pandas\.io(?:\.\w+)*\.(read_\w+)$"), r"pandas.\1"),
)


@lru_cache(maxsize=8192)
def canonical(name: str) -> str:
    """The one spelling of a qualified name that rules match on.

    >>> canonical("tensorflow.keras.layers.Dense")
    'keras.layers.Dense'
    >>> canonical("torch.nn.modules.module.Module")
    'torch.nn.Module'
    """
    head = name.partition(".")[0]
    rewrites = 0
    # tensorflow.keras.models.Sequential -> keras.models.Sequential -> keras.Sequential
    while head in _PREFIX_HEADS and rewrites < 3:
        for prefix, replacement in _PREFIXES:
            if name == prefix or name.startswith(prefix + "."):
                name = replacement + name[len(prefix) :]
                break
        else:
            break
        head = name.partition(".")[0]
        rewrites += 1
    if head in ("torch", "sklearn", "pandas"):
        for pattern, replacement in _SUBMODULE_PATTERNS:
            if pattern.match(name):
                name = pattern.sub(replacement, name)
                break
    return name


def package_of(path: str) -> str:
    """The package a file's relative imports start from (``pkg/sub/mod.py`` -> ``pkg.sub``)."""
    module = module_name(path)
    if path.endswith("__init__.py"):
        return module
    return module.rpartition(".")[0]


def import_from_base(node: cst.ImportFrom, package: str) -> str:
    """The absolute module an ``import from`` names, relative dots resolved against ``package``."""
    module = dotted(node.module) if node.module is not None else ""
    level = len(node.relative)
    if not level:
        return module or ""
    base = package.split(".") if package else []
    if level > 1:
        base = base[: max(len(base) - (level - 1), 0)]
    return ".".join(p for p in [*base, module or ""] if p)


def import_bindings(node: cst.Import | cst.ImportFrom, package: str) -> Iterator[tuple[str, str]]:
    """``(local name, qualified target)`` for each name an import statement binds.

    ``import a.b`` binds ``a`` to ``a``; ``import a.b as c`` binds ``c`` to ``a.b``;
    ``from a import b as c`` binds ``c`` to ``a.b``. Star imports bind nothing we can name.
    """
    if isinstance(node, cst.Import):
        for alias in node.names:
            target = dotted(alias.name)
            if target is None:
                continue
            asname = alias.asname.name if alias.asname is not None else None
            if isinstance(asname, cst.Name):
                yield asname.value, canonical(target)
            else:
                head = target.partition(".")[0]
                yield head, head
        return
    if isinstance(node.names, cst.ImportStar):
        return
    base = import_from_base(node, package)
    for alias in node.names:
        name = dotted(alias.name)
        if name is None:
            continue
        asname = alias.asname.name if alias.asname is not None else None
        local = asname.value if isinstance(asname, cst.Name) else name
        yield local, canonical(f"{base}.{name}" if base else name)


def module_imports(module: cst.Module, package: str) -> dict[str, str]:
    """Names bound by imports at module level (inside ``if``/``try``/``with``/loops too, not
    inside functions or classes): the table function bodies fall back on, since they run
    after the whole module has been executed. A later import of a name wins."""
    table: dict[str, str] = {}
    for small in _module_level_statements(module.body):
        if isinstance(small, (cst.Import, cst.ImportFrom)):
            table.update(import_bindings(small, package))
    return table


def _module_level_statements(
    body: Sequence[cst.BaseStatement] | Sequence[cst.BaseSmallStatement],
) -> Iterator[cst.BaseSmallStatement]:
    """Small statements in source order, through blocks but not into functions or classes."""
    for statement in body:
        if isinstance(statement, cst.BaseSmallStatement):
            yield statement
        elif isinstance(statement, cst.SimpleStatementLine):
            yield from statement.body
        elif isinstance(statement, (cst.If, cst.Try, cst.TryStar, cst.With, cst.For, cst.While)):
            for suite in _suites(statement):
                yield from _module_level_statements(suite.body)


def _suites(statement: cst.BaseCompoundStatement) -> list[cst.BaseSuite]:
    suites: list[cst.BaseSuite] = [statement.body]
    if isinstance(statement, cst.If):
        orelse: cst.If | cst.Else | None = statement.orelse
        while isinstance(orelse, cst.If):
            suites.append(orelse.body)
            orelse = orelse.orelse
        if orelse is not None:
            suites.append(orelse.body)
    elif isinstance(statement, (cst.Try, cst.TryStar)):
        suites.extend(handler.body for handler in statement.handlers)
        if statement.orelse is not None:
            suites.append(statement.orelse.body)
        if statement.finalbody is not None:
            suites.append(statement.finalbody.body)
    elif isinstance(statement, (cst.For, cst.While)) and statement.orelse is not None:
        suites.append(statement.orelse.body)
    return suites
