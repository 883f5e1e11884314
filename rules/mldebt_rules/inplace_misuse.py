"""MLD507: results of non-in-place calls thrown away, and ``inplace=True`` results used."""

from __future__ import annotations

import re
from bisect import bisect_right
from typing import Any

import libcst as cst

from mldebt.findings import Severity
from mldebt.resolve import kinds as k
from mldebt.resolve.kinds import keyword
from mldebt.rule import BAD, GOOD, FileRule
from mldebt_rules._arrays import ACCESSORS, is_true, pandas_kind, source

# pandas methods that return a new object and change nothing (unless inplace=True).
_PANDAS_PURE = frozenset(
    {
        "abs",
        "add_prefix",
        "add_suffix",
        "append",
        "assign",
        "astype",
        "bfill",
        "clip",
        "combine_first",
        "convert_dtypes",
        "drop",
        "drop_duplicates",
        "droplevel",
        "dropna",
        "explode",
        "ffill",
        "fillna",
        "infer_objects",
        "interpolate",
        "join",
        "mask",
        "melt",
        "merge",
        "query",
        "reindex",
        "rename",
        "rename_axis",
        "reorder_levels",
        "replace",
        "reset_index",
        "round",
        "set_axis",
        "set_index",
        "shift",
        "sort_index",
        "sort_values",
        "swaplevel",
        "transpose",
        "tz_convert",
        "tz_localize",
        "where",
    }
)
# ... of which these are pandas' own names: reported on receivers of unknown type too.
_PANDAS_ONLY = frozenset(
    {
        "dropna",
        "fillna",
        "drop_duplicates",
        "sort_values",
        "sort_index",
        "reset_index",
        "ffill",
        "bfill",
        "rename_axis",
        "astype",
    }
)
_STRING_PURE = frozenset(
    {"strip", "lstrip", "rstrip", "lower", "upper", "title", "replace", "pad", "zfill", "slice"}
)
# torch.Tensor methods that return a new tensor (their in-place twins end in "_").
_TENSOR_PURE = frozenset(
    {
        "to",
        "cuda",
        "cpu",
        "float",
        "double",
        "half",
        "bfloat16",
        "long",
        "int",
        "bool",
        "contiguous",
        "detach",
        "add",
        "sub",
        "mul",
        "div",
        "clamp",
        "clip",
        "abs",
        "neg",
        "exp",
        "sqrt",
        "pow",
        "unsqueeze",
        "squeeze",
        "t",
        "transpose",
        "permute",
        "reshape",
        "view",
        "flatten",
        "masked_fill",
        "index_fill",
        "scatter",
    }
)
_TENSOR_TWINS = frozenset(
    {
        "add",
        "sub",
        "mul",
        "div",
        "clamp",
        "clip",
        "abs",
        "neg",
        "exp",
        "sqrt",
        "pow",
        "unsqueeze",
        "squeeze",
        "t",
        "transpose",
        "masked_fill",
        "index_fill",
        "scatter",
    }
)
# numpy.ndarray methods that return a new array (when no ``out=`` is given).
_NDARRAY_PURE = frozenset(
    {"astype", "reshape", "flatten", "ravel", "round", "clip", "squeeze", "transpose", "swapaxes"}
)
# How many positional arguments come before ``out`` in these ndarray methods.
_NDARRAY_OUT_POSITION = {"clip": 2, "round": 1}
# pandas methods that take ``inplace=`` (pandas 2).
_HAS_INPLACE = frozenset(
    {
        "bfill",
        "clip",
        "drop",
        "drop_duplicates",
        "dropna",
        "eval",
        "ffill",
        "fillna",
        "interpolate",
        "mask",
        "query",
        "rename",
        "rename_axis",
        "replace",
        "reset_index",
        "set_index",
        "sort_index",
        "sort_values",
        "where",
    }
)
# pandas methods that return None: with inplace=True, or always.
_PANDAS_INPLACE = _PANDAS_PURE | frozenset({"eval", "update", "insert"})
_ALWAYS_NONE = frozenset({"update", "insert"})
# Cell markers of scripts run cell by cell: `# %%` (VS Code, Spyder, Jupytext) and the
# `# In[12]:` lines of `jupyter nbconvert --to script`.
_CANDIDATES = _PANDAS_PURE | _PANDAS_ONLY | _STRING_PURE | _TENSOR_PURE | _NDARRAY_PURE
_CELL_MARKER = re.compile(r"^#\s*(?:%%|In\s*\[\s*\d*\s*\]:)")


