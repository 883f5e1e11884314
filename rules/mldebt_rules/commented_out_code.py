"""MLD201: blocks of commented-out code, told apart from prose, licences and doctests."""

from __future__ import annotations

import ast
import re
import textwrap
import warnings
from dataclasses import dataclass

import libcst as cst

from mldebt.context import Comment
from mldebt.findings import Severity
from mldebt.rule import BAD, GOOD, FileRule

# Comments that are instructions to tools, not code (nor prose).
_DIRECTIVE = re.compile(
    r"^\s*(noqa\b|type:|pylint:|mypy:|pyright:|fmt:|isort:|pragma\b|mldebt:|ruff:|flake8|"
    r"-\*-|vim?:|coding[:=]|%%|In\s*\[\s*\d*\s*\]:|Out\s*\[|[+-]\s*$|=+\s*$|-+\s*$|#+)"
)
_LICENCE = re.compile(r"copyright|licen[cs]e|SPDX-|all rights reserved|\(c\) \d{4}", re.IGNORECASE)
_DOCTEST = re.compile(r"^\s*(>>>|\.\.\.)(\s|$)")
# A line can only start code if it starts like a statement does.
_START = re.compile(
    r"^\s*(?:@\w|(?:import|from|def|class|if|elif|else|for|while|with|try|except|finally|"
    r"return|raise|assert|del|yield|async|await|global|nonlocal|print|lambda|pass|break|"
    r"continue)\b|[\w.\[\]'\"()]+\s*(?:[-+*/%|&^@]|//|\*\*|>>|<<)?=[^=]|[\w.]+\s*[(\[.]|[\w.]+\s*,)"
)
_HEADER = re.compile(
    r"^\s*(?:if|elif|else|for|while|with|try|except|finally|def|class|async)\b.*:\s*$"
)
_OPENERS, _CLOSERS = "([{", ")]}"


@dataclass
class _Line:
    comment: Comment
    text: str  # the comment without its '#' marker


_SPACED_CALL = re.compile(r"[A-Za-z_][\w.]*\s+\(")
_UNSPACED_ASSIGN = re.compile(r"^[\w.\[\]'\"]+=[^=]")
_ALIGNMENT = re.compile(r"\S {2,}\S")
_PROSE_KEYWORDS = frozenset(
    {
        "if",
        "for",
        "while",
        "in",
        "and",
        "or",
        "not",
        "return",
        "print",
        "elif",
        "with",
        "assert",
        "del",
        "yield",
        "await",
        "import",
        "is",
        "lambda",
        "else",
    }
)


def _strong_statement(stmt: ast.stmt) -> bool:
    if isinstance(stmt, ast.Expr):
        value = stmt.value
        if isinstance(value, (ast.Await, ast.Yield, ast.YieldFrom)):
            return True
        # A bare call counts only with arguments somewhere: "fit().transform()" is a label.
        return isinstance(value, ast.Call) and any(
            isinstance(n, ast.Call) and bool(n.args or n.keywords) for n in ast.walk(value)
        )
    if isinstance(stmt, ast.AnnAssign):
        return stmt.value is not None
    if isinstance(stmt, ast.Assign):
        # "X.shape = (n, d)" documents a shape; "a = b = c" is usually a formula.
        shape = any(isinstance(t, ast.Attribute) and t.attr == "shape" for t in stmt.targets)
        # "RFECV, n_features = 1" unpacks a number: prose, not code.
        nonsense = isinstance(stmt.targets[0], ast.Tuple) and isinstance(stmt.value, ast.Constant)
        return not shape and not nonsense and len(stmt.targets) == 1
    return not isinstance(stmt, (ast.Pass, ast.Break, ast.Continue, ast.Global, ast.Nonlocal))


def _prose_shaped(text: str) -> bool:
    """Spacing no formatter produces: "name (words)", "key=value" alone, aligned columns."""
    stripped = text.strip()
    for match in _SPACED_CALL.finditer(stripped):
        word = match.group(0).split()[0].split(".")[-1]
        if word not in _PROSE_KEYWORDS:
            return True
    if _UNSPACED_ASSIGN.match(stripped):
        return True
    code = stripped.split("  #")[0].strip()
    return bool(_ALIGNMENT.search(code))


