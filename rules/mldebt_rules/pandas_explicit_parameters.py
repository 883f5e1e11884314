"""MLD504 and MLD506: pandas calls whose important parameters are left to inference.

Reading a CSV without saying which columns and types to expect, building a DataFrame from an
unnamed array, and merging without naming the key all work today and change meaning silently
when the data changes.
"""

from __future__ import annotations

from typing import Any

import libcst as cst

from mldebt.findings import Severity
from mldebt.literals import string_value
from mldebt.resolve import Resolver
from mldebt.resolve import kinds as k
from mldebt.resolve.kinds import argument, keyword, positional
from mldebt.rule import BAD, GOOD, FileRule
from mldebt_rules._arrays import TextGate

_DEFAULT_READERS = ["read_csv", "read_table", "read_fwf", "read_excel"]
# Any of these makes the columns or their types explicit.
_READER_SPECS = frozenset({"dtype", "usecols", "converters", "names"})
_UNNAMED_DATA = frozenset({k.NDARRAY, k.TENSOR})


def _has_star_kwargs(call: cst.Call) -> bool:
    return any(arg.star == "**" for arg in call.args)


class ImplicitColumnsDtype(TextGate, FileRule):
    code = "MLD504"
    name = "implicit-columns-dtype"
    category = "ml-api-misuse"
    severity = Severity.INFO
    debt_minutes = 5.0
    tags = ("pandas",)
    gates = (("read_", "DataFrame"),)
    options = {"readers": list(_DEFAULT_READERS)}
    option_docs = {
        "readers": "pandas reader functions that must name their columns or dtypes "
        "(text and spreadsheet formats; parquet, feather and the like store both)."
    }
    summary = "`pd.read_csv` without `dtype`/`usecols`, or a DataFrame built without `columns`."
    what = (
        "Calls of the pandas readers of untyped formats (`read_csv`, `read_table`, `read_fwf`, "
        "`read_excel`; option `readers`) that give none of `dtype`, `usecols`, `converters` "
        "or `names`, so that every column and its type is whatever the file says today; and "
        "`pd.DataFrame(data)` without `columns=` when `data` is an array, a tensor or a "
        "literal list of rows, so that the columns are named 0, 1, 2..."
    )
    why = (
        "Zhang et al. (CAIN 2022), *Columns and DataType Not Explicitly Set*: when a new "
        "column appears upstream, a code column gets a leading zero stripped, or a column of "
        "integers gains a blank, inference silently changes the features a model sees (an "
        "*unstable data dependency* in the sense of Sculley et al., 2015). Naming the columns "
        "and their dtypes turns such drift into an error at load time, and numbered columns "
        "turn every later selection into a magic number."
    )
    limits = (
        "A call that passes `**kwargs` is not reported (the options may be in there). Giving "
        "either the columns or the types is accepted; the rule does not check that every "
        "column is typed. Frames built from values the resolver cannot type (a variable "
        "holding a list of rows) are not reported."
    )
    examples = (
        BAD(
            """
            import pandas as pd

            train = pd.read_csv("data/train.csv")
            usage = pd.read_csv("data/usage.csv", parse_dates=["month"])
            """,
            expect=2,
        ),
        BAD(
            """
            import numpy as np
            from pandas import DataFrame, read_excel as load_sheet

            probs = DataFrame(np.random.default_rng(0).random((5, 2)))
            table = DataFrame([[1, "a"], [2, "b"]])
            budget = load_sheet("budget.xlsx", sheet_name="2024")
            """,
            expect=3,
        ),
        BAD(
            """
            # %%
            import pandas as pd
            from sklearn.linear_model import LogisticRegression
            clf = LogisticRegression(max_iter=500).fit(X_tr, y_tr)
            # %%
            probs = pd.DataFrame(clf.predict_proba(X_te))
            probs.describe()
            """,
            path="report.ipynb",
            expect=1,
        ),
        GOOD(
            """
            import pandas as pd

            tickets = pd.read_csv(
                "tickets.csv",
                usecols=["customer_id", "opened_at", "category"],
                dtype={"customer_id": str, "category": "category"},
                parse_dates=["opened_at"],
            )
            test = pd.read_csv("test.csv", dtype={"customer_id": str})
            features = pd.read_parquet("features.parquet")
            """
        ),
        GOOD(
            """
            import numpy as np
            import pandas as pd

            scores = np.zeros((3, 2))
            frame = pd.DataFrame(scores, columns=["lgbm", "xgb"])
            summary = pd.DataFrame({"feature": ["a", "b"], "gain": [0.1, 0.2]})
            records = pd.DataFrame([{"fold": 0, "auc": 0.8}])
            """
        ),
        GOOD(
            """
            import pandas as pd

            def load(path, **options):
                return pd.read_csv(path, **options)

            raw = pd.read_csv("raw.csv", names=["ts", "value"], header=None)
            """
        ),
    )

    def __init__(self, context: Any, options: Any) -> None:
        super().__init__(context, options)
        self.readers = frozenset(f"pandas.{name}" for name in self.opts["readers"])

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Attribute):
            last = func.attr.value
            if not (last.startswith("read_") or last == "DataFrame"):
                return
        elif not isinstance(func, cst.Name):
            return
        name = self.context.resolver.call_name(node)
        if name is None or _has_star_kwargs(node):
            return
        if name in self.readers:
            if any(
                arg.keyword is not None and arg.keyword.value in _READER_SPECS for arg in node.args
            ):
                return
            reader = name.rpartition(".")[2]
            self.report(
                node,
                f"`{reader}` without `dtype` or `usecols`: the columns and their types are "
                "inferred from whatever the file holds today; name them",
            )
        elif name == "pandas.DataFrame":
            self._check_frame(node)

    def _check_frame(self, node: cst.Call) -> None:
        if keyword(node, "columns") is not None:
            return
        data = argument(node, 0, "data")
        if data is None or positional(node, 2) is not None:
            return
        what: str | None = None
        if isinstance(data, (cst.List, cst.Tuple)) and data.elements:
            rows = [e.value for e in data.elements]
            if all(isinstance(row, (cst.List, cst.Tuple)) for row in rows):
                what = "a list of rows"
        else:
            kind = self.context.resolver.kind_of(data)
            if kind in _UNNAMED_DATA:
                what = "an array" if kind == k.NDARRAY else "a tensor"
        if what is None:
            return
        self.report(
            node,
            f"DataFrame built from {what} without `columns=`: its columns are numbered "
            "0, 1, 2...; name them",
        )


