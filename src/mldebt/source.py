"""Bytes to analysable text: PEP 263 decoding, newline normalisation, notebooks to one module.

A notebook's code cells are joined into one module; ``CellMap`` maps module lines back to
(cell, line in cell). IPython syntax (line magics, ``!shell``, ``?`` help, ``%%`` cell magics)
is neutralised line by line, so line numbers stay put and the rest parses.
"""

from __future__ import annotations

import ast
import io
import json
import re
import tokenize
import warnings
from bisect import bisect_right
from dataclasses import dataclass, field
from typing import Any


class SourceError(Exception):
    """The file cannot be turned into text; carries the position of the problem."""

    def __init__(self, message: str, line: int = 1, column: int = 1, cell: int | None = None):
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column
        self.cell = cell


@dataclass
class CellMap:
    """Where each notebook code cell starts in the joined module."""

    starts: list[int] = field(default_factory=list)  # first module line of each code cell
    cells: list[int] = field(default_factory=list)  # 1-based index among all cells

    def locate(self, line: int) -> tuple[int | None, int]:
        """Module line -> (cell index, line inside that cell)."""
        if not self.starts:
            return None, line
        i = max(bisect_right(self.starts, line) - 1, 0)
        return self.cells[i], line - self.starts[i] + 1

    def module_line(self, cell: int, line: int) -> int:
        return self.starts[self.cells.index(cell)] + line - 1

    def to_list(self) -> list[list[int]]:
        return [list(pair) for pair in zip(self.starts, self.cells, strict=True)]

    @classmethod
    def from_list(cls, pairs: list[list[int]]) -> CellMap:
        return cls([p[0] for p in pairs], [p[1] for p in pairs])


@dataclass
class Source:
    text: str
    notebook: bool = False
    cells: CellMap = field(default_factory=CellMap)
    #: Cells kept out of the module (non-Python cell magics), by 1-based index.
    foreign_cells: dict[int, str] = field(default_factory=dict)
    #: IPython syntax the module no longer shows, by module line: the original text of a
    #: neutralised line (``!Rscript fit.R``, ``%sql SELECT ...``) and, on the first line of
    #: a cell left out of the module, the whole cell (``%%bash`` and its body).
    magics: dict[int, str] = field(default_factory=dict)


def decode_python(data: bytes) -> str:
    """Decode Python source as the interpreter would (BOM, PEP 263 cookie, else UTF-8)."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:
        raise SourceError(f"cannot decode: {exc}", line=_cookie_line(data)) from None
    if encoding == "utf-8-sig":
        data = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
        encoding = "utf-8"
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        line, column = _byte_position(data, exc.start, encoding)
        raise SourceError(
            f"cannot decode as {encoding}: byte 0x{data[exc.start]:02x} is invalid here",
            line=line,
            column=column,
        ) from None
    except LookupError:
        raise SourceError(f"unknown encoding {encoding!r}", line=_cookie_line(data)) from None
    return normalise(text)


def _byte_position(data: bytes, offset: int, encoding: str) -> tuple[int, int]:
    """1-based line and column (in characters, as every other position) of a byte offset."""
    head = data[:offset]
    line_start = max(head.rfind(b"\n"), head.rfind(b"\r")) + 1
    line = head.count(b"\n") + head.count(b"\r") - head.count(b"\r\n") + 1
    column = len(head[line_start:].decode(encoding, errors="replace")) + 1
    return line, column


def _cookie_line(data: bytes) -> int:
    for i, line in enumerate(data.splitlines()[:2], start=1):
        if b"coding" in line:
            return i
    return 1


def normalise(text: str) -> str:
    """Unify newlines and refuse NUL bytes, which no Python parser accepts."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    nul = text.find("\x00")
    if nul >= 0:
        line = text.count("\n", 0, nul) + 1
        column = nul - (text.rfind("\n", 0, nul) + 1) + 1
        raise SourceError("source contains a NUL byte", line=line, column=column)
    return text


# Cell magics whose body is still Python run in this kernel: only their first line is
# neutralised. Every other cell magic (%%bash, %%sql, %%writefile, %%html, ...) holds
# something else, and the cell is left out of the module.
_PYTHON_CELL_MAGICS = frozenset(
    {"time", "timeit", "capture", "prun", "debug", "pdb", "memit", "mprun", "cython_inline"}
)
_LINE_MAGIC = re.compile(r"^(\s*)(?:([\w.\[\]'\", ]+?)\s*=\s*)?(?:%{1,2}|!{1,2}(?!=))\S")
_HELP = re.compile(r"^(\s*)(?:\?{1,2}[\w.]+|[\w.]+\?{1,2})\s*$")
# Magics IPython runs without the ``%`` (automagic), when the line is not Python anyway.
# Never when an assignment, a call or a subscript follows the word: ``config = {`` or
# ``history = model.fit(`` opening a statement over several lines does not parse alone.
_AUTOMAGIC = re.compile(
    r"^(\s*)(?:pip|conda|mamba|cd|ls|mkdir|rm|cp|mv|cat|env|load_ext|reload_ext|autoreload"
    r"|matplotlib|pylab|config|run|time|timeit|who|whos|reset|store|pwd|history)\s+"
    r"(?!(?:[-+*/%&|^@]|//|\*\*|<<|>>)?=|[(\[{,:;])\S"
)


