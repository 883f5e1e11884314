"""MLD509: ``np.dot`` used for a matrix product of 2-D arrays (``@`` / ``np.matmul``)."""

from __future__ import annotations

from typing import Any

import libcst as cst

from mldebt.findings import Severity
from mldebt.resolve import kinds as k
from mldebt.resolve.kinds import argument, keyword, positional
from mldebt.rule import BAD, GOOD, FileRule
from mldebt_rules._arrays import TextGate, source

# numpy functions whose result has at least two dimensions whatever their input.
_MATRIX_MAKERS = frozenset(
    {
        "numpy.eye",
        "numpy.identity",
        "numpy.outer",
        "numpy.column_stack",
        "numpy.vstack",
        "numpy.row_stack",
        "numpy.atleast_2d",
        "numpy.tri",
        "numpy.vander",
        "numpy.random.multivariate_normal",
    }
)
# numpy functions whose first argument gives the shape.
_SHAPED = frozenset(
    {
        "numpy.zeros",
        "numpy.ones",
        "numpy.empty",
        "numpy.full",
    }
)
# numpy.random functions (also Generator methods) with a ``size=`` shape.
_SIZED = frozenset(
    {
        "random",
        "uniform",
        "normal",
        "standard_normal",
        "integers",
        "randint",
        "binomial",
        "poisson",
        "exponential",
        "gamma",
        "beta",
        "choice",
        "laplace",
        "lognormal",
    }
)
# numpy functions that keep the number of dimensions of their first argument.
_SAME_NDIM = frozenset(
    {
        "numpy.array",
        "numpy.asarray",
        "numpy.ascontiguousarray",
        "numpy.asfortranarray",
        "numpy.copy",
        "numpy.abs",
        "numpy.exp",
        "numpy.log",
        "numpy.sqrt",
        "numpy.square",
        "numpy.tanh",
        "numpy.clip",
        "numpy.where",
        "numpy.nan_to_num",
        "numpy.transpose",
        "numpy.linalg.inv",
        "numpy.linalg.pinv",
        "numpy.maximum",
        "numpy.minimum",
    }
)
# Methods of arrays that keep the number of dimensions.
_SAME_NDIM_METHODS = frozenset(
    {"astype", "copy", "clip", "round", "transpose", "conj", "__abs__", "cumsum", "cumprod"}
)
# Fitted estimator attributes that are always matrices.
_MATRIX_ATTRIBUTES = frozenset(
    {"components_", "cluster_centers_", "means_", "covariance_", "precision_", "embedding_"}
)
# Estimator methods that return a 2-D array (n_samples, n_features or n_classes).
_MATRIX_METHODS = frozenset({"transform", "fit_transform", "predict_proba", "predict_log_proba"})
_REDUCTIONS = frozenset(
    {
        "sum",
        "mean",
        "std",
        "var",
        "min",
        "max",
        "median",
        "prod",
        "norm",
        "amax",
        "amin",
        "nansum",
        "nanmean",
    }
)


def _literal_int(node: cst.BaseExpression | None) -> int | None:
    if isinstance(node, cst.Integer):
        return int(node.value, 0)
    if (
        isinstance(node, cst.UnaryOperation)
        and isinstance(node.operator, cst.Minus)
        and isinstance(node.expression, cst.Integer)
    ):
        return -int(node.expression.value, 0)
    return None


def _shape_length(shape: cst.BaseExpression | None) -> int | None:
    """Number of dimensions a shape argument gives: ``(3, 4)`` -> 2, ``n`` -> None."""
    if isinstance(shape, (cst.Tuple, cst.List)):
        if any(isinstance(e, cst.StarredElement) for e in shape.elements):
            return None
        return len(shape.elements)
    if isinstance(shape, cst.Integer):
        return 1
    return None


def _operand(module: cst.Module, node: cst.BaseExpression) -> str:
    """An operand of ``@`` as code, parenthesised when it is itself an operation."""
    text = source(module, node)
    if isinstance(node, (cst.BinaryOperation, cst.UnaryOperation, cst.IfExp, cst.Lambda)):
        return f"({text})"
    return text


def _nesting(node: cst.BaseExpression) -> int:
    """Depth of a nested list/tuple display: ``[[1, 2], [3, 4]]`` -> 2."""
    depth = 0
    while isinstance(node, (cst.List, cst.Tuple)) and node.elements:
        depth += 1
        node = node.elements[0].value
    return depth


