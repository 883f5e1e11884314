"""MLD501: row-by-row loops over DataFrames, and arrays or tensors grown inside loops."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import libcst as cst

from mldebt.findings import Severity
from mldebt.resolve import kinds as k
from mldebt.resolve.kinds import positional
from mldebt.rule import BAD, GOOD, FileRule
from mldebt_rules._arrays import INDEXERS, PANDAS, TextGate, source

_ROW_ITERATORS = frozenset({"iterrows", "itertuples"})
# Functions that return a new array holding their inputs: calling one in a loop to extend
# the same variable copies everything gathered so far on every pass.
_APPEND_FUNCTIONS = frozenset({"numpy.append"})
_JOIN_FUNCTIONS = frozenset(
    {
        "numpy.concatenate",
        "numpy.vstack",
        "numpy.hstack",
        "numpy.row_stack",
        "numpy.column_stack",
        "numpy.dstack",
        "torch.cat",
        "torch.concat",
        "torch.concatenate",
        "torch.vstack",
        "torch.hstack",
        "torch.row_stack",
        "torch.column_stack",
        "torch.dstack",
        "pandas.concat",
    }
)


_ITERATIVE = (cst.For, cst.While, cst.With, cst.Try, cst.Yield, cst.Await)


def _inherently_iterative(body: cst.CSTNode) -> bool:
    """The loop body nests another loop, a ``with``, ``try``, ``yield`` or ``await``: per-row
    work (tokenising each cell, a request per row) rather than column arithmetic."""
    pending: list[cst.CSTNode] = [body]
    while pending:
        node = pending.pop()
        if isinstance(node, _ITERATIVE):
            return True
        if isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
            continue
        pending.extend(node.children)
    return False


def _mentions(loop: cst.For | cst.While, name: str, skipped: set[int]) -> bool:
    """``name`` appears in ``loop`` outside the calls in ``skipped`` (and their targets)."""
    pending: list[cst.CSTNode] = [loop.body]
    if isinstance(loop, cst.While):
        pending.append(loop.test)
    while pending:
        node = pending.pop()
        if id(node) in skipped:
            continue
        if isinstance(node, cst.Assign) and id(node.value) in skipped:
            continue
        if isinstance(node, cst.Name) and node.value == name:
            return True
        pending.extend(node.children)
    return False


# The last part of every growth function's name (and `df.append`).
_GROWTH_NAMES = frozenset(
    {"append", *(name.rpartition(".")[2] for name in _APPEND_FUNCTIONS | _JOIN_FUNCTIONS)}
)


@dataclass
class _RowLoop:
    loop: cst.For
    index: str
    frame: str
    uses: list[cst.Subscript] = field(default_factory=list)


class UnnecessaryIteration(TextGate, FileRule):
    code = "MLD501"
    name = "unnecessary-iteration"
    category = "ml-api-misuse"
    severity = Severity.WARNING
    debt_minutes = 15.0
    tags = ("pandas", "numpy", "pytorch")
    gates = (
        (
            "iterrows",
            "itertuples",
            "append",
            "concat",
            "cat(",
            "stack",
            ".loc[",
            ".iloc[",
            ".at[",
            ".iat[",
            "][",
        ),
    )
    summary = (
        "Looping over DataFrame rows (`iterrows`, `itertuples`, `range(len(df))`), or growing "
        "an array or tensor inside a loop."
    )
    what = (
        "Three loop shapes that vectorised code replaces: (1) `for ... in df.iterrows()` / "
        "`df.itertuples()` (loops and comprehensions); (2) `for i in range(len(df))` or "
        "`for i in df.index` whose body reads or writes `df.loc[i]`, `df.iloc[i]`, "
        "`df.at[i, c]` or `df[c][i]`, for a `df` known to be a DataFrame or Series; (3) an "
        "array, tensor or frame extended inside a loop by rebuilding it: "
        "`X = np.append(X, row)`, `X = np.concatenate([X, row])` (and `vstack`, `hstack`...), "
        "`feats = torch.cat([feats, h])`, `df = pd.concat([df, part])`, "
        "`df = df.append(row)`. TensorFlow's `tf.concat` in a loop is MLD515's business."
    )
    why = (
        "Zhang et al. (CAIN 2022), *Unnecessary Iteration*: pandas, NumPy and PyTorch run "
        "whole-column operations in compiled code; a Python loop over rows is orders of "
        "magnitude slower, and `iterrows` also turns every row into a Series, losing dtypes. "
        "Rebuilding an array to add one piece copies everything gathered so far, so the loop "
        "is quadratic in the data size: collect the pieces in a list and concatenate once "
        "after the loop."
    )
    limits = (
        "Loops over rows are reported whatever their body does, also when the body does "
        "per-row work that cannot be vectorised (a request per row); suppress those. Loops "
        "indexing NumPy arrays element by element are not reported. Growth is only "
        "recognised when the same variable is extended and reassigned in one statement."
    )
    examples = (
        BAD(
            """
            import pandas as pd

            def add_ratio(df: pd.DataFrame) -> pd.DataFrame:
                ratios = []
                for idx, row in df.iterrows():
                    ratios.append(row["total"] / row["tenure"])
                df["ratio"] = ratios
                return df

            sales = pd.read_csv("sales.csv", dtype={"units": "int32"})
            revenue = [row.units * row.price for row in sales.itertuples()]
            """,
            expect=2,
        ),
        BAD(
            """
            import numpy as np
            import pandas as pd

            frame = pd.read_parquet("frame.parquet")
            for i in range(len(frame)):
                frame.loc[i, "margin"] = frame.loc[i, "price"] - frame.loc[i, "cost"]

            X = np.empty((0, 4))
            for chunk in pd.read_csv("big.csv", chunksize=10_000):
                X = np.concatenate([X, chunk.to_numpy()], axis=0)
            """,
            expect=2,
        ),
        BAD(
            """
            # %%
            import torch
            # %%
            def collect(model, loader):
                feats = torch.empty(0, 128)
                for x, _ in loader:
                    feats = torch.cat([feats, model.encode(x).detach()])
                return feats
            """,
            path="embeddings.ipynb",
            expect=1,
        ),
        GOOD(
            """
            import pandas as pd

            def add_ratio(df: pd.DataFrame) -> pd.DataFrame:
                df["ratio"] = df["total"] / df["tenure"].where(df["tenure"] > 0)
                for col in df.columns:
                    df[col] = pd.to_numeric(df[col], downcast="float")
                for store_id, group in df.groupby("store_id"):
                    print(store_id, len(group))
                return df
            """
        ),
        GOOD(
            """
            import torch

            def collect(model, loader):
                feats = []
                for x, _ in loader:
                    feats.append(model.encode(x).detach())
                return torch.cat(feats)

            total = torch.zeros(())
            for lo, hi in zip(edges[:-1], edges[1:]):
                total += (hi - lo) * 0.5
            """
        ),
        GOOD(
            """
            import numpy as np
            import tensorflow as tf

            @tf.function
            def unroll(model, window, steps):
                preds = tf.zeros((1, 0))
                for _ in tf.range(steps):
                    preds = tf.concat([preds, model(window)], axis=1)
                return preds

            blocks = np.concatenate([np.ones(3), np.zeros(3)])
            for i in range(len(blocks)):
                blocks[i] = blocks[i] * 2
            """
        ),
    )

    def __init__(self, context: Any, options: Any) -> None:
        super().__init__(context, options)
        self.row_loops: list[_RowLoop] = []
        # Growth statements waiting for the end of their loop: id(loop) -> (call, name, fn).
        self.growth: dict[int, list[tuple[cst.Call, str, str]]] = {}

    # --- iterrows / itertuples ----------------------------------------------------------

    def visit_For(self, node: cst.For) -> None:
        self._check_row_iterator(node.iter, node.body)
        row_loop = self._index_loop(node)
        if row_loop is not None:
            self.row_loops.append(row_loop)

    def leave_For(self, original_node: cst.For) -> None:
        self._conclude_growth(original_node)
        if not self.row_loops or self.row_loops[-1].loop is not original_node:
            return
        row_loop = self.row_loops.pop()
        if not row_loop.uses:
            return
        first = row_loop.uses[0]
        self.report(
            original_node.iter,
            f"loop over the rows of `{row_loop.frame}` by position, reading them one at a "
            f"time (`{source(self.context.module, first)}`): use column operations",
            related=[(first, "row accessed here")],
        )

    def visit_CompFor(self, node: cst.CompFor) -> None:
        self._check_row_iterator(node.iter)

    def _check_row_iterator(
        self, iterable: cst.BaseExpression, body: cst.CSTNode | None = None
    ) -> None:
        if not isinstance(iterable, cst.Call) or not isinstance(iterable.func, cst.Attribute):
            return
        method = iterable.func.attr.value
        if method not in _ROW_ITERATORS:
            return
        frame = iterable.func.value
        if self.context.resolver.kind_of(frame) not in (None, k.DATAFRAME):
            return
        if body is not None and _inherently_iterative(body):
            return
        self.report(
            iterable,
            f"loop over `{source(self.context.module, frame)}.{method}()`: row-by-row Python "
            "is orders of magnitude slower than column operations (and iterrows loses "
            "dtypes); vectorise",
        )

    # --- range(len(df)) / df.index with df.loc[i] ---------------------------------------

    def _index_loop(self, node: cst.For) -> _RowLoop | None:
        if not isinstance(node.target, cst.Name):
            return None
        frame = self._indexed_frame(node.iter)
        if frame is None or self.context.resolver.kind_of(frame) not in PANDAS:
            return None
        return _RowLoop(node, node.target.value, self.context.node_source(frame))

    @staticmethod
    def _indexed_frame(iterable: cst.BaseExpression) -> cst.BaseExpression | None:
        """``df`` in ``range(len(df))``, ``range(df.shape[0])``, ``df.index``."""
        if isinstance(iterable, cst.Attribute) and iterable.attr.value == "index":
            return iterable.value
        if not (
            isinstance(iterable, cst.Call)
            and isinstance(iterable.func, cst.Name)
            and iterable.func.value == "range"
            and len(iterable.args) in (1, 2)
        ):
            return None
        bound = iterable.args[-1].value
        if (
            isinstance(bound, cst.Call)
            and isinstance(bound.func, cst.Name)
            and bound.func.value == "len"
            and len(bound.args) == 1
        ):
            return bound.args[0].value
        if (
            isinstance(bound, cst.Subscript)
            and isinstance(bound.value, cst.Attribute)
            and bound.value.attr.value == "shape"
        ):
            return bound.value.value
        return None

    def visit_Subscript(self, node: cst.Subscript) -> None:
        if not self.row_loops:
            return
        row_loop = self.row_loops[-1]
        if row_loop.uses:
            return
        base = node.value
        frame: cst.BaseExpression | None = None
        if isinstance(base, cst.Attribute) and base.attr.value in INDEXERS:
            frame = base.value
        elif isinstance(base, cst.Subscript):
            frame = base.value  # df[col][i]
        if frame is None or self.context.node_source(frame) != row_loop.frame:
            return
        first = node.slice[0].slice if node.slice else None
        if not isinstance(first, cst.Index):
            return
        index = first.value
        if isinstance(index, cst.Tuple) and index.elements:
            index = index.elements[0].value
        if isinstance(index, cst.Name) and index.value == row_loop.index:
            row_loop.uses.append(node)

    # --- growing arrays -----------------------------------------------------------------

    def visit_Assign(self, node: cst.Assign) -> None:
        if len(node.targets) != 1 or not isinstance(node.targets[0].target, cst.Name):
            return
        call = node.value
        if not isinstance(call, cst.Call):
            return
        func = call.func
        last = func.attr.value if isinstance(func, cst.Attribute) else None
        if isinstance(func, cst.Name):
            last = func.value
        if last not in _GROWTH_NAMES:
            return
        resolver = self.context.resolver
        if not resolver.loops:
            return
        name = node.targets[0].target.value
        if (
            isinstance(func, cst.Attribute)
            and func.attr.value == "append"
            and isinstance(func.value, cst.Name)
            and func.value.value == name
        ):
            # df = df.append(row): pandas < 2
            if resolver.kind_of(func.value) in PANDAS:
                self._report_growth(call, name, "df.append")
            return
        qualname = resolver.call_name(call)
        if qualname in _APPEND_FUNCTIONS:
            first = positional(call, 0)
            if isinstance(first, cst.Name) and first.value == name:
                self._report_growth(call, name, qualname)
        elif qualname in _JOIN_FUNCTIONS:
            pieces = positional(call, 0)
            if pieces is None:
                pieces = next(
                    (a.value for a in call.args if a.keyword and a.keyword.value in ("objs",)),
                    None,
                )
            if isinstance(pieces, (cst.List, cst.Tuple)) and any(
                isinstance(e.value, cst.Name) and e.value.value == name for e in pieces.elements
            ):
                self._report_growth(call, name, qualname)

    def leave_While(self, original_node: cst.While) -> None:
        self._conclude_growth(original_node)

    def _report_growth(self, call: cst.Call, name: str, function: str) -> None:
        loop = self.context.resolver.loops[-1]
        self.growth.setdefault(id(loop), []).append((call, name, function))

    def _conclude_growth(self, loop: cst.For | cst.While) -> None:
        """Report the variables grown in ``loop`` that nothing else in the loop reads: they
        only gather results (a generation loop that feeds the sequence back is fine)."""
        grown = self.growth.pop(id(loop), None)
        if not grown:
            return
        growth_nodes = {id(call) for call, _, _ in grown}
        for call, name, function in grown:
            if _mentions(loop, name, growth_nodes):
                continue
            self._report_growth_now(call, name, function)

    def _report_growth_now(self, call: cst.Call, name: str, function: str) -> None:
        short = function.replace("numpy.", "np.").replace("pandas.", "pd.")
        self.report(
            call,
            f"`{name}` is rebuilt with `{short}` on every pass of the loop, copying all it "
            "holds each time (quadratic): collect the pieces in a list and join them once "
            "after the loop",
        )
