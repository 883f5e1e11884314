"""MLD514: an array tiled to another's shape only to be combined with it element-wise."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import libcst as cst

from mldebt.findings import Severity
from mldebt.resolve import kinds as k
from mldebt.resolve.kinds import argument, positional
from mldebt.rule import BAD, GOOD, FileRule
from mldebt_rules._arrays import TextGate, source

_TILES = frozenset({"numpy.tile", "tensorflow.tile", "torch.tile"})
_REPEATS = frozenset({"numpy.repeat", "tensorflow.repeat", "torch.repeat_interleave"})
_ELEMENTWISE_OPERATORS = (
    cst.Add,
    cst.Subtract,
    cst.Multiply,
    cst.Divide,
    cst.FloorDivide,
    cst.Modulo,
    cst.Power,
)
_ELEMENTWISE_FUNCTIONS = frozenset(
    {
        "numpy.add",
        "numpy.subtract",
        "numpy.multiply",
        "numpy.divide",
        "numpy.maximum",
        "numpy.minimum",
        "torch.add",
        "torch.sub",
        "torch.mul",
        "torch.div",
        "torch.maximum",
        "torch.minimum",
        "tensorflow.add",
        "tensorflow.subtract",
        "tensorflow.multiply",
        "tensorflow.divide",
        "tensorflow.math.add",
        "tensorflow.math.subtract",
        "tensorflow.math.multiply",
        "tensorflow.math.divide",
        "tensorflow.maximum",
        "tensorflow.minimum",
    }
)
_FUNCTION_NOUNS = {
    "add": "sum",
    "subtract": "subtraction",
    "sub": "subtraction",
    "multiply": "product",
    "mul": "product",
    "divide": "division",
    "div": "division",
    "maximum": "maximum",
    "minimum": "minimum",
}
_SPACE = re.compile(r"\s+")


def _is_one(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Integer) and node.value == "1"


@dataclass
class _Tiled:
    """A name bound to a tiled array, and how it is used."""

    call: cst.Call
    reps: list[cst.BaseExpression]
    ones: list[bool] | None  # per count: the axis it repeats is known to have size 1
    combined: tuple[cst.CSTNode, str] | None = None  # an element-wise use that broadcasts
    escaped: bool = False  # passed on, returned or stored: the full shape may be needed
    uses: list[str] = field(default_factory=list)


class BroadcastingNotUsed(TextGate, FileRule):
    code = "MLD514"
    name = "broadcasting-not-used"
    category = "ml-api-misuse"
    severity = Severity.INFO
    debt_minutes = 5.0
    tags = ("numpy", "pytorch", "tensorflow")
    gates = (("tile", "repeat"),)
    summary = (
        "An array tiled to another's shape just to be added or multiplied: broadcasting does it."
    )
    what = (
        "`np.tile`, `tf.tile`, `torch.tile`, `Tensor.repeat`, `np.repeat`, `tf.repeat` and "
        "`repeat_interleave` used as an operand of an element-wise operation "
        "(`+ - * / // % **`, comparisons, `np.multiply`, `torch.mul`, `tf.subtract`...) when "
        "their repetition counts are read off the shape of the other operand, or repeat only "
        "axes known to have size 1 (added with `None`, or given as 1 to `reshape` / `view`) "
        "where the other operand spells out a full axis: "
        "`X - np.tile(mu, (X.shape[0], 1))`, `q[:, None] - k.view(1, -1).repeat(n, 1)`, "
        "`m = mask.unsqueeze(1).repeat(1, h.size(1), 1)` then `h * m`. A tiled variable "
        "that is also passed to another call (a concatenation, a model), returned or stored "
        "is not reported: there the full shape may be needed."
    )
    why = (
        "Zhang et al. (CAIN 2022), *Broadcasting Feature Not Used*: NumPy, PyTorch and "
        "TensorFlow broadcast a size-1 axis against any size, without materialising the "
        "copies. Tiling first allocates and fills a full-size array for nothing, costing "
        "memory (often the limit on a GPU) and time, and the extra shape bookkeeping is one "
        "more place for bugs."
    )
    limits = (
        "Only repetition counts written as the other operand's shape (`X.shape[0]`, "
        "`h.size(1)`, `tf.shape(x)[0]`, `len(X)`), counts on size-1 axes facing a full axis "
        "of the other operand, and 1 are recognised, which is what proves that broadcasting "
        "gives the same result; tiling to a size held in a variable against an operand of "
        "unknown shape is not reported (the tile may be what gives the result its shape). "
        "Tiled variables are followed within one function (or notebook)."
    )
    examples = (
        BAD(
            """
            import numpy as np

            X = np.load("features.npy")
            X_centered = X - np.tile(X.mean(axis=0), (X.shape[0], 1))
            ratio = np.divide(X, np.tile(X.sum(axis=1, keepdims=True), (1, X.shape[1])))
            """,
            expect=2,
        ),
        BAD(
            """
            import torch

            def masked_mean(h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
                m = mask.unsqueeze(1).repeat(1, h.size(1), 1)
                return (h * m).sum(dim=-1) / m.sum(dim=-1).clamp(min=1.0)
            """,
            expect=1,
        ),
        BAD(
            """
            # %%
            import tensorflow as tf
            # %%
            flat = tf.reshape(X, (-1, X.shape[-1]))
            mean = tf.reduce_mean(flat, axis=0)
            std = tf.math.reduce_std(flat, axis=0)
            flat_norm = (flat - tf.tile(mean[None, :], [tf.shape(flat)[0], 1])) / std
            """,
            path="normalise.ipynb",
            expect=1,
        ),
        BAD(
            """
            import numpy as np
            import torch

            def relative_positions(q_ids: torch.Tensor, k_ids: torch.Tensor) -> torch.Tensor:
                return q_ids[:, None] - k_ids.view(1, -1).repeat(q_ids.size(0), 1)

            def length_mask(lengths, max_length: int, batch_size: int):
                positions = torch.arange(max_length)[None].repeat(batch_size, 1)
                return positions < lengths[:, None]

            diffs = np.tile(grid[None, :], (len(grid), 1)) - grid[:, None]
            """,
            expect=3,
        ),
        GOOD(
            """
            import numpy as np
            import torch

            X = np.load("features.npy")
            X_centered = X - X.mean(axis=0)

            def masked_mean(h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
                m = mask.unsqueeze(1)
                return (h * m).sum(dim=-1) / m.sum(dim=-1).clamp(min=1.0)
            """
        ),
        GOOD(
            """
            import tensorflow as tf

            def add_static_features(sequence, static):
                steps = tf.shape(sequence)[1]
                tiled = tf.tile(static[:, None, :], [1, steps, 1])
                return tf.concat([sequence, tiled], axis=-1)

            def expand(x, queries):
                keys = tf.tile(x[:, None], [1, tf.shape(queries)[1], 1])
                scores = keys * queries
                return scores, keys
            """
        ),
        GOOD(
            """
            import numpy as np
            import torch

            pattern = np.tile(np.array([1.0, -1.0]), 4) * weights
            blocks = torch.arange(6).repeat(3) + offsets
            tokens = torch.randint(0, 9, (8, 16))
            doubled = tokens.repeat(2, 1) * scale
            stacked = np.tile(block[:, :2], (3, 1)) - targets
            attn = alen[None, None, :].repeat(bs, slen, 1) <= alen[None, :, None]
            scaled = 1.0 - mask[:, None, None, :].repeat(1, n_heads, 1, 1)
            """
        ),
    )

    def __init__(self, context: Any, options: Any) -> None:
        super().__init__(context, options)
        self.scopes: list[dict[str, _Tiled]] = [{}]
        self.binding: tuple[str, _Tiled] | None = None

    # --- scopes ----------------------------------------------------------------------------

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.scopes.append({})

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        for tiled in self.scopes.pop().values():
            self._conclude(tiled)

    def leave_Module(self, original_node: cst.Module) -> None:
        for tiled in self.scopes[0].values():
            self._conclude(tiled)

    def _conclude(self, tiled: _Tiled) -> None:
        if tiled.combined is None or tiled.escaped:
            return
        node, operator = tiled.combined
        self._report(tiled.call, operator, related=[(node, "combined element-wise here")])

    # --- where tiled values come from and go ------------------------------------------------

    def visit_Assign(self, node: cst.Assign) -> None:
        scope = self.scopes[-1]
        if isinstance(node.value, cst.Name) and node.value.value in scope:
            scope[node.value.value].escaped = True
        for target in node.targets:
            if isinstance(target.target, cst.Name):
                old = scope.pop(target.target.value, None)
                if old is not None:
                    self._conclude(old)
            elif isinstance(target.target, cst.Attribute) and isinstance(node.value, cst.Name):
                found = scope.get(node.value.value)
                if found is not None:
                    found.escaped = True
        if len(node.targets) == 1 and isinstance(node.targets[0].target, cst.Name):
            tiled = self._tile(node.value)
            if tiled is not None:
                call, reps, ones = tiled
                self.binding = (node.targets[0].target.value, _Tiled(call, reps, ones))

    def leave_Assign(self, original_node: cst.Assign) -> None:
        if self.binding is not None:
            name, tiled = self.binding
            self.binding = None
            self.scopes[-1][name] = tiled  # bound once the right-hand side has been seen

    def visit_Return(self, node: cst.Return) -> None:
        self._escape(node.value)

    def visit_Yield(self, node: cst.Yield) -> None:
        if isinstance(node.value, cst.BaseExpression):
            self._escape(node.value)

    def visit_List(self, node: cst.List) -> None:
        if not self.scopes[-1]:
            return
        for element in node.elements:
            self._escape(element.value)

    def visit_Tuple(self, node: cst.Tuple) -> None:
        if not self.scopes[-1]:
            return
        for element in node.elements:
            self._escape(element.value)

    def _escape(self, expr: cst.BaseExpression | None) -> None:
        if isinstance(expr, cst.Name):
            found = self._lookup(expr.value)
            if found is not None:
                found.escaped = True

    def _lookup(self, name: str) -> _Tiled | None:
        return self.scopes[-1].get(name)

    def visit_Call(self, node: cst.Call) -> None:
        if _last_name(node.func) in _FUNCTION_NOUNS:
            name = self.context.resolver.call_name(node)
            if name in _ELEMENTWISE_FUNCTIONS:
                left, right = positional(node, 0), positional(node, 1)
                if left is not None and right is not None:
                    self._combined(node, left, right, _FUNCTION_NOUNS[name.rpartition(".")[2]])
                return
        if self.scopes[-1]:
            for arg in node.args:
                self._escape(arg.value)

    # --- element-wise operations ------------------------------------------------------------

    def visit_BinaryOperation(self, node: cst.BinaryOperation) -> None:
        if isinstance(node.operator, _ELEMENTWISE_OPERATORS):
            self._combined(node, node.left, node.right, _operator(node.operator))

    def visit_Comparison(self, node: cst.Comparison) -> None:
        if len(node.comparisons) == 1 and not isinstance(
            node.comparisons[0].operator, (cst.In, cst.NotIn, cst.Is, cst.IsNot)
        ):
            self._combined(node, node.left, node.comparisons[0].comparator, "comparison")

    def _combined(
        self, node: cst.CSTNode, left: cst.BaseExpression, right: cst.BaseExpression, how: str
    ) -> None:
        for side, other in ((left, right), (right, left)):
            if isinstance(side, cst.Name):
                tiled = self._lookup(side.value)
                if (
                    tiled is not None
                    and tiled.combined is None
                    and self._matches(tiled.reps, tiled.ones, other)
                ):
                    tiled.combined = (node, how)
                continue
            found = self._tile(side)
            if found is not None and self._matches(found[1], found[2], other):
                self._report(found[0], how)

    def _report(
        self,
        call: cst.Call,
        how: str,
        related: list[tuple[cst.CSTNode, str]] | None = None,
    ) -> None:
        self.report(
            call,
            f"`{source(self.context.module, call)}` copies an array up to the shape of the "
            f"other operand of a {how}, which broadcasting does without the copies: keep the "
            "size-1 axis instead",
            related=related or [],
        )

    # --- tiles and their counts -------------------------------------------------------------

    def _tile(
        self, expr: cst.BaseExpression
    ) -> tuple[cst.Call, list[cst.BaseExpression], list[bool] | None] | None:
        """(call, repetition counts, which counts repeat a size-1 axis) of a tiling call."""
        if not isinstance(expr, cst.Call) or _last_name(expr.func) not in _TILE_NAMES:
            return None
        func = expr.func
        if isinstance(func, cst.Attribute) and func.attr.value in ("repeat", "repeat_interleave"):
            value = self.context.resolver.value_of(func.value)
            if value is not None and value.kind == k.TENSOR and value.type == "torch.Tensor":
                counts = [a.value for a in expr.args if a.keyword is None and not a.star]
                if len(counts) == 1 and isinstance(counts[0], (cst.Tuple, cst.List)):
                    counts = [e.value for e in counts[0].elements]
                if func.attr.value == "repeat_interleave":
                    return (expr, counts[:1], None) if counts else None
                return (expr, counts, _size_one(func.value, len(counts))) if counts else None
            return None
        if not isinstance(func, (cst.Name, cst.Attribute)):
            return None
        name = self.context.resolver.call_name(expr)
        if name in _TILES:
            reps = argument(expr, 1, "reps") or argument(expr, 1, "multiples")
            if reps is None:
                reps = argument(expr, 1, "dims")
            if isinstance(reps, (cst.Tuple, cst.List)):
                counts = [e.value for e in reps.elements]
            elif reps is not None:
                counts = [reps]
            else:
                return None
            source = argument(expr, 0, "A") or argument(expr, 0, "input")
            ones = _size_one(source, len(counts)) if source is not None else None
            return expr, counts, ones
        if name in _REPEATS:
            count = argument(expr, 1, "repeats")
            return (expr, [count], None) if count is not None else None
        return None

    def _matches(
        self,
        reps: list[cst.BaseExpression],
        ones: list[bool] | None,
        other: cst.BaseExpression,
    ) -> bool:
        """Every count is 1, is the size of an axis of ``other``, or repeats a size-1 axis
        against an axis ``other`` spells out in full (``x[:, None]``), and one count at least
        is not 1: then broadcasting gives the same result."""
        shape: re.Pattern[str] | None = None
        if isinstance(other, (cst.Name, cst.Attribute)):
            code = re.escape(_SPACE.sub("", self.context.node_source(other)))
            shape = re.compile(rf"(?<![\w.]){code}\.(?:shape\b|size\()|\b(?:shape|len)\({code}\)")
        other_axes = _axes(other)
        sized = 0
        for index, rep in enumerate(reps):
            if _is_one(rep):
                continue
            sized += 1
            if (
                ones is not None
                and ones[index]
                and other_axes is not None
                and index < len(other_axes)
                and not other_axes[index]
            ):
                continue  # a size-1 axis repeated to the other operand's full axis
            if shape is None or not shape.search(
                _SPACE.sub("", self.context.module.code_for_node(rep))
            ):
                return False
        return sized > 0


_TILE_NAMES = frozenset({"tile", "repeat", "repeat_interleave"})


def _axes(expr: cst.BaseExpression) -> list[bool] | None:
    """The leading axes of ``expr`` as far as its spelling shows them, True where the size
    is 1: ``x[None, :]`` -> [True, False], ``x[:, None]`` -> [False, True],
    ``x.view(1, -1)`` -> [True, False]. None when they are not spelled out."""
    if isinstance(expr, cst.Subscript):
        axes = []
        for element in expr.slice:
            part = element.slice
            if isinstance(part, cst.Slice):
                axes.append(False)
            elif (
                isinstance(part, cst.Index)
                and isinstance(part.value, cst.Name)
                and part.value.value == "None"
            ):
                axes.append(True)
            else:
                return None  # an integer index, a mask, an Ellipsis: axes unknown
        return axes
    if (
        isinstance(expr, cst.Call)
        and isinstance(expr.func, cst.Attribute)
        and expr.func.attr.value in ("reshape", "view")
    ):
        dims = [a.value for a in expr.args if a.keyword is None and not a.star]
        if len(dims) == 1 and isinstance(dims[0], (cst.Tuple, cst.List)):
            dims = [e.value for e in dims[0].elements]
        return [_is_one(dim) for dim in dims] if dims else None
    return None


def _size_one(source: cst.BaseExpression, count: int) -> list[bool] | None:
    """For ``count`` repetition counts (one per axis, as tiling code writes them): whether
    each repeats an axis of ``source`` known to have size 1. None when none is known."""
    axes = _axes(source)
    if not axes or not any(axes):
        return None
    return [index < len(axes) and axes[index] for index in range(count)]


def _last_name(func: cst.BaseExpression) -> str | None:
    if isinstance(func, cst.Attribute):
        return func.attr.value
    if isinstance(func, cst.Name):
        return func.value
    return None


def _operator(operator: cst.BaseBinaryOp) -> str:
    names = {
        cst.Add: "sum",
        cst.Subtract: "subtraction",
        cst.Multiply: "product",
        cst.Divide: "division",
        cst.FloorDivide: "division",
        cst.Modulo: "modulo",
        cst.Power: "power",
    }
    return names.get(type(operator), "operation")
