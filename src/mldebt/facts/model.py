"""The facts a module contributes to the project graph. Lines are module lines (see CellMap)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, is_dataclass
from typing import Any, TypeVar


@dataclass(frozen=True)
class Import:
    """``import a.b as c`` -> module "a.b", name None, alias "c";
    ``from .x import y`` in package p -> module "p.x", name "y"."""

    module: str
    name: str | None
    alias: str | None
    line: int
    level: int = 0


@dataclass(frozen=True)
class Definition:
    """A function, class, method or module-level variable defined in the module."""

    name: str
    qualname: str
    kind: str  # "function" | "class" | "method" | "variable"
    line: int
    decorators: tuple[str, ...] = ()


@dataclass(frozen=True)
class Call:
    """A call; ``callee`` is the dotted name as written, ``resolved`` through the imports."""

    callee: str
    resolved: str
    line: int
    scope: str = ""


# --- ML facts (see mldebt.facts.ml) -------------------------------------------------------------
#
# Flow tokens say what flows into a value: "a:3" artifact 3 of this module (a read),
# "s:churn" a column, "k:config.FEATURES" a feature-list constant (qualified),
# "m:2" the predictions of model 2 of this module, "f:utils.load" the result of a function of
# another module (see its ``returns``), "p:path" a parameter of the enclosing function and
# "mp:model" the predictions of a model passed as that parameter.


@dataclass(frozen=True)
class Artifact:
    """A file (or table) read or written: ``template`` as in :mod:`mldebt.facts.paths`
    (``table:NAME`` for SQL tables). ``var``: the variable a read is assigned to, or the one
    written. ``inputs``: for a write, the flow tokens of what is written."""

    mode: str  # "r" | "w"
    template: str
    api: str
    line: int
    scope: str = ""
    var: str | None = None
    inputs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Fit:
    """A fit or training of a model on ``inputs`` (flow tokens)."""

    line: int
    api: str
    inputs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Model:
    """An estimator or network object; ``saved_to``/``loaded_from`` index ``artifacts``.
    Its predictions appear as ``m:<index>`` in the inputs of artifacts, fits and returns."""

    var: str
    line: int
    scope: str = ""
    cls: str | None = None
    kind: str | None = None  # "estimator" | "transformer" | "module" | "keras_model" | ...
    fits: tuple[Fit, ...] = ()
    predicts: tuple[int, ...] = ()
    saved_to: tuple[int, ...] = ()
    loaded_from: tuple[int, ...] = ()


@dataclass(frozen=True)
class Signal:
    """A column name used (``via`` "column"; ``write`` when assigned; ``via`` "drop" when
    dropped by ``df.drop``) or a feature-list constant consumed (``via`` "constant", ``name``
    qualified: ``config.FEATURES``)."""

    name: str
    line: int
    scope: str = ""
    via: str = "column"
    write: bool = False


_T = TypeVar("_T")


def _compact(item: Any) -> dict[str, Any]:
    """A dataclass as a dict without the fields that hold their default (cache size)."""
    out: dict[str, Any] = {}
    for f in fields(item):
        value = getattr(item, f.name)
        if f.default is not value and value != f.default:
            if isinstance(value, tuple) and value and hasattr(value[0], "__dataclass_fields__"):
                value = [_compact(v) for v in value]
            elif isinstance(value, tuple):
                value = list(value)
            out[f.name] = value
    return out


def _load(cls: type[_T], data: dict[str, Any]) -> _T:
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
    if cls is Model and "fits" in values:
        values["fits"] = tuple(_load(Fit, f) for f in data["fits"])
    return cls(**values)


_COMPACT_FIELDS = frozenset({"artifacts", "models", "signals"})


@dataclass
class ModuleFacts:
    path: str
    module: str
    notebook: bool = False
    lines_of_code: int = 0
    imports: list[Import] = field(default_factory=list)
    definitions: list[Definition] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    comments: list[tuple[int, str]] = field(default_factory=list)
    dunder_all: list[str] | None = None
    main_guard: bool = False
    cells: list[list[int]] = field(default_factory=list)
    # ML facts
    artifacts: list[Artifact] = field(default_factory=list)
    models: list[Model] = field(default_factory=list)
    signals: list[Signal] = field(default_factory=list)
    #: Module-level constants: a template (str), a list of strings, a number, bool or None.
    constants: dict[str, Any] = field(default_factory=dict)
    #: argparse defaults by dest, like constants.
    cli_defaults: dict[str, Any] = field(default_factory=dict)
    #: Flow tokens of what each function of the module returns (ML-relevant ones only).
    returns: dict[str, list[str]] = field(default_factory=dict)
    #: Facts computed for project rules in the per-file pass (``ProjectRule.file_facts``),
    #: by the rule's ``facts_key``: plain JSON data, cached with everything else.
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in _COMPACT_FIELDS:
                data[f.name] = [_compact(item) for item in value]
            elif isinstance(value, list):
                data[f.name] = [asdict(v) if is_dataclass(v) else v for v in value]  # type: ignore[arg-type]
            elif isinstance(value, dict):
                data[f.name] = dict(value)
            else:
                data[f.name] = value
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModuleFacts:
        return cls(
            path=data["path"],
            module=data["module"],
            notebook=data.get("notebook", False),
            lines_of_code=data.get("lines_of_code", 0),
            imports=[Import(**i) for i in data.get("imports", [])],
            definitions=[
                Definition(**{**d, "decorators": tuple(d.get("decorators", ()))})
                for d in data.get("definitions", [])
            ],
            references=list(data.get("references", [])),
            calls=[Call(**c) for c in data.get("calls", [])],
            comments=[(c[0], c[1]) for c in data.get("comments", [])],
            dunder_all=data.get("dunder_all"),
            main_guard=data.get("main_guard", False),
            cells=data.get("cells", []),
            artifacts=[_load(Artifact, a) for a in data.get("artifacts", [])],
            models=[_load(Model, m) for m in data.get("models", [])],
            signals=[_load(Signal, x) for x in data.get("signals", [])],
            constants=dict(data.get("constants", {})),
            cli_defaults=dict(data.get("cli_defaults", {})),
            returns={k: list(v) for k, v in data.get("returns", {}).items()},
            extra=dict(data.get("extra", {})),
        )


def module_name(path: str) -> str:
    """Dotted module name for a POSIX path relative to the root (``src/`` layouts unwrapped)."""
    parts = path.split("/")
    if parts and parts[0] == "src" and len(parts) > 1:
        parts = parts[1:]
    stem = parts[-1].rsplit(".", 1)[0]
    parts = parts[:-1] if stem == "__init__" else [*parts[:-1], stem]
    return ".".join(parts) or stem
