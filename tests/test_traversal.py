"""The lean shared traversal sees what libcst's own visitor sees, in the same order, and
its targeted positions are exactly libcst's PositionProvider positions."""

from __future__ import annotations

import io
import textwrap
import tokenize
from typing import Any

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

from mldebt.context import FileContext
from mldebt.traversal import Dispatch, Scope, positions, walk

SNIPPETS = {
    "decorators and classes": '''
        import functools
        from .models import (Base, Mixin as M)

        @functools.lru_cache(maxsize=None)
        @register
        class Model(Base, M, metaclass=Meta):
            """Docstring."""
            rate: float = 0.1

            @property
            def size(self, *args, key: int = 3, **kwargs) -> int:
                return len(self.items)

            async def fetch(self, /, url, *, retries=2):
                async with session(url) as s, other() as o:
                    async for chunk in s:
                        await o.write(chunk)
        ''',
    "comprehensions and conditional expressions": """
        squares = [x * x for x in range(10) if x % 2 if x > 3]
        table = {k: v for k, v in pairs.items() if v is not None}
        unique = {w.lower() for line in lines for w in line.split()}
        total = sum(a if a > 0 else -a for a in values)
        label = "big" if (n := len(values)) > 10 else "small"
        pick = values[1:-1:2], values[::3], values[a, b:c]
        """,
    "match statements": """
        match command.split():
            case [action]:
                run(action)
            case ["go", direction] | ["move", direction] if direction in EXITS:
                move(direction)
            case {"x": x, "y": y, **rest}:
                point(x, y, rest)
            case Point(x=0, y=0) as origin:
                print(origin)
            case [1, 2, *others]:
                pass
            case _:
                raise ValueError(command)
        """,
    "try and except": """
        try:
            model = load(path)
        except (OSError, ValueError) as error:
            log(error)
            raise RuntimeError("no model") from error
        except KeyError:
            model = None
        else:
            model.eval()
        finally:
            cleanup()

        try:
            run()
        except* TimeoutError as group:
            del group
        """,
    "lambdas and calls": """
        key = lambda item, default=0, *rest, flag=False, **kw: (item[1], default)
        sorted(rows, key=lambda r: -r.score)
        fit(X, y, *extra, sample_weight=w, **options)
        fit(a=1, *args)
        obj.method(x)(y).attr[0](z=1)
        """,
    "f-strings and strings": """
        name = "world"
        greeting = f"hello {name!r:>{width}} and {value:.2f} {'nested'} {{literal}}"
        raw = r'\\d+' 'implicit' "concatenation"
        doc = '''a # not a comment
        still the string'''  # a real comment
        """,
    "statements": """
        global counter
        counter += 1
        assert counter > 0, "positive"
        del cache[key], other
        for i, (a, b) in enumerate(zip(xs, ys)):
            if a < b <= i is not None:
                continue
            elif not a:
                break
        else:
            pass
        while (line := stream.readline()) and not done:
            yield from process(line)
        with open(p) as f, lock:
            data: list[int] = [*f, *extra]
            merged = {**base, "k": 1}
        x = y = -z ** 2 @ w
        return
        """,
    "type parameters": """
        type Pair[T] = tuple[T, T]

        def first[T: (int, str), *Ts, **P](items: list[T]) -> T:
            return items[0]

        class Box[T]:
            pass
        """,
}


def _module(source: str) -> cst.Module:
    return cst.parse_module(textwrap.dedent(source).lstrip("\n"))


class _LibcstRecorder(cst.CSTVisitor):
    """libcst's own visitor: every node, in libcst's order."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[tuple[str, int]] = []

    def on_visit(self, node: cst.CSTNode) -> bool:
        self.events.append(("visit", id(node)))
        return True

    def on_leave(self, original_node: cst.CSTNode) -> None:
        self.events.append(("leave", id(original_node)))


def _lean_events(module: cst.Module, whitespace: bool) -> list[tuple[str, int]]:
    """Our walk's visit/leave events for every node class (optionally asking for whitespace)."""
    events: list[tuple[str, int]] = []
    dispatch = Dispatch([])
    for name in _node_class_names():
        dispatch.visit[name] = [lambda node: events.append(("visit", id(node)))]
        dispatch.leave[name] = [lambda node: events.append(("leave", id(node)))]
    dispatch.tokens = whitespace
    walk(module, dispatch, Scope())
    return events


def _node_class_names() -> list[str]:
    return [
        name
        for name, value in vars(cst).items()
        if isinstance(value, type) and issubclass(value, cst.CSTNode)
    ]


# Nodes that only carry whitespace, comments or punctuation: the walk skips them unless a
# rule visits whitespace nodes.
_TOKEN_NODES = (
    cst.BaseParenthesizableWhitespace,
    cst.EmptyLine,
    cst.TrailingWhitespace,
    cst.Comment,
    cst.Newline,
    cst.Comma,
    cst.Dot,
    cst.Colon,
    cst.Semicolon,
    cst.AssignEqual,
    cst.LeftParen,
    cst.RightParen,
    cst.LeftSquareBracket,
    cst.RightSquareBracket,
    cst.LeftCurlyBrace,
    cst.RightCurlyBrace,
    cst.Asynchronous,
    cst.ImportStar,
)


@pytest.mark.parametrize("snippet", SNIPPETS, ids=list(SNIPPETS))
def test_walk_visits_syntax_nodes_in_libcst_order(snippet: str) -> None:
    module = _module(SNIPPETS[snippet])
    recorder = _LibcstRecorder()
    module.visit(recorder)
    nodes = _nodes_by_id(module)

    ours = _lean_events(module, whitespace=False)
    seen = {node_id for _, node_id in ours}
    assert ours == [event for event in recorder.events if event[1] in seen]
    skipped = {type(nodes[i]).__name__ for _, i in recorder.events if i not in seen}
    assert all(issubclass(getattr(cst, name), _TOKEN_NODES) for name in skipped), skipped


