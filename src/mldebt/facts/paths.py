"""Path templates: what a str/path expression evaluates to, as far as is known statically.

A *template* is a string in which literal text is escaped like a format string (``{{``, ``}}``)
and the parts not known in the file are placeholders:

* ``{}`` - unknown (a wildcard: ``data/{}/x.csv`` stands for ``data/2024/x.csv``);
* ``{ref:config.DATA_DIR}`` - a constant imported from another module (resolved by the graph);
* ``{here}`` - the folder of the analysed file (``Path(__file__).parent``);
* ``{arg:path}`` - a parameter of the enclosing function that has no literal default.

:func:`evaluate` does the abstract evaluation of one expression; what a *name* stands for is
asked of a :class:`Names` (flow, module constants, imports, argparse defaults), so this module
knows nothing of scopes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol

import libcst as cst

from mldebt.literals import string_value

WILD = "{}"
HERE = "{here}"
_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}]*)\}")


def literal(text: str) -> str:
    """The template of a known string."""
    return text.replace("{", "{{").replace("}", "}}")


def ref(qualname: str) -> str:
    return "{ref:" + qualname + "}"


def arg(name: str) -> str:
    return "{arg:" + name + "}"


def parts(template: str) -> list[tuple[str, str]]:
    """``[("text", "data/"), ("ref", "config.X"), ("wild", ""), ("here", ""), ("arg", "p")]``."""
    found: list[tuple[str, str]] = []
    text: list[str] = []
    position = 0
    for match in _PLACEHOLDER.finditer(template):
        text.append(template[position : match.start()])
        position = match.end()
        token = match.group()
        if token in ("{{", "}}"):
            text.append(token[0])
            continue
        if text and "".join(text):
            found.append(("text", "".join(text)))
        text = []
        inner = match.group(1)
        kind, _, value = inner.partition(":")
        if inner == "":
            found.append(("wild", ""))
        elif inner == "here":
            found.append(("here", ""))
        elif kind in ("ref", "arg") and value:
            found.append((kind, value))
        else:
            found.append(("wild", ""))
    text.append(template[position:])
    if "".join(text):
        found.append(("text", "".join(text)))
    return found


def unescape(template: str) -> str | None:
    """The plain string of a template without placeholders, else None."""
    pieces = parts(template)
    if all(kind == "text" for kind, _ in pieces):
        return "".join(value for _, value in pieces)
    return None


def is_known(template: str) -> bool:
    """True when the template says anything: a name in literal text, a reference or ``{here}``
    (not ``{}/{arg:path}``)."""
    return any(
        kind in ("ref", "here") or (kind == "text" and any(c.isalnum() for c in value))
        for kind, value in parts(template)
    )


def to_regex(template: str) -> re.Pattern[str]:
    """A regex matching the concrete paths a template with only text and wildcards stands for
    (references, ``{here}`` and ``{arg:...}`` match like wildcards)."""
    pattern = []
    for kind, value in parts(template):
        pattern.append(re.escape(value) if kind == "text" else ".*")
    return re.compile("".join(pattern) + r"\Z", re.DOTALL)


def join(*pieces: str) -> str:
    """``os.path.join`` / pathlib ``/`` on templates: an absolute literal piece restarts."""
    out = ""
    for piece in pieces:
        if piece.startswith("/") or not out:
            out = piece
        elif out.endswith("/"):
            out += piece
        else:
            out += "/" + piece
    return out


def dirname(template: str) -> str:
    """The parent folder: ``{here}/x.py`` -> ``{here}``; ``a/b`` -> ``a``; ``x`` -> ``.``."""
    if template.endswith("/") and len(template) > 1:
        template = template[:-1]
    if template == HERE or (template.startswith(HERE) and template.endswith("/..")):
        return template + "/.."  # ``Path(__file__).parent.parent``: the folder above
    cut = _last_separator(template)
    if cut < 0:
        return "." if "{" not in template else WILD
    return template[:cut] or "/"


def basename(template: str) -> str:
    cut = _last_separator(template)
    return template[cut + 1 :] if cut >= 0 else template


def _last_separator(template: str) -> int:
    """Index of the last ``/`` outside placeholders (``{ref:a/b}`` cannot hold one anyway)."""
    depth = 0
    for index in range(len(template) - 1, -1, -1):
        char = template[index]
        if char == "}":
            depth += 1
        elif char == "{":
            depth -= 1
        elif char == "/" and depth <= 0:
            return index
    return -1


def with_suffix(template: str, suffix: str) -> str:
    name = basename(template)
    dot = name.rfind(".")
    if dot <= 0 or "}" in name[dot:]:
        return template + suffix
    return template[: len(template) - len(name) + dot] + suffix


def from_glob(pattern: str) -> str:
    """A glob pattern (as template text) with its ``*``, ``?`` and ``[...]`` as wildcards."""
    out = re.sub(r"\*\*/?|\*|\?|\[[^\]]*\]", WILD, pattern)
    return re.sub(r"(\{\})+", WILD, out)


class Names(Protocol):
    """What evaluation asks of its surroundings; every method returns a template or None."""

    def name(self, node: cst.Name) -> str | None:
        """A bare name: a local (flow-aware), parameter, module constant or imported name."""

    def attribute(self, node: cst.Attribute) -> str | None:
        """``cfg.DATA_DIR``, ``args.data_dir``, ``self.root``: None when not a known value."""

    def qualname(self, node: cst.BaseExpression) -> str | None:
        """The qualified name of a Name/Attribute chain through the imports (``os.path.join``)."""

    def subscript(self, node: cst.Subscript) -> str | None:
        """``PATHS["train"]`` of a dict constant, or None."""


_JOINERS = frozenset(
    {
        "os.path.join",
        "posixpath.join",
        "ntpath.join",
        "pathlib.Path",
        "pathlib.PurePath",
        "pathlib.PosixPath",
        "pathlib.PurePosixPath",
        "pathlib.WindowsPath",
        "upath.UPath",
    }
)
_SAME = frozenset(
    {
        "str",
        "os.fspath",
        "os.path.abspath",
        "os.path.realpath",
        "os.path.normpath",
        "os.path.expanduser",
        "os.path.expandvars",
        "os.path.relpath",
    }
)
_SAME_METHODS = frozenset(
    {"resolve", "absolute", "expanduser", "as_posix", "strip", "rstrip", "lstrip", "lower"}
)
_CWD = frozenset({"os.getcwd", "pathlib.Path.cwd", "os.getcwdb"})
_ENV = frozenset({"os.environ.get", "os.getenv"})
MAX_DEPTH = 24


def evaluate(node: cst.BaseExpression, names: Names, depth: int = 0) -> str | None:
    """The template ``node`` evaluates to, or None when it is not a string/path we understand.

    Unknown *parts* of an expression that is recognisably a string or path become ``{}``.
    """
    if depth > MAX_DEPTH:
        return None
    depth += 1
    if isinstance(node, cst.SimpleString):
        value = string_value(node)
        return literal(value) if value is not None else None
    if isinstance(node, cst.ConcatenatedString):
        left = evaluate(node.left, names, depth)
        right = evaluate(node.right, names, depth)
        return None if left is None or right is None else left + right
    if isinstance(node, cst.FormattedString):
        return _fstring(node, names, depth)
    if isinstance(node, cst.Name):
        if node.value == "__file__":
            return HERE + "/{}"
        return names.name(node)
    if isinstance(node, cst.Attribute):
        return _attribute(node, names, depth)
    if isinstance(node, cst.BinaryOperation):
        return _binary(node, names, depth)
    if isinstance(node, cst.Call):
        return _call(node, names, depth)
    if isinstance(node, cst.BooleanOperation) and isinstance(node.operator, cst.Or):
        left = evaluate(node.left, names, depth)
        if left is not None and left != "":
            return left
        return evaluate(node.right, names, depth)
    if isinstance(node, cst.IfExp):
        body = evaluate(node.body, names, depth)
        return body if body is not None else evaluate(node.orelse, names, depth)
    if isinstance(node, cst.Subscript):
        return _subscript(node, names, depth)
    return None


def evaluate_or_wild(node: cst.BaseExpression | None, names: Names) -> str:
    if node is None:
        return WILD
    found = evaluate(node, names)
    return WILD if found is None else found


def _part(node: cst.BaseExpression, names: Names, depth: int) -> str:
    found = evaluate(node, names, depth)
    return WILD if found is None else found


def _fstring(node: cst.FormattedString, names: Names, depth: int) -> str:
    out = []
    for piece in node.parts:
        if isinstance(piece, cst.FormattedStringText):
            out.append(literal(piece.value.replace("{{", "{").replace("}}", "}")))
        elif isinstance(piece, cst.FormattedStringExpression):
            if piece.format_spec:  # {x:%Y%m%d}, {x:.3f}: formatting we do not redo
                out.append(WILD)
            else:
                out.append(_part(piece.expression, names, depth))
    return _squash("".join(out))


def _squash(template: str) -> str:
    return template.replace("{}{}", "{}") if "{}{}" in template else template


_NOT_STRINGS = (
    cst.List,
    cst.Tuple,
    cst.Set,
    cst.Dict,
    cst.ListComp,
    cst.SetComp,
    cst.DictComp,
    cst.GeneratorExp,
    cst.Integer,
    cst.Float,
)


def _binary(node: cst.BinaryOperation, names: Names, depth: int) -> str | None:
    operator = node.operator
    if isinstance(operator, cst.Divide):  # pathlib: the left side must be a path
        left = evaluate(node.left, names, depth)
        if left is None:
            if not isinstance(
                node.right, (cst.SimpleString, cst.FormattedString, cst.ConcatenatedString)
            ):
                return None
            left = WILD  # args.root / "data": a folder known only at run time
        return join(left, _part(node.right, names, depth))
    if isinstance(operator, cst.Add):
        if isinstance(node.left, _NOT_STRINGS) or isinstance(node.right, _NOT_STRINGS):
            return None
        left = evaluate(node.left, names, depth)
        right = evaluate(node.right, names, depth)
        if left is None and right is None:
            return None
        return _squash((WILD if left is None else left) + (WILD if right is None else right))
    if isinstance(operator, cst.Modulo):
        left = evaluate(node.left, names, depth)
        if left is None:
            return None
        operand = node.right
        items = [e.value for e in operand.elements] if isinstance(operand, cst.Tuple) else [operand]
        return _percent(left, [_part(v, names, depth) for v in items])
    return None


def _percent(template: str, values: Sequence[str]) -> str:
    queue = list(values)

    def substitute(match: re.Match[str]) -> str:
        if match.group() == "%%":
            return "%"
        return queue.pop(0) if queue else WILD

    return _squash(
        re.sub(r"%%|%(?:\([^)]*\))?[-+ #0]*\d*(?:\.\d+)?[sdifrxXeEgGc]", substitute, template)
    )


def _attribute(node: cst.Attribute, names: Names, depth: int) -> str | None:
    attr = node.attr.value
    if attr in ("parent", "name", "stem", "suffix"):
        base = evaluate(node.value, names, depth)
        if base is None:
            return names.attribute(node)
        if attr == "parent":
            return dirname(base)
        name = basename(base)
        if attr == "name":
            return name
        dot = name.rfind(".")
        if attr == "stem":
            return name[:dot] if dot > 0 else name
        return name[dot:] if dot > 0 else ""
    if attr == "parents":
        return None
    return names.attribute(node)


def _call(node: cst.Call, names: Names, depth: int) -> str | None:
    func = node.func
    args = [a for a in node.args if a.keyword is None]
    if isinstance(func, cst.Attribute):
        method = func.attr.value
        if method == "format" and isinstance(
            func.value, (cst.SimpleString, cst.Name, cst.Attribute)
        ):
            base = evaluate(func.value, names, depth)
            if base is not None:
                return _format(base, node, names, depth)
        if (
            method in ("joinpath", "with_name", "with_suffix", "with_stem")
            or method in _SAME_METHODS
        ):
            base = evaluate(func.value, names, depth)
            if base is not None:
                if method == "joinpath":
                    return join(base, *(_part(a.value, names, depth) for a in args))
                if method in _SAME_METHODS:
                    return base
                given = _part(args[0].value, names, depth) if args else WILD
                if method == "with_name":
                    return join(dirname(base), given)
                if method == "with_suffix":
                    return with_suffix(base, given)
                name = basename(base)
                return join(dirname(base), given + name[len(with_suffix(name, "")) :])
        if method in ("glob", "rglob") and args:
            base = evaluate(func.value, names, depth)
            if base is not None:
                pattern = _part(args[0].value, names, depth)
                return join(base, ("**/" if method == "rglob" else "") + pattern)
    qualname = names.qualname(func)
    if qualname is None:
        return None
    if qualname in _JOINERS:
        if qualname.startswith("pathlib") and not args:
            return "."
        if any(a.star for a in args):
            return WILD
        return join(*(_part(a.value, names, depth) for a in args)) if args else None
    if qualname in _SAME and args:
        return evaluate(args[0].value, names, depth)
    if qualname in ("os.path.dirname", "posixpath.dirname") and args:
        inner = evaluate(args[0].value, names, depth)
        return dirname(inner) if inner is not None else None
    if qualname in ("os.path.basename", "posixpath.basename") and args:
        inner = evaluate(args[0].value, names, depth)
        return basename(inner) if inner is not None else None
    if qualname in _CWD:
        return "."
    if qualname in ("pathlib.Path.home",):
        return "~"
    if qualname in _ENV:
        default = args[1].value if len(args) > 1 else _keyword(node, "default")
        return _part(default, names, depth) if default is not None else WILD
    if qualname in ("glob.glob", "glob.iglob") and args:
        return evaluate(args[0].value, names, depth)
    if qualname.startswith("tempfile."):
        return WILD
    return None


def _keyword(node: cst.Call, name: str) -> cst.BaseExpression | None:
    for a in node.args:
        if a.keyword is not None and a.keyword.value == name:
            return a.value
    return None


def _format(base: str, node: cst.Call, names: Names, depth: int) -> str:
    positional = [a.value for a in node.args if a.keyword is None and not a.star]
    keywords = {a.keyword.value: a.value for a in node.args if a.keyword is not None}
    counter = 0
    out = []
    # The base is a template whose literal braces are doubled; format fields are those.
    for kind, value in parts(base):
        if kind != "text":
            out.append(
                WILD if kind == "wild" else "{" + kind + (":" + value if value else "") + "}"
            )
            continue
        position = 0
        for match in re.finditer(r"\{\{|\}\}|\{([^{}]*)\}", value):
            out.append(literal(value[position : match.start()]))
            position = match.end()
            if match.group() in ("{{", "}}"):
                out.append(literal(match.group()[0]))
                continue
            field = match.group(1).split(":")[0].split("!")[0]
            key = field.split(".")[0].split("[")[0]
            expr: cst.BaseExpression | None = None
            if key == "":
                expr = positional[counter] if counter < len(positional) else None
                counter += 1
            elif key.isdigit():
                index = int(key)
                expr = positional[index] if index < len(positional) else None
            else:
                expr = keywords.get(key)
            if expr is None or key != field or ":" in match.group(1):
                out.append(WILD)
            else:
                out.append(_part(expr, names, depth))
        out.append(literal(value[position:]))
    return _squash("".join(out))


def _subscript(node: cst.Subscript, names: Names, depth: int) -> str | None:
    """``sys.argv[1]`` is unknown; ``Path(__file__).parents[1]`` is two folders up;
    ``PATHS["train"]`` is asked of the names."""
    target = node.value
    if isinstance(target, cst.Attribute) and target.attr.value == "parents":
        index = node.slice[0].slice if len(node.slice) == 1 else None
        base = evaluate(target.value, names, depth)
        if (
            base is not None
            and isinstance(index, cst.Index)
            and isinstance(index.value, cst.Integer)
        ):
            for _ in range(int(index.value.value, 0) + 1):
                base = dirname(base)
            return base
        return None
    if (isinstance(target, cst.Name) and target.value == "argv") or (
        isinstance(target, cst.Attribute) and target.attr.value == "argv"
    ):
        return WILD
    return names.subscript(node)
