"""MLD508: ``.values`` on a DataFrame or Series instead of ``.to_numpy()``."""

from __future__ import annotations

from typing import Any

import libcst as cst

from mldebt.findings import Severity
from mldebt.resolve import kinds as k
from mldebt.rule import BAD, GOOD, FileRule
from mldebt_rules._arrays import TextGate, pandas_kind, source


class DataframeValues(TextGate, FileRule):
    code = "MLD508"
    name = "dataframe-values"
    category = "ml-api-misuse"
    severity = Severity.INFO
    debt_minutes = 2.0
    tags = ("pandas",)
    gates = ((".values",),)
    summary = "`.values` on a DataFrame or Series: use `.to_numpy()` (or `.array`)."
    what = (
        "Reads of the `.values` attribute of a value the resolver knows is a DataFrame or a "
        "Series: a frame read from a file, a column `df['a']`, a selection `df[cols]` or "
        "`df.loc[...]`, an accessor result such as `s.cat.codes`. Calls of a `values()` "
        "method (dictionaries) and `.values` of anything else (an Index, an xarray object, "
        "an unknown value) are left alone."
    )
    why = (
        "Zhang et al. (CAIN 2022), *Dataframe Conversion API Misused*: what `.values` returns "
        "depends on the dtypes — an ndarray for plain numbers, but a `Categorical`, an "
        "`IntegerArray` or a `DatetimeArray` for extension types, and an object array for "
        "mixed frames — so the same line gives a model different inputs as the data changes. "
        "pandas itself recommends `.to_numpy()` (always an ndarray, with `dtype=` and "
        "`na_value=` to make the conversion explicit) or `.array`."
    )
    limits = (
        "`.values` on values whose kind is unknown (a function parameter without "
        "annotation, an attribute of an object) is not reported; `Index.values` is not "
        "reported either."
    )
    examples = (
        BAD(
            """
            import pandas as pd

            train = pd.read_parquet("train_features.parquet")
            X = train[FEATURES].values
            y = train["target"].values
            """,
            expect=2,
        ),
        BAD(
            """
            import pandas as pd

            def encode(meta: pd.DataFrame):
                codes = meta["activity"].cat.codes.values
                return meta.loc[meta["subject"] > 3].values, codes
            """,
            expect=2,
        ),
        BAD(
            """
            # %%
            import pandas as pd
            weekly = pd.read_csv("weekly.csv", dtype={"units": "float64"})
            # %%
            y = weekly.groupby("store_id")["units"].sum().values
            """,
            path="forecast.ipynb",
            expect=1,
        ),
        GOOD(
            """
            import pandas as pd

            train = pd.read_parquet("train_features.parquet")
            X = train[FEATURES].to_numpy(dtype="float32")
            y = train["target"].to_numpy()
            """
        ),
        GOOD(
            """
            scores = {"lgbm": 0.81, "xgb": 0.80}
            mean = sum(scores.values()) / len(scores)
            for name, value in scores.items():
                print(name, value)
            """
        ),
        GOOD(
            """
            import pandas as pd

            def ids(frame):
                return frame.values

            df = pd.read_parquet("x.parquet")
            index_values = df.index.values
            column_names = df.columns.values
            """
        ),
    )

    def __init__(self, context: Any, options: Any) -> None:
        super().__init__(context, options)
        self.methods: set[int] = set()  # ids of `x.values` nodes that are called

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value == "values":
            self.methods.add(id(func))

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if node.attr.value != "values" or id(node) in self.methods:
            return
        receiver = node.value
        kind = pandas_kind(self.context.resolver, receiver)
        if kind is None:
            return
        code = source(self.context.module, receiver)
        if kind == k.SERIES:
            message = (
                f"`{code}.values` on a Series: an ndarray or, for categorical, nullable and "
                "tz-aware dtypes, an extension array; use `.to_numpy()` (or `.array`)"
            )
        else:
            what = "DataFrame" if kind == k.DATAFRAME else "DataFrame selection"
            message = (
                f"`{code}.values` on a {what}: its dtype silently follows the columns' (object "
                "for mixed types); use `.to_numpy()`, with `dtype=` to make it explicit"
            )
        self.report(node, message)
