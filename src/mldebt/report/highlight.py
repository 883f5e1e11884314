"""A tiny, safe syntax highlighter for the HTML report's code snippets.

Source text becomes, line by line, a list of segments: a plain string, or ``[class, text]``
for a token worth colouring. Nothing here produces markup: the report's script turns the
segments into text nodes and spans, so analysed code can only ever show as text.

Python's own ``tokenize`` does the work (multi-line strings come out right); where it gives
up (broken code, IPython syntax), the rest is coloured line by line with a small regex.

Classes: ``k`` keyword, ``b`` builtin, ``s`` string, ``c`` comment, ``n`` number,
``f`` name being defined (after ``def`` / ``class``), ``d`` decorator.
"""

from __future__ import annotations

import builtins
import io
import keyword
import re
import tokenize

Segment = str | list[str]
Line = list[Segment]

KEYWORDS = frozenset(keyword.kwlist) | frozenset(keyword.softkwlist) - {"_"}
BUILTINS = frozenset(name for name in dir(builtins) if not name.startswith("_")) - KEYWORDS
_STRING_TYPES = {
    tokenize.STRING,
    *(
        getattr(tokenize, name)
        for name in ("FSTRING_START", "FSTRING_MIDDLE", "FSTRING_END")
        if hasattr(tokenize, name)
    ),
    *(
        getattr(tokenize, name)
        for name in ("TSTRING_START", "TSTRING_MIDDLE", "TSTRING_END")
        if hasattr(tokenize, name)
    ),
}
_SKIP = {tokenize.NEWLINE, tokenize.NL, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER}
_FALLBACK = re.compile(
    r"(?P<c>#.*)"
    r"|(?P<s>[rRbBuUfF]{0,2}(?:'(?:[^'\\]|\\.)*'?|\"(?:[^\"\\]|\\.)*\"?))"
    r"|(?P<n>\b\d[\d_]*(?:\.\d*)?(?:[eE][+-]?\d+)?[jJ]?\b)"
    r"|(?P<w>[^\W\d]\w*)"
)

Span = tuple[int, int, str]  # start column, end column, class


def highlight(text: str) -> list[Line]:
    """Every line of ``text`` (split on "\\n") as segments."""
    lines = text.split("\n")
    spans: list[list[Span]] = [[] for _ in lines]
    covered = _tokenize_spans(text, lines, spans)
    for row in range(covered, len(lines)):
        spans[row] = _fallback_spans(lines[row])
    return [_segments(line, line_spans) for line, line_spans in zip(lines, spans, strict=True)]


def _tokenize_spans(text: str, lines: list[str], spans: list[list[Span]]) -> int:
    """Fill ``spans`` from Python's tokenizer; return the index of the first row it did not
    finish (every row when it ran to the end)."""
    done = 0  # rows before this one are complete
    previous = ""
    decorator = False
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            (srow, scol), (erow, ecol) = token.start, token.end
            if token.type in _SKIP:
                if token.type in (tokenize.NEWLINE, tokenize.NL):
                    decorator = False
                    done = max(done, srow)
                if token.type == tokenize.NEWLINE:
                    previous = "\n"
                continue
            cls = _class_of(token, previous, decorator)
            if token.type == tokenize.OP and token.string == "@" and previous in ("", "\n"):
                cls, decorator = "d", True
            elif decorator and token.type == tokenize.OP:
                decorator = token.string == "."
                cls = "d" if decorator else ""
            if cls:
                for row in range(srow, erow + 1):
                    if row - 1 >= len(lines):
                        break
                    start = scol if row == srow else 0
                    end = ecol if row == erow else len(lines[row - 1])
                    if end > start:
                        spans[row - 1].append((start, end, cls))
            if token.type != tokenize.COMMENT:
                previous = token.string
            done = max(done, srow - 1)
    except (tokenize.TokenError, SyntaxError):
        for row in range(done, len(lines)):
            spans[row] = []
        return done
    return len(lines)


def _class_of(token: tokenize.TokenInfo, previous: str, decorator: bool) -> str:
    kind = token.type
    if kind == tokenize.COMMENT:
        return "c"
    if kind in _STRING_TYPES:
        return "s"
    if kind == tokenize.NUMBER:
        return "n"
    if kind == tokenize.NAME:
        if decorator:
            return "d"
        if previous in ("def", "class"):
            return "f"
        return _word_class(token.string)
    return ""


def _word_class(word: str) -> str:
    if word in KEYWORDS:
        return "k"
    if word in BUILTINS:
        return "b"
    return ""


def _fallback_spans(line: str) -> list[Span]:
    spans = []
    for match in _FALLBACK.finditer(line):
        group = match.lastgroup or ""
        cls = _word_class(match.group()) if group == "w" else group
        if cls:
            spans.append((match.start(), match.end(), cls))
    return spans


def _segments(line: str, spans: list[Span]) -> Line:
    out: Line = []
    position = 0
    for start, end, cls in sorted(spans):
        if start < position:
            continue  # overlapping spans cannot come from one tokenizer; be safe anyway
        if start > position:
            out.append(line[position:start])
        last = out[-1] if out else None
        if start == position and isinstance(last, list) and last[0] == cls:
            last[1] += line[start:end]  # one span for "@app.route", not four
        else:
            out.append([cls, line[start:end]])
        position = end
    if position < len(line):
        out.append(line[position:])
    return out
