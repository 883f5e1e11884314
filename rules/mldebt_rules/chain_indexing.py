"""MLD503: chained indexing on the left of an assignment (``df[mask]["col"] = v``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import libcst as cst

from mldebt.findings import Severity
from mldebt.resolve import kinds as k
from mldebt.resolve.kinds import keyword
from mldebt.rule import BAD, GOOD, FileRule
from mldebt_rules._arrays import INDEXERS, PANDAS, TextGate, is_true, pandas_kind, source


def _strip_indexer(expr: cst.BaseExpression) -> tuple[cst.BaseExpression, str | None]:
    """``df.loc`` -> (``df``, "loc"); anything else unchanged."""
    if isinstance(expr, cst.Attribute) and expr.attr.value in INDEXERS:
        return expr.value, expr.attr.value
    return expr, None


class ChainIndexing(TextGate, FileRule):
    code = "MLD503"
    name = "chain-indexing"
    category = "ml-api-misuse"
    severity = Severity.WARNING
    debt_minutes = 5.0
    tags = ("pandas",)
    gates = (("][", "] [", ".loc[", ".iloc[", "inplace"),)
    options = {"reads": False}
    option_docs = {
        "reads": "Also report chained indexing that only reads (`x = df['a'][mask]`): "
        "slower, and a view or a copy depending on the data, but not wrong."
    }
    summary = "`df[mask]['col'] = v` assigns into a temporary copy: the DataFrame may not change."
    what = (
        "Assignments whose target indexes a pandas object twice in a row — "
        "`df['a'][mask] = v`, `df[mask]['a'] = v`, `df.loc[rows]['a'] = v`, "
        "`df['a'].iloc[0] = v`, augmented assignments included — and in-place methods called "
        "on a selection (`df['a'].fillna(0, inplace=True)`), which pandas also treats as "
        "chained assignment. The first indexing must be on a value the resolver knows is a "
        "DataFrame or Series (or use `.loc` / `.iloc`)."
    )
    why = (
        "Zhang et al. (CAIN 2022), *Chain Indexing*: the first indexing may return a copy, and "
        "the assignment then changes the copy, not the frame (pandas' "
        "`SettingWithCopyWarning`). With Copy-on-Write, the default from pandas 3.0, a chained "
        "assignment never changes the original, and an in-place method on a selection never "
        "does either: the cleaning step silently does nothing. `df.loc[mask, 'a'] = v` is one "
        "indexing operation and always writes into `df`."
    )
    limits = (
        "Reads such as `x = df['a'][mask]` are not reported unless the `reads` option is "
        "on: Zhang et al. count them too, but they are slower, not wrong. "
        "Chains on values whose kind the resolver does not know (a function parameter without "
        "annotation, a dictionary of frames) are not reported, to stay clear of dictionaries "
        "and nested lists, where `d['a']['b'] = v` is fine."
    )
    examples = (
        BAD(
            """
            import numpy as np
            import pandas as pd

            sales = pd.read_csv("sales.csv", dtype={"price": "float64"})
            sales["price"][sales["price"] < 0] = np.nan
            sales[sales["units"] == 0]["price"] = 0.0
            """,
            expect=2,
        ),
        BAD(
            """
            import pandas as pd

            def clean(df: pd.DataFrame) -> pd.DataFrame:
                df.loc[df["tenure"] == 0]["total_charges"] = 0.0
                df["monthly"].iloc[0] += 1
                df["monthly"].fillna(df["monthly"].median(), inplace=True)
                return df
            """,
            expect=3,
        ),
        BAD(
            """
            # %%
            import pandas
            test = pandas.read_parquet("test.parquet")
            # %%
            test["charges"][test["charges"].isna()] = test["charges"].median()
            test.head()
            """,
            path="predict.ipynb",
            expect=1,
        ),
        BAD(
            """
            import pandas as pd

            df = pd.read_parquet("frame.parquet")
            second = df["one"]["second"]
            recent = df[df["year"] > 2020]["price"].mean()
            df["one"]["second"] = second * 2
            """,
            options={"reads": True},
            expect=3,
        ),
        GOOD(
            """
            import numpy as np
            import pandas as pd

            sales = pd.read_csv("sales.csv", dtype={"price": "float64"})
            sales.loc[sales["price"] < 0, "price"] = np.nan
            sales.loc[sales["units"] == 0, "price"] = 0.0
            sales["price"] = sales["price"].fillna(sales["price"].median())
            first_price = sales["price"][0]
            """
        ),
        GOOD(
            """
            from collections import defaultdict

            results = defaultdict(dict)
            grid = [[0] * 3 for _ in range(3)]
            for fold in range(5):
                results[f"fold{fold}"]["auc"] = 0.5
                grid[fold % 3][0] += 1
            """
        ),
        GOOD(
            """
            import numpy as np
            import pandas as pd

            X = np.zeros((10, 3))
            X[2][1] = 1.0
            frame = pd.DataFrame({"a": [1, 2]})
            frame.at[0, "a"] = 3
            frame.loc[frame["a"] > 1, ["a"]] += 1
            frame.dropna(inplace=True)
            """
        ),
    )

    def __init__(self, context: Any, options: Any) -> None:
        super().__init__(context, options)
        self.seen: set[int] = set()  # subscripts that are targets or parts of a chain

    def get_visitors(self) -> Mapping[str, Callable[[Any], Any]]:
        visitors = dict(super().get_visitors())
        if not self.opts["reads"]:
            visitors.pop("visit_Subscript", None)
        return visitors

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            self._check_target(target.target)

    def visit_Subscript(self, node: cst.Subscript) -> None:
        if id(node) in self.seen:
            return
        inner, _ = _strip_indexer(node.value)
        if not isinstance(inner, cst.Subscript):
            return
        self.seen.add(id(inner))
        base, indexer = _strip_indexer(inner.value)
        if indexer in ("at", "iat") or self.context.resolver.kind_of(base) not in PANDAS:
            return
        self.report(
            node,
            f"chained indexing `{source(self.context.module, node)}` indexes twice: slower, "
            "and a view or a copy depending on the data; index once, with "
            "`.loc[rows, column]`",
        )

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._check_target(node.target)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None:
            self._check_target(node.target)

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if not isinstance(func, cst.Attribute) or not is_true(keyword(node, "inplace")):
            return
        receiver = func.value
        selected = self._selection_base(receiver)
        if selected is None:
            return
        code = source(self.context.module, receiver)
        method = func.attr.value
        self.report(
            node,
            f"`{code}.{method}(..., inplace=True)` changes a selection, not the DataFrame "
            f"`{source(self.context.module, selected)}` (chained assignment: a no-op under "
            f"Copy-on-Write); assign instead: `{code} = {code}.{method}(...)`",
        )

    def _check_target(self, target: cst.BaseExpression) -> None:
        if isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self._check_target(element.value)
            return
        if not isinstance(target, cst.Subscript):
            return
        self.seen.add(id(target))
        inner, _ = _strip_indexer(target.value)
        if not isinstance(inner, cst.Subscript):
            return
        self.seen.add(id(inner))
        base, indexer = _strip_indexer(inner.value)
        kind = self.context.resolver.kind_of(base)
        if kind not in PANDAS and not (indexer in ("loc", "iloc") and kind is None):
            return
        if indexer in ("at", "iat"):
            return
        what = "DataFrame" if kind == k.DATAFRAME else "Series" if kind == k.SERIES else "frame"
        self.report(
            target,
            f"chained indexing `{source(self.context.module, target)} = ...` may assign into a "
            f"temporary copy and leave the {what} `{source(self.context.module, base)}` "
            "unchanged; index once, with `.loc[rows, column]`",
        )

    def _selection_base(self, receiver: cst.BaseExpression) -> cst.BaseExpression | None:
        """The frame ``receiver`` selects from (``df`` for ``df['a']``, ``df.a``)."""
        resolver = self.context.resolver
        if isinstance(receiver, cst.Subscript):
            base, indexer = _strip_indexer(receiver.value)
            if indexer in ("at", "iat"):
                return None
            if resolver.kind_of(base) == k.DATAFRAME:
                return base
            return None
        if isinstance(receiver, cst.Attribute) and pandas_kind(resolver, receiver) == k.SERIES:
            base = receiver.value
            if resolver.kind_of(base) == k.DATAFRAME:
                return base
        return None