class InplaceMisuse(FileRule):
    code = "MLD507"
    name = "inplace-misuse"
    category = "ml-api-misuse"
    severity = Severity.WARNING
    debt_minutes = 5.0
    tags = ("pandas", "numpy", "pytorch")
    summary = (
        "`df.dropna()` with its result thrown away, or `x = df.fillna(..., inplace=True)`, "
        "which is None."
    )
    what = (
        "Two mirror-image mistakes. (1) A call that returns a new object used as a statement, "
        "so its result is lost: pandas methods such as `dropna`, `fillna`, `drop`, "
        "`sort_values`, `reset_index`, `rename`, `astype` (on DataFrames and Series, and the "
        "unmistakably pandas ones on any receiver), `.str` methods, `torch.Tensor` methods "
        "that have an in-place twin or move data (`t.to(device)`, `t.float()`, `t.add(x)`, "
        "`t.clamp(...)`), and `ndarray.astype` / `reshape` / `round`. A notebook cell's last "
        "expression is displayed, not lost, and is not reported (nor in the `# %%` or "
        "`# In[1]:` cells of a script), nor is a call alone in a `try` body, made to see "
        "whether it raises. (2) The result of a pandas method called with `inplace=True` — always "
        "None — assigned, returned or called further (also `df.update()` / `df.insert()`, "
        "which always return None)."
    )
    why = (
        "Zhang et al. (CAIN 2022), *In-Place APIs Misused*: pandas, NumPy and PyTorch "
        "operations mostly return a new object and leave their input alone; forgetting to "
        "assign the result means the cleaning step silently did nothing — the rows with "
        "missing values stay, the column meant to be dropped becomes a feature, the tensor "
        "stays on the CPU. Conversely `inplace=True` makes the method return None, so "
        "`df = df.dropna(inplace=True)` replaces the data with None."
    )
    limits = (
        "Receivers whose kind the resolver does not know are only reported for the "
        "pandas-specific method names (`dropna`, `fillna`, `drop_duplicates`, `sort_values`, "
        "`reset_index`...). Methods that may be called for their side effects (`apply`, "
        "`pipe`, `map`) are never reported, nor are results thrown away inside expressions."
    )
    examples = (
        BAD(
            """
            import pandas as pd

            full = pd.read_parquet("full.parquet")
            full.drop(columns=["signup_channel", "referral_code"])
            full["city"].str.strip()
            clean = full.dropna(subset=["units"], inplace=True)
            """,
            expect=3,
        ),
        BAD(
            """
            import torch

            def to_device(batch: torch.Tensor, labels, device):
                batch.to(device)
                labels.fillna(0)
                frame = labels.to_frame()
                frame.update(labels)
                return frame.sort_values("y", inplace=True)
            """,
            expect=3,
        ),
        BAD(
            """
            # %%
            import pandas as pd
            by_store = pd.read_parquet("by_store.parquet")
            # %%
            by_store.sort_values("revenue", ascending=False)
            by_store["share"] = by_store["revenue"] / by_store["revenue"].sum()
            by_store.head(10)
            # %%
            by_store.reset_index(drop=True);
            """,
            path="eda.ipynb",
            expect=2,
        ),
        GOOD(
            """
            import pandas as pd

            full = pd.read_parquet("full.parquet")
            full = full.drop(columns=["signup_channel"])
            full.dropna(subset=["units"], inplace=True)
            full.sort_values(["store_id", "date"], inplace=True)
            full.to_parquet("clean.parquet")
            """
        ),
        GOOD(
            """
            # %%
            import pandas as pd
            by_region = pd.read_parquet("by_region.parquet")
            # %%
            by_region.sort_values("sum", ascending=False)
            # %%
            print(len(by_region)); by_region.fillna(0)
            """,
            path="eda.ipynb",
        ),
        GOOD(
            """
            # In[1]:
            import pandas as pd
            people = pd.read_parquet("people.parquet")

            # In[2]:
            try:
                people.assign(bmi=people["weight"] / people["height"] ** 2)
            except KeyError as error:
                print("missing column:", error)
            people.fillna(0)
            """,
            path="exported_notebook.py",
        ),
        GOOD(
            """
            import torch
            from torch import nn

            model = nn.Linear(4, 2)
            model.to("cuda")
            model.float()
            act = nn.ReLU(inplace=True)
            x = torch.zeros(3)
            x.add_(1)
            x.clamp_(min=0)
            cache = {}
            cache.update(a=1)
            """
        ),
    )

    def __init__(self, context: Any, options: Any) -> None:
        super().__init__(context, options)
        # Top-level expression statements of a notebook (or `# %%` script) whose finding
        # waits until we know whether the cell displays them: id(Expr) -> (node, message).
        self.deferred: dict[int, tuple[cst.CSTNode, str]] = {}
        self.cells: tuple[int, ...] | None = None
        self.probes: set[int] = set()  # statements alone in a `try` body

    # --- results thrown away ------------------------------------------------------------

    def visit_Try(self, node: cst.Try) -> None:
        body = node.body.body
        if len(body) == 1 and isinstance(body[0], cst.SimpleStatementLine):
            # `try: df.assign(...)  except KeyError: ...`: called to see whether it raises.
            self.probes.update(id(small) for small in body[0].body)

    def visit_Expr(self, node: cst.Expr) -> None:
        if id(node) in self.probes:
            return
        call = node.value
        if not isinstance(call, cst.Call) or not isinstance(call.func, cst.Attribute):
            return
        if is_true(keyword(call, "inplace")) or keyword(call, "out") is not None:
            return
        message = self._discarded(call, call.func)
        if message is None:
            return
        resolver = self.context.resolver
        if resolver.function is None and not resolver.loops and self._has_cells():
            self.deferred[id(node)] = (call, message)
        else:
            self.report(call, message)

    def _discarded(self, call: cst.Call, func: cst.Attribute) -> str | None:
        method = func.attr.value
        if method not in _CANDIDATES:
            return None
        receiver = func.value
        resolver = self.context.resolver
        if (
            method in _STRING_PURE
            and isinstance(receiver, cst.Attribute)
            and receiver.attr.value in ACCESSORS
        ):
            if resolver.kind_of(receiver.value) == k.SERIES:
                code = source(self.context.module, receiver)
                return (
                    f"`{code}.{method}(...)` returns a new Series and the result is thrown "
                    "away: nothing changes; assign it"
                )
            return None
        value = resolver.value_of(receiver)
        kind = value.kind if value is not None else pandas_kind(resolver, receiver)
        if kind in (k.DATAFRAME, k.SERIES, "selection") and method in _PANDAS_PURE:
            what = {"dataframe": "DataFrame", "series": "Series"}.get(kind, "object")
        elif kind is None and method in _PANDAS_ONLY:
            what = "object"
        elif (
            kind == k.TENSOR
            and value is not None
            and value.type == "torch.Tensor"
            and method in _TENSOR_PURE
        ):
            hint = f" (or use the in-place `{method}_`)" if method in _TENSOR_TWINS else ""
            code = source(self.context.module, receiver)
            return (
                f"`{code}.{method}(...)` returns a new tensor and the result is thrown away: "
                f"`{code}` is unchanged; assign it{hint}"
            )
        elif kind == k.NDARRAY and method in _NDARRAY_PURE:
            positionals = sum(1 for arg in call.args if arg.keyword is None)
            if positionals > _NDARRAY_OUT_POSITION.get(method, 99):
                return None  # `a.clip(lo, hi, a)`: the third argument is `out`
            what = "array"
        else:
            return None
        code = source(self.context.module, receiver)
        advice = "assign it or pass inplace=True" if method in _HAS_INPLACE else "assign it"
        if what == "array":
            advice = "assign it"
        return (
            f"`{code}.{method}(...)` returns a new {what} and the result is thrown away: "
            f"`{code}` is unchanged; {advice}"
        )

    # --- the None that inplace=True returns -------------------------------------------------

    def visit_Assign(self, node: cst.Assign) -> None:
        self._check_none(node.value, "assigned")

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None:
            self._check_none(node.value, "assigned")

    def visit_Return(self, node: cst.Return) -> None:
        if node.value is not None:
            self._check_none(node.value, "returned")

    def visit_Attribute(self, node: cst.Attribute) -> None:
        value = node.value
        if (
            isinstance(value, cst.Call)
            and isinstance(value.func, cst.Attribute)
            and value.func.attr.value in _PANDAS_INPLACE
        ):
            self._check_none(value, "used")

    def _check_none(self, value: cst.BaseExpression, how: str) -> None:
        if not isinstance(value, cst.Call) or not isinstance(value.func, cst.Attribute):
            return
        method = value.func.attr.value
        if method not in _PANDAS_INPLACE:
            return
        resolver = self.context.resolver
        kind = pandas_kind(resolver, value.func.value)
        if method in _ALWAYS_NONE:
            if kind != k.DATAFRAME:
                return
            reason = f"`{method}` changes the frame in place and returns None"
        elif is_true(keyword(value, "inplace")):
            if kind is None and resolver.kind_of(value.func.value) is not None:
                return  # a module, a tensor...: not pandas
            reason = "with inplace=True the method returns None"
        else:
            return
        code = source(self.context.module, value)
        self.report(value, f"the result of `{code}` is {how}, but {reason}")

    # --- notebook cells -------------------------------------------------------------------

    def _has_cells(self) -> bool:
        if self.cells is None:
            self.cells = self._cell_starts()
        return bool(self.cells)

    def _cell_starts(self) -> tuple[int, ...]:
        starts = self.context.cell_starts
        if starts:
            return starts
        if "%%" not in self.context.text and "# In[" not in self.context.text:
            return ()
        lines = [
            c.line
            for c in self.context.comments
            if c.own_line and c.column == 1 and _CELL_MARKER.match(c.text)
        ]
        return (1, *lines) if lines else ()

    def leave_Module(self, original_node: cst.Module) -> None:
        if not self.deferred:
            return
        module = original_node
        starts = self._cell_starts()
        statements = list(module.body)
        firsts: list[int] = []
        line = 1 + len(module.header)
        for statement in statements:
            firsts.append(line + len(statement.leading_lines))
            line += module.code_for_node(statement).count("\n")
        for index, statement in enumerate(statements):
            if not isinstance(statement, cst.SimpleStatementLine):
                continue
            for position, small in enumerate(statement.body):
                if id(small) not in self.deferred:
                    continue
                last_on_line = position == len(statement.body) - 1
                silenced = isinstance(small, cst.Expr) and isinstance(
                    small.semicolon, cst.Semicolon
                )
                cell = bisect_right(starts, firsts[index])
                following = index + 1 < len(statements)
                if (
                    last_on_line
                    and not silenced
                    and (not following or bisect_right(starts, firsts[index + 1]) != cell)
                ):
                    del self.deferred[id(small)]  # the cell's last expression: displayed
        for node, message in self.deferred.values():
            self.report(node, message)
