"""MLD111 glue-code: functions that only move data between representations or into one ML
library call (Sculley et al. 2015, section 4 'Glue Code')."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import libcst as cst

from mldebt.findings import Severity
from mldebt.rule import BAD, GOOD, FileRule

#: Methods that turn a value into another representation of the same data.
CONVERSION_METHODS = {
    "to_numpy": "ndarray",
    "values": "ndarray",
    "tolist": "list",
    "to_list": "list",
    "to_dict": "dict",
    "to_records": "records",
    "to_frame": "DataFrame",
    "to_pandas": "DataFrame",
    "to_arrow": "Arrow table",
    "to_json": "JSON",
    "numpy": "ndarray",
    "item": "scalar",
    "to_tensor": "tensor",
    "from_numpy": "tensor",
}
#: Methods that reshape, retype or move a value without computing anything new.
PLUMBING_METHODS = frozenset(
    {
        "cpu",
        "cuda",
        "detach",
        "astype",
        "reshape",
        "view",
        "float",
        "double",
        "long",
        "int",
        "half",
        "bool",
        "squeeze",
        "unsqueeze",
        "flatten",
        "ravel",
        "transpose",
        "permute",
        "contiguous",
        "to",
        "reset_index",
        "set_index",
        "copy",
        "clone",
        "infer_objects",
        "convert_dtypes",
        "expand_dims",
        "T",
        "data",
        "mT",
    }
)
#: Functions that build one representation from another (qualified names).
CONVERSION_FUNCTIONS = {
    "numpy.array": "ndarray",
    "numpy.asarray": "ndarray",
    "numpy.asanyarray": "ndarray",
    "numpy.ascontiguousarray": "ndarray",
    "numpy.expand_dims": "ndarray",
    "numpy.squeeze": "ndarray",
    "pandas.DataFrame": "DataFrame",
    "pandas.Series": "Series",
    "pandas.DataFrame.from_dict": "DataFrame",
    "pandas.DataFrame.from_records": "DataFrame",
    "torch.tensor": "tensor",
    "torch.Tensor": "tensor",
    "torch.from_numpy": "tensor",
    "torch.as_tensor": "tensor",
    "torch.utils.data.TensorDataset": "TensorDataset",
    "tensorflow.convert_to_tensor": "tensor",
    "tensorflow.constant": "tensor",
    "tensorflow.cast": "tensor",
    "tensorflow.reshape": "tensor",
    "tensorflow.squeeze": "tensor",
    "tensorflow.expand_dims": "tensor",
    "tensorflow.data.Dataset.from_tensor_slices": "tf.data Dataset",
    "json.loads": "JSON",
    "json.dumps": "JSON",
    "scipy.sparse.csr_matrix": "sparse matrix",
    "scipy.sparse.csc_matrix": "sparse matrix",
    "xgboost.DMatrix": "DMatrix",
    "lightgbm.Dataset": "lightgbm Dataset",
    "catboost.Pool": "catboost Pool",
    "datasets.Dataset.from_pandas": "datasets Dataset",
    "datasets.Dataset.from_dict": "datasets Dataset",
    "list": "list",
    "tuple": "tuple",
    "dict": "dict",
    "float": "float",
    "int": "int",
}
#: Plain Python conversions: they count, but alone they do not make glue.
WEAK = frozenset({"list", "tuple", "dict", "float", "int", "scalar", "records"})
ML_LIBRARIES = frozenset(
    {
        "sklearn",
        "torch",
        "tensorflow",
        "keras",
        "xgboost",
        "lightgbm",
        "catboost",
        "transformers",
        "statsmodels",
        "prophet",
        "sentence_transformers",
        "jax",
        "flax",
        "optax",
    }
)
ML_METHODS = frozenset(
    {
        "fit",
        "partial_fit",
        "predict",
        "predict_proba",
        "predict_log_proba",
        "decision_function",
        "transform",
        "fit_transform",
        "inverse_transform",
        "fit_predict",
        "score",
        "evaluate",
        "train",
        "generate",
        "encode",
        "embed_documents",
        "embed_query",
    }
)
_NEUTRAL_CALLS = frozenset({"print", "logging", "logger", "log", "warnings", "tqdm"})

DATA, CONV, OTHER = "data", "conversion", "other"


@dataclass
class _Frame:
    """Counts for one function (or the module's own statements)."""

    node: cst.CSTNode | None
    name: str
    counting: bool = True
    statements: int = 0
    conversions: int = 0
    moves: int = 0  # plain returns / renames of data
    forwards: int = 0
    targets: list[str] = field(default_factory=list)
    strong: bool = False

    @property
    def glue(self) -> int:
        return self.conversions + self.moves + self.forwards


@dataclass
class _Verdict:
    kind: str
    targets: tuple[str, ...] = ()
    strong: bool = False


def _merge(a: _Verdict, b: _Verdict) -> _Verdict:
    if OTHER in (a.kind, b.kind):
        return _Verdict(OTHER)
    kind = CONV if CONV in (a.kind, b.kind) else DATA
    return _Verdict(kind, a.targets + b.targets, a.strong or b.strong)


class GlueCode(FileRule):
    code = "MLD111"
    name = "glue-code"
    category = "glue-code"
    severity = Severity.INFO
    debt_minutes = 15.0
    tags = ("glue-code",)
    summary = "A function that only shuttles data between representations around an ML call."
    what = (
        "Functions whose statements mostly convert the same data from one representation to "
        "another — DataFrame to ndarray to tensor and back (`.to_numpy()`, `.values`, "
        "`np.array(df)`, `torch.from_numpy`, `.cpu().numpy()`, `.tolist()`, "
        "`pd.DataFrame(arr)`, `json.dumps`/`loads`, `xgb.DMatrix`) — or forward them to a "
        "single ML library call: at least `min-statements` statements, at least two "
        "conversions (one between data representations, not just `list()`), and at least "
        "`min-ratio` of the statements glue. Each finding gives the module's glue ratio (glue "
        "statements over all statements of its code). A module of thin wrappers "
        "(`min-functions` or more functions that only convert or forward, and a module ratio "
        "of at least `min-module-ratio`) has every such wrapper reported. A single "
        "conversion inside real logic is not glue."
    )
    why = (
        "Sculley et al., 'Hidden Technical Debt in Machine Learning Systems' (NIPS 2015), "
        "section 4, 'Glue Code': systems built around general-purpose ML packages grow "
        "masses of code that only moves data in and out of them; it freezes the system to "
        "one package's peculiarities, costs copies of the data, and hides the real "
        "transformations among the plumbing. Wrap the package once behind a common API, or "
        "keep the data in one representation end to end."
    )
    limits = (
        "Conversions are recognised by name (methods such as `.to_numpy()`, functions such "
        "as `np.array`), so a project's own converters count only through what they call. "
        "Serialisation methods (`to_dict`, `__repr__`, `get_config`) and tests are left "
        "alone."
    )
    options = {"min-statements": 3, "min-ratio": 0.75, "min-functions": 3, "min-module-ratio": 0.6}
    option_docs = {
        "min-statements": "Statements a function needs before it can be called glue.",
        "min-ratio": "Share of a function's statements that must be conversions or forwards.",
        "min-functions": "Thin wrappers a module needs to be reported as a glue module.",
        "min-module-ratio": "Share of a module's statements that must be glue for that.",
    }
    examples = (
        BAD(
            """
            import numpy as np
            import pandas as pd
            import torch

            FEATURES = ["tenure", "charges"]

            def frame_to_batch(df: pd.DataFrame) -> torch.Tensor:
                values = df[FEATURES].to_numpy()
                values = values.astype(np.float32)
                tensor = torch.from_numpy(values)
                return tensor.unsqueeze(0)

            def batch_to_frame(batch: torch.Tensor, index) -> pd.DataFrame:
                array = batch.detach().cpu().numpy()
                rows = array.tolist()
                return pd.DataFrame(rows, index=index, columns=["score"])
            """,
            expect=2,
        ),
        BAD(
            """
            import json

            import numpy as np
            import pandas as pd
            from sklearn.preprocessing import StandardScaler

            def scale(X):
                return StandardScaler().fit_transform(np.asarray(X))

            def predict(model, df):
                return model.predict(df.to_numpy())

            def predict_frame(model, df):
                return pd.DataFrame(model.predict_proba(df.values), index=df.index)

            def preds_to_json(preds):
                return json.dumps(np.asarray(preds).tolist())
            """,
            expect=4,
        ),
        GOOD(
            """
            import numpy as np
            import torch

            def macro_f1(preds: torch.Tensor, targets: torch.Tensor, n: int) -> float:
                cm = torch.zeros(n, n)
                for p, t in zip(preds.tolist(), targets.tolist()):
                    cm[t, p] += 1
                tp = cm.diag()
                precision = tp / cm.sum(0).clamp(min=1)
                recall = tp / cm.sum(1).clamp(min=1)
                return (2 * precision * recall / (precision + recall).clamp(min=1e-8)).mean().item()

            def predict(model, frame):
                scores = model.predict_proba(frame.to_numpy())[:, 1]
                ranked = np.argsort(-scores)
                top = ranked[: max(1, len(ranked) // 10)]
                return frame.iloc[top].assign(score=scores[top])
            """
        ),
        GOOD(
            """
            import tensorflow as tf

            class Standardize(tf.keras.layers.Layer):
                def get_config(self):
                    config = super().get_config()
                    config.update({"mean": self.mean.numpy().tolist(), "n": self.n})
                    return config
            """
        ),
        BAD(
            """
            # %%
            import numpy as np
            import pandas as pd
            import torch as T

            # %%
            def records_to_tensor(records):
                frame = pd.DataFrame(records)
                array = frame.to_numpy(dtype=np.float32)
                return T.from_numpy(array).unsqueeze(1)

            # %%
            batch = records_to_tensor([{"a": 1.0, "b": 2.0}])
            """,
            path="explore.ipynb",
            expect=1,
        ),
        GOOD(
            """
            import numpy as np
            from sklearn.metrics import roc_auc_score

            def bootstrap_auc(y_true, scores, rounds=1000, seed=0):
                rng = np.random.default_rng(seed)
                y = y_true.to_numpy()
                aucs = []
                for _ in range(rounds):
                    idx = rng.integers(0, len(y), len(y))
                    if y[idx].min() == y[idx].max():
                        continue
                    aucs.append(roc_auc_score(y[idx], scores[idx]))
                low, high = np.percentile(aucs, [2.5, 97.5])
                return float(np.mean(aucs)), (low, high)
            """
        ),
    )

    def __init__(self, context: Any, options: Any) -> None:
        super().__init__(context, options)
        self.frames: list[_Frame] = [_Frame(None, "<module>")]
        self.module_statements = 0
        self.module_glue = 0
        self.glue: list[tuple[_Frame, str]] = []  # (frame, "glue" | "forwarder")
        self.functions = 0
        self.skip = self.context.path.rsplit("/", 1)[-1].startswith("test_") or "/tests/" in (
            "/" + self.context.path
        )

    # --- frames ------------------------------------------------------------------------------

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        name = node.name.value
        counting = not (
            name.startswith("test_")
            or (name.startswith("__") and name.endswith("__"))
            or name in ("to_dict", "to_json", "get_config", "from_config", "as_dict")
        )
        self.frames.append(_Frame(node, name, counting))

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        frame = self.frames.pop()
        if not frame.counting:
            return
        self.functions += 1
        self.module_statements += frame.statements
        self.module_glue += frame.glue
        verdict = self._verdict(frame)
        if verdict is not None:
            self.glue.append((frame, verdict))

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.frames.append(_Frame(node, node.name.value, counting=False))

    def leave_ClassDef(self, node: cst.ClassDef) -> None:
        self.frames.pop()

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return True

    # --- statements ----------------------------------------------------------------------------

    def _frame(self) -> _Frame:
        return self.frames[-1]

    def _logic(self) -> None:
        frame = self._frame()
        if frame.counting:
            frame.statements += 1
            if frame.node is None:
                self.module_statements += 1

    def visit_If(self, node: cst.If) -> None:
        if not _main_guard(node):
            self._logic()

    def visit_For(self, node: cst.For) -> None:
        self._logic()

    def visit_While(self, node: cst.While) -> None:
        self._logic()

    def visit_Try(self, node: cst.Try) -> None:
        self._logic()

    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> None:
        frame = self._frame()
        if not frame.counting:
            return
        for statement in node.body:
            kind = self._statement(statement)
            if kind is None:
                continue
            verdict, forward = kind
            frame.statements += 1
            if frame.node is None:
                self.module_statements += 1
            if forward:
                frame.forwards += 1
            elif verdict.kind == CONV:
                frame.conversions += 1
            elif verdict.kind == DATA:
                frame.moves += 1
            else:
                continue
            if frame.node is None:
                self.module_glue += 1
            frame.targets.extend(verdict.targets)
            frame.strong = frame.strong or verdict.strong

    def _statement(self, statement: cst.BaseSmallStatement) -> tuple[_Verdict, bool] | None:
        """(verdict, forwards to an ML call) of a statement, None when it does not count."""
        if isinstance(
            statement,
            (cst.Import, cst.ImportFrom, cst.Pass, cst.Global, cst.Nonlocal, cst.Del),
        ):
            return None
        value: cst.BaseExpression | None
        if isinstance(statement, cst.AugAssign):
            return _Verdict(OTHER), False
        if isinstance(statement, cst.Assign):
            value = statement.value
        elif isinstance(statement, (cst.AnnAssign, cst.Return)):
            value = statement.value
            if value is None:
                return None
        elif isinstance(statement, cst.Expr):
            value = statement.value
            if isinstance(value, (cst.SimpleString, cst.ConcatenatedString, cst.Ellipsis)):
                return None  # docstrings
            if isinstance(value, cst.Call) and self._neutral(value):
                return None
        else:
            return _Verdict(OTHER), False
        if isinstance(value, (cst.Integer, cst.Float, cst.SimpleString, cst.ConcatenatedString)):
            return _Verdict(OTHER), False  # a setting, not data on the move
        forward = self._forward(value)
        if forward is not None:
            return forward, True
        return self._expression(value, 0), False

    def _neutral(self, call: cst.Call) -> bool:
        name = self.context.resolver.call_name(call) or ""
        head = name.partition(".")[0]
        func = call.func
        receiver = func.value if isinstance(func, cst.Attribute) else None
        return head in _NEUTRAL_CALLS or (
            isinstance(receiver, cst.Name) and receiver.value in _NEUTRAL_CALLS
        )

    def _expression(self, node: cst.BaseExpression, depth: int) -> _Verdict:
        if depth > 30:
            return _Verdict(OTHER)
        depth += 1
        if isinstance(
            node,
            (cst.Name, cst.Integer, cst.Float, cst.SimpleString, cst.ConcatenatedString),
        ):
            return _Verdict(DATA)
        if isinstance(node, cst.Attribute):
            attr = node.attr.value
            inner = self._expression(node.value, depth)
            if inner.kind == OTHER:
                return inner
            if attr in CONVERSION_METHODS:
                target = CONVERSION_METHODS[attr]
                return _merge(inner, _Verdict(CONV, (target,), target not in WEAK))
            if attr in PLUMBING_METHODS:
                return _merge(inner, _Verdict(CONV))
            return inner
        if isinstance(node, cst.Subscript):
            inner = self._expression(node.value, depth)
            for element in node.slice:
                part = element.slice
                if isinstance(part, cst.Index):
                    inner = _merge(inner, self._expression(part.value, depth))
            return inner
        if isinstance(node, (cst.List, cst.Tuple, cst.Set)):
            found = _Verdict(DATA)
            for item in node.elements:
                found = _merge(found, self._expression(item.value, depth))
            return found
        if isinstance(node, cst.Dict):
            found = _Verdict(DATA)
            for entry in node.elements:
                found = _merge(found, self._expression(entry.value, depth))
            return found
        if isinstance(node, (cst.ListComp, cst.GeneratorExp, cst.SetComp)):
            found = self._expression(node.elt, depth)
            return found if found.kind == CONV else _Verdict(OTHER)
        if isinstance(node, cst.Call):
            return self._call(node, depth)
        return _Verdict(OTHER)

    def _arguments(self, call: cst.Call, depth: int) -> _Verdict:
        found = _Verdict(DATA)
        for argument in call.args:
            if argument.keyword is not None and isinstance(
                argument.value,
                (cst.Name, cst.Attribute, cst.SimpleString, cst.Integer, cst.Float),
            ):
                continue  # dtype=np.float32, index=df.index, columns=["a"]
            found = _merge(found, self._expression(argument.value, depth))
        return found

    def _call(self, call: cst.Call, depth: int) -> _Verdict:
        func = call.func
        name = self.context.resolver.call_name(call)
        if name is not None and name in CONVERSION_FUNCTIONS:
            if _literal_arguments(call):
                return _Verdict(OTHER)  # np.array([[1, 2]]): data made here, not converted
            target = CONVERSION_FUNCTIONS[name]
            return _merge(
                self._arguments(call, depth), _Verdict(CONV, (target,), target not in WEAK)
            )
        if isinstance(func, cst.Attribute):
            method = func.attr.value
            if method in CONVERSION_METHODS or method in PLUMBING_METHODS:
                receiver = self._expression(func.value, depth)
                if receiver.kind == OTHER:
                    return receiver
                converted = CONVERSION_METHODS.get(method)
                own = _Verdict(
                    CONV,
                    (converted,) if converted else (),
                    converted is not None and converted not in WEAK,
                )
                return _merge(_merge(receiver, own), self._arguments(call, depth))
        return _Verdict(OTHER)

    def _forward(self, value: cst.BaseExpression) -> _Verdict | None:
        """A call of an ML library (or an ML method on a value) on data, possibly with
        conversions around it: ``return model.predict(df.to_numpy()).tolist()``."""
        node = value
        outer = _Verdict(DATA)
        for _ in range(12):
            if isinstance(node, cst.Subscript):  # predict_proba(X)[:, 1]
                node = node.value
            elif not isinstance(node, cst.Call):
                break
            elif isinstance(node.func, cst.Attribute) and (
                node.func.attr.value in CONVERSION_METHODS
                or node.func.attr.value in PLUMBING_METHODS
            ):
                outer = _merge(outer, _Verdict(CONV))
                node = node.func.value
            elif self.context.resolver.call_name(node) in CONVERSION_FUNCTIONS and node.args:
                outer = _merge(outer, _Verdict(CONV))  # pd.DataFrame(model.predict(X), ...)
                node = node.args[0].value
            else:
                break
        if not isinstance(node, cst.Call):
            return None
        name = self.context.resolver.call_name(node)
        func = node.func
        library = name is not None and name.partition(".")[0] in ML_LIBRARIES
        last = func.attr.value if isinstance(func, cst.Attribute) else name or ""
        if last.rpartition(".")[2] not in ML_METHODS:
            return None  # validation, allocation, a library's other helpers: not the ML call
        if isinstance(func, cst.Attribute) and not library:
            receiver = func.value
            if isinstance(receiver, cst.Call):  # Model(...).fit(X, y)
                inner = self.context.resolver.call_name(receiver) or ""
                if inner.partition(".")[0] not in ML_LIBRARIES:
                    return None
            elif not isinstance(receiver, (cst.Name, cst.Attribute)):
                return None
        arguments = self._arguments(node, 0)
        if arguments.kind == OTHER:
            return None
        return _Verdict(
            CONV if CONV in (arguments.kind, outer.kind) else DATA,
            arguments.targets,
            arguments.strong,
        )

    # --- verdicts ------------------------------------------------------------------------------

    def _verdict(self, frame: _Frame) -> str | None:
        if frame.statements == 0:
            return None
        glue = frame.conversions + frame.moves + min(frame.forwards, 1)
        if (
            frame.statements >= int(self.opts.get("min-statements", 3))
            and frame.conversions >= 2
            and frame.strong
            and glue >= float(self.opts.get("min-ratio", 0.75)) * frame.statements
        ):
            return "glue"
        if frame.glue == frame.statements and frame.statements <= 3:
            if frame.forwards == 1:
                return "forwarder"
            if frame.conversions and frame.strong:
                return "converter"
        return None

    def leave_Module(self, node: cst.Module) -> None:
        if self.skip:
            return
        total = max(self.module_statements, 1)
        ratio = self.module_glue / total
        share = f"{ratio:.2f} ({self.module_glue} of {self.module_statements} statements)"
        wrappers = [f for f, _ in self.glue]
        glue_module = (
            len(wrappers) >= int(self.opts.get("min-functions", 3))
            and ratio >= float(self.opts.get("min-module-ratio", 0.6))
            and len(wrappers) * 2 > self.functions
        )
        for frame, verdict in self.glue:
            if not isinstance(frame.node, cst.FunctionDef):
                continue
            if verdict != "glue" and not glue_module:
                continue
            targets = [t for t in dict.fromkeys(frame.targets) if t]
            into = f" (into {', '.join(targets[:4])})" if targets else ""
            what = {
                "glue": f"only shuttles data between representations{into}: {frame.glue} of "
                f"its {frame.statements} statements convert, copy or forward data to an ML "
                "call",
                "forwarder": "only forwards its data to one ML library call",
                "converter": f"only converts its data{into}",
            }[verdict]
            where = (
                f"in a module of glue code ({len(wrappers)} of its {self.functions} functions "
                f"only convert or forward data), glue ratio {share}"
                if glue_module
                else f"module glue ratio {share}"
            )
            self.report(frame.node.name, f"`{frame.name}` {what}; {where}")


def _literal_arguments(call: cst.Call) -> bool:
    """Every positional argument a literal display (numbers, strings, lists of those) or a
    module constant named in capitals: data made here, not data converted."""
    positional = [a.value for a in call.args if a.keyword is None]
    return bool(positional) and all(_literal(v) for v in positional)


def _literal(node: cst.BaseExpression) -> bool:
    if isinstance(node, (cst.Integer, cst.Float, cst.SimpleString, cst.ConcatenatedString)):
        return True
    if isinstance(node, cst.UnaryOperation):
        return _literal(node.expression)
    if isinstance(node, (cst.List, cst.Tuple, cst.Set)):
        return all(_literal(e.value) for e in node.elements)
    if isinstance(node, cst.Name):  # and module constants: DUMMY_INPUTS, DEFAULT_MASK
        return node.value in ("True", "False", "None") or (
            len(node.value) > 2 and node.value.isupper()
        )
    return False


def _main_guard(node: cst.If) -> bool:
    test = node.test
    return (
        isinstance(test, cst.Comparison)
        and isinstance(test.left, cst.Name)
        and test.left.value == "__name__"
    )
