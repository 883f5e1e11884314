"""MLD505: a new column filled with 0 or "" as a placeholder, then set for some rows only."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import libcst as cst

from mldebt.findings import Severity
from mldebt.literals import string_value
from mldebt.resolve import kinds as k
from mldebt.rule import BAD, GOOD, FileRule
from mldebt_rules._arrays import TextGate, index_value, label, source

_ZERO, _EMPTY = "zero", "empty"


def _placeholder(value: cst.BaseExpression) -> str | None:
    """``"zero"`` for 0 / 0.0 / -1, ``"empty"`` for an empty or blank string."""
    text = string_value(value)
    if text is not None:
        return _EMPTY if not text.strip() else None
    negative = False
    if isinstance(value, cst.UnaryOperation) and isinstance(value.operator, cst.Minus):
        value, negative = value.expression, True
    if isinstance(value, cst.Integer):
        number = int(value.value.replace("_", ""), 0)
        return _ZERO if number == (1 if negative else 0) else None
    if isinstance(value, cst.Float) and not negative:
        try:
            return _ZERO if float(value.value.replace("_", "")) == 0.0 else None
        except ValueError:
            return None
    return None


def _is_literal(value: cst.BaseExpression) -> bool:
    if isinstance(value, cst.UnaryOperation):
        value = value.expression
    if isinstance(value, cst.Name):
        return value.value in ("True", "False")
    return isinstance(value, (cst.Integer, cst.Float, cst.SimpleString, cst.ConcatenatedString))


def _full_slice(part: cst.BaseSlice) -> bool:
    return (
        isinstance(part, cst.Slice)
        and part.lower is None
        and part.upper is None
        and part.step is None
    )


@dataclass
class _Init:
    node: cst.Assign
    frame: str
    column: str
    placeholder: str
    reported: bool = False


class EmptyColumnInit(TextGate, FileRule):
    code = "MLD505"
    name = "empty-column-init"
    category = "ml-api-misuse"
    severity = Severity.WARNING
    debt_minutes = 5.0
    tags = ("pandas",)
    gates = ((".loc[", ".at[", ".iat[", ".iloc[", "]["),)
    summary = 'A column created as 0 or "" and then set for some rows only: fake values stay.'
    what = (
        "`df['col'] = 0` (or `0.0`, `-1`, `''`) followed, in the same function or notebook, "
        "by assignments to only some rows of that column: `df.loc[mask, 'col'] = ...`, "
        "`df.at[i, 'col'] = ...` under a condition, `df['col'][mask] = ...`. Rows that no "
        "assignment reaches keep the placeholder, which looks like a real value. An empty "
        "string is reported whatever the later values are; a number only when the later "
        "values are computed (a `0` later overwritten by `1` for some rows is a flag, not a "
        "placeholder)."
    )
    why = (
        "Zhang et al. (CAIN 2022), *Empty Column Misinitialization*: a new column meant to be "
        "filled later should start as `np.nan`, so that rows never filled stay visibly "
        "missing — `isna()` finds them, imputers and models treat them as missing, "
        "aggregations skip them. A placeholder 0 or '' is counted as data: a customer whose "
        "ratio was never computed gets ratio 0, a store in no segment forms a segment ''."
    )
    limits = (
        "Only columns named by a string literal (or a name bound to one) are followed, and "
        "only within one function or one notebook. A fill that covers every row (a loop over "
        "all rows without a condition) is recognised only for loops over `iterrows()`, "
        "`itertuples()`, `df.index` or `range(len(df))`."
    )
    examples = (
        BAD(
            """
            import pandas as pd

            def add_ratio(df: pd.DataFrame) -> pd.DataFrame:
                df["charges_per_month"] = 0
                for idx, row in df.iterrows():
                    if row["tenure"] > 0:
                        df.at[idx, "charges_per_month"] = row["total"] / row["tenure"]
                return df
            """,
            expect=1,
        ),
        BAD(
            """
            # %%
            import pandas as pd
            merged = pd.read_parquet("merged.parquet")
            # %%
            SEGMENT = "segment"
            merged[SEGMENT] = ""
            merged.loc[merged["format"] == "hyper", SEGMENT] = "large"
            merged.loc[merged["format"].isin(["super", "city"]), SEGMENT] = "core"
            """,
            path="segments.ipynb",
            expect=1,
        ),
        BAD(
            """
            import pandas as pd

            results = pd.DataFrame({"units": units, "pred": preds})
            results["fold"] = ""
            results["score"] = 0.0
            for fold, (_, va) in enumerate(splitter.split(results)):
                results.loc[va, "fold"] = f"fold{fold}"
                results["score"][va] = model.score_samples(results.iloc[va])
            """,
            expect=2,
        ),
        GOOD(
            """
            import numpy as np
            import pandas as pd

            def add_ratio(df: pd.DataFrame) -> pd.DataFrame:
                df["charges_per_month"] = np.nan
                mask = df["tenure"] > 0
                df.loc[mask, "charges_per_month"] = df["total"] / df["tenure"]
                return df
            """
        ),
        GOOD(
            """
            import pandas as pd

            train = pd.read_parquet("train.parquet")
            train["is_test"] = 0
            train["is_weekend"] = 0
            train.loc[train["dow"] >= 5, "is_weekend"] = 1
            train["n_events"] = 0
            train.loc[train["clicked"], "n_events"] += 1
            """
        ),
        GOOD(
            """
            import pandas as pd

            df = pd.read_parquet("rows.parquet")
            df["score"] = 0.0
            for i, row in df.iterrows():
                df.at[i, "score"] = row["a"] * row["b"]
            df["label"] = ""
            df.loc[:, "label"] = df["raw"].str.strip()
            """
        ),
    )

    def __init__(self, context: Any, options: Any) -> None:
        super().__init__(context, options)
        self.inits: dict[tuple[str | None, str, str], _Init] = {}
        # for / if statements around the current point, innermost last.
        self.blocks: list[cst.For | cst.If | cst.While] = []

    def visit_For(self, node: cst.For) -> None:
        self.blocks.append(node)

    def leave_For(self, original_node: cst.For) -> None:
        self.blocks.pop()

    def visit_While(self, node: cst.While) -> None:
        self.blocks.append(node)

    def leave_While(self, original_node: cst.While) -> None:
        self.blocks.pop()

    def visit_If(self, node: cst.If) -> None:
        self.blocks.append(node)

    def leave_If(self, original_node: cst.If) -> None:
        self.blocks.pop()

    def visit_Assign(self, node: cst.Assign) -> None:
        if len(node.targets) != 1:
            return
        target = node.targets[0].target
        if not isinstance(target, cst.Subscript):
            return
        scope = self.context.resolver.function
        whole = self._whole_column(target)
        if whole is not None:
            frame, column = whole
            key = (scope, frame, column)
            placeholder = _placeholder(node.value)
            if placeholder is not None:
                self.inits[key] = _Init(node, frame, column, placeholder)
            else:
                self.inits.pop(key, None)
            return
        part = self._some_rows(target)
        if part is None:
            return
        frame_expr, column, rows = part
        key = (scope, self.context.node_source(frame_expr), column)
        init = self.inits.get(key)
        if init is None or init.reported:
            return
        if init.placeholder == _ZERO and _is_literal(node.value):
            return
        if self._every_row(frame_expr, rows):
            return
        init.reported = True
        placeholder = self.context.module.code_for_node(init.node.value).strip()
        self.report(
            init.node,
            f"column '{column}' of `{init.frame}` starts as {placeholder} and is then set for "
            f"some rows only (`{source(self.context.module, target)} = ...`): the other rows "
            f"keep {placeholder} as if it were data; start it as np.nan",
            related=[(target, "rows set here")],
        )

    def _whole_column(self, target: cst.Subscript) -> tuple[str, str] | None:
        """``df['col']`` -> (``"df"``, ``"col"``) when it names a column of a frame."""
        base = target.value
        if isinstance(base, cst.Attribute) and base.attr.value in ("loc", "iloc", "at", "iat"):
            return None
        column = label(self.context.resolver, index_value(target))
        if column is None:
            return None
        if self.context.resolver.kind_of(base) not in (None, k.DATAFRAME):
            return None
        return self.context.node_source(base), column

    def _some_rows(
        self, target: cst.Subscript
    ) -> tuple[cst.BaseExpression, str, cst.BaseExpression | None] | None:
        """(frame, column, row selector) for an assignment to some rows of one column."""
        resolver = self.context.resolver
        base = target.value
        if isinstance(base, cst.Attribute) and base.attr.value in ("loc", "at"):
            # df.loc[rows, "col"] / df.at[i, "col"]
            parts = [element.slice for element in target.slice]
            if len(parts) == 1 and isinstance(parts[0], cst.Index):
                only = parts[0].value
                if isinstance(only, cst.Tuple) and len(only.elements) == 2:
                    parts = [cst.Index(e.value) for e in only.elements]
            if len(parts) != 2 or _full_slice(parts[0]):
                return None
            rows, col = parts
            if not isinstance(col, cst.Index) or not isinstance(rows, cst.Index):
                return None
            column = label(resolver, col.value)
            return (base.value, column, rows.value) if column is not None else None
        # df["col"][rows] / df["col"].loc[rows] / df["col"].iloc[rows]
        if isinstance(base, cst.Attribute) and base.attr.value in ("iloc", "iat"):
            base = base.value
        if not isinstance(base, cst.Subscript):
            return None
        frame = base.value
        if resolver.kind_of(frame) != k.DATAFRAME:
            return None
        column = label(resolver, index_value(base))
        if column is None:
            return None
        return frame, column, index_value(target)

    def _every_row(self, frame: cst.BaseExpression, rows: cst.BaseExpression | None) -> bool:
        """The assignment sits in a loop over every row of ``frame`` with no condition."""
        if isinstance(rows, cst.Attribute) and rows.attr.value == "Index":
            rows = rows.value  # for row in df.itertuples(): df.at[row.Index, ...]
        if not isinstance(rows, cst.Name):
            return False
        for block in reversed(self.blocks):
            if isinstance(block, (cst.If, cst.While)):
                return False
            if self._names(block.target, rows.value) and self._over_rows(block.iter, frame):
                return True
        return False

    @staticmethod
    def _names(target: cst.BaseExpression, name: str) -> bool:
        if isinstance(target, cst.Name):
            return target.value == name
        if isinstance(target, (cst.Tuple, cst.List)) and target.elements:
            first = target.elements[0].value
            return isinstance(first, cst.Name) and first.value == name
        return False

    def _over_rows(self, iterable: cst.BaseExpression, frame: cst.BaseExpression) -> bool:
        code = self.context.node_source(frame)
        if isinstance(iterable, cst.Call):
            func = iterable.func
            if isinstance(func, cst.Attribute) and func.attr.value in ("iterrows", "itertuples"):
                return self.context.node_source(func.value) == code
            if isinstance(func, cst.Name) and func.value == "range" and len(iterable.args) == 1:
                inner = iterable.args[0].value
                return (
                    isinstance(inner, cst.Call)
                    and isinstance(inner.func, cst.Name)
                    and inner.func.value == "len"
                    and len(inner.args) == 1
                    and self.context.node_source(inner.args[0].value) == code
                )
        if isinstance(iterable, cst.Attribute) and iterable.attr.value == "index":
            return self.context.node_source(iterable.value) == code
        return False
