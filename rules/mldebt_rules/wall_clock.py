"""MLD605: results that depend on when or how the program runs — the wall clock used as a seed
or to select data, and the iteration order of a set of column names."""

from __future__ import annotations

from typing import Any

import libcst as cst

from mldebt.findings import Severity
from mldebt.literals import string_value
from mldebt.resolve.kinds import DATAFRAME, NDARRAY, SERIES, positional
from mldebt.rule import BAD, GOOD, FileRule
from mldebt_rules._dataflow import mentions, sub_nodes
from mldebt_rules._seeding import (
    _GENERATOR_SEED_ARG,
    _SEEDERS,
    is_plotting,
    looks_like_seeder,
)

_CLOCKS = frozenset(
    {
        "time.time",
        "time.time_ns",
        "time.perf_counter",
        "time.perf_counter_ns",
        "time.monotonic",
        "time.monotonic_ns",
        "time.process_time",
        "datetime.datetime.now",
        "datetime.datetime.today",
        "datetime.datetime.utcnow",
        "datetime.date.today",
        "pandas.Timestamp.now",
        "pandas.Timestamp.today",
        "pandas.Timestamp.utcnow",
        "arrow.now",
        "arrow.utcnow",
        "pendulum.now",
        "pendulum.today",
    }
)
# Called with the string "now" / "today", these read the clock too.
_CLOCK_STRINGS = frozenset({"pandas.to_datetime", "pandas.Timestamp", "numpy.datetime64"})
# A file with none of these cannot read the clock.
_CLOCK_GATE = ("time", "now(", "today(", "Timestamp", "datetime64", "arrow.", "pendulum.")
# Conversions a clock reading keeps its meaning through.
_CONVERSIONS = frozenset(
    {
        "int",
        "float",
        "round",
        "abs",
        "str",
        "hash",
        "pandas.Timestamp",
        "pandas.to_datetime",
        "numpy.datetime64",
        "numpy.int64",
        "numpy.uint32",
        "datetime.datetime.fromtimestamp",
        "datetime.date.fromtimestamp",
    }
)
_SEED_KEYWORDS = frozenset({"seed", "random_state", "random_seed", "rng_seed", "seed_value"})
_SEED_METHODS = frozenset({"seed", "manual_seed", "set_seed", "manual_seed_all"})
_SET_METHODS = frozenset({"union", "difference", "intersection", "symmetric_difference"})
_SET_OPERATORS = (cst.Subtract, cst.BitOr, cst.BitAnd, cst.BitXor)


def _string(node: cst.BaseExpression | None) -> str | None:
    return string_value(node) if isinstance(node, cst.SimpleString) else None


def _mentions_columns(node: cst.CSTNode) -> bool:
    """Whether an expression reads some ``.columns`` (so its set holds column names)."""
    stack: list[cst.CSTNode] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, cst.Attribute) and current.attr.value == "columns":
            return True
        stack.extend(sub_nodes(current))
    return False