_KEYS = frozenset({"on", "left_on", "right_on", "left_index", "right_index"})
_PANDAS_MERGE_KEYWORDS = frozenset(
    {"how", "suffixes", "indicator", "validate", *_KEYS, "sort", "copy"}
)
_CHOICES = ("on", "how", "validate")


class MergeParametersImplicit(TextGate, FileRule):
    code = "MLD506"
    name = "merge-parameters-implicit"
    category = "ml-api-misuse"
    severity = Severity.INFO
    debt_minutes = 5.0
    tags = ("pandas",)
    gates = (("merge",),)
    options = {"require": ["on", "how"]}
    option_docs = {
        "require": "Which of `on` (the join keys: `on`, `left_on`/`right_on` or the index "
        "flags), `how` and `validate` every merge must give. Zhang et al. ask for all three."
    }
    summary = "`df.merge(other)` without `on=` or `how=`: implicit keys and a silent inner join."
    what = (
        "`pd.merge(left, right)` and `DataFrame.merge(right)` calls that do not name their "
        "join keys (`on`, `left_on`/`right_on`, `left_index`/`right_index`) or their join "
        "type (`how`). With the option `require` set to `['on', 'how', 'validate']` it also "
        "asks for the expected cardinality, as the smell's authors recommend; with `['on']` "
        "it only asks for the keys. Cross joins (`how='cross'`) need no keys."
    )
    why = (
        "Zhang et al. (CAIN 2022), *Merge API Parameter Not Explicitly Set*: without `on`, "
        "pandas joins on every column the two frames happen to share. When an upstream table "
        "gains a column with a common name (`date`, `region`, `updated_at`), the join keys "
        "change and rows silently stop matching. Without `how`, the join is inner and rows "
        "without a match vanish without a word. Naming the key and the join type, and with "
        "`validate=` the expected cardinality, makes such changes visible or fail loudly."
    )
    limits = (
        "Calls that pass `**kwargs` are not reported. `.merge` on a value the resolver does "
        "not know to be a DataFrame is only reported when it passes pandas-only merge "
        "arguments (`how`, `suffixes`, `validate`...) or merges a known DataFrame into it. "
        "`DataFrame.join`, which joins on the index by definition, is not checked."
    )
    examples = (
        BAD(
            """
            import pandas as pd

            train = pd.read_parquet("train.parquet")
            usage = pd.read_parquet("usage.parquet")
            train = train.merge(usage)
            """,
            expect=1,
        ),
        BAD(
            """
            import pandas

            def attach(left, right):
                return pandas.merge(left, right, how="left")

            def enrich(test, extra):
                return test.merge(extra, how="left", suffixes=("", "_extra"))
            """,
            expect=2,
        ),
        BAD(
            """
            # %%
            import pandas as pd
            sales = pd.read_csv("sales.csv", dtype={"store_id": "int32"})
            stores = pd.read_csv("stores.csv", dtype={"store_id": "int32"})
            # %%
            n_stores = stores.groupby("region").size().rename("n").reset_index()
            merged = sales.merge(stores, on="store_id").merge(n_stores)
            """,
            path="eda.ipynb",
            expect=2,
        ),
        GOOD(
            """
            import pandas as pd

            train = pd.read_parquet("train.parquet")
            usage = pd.read_parquet("usage.parquet")
            train = train.merge(usage, on="customer_id", how="left", validate="one_to_one")
            pairs = train.merge(usage, how="cross")
            by_index = pd.merge(train, usage, left_index=True, right_index=True, how="outer")
            """
        ),
        GOOD(
            """
            from omegaconf import OmegaConf

            config = OmegaConf.merge(base, overrides)
            adapter_model = peft_model.merge_and_unload()
            combined = dataset_a.merge(dataset_b)
            """
        ),
        GOOD(
            """
            import pandas as pd

            left = pd.read_parquet("a.parquet")
            right = pd.read_parquet("b.parquet")
            joined = left.merge(right, on="id")
            """,
            options={"require": ["on"]},
        ),
    )

    def __init__(self, context: Any, options: Any) -> None:
        super().__init__(context, options)
        self.require = [choice for choice in _CHOICES if choice in self.opts["require"]]

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Attribute):
            if func.attr.value != "merge":
                return
        elif not isinstance(func, cst.Name):
            return
        if _has_star_kwargs(node):
            return
        resolver = self.context.resolver
        given = {arg.keyword.value for arg in node.args if arg.keyword is not None}
        name = resolver.call_name(node)
        if name == "pandas.merge":
            left, right = argument(node, 0, "left"), argument(node, 1, "right")
        elif isinstance(func, cst.Attribute) and (
            resolver.kind_of(func.value) == k.DATAFRAME
            or (name is None and given & _PANDAS_MERGE_KEYWORDS)
            or (name is None and _is_frame(resolver, argument(node, 0, "right")))
        ):
            left, right = func.value, argument(node, 0, "right")
        else:
            return
        if string_value(keyword(node, "how")) == "cross":
            return
        missing = []
        if "on" in self.require and not given & _KEYS:
            missing.append("on")
        missing += [choice for choice in self.require if choice != "on" and choice not in given]
        if not missing:
            return
        module = self.context.module
        pair = (
            f"`{_short(module, left)}` and `{_short(module, right)}`"
            if left is not None and right is not None
            else "the frames"
        )
        if "on" in missing:
            message = (
                f"merge of {pair} without `on=`: it joins on every column the two share, "
                "and the keys change when either gains a column; name the key"
            )
            others = [m for m in missing if m != "on"]
            if others:
                message += " (and give " + ", ".join(f"`{m}=`" for m in others) + ")"
        elif "how" in missing:
            message = (
                f"merge of {pair} without `how=`: an inner join by default, which drops rows "
                "without a match silently; say which join you mean"
            )
            if "validate" in missing:
                message += " (and give `validate=`)"
        else:
            message = f"merge of {pair} without `validate=`: say which cardinality you expect"
        self.report(node, message)


def _is_frame(resolver: Resolver, expr: cst.BaseExpression | None) -> bool:
    return expr is not None and resolver.kind_of(expr) in (k.DATAFRAME, k.SERIES)


def _short(module: cst.Module, node: cst.CSTNode) -> str:
    text = " ".join(module.code_for_node(node).split())
    return text if len(text) <= 30 else text[:27] + "..."
