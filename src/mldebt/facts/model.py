"""The facts a module contributes to the project graph. Lines are module lines (see CellMap)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


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

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

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
        )


def module_name(path: str) -> str:
    """Dotted module name for a POSIX path relative to the root (``src/`` layouts unwrapped)."""
    parts = path.split("/")
    if parts and parts[0] == "src" and len(parts) > 1:
        parts = parts[1:]
    stem = parts[-1].rsplit(".", 1)[0]
    parts = parts[:-1] if stem == "__init__" else [*parts[:-1], stem]
    return ".".join(parts) or stem
