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
    r"-\*-|vim?:|%%|In\s*\[\s*\d*\s*\]:|Out\s*\[|[+-]\s*$|=+\s*$|-+\s*$|#+)"
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


def _strong(tree: ast.Module) -> bool:
    """Does the parsed text contain a statement no prose would parse as?"""
    for stmt in tree.body:
        if isinstance(stmt, ast.Expr):
            if isinstance(stmt.value, (ast.Call, ast.Await, ast.Yield, ast.YieldFrom)):
                return True
        elif isinstance(stmt, ast.AnnAssign):
            if stmt.value is not None:
                return True
        elif isinstance(stmt, (ast.Pass, ast.Break, ast.Continue, ast.Global, ast.Nonlocal)):
            continue
        else:
            return True
    return False


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


def _code_spans(lines: list[str]) -> list[tuple[int, int]]:
    """Half-open index ranges of ``lines`` that are code, greedily, statement by statement."""
    spans: list[tuple[int, int]] = []
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
        spans.append((i, j) if _strong(tree) or _HEADER.match(text) else (i, -j))
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
        blocks: list[list[int]] = []
        example_end = -1  # code shown after prose ending in ':' is an example, not dead code
        for start, signed_end in _code_spans(texts):
            end = abs(signed_end)
            if start == example_end or (start > 0 and _introduces_example(texts[start - 1])):
                example_end = end
                continue
            joins = bool(blocks) and all(not t.strip() for t in texts[blocks[-1][1] : start])
            if joins:
                blocks[-1][1] = end
            elif signed_end > 0:
                blocks.append([start, end])
        for start, end in blocks:
            if end - start >= self.opts["min-lines"]:
                self._report_block(run[start:end])

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


def _introduces_example(text: str) -> bool:
    return text.rstrip().endswith(":") and _parse([text]) is None


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
