"""MLD510 scale-sensitive estimators fit on unscaled data, MLD511 estimators and optimizers
built with every hyper-parameter at its default."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import libcst as cst

from mldebt.findings import Severity
from mldebt.resolve.kinds import (
    ESTIMATOR,
    OPTIMIZER,
    TRANSFORMER,
    Value,
    argument,
    keyword,
    positional,
)
from mldebt.rule import BAD, GOOD, FileRule
from mldebt_rules._dataflow import EMPTY, Flow, Labels, mentions
from mldebt_rules._seeding import is_test_module

RAW: Labels = frozenset({("raw",)})
SCALED: Labels = frozenset({("scaled",)})

# Estimators whose result depends on the scale of each feature: distances, kernels, gradient
# steps, penalties, variance.
_SENSITIVE = frozenset(
    {
        "SVC",
        "SVR",
        "NuSVC",
        "NuSVR",
        "LinearSVC",
        "LinearSVR",
        "OneClassSVM",
        "KNeighborsClassifier",
        "KNeighborsRegressor",
        "RadiusNeighborsClassifier",
        "RadiusNeighborsRegressor",
        "NearestNeighbors",
        "KMeans",
        "MiniBatchKMeans",
        "BisectingKMeans",
        "DBSCAN",
        "OPTICS",
        "AgglomerativeClustering",
        "MeanShift",
        "SpectralClustering",
        "PCA",
        "KernelPCA",
        "TSNE",
        "Isomap",
        "LocallyLinearEmbedding",
        "MDS",
        "SpectralEmbedding",
        "MLPClassifier",
        "MLPRegressor",
        "SGDClassifier",
        "SGDRegressor",
        "Lasso",
        "Ridge",
        "ElasticNet",
        "RidgeClassifier",
        "KernelRidge",
    }
)
# Steps that put features on a common scale (or produce scale-free features).
_SCALING = frozenset(
    {
        "StandardScaler",
        "MinMaxScaler",
        "MaxAbsScaler",
        "RobustScaler",
        "Normalizer",
        "QuantileTransformer",
        "PowerTransformer",
        "TfidfVectorizer",
        "TfidfTransformer",
        "HashingVectorizer",
        "OneHotEncoder",
        "KBinsDiscretizer",
        "SplineTransformer",
        "ColumnTransformer",
        "make_column_transformer",
        "FeatureUnion",
        "make_union",
        "Nystroem",
        "RBFSampler",
    }
)
_SCALING_FUNCTIONS = frozenset(
    {
        "sklearn.preprocessing.scale",
        "sklearn.preprocessing.normalize",
        "sklearn.preprocessing.minmax_scale",
        "sklearn.preprocessing.maxabs_scale",
        "sklearn.preprocessing.robust_scale",
        "sklearn.preprocessing.quantile_transform",
        "sklearn.preprocessing.power_transform",
        "scipy.stats.zscore",
        "pandas.get_dummies",
    }
)
# Bundled datasets whose features come in different units (iris is all centimetres, digits
# are pixels, diabetes is already standardised: those are not listed).
_RAW_DATASETS = frozenset(
    {
        "sklearn.datasets.load_wine",
        "sklearn.datasets.load_breast_cancer",
        "sklearn.datasets.load_boston",
        "sklearn.datasets.fetch_california_housing",
        "sklearn.datasets.fetch_covtype",
        "sklearn.datasets.load_linnerud",
        "sklearn.datasets.fetch_kddcup99",
    }
)
_CV_FUNCTIONS = frozenset(
    {
        "sklearn.model_selection.cross_val_score",
        "sklearn.model_selection.cross_validate",
        "sklearn.model_selection.cross_val_predict",
        "sklearn.model_selection.learning_curve",
        "sklearn.model_selection.validation_curve",
    }
)
_FITS = frozenset({"fit", "fit_predict", "fit_transform"})


def _short(qualname: str | None) -> str:
    return (qualname or "").rpartition(".")[2]


_PATH_WORDS = ("dir", "path", "root", "folder", "base", "home", "data_dir", "input", "output")


def _path_join(node: cst.BinaryOperation) -> bool:
    """``DATA_DIR / "train.csv"``: pathlib's ``/``, not a division."""
    if isinstance(node.right, (cst.SimpleString, cst.FormattedString, cst.ConcatenatedString)):
        return True
    left = node.left
    while isinstance(left, (cst.BinaryOperation, cst.Attribute, cst.Call)):
        if isinstance(left, cst.BinaryOperation):
            left = left.left
        elif isinstance(left, cst.Attribute):
            if any(word in left.attr.value.lower() for word in _PATH_WORDS):
                return True
            left = left.value
        else:
            func = left.func
            return isinstance(func, (cst.Name, cst.Attribute)) and _dotted_last(func) == "Path"
    return isinstance(left, cst.Name) and any(w in left.value.lower() for w in _PATH_WORDS)


