"""MLD513: ``log`` of values that can be exactly 0 (probabilities, zero-filled columns)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import libcst as cst

from mldebt.findings import Severity
from mldebt.resolve.kinds import keyword, positional
from mldebt.rule import BAD, GOOD, FileRule
from mldebt_rules._arrays import INDEXERS, TextGate, index_value, is_true, label, source

_LOGS = frozenset(
    {
        "numpy.log",
        "numpy.log2",
        "numpy.log10",
        "torch.log",
        "torch.log2",
        "torch.log10",
        "tensorflow.math.log",
        "tensorflow.log",
        "keras.backend.log",
        "keras.ops.log",
        "jax.numpy.log",
        "math.log",
        "math.log2",
        "math.log10",
    }
)
_LOG_METHODS = frozenset({"log", "log2", "log10"})
_PROBABILITIES = frozenset(
    {
        "torch.softmax",
        "torch.sigmoid",
        "torch.nn.functional.softmax",
        "torch.nn.functional.sigmoid",
        "torch.special.expit",
        "torch.special.softmax",
        "tensorflow.nn.softmax",
        "tensorflow.math.softmax",
        "tensorflow.nn.sigmoid",
        "tensorflow.math.sigmoid",
        "tensorflow.sigmoid",
        "keras.activations.softmax",
        "keras.activations.sigmoid",
        "keras.backend.softmax",
        "keras.backend.sigmoid",
        "keras.ops.softmax",
        "keras.ops.sigmoid",
        "scipy.special.softmax",
        "scipy.special.expit",
        "jax.nn.softmax",
        "jax.nn.sigmoid",
    }
)
_PROBABILITY_METHODS = frozenset({"softmax", "sigmoid"})
# Calls that repair infinities after the fact: `torch.where(torch.isfinite(lp), lp, ...)`.
_REPAIRS = frozenset(
    {
        "isfinite",
        "isinf",
        "isneginf",
        "isnan",
        "nan_to_num",
        "nan_to_num_",
        "masked_fill",
        "masked_fill_",
        "clamp",
        "clamp_",
        "clamp_min",
        "clip",
        "maximum",
        "is_finite",
    }
)
# Methods and functions that keep every value of their input (zeros stay zeros).
_KEEPS_VALUES = frozenset(
    {
        "gather",
        "squeeze",
        "unsqueeze",
        "view",
        "reshape",
        "flatten",
        "ravel",
        "select",
        "index_select",
        "take",
        "take_along_dim",
        "clone",
        "detach",
        "float",
        "double",
        "cpu",
        "cuda",
        "numpy",
        "to",
        "astype",
        "T",
    }
)
_KEEPS_VALUES_FUNCTIONS = frozenset(
    {"numpy.asarray", "numpy.array", "numpy.take_along_axis", "torch.gather", "tensorflow.gather"}
)


# The last part of every name above, to skip resolving calls that cannot be evidence.
_EVIDENCE_NAMES = frozenset(
    name.rpartition(".")[2] for name in _PROBABILITIES | _KEEPS_VALUES_FUNCTIONS
)


@dataclass(frozen=True)
class _Evidence:
    why: str  # what makes the value reach 0, for the message
    fix: str  # what to do instead
    where: cst.CSTNode


_Found = tuple[cst.Call, cst.BaseExpression, _Evidence]


def _zero(value: cst.BaseExpression) -> bool:
    if isinstance(value, cst.Integer):
        return int(value.value.replace("_", ""), 0) == 0
    if isinstance(value, cst.Float):
        try:
            return float(value.value.replace("_", "")) == 0.0
        except ValueError:
            return False
    return False


def _one(value: cst.BaseExpression) -> bool:
    if isinstance(value, cst.Integer):
        return value.value == "1"
    if isinstance(value, cst.Float):
        try:
            return float(value.value) == 1.0
        except ValueError:
            return False
    return False


class UnmaskedLog(TextGate, FileRule):
    code = "MLD513"
    name = "unmasked-log"
    category = "ml-api-misuse"
    severity = Severity.WARNING
    debt_minutes = 10.0
    tags = ("numpy", "pytorch", "tensorflow", "keras", "pandas", "scikit-learn")
    gates = (("log",), ("softmax", "sigmoid", "expit", "y_pred", "= 0", "=0", "fillna"))
    summary = "`log` of values that can be exactly 0 — a softmax, a prediction, a 0-filled column."
    what = (
        "Calls of `log` / `log2` / `log10` (NumPy, PyTorch, TensorFlow, Keras, JAX, `math`, "
        "and the `.log()` tensor method) whose argument is known to reach 0, with no "
        "epsilon, clipping or mask in between: the output of a softmax or sigmoid (directly, "
        "through a variable, a selection such as `probs[:, 1]` or `1 - p`), the `y_pred` "
        "argument of a Keras-style loss `f(y_true, y_pred)`, or a DataFrame column that the "
        "file sets to 0 earlier on. A log assigned to a variable that then goes through "
        "`isfinite` / `nan_to_num` / `where` / `clamp` is repaired and not reported."
    )
    why = (
        "Zhang et al. (CAIN 2022), *Missing the Mask of Invalid Value*: `log(0)` is `-inf`; "
        "in a loss the gradient becomes NaN and training diverges, in a feature the model "
        "gets infinities. Softmax and sigmoid underflow to exactly 0 in float32 for moderate "
        "logits, trees predict probability 0, a zero-filled column holds zeros by "
        "construction. Use the fused `log_softmax` / `logsigmoid` or a `from_logits` loss, "
        "add an epsilon or clip (`torch.clamp(p, min=eps)`), or use `log1p` for counts and "
        "amounts."
    )
    limits = (
        "Only values with visible evidence of zeros are checked: a `log` of a parameter or of "
        "a value computed elsewhere is not reported, even if it may be 0. Variables are "
        "followed within one function (or notebook), columns across the file in source "
        "order, without telling whether rows with zeros were filtered out in between. "
        "`predict_proba` output is not treated as evidence: libraries legitimately return "
        "`log(0) = -inf` from `predict_log_proba`."
    )
    examples = (
        BAD(
            """
            import torch
            import torch.nn.functional as F

            def soft_cross_entropy(logits, soft_targets):
                probs = torch.softmax(logits, dim=-1)
                return -(soft_targets * torch.log(probs)).sum(dim=-1).mean()

            def bce(logits, y):
                p = F.sigmoid(logits)
                return -(y * p.log() + (1 - y) * torch.log(1 - p)).mean()
            """,
            expect=3,
        ),
        BAD(
            """
            import numpy as np
            import pandas as pd
            import scipy.special

            def clean(df: pd.DataFrame) -> pd.DataFrame:
                df.loc[df["total_charges"].isna(), "total_charges"] = 0
                return df

            def features(df: pd.DataFrame) -> pd.DataFrame:
                df["log_total"] = np.log(df["total_charges"])
                return df

            def attention_entropy(scores):
                weights = scipy.special.softmax(scores, axis=-1)
                return -(weights * np.log(weights[:, None])).sum()
            """,
            expect=2,
        ),
        BAD(
            """
            # %%
            import tensorflow as tf
            # %%
            def poisson_nll(y_true, y_pred):
                return tf.reduce_mean(y_pred - y_true * tf.math.log(y_pred))
            """,
            path="forecast.ipynb",
            expect=1,
        ),
        GOOD(
            """
            import torch
            import torch.nn.functional as F

            def soft_cross_entropy(logits, soft_targets):
                return -(soft_targets * F.log_softmax(logits, dim=-1)).sum(dim=-1).mean()

            def entropy(logits, eps=1e-8):
                probs = torch.softmax(logits, dim=-1)
                return -(probs * torch.log(probs.clamp_min(eps))).sum(dim=-1)
            """
        ),
        GOOD(
            """
            import numpy as np
            import tensorflow as tf

            EPS = 1e-6

            def poisson_loss(y_true, y_pred):
                return tf.reduce_mean(y_pred - y_true * tf.math.log(y_pred + EPS))

            def features(df):
                df["log_total"] = np.log1p(df["total_charges"])
                df["log_income"] = np.log(df["income"])
                return df
            """
        ),
        GOOD(
            """
            import numpy as np
            import torch

            def calibrate(probs):
                probs = torch.softmax(probs, dim=-1)
                probs = torch.clamp(probs, 1e-7, 1 - 1e-7)
                return torch.log(probs)

            def watermark(scores):
                probs = torch.softmax(scores, dim=1)
                log_probs = torch.log(probs)
                return torch.where(torch.isfinite(log_probs), log_probs, -1e9)

            lr_grid = np.log10([1e-4, 1e-3, 1e-2])
            """
        ),
    )

    def __init__(self, context: Any, options: Any) -> None:
        super().__init__(context, options)
        self.scopes: list[dict[str, _Evidence | None]] = [{}]
        # Per scope: logs assigned to a name, reported at the end of the scope unless the
        # name goes through a repair (`isfinite`, `nan_to_num`...) first.
        self.assigned_logs: list[dict[str, list[_Found]]] = [{}]
        self.assigning: str | None = None
        self.pending: list[tuple[list[str], _Evidence | None]] = []
        # Columns set to 0 so far in the file: label -> the assignment.
        self.zero_columns: dict[str, cst.CSTNode] = {}

    # --- scopes -----------------------------------------------------------------------------

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        params = [*node.params.posonly_params, *node.params.params]
        names = [p.name.value for p in (*params, *node.params.kwonly_params)]
        scope: dict[str, _Evidence | None] = dict.fromkeys(names)
        if "y_true" in names and "y_pred" in names:
            predicted = next(
                p for p in (*params, *node.params.kwonly_params) if p.name.value == "y_pred"
            )
            scope["y_pred"] = _Evidence(
                "`y_pred` is a model's prediction, which can reach 0",
                "add an epsilon or clip it first",
                predicted,
            )
        self.scopes.append(scope)
        self.assigned_logs.append({})

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.scopes.pop()
        for found in self.assigned_logs.pop().values():
            for one in found:
                self._report(*one)

    def leave_Module(self, original_node: cst.Module) -> None:
        for found in self.assigned_logs[0].values():
            for one in found:
                self._report(*one)

    def visit_Assign(self, node: cst.Assign) -> None:
        names = [t.target.value for t in node.targets if isinstance(t.target, cst.Name)]
        self.assigning = names[0] if len(names) == 1 else None
        if names:
            self.pending.append((names, self._evidence(node.value)))
        for target in node.targets:
            self._note_zero_column(target.target, node.value, node)

    def leave_Assign(self, original_node: cst.Assign) -> None:
        self.assigning = None
        while self.pending:
            names, evidence = self.pending.pop()
            for name in names:
                self.scopes[-1][name] = evidence

    def visit_For(self, node: cst.For) -> None:
        if isinstance(node.target, cst.Name):
            self.scopes[-1][node.target.value] = None

    def _lookup(self, name: str) -> _Evidence | None:
        scope = self.scopes[-1]
        if name in scope:
            return scope[name]
        return self.scopes[0].get(name) if len(self.scopes) > 1 else None

    # --- zero-filled columns ------------------------------------------------------------------

    def _note_zero_column(
        self, target: cst.BaseExpression, value: cst.BaseExpression, node: cst.Assign
    ) -> None:
        if not isinstance(target, cst.Subscript):
            return
        column = self._column_of_target(target)
        if column is None:
            return
        if _zero(value) or self._fills_zero(value, column):
            self.zero_columns.setdefault(column, node)

    def _column_of_target(self, target: cst.Subscript) -> str | None:
        resolver = self.context.resolver
        base = target.value
        if isinstance(base, cst.Attribute) and base.attr.value in INDEXERS:
            parts = [element.slice for element in target.slice]
            if len(parts) == 1 and isinstance(parts[0], cst.Index):
                only = parts[0].value
                if isinstance(only, cst.Tuple) and len(only.elements) == 2:
                    return label(resolver, only.elements[1].value)
                return None
            if len(parts) == 2 and isinstance(parts[1], cst.Index):
                return label(resolver, parts[1].value)
            return None
        return label(resolver, index_value(target))

    def _fills_zero(self, value: cst.BaseExpression, column: str) -> bool:
        """``df[column].fillna(0)`` (also with ``value=0``)."""
        if not isinstance(value, cst.Call) or not isinstance(value.func, cst.Attribute):
            return False
        if value.func.attr.value != "fillna":
            return False
        filled = positional(value, 0) or keyword(value, "value")
        receiver = value.func.value
        return (
            filled is not None
            and _zero(filled)
            and isinstance(receiver, cst.Subscript)
            and label(self.context.resolver, index_value(receiver)) == column
        )

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        last = func.attr.value if isinstance(func, cst.Attribute) else None
        if isinstance(func, cst.Name):
            last = func.value
        if last in _REPAIRS and self.assigned_logs[-1]:
            self._repaired(node)
        if isinstance(func, cst.Attribute):
            method = func.attr.value
            if method == "fillna" and is_true(keyword(node, "inplace")):
                receiver = func.value
                filled = positional(node, 0) or keyword(node, "value")
                column = (
                    label(self.context.resolver, index_value(receiver))
                    if isinstance(receiver, cst.Subscript)
                    else None
                )
                if column is not None and filled is not None and _zero(filled):
                    self.zero_columns.setdefault(column, node)
                return
            if method in _LOG_METHODS and not node.args:
                evidence = self._evidence(func.value)
                if evidence is not None:
                    self._found(node, func.value, evidence)
                return
            if method not in _LOG_METHODS:
                return
        elif not isinstance(func, cst.Name):
            return
        name = self.context.resolver.call_name(node)
        if name not in _LOGS:
            return
        argument = positional(node, 0)
        if argument is None:
            return
        evidence = self._evidence(argument)
        if evidence is not None:
            self._found(node, argument, evidence)

    def _found(self, node: cst.Call, argument: cst.BaseExpression, evidence: _Evidence) -> None:
        """Report now, or at the end of the scope for `x = log(p)` (x may be repaired)."""
        if self.assigning is not None:
            self.assigned_logs[-1].setdefault(self.assigning, []).append((node, argument, evidence))
        else:
            self._report(node, argument, evidence)

    def _repaired(self, call: cst.Call) -> None:
        pending = self.assigned_logs[-1]
        operands = [arg.value for arg in call.args]
        if isinstance(call.func, cst.Attribute):
            operands.append(call.func.value)
        for operand in operands:
            if isinstance(operand, cst.Name):
                pending.pop(operand.value, None)

    def _report(self, node: cst.Call, argument: cst.BaseExpression, evidence: _Evidence) -> None:
        module = self.context.module
        related = [] if evidence.where is argument else [(evidence.where, "zeros come from here")]
        self.report(
            node,
            f"`{source(module, node)}`: {evidence.why}, and log(0) is -inf (NaN gradients, "
            f"infinite features); {evidence.fix}",
            related=related,
        )

    # --- evidence of zeros ------------------------------------------------------------------

    def _evidence(self, expr: cst.BaseExpression, depth: int = 0) -> _Evidence | None:
        if depth > 8:
            return None
        resolver = self.context.resolver
        if isinstance(expr, cst.Name):
            return self._lookup(expr.value)
        if isinstance(expr, cst.Subscript):
            column = label(resolver, index_value(expr))
            if column is not None and column in self.zero_columns:
                return _Evidence(
                    f"column '{column}' is set to 0 earlier in this file",
                    "use np.log1p, or mask the zeros",
                    self.zero_columns[column],
                )
            return self._evidence(expr.value, depth + 1)
        if isinstance(expr, cst.Attribute) and expr.attr.value == "T":
            return self._evidence(expr.value, depth + 1)
        if isinstance(expr, cst.BinaryOperation):
            operator = expr.operator
            if isinstance(operator, cst.Subtract) and _one(expr.left):
                return self._evidence(expr.right, depth + 1)
            if isinstance(operator, (cst.Multiply, cst.Divide)):
                return self._evidence(expr.left, depth + 1) or self._evidence(expr.right, depth + 1)
            return None
        if not isinstance(expr, cst.Call):
            return None
        func = expr.func
        if isinstance(func, cst.Attribute):
            method = func.attr.value
            if method in _PROBABILITY_METHODS:
                return self._probabilities(method, expr)
            if method in _KEEPS_VALUES:
                return self._evidence(func.value, depth + 1)
        last = func.attr.value if isinstance(func, cst.Attribute) else None
        if isinstance(func, cst.Name):
            last = func.value
        if last not in _EVIDENCE_NAMES:
            return None
        name = resolver.call_name(expr)
        if name in _PROBABILITIES:
            return self._probabilities(name.rpartition(".")[2], expr)
        if name in _KEEPS_VALUES_FUNCTIONS:
            first = positional(expr, 0)
            return self._evidence(first, depth + 1) if first is not None else None
        return None

    @staticmethod
    def _probabilities(function: str, call: cst.Call) -> _Evidence:
        if function in ("sigmoid", "expit"):
            return _Evidence(
                "a sigmoid underflows to exactly 0 (or 1) in floating point",
                "use logsigmoid / a from_logits loss, or clamp it first",
                call,
            )
        return _Evidence(
            "a softmax underflows to exactly 0 in floating point",
            "use log_softmax, or clamp it first",
            call,
        )