class WallClockDependence(FileRule):
    code = "MLD605"
    name = "wall-clock-dependence"
    category = "reproducibility"
    severity = Severity.WARNING
    debt_minutes = 10.0
    tags = ("general", "pandas")
    summary = "Results that change with the time of day or the interpreter's hash seed."
    what = (
        "The wall clock (`time.time()`, `datetime.now()`, `date.today()`, "
        "`pd.Timestamp.now()`, `pd.to_datetime('today')`...) flowing into a seed (a seeding "
        "function, a generator such as `np.random.default_rng`, a `seed=`/`random_state=` "
        "argument, a variable named like a seed) or into a comparison with data (a column, a "
        "Series, an array: `df[df['date'] >= datetime.now() - timedelta(days=90)]`). And a "
        "list or tuple made from a set (`list(set(df.columns) - {'id'})`) used to select "
        "DataFrame columns: the order of strings in a set changes with `PYTHONHASHSEED`, so "
        "the feature order does too. The finding is where the clock is read or the set is "
        "turned into a list. Clock values followed through assignments in the same function."
    )
    why = (
        "Zhang et al. (CAIN 2022), *Randomness Uncontrolled*, in its least visible form: a seed "
        "taken from the clock is no seed, and data selected relative to today gives another "
        "training set tomorrow, so no run can be repeated (Sculley et al. 2015: unstable data "
        "dependencies). Set iteration order of strings is randomised per process."
    )
    limits = (
        "Timing code, timestamps in file names and logs are left alone on purpose. The clock "
        "is followed through plain assignments, not through function returns or attributes. "
        "A set of integers iterates in a stable order, but the rule cannot tell the element "
        "type, so it only reports sets used to pick columns of a DataFrame (or of an unknown "
        "object when the set is built from some `.columns`), and not in a statement that "
        "only plots them."
    )
    examples = (
        BAD(
            """
            import time

            import numpy as np

            rng = np.random.default_rng(int(time.time()))
            """,
            expect=1,
        ),
        BAD(
            """
            from datetime import datetime, timedelta

            import pandas as pd

            def recent(usage: pd.DataFrame) -> pd.DataFrame:
                cutoff = datetime.now() - timedelta(days=90)
                return usage[usage["month"] >= cutoff]
            """,
            expect=1,
        ),
        BAD(
            """
            # %%
            import pandas as pd
            # %%
            feats = pd.read_csv("stores.csv")
            cols = list(set(feats.columns) - {"store_id"})
            X = feats[cols].to_numpy()
            """,
            path="eda.ipynb",
            expect=1,
        ),
        GOOD(
            """
            import time
            from datetime import datetime

            start = time.time()
            stamp = datetime.now().strftime("%Y%m%d")
            out = f"submission_{stamp}.csv"
            print(f"done in {time.time() - start:.1f}s")
            """
        ),
        GOOD(
            """
            import pandas as pd

            CUTOFF = pd.Timestamp("2024-01-01")
            sales = pd.read_csv("sales.csv", parse_dates=["date"])
            recent = sales[sales["date"] >= CUTOFF]
            cols = sorted(set(sales.columns) - {"id"})
            X = sales[cols]
            """
        ),
        GOOD(
            """
            # %%
            import random
            import time
            # %%
            random.seed(1234)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                step()
            """,
            path="loop.ipynb",
        ),
    )

    def __init__(self, context: Any, options: Any) -> None:
        super().__init__(context, options)
        # Per scope ("" = module level): names holding a clock reading -> where it was read.
        self.clock: dict[str, dict[str, cst.Call]] = {}
        # Per scope: names holding a list made from a set -> the conversion.
        self.from_set: dict[str, dict[str, cst.CSTNode]] = {}
        self.reported: set[int] = set()
        self.statement: cst.SimpleStatementLine | None = None
        self.skip = False
        self.clocks = True
        self.sets = True

    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> None:
        self.statement = node

    def visit_Module(self, node: cst.Module) -> None:
        text = self.context.text
        self.clocks = mentions(text, _CLOCK_GATE)
        self.sets = mentions(text, ("set(", "{"))
        self.skip = not (self.clocks or self.sets)

    def _plotting_statement(self) -> bool:
        """Whether the statement being visited draws or displays something."""
        if self.statement is None:
            return False
        stack: list[cst.CSTNode] = [self.statement]
        while stack:
            node = stack.pop()
            if isinstance(node, cst.Call) and is_plotting(
                self.context.resolver.call_name(node), node
            ):
                return True
            stack.extend(sub_nodes(node))
        return False

    # --- state -----------------------------------------------------------------------------

    def _scope(self) -> str:
        return self.context.resolver.function or ""

    def _held(self, table: dict[str, dict[str, Any]], name: str) -> Any:
        found = table.get(self._scope(), {}).get(name)
        if found is None:
            found = table.get("", {}).get(name)
        return found

    def _clock_in(self, expr: cst.BaseExpression) -> cst.Call | None:
        """Where the clock reading ``expr`` holds was taken, if it holds one: the clock call
        itself, arithmetic on it, conversions (``int(...)``), its methods and attributes
        (``now().timestamp()``, ``today().year``), or a name assigned one of those."""
        if not self.clocks:
            return None
        if isinstance(expr, cst.Call):
            if self._is_clock(expr):
                return expr
            func = expr.func
            if isinstance(func, cst.Attribute):
                found = self._clock_in(func.value)
                if found is not None:
                    return found
            if self.context.resolver.call_name(expr) in _CONVERSIONS:
                for arg in expr.args:
                    found = self._clock_in(arg.value)
                    if found is not None:
                        return found
            return None
        if isinstance(expr, cst.Name):
            held: cst.Call | None = self._held(self.clock, expr.value)
            return held
        if isinstance(expr, cst.Attribute):
            return self._clock_in(expr.value)
        if isinstance(expr, cst.BinaryOperation):
            return self._clock_in(expr.left) or self._clock_in(expr.right)
        if isinstance(expr, cst.UnaryOperation):
            return self._clock_in(expr.expression)
        return None

    def _is_clock(self, call: cst.Call) -> bool:
        qualname = self.context.resolver.call_name(call)
        if qualname in _CLOCKS:
            return True
        if qualname in _CLOCK_STRINGS:
            return _string(positional(call, 0)) in ("now", "today")
        return False

    def _set_made(self, expr: cst.BaseExpression) -> bool:
        """``set(...)``, ``{a, b}``, ``{... for ...}``, set operators and methods on them."""
        if isinstance(expr, (cst.Set, cst.SetComp)):
            return True
        if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, _SET_OPERATORS):
            return self._set_made(expr.left) or self._set_made(expr.right)
        if isinstance(expr, cst.Call):
            func = expr.func
            if isinstance(func, cst.Attribute) and func.attr.value in _SET_METHODS:
                return self._set_made(func.value)
            name = self.context.resolver.call_name(expr)
            return name in ("set", "frozenset")
        return False

    def _listed_set(self, expr: cst.BaseExpression) -> bool:
        """``list(<set>)``, ``tuple(<set>)``, ``[*<set>]``, ``[c for c in <set>]``."""
        if not self.sets:
            return False
        if isinstance(expr, cst.Call):
            func = expr.func
            if not (isinstance(func, cst.Name) and func.value in ("list", "tuple")):
                return False
            if self.context.resolver.call_name(expr) in ("list", "tuple"):
                first = positional(expr, 0)
                return first is not None and self._set_made(first)
            return False
        if isinstance(expr, (cst.List, cst.Tuple)) and len(expr.elements) == 1:
            only = expr.elements[0]
            return isinstance(only, cst.StarredElement) and self._set_made(only.value)
        if isinstance(expr, cst.ListComp):
            return expr.for_in.inner_for_in is None and self._set_made(expr.for_in.iter)
        return False

    def leave_Assign(self, node: cst.Assign) -> None:
        if self.skip:
            return
        origin = self._clock_in(node.value)
        listed = node.value if self._listed_set(node.value) else None
        if origin is not None:
            for target in node.targets:
                self._seed_target(target.target, origin)
        scope = self._scope()
        for target in node.targets:
            for name in self._target_names(target.target):
                clocks = self.clock.setdefault(scope, {})
                lists = self.from_set.setdefault(scope, {})
                clocks.pop(name, None)
                lists.pop(name, None)
                if origin is not None:
                    clocks[name] = origin
                if listed is not None:
                    lists[name] = listed

    @staticmethod
    def _target_names(target: cst.BaseExpression) -> list[str]:
        if isinstance(target, cst.Name):
            return [target.value]
        if isinstance(target, (cst.Tuple, cst.List)):
            return [n for e in target.elements for n in WallClockDependence._target_names(e.value)]
        if isinstance(target, cst.StarredElement):
            return WallClockDependence._target_names(target.value)
        return []

    def _seed_target(self, target: cst.BaseExpression, origin: cst.Call) -> None:
        """``SEED = int(time.time())``, ``cfg["seed"] = ...``, ``args.seed = ...``."""
        label: str | None = None
        if isinstance(target, cst.Name):
            label = target.value
        elif isinstance(target, cst.Attribute):
            label = target.attr.value
        elif isinstance(target, cst.Subscript) and len(target.slice) == 1:
            index = target.slice[0].slice
            if isinstance(index, cst.Index):
                label = _string(index.value)
        if label is not None and ("seed" in label.lower() or label.lower() == "random_state"):
            self._report_clock(origin, f"used as the seed `{label}`")

    def _report_clock(self, origin: cst.Call, use: str) -> None:
        if id(origin) in self.reported:
            return
        self.reported.add(id(origin))
        self.report(
            origin,
            f"The wall clock (`{self.context.node_source(origin.func)}()`) is {use}: "
            "another run, another result",
        )

    # --- sinks -----------------------------------------------------------------------------

    def visit_Call(self, node: cst.Call) -> None:
        if self.skip or not node.args:
            return
        qualname = self.context.resolver.call_name(node)
        seeding = qualname is not None and (
            qualname in _SEEDERS or qualname in _GENERATOR_SEED_ARG or looks_like_seeder(qualname)
        )
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value in _SEED_METHODS:
            seeding = True
        for arg in node.args:
            keyword = arg.keyword.value if arg.keyword is not None else None
            if keyword in _SEED_KEYWORDS or (seeding and keyword is None):
                origin = self._clock_in(arg.value)
                if origin is not None:
                    self._report_clock(origin, "used as a seed")
        if qualname == "pandas.Series.between" or (
            isinstance(func, cst.Attribute)
            and func.attr.value == "between"
            and self._frame_like(func.value)
        ):
            for arg in node.args:
                origin = self._clock_in(arg.value)
                if origin is not None:
                    self._report_clock(origin, "used to select rows")

    def visit_Comparison(self, node: cst.Comparison) -> None:
        if self.skip:
            return
        operands = [node.left, *(c.comparator for c in node.comparisons)]
        origins = [self._clock_in(o) for o in operands]
        if not any(origins):
            return
        for operand, origin in zip(operands, origins, strict=True):
            if origin is None and self._frame_like(operand):
                for found in origins:
                    if found is not None:
                        self._report_clock(found, "compared with data to select rows")
                return

    def _frame_like(self, expr: cst.BaseExpression) -> bool:
        """A column, a Series or an array: ``df["date"]``, ``df.date``, ``dates``."""
        resolver = self.context.resolver
        if resolver.kind_of(expr) in (DATAFRAME, SERIES, NDARRAY):
            return True
        if isinstance(expr, cst.Subscript) and len(expr.slice) == 1:
            index = expr.slice[0].slice
            if isinstance(index, cst.Index) and _string(index.value) is not None:
                return True
        if isinstance(expr, cst.Attribute):
            return resolver.kind_of(expr.value) in (DATAFRAME, SERIES)
        return False

    def visit_Subscript(self, node: cst.Subscript) -> None:
        if self.skip or len(node.slice) != 1:
            return
        index = node.slice[0].slice
        base = node.value
        if isinstance(base, cst.Attribute) and base.attr.value == "loc":
            if isinstance(index, cst.Slice):
                for bound in (index.lower, index.upper):
                    origin = self._clock_in(bound) if bound is not None else None
                    if origin is not None:
                        self._report_clock(origin, "used to select rows")
                return
            if isinstance(index, cst.Index) and isinstance(index.value, cst.Tuple):
                elements = index.value.elements
                if len(elements) == 2:
                    self._columns_from_set(elements[1].value, base.value)
            return
        if isinstance(index, cst.Index):
            self._columns_from_set(index.value, base)

    def _columns_from_set(self, columns: cst.BaseExpression, frame: cst.BaseExpression) -> None:
        origin: cst.CSTNode | None = None
        if isinstance(columns, cst.Name):
            origin = self._held(self.from_set, columns.value)
        elif self._listed_set(columns):
            origin = columns
        if origin is None or id(origin) in self.reported:
            return
        kind = self.context.resolver.kind_of(frame)
        if kind != DATAFRAME and not (kind is None and _mentions_columns(origin)):
            return
        if self._plotting_statement():
            return  # the order of a plot's columns changes nothing downstream
        self.reported.add(id(origin))
        self.report(
            origin,
            "A list made from a set picks DataFrame columns: string order in a set changes "
            "with PYTHONHASHSEED, so the feature order changes from run to run; use sorted()",
        )