class DotForMatmul(TextGate, FileRule):
    code = "MLD509"
    name = "dot-for-matmul"
    category = "ml-api-misuse"
    severity = Severity.INFO
    debt_minutes = 2.0
    tags = ("numpy",)
    gates = (("dot",),)
    summary = "`np.dot(A, B)` on 2-D arrays: a matrix product reads better as `A @ B`."
    what = (
        "`np.dot(a, b)` and `a.dot(b)` where both operands are known to have at least two "
        "dimensions: built with a 2-D shape (`np.zeros((n, m))`, `rng.normal(size=(n, m))`, "
        "`np.eye`, `np.column_stack`, a nested list literal, also passed to `np.dot` as is), "
        "read from a DataFrame "
        "(`df.to_numpy()`), returned by a fitted transformer or `predict_proba`, taken from "
        "a fitted estimator's matrix attributes (`components_`, `cluster_centers_`), "
        "reshaped to two axes, expanded with `None` or a `keepdims=True` reduction, or "
        "computed from such arrays. Operands of unknown shape are left alone, so dot products "
        "of vectors are never reported."
    )
    why = (
        "Zhang et al. (CAIN 2022), *Matrix Multiplication API Misused*: `np.dot` means a dot "
        "product for vectors, a matrix product for matrices, and a sum over the last axis of "
        "`a` and the second-to-last of `b` for higher dimensions, which is not what "
        "`np.matmul` does with stacks of matrices. For 2-D operands `A @ B` (`np.matmul`) "
        "says what is meant, errors on scalars instead of broadcasting them, and carries over "
        "to batched arrays and to PyTorch and TensorFlow code unchanged."
    )
    limits = (
        "Shapes are tracked only for the cases listed, within one function (or notebook), "
        "following assignments in source order; arrays passed in as parameters have unknown "
        "shape, so most matrix products written with `np.dot` in library code are not found."
    )
    examples = (
        BAD(
            """
            import numpy as np

            P = np.column_stack([oof_lgb, oof_xgb])
            P_centered = P - P.mean(axis=0)
            cov = np.dot(P_centered.T, P_centered) / (len(P) - 1)
            """,
            expect=1,
        ),
        BAD(
            """
            import numpy as np
            import pandas as pd
            from sklearn.decomposition import PCA

            def project(frame: pd.DataFrame, n: int):
                X = frame.to_numpy()
                pca = PCA(n_components=n).fit(X)
                centered = X - X.mean(axis=0)
                return centered.dot(pca.components_.T)

            def cosine(a, b):
                a_norm = a / np.linalg.norm(a, axis=1, keepdims=True)
                b_norm = b / np.linalg.norm(b, axis=1, keepdims=True)
                return np.dot(a_norm, b_norm.T)
            """,
            expect=2,
        ),
        BAD(
            """
            # %%
            import numpy as onp
            a = [[1, 0], [0, 1]]
            b = [[4, 1], [2, 2]]
            c = onp.dot(a, b)
            rng = onp.random.default_rng(0)
            W = rng.normal(size=(64, 10))
            # %%
            H = onp.dot(onp.eye(64), W)
            """,
            path="weights.ipynb",
            expect=2,
        ),
        GOOD(
            """
            import numpy as np

            w = np.asarray(weights, dtype=float)
            score = np.dot(w / w.sum(), np.asarray(scores, dtype=float))
            best_w = np.array([0.5, 0.5])
            expected = np.dot(best_w, single)
            """
        ),
        GOOD(
            """
            import numpy as np

            A = np.zeros((4, 4))
            B = np.ones((4, 4))
            C = A @ B
            D = np.matmul(A, B)
            v = np.dot(A[0], B[:, 1])
            """
        ),
        GOOD(
            """
            import numpy as np

            def step(theta, grad):
                return theta - 0.1 * np.dot(grad, theta)

            M = np.zeros((3, 3))
            row_norms = np.dot(M.sum(axis=1), np.ones(3))
            """
        ),
    )

    def __init__(self, context: Any, options: Any) -> None:
        super().__init__(context, options)
        # The minimum number of dimensions of names, per function (module level first);
        # 0 for a local name of unknown shape (it hides a module-level one).
        self.scopes: list[dict[str, int]] = [{}]
        self.pending: list[tuple[list[str], int | None]] = []

    # --- scopes and assignments ------------------------------------------------------------

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        params = node.params
        everything = [*params.posonly_params, *params.params, *params.kwonly_params]
        for extra in (params.star_arg, params.star_kwarg):
            if isinstance(extra, cst.Param):
                everything.append(extra)
        self.scopes.append({param.name.value: 0 for param in everything})

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.scopes.pop()

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.scopes.append({})

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self.scopes.pop()

    def visit_Assign(self, node: cst.Assign) -> None:
        names = [t.target.value for t in node.targets if isinstance(t.target, cst.Name)]
        unpacked = [
            e.value.value
            for t in node.targets
            if isinstance(t.target, (cst.Tuple, cst.List))
            for e in t.target.elements
            if isinstance(e.value, cst.Name)
        ]
        self.pending.append((names, self.ndim(node.value) if names else None))
        if unpacked:
            self.pending.append((unpacked, None))

    def leave_Assign(self, original_node: cst.Assign) -> None:
        scope = self.scopes[-1]
        while self.pending:
            names, ndim = self.pending.pop()
            for name in names:
                scope[name] = ndim if ndim is not None and ndim >= 1 else 0

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        if isinstance(node.target, cst.Name):
            other = self.ndim(node.value)
            current = self._lookup(node.target.value)
            if current is not None and other is not None:
                self.scopes[-1][node.target.value] = max(current, other)

    def visit_For(self, node: cst.For) -> None:
        self._forget(node.target)

    def _forget(self, target: cst.BaseExpression) -> None:
        if isinstance(target, cst.Name):
            self.scopes[-1][target.value] = 0
        elif isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self._forget(element.value)

    def _lookup(self, name: str) -> int | None:
        found = self.scopes[-1].get(name)
        if found is None and len(self.scopes) > 1:
            found = self.scopes[0].get(name)
        return found or None

    # --- the finding ----------------------------------------------------------------------

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value != "dot":
            return
        if not isinstance(func, (cst.Attribute, cst.Name)):
            return
        resolver = self.context.resolver
        name = resolver.call_name(node)
        if name == "numpy.dot":
            left, right = argument(node, 0, "a"), argument(node, 1, "b")
            spelled = "np.dot"
        elif (
            isinstance(func, cst.Attribute)
            and name in (None, "numpy.ndarray.dot")
            and resolver.kind_of(func.value) in (k.NDARRAY, None)
        ):
            left, right = func.value, positional(node, 0)
            spelled = "ndarray.dot"
        else:
            return
        if left is None or right is None or keyword(node, "out") is not None:
            return
        left_ndim, right_ndim = self.ndim(left), self.ndim(right)
        if left_ndim is None or right_ndim is None or min(left_ndim, right_ndim) < 2:
            return
        module = self.context.module
        product = f"{_operand(module, left)} @ {_operand(module, right)}"
        self.report(
            node,
            f"`{spelled}` of two matrices (`{source(module, left)}`, `{source(module, right)}`)"
            f": write the matrix product as `{product}` (np.matmul)",
        )

    # --- shapes -----------------------------------------------------------------------------

    def ndim(self, expr: cst.BaseExpression) -> int | None:
        """A lower bound on the number of dimensions of ``expr``'s value, when known."""
        if isinstance(expr, cst.Name):
            return self._lookup(expr.value)
        if isinstance(expr, cst.Attribute):
            name = expr.attr.value
            if name in ("T", "mT", "real", "imag"):
                return self.ndim(expr.value)
            if name == "values" and self.context.resolver.kind_of(expr.value) == k.DATAFRAME:
                return 2
            if name in _MATRIX_ATTRIBUTES and self.context.resolver.kind_of(expr.value) in (
                k.ESTIMATOR,
                k.TRANSFORMER,
            ):
                return 2
            return None
        if isinstance(expr, cst.BinaryOperation):
            if isinstance(expr.operator, cst.MatrixMultiply):
                left, right = self.ndim(expr.left), self.ndim(expr.right)
                return (
                    2 if left is not None and right is not None and min(left, right) >= 2 else None
                )
            left, right = self.ndim(expr.left), self.ndim(expr.right)
            known = [n for n in (left, right) if n is not None]
            return max(known) if known else None
        if isinstance(expr, cst.UnaryOperation):
            return self.ndim(expr.expression)
        if isinstance(expr, cst.Subscript):
            return self._subscript_ndim(expr)
        if isinstance(expr, cst.Call):
            return self._call_ndim(expr)
        if isinstance(expr, (cst.List, cst.Tuple)):
            depth = _nesting(expr)  # np.dot converts nested lists: [[1, 0], [0, 1]] is 2-D
            return depth if depth else None
        return None

    def _subscript_ndim(self, expr: cst.Subscript) -> int | None:
        added = sum(1 for element in expr.slice if self._new_axis(element.slice))
        slices = sum(1 for element in expr.slice if isinstance(element.slice, cst.Slice))
        others = len(expr.slice) - added - slices
        if added == 0:
            # x[a:b] keeps the dimensions; an integer index drops one.
            if others == 0:
                return self.ndim(expr.value)
            return None
        base = self.ndim(expr.value)
        if others == 0 and base is not None:
            return max(base + added, slices + added)
        return slices + added if others == 0 else None

    def _new_axis(self, part: cst.BaseSlice) -> bool:
        if not isinstance(part, cst.Index):
            return False
        value = part.value
        if isinstance(value, cst.Name) and value.value == "None":
            return True
        return self.context.resolver.qualname(value) == "numpy.newaxis"

    def _call_ndim(self, call: cst.Call) -> int | None:
        resolver = self.context.resolver
        func = call.func
        name = resolver.call_name(call)
        if name is not None and name.startswith("numpy."):
            return self._numpy_ndim(name, call)
        if not isinstance(func, cst.Attribute):
            return None
        method = func.attr.value
        receiver = resolver.value_of(func.value)
        kind = receiver.kind if receiver is not None else None
        if method == "to_numpy" and kind == k.DATAFRAME:
            return 2
        if method in _MATRIX_METHODS and kind in (k.ESTIMATOR, k.TRANSFORMER):
            return 2
        if kind == k.RNG and method in _SIZED:
            return _shape_length(keyword(call, "size"))
        if method == "reshape":
            shape = [a.value for a in call.args if a.keyword is None]
            if len(shape) == 1:
                return _shape_length(shape[0])
            return len(shape) if shape and not any(a.star for a in call.args) else None
        if method in _SAME_NDIM_METHODS:
            return self.ndim(func.value)
        if method in _REDUCTIONS:
            return self._reduced(self.ndim(func.value), call, 0)
        return None

    def _numpy_ndim(self, name: str, call: cst.Call) -> int | None:
        if name in _MATRIX_MAKERS:
            return 2
        first = positional(call, 0)
        if name in _SHAPED:
            return _shape_length(argument(call, 0, "shape"))
        if name in ("numpy.random.rand", "numpy.random.randn"):
            count = len([a for a in call.args if a.keyword is None])
            return count if count and not any(a.star for a in call.args) else None
        if name.startswith("numpy.random.") and name.rpartition(".")[2] in _SIZED:
            return _shape_length(keyword(call, "size"))
        if name == "numpy.reshape":
            return _shape_length(argument(call, 1, "newshape") or keyword(call, "shape"))
        if name == "numpy.expand_dims" and first is not None:
            base = self.ndim(first)
            return base + 1 if base is not None else 2
        if name in ("numpy.array", "numpy.asarray") and isinstance(first, (cst.List, cst.Tuple)):
            depth = _nesting(first)
            return depth if depth else None
        if name in ("numpy.dot", "numpy.matmul"):
            left, right = positional(call, 0), positional(call, 1)
            if left is None or right is None:
                return None
            ndims = (self.ndim(left), self.ndim(right))
            return 2 if None not in ndims and min(n for n in ndims if n) >= 2 else None
        if name in _SAME_NDIM and first is not None:
            return self.ndim(first)
        short = name.rpartition(".")[2]
        if short in _REDUCTIONS and first is not None:
            return self._reduced(self.ndim(first), call, 1)
        return None

    @staticmethod
    def _reduced(base: int | None, call: cst.Call, axis_position: int) -> int | None:
        """Dimensions left after a reduction: kept with ``keepdims=True``."""
        keepdims = keyword(call, "keepdims")
        axis = argument(call, axis_position, "axis")
        if isinstance(keepdims, cst.Name) and keepdims.value == "True":
            number = _literal_int(axis)
            bound = number + 1 if number is not None and number >= 0 else 1
            return max(base or 0, bound) or None
        if base is not None and base >= 3 and isinstance(axis, cst.Integer):
            return base - 1
        return None
