"""EXT001: a ``breakpoint()`` call left in the code."""

from __future__ import annotations

import libcst as cst

from mldebt.findings import Severity
from mldebt.rule import BAD, GOOD, FileRule


class LeftoverBreakpoint(FileRule):
    code = "EXT001"
    name = "leftover-breakpoint"
    category = "dead-experimental-code"
    severity = Severity.WARNING
    debt_minutes = 2.0
    tags = ("example-pack",)
    summary = "A `breakpoint()` call left behind after a debugging session."
    what = "Calls to the built-in `breakpoint()` (or `pdb.set_trace()`) anywhere in a module."
    why = (
        "Debugging leftovers are dead experimental code (Sculley et al. 2015, section 5): a "
        "training job that reaches one waits for a debugger nobody attached."
    )
    limits = "Only the plain names `breakpoint` and `pdb.set_trace` are recognised."
    examples = (
        BAD(
            """
            def train(model, X, y):
                breakpoint()
                model.fit(X, y)
            """,
            expect=1,
        ),
        BAD(
            """
            import pdb

            for epoch in range(3):
                pdb.set_trace()
            """,
            expect=1,
        ),
        GOOD(
            """
            def train(model, X, y):
                model.fit(X, y)
                return model
            """
        ),
    )

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Name) and func.value == "breakpoint":
            self.report(node, "breakpoint() left in the code")
        elif (
            isinstance(func, cst.Attribute)
            and isinstance(func.value, cst.Name)
            and func.value.value == "pdb"
            and func.attr.value == "set_trace"
        ):
            self.report(node, "pdb.set_trace() left in the code")
