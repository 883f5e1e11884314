"""What a file rule sees of its file, and where its reports go."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import libcst as cst

from mldebt.findings import Location
from mldebt.traversal import Scope

if TYPE_CHECKING:
    from mldebt.resolve import Resolver
    from mldebt.rule import FileRule


@dataclass(frozen=True)
class Comment:
    """A ``#`` comment: 1-based line and column in the module, text including the ``#``."""

    line: int
    column: int
    text: str
    #: True when the comment is alone on its line (no code before it).
    own_line: bool


@dataclass
class PendingReport:
    """A report whose node still needs a position; resolved after the traversal."""

    rule: FileRule
    node: cst.CSTNode | None
    message: str
    line: int | None
    column: int
    end_line: int | None
    end_column: int | None
    basis: str | None
    size: float
    related: Sequence[tuple[cst.CSTNode | Location, str]]
    scope: str
    redact: Sequence[cst.CSTNode] = ()


_SPACE = re.compile(r"\s+")
# A comment, or a string literal to skip (a prefix such as rb/f is skipped as a name would be;
# backslashes escape the next character, newlines included, in raw strings too).
_STRINGS_AND_COMMENTS = re.compile(
    r"""\#[^\n]*"""
    r"""|'''[^'\\]*(?:(?:\\.|'(?!''))[^'\\]*)*(?:'''|\Z)"""
    r'''|"""[^"\\]*(?:(?:\\.|"(?!""))[^"\\]*)*(?:"""|\Z)'''
    r"""|'[^'\\\n]*(?:\\.[^'\\\n]*)*'?"""
    r"""|"[^"\\\n]*(?:\\.[^"\\\n]*)*"?""",
    re.DOTALL,
)


class FileContext:
    """One analysed file: its path, text, parsed module and the reports made on it."""

    def __init__(
        self,
        path: str,
        text: str,
        module: cst.Module,
        notebook: bool,
        cell_starts: Sequence[int] = (),
        magics: Mapping[int, str] | None = None,
    ) -> None:
        self.path = path
        self.text = text
        self.module = module
        self.notebook = notebook
        #: Notebooks: the module line on which each code cell starts, in order.
        self.cell_starts: tuple[int, ...] = tuple(cell_starts)
        #: Notebooks: IPython syntax the module does not show, by module line (see
        #: :attr:`mldebt.source.Source.magics`): a cell magic's whole cell, a ``!`` line.
        self.magics: Mapping[int, str] = magics or {}
        self.scope = Scope()
        self.pending: list[PendingReport] = []

    @cached_property
    def lines(self) -> list[str]:
        return self.text.split("\n")

    @cached_property
    def comments(self) -> list[Comment]:
        """Every comment in the file (never inside strings), in order.

        A scan that skips string literals and collects ``#`` comments: the text is one that
        libcst accepted, so strings are well formed, and the result equals the tokenizer's
        comments at a small fraction of the cost of ``tokenize``.
        """
        found: list[Comment] = []
        text = self.text
        if "#" not in text:
            return found
        line, line_start, scanned = 1, 0, 0
        for match in _STRINGS_AND_COMMENTS.finditer(text):
            start = match.start()
            if text[start] != "#":
                continue
            newlines = text.count("\n", scanned, start)
            if newlines:
                line += newlines
                line_start = text.rindex("\n", scanned, start) + 1
            scanned = start
            own_line = not text[line_start:start].strip()
            found.append(Comment(line, start - line_start + 1, match.group(), own_line))
        return found

    @cached_property
    def resolver(self) -> Resolver:
        """Qualified names and value kinds, current at each point of the shared traversal
        (see :mod:`mldebt.resolve`)."""
        from mldebt.resolve import Resolver  # here: mldebt.resolve imports the facts package

        return Resolver(self.path, self.module)

    def node_source(self, node: cst.CSTNode) -> str:
        """The node's code with whitespace collapsed: stable across re-indentation."""
        return _SPACE.sub(" ", self.module.code_for_node(node)).strip()

    def add_report(
        self,
        rule: FileRule,
        node: cst.CSTNode | None,
        message: str,
        *,
        line: int | None,
        column: int,
        end_line: int | None,
        end_column: int | None,
        basis: str | None,
        size: float,
        related: Sequence[tuple[cst.CSTNode | Location, str]],
        redact: Sequence[cst.CSTNode] = (),
    ) -> None:
        if node is None and line is None:
            raise ValueError(f"{rule.code}: report() needs a node or a line")
        self.pending.append(
            PendingReport(
                rule,
                node,
                message,
                line,
                column,
                end_line,
                end_column,
                basis,
                size,
                related,
                self.scope.qualname,
                tuple(redact),
            )
        )

    def report_nodes(self) -> list[cst.CSTNode]:
        nodes: list[cst.CSTNode] = []
        for pending in self.pending:
            if pending.node is not None:
                nodes.append(pending.node)
            nodes.extend(n for n, _ in pending.related if isinstance(n, cst.CSTNode))
            nodes.extend(pending.redact)
        return nodes
