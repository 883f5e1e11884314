"""MLD519 data leakage (preprocessing fit on data that is later split, on train and test
joined, or on test data) and MLD522 evaluation on the training data."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import libcst as cst

from mldebt.findings import Severity
from mldebt.resolve.kinds import (
    ESTIMATOR,
    KERAS_MODEL,
    MODULE,
    SPLITTER,
    TRANSFORMER,
    Value,
    keyword,
)
from mldebt.rule import BAD, GOOD, FileRule
from mldebt_rules._dataflow import (
    EMPTY,
    Flow,
    Labels,
    mentions,
    root_names,
    split_role,
    sub_nodes,
)
from mldebt_rules._seeding import is_test_module

# A file must mention one of these to fit preprocessing (or to fit and score a model).
_LEAK_GATE = ("sklearn", "imblearn", "category_encoders", "fit_on_texts", ".adapt(")
_EVAL_GATE = ("sklearn", "keras", "xgboost", "lightgbm", "catboost", "TensorDataset")
# Transformers whose fit learns nothing from the rows (row-wise or fixed): no leak.
_STATELESS = frozenset(
    {
        "Normalizer",
        "Binarizer",
        "FunctionTransformer",
        "HashingVectorizer",
        "FeatureHasher",
        "PolynomialFeatures",
    }
)
# Preprocessing outside scikit-learn's kinds: constructor prefix -> methods that fit it.
_OTHER_TRANSFORMERS: tuple[tuple[str, frozenset[str]], ...] = (
    ("category_encoders.", frozenset({"fit", "fit_transform"})),
    ("imblearn.", frozenset({"fit_resample", "fit_sample"})),
    ("keras.preprocessing.text.Tokenizer", frozenset({"fit_on_texts", "fit_on_sequences"})),
    ("keras.layers.TextVectorization", frozenset({"adapt"})),
    ("keras.layers.Normalization", frozenset({"adapt"})),
    ("keras.layers.StringLookup", frozenset({"adapt"})),
    ("keras.layers.IntegerLookup", frozenset({"adapt"})),
    ("keras.layers.Discretization", frozenset({"adapt"})),
    ("keras.layers.experimental.preprocessing.", frozenset({"adapt"})),
)
# Encoders of class labels: fit on every row of the target before a split, they learn the
# class set and nothing else (still reported on joined train+test data and on test data).
_LABEL_ENCODERS = frozenset({"LabelEncoder", "LabelBinarizer", "MultiLabelBinarizer"})
_FIT_METHODS = frozenset({"fit", "fit_transform"})
# Fitting methods that return the processed data (resamplers return rows, too).
_OUTPUT_METHODS = frozenset({"fit_transform", "fit_resample", "fit_sample"})
_RESAMPLERS = frozenset({"fit_resample", "fit_sample"})
# Methods that apply a fitted preprocessing step to data.
_APPLY_METHODS = frozenset({"transform", "texts_to_sequences", "texts_to_matrix"})
_CONCATS = frozenset(
    {
        "pandas.concat",
        "numpy.concatenate",
        "numpy.vstack",
        "numpy.row_stack",
        "scipy.sparse.vstack",
        "torch.cat",
        "tensorflow.concat",
    }
)
_SPLIT_FUNCTIONS = {
    "sklearn.model_selection.train_test_split": 0,
    "sklearn.model_selection.cross_val_score": 1,
    "sklearn.model_selection.cross_validate": 1,
    "sklearn.model_selection.cross_val_predict": 1,
    "sklearn.model_selection.learning_curve": 1,
    "sklearn.model_selection.validation_curve": 1,
    "sklearn.model_selection.permutation_test_score": 1,
}


def _short(qualname: str | None) -> str:
    return (qualname or "the transformer").rpartition(".")[2]


# Words naming sizes, positions and paths rather than data (`n_train + n_test`).
_NOT_DATA_WORDS = frozenset(
    {
        "n",
        "num",
        "size",
        "len",
        "length",
        "count",
        "number",
        "idx",
        "index",
        "start",
        "end",
        "steps",
        "epochs",
        "batches",
        "ratio",
        "frac",
        "dir",
        "path",
        "file",
        "files",
        "name",
        "url",
        "time",
        "loss",
        "score",
        "acc",
    }
)


def _data_like(expr: cst.BaseExpression) -> bool:
    """An operand of ``+`` that can hold rows (not a count, a path or a score)."""
    if isinstance(expr, (cst.Integer, cst.Float, cst.SimpleString, cst.FormattedString)):
        return False
    roots = root_names(expr)
    if not roots:
        return False
    words = {w.lower() for w in re.split(r"[_\W]+|(?<=[a-z])(?=[A-Z])", roots[0]) if w}
    return not words & _NOT_DATA_WORDS


def _data_argument(call: cst.Call) -> cst.BaseExpression | None:
    for arg in call.args:
        if arg.keyword is None and not arg.star:
            return arg.value
    for name in ("X", "raw_documents", "texts", "data", "x"):
        found = keyword(call, name)
        if found is not None:
            return found
    return None


def _key(value: Value) -> int:
    """One key per object: the node that created it (an inline ``Est(...).fit(X)`` evaluates
    to a new Value each time it is asked about, with the same origin)."""
    return id(value.origin) if value.origin is not None else id(value)


def _pairs(
    target: cst.BaseExpression, value: cst.BaseExpression
) -> list[tuple[cst.BaseExpression, cst.BaseExpression]] | None:
    """``a, b = x[:n], x[n:]``: each target with its own value."""
    if not isinstance(target, (cst.Tuple, cst.List)) or not isinstance(
        value, (cst.Tuple, cst.List)
    ):
        return None
    if len(target.elements) != len(value.elements):
        return None
    if any(isinstance(e, cst.StarredElement) for e in (*target.elements, *value.elements)):
        return None
    return [(t.value, v.value) for t, v in zip(target.elements, value.elements, strict=True)]


# Labels a split replaces: its outputs are parts, no longer joined data.
_PARTS = frozenset({"combined", "part"})


def _row_selection(target: cst.BaseExpression, value: cst.BaseExpression) -> str | None:
    """The role of ``train = full[full.is_test == 0].copy()``-like assignments: rows picked
    from a value into a variable named as a train or test part."""
    if not isinstance(target, cst.Name):
        return None
    role = split_role(target.value)
    if role is None:
        return None
    base = value
    while isinstance(base, cst.Call) and isinstance(base.func, cst.Attribute):
        base = base.func.value  # .drop(...), .reset_index(drop=True), .copy()
    return role if isinstance(base, cst.Subscript) else None


def _split_back(target: cst.BaseExpression, value: cst.BaseExpression, labels: Labels) -> Labels:
    """After ``train = full[full.is_test == 0]`` the rows are one part again, not joined."""
    role = _row_selection(target, value)
    if role is None:
        return labels
    kept = frozenset(label for label in labels if label[0] not in _PARTS)
    return kept | {("part", role, id(value))}


@dataclass
class _Fit:
    node: cst.Call
    what: str  # "StandardScaler"
    data: str  # the data's source, "X"
    roots: frozenset[str]
    method: str = "fit"


@dataclass
class _Summary:
    """What a function of the file does with its parameters."""

    params: list[str]
    method: bool
    fits: dict[int, list[_Fit]] = field(default_factory=dict)


class DataLeakage(FileRule):
    code = "MLD519"
    name = "data-leakage"
    category = "ml-api-misuse"
    severity = Severity.ERROR
    debt_minutes = 15.0
    tags = ("scikit-learn", "pandas", "keras")
    summary = "Preprocessing fit on data the model is later evaluated on: scores look too good."
    what = (
        "A preprocessing step — scaler, encoder, imputer, feature selector, PCA/SVD, "
        "vectorizer, target encoder (`category_encoders`), Keras `Tokenizer.fit_on_texts` or "
        "a preprocessing layer's `adapt`, an imbalanced-learn resampler (`SMOTE()."
        "fit_resample`) — fit:\n\n"
        "- on rows that are split into train and test afterwards: its output (of "
        "`fit_transform`/`fit_resample`, or of `transform`/`texts_to_sequences` on the same "
        "data) reaches `train_test_split`, a "
        "splitter's `split`, `cross_val_score` and the other cross-validation helpers, a "
        "`*SearchCV.fit`, or is sliced into variables named as train and test parts;\n"
        "- on a concatenation of train and test (`pd.concat([train, test])`, `np.vstack`, "
        "`train.append(test)`, `list(train[c]) + list(test[c])`), also when the joined frame "
        "is passed to a function of the file that fits it;\n"
        "- on test data: a variable named as a test or validation part (`X_test`, `df_val`, "
        "`x_te`) or the test output of `train_test_split`.\n\n"
        "The finding is at the fit. A `Pipeline`/`make_pipeline` handed to cross-validation "
        "fits its steps inside each fold and is the clean form. Row-wise or fixed transformers "
        "(`Normalizer`, `Binarizer`, `FunctionTransformer`, `HashingVectorizer`, "
        "`PolynomialFeatures`) learn nothing from the rows and are left alone."
    )
    why = (
        "Zhang et al. (CAIN 2022), *Data Leakage*: statistics of the test rows (means, "
        "vocabularies, category codes, imputation values) reach the training features, so "
        "validation scores overstate what the model will do on new data, and model selection "
        "picks the wrong model (Kaufman et al., TKDD 2012). Sculley et al. (2015) count such "
        "hidden coupling between training and evaluation as ML debt."
    )
    limits = (
        "Data is followed through assignments in source order within a function (and from "
        "module level into functions), and into functions of the same file through their "
        "parameters; not across files, and branches are not told apart. Which variable is a "
        "test part is read from the split that made it or from its name. Fitting on all rows "
        "with no split at all (clustering, a final model refit on everything) is not leakage "
        "and is not reported; neither is a label encoder fit on every row before a split (it "
        "learns the class set only). Test modules are not checked. Statistics computed by "
        "hand (`df['x'].fillna(df['x'].mean())` on joined data) are not recognised."
    )
    examples = (
        BAD(
            """
            from sklearn.model_selection import train_test_split
            from sklearn.preprocessing import StandardScaler

            X_std = StandardScaler().fit_transform(X)
            X_tr, X_te, y_tr, y_te = train_test_split(X_std, y, test_size=0.2, random_state=0)
            """,
            expect=1,
        ),
        BAD(
            """
            import pandas as pd
            from sklearn import preprocessing as pp

            def encode(frame):
                for col in ["city", "plan"]:
                    frame[col] = pp.LabelEncoder().fit_transform(frame[col])
                return frame

            train = pd.read_csv("train.csv")
            test = pd.read_csv("test.csv")
            full = encode(pd.concat([train, test]))
            """,
            expect=1,
        ),
        BAD(
            """
            # %%
            from sklearn.feature_extraction.text import TfidfVectorizer
            from sklearn.model_selection import cross_val_score
            from sklearn.linear_model import LogisticRegression
            # %%
            tfidf = TfidfVectorizer(min_df=3)
            X = tfidf.fit_transform(reviews["text"])
            scores = cross_val_score(LogisticRegression(C=2.0), X, y, cv=5)
            # %%
            X_val_vec = TfidfVectorizer(min_df=3).fit_transform(X_val)
            """,
            path="sentiment.ipynb",
            expect=2,
        ),
        BAD(
            """
            from imblearn.over_sampling import SMOTE
            from sklearn.model_selection import train_test_split
            from tensorflow.keras.preprocessing.text import Tokenizer

            X_res, y_res = SMOTE(random_state=0).fit_resample(X, y)
            X_tr, X_te, y_tr, y_te = train_test_split(X_res, y_res, random_state=0)

            tok = Tokenizer(num_words=5000)
            tok.fit_on_texts(df["text"])
            seqs_tr, seqs_te = train_test_split(tok.texts_to_sequences(df["text"]), random_state=0)
            """,
            expect=2,
        ),
        GOOD(
            """
            from sklearn.model_selection import train_test_split
            from sklearn.preprocessing import StandardScaler

            X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.2, random_state=0)
            scaler = StandardScaler().fit(X_tr)
            X_tr, X_te = scaler.transform(X_tr), scaler.transform(X_te)
            """
        ),
        GOOD(
            """
            from sklearn.linear_model import LogisticRegression
            from sklearn.model_selection import cross_val_score
            from sklearn.pipeline import make_pipeline
            from sklearn.preprocessing import StandardScaler as SS

            pipe = make_pipeline(SS(), LogisticRegression(C=0.5))
            scores = cross_val_score(pipe, X, y, cv=5, scoring="roc_auc")
            """
        ),
        GOOD(
            """
            # %%
            from sklearn.cluster import KMeans
            from sklearn.preprocessing import StandardScaler
            # %%
            X_store = StandardScaler().fit_transform(stores[["sales", "area"]])
            labels = KMeans(n_clusters=4, n_init=10, random_state=0).fit_predict(X_store)
            """,
            path="segments.ipynb",
        ),
        GOOD(
            """
            from sklearn.decomposition import PCA
            from sklearn.linear_model import LogisticRegression
            from sklearn.model_selection import GroupKFold

            if False:  # switched off: a leak that cannot happen (MLD211 reports the branch)
                x = PCA(n_components=16).fit_transform(x)
            for train_idx, valid_idx in GroupKFold(n_splits=5).split(x, y, groups=ids):
                clf = LogisticRegression(max_iter=1000).fit(x[train_idx], y[train_idx])
            """
        ),
    )

    def __init__(self, context: Any, options: Any) -> None:
        super().__init__(context, options)
        self.flow = Flow(context.resolver, self._hook)
        self.origins: dict[int, cst.CSTNode] = {}
        self.fits: dict[int, _Fit] = {}  # fitout label -> the fit
        self.fitted: dict[int, tuple[Value, int]] = {}  # transformer value -> fitout label
        self.reported: set[int] = set()
        self.summaries: dict[str, _Summary] = {}
        self.combined_calls: list[tuple[str, int, int]] = []
        self.param_edges: list[tuple[tuple[str, int], tuple[str, int]]] = []
        self.others: dict[tuple[str, str], tuple[str, frozenset[str]]] = {}
        self.fitted_names: dict[tuple[str, str], int] = {}  # tokenizers and the like
        self.skip = is_test_module(context.path) or not mentions(context.text, _LEAK_GATE)

    # --- labels ----------------------------------------------------------------------------

    def _origin(self, node: cst.CSTNode) -> int:
        self.origins.setdefault(id(node), node)
        return id(node)

    def _hook(self, node: cst.Call | cst.BinaryOperation) -> tuple[Labels, bool] | None:
        if isinstance(node, cst.BinaryOperation):
            if (
                isinstance(node.operator, cst.Add)
                and _data_like(node.left)
                and _data_like(node.right)
                and self._joins([node.left, node.right])
            ):
                return frozenset({("combined", self._origin(node))}), True
            return None
        fitting = self._fitting(node)
        if fitting is not None:
            if fitting[2] not in _OUTPUT_METHODS:
                return EMPTY, False  # fit() returns the transformer, not data
            data = _data_argument(node)
            if data is not None and self._unsplit(data):
                return frozenset({("fitout", self._origin(node))}), True
            return None
        label = self._fitted_receiver(node)
        if label is not None:
            data = _data_argument(node)
            fit = self.fits.get(label)
            if data is not None and fit is not None and fit.roots & set(root_names(data)):
                return frozenset({("fitout", label)}), True
            return None
        qualname = self.context.resolver.call_name(node)
        parts: list[cst.BaseExpression] = []
        if qualname in _CONCATS:
            first = node.args[0].value if node.args else None
            if isinstance(first, (cst.List, cst.Tuple)):
                parts = [e.value for e in first.elements]
        elif (
            isinstance(node.func, cst.Attribute)
            and node.func.attr.value == "append"
            and node.args
            and self.context.resolver.kind_of(node.func.value) == "dataframe"
        ):
            parts = [node.func.value, node.args[0].value]
        if parts and self._joins(parts):
            return frozenset({("combined", self._origin(node))}), True
        return None

    def _joins(self, parts: list[cst.BaseExpression]) -> bool:
        """Whether the parts hold train data and test data."""
        roles: set[str] = set()
        for part in parts:
            roots = root_names(part)
            role = split_role(roots[0]) if roots else None
            if role is not None:
                roles.add(role)
            for label in self.flow.labels(part):
                if label[0] == "part":
                    roles.add(str(label[1]))
        return roles == {"train", "test"}

    def _unsplit(self, data: cst.BaseExpression) -> bool:
        roots = root_names(data)
        if roots and split_role(roots[0]) is not None:
            return False
        return not any(label[0] in ("part", "combined") for label in self.flow.labels(data))

    def _fitted_receiver(self, call: cst.Call) -> int | None:
        """The fit behind ``scaler.transform(...)`` / ``tokenizer.texts_to_sequences(...)``
        when the receiver was fit on unsplit data."""
        func = call.func
        if not isinstance(func, cst.Attribute) or func.attr.value not in _APPLY_METHODS:
            return None
        called = self.context.resolver.method_call(call)
        if called is not None:
            found = self.fitted.get(_key(called[0]))
            return found[1] if found is not None else None
        if isinstance(func.value, cst.Name):
            name = func.value.value
            return self.fitted_names.get((self.flow.scope, name), self.fitted_names.get(("", name)))
        return None

    def _fitting(self, call: cst.Call) -> tuple[Value | None, str, str] | None:
        """``(transformer value, its class, method)`` when ``call`` fits preprocessing."""
        func = call.func
        if not isinstance(func, cst.Attribute):
            return None
        method = func.attr.value
        resolver = self.context.resolver
        value = resolver.value_of(func.value)
        if value is not None:
            if value.kind != TRANSFORMER or method not in _FIT_METHODS:
                return None
            what = _short(value.type)
            return (None, what, method) if what in _STATELESS else (value, what, method)
        if isinstance(func.value, cst.Name):
            other = self.others.get((self.flow.scope, func.value.value))
            if other is None:
                other = self.others.get(("", func.value.value))
            if other is not None and method in other[1]:
                return None, other[0], method
        elif isinstance(func.value, cst.Call):
            qualname = resolver.call_name(func.value)
            for prefix, methods in _OTHER_TRANSFORMERS:
                if qualname and qualname.startswith(prefix) and method in methods:
                    return None, _short(qualname), method
        return None

    # --- sinks -----------------------------------------------------------------------------

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        if self.skip:
            return
        outer = self.context.scope.qualname
        qualname = f"{outer}.{node.name.value}" if outer else node.name.value
        params = [p.name.value for p in (*node.params.posonly_params, *node.params.params)]
        params += [p.name.value for p in node.params.kwonly_params]
        method = bool(params) and params[0] in ("self", "cls")
        self.summaries[qualname] = _Summary(params, method)
        scope = self.flow.scopes.setdefault(qualname, {})
        for index, name in enumerate(params):
            scope[name] = frozenset({("param", qualname, index)})

    def visit_Call(self, node: cst.Call) -> None:
        if self.skip:
            return
        fitting = self._fitting(node)
        if fitting is not None:
            self._check_fit(node, *fitting)
        self._check_split(node)
        self._record_call(node)

    def _check_fit(self, node: cst.Call, value: Value | None, what: str, method: str) -> None:
        if what in _STATELESS:
            return
        data = _data_argument(node)
        if data is None:
            return
        labels = self.flow.labels(data)
        source = self.context.node_source(data)
        if len(source) > 60:
            source = source[:57] + "..."
        for label in labels:
            if label[0] == "combined":
                origin = self.origins[int(str(label[1]))]
                self._report(
                    node,
                    f"`{what}` is fit on `{source}`, which joins train and test data: the test "
                    "rows' statistics leak into the training features",
                    [(origin, "train and test joined here")],
                )
                return
        roots = root_names(data)
        role = split_role(roots[0]) if roots else None
        test_part = any(label[0] == "part" and label[1] == "test" for label in labels)
        if role == "test" or (role is None and test_part):
            self._report(
                node,
                f"`{what}` is fit on test data `{source}`: fit it on the training part and "
                "only transform the test part",
                [],
            )
            return
        fit = _Fit(node, what, source, frozenset(roots), method)
        for label in labels:
            if label[0] == "param":
                summary = self.summaries.get(str(label[1]))
                if summary is not None:
                    summary.fits.setdefault(int(str(label[2])), []).append(fit)
        if self._unsplit(data) and what not in _LABEL_ENCODERS:
            self.fits[self._origin(node)] = fit
            receiver = node.func.value if isinstance(node.func, cst.Attribute) else None
            if method not in _OUTPUT_METHODS and value is not None:
                self.fitted[_key(value)] = (value, id(node))
            elif method not in _OUTPUT_METHODS and isinstance(receiver, cst.Name):
                self.fitted_names[(self.flow.scope, receiver.value)] = id(node)

    def _split_data(self, node: cst.Call) -> list[cst.BaseExpression]:
        resolver = self.context.resolver
        qualname = resolver.call_name(node)
        if qualname in _SPLIT_FUNCTIONS:
            if qualname == "sklearn.model_selection.train_test_split":
                return [a.value for a in node.args if a.keyword is None and not a.star]
            index = _SPLIT_FUNCTIONS[qualname]
            found = keyword(node, "X")
            if found is None:
                positional = [a.value for a in node.args if a.keyword is None and not a.star]
                found = positional[index] if len(positional) > index else None
            return [found] if found is not None else []
        method = resolver.method_call(node)
        if method is None:
            return []
        value, name = method
        data = _data_argument(node)
        if data is None:
            return []
        if name == "split" and value.kind == SPLITTER:
            return [data]
        if name == "fit" and value.kind == ESTIMATOR and (value.type or "").endswith("SearchCV"):
            return [data]
        return []

    def _check_split(self, node: cst.Call) -> None:
        for data in self._split_data(node):
            self._fits_inside(data)
            self._leaks_into(data, node)

    def _fits_inside(self, expr: cst.CSTNode) -> None:
        """Register fits nested in ``expr`` (``split(scaler.fit_transform(X))``) before the
        walk reaches them."""
        stack: list[cst.CSTNode] = [expr]
        while stack:
            node = stack.pop()
            if isinstance(node, cst.Call):
                fitting = self._fitting(node)
                if fitting is not None:
                    self._check_fit(node, *fitting)
            stack.extend(sub_nodes(node))

    def _leaks_into(self, data: cst.BaseExpression, split: cst.CSTNode) -> None:
        for label in self.flow.labels(data):
            if label[0] != "fitout":
                continue
            fit = self.fits.get(int(str(label[1])))
            if fit is None:
                continue
            if fit.method in _RESAMPLERS:
                message = (
                    f"`{fit.what}` resamples all rows of `{fit.data}`, which are split into "
                    "train and test afterwards: synthetic or repeated rows built from one side "
                    "land on the other; resample the training part only"
                )
            else:
                message = (
                    f"`{fit.what}` is fit on all rows of `{fit.data}`, which are split into "
                    "train and test afterwards: the test rows' statistics leak into training; "
                    "fit it on the training part (or put it in a Pipeline)"
                )
            self._report(fit.node, message, [(split, "split here, after the fit")])

    def _report(
        self, node: cst.CSTNode, message: str, related: list[tuple[cst.CSTNode, str]]
    ) -> None:
        if id(node) in self.reported:
            return
        self.reported.add(id(node))
        self.report(node, message, related=related)

    def _record_call(self, node: cst.Call) -> None:
        """Calls of the file's own functions with joined data, or with a parameter."""
        callee = self.context.resolver.call_name(node)
        summary = self.summaries.get(callee) if callee is not None else None
        if summary is None or callee is None:
            return
        offset = 1 if summary.method and isinstance(node.func, cst.Attribute) else 0
        position = 0
        for arg in node.args:
            if arg.star:
                return
            if arg.keyword is not None:
                name = arg.keyword.value
                if name not in summary.params:
                    continue
                index = summary.params.index(name)
            else:
                index = position + offset
                position += 1
            for label in self.flow.labels(arg.value):
                if label[0] == "combined":
                    self.combined_calls.append((callee, index, int(str(label[1]))))
                elif label[0] == "param":
                    self.param_edges.append(((str(label[1]), int(str(label[2]))), (callee, index)))

    # --- assignments -----------------------------------------------------------------------

    def leave_Assign(self, node: cst.Assign) -> None:
        if self.skip:
            return
        value = node.value
        labels = self.flow.labels(value)
        split = self._split_parts(node)
        for target in node.targets:
            self._manual_split(target.target, value, labels)
            pairs = _pairs(target.target, value)
            if split is not None and isinstance(target.target, (cst.Tuple, cst.List)):
                kept = frozenset(label for label in labels if label[0] not in _PARTS)
                for element, role in zip(target.target.elements, split, strict=False):
                    extra: Labels = frozenset({("part", role, id(value))}) if role else EMPTY
                    self.flow.assign(element.value, kept | extra)
            elif pairs is not None:
                for each_target, each_value in pairs:
                    each_labels = self.flow.labels(each_value)
                    self._manual_split(each_target, each_value, each_labels)
                    self.flow.assign(each_target, _split_back(each_target, each_value, each_labels))
            else:
                self.flow.assign(target.target, _split_back(target.target, value, labels))
            self._remember_other(target.target, value)

    def leave_AnnAssign(self, node: cst.AnnAssign) -> None:
        if self.skip:
            return
        if node.value is not None:
            self.flow.assign(node.target, self.flow.labels(node.value))

    def leave_AugAssign(self, node: cst.AugAssign) -> None:
        if self.skip:
            return
        if isinstance(node.target, cst.Name):
            self.flow.add(node.target.value, self.flow.labels(node.value))

    def _split_parts(self, node: cst.Assign) -> list[str | None] | None:
        """Roles of the targets of ``a, b, c, d = train_test_split(X, y)``."""
        value = node.value
        if not isinstance(value, cst.Call):
            return None
        if self.context.resolver.call_name(value) != "sklearn.model_selection.train_test_split":
            return None
        first = node.targets[0].target
        if not isinstance(first, (cst.Tuple, cst.List)):
            return None
        count = len(first.elements)
        return ["train" if i % 2 == 0 else "test" for i in range(count)]

    def _manual_split(
        self, target: cst.BaseExpression, value: cst.BaseExpression, labels: Labels
    ) -> None:
        """``X_train = X_all[:n]`` / ``test = full[full.is_test == 1]`` after a fit on all."""
        if _row_selection(target, value) is None:
            return
        if any(label[0] == "fitout" for label in labels):
            self._leaks_into(value, value)

    def _remember_other(self, target: cst.BaseExpression, value: cst.BaseExpression) -> None:
        if not isinstance(target, cst.Name) or not isinstance(value, cst.Call):
            return
        qualname = self.context.resolver.call_name(value)
        key = (self.flow.scope, target.value)
        self.others.pop(key, None)
        if qualname is None:
            return
        for prefix, methods in _OTHER_TRANSFORMERS:
            if qualname.startswith(prefix):
                self.others[key] = (_short(qualname), methods)

    def leave_Module(self, original_node: cst.Module) -> None:
        if self.skip:
            return
        joined: dict[tuple[str, int], int] = {}
        todo = [((callee, index), origin) for callee, index, origin in self.combined_calls]
        while todo:
            key, origin = todo.pop()
            if key in joined:
                continue
            joined[key] = origin
            todo.extend((target, origin) for source, target in self.param_edges if source == key)
        for (callee, index), origin in joined.items():
            summary = self.summaries.get(callee)
            for fit in summary.fits.get(index, []) if summary is not None else []:
                name = summary.params[index] if summary and index < len(summary.params) else "?"
                self._report(
                    fit.node,
                    f"`{fit.what}` is fit on `{fit.data}`, and `{callee}` is called with train "
                    f"and test data joined as `{name}`: the test rows' statistics leak into "
                    "the training features",
                    [(self.origins[origin], "train and test joined here")],
                )