def decode_notebook(data: bytes) -> Source:
    """Join a notebook's Python code cells into one module text with a cell map."""
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        line, column = _byte_position(data, exc.start, "utf-8")
        raise SourceError(f"notebook is not UTF-8: {exc.reason}", line, column) from None
    except json.JSONDecodeError as exc:
        raise SourceError(f"notebook is not valid JSON: {exc.msg}", exc.lineno, exc.colno) from None
    except RecursionError:
        raise SourceError("notebook JSON is nested too deeply to read") from None
    cells = _notebook_cells(document)
    source = Source(text="", notebook=True)
    if not _is_python_notebook(document):
        return source
    lines: list[str] = []
    for index, cell in enumerate(cells, start=1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        cell_lines = _dedent(_cell_lines(cell.get("source", cell.get("input", ""))))
        first = next((i for i, line in enumerate(cell_lines) if line.strip()), None)
        start = len(lines) + 1
        if first is not None and cell_lines[first].lstrip().startswith("%%"):
            magic = cell_lines[first].lstrip()[2:].split(maxsplit=1)
            if not magic or magic[0] not in _PYTHON_CELL_MAGICS:
                source.foreign_cells[index] = magic[0] if magic else ""
                source.magics[start + first] = "\n".join(cell_lines[first:])
                cell_lines = [""] * len(cell_lines)
            else:
                cell_lines[first] = ""
        source.cells.starts.append(start)
        source.cells.cells.append(index)
        for number, original in enumerate(cell_lines, start=start):
            neutral = _neutralise(original)
            if neutral is not original:
                source.magics[number] = original
            lines.append(neutral)
        lines.append("")  # cells end with a newline of their own, and stay apart
    source.text = normalise("\n".join(lines))
    return source


def _notebook_cells(document: object) -> list[Any]:
    """The cells, in order: nbformat 4 keeps them in ``cells``, nbformat 3 in worksheets."""
    if isinstance(document, dict):
        cells = document.get("cells")
        if isinstance(cells, list):
            return cells
        worksheets = document.get("worksheets")
        if cells is None and isinstance(worksheets, list):
            return [
                cell
                for sheet in worksheets
                if isinstance(sheet, dict) and isinstance(sheet.get("cells"), list)
                for cell in sheet["cells"]
            ]
    raise SourceError("not a Jupyter notebook: the JSON has no list of cells")


def _is_python_notebook(document: dict[str, Any]) -> bool:
    metadata = document.get("metadata")
    if not isinstance(metadata, dict):
        return True
    languages = []
    if isinstance(metadata.get("kernelspec"), dict):
        languages.append(metadata["kernelspec"].get("language"))
    if isinstance(metadata.get("language_info"), dict):
        languages.append(metadata["language_info"].get("name"))
    for language in languages:
        if isinstance(language, str) and language and not _is_python(language):
            return False
    return True


def _is_python(language: str) -> bool:
    return language.lower().lstrip("i").startswith("python")


def _cell_lines(raw: object) -> list[str]:
    if isinstance(raw, list):
        text = "".join(part for part in raw if isinstance(part, str))
    elif isinstance(raw, str):
        text = raw
    else:
        text = ""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text.split("\n") if text else []


def _dedent(lines: list[str]) -> list[str]:
    """IPython runs a cell whose first line is indented with that indentation removed from
    every line (its ``leading_indent`` cleanup); so do we, or the cell would not parse."""
    first = next((line for line in lines if line.strip()), "")
    indent = first[: len(first) - len(first.lstrip(" \t"))]
    if not indent:
        return lines
    return [line[len(indent) :] if line.startswith(indent) else line for line in lines]


def _neutralise(line: str) -> str:
    """IPython-only syntax -> a Python statement of the same indentation."""
    match = _LINE_MAGIC.match(line)
    if match:
        indent, target = match.group(1), match.group(2)
        return f"{indent}{target} = None" if target else f"{indent}pass"
    match = _HELP.match(line) or (_AUTOMAGIC.match(line) if not _parses(line) else None)
    if match:
        return f"{match.group(1)}pass"
    return line


def _parses(line: str) -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ast.parse(line.strip())
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True
