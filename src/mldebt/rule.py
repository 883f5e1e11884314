"""The rule API every rule pack uses.

A file rule is a libcst visitor: write ``visit_<Node>`` / ``leave_<Node>`` methods and call
``self.report(node, message)``. A project rule is a function of the project graph: implement
``check()`` and call ``self.report(path, line, message)``. Both carry their metadata, their
docs and their BAD/GOOD examples as class attributes, so one file holds the whole rule.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import libcst as cst

from mldebt.findings import CATEGORIES, Location, Severity

if TYPE_CHECKING:
    from mldebt.context import FileContext
    from mldebt.graph import ProjectGraph

CODE_RE = re.compile(r"^[A-Z]+[0-9]+$")
NAME_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
STATUSES = ("preview", "stable")


@dataclass(frozen=True)
class Example:
    """A BAD or GOOD example; the test suite runs every registered rule's examples.

    ``code`` is a snippet for a file rule, or ``{path: source}`` for a project rule.
    ``expect`` is the exact number of findings a BAD example yields (``None``: at least one).
    ``path`` names the snippet's file: ``.ipynb`` turns cells split by ``# %%`` into a notebook.
    """

    code: str | Mapping[str, str]
    bad: bool
    expect: int | None = None
    path: str = "example.py"
    options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def files(self) -> dict[str, str]:
        if isinstance(self.code, str):
            return {self.path: textwrap.dedent(self.code).lstrip("\n")}
        return {p: textwrap.dedent(src).lstrip("\n") for p, src in self.code.items()}


def BAD(
    code: str | Mapping[str, str],
    *,
    expect: int | None = None,
    path: str = "example.py",
    options: Mapping[str, Any] | None = None,
) -> Example:
    return Example(code, True, expect, path, dict(options or {}))


def GOOD(
    code: str | Mapping[str, str],
    *,
    path: str = "example.py",
    options: Mapping[str, Any] | None = None,
) -> Example:
    return Example(code, False, None, path, dict(options or {}))


@dataclass
class Report:
    """What a rule reported, before positions, cells and fingerprints are attached.

    Lines and columns are in module coordinates (a notebook's cells concatenated); the engine
    maps them to cells. ``basis`` identifies the flagged code for the fingerprint.
    """

    rule: str
    message: str
    line: int
    column: int
    end_line: int
    end_column: int | None
    basis: str
    size: float = 1.0
    path: str = ""
    related: list[dict[str, Any]] = field(default_factory=list)
    #: Source spans (location dicts) holding a secret: no report may quote them.
    redact: list[dict[str, Any]] = field(default_factory=list)


class Rule:
    """Metadata shared by file and project rules."""

    code: ClassVar[str] = ""
    name: ClassVar[str] = ""
    category: ClassVar[str] = ""
    severity: ClassVar[Severity] = Severity.WARNING
    #: Remediation estimate: ``debt_minutes + debt_per_unit * (size - 1)`` for a finding of
    #: ``size`` units (lines, steps, ...), after SonarQube's linear remediation functions.
    debt_minutes: ClassVar[float] = 5.0
    debt_per_unit: ClassVar[float] = 0.0
    status: ClassVar[str] = "stable"
    tags: ClassVar[tuple[str, ...]] = ()
    summary: ClassVar[str] = ""
    #: The docs' fixed sections; "Example" and "Use instead" come from ``examples``.
    what: ClassVar[str] = ""
    why: ClassVar[str] = ""
    limits: ClassVar[str] = ""
    options: ClassVar[Mapping[str, Any]] = {}
    option_docs: ClassVar[Mapping[str, str]] = {}
    examples: ClassVar[Sequence[Example]] = ()
    #: Why a rule has no BAD example (only for findings no snippet can provoke).
    no_bad_example: ClassVar[str] = ""

    @classmethod
    def remediation(cls, size: float) -> float:
        return round(cls.debt_minutes + cls.debt_per_unit * max(size - 1, 0), 2)

    @classmethod
    def metadata_problems(cls) -> list[str]:
        """Everything wrong with this rule's metadata (empty when it is well formed)."""
        problems = []
        if not CODE_RE.match(cls.code):
            problems.append(f"code {cls.code!r} is not like MLD123")
        if not NAME_RE.match(cls.name):
            problems.append(f"name {cls.name!r} is not kebab-case")
        if cls.category not in CATEGORIES:
            problems.append(f"category {cls.category!r} is not in the taxonomy")
        if cls.status not in STATUSES:
            problems.append(f"status {cls.status!r} is not one of {STATUSES}")
        if not isinstance(cls.severity, Severity):
            problems.append("severity must be a Severity")
        for attr in ("summary", "what", "why", "limits"):
            if not getattr(cls, attr).strip():
                problems.append(f"docs section {attr!r} is empty")
        if not any(e.bad for e in cls.examples) and not cls.no_bad_example:
            problems.append("needs at least one BAD example")
        if not any(not e.bad for e in cls.examples):
            problems.append("needs at least one GOOD example")
        for option in cls.options:
            if option not in cls.option_docs:
                problems.append(f"option {option!r} is not documented")
        return problems


class FileRule(Rule, cst.BatchableCSTVisitor):
    """A rule that looks at one module at a time, in the engine's single shared traversal.

    Declare ``METADATA_DEPENDENCIES`` only for providers you really need: they are resolved
    for every file and some cost several parses. ``self.context`` gives the file's path,
    text and comments; ``self.opts`` the rule's effective options.
    """

    def __init__(self, context: FileContext, options: Mapping[str, Any]) -> None:
        super().__init__()
        self.context = context
        self.opts: Mapping[str, Any] = options

    def report(
        self,
        node: cst.CSTNode | None,
        message: str,
        *,
        line: int | None = None,
        column: int = 1,
        end_line: int | None = None,
        end_column: int | None = None,
        basis: str | None = None,
        size: float = 1.0,
        related: Sequence[tuple[cst.CSTNode | Location, str]] = (),
        redact: Sequence[cst.CSTNode] = (),
    ) -> None:
        """Report a finding at ``node``, or at an explicit ``line`` when there is no node.

        ``basis`` is the text that identifies the finding across edits (default: the
        node's normalised source, or the message). ``redact``: nodes whose source is a secret
        that no report may quote (give a ``basis`` too, or the secret is hashed in).
        """
        self.context.add_report(
            self,
            node,
            message,
            line=line,
            column=column,
            end_line=end_line,
            end_column=end_column,
            basis=basis,
            size=size,
            related=related,
            redact=redact,
        )


class ProjectRule(Rule):
    """A rule over the whole project: a function of the project graph, run after every file.

    A project rule that needs more of each file than the graph's facts hold defines
    ``file_facts(context)``: it runs in the per-file pass (in the workers, cached with the
    file's other facts, so warm runs never re-read or re-parse a file) and its JSON-ready
    result is ``graph.by_path[path].extra[facts_key]``. Rules that share a ``facts_key``
    share one computation.
    """

    facts_key: ClassVar[str] = ""

    @classmethod
    def file_facts(cls, context: FileContext) -> Any:
        """Per-file data for this rule (plain JSON types); ``None`` when not overridden."""
        return None

    @classmethod
    def wants_file_facts(cls) -> bool:
        """Does the rule define ``file_facts`` (under a ``facts_key``)?"""
        return bool(cls.facts_key) and "file_facts" in {
            name for klass in cls.__mro__ if klass is not ProjectRule for name in vars(klass)
        }

    def __init__(self, graph: ProjectGraph, options: Mapping[str, Any]) -> None:
        self.graph = graph
        self.opts: Mapping[str, Any] = options
        self.reports: list[Report] = []

    def check(self) -> None:
        raise NotImplementedError

    def report(
        self,
        path: str,
        line: int,
        message: str,
        *,
        column: int = 1,
        end_line: int | None = None,
        end_column: int | None = None,
        key: str = "",
        size: float = 1.0,
        related: Sequence[Location] = (),
        redact: Sequence[Location] = (),
    ) -> None:
        """Report a finding in ``path`` (as the graph names it) at a module line.

        ``key`` names what the finding is about (an artifact, a symbol) for the fingerprint;
        ``redact``: spans (module lines) holding a secret that no report may quote.
        """
        self.reports.append(
            Report(
                rule=self.code,
                message=message,
                line=line,
                column=column,
                end_line=end_line or line,
                end_column=end_column,
                basis=key or message,
                size=size,
                path=path,
                related=[loc.to_dict() for loc in related],
                redact=[loc.to_dict() for loc in redact],
            )
        )