def _dotted_last(node: cst.Name | cst.Attribute) -> str:
    return node.value if isinstance(node, cst.Name) else node.attr.value


def _first_data(call: cst.Call) -> cst.BaseExpression | None:
    return argument(call, 0, "X")


@dataclass
class _Step:
    node: cst.CSTNode
    name: str


class UnscaledSensitiveEstimator(FileRule):
    code = "MLD510"
    name = "unscaled-sensitive-estimator"
    category = "ml-api-misuse"
    severity = Severity.WARNING
    debt_minutes = 10.0
    tags = ("scikit-learn",)
    summary = "A scale-sensitive estimator (SVM, k-NN, k-means, PCA, MLP...) fit on raw features."
    what = (
        "Estimators whose results depend on each feature's scale — SVMs, k-NN, k-means and "
        "other distance-based clustering, PCA and manifold learning, MLPs, SGD, and the "
        "penalised linear models Lasso/Ridge/ElasticNet — fit (`fit`, `fit_predict`, "
        "`fit_transform`, or through `cross_val_score` and its siblings) on features read "
        "from a file into a DataFrame (`pd.read_csv` and friends, bundled datasets with "
        "features in different units such as `load_wine`) that no "
        "scaler touched on the way: no `StandardScaler`/`MinMaxScaler`/... output, no "
        "`scale()`, no division (`(X - mu) / sd`, `X / 255`), no one-hot encoding. In a "
        "`Pipeline`/`make_pipeline`, the step must follow a scaling step. The finding is at "
        "the estimator's constructor."
    )
    why = (
        "Zhang et al. (CAIN 2022), *No Scaling Before Scaling-sensitive Operation*: a feature "
        "measured in thousands dominates distances, kernels, variance and penalties over one "
        "measured in units, so the model mostly ignores the small-scale features; results "
        "change with the choice of units."
    )
    limits = (
        "Only data known to come raw from a file is judged: arrays of unknown origin, data "
        "passed in as a parameter, and any output of a transformer count as prepared. "
        "Features that already share one unit (pixel intensities) are still reported when "
        "they come from a CSV. `LogisticRegression` is left out: it is mostly fit on encoded "
        "or already comparable features. Test modules are not checked."
    )
    examples = (
        BAD(
            """
            import pandas as pd
            from sklearn.neighbors import KNeighborsClassifier

            df = pd.read_csv("customers.csv")
            X = df[["income", "age", "tenure"]].to_numpy()
            knn = KNeighborsClassifier(n_neighbors=15)
            knn.fit(X, df["churn"])
            """,
            expect=1,
        ),
        BAD(
            """
            import pandas as pd
            from sklearn.impute import SimpleImputer
            from sklearn.model_selection import cross_val_score
            from sklearn.pipeline import make_pipeline
            from sklearn.svm import SVC

            df = pd.read_parquet("train.parquet")
            pipe = make_pipeline(SimpleImputer(strategy="median"), SVC(C=1.0))
            scores = cross_val_score(pipe, df[["charges", "tenure"]], df["churn"], cv=5)
            """,
            expect=1,
        ),
        BAD(
            """
            # %%
            import pandas as pd
            from sklearn.decomposition import PCA
            # %%
            stores = pd.read_csv("stores.csv")
            coords = PCA(n_components=2).fit_transform(stores[["revenue", "units", "share"]])
            """,
            path="eda.ipynb",
            expect=1,
        ),
        GOOD(
            """
            import pandas as pd
            from sklearn.neighbors import KNeighborsClassifier
            from sklearn.pipeline import Pipeline
            from sklearn.preprocessing import StandardScaler

            df = pd.read_csv("customers.csv")
            model = Pipeline([("scale", StandardScaler()), ("knn", KNeighborsClassifier(15))])
            model.fit(df[["income", "age"]], df["churn"])
            """
        ),
        GOOD(
            """
            import pandas as pd
            from sklearn.cluster import KMeans
            from sklearn.preprocessing import StandardScaler

            stores = pd.read_csv("stores.csv")
            X = StandardScaler().fit_transform(stores[["revenue", "units"]])
            KMeans(n_clusters=4, n_init=10, random_state=0).fit(X)
            """
        ),
        GOOD(
            """
            # %%
            import pandas as pd
            from sklearn.ensemble import RandomForestClassifier
            from sklearn.svm import SVC
            # %%
            df = pd.read_csv("train.csv")
            X = (df[["a", "b"]] - df[["a", "b"]].mean()) / df[["a", "b"]].std()
            SVC(C=2.0).fit(X, df["y"])
            RandomForestClassifier(n_estimators=100).fit(df[["a", "b"]], df["y"])
            """,
            path="models.ipynb",
        ),
    )

    def __init__(self, context: Any, options: Any) -> None:
        super().__init__(context, options)
        self.skip = is_test_module(context.path) or not mentions(context.text, ("sklearn",))
        self.flow = Flow(context.resolver, self._hook)
        self.pipelines: dict[int, list[_Step]] = {}
        self.reported: set[int] = set()

    def _hook(self, node: cst.Call | cst.BinaryOperation) -> tuple[Labels, bool] | None:
        if isinstance(node, cst.BinaryOperation):
            if isinstance(node.operator, (cst.Divide, cst.FloorDivide)) and not _path_join(node):
                return SCALED, True
            return None
        resolver = self.context.resolver
        method = resolver.method_call(node)
        if method is not None and method[0].kind in (TRANSFORMER, ESTIMATOR):
            if method[1] in ("transform", "fit_transform", "predict", "predict_proba"):
                return SCALED, False  # prepared features, or a model's output
            return None
        qualname = resolver.call_name(node)
        if qualname is None:
            return None
        if qualname in _SCALING_FUNCTIONS:
            return SCALED, False
        if qualname.startswith("pandas.read_") or qualname == "seaborn.load_dataset":
            return RAW, False
        if qualname in _RAW_DATASETS:
            return RAW, False
        return None

    def _name_of(self, step: cst.BaseExpression) -> str:
        resolver = self.context.resolver
        if isinstance(step, cst.Call):
            return _short(resolver.call_name(step))
        value = resolver.value_of(step)
        return _short(value.type) if value is not None else ""

    def visit_Call(self, node: cst.Call) -> None:
        if self.skip:
            return
        resolver = self.context.resolver
        qualname = resolver.call_name(node)
        if qualname in ("sklearn.pipeline.Pipeline", "sklearn.pipeline.make_pipeline"):
            self._record_pipeline(node, qualname)
            return
        if qualname in _CV_FUNCTIONS:
            estimator = argument(node, 0, "estimator")
            data = argument(node, 1, "X")
            value = resolver.value_of(estimator) if estimator is not None else None
            if value is not None and data is not None:
                self._check_fit(value, data)
            return
        method = resolver.method_call(node)
        if method is None or method[1] not in _FITS:
            return
        data = _first_data(node)
        if data is not None:
            self._check_fit(method[0], data)

    def _record_pipeline(self, node: cst.Call, qualname: str) -> None:
        steps: list[cst.BaseExpression] = []
        if qualname.endswith("make_pipeline"):
            steps = [a.value for a in node.args if a.keyword is None and not a.star]
        else:
            listed = argument(node, 0, "steps")
            if isinstance(listed, (cst.List, cst.Tuple)):
                for element in listed.elements:
                    pair = element.value
                    if isinstance(pair, cst.Tuple) and len(pair.elements) >= 2:
                        steps.append(pair.elements[1].value)
        self.pipelines[id(node)] = [_Step(step, self._name_of(step)) for step in steps]

    def _check_fit(self, value: Value, data: cst.BaseExpression) -> None:
        target = self._unscaled_step(value)
        if target is None:
            return
        node, name = target
        if id(node) in self.reported:
            return
        labels = self.flow.labels(data)
        if ("raw",) not in labels or ("scaled",) in labels:
            return
        self.reported.add(id(node))
        source = self.context.node_source(data)
        if len(source) > 50:
            source = source[:47] + "..."
        self.report(
            node,
            f"`{name}` is scale-sensitive and is fit on `{source}`, raw features from a file "
            "that no scaler touched: put a StandardScaler (or similar) before it in a Pipeline",
        )

    def _unscaled_step(self, value: Value) -> tuple[cst.CSTNode, str] | None:
        """The constructor of the scale-sensitive estimator that sees unscaled input."""
        origin = value.origin
        if origin is None:
            return None
        steps = self.pipelines.get(id(origin))
        if steps is not None:
            for step in steps:
                if step.name in _SCALING:
                    return None
                if step.name in _SENSITIVE:
                    return step.node, step.name
            return None
        name = _short(value.type)
        if value.type and value.type.startswith("sklearn.") and name in _SENSITIVE:
            return origin, name
        return None

    def leave_Assign(self, node: cst.Assign) -> None:
        if self.skip:
            return
        labels = self.flow.labels(node.value)
        for target in node.targets:
            self.flow.assign(target.target, labels)

    def leave_AugAssign(self, node: cst.AugAssign) -> None:
        if not self.skip and isinstance(node.target, cst.Name):
            extra = SCALED if isinstance(node.operator, cst.DivideAssign) else EMPTY
            self.flow.add(node.target.value, self.flow.labels(node.value) | extra)


