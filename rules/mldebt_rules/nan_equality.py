"""MLD502: comparing with NaN (``x == np.nan``), which is never true."""

from __future__ import annotations

import libcst as cst

from mldebt.findings import Severity
from mldebt.literals import string_value
from mldebt.resolve import kinds as k
from mldebt.resolve.kinds import positional
from mldebt.rule import BAD, GOOD, FileRule
from mldebt_rules._arrays import PANDAS, TextGate, source

_NAN_NAMES = frozenset({"numpy.nan", "numpy.NaN", "numpy.NAN", "math.nan", "torch.nan"})
_NAT_NAMES = frozenset({"pandas.NaT"})
_NA_NAMES = frozenset({"pandas.NA"})
_NAN_TEXT = frozenset({"nan", "+nan", "-nan"})
_NAT_MAKERS = frozenset({"numpy.datetime64", "numpy.timedelta64"})
_EQUALITY_FUNCTIONS = {
    "numpy.equal": "==",
    "numpy.not_equal": "!=",
    "torch.eq": "==",
    "torch.ne": "!=",
    "torch.not_equal": "!=",
    "tensorflow.equal": "==",
    "tensorflow.not_equal": "!=",
    "tensorflow.math.equal": "==",
    "tensorflow.math.not_equal": "!=",
}
_EQUALITY_METHODS = {"eq": "==", "ne": "!="}