@pytest.mark.parametrize("snippet", SNIPPETS, ids=list(SNIPPETS))
def test_walk_with_whitespace_visits_exactly_what_libcst_visits(snippet: str) -> None:
    module = _module(SNIPPETS[snippet])
    recorder = _LibcstRecorder()
    module.visit(recorder)
    assert _lean_events(module, whitespace=True) == recorder.events


def _nodes_by_id(module: cst.Module) -> dict[int, cst.CSTNode]:
    found: dict[int, cst.CSTNode] = {}

    class Collect(cst.CSTVisitor):
        def on_visit(self, node: cst.CSTNode) -> bool:
            found[id(node)] = node
            return True

    module.visit(Collect())
    return found


@pytest.mark.parametrize("snippet", SNIPPETS, ids=list(SNIPPETS))
def test_positions_equal_libcst_position_provider_for_every_node(snippet: str) -> None:
    module = _module(SNIPPETS[snippet])
    expected = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    ours = positions(module, list(expected))
    assert len(ours) == len(expected)
    for node, where in expected.items():
        libcst_span = (where.start.line, where.start.column + 1, where.end.line, where.end.column)
        assert ours[node] == (*libcst_span[:3], libcst_span[3] + 1), type(node).__name__


def test_positions_of_a_few_nodes_do_not_depend_on_what_else_is_asked() -> None:
    module = _module(SNIPPETS["comprehensions and conditional expressions"])
    expected = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    calls = [node for node in expected if isinstance(node, cst.Call)]
    assert positions(module, calls[1:2]) == {calls[1]: positions(module, calls)[calls[1]]}
    assert positions(module, []) == {}


def test_a_visit_returning_false_skips_the_children_but_not_the_leave() -> None:
    module = _module("f(g(x))\nh(y)\n")
    seen: list[str] = []

    class Skipper(cst.BatchableCSTVisitor):
        def visit_Call(self, node: cst.Call) -> bool:
            seen.append(f"visit {cst.Module([]).code_for_node(node.func)}")
            return False

        def leave_Call(self, original_node: cst.Call) -> None:
            seen.append("leave")

    walk(module, Dispatch([Skipper()]), Scope())
    assert seen == ["visit f", "leave", "visit h", "leave"]


def test_the_scope_names_the_enclosing_class_and_function() -> None:
    module = _module(
        """
        class Trainer:
            def fit(self):
                log()
        def main():
            log()
        log()
        """
    )
    scope = Scope()
    where: list[str] = []

    class Where(cst.BatchableCSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            where.append(scope.qualname)

    walk(module, Dispatch([Where()]), scope)
    assert where == ["Trainer.fit", "main", ""]


def test_dispatch_skips_libcst_stubs_and_field_hooks() -> None:
    class Rule(cst.BatchableCSTVisitor):
        def visit_Name(self, node: cst.Name) -> None: ...

        def leave_Call(self, original_node: cst.Call) -> None: ...

        def visit_Call_func(self, node: cst.Call) -> None: ...

    dispatch = Dispatch([Rule(), Rule()])
    assert {name: len(found) for name, found in dispatch.visit.items()} == {"Name": 2}
    assert {name: len(found) for name, found in dispatch.leave.items()} == {"Call": 2}
    assert dispatch.tokens is False
    assert Dispatch([_CommentWatcher()]).tokens is True


class _CommentWatcher(cst.BatchableCSTVisitor):
    def visit_Comment(self, node: cst.Comment) -> None: ...


def test_a_deeply_nested_expression_does_not_exhaust_the_stack() -> None:
    depth = 200
    module = cst.parse_module("x = " + "-" * depth + "1\n")
    count = 0

    class Count(cst.BatchableCSTVisitor):
        def visit_UnaryOperation(self, node: cst.UnaryOperation) -> None:
            nonlocal count
            count += 1

    walk(module, Dispatch([Count()]), Scope())
    assert count == depth


COMMENT_SNIPPETS = [
    *SNIPPETS.values(),
    '''
    s = "# not a comment"  # but this is
    t = 'it\\'s # still a string'  # comment with "quotes" and 'more'
    u = r"\\\\"  # a raw string holding two backslashes
    v = """
    # inside a docstring
    """  # after a docstring
    w = f"{x!r} # in an f-string" f'{y:#x}'  # hex format spec
    x = b'#' + rb"#" + Rb'#' + BR"#"
    call(a,  # trailing
         # own line inside brackets
         b)
    y = 'continued \\
    # still a string'
    #no space
        # indented
    ''',
    "x = 1\n# last line without newline",
    "'''\n# doc\n'''\n",
]


def _tokenizer_comments(text: str) -> list[tuple[int, int, str, bool]]:
    found = []
    code_lines: set[int] = set()
    layout = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT}
    for token in tokenize.generate_tokens(io.StringIO(text).readline):
        if token.type == tokenize.COMMENT:
            line, column = token.start
            found.append((line, column + 1, token.string, line not in code_lines))
        elif token.type not in layout and token.type != tokenize.ENDMARKER:
            code_lines.update(range(token.start[0], token.end[0] + 1))
    return found


@pytest.mark.parametrize("source", COMMENT_SNIPPETS)
def test_comments_are_exactly_the_tokenizers_comments(source: str) -> None:
    text = textwrap.dedent(source).lstrip("\n")
    module = cst.parse_module(text)
    context = FileContext("example.py", text, module, notebook=False)
    found: list[Any] = [(c.line, c.column, c.text, c.own_line) for c in context.comments]
    assert found == _tokenizer_comments(text)