# --- MLD511 -----------------------------------------------------------------------------------

# Keyword arguments that are not hyper-parameters (seeds, threads, logging, copies).
_NOT_HYPERPARAMETERS = frozenset(
    {
        "random_state",
        "n_jobs",
        "verbose",
        "verbosity",
        "silent",
        "copy",
        "copy_X",
        "warm_start",
        "seed",
        "random_seed",
        "nthread",
        "thread_count",
        "device",
        "gpu_id",
        "enable_categorical",
        "use_label_encoder",
        "logging_level",
        "verbose_eval",
    }
)
# Estimators with nothing (or nothing usual) to tune.
_NOTHING_TO_TUNE = frozenset(
    {
        "LinearRegression",
        "GaussianNB",
        "DummyClassifier",
        "DummyRegressor",
        "IsotonicRegression",
        "LinearDiscriminantAnalysis",
        "QuadraticDiscriminantAnalysis",
        "Pipeline",
        "TransformedTargetRegressor",
        "FrozenEstimator",
    }
)
# Transformers whose main parameter decides the result (a component count, a strategy).
_TUNABLE_TRANSFORMERS = frozenset(
    {
        "PCA",
        "TruncatedSVD",
        "KernelPCA",
        "NMF",
        "FastICA",
        "LatentDirichletAllocation",
        "SimpleImputer",
        "KNNImputer",
        "SelectKBest",
        "SelectPercentile",
        "KBinsDiscretizer",
        "TSNE",
        "Isomap",
        "LocallyLinearEmbedding",
        "UMAP",
    }
)
_BOOSTING_HEADS = frozenset({"xgboost", "lightgbm", "catboost"})
_TUNED_BY = (
    "sklearn.model_selection.GridSearchCV",
    "sklearn.model_selection.RandomizedSearchCV",
    "sklearn.model_selection.HalvingGridSearchCV",
    "sklearn.model_selection.HalvingRandomSearchCV",
    "skopt.BayesSearchCV",
    "sklearn.base.clone",
)
_LOADS = frozenset(
    {"set_params", "load_model", "load", "load_state_dict", "set_param", "load_weights"}
)