class NanEquality(TextGate, FileRule):
    code = "MLD502"
    name = "nan-equality"
    category = "ml-api-misuse"
    severity = Severity.ERROR
    debt_minutes = 5.0
    tags = ("pandas", "numpy", "pytorch", "tensorflow")
    gates = (("nan", "NaN", "NAN", "NaT", "NA"),)
    summary = "`x == np.nan` is always False (and `!=` always True): NaN equals nothing."
    what = (
        "Equality comparisons (`==`, `!=`, `.eq()`, `.ne()`, `np.equal`, `torch.eq`, "
        "`tf.equal`) with a NaN value: `np.nan`, `math.nan`, `torch.nan`, `float('nan')`, "
        "`pd.NaT`, `np.datetime64('NaT')`, and with `pd.NA`. Whatever the other side is (a "
        "scalar, a column, an array, a tensor), the comparison is decided without looking at "
        "the data, so the test never finds the missing values. The message suggests the "
        "missing-value test that fits the other side (`.isna()` for pandas objects, "
        "`np.isnan`, `torch.isnan`, `pd.isna` for anything else)."
    )
    why = (
        "Zhang et al. (CAIN 2022), *NaN Equivalence Comparison Misused*: by IEEE 754 NaN "
        "compares unequal to everything, itself included, so `df[df.c == np.nan]` selects "
        "nothing and `x != np.nan` keeps every row. `pd.NA` propagates instead: the comparison "
        "gives NA, which raises in an `if` and selects nothing in a mask. The code runs and "
        "silently computes the wrong thing."
    )
    limits = (
        "Only comparisons whose NaN operand is spelled out (or a name the resolver knows is "
        "bound to one such literal) are found; a NaN that arrives in a variable computed at "
        "run time is not. `x is np.nan` is not reported: it is unreliable too, but true for "
        "the `np.nan` object itself, and some code relies on that."
    )
    examples = (
        BAD(
            """
            import numpy as np
            import pandas as pd

            df = pd.read_parquet("customers.parquet")
            df.loc[df["total_charges"] == np.nan, "total_charges"] = 0
            has_promo = df["promo_code"] != float("nan")
            """,
            expect=2,
        ),
        BAD(
            """
            import math
            import torch
            from numpy import nan as NaN

            def mask_missing(x: torch.Tensor, value):
                if value == math.nan:
                    return None
                return torch.where(torch.eq(x, NaN), torch.zeros_like(x), x)
            """,
            expect=2,
        ),
        BAD(
            """
            # %%
            import numpy as np
            import pandas as pd
            # %%
            sales = pd.read_csv("sales.csv", dtype={"price": "float64"})
            sales.query("price > 0").loc[lambda d: d["promo"].ne(np.nan)].head()
            sales[sales["date"] == pd.NaT]
            """,
            path="eda.ipynb",
            expect=2,
        ),
        GOOD(
            """
            import numpy as np
            import pandas as pd

            df = pd.read_parquet("customers.parquet")
            df.loc[df["total_charges"].isna(), "total_charges"] = 0
            has_promo = df["promo_code"].notna()
            n_missing = np.isnan(df["income"].to_numpy()).sum()
            """
        ),
        GOOD(
            '''
            import math

            def is_missing(value) -> bool:
                """NaN is the only value for which `value != np.nan` ... is useless."""
                return value != value or math.isnan(value)
            '''
        ),
        GOOD(
            """
            import numpy as np

            nan_value = np.nan
            defaults = {"fill": np.nan}
            ratio = np.where(counts == 0, np.nan, totals / counts)
            same = np.array_equal(a, b, equal_nan=True)
            """
        ),
    )

    def visit_Comparison(self, node: cst.Comparison) -> None:
        left: cst.BaseExpression = node.left
        for target in node.comparisons:
            right = target.comparator
            if isinstance(target.operator, (cst.Equal, cst.NotEqual)):
                operator = "==" if isinstance(target.operator, cst.Equal) else "!="
                self._check(node, operator, left, right)
            left = right

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Attribute):
            if func.attr.value not in _EQUALITY_METHODS and func.attr.value not in (
                "equal",
                "not_equal",
            ):
                return
        elif not isinstance(func, cst.Name):
            return
        name = self.context.resolver.call_name(node)
        if name in _EQUALITY_FUNCTIONS:
            first, second = positional(node, 0), positional(node, 1)
            if first is not None and second is not None:
                self._check(node, _EQUALITY_FUNCTIONS[name], first, second)
        elif isinstance(func, cst.Attribute) and func.attr.value in _EQUALITY_METHODS:
            operand = positional(node, 0)
            if operand is not None:
                self._check(node, _EQUALITY_METHODS[func.attr.value], func.value, operand)

    def _check(
        self,
        node: cst.CSTNode,
        operator: str,
        left: cst.BaseExpression,
        right: cst.BaseExpression,
    ) -> None:
        missing = self._missing(right)
        other = left
        if missing is None:
            missing = self._missing(left)
            other = right
            if missing is None:
                return
        spelled = source(self.context.module, node)
        if missing == "NA":
            message = (
                f"`{spelled}` compares with pd.NA, which gives NA rather than True or False: "
                f"use {self._test(other, operator)}"
            )
        else:
            outcome = "False" if operator == "==" else "True"
            message = (
                f"`{spelled}` is always {outcome}: {missing} equals nothing, itself included; "
                f"use {self._test(other, operator)}"
            )
        self.report(node, message)

    def _missing(self, expr: cst.BaseExpression) -> str | None:
        """``"NaN"``, ``"NaT"`` or ``"NA"`` when ``expr`` is that missing-value marker."""
        resolver = self.context.resolver
        if isinstance(expr, cst.Name):
            literal = resolver.constant(expr)
            if literal is not None and literal is not expr:
                expr = literal
        if isinstance(expr, (cst.Name, cst.Attribute)):
            name = resolver.qualname(expr)
            if name in _NAN_NAMES:
                return "NaN"
            if name in _NAT_NAMES:
                return "NaT"
            if name in _NA_NAMES:
                return "NA"
            return None
        if isinstance(expr, cst.Call) and len(expr.args) == 1:
            text = string_value(expr.args[0].value)
            if text is None:
                return None
            name = resolver.call_name(expr)
            if name in ("float", "numpy.float64", "numpy.float32") and (
                text.strip().lower() in _NAN_TEXT
            ):
                return "NaN"
            if name in _NAT_MAKERS and text.strip() == "NaT":
                return "NaT"
        return None

    def _test(self, other: cst.BaseExpression, operator: str) -> str:
        resolver = self.context.resolver
        negate = operator == "!="
        kind = resolver.kind_of(other)
        value = resolver.value_of(other)
        code = source(self.context.module, other)
        if kind in PANDAS:
            return f"`{code}.{'notna' if negate else 'isna'}()`"
        if kind == k.NDARRAY:
            return f"`{'~' if negate else ''}np.isnan({code})`"
        if kind == k.TENSOR and value is not None and value.type == "torch.Tensor":
            return f"`{'~' if negate else ''}torch.isnan({code})`"
        if kind == k.TENSOR:
            return f"`{'~' if negate else ''}tf.math.is_nan({code})`"
        return f"`{'pd.notna' if negate else 'pd.isna'}({code})` or `math.isnan`"