# --- MLD522 -----------------------------------------------------------------------------------

_PREDICT_METHODS = frozenset(
    {"predict", "predict_proba", "predict_log_proba", "decision_function", "transform"}
)
_NOT_METRICS = frozenset(
    {"make_scorer", "get_scorer", "check_scoring", "get_scorer_names", "auc", "roc_curve"}
)
_EVAL_WORDS = re.compile(r"acc|score|f1|auc|metric|precision|recall|correct", re.IGNORECASE)
_NO_GRAD = frozenset({"torch.no_grad", "torch.inference_mode", "torch.enable_grad"})


@dataclass
class _Loop:
    """A ``for`` loop being walked: the tensors it iterates over (through a DataLoader of a
    TensorDataset), the models called in it, and whether it calls ``backward()``."""

    node: cst.For
    tensors: frozenset[str]
    called: list[Value] = field(default_factory=list)
    backward: bool = False


@dataclass
class _Trained:
    value: Value
    data: str  # the training data's source
    versions: dict[str, tuple[str, int]]
    node: cst.CSTNode
    what: str


class EvaluatedOnTrainingData(FileRule):
    code = "MLD522"
    name = "evaluated-on-training-data"
    category = "ml-api-misuse"
    severity = Severity.WARNING
    debt_minutes = 10.0
    status = "preview"
    tags = ("scikit-learn", "keras", "pytorch", "xgboost", "lightgbm")
    summary = "A model scored on the very rows it was fit on: the score says little."
    what = (
        "A score or metric computed on the data a model was fit on, with no reassignment of "
        "that data in between: `model.score(X, y)` or Keras `model.evaluate(X, y)` (with "
        "targets: the likelihood `score(X)` of a density model is not an evaluation) after "
        "`model.fit(X, y)`; a `sklearn.metrics` function given `model.predict(X)` (or "
        "`predict_proba`, `decision_function`, directly or through a variable) for the `X` "
        "the model was fit on; a PyTorch model trained in a loop over a `DataLoader` of a "
        "`TensorDataset(x, y)` and then called on `x` under `torch.no_grad()` in a statement "
        "that computes an accuracy or a score. The finding is at the scoring call; a score "
        "whose statement calls it a training score (`print('train accuracy', ...)`) is a "
        "diagnostic and is not reported."
    )
    why = (
        "A training score measures memorisation, not generalisation: a k-NN with distance "
        "weights or a deep forest scores ~1.0 on its own rows whatever it learnt. Reported as "
        "the model's quality, it hides overfitting; Zhang et al. (CAIN 2022) list it with "
        "*Data Leakage* among the ways evaluation goes wrong."
    )
    limits = (
        "Preview: a training score printed next to a held-out score to diagnose overfitting "
        "is legitimate, and the rule cannot tell a headline number from a diagnostic. Data "
        "is matched by its source text and by the assignments of the names in it (an `X` "
        "reassigned between fit and score is another `X`), within one file; cross-validated "
        "or out-of-fold scores are never reported. Test modules are not checked."
    )
    examples = (
        BAD(
            """
            from sklearn.neighbors import KNeighborsClassifier

            knn = KNeighborsClassifier(n_neighbors=5, weights="distance")
            knn.fit(X_train, y_train)
            print("accuracy", knn.score(X_train, y_train))
            """,
            expect=1,
        ),
        BAD(
            """
            import xgboost as xgb
            from sklearn import metrics

            final = xgb.XGBClassifier(n_estimators=300).fit(X, y)
            auc = metrics.roc_auc_score(y, final.predict_proba(X)[:, 1])
            train_pred = final.predict(X)
            acc = metrics.accuracy_score(y, train_pred)
            """,
            expect=2,
        ),
        BAD(
            """
            # %%
            from sklearn.ensemble import RandomForestRegressor
            from sklearn.metrics import r2_score
            # %%
            rf = RandomForestRegressor(n_estimators=200, random_state=0)
            rf.fit(X, y)
            # %%
            print("R^2:", r2_score(y, rf.predict(X)))
            """,
            path="drivers.ipynb",
            expect=1,
        ),
        GOOD(
            """
            from sklearn.linear_model import LogisticRegression
            from sklearn.metrics import roc_auc_score

            clf = LogisticRegression(C=1.0).fit(X_tr, y_tr)
            print(roc_auc_score(y_te, clf.predict_proba(X_te)[:, 1]))
            """
        ),
        GOOD(
            """
            from sklearn.metrics import roc_auc_score

            for fold, (tr, va) in enumerate(folds.split(X, y)):
                model.fit(X[tr], y[tr])
                oof[va] = model.predict_proba(X[va])[:, 1]
            print(roc_auc_score(y, oof))
            """
        ),
        GOOD(
            """
            from sklearn.tree import DecisionTreeClassifier

            tree = DecisionTreeClassifier(max_depth=4).fit(X_train, y_train)
            print("train accuracy", tree.score(X_train, y_train))
            print("test accuracy", tree.score(X_test, y_test))
            """
        ),
        GOOD(
            """
            # %%
            from sklearn.linear_model import LinearRegression
            # %%
            lin = LinearRegression().fit(X, y)
            print(dict(zip(X.columns, lin.coef_.round(2))))
            X = X.assign(pred=lin.predict(X))
            """,
            path="coef.ipynb",
        ),
    )

    def __init__(self, context: Any, options: Any) -> None:
        super().__init__(context, options)
        self.skip = is_test_module(context.path) or not mentions(context.text, _EVAL_GATE)
        self.flow = Flow(context.resolver)
        self.trained: dict[int, _Trained] = {}
        self.train_predictions: dict[tuple[str, str], _Trained] = {}
        # PyTorch: datasets/loaders built from tensors, and the loop being walked.
        self.tensors_of: dict[tuple[str, str], frozenset[str]] = {}
        self.loops: list[_Loop] = []
        self.statement: cst.SimpleStatementLine | None = None

    # --- helpers ---------------------------------------------------------------------------

    def _snapshot(self, data: cst.BaseExpression) -> dict[str, tuple[str, int]]:
        return {root: self.flow.version(root) for root in root_names(data)}

    def _same_data(self, data: cst.BaseExpression, trained: _Trained) -> bool:
        return (
            self.context.node_source(data) == trained.data
            and self._snapshot(data) == trained.versions
        )

    def _on_training_data(self, expr: cst.BaseExpression) -> _Trained | None:
        """A prediction of a fitted model on its own training data inside ``expr``."""
        if not self.trained:
            return None
        stack: list[cst.CSTNode] = [expr]
        resolver = self.context.resolver
        while stack:
            node = stack.pop()
            if isinstance(node, cst.Name):
                found = self.train_predictions.get((self.flow.scope, node.value))
                if found is not None:
                    return found
                continue
            if isinstance(node, cst.Call):
                method = resolver.method_call(node)
                if method is not None and method[1] in _PREDICT_METHODS:
                    trained = self.trained.get(_key(method[0]))
                    data = _data_argument(node)
                    if trained is not None and data is not None and self._same_data(data, trained):
                        return trained
            if isinstance(node, (cst.Lambda, cst.FunctionDef)):
                continue
            stack.extend(sub_nodes(node))
        return None

    def _labelled_as_training(self) -> bool:
        """``print("train accuracy", model.score(X_train, y_train))``: a score its statement
        calls a training score is a diagnostic, not a claim about new data."""
        stack: list[cst.CSTNode] = [self.statement] if self.statement is not None else []
        while stack:
            node = stack.pop()
            if isinstance(node, (cst.SimpleString, cst.FormattedStringText)):
                text = node.value
                if re.search(r"train", text, re.IGNORECASE):
                    return True
            stack.extend(sub_nodes(node))
        return False

    def _report_score(self, node: cst.Call, what: str, trained: _Trained) -> None:
        if self._labelled_as_training():
            return
        self.report(node, self._message(what, trained), related=[(trained.node, "fit here")])

    def _message(self, what: str, trained: _Trained) -> str:
        return (
            f"{what} scores `{trained.what}` on `{trained.data}`, the data it was fit on: a "
            "training score hides overfitting; score it on held-out data"
        )

    # --- callbacks ---------------------------------------------------------------------------

    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> None:
        self.statement = node

    def visit_Call(self, node: cst.Call) -> None:
        if self.skip:
            return
        resolver = self.context.resolver
        method = resolver.method_call(node)
        if method is not None:
            value, name = method
            if value.kind in (ESTIMATOR, KERAS_MODEL):
                self._model_method(node, value, name)
            elif value.kind == MODULE:
                self._torch_call(node, value, name)
        elif isinstance(node.func, cst.Name):
            callee = resolver.value_of(node.func)
            if callee is not None and callee.kind == MODULE:
                self._torch_call(node, callee, "__call__")
        qualname = resolver.call_name(node)
        if qualname is not None and qualname.startswith("sklearn.metrics."):
            function = qualname.rpartition(".")[2]
            if function not in _NOT_METRICS and not function[:1].isupper():
                for arg in node.args:
                    trained = self._on_training_data(arg.value)
                    if trained is not None:
                        self._report_score(node, f"`{function}`", trained)
                        return

    def _model_method(self, node: cst.Call, value: Value, name: str) -> None:
        data = _data_argument(node)
        if data is None:
            return
        if name == "fit":
            self.trained[_key(value)] = _Trained(
                value,
                self.context.node_source(data),
                self._snapshot(data),
                node,
                _short(value.type),
            )
        elif name in ("score", "evaluate") and _with_targets(node):
            trained = self.trained.get(_key(value))
            if trained is not None and self._same_data(data, trained):
                self._report_score(node, f"`{name}`", trained)

    # --- PyTorch -------------------------------------------------------------------------------

    def _torch_call(self, node: cst.Call, value: Value, name: str) -> None:
        if name == "backward":
            return
        if name not in ("__call__", "forward"):
            return
        for loop in self.loops:
            loop.called.append(value)
        trained = self.trained.get(_key(value))
        data = _data_argument(node)
        if trained is None or data is None or any(loop.tensors for loop in self.loops):
            return
        if not set(self.context.resolver.contexts) & _NO_GRAD:
            return
        roots = root_names(data)
        if not roots or roots[0] not in trained.versions:
            return
        if not self._evaluating():
            return
        self.report(
            node,
            f"`{trained.what}` is evaluated on `{roots[0]}`, the tensors it was trained on: a "
            "training accuracy hides overfitting; evaluate it on held-out data",
            related=[(trained.node, "trained on these tensors here")],
        )

    def _evaluating(self) -> bool:
        """Whether the statement being walked computes an accuracy or a score."""
        statement = self.statement
        if statement is None:
            return False
        stack: list[cst.CSTNode] = [statement]
        while stack:
            node = stack.pop()
            if isinstance(node, cst.ComparisonTarget) and isinstance(node.operator, cst.Equal):
                return True
            if isinstance(node, cst.Name) and _EVAL_WORDS.search(node.value):
                return True
            stack.extend(sub_nodes(node))
        return False

    def visit_For(self, node: cst.For) -> None:
        if self.skip:
            return
        iterated = node.iter
        if isinstance(iterated, cst.Call) and self.context.resolver.call_name(iterated) in (
            "enumerate",
            "tqdm",
            "tqdm.tqdm",
            "tqdm.auto.tqdm",
        ):
            iterated = iterated.args[0].value if iterated.args else iterated
        tensors: frozenset[str] = frozenset()
        if isinstance(iterated, cst.Name):
            tensors = self.tensors_of.get((self.flow.scope, iterated.value), frozenset())
        self.loops.append(_Loop(node, tensors))

    def leave_For(self, original_node: cst.For) -> None:
        if self.skip:
            return
        if not self.loops or self.loops[-1].node is not original_node:
            return
        loop = self.loops.pop()
        if not loop.backward:
            return
        if not loop.tensors:
            if self.loops:  # an inner loop of the loop over the training data
                self.loops[-1].called.extend(loop.called)
                self.loops[-1].backward = True
            return
        versions = {name: self.flow.version(name) for name in loop.tensors}
        for value in loop.called:
            self.trained[_key(value)] = _Trained(
                value, ", ".join(sorted(loop.tensors)), versions, loop.node, _short(value.type)
            )

    def leave_Call(self, original_node: cst.Call) -> None:
        if self.skip:
            return
        func = original_node.func
        if self.loops and isinstance(func, cst.Attribute) and func.attr.value == "backward":
            self.loops[-1].backward = True

    def leave_Assign(self, node: cst.Assign) -> None:
        if self.skip:
            return
        scope = self.flow.scope
        value = node.value
        trained = self._on_training_data(value)
        tensors = self._tensors(value)
        for target in node.targets:
            names = _target_names(target.target)
            for name in names:
                self.train_predictions.pop((scope, name), None)
                self.tensors_of.pop((scope, name), None)
                if trained is not None:
                    self.train_predictions[(scope, name)] = trained
                if tensors:
                    self.tensors_of[(scope, name)] = tensors
            self.flow.assign(target.target, EMPTY)

    def leave_AugAssign(self, node: cst.AugAssign) -> None:
        if self.skip:
            return
        self.flow.assign(node.target, EMPTY)

    def _tensors(self, value: cst.BaseExpression) -> frozenset[str]:
        """``TensorDataset(x, y)`` -> {x, y}; ``DataLoader(ds, ...)`` -> what ds holds."""
        if not isinstance(value, cst.Call):
            return frozenset()
        qualname = self.context.resolver.call_name(value)
        if qualname == "torch.utils.data.TensorDataset":
            names = [a.value for a in value.args if isinstance(a.value, cst.Name)]
            return frozenset(n.value for n in names)
        if qualname == "torch.utils.data.DataLoader" and value.args:
            first = value.args[0].value
            if isinstance(first, cst.Name):
                return self.tensors_of.get((self.flow.scope, first.value), frozenset())
            return self._tensors(first)
        return frozenset()


def _with_targets(call: cst.Call) -> bool:
    """``score(X, y)``: a supervised score (``score(X)`` of a density model or a clustering
    is a likelihood or an inertia, for which the training data is the usual input)."""
    positional = [a for a in call.args if a.keyword is None and not a.star]
    named = {a.keyword.value for a in call.args if a.keyword is not None}
    return len(positional) >= 2 or bool(named & {"y", "y_true", "Y"})


def _target_names(target: cst.BaseExpression) -> list[str]:
    if isinstance(target, cst.Name):
        return [target.value]
    if isinstance(target, (cst.Tuple, cst.List)):
        return [n for e in target.elements for n in _target_names(e.value)]
    if isinstance(target, cst.StarredElement):
        return _target_names(target.value)
    return []