_TUNABLE_GATE = ("sklearn", "xgboost", "lightgbm", "catboost", "optim", "umap")
_GRID_WORDS = re.compile(r"param|grid|space|distributions|search", re.IGNORECASE)


def _last_name(node: cst.BaseExpression) -> str | None:
    """``grid`` for ``grid``, ``cfg.param_grid``, ``params["rf"]``."""
    while isinstance(node, cst.Subscript):
        node = node.value
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return node.attr.value
    if isinstance(node, cst.Dict):
        return "params"  # a literal search space
    return None


def _key(value: Value) -> int:
    return id(value.origin) if value.origin is not None else id(value)


class ImplicitHyperparameters(FileRule):
    code = "MLD511"
    name = "implicit-hyperparameters"
    category = "ml-api-misuse"
    severity = Severity.INFO
    debt_minutes = 5.0
    tags = ("scikit-learn", "xgboost", "lightgbm", "pytorch", "keras")
    summary = "A learning algorithm built with every hyper-parameter left at its default."
    what = (
        "scikit-learn estimators (and the transformers whose main parameter decides the "
        "result: PCA and the other decompositions, imputers, `SelectKBest`, t-SNE...), "
        "XGBoost, LightGBM and CatBoost models built with no hyper-parameter at all — seeds, "
        "threads and logging options do not count — and PyTorch or Keras optimizers built "
        "without a learning rate. Not reported: estimators with nothing usual to tune "
        "(`LinearRegression`, `GaussianNB`, the dummies, discriminant analysis), arguments "
        "passed through `**params`, and models later given their parameters "
        "(`set_params`), loaded (`load_model`, `load_state_dict`) or handed to a grid or "
        "random search (or to any function together with a parameter grid)."
    )
    why = (
        "Zhang et al. (CAIN 2022), *Hyperparameter not Explicitly Set*: defaults change "
        "between library versions (`n_estimators` went from 10 to 100, `solver` and "
        "`max_iter` changed), and they are rarely the best choice for a given problem; "
        "written-out values document the experiment and keep it reproducible across "
        "upgrades."
    )
    limits = (
        "Whether the defaults were tuned somewhere else (a config file, a comment) cannot be "
        "seen. Keras models compiled with an optimizer given by name (`optimizer='adam'`) "
        "are not reported. Estimators built inside a class (a library's default base "
        "estimator, configured by its users) and test modules are not checked."
    )
    examples = (
        BAD(
            """
            from sklearn.ensemble import RandomForestClassifier

            rf = RandomForestClassifier()
            rf.fit(X_train, y_train)
            """,
            expect=1,
        ),
        BAD(
            """
            import lightgbm as lgb
            import torch

            booster = lgb.LGBMClassifier(random_state=0, n_jobs=-1)
            optimizer = torch.optim.Adam(model.parameters())
            """,
            expect=2,
        ),
        BAD(
            """
            # %%
            from sklearn import svm
            from tensorflow import keras
            # %%
            clf = svm.SVC().fit(X, y)
            opt = keras.optimizers.Adam()
            """,
            path="baseline.ipynb",
            expect=2,
        ),
        GOOD(
            """
            from sklearn.ensemble import RandomForestClassifier
            from sklearn.linear_model import LinearRegression
            from sklearn.preprocessing import StandardScaler

            rf = RandomForestClassifier(n_estimators=500, min_samples_leaf=3)
            lin = LinearRegression()
            scaler = StandardScaler()
            """
        ),
        GOOD(
            """
            import xgboost as xgb
            from sklearn.model_selection import GridSearchCV
            from sklearn.svm import SVC

            model = xgb.XGBClassifier()
            model.load_model("xgb_full.json")
            search = GridSearchCV(SVC(), {"C": [0.1, 1, 10]}, cv=5)
            """
        ),
        GOOD(
            """
            # %%
            import torch
            # %%
            PARAMS = {"n_estimators": 300}
            opt = torch.optim.AdamW(net.parameters(), lr=3e-4, weight_decay=0.01)
            sgd = torch.optim.SGD(net.parameters(), 0.1, momentum=0.9)
            """,
            path="train.ipynb",
        ),
    )

    def __init__(self, context: Any, options: Any) -> None:
        super().__init__(context, options)
        self.skip = is_test_module(context.path) or not mentions(context.text, _TUNABLE_GATE)
        self.candidates: dict[int, tuple[cst.Call, str]] = {}
        self.tuned: set[int] = set()
        self.classes: list[str] = []

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.classes.append(node.name.value)

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self.classes.pop()

    def visit_Call(self, node: cst.Call) -> None:
        if self.skip:
            return
        resolver = self.context.resolver
        method = resolver.method_call(node)
        if method is not None and method[1] in _LOADS:
            self.tuned.add(_key(method[0]))
        self._passed_with_a_grid(node)
        qualname = resolver.call_name(node)
        if qualname is None:
            return
        if qualname in _TUNED_BY:
            estimator = argument(node, 0, "estimator")
            if isinstance(estimator, cst.Call):
                self.tuned.add(id(estimator))
            elif estimator is not None:
                value = resolver.value_of(estimator)
                if value is not None:
                    self.tuned.add(_key(value))
            return
        if any(arg.star for arg in node.args) or self.classes:
            return  # inside a class: a library's default, configured by its users
        message = self._judge(qualname, node)
        if message is not None:
            self.candidates[id(node)] = (node, message)

    def _passed_with_a_grid(self, node: cst.Call) -> None:
        """``train_cv(model, X, y, param_grid)``: a model handed over with a search space."""
        if not self.candidates or len(node.args) < 2:
            return
        names = [_last_name(a.value) for a in node.args]
        if not any(name and _GRID_WORDS.search(name) for name in names):
            return
        for arg in node.args:
            if isinstance(arg.value, cst.Call):
                self.tuned.add(id(arg.value))
            else:
                value = self.context.resolver.value_of(arg.value)
                if value is not None and value.kind == ESTIMATOR:
                    self.tuned.add(_key(value))

    def _judge(self, qualname: str, node: cst.Call) -> str | None:
        head = qualname.partition(".")[0]
        name = _short(qualname)
        if not name[:1].isupper():
            return None
        if head == "torch" or head == "keras":
            return self._optimizer(qualname, node, name)
        if head == "sklearn":
            value = self.context.resolver.value_of(node)
            if value is None or value.type != qualname:
                return None
            if value.kind == ESTIMATOR:
                if name in _NOTHING_TO_TUNE or name.endswith("CV"):
                    return None
            elif value.kind != TRANSFORMER or name not in _TUNABLE_TRANSFORMERS:
                return None
        elif head in _BOOSTING_HEADS:
            value = self.context.resolver.value_of(node)
            if value is None or value.kind != ESTIMATOR or name == "Booster":
                return None
        elif qualname != "umap.UMAP":
            return None
        if any(
            arg.keyword is None or arg.keyword.value not in _NOT_HYPERPARAMETERS
            for arg in node.args
        ):
            return None
        return (
            f"`{name}` is built with every hyper-parameter at its default: write out the ones "
            "that matter (defaults change between versions and are rarely tuned for this data)"
        )

    def _optimizer(self, qualname: str, node: cst.Call, name: str) -> str | None:
        if qualname.startswith("torch."):
            value = self.context.resolver.value_of(node)
            if value is None or value.kind != OPTIMIZER:
                return None
            if keyword(node, "lr") is not None or positional(node, 1) is not None:
                return None
        elif qualname.startswith("keras.optimizers."):
            if name in ("Optimizer", "LossScaleOptimizer") or "schedules" in qualname:
                return None
            if any(arg.keyword is None for arg in node.args):
                return None
            if keyword(node, "learning_rate") is not None or keyword(node, "lr") is not None:
                return None
        else:
            return None
        return (
            f"`{name}` optimizer without a learning rate: the framework's default stands in "
            "for the most tuned hyper-parameter of training; write it out"
        )

    def leave_Module(self, original_node: cst.Module) -> None:
        for key, (node, message) in self.candidates.items():
            if key not in self.tuned:
                self.report(node, message)