def _strong(tree: ast.Module, lines: list[str]) -> bool:
    """Does the parsed text contain a statement no prose would parse as?"""
    if len([t for t in lines if t.strip()]) == 1 and (
        _prose_shaped(lines[0]) or lines[0].rstrip().endswith(":")
    ):
        return False  # "with duplicates:" alone is a heading, not a block of code
    return any(_strong_statement(stmt) for stmt in tree.body)


def _parse(lines: list[str]) -> ast.Module | None:
    source = textwrap.dedent("\n".join(lines))
    if source.rstrip().endswith(":"):
        indent = len(lines[-1]) - len(lines[-1].lstrip())
        source += "\n" + " " * (indent + 4) + "pass"
    first = source.lstrip()
    if re.match(r"(elif|else|except|finally)\b", first):
        source = (
            "if x:\n    pass\n" + source
            if not first.startswith(("except", "finally"))
            else ("try:\n    pass\n" + source)
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def _depth(text: str) -> int:
    depth = 0
    for char in text:
        if char in _OPENERS:
            depth += 1
        elif char in _CLOSERS:
            depth -= 1
    return depth


def _indent(text: str) -> int:
    return len(text) - len(text.lstrip())


def _code_spans(lines: list[str]) -> list[tuple[int, int, bool]]:
    """Half-open index ranges of ``lines`` that are code, greedily, statement by statement."""
    spans: list[tuple[int, int, bool]] = []
    i, n = 0, len(lines)
    while i < n:
        text = lines[i]
        if not text.strip() or not _START.match(text):
            i += 1
            continue
        j = i + 1
        # A statement continues over open brackets, backslashes and indented block bodies.
        depth = _depth(text)
        while j < n and (depth > 0 or lines[j - 1].rstrip().endswith("\\")):
            depth += _depth(lines[j])
            j += 1
        if _HEADER.match(lines[j - 1]):
            while j < n and lines[j].strip() and _indent(lines[j]) > _indent(text):
                j += 1
        tree = _parse(lines[i:j])
        if tree is None:
            i += 1
            continue
        spans.append((i, j, _strong(tree, lines[i:j])))
        i = j
    return spans


class CommentedOutCode(FileRule):
    code = "MLD201"
    name = "commented-out-code"
    category = "dead-experimental-code"
    severity = Severity.WARNING
    debt_minutes = 5.0
    debt_per_unit = 0.5
    tags = ("general",)
    options = {"min-lines": 1}
    option_docs = {"min-lines": "Smallest block, in lines, that is reported."}
    summary = "Code kept in comments: a dead experimental codepath nobody can run or test."
    what = (
        "Runs of comment lines that parse as Python statements: an old model configuration, a "
        "disabled filter, debug prints. Each block is reported once, spanning its lines. Prose "
        "that merely looks like code is left alone: a block must contain a statement prose does "
        "not parse as (an assignment, a call, an import, a control-flow block), and licence "
        "headers, doctest examples (`>>>`), tool directives (`noqa`, `type:`, cell markers) and "
        "code shown as an example after a line ending in `:` are not reported."
    )
    why = (
        "Sculley et al. (2015, section 5, 'Dead Experimental Codepaths') describe experimental "
        "branches left in production code that accumulate and interact; commented-out code is "
        "their cheapest form. Version control already remembers old code, and commented-out "
        "code rots silently because no test or linter ever runs it."
    )
    limits = (
        "A single comment line that is a plain call or assignment is reported even when it was "
        "meant as an explanation; put such examples after a line ending in ':' or in a docstring."
    )
    examples = (
        BAD(
            """
            from sklearn.ensemble import RandomForestClassifier

            model = RandomForestClassifier(n_estimators=200)
            # model = XGBClassifier(
            #     n_estimators=300,
            #     max_depth=6,
            # )
            # model.fit(X_train, y_train)
            """,
            expect=1,
        ),
        BAD(
            """
            def clean(df):
                # df = df[df.age > 18]
                return df.dropna()
            """,
            expect=1,
        ),
        BAD(
            """
            # %%
            import pandas as pd
            # %%
            df = pd.read_csv("train.csv")
            # for col in df.columns:
            #     print(col, df[col].isna().mean())
            """,
            path="eda.ipynb",
            expect=1,
        ),
        GOOD(
            """
            # Copyright (c) 2024 Acme Analytics. All rights reserved.
            # Licensed under the Apache License, Version 2.0
            # step 1: load data
            # Note: this is slow (O(n^2)) but fine for now
            import pandas as pd  # noqa: F401
            """
        ),
        BAD(
            """
            # old model, kept for the Q3 comparison
            # model = XGBClassifier(n_estimators=300)
            # model.fit(X_train, y_train)
            model = LGBMClassifier(n_estimators=500)
            """,
            expect=1,
        ),
        GOOD(
            """
            def safe_ratio(a, b):
                # Divides without failing on zero:
                # >>> safe_ratio(10, 4)
                # 2.5
                return a / b if b else 0.0
            """
        ),
        GOOD(
            """
            # To reproduce the report, run:
            #     results = evaluate(model, X_test)
            # and compare with last week's numbers.
            # shape: (batch, seq_len, hidden)
            # TODO
            x = 1
            """
        ),
    )

    def leave_Module(self, original_node: cst.Module) -> None:
        for run in self._runs():
            self._check_run(run)

    def _runs(self) -> list[list[_Line]]:
        runs: list[list[_Line]] = []
        for comment in self.context.comments:
            if not comment.own_line:
                continue
            line = _Line(comment, _strip_marker(comment.text))
            previous = runs[-1][-1].comment if runs else None
            if previous and previous.line + 1 == comment.line and previous.column == comment.column:
                runs[-1].append(line)
            else:
                runs.append([line])
        return runs

    def _check_run(self, run: list[_Line]) -> None:
        if any(_LICENCE.search(line.text) for line in run):
            return
        texts = _drop_doctests([_prose_out(line.text) for line in run])
        for start, end in _blocks(texts):
            if end - start < self.opts["min-lines"]:
                continue
            block = run[start:end]
            if _only_values(texts[start:end]) and not self._reassigned_near(
                block, texts[start:end]
            ):
                continue  # "# n_neighbors = 1" is a label, unless the code beside redoes it
            self._report_block(run[start:end])

    def _reassigned_near(self, block: list[_Line], texts: list[str]) -> bool:
        """Does the code just before or after the block assign a name the block assigns?"""
        lines = self.context.lines
        first, last = block[0].comment.line, block[-1].comment.line
        near = [lines[i].strip() for i in (first - 2, last) if 0 <= i < len(lines)]
        targets = {_base(t.split("=")[0]) for t in texts if "=" in t}
        for code in near:
            head = _ASSIGNMENT.split(code, maxsplit=1)
            if len(head) == 2 and _base(head[0]) in targets:
                return True
        return False

    def _report_block(self, block: list[_Line]) -> None:
        first, last = block[0].comment, block[-1].comment
        code = [line.text.strip() for line in block if line.text.strip()]
        preview = code[0] if len(code[0]) <= 60 else code[0][:57] + "..."
        count = last.line - first.line + 1
        noun = "line" if count == 1 else "lines"
        self.report(
            None,
            f"{count} {noun} of commented-out code: `{preview}`",
            line=first.line,
            column=first.column,
            end_line=last.line,
            end_column=last.column + len(last.text),
            basis=" ".join(code),
            size=count,
        )


def _blocks(texts: list[str]) -> list[tuple[int, int]]:
    """Code blocks of a comment run: strong code spans joined across blank lines, minus code
    that the prose around it shows to be an example, or a formula inside a sentence."""
    labels = ["blank" if not t.strip() else "prose" for t in texts]
    spans = _code_spans(texts)
    for start, end, strong in spans:
        for k in range(start, end):
            labels[k] = "code" if strong else "weak"
    blocks: list[list[int]] = []
    for start, end, strong in spans:
        joins = bool(blocks) and all(label == "blank" for label in labels[blocks[-1][1] : start])
        if joins:
            blocks[-1][1] = end  # weak pieces ("pass", a lone "for ...:") extend a block
        elif strong:
            blocks.append([start, end])
    return [(b[0], b[1]) for b in blocks if not _in_prose(texts, labels, b[0], b[1])]


def _in_prose(texts: list[str], labels: list[str], start: int, end: int) -> bool:
    """Is the block part of the surrounding prose rather than code put aside?"""
    before = next((k for k in range(start - 1, -1, -1) if labels[k] != "blank"), None)
    if before is not None and labels[before] in ("prose", "weak"):
        text = texts[before].rstrip()
        if start - 1 - before <= 1 and _runs_on(text):
            return True  # the sentence runs on into the "code", or introduces it ("run:")
        if _indent(texts[start]) > _indent(texts[before]):
            return True  # an indented example inside an explanation
    if end < len(texts) and labels[end] == "prose":
        first = texts[end].strip()[:1]
        return first.islower() or first in "(,;"  # the sentence goes on after the "code"
    return False


_ASSIGNMENT = re.compile(r"\s*(?:[-+*/%|&^@]|//|\*\*)?=(?!=)")


def _base(target: str) -> str:
    """The variable an assignment target starts from: "X[1, 0]" and "X.T" -> "X"."""
    return re.split(r"[\[.(]", target.strip(), maxsplit=1)[0].strip()


# Words a sentence does not end on: "... is inferred from", "replace this with", "instead do".
_RUN_ON_WORDS = frozenset(
    {
        "from",
        "with",
        "do",
        "as",
        "like",
        "to",
        "the",
        "a",
        "an",
        "and",
        "or",
        "of",
        "for",
        "use",
        "using",
        "call",
        "calling",
        "run",
        "running",
        "via",
        "by",
        "in",
        "into",
        "on",
        "is",
        "are",
        "be",
        "then",
        "e.g.",
        "i.e.",
        "eg",
        "ie",
        "say",
        "write",
        "instead",
        "than",
        "that",
        "which",
        "where",
        "when",
        "if",
        "so",
        "such",
        "we",
        "you",
        "it",
        "this",
        "these",
        "below",
        "follows",
        "following",
        "have",
        "has",
        "get",
        "gets",
        "give",
        "gives",
        "becomes",
        "returns",
        "yields",
        "computes",
        "equals",
        "would",
        "could",
        "should",
    }
)


_NOTE = re.compile(r"\s*(?:TODO|FIXME|XXX|HACK|NOTE|N\.B\.)\b", re.IGNORECASE)


def _runs_on(text: str) -> bool:
    """Does this prose line lead into the next one? A short label ("# old model") does not."""
    text = text.rstrip()
    if text.endswith((":", ",", "(", "-", "=")):
        return True
    if _NOTE.match(text):
        return False  # "TODO: push the model once legal signs off" labels what follows
    if text.endswith((".", "!", "?", ")")):
        return False
    # A line wrapped at the comment width continues; a short one without a stop is a label.
    return text.split()[-1].lower() in _RUN_ON_WORDS or len(text) >= 50


def _only_values(texts: list[str]) -> bool:
    """Is the block only assignments of values computed without any call ("x = 1")?"""
    tree = _parse(texts)
    if tree is None:
        return False
    return all(
        isinstance(stmt, (ast.Assign, ast.AugAssign))
        and not any(isinstance(n, (ast.Call, ast.Subscript)) for n in ast.walk(stmt.value))
        for stmt in tree.body
    )


def _strip_marker(text: str) -> str:
    body = text[1:] if text.startswith("#") else text
    return body[1:] if body.startswith(" ") else body


def _prose_out(text: str) -> str:
    """Blank out directives so they neither count as code nor join blocks."""
    return "" if _DIRECTIVE.match(text) else text


def _drop_doctests(texts: list[str]) -> list[str]:
    """Blank doctest prompts and the expected output that follows them."""
    out = list(texts)
    in_doctest = False
    for i, text in enumerate(texts):
        if _DOCTEST.match(text):
            in_doctest = True
            out[i] = "\0doctest"
        elif in_doctest and text.strip():
            out[i] = "\0doctest"
        else:
            in_doctest = False
    return out
