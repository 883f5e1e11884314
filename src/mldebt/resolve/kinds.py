"""What a value is: the kinds the resolver tracks and the library knowledge that infers them.

A kind is a coarse class of value that ML rules reason about (a DataFrame, a tensor, an
estimator...); the value's ``type`` names the class more precisely when it is known. All the
tables are plain data about public library APIs, matched on canonical qualified names
(see :func:`mldebt.resolve.names.canonical`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import libcst as cst

DATAFRAME = "dataframe"
SERIES = "series"
NDARRAY = "ndarray"
TENSOR = "tensor"
ESTIMATOR = "estimator"
TRANSFORMER = "transformer"
SPLITTER = "splitter"
OPTIMIZER = "optimizer"
SCHEDULER = "scheduler"
MODULE = "module"
DATALOADER = "dataloader"
KERAS_MODEL = "keras_model"
RNG = "rng"
GROUPBY = "groupby"

#: Every kind the resolver can report.
KINDS = frozenset(
    {
        DATAFRAME,
        SERIES,
        NDARRAY,
        TENSOR,
        ESTIMATOR,
        TRANSFORMER,
        SPLITTER,
        OPTIMIZER,
        SCHEDULER,
        MODULE,
        DATALOADER,
        KERAS_MODEL,
        RNG,
        GROUPBY,
    }
)


@dataclass(frozen=True, eq=False)
class Value:
    """What an expression evaluates to, as far as the resolver can tell without running it.

    ``kind`` is one of :data:`KINDS`. ``type`` is the most precise class known, as a canonical
    qualified name (``"sklearn.preprocessing.StandardScaler"``, ``"pandas.DataFrame"``,
    ``"torch.Tensor"``) or, for a class defined in the analysed file, its qualified name in the
    file (``"Net"``). ``origin`` is the expression that created the value (a constructor or
    reader call), handy as a related location. Methods that return their receiver
    (``model.to(device)``, ``est.fit(X, y)``) return the very same ``Value`` object, so
    ``a is b`` tells that two names hold one object.
    """

    kind: str
    type: str | None = None
    origin: cst.CSTNode | None = None

    def __repr__(self) -> str:
        return f"Value({self.kind!r}, {self.type!r})"


Evaluate = Callable[[cst.BaseExpression], "Value | None"]
#: The literal a name was last assigned (``TARGET = "label"``), or the expression itself.
Constant = Callable[[cst.BaseExpression], "cst.BaseExpression | None"]

_DF = "pandas.DataFrame"
_SERIES = "pandas.Series"
_ND = "numpy.ndarray"
_TORCH_TENSOR = "torch.Tensor"
_TF_TENSOR = "tensorflow.Tensor"
_DF_GROUPBY = "pandas.api.typing.DataFrameGroupBy"
_SERIES_GROUPBY = "pandas.api.typing.SeriesGroupBy"


# --- call arguments --------------------------------------------------------------------------


def keyword(call: cst.Call, name: str) -> cst.BaseExpression | None:
    """The value passed to keyword ``name``, if any."""
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return arg.value
    return None


def positional(call: cst.Call, index: int) -> cst.BaseExpression | None:
    """The ``index``-th positional argument (``None`` after a ``*args``)."""
    seen = 0
    for arg in call.args:
        if arg.keyword is not None:
            continue
        if arg.star:
            return None
        if seen == index:
            return arg.value
        seen += 1
    return None


def argument(call: cst.Call, index: int, name: str) -> cst.BaseExpression | None:
    """An argument given by position ``index`` or by keyword ``name``."""
    found = keyword(call, name)
    return found if found is not None else positional(call, index)


def _is_true(node: cst.BaseExpression | None) -> bool:
    return isinstance(node, cst.Name) and node.value == "True"


def _is_constant(node: cst.BaseExpression) -> bool:
    """A string or number literal (a column label, a row label, a position)."""
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus):
        node = node.expression
    return isinstance(node, (cst.SimpleString, cst.ConcatenatedString, cst.Integer, cst.Float))


# --- the kind of instances of a type ----------------------------------------------------------

_TYPE_KINDS: dict[str, tuple[str, str]] = {
    "pandas.DataFrame": (DATAFRAME, _DF),
    "pandas.Series": (SERIES, _SERIES),
    "numpy.ndarray": (NDARRAY, _ND),
    "numpy.typing.NDArray": (NDARRAY, _ND),
    "numpy.array": (NDARRAY, _ND),
    "torch.Tensor": (TENSOR, _TORCH_TENSOR),
    "torch.nn.Parameter": (TENSOR, _TORCH_TENSOR),
    "torch.nn.Buffer": (TENSOR, _TORCH_TENSOR),
    "torch.nn.UninitializedParameter": (TENSOR, _TORCH_TENSOR),
    "torch.nn.UninitializedBuffer": (TENSOR, _TORCH_TENSOR),
    "tensorflow.Tensor": (TENSOR, _TF_TENSOR),
    "tensorflow.Variable": (TENSOR, _TF_TENSOR),
    "torch.utils.data.DataLoader": (DATALOADER, "torch.utils.data.DataLoader"),
    "torch.Generator": (RNG, "torch.Generator"),
    "numpy.random.Generator": (RNG, "numpy.random.Generator"),
    "numpy.random.RandomState": (RNG, "numpy.random.RandomState"),
    "random.Random": (RNG, "random.Random"),
    "random.SystemRandom": (RNG, "random.SystemRandom"),
    "tensorflow.random.Generator": (RNG, "tensorflow.random.Generator"),
    "keras.Model": (KERAS_MODEL, "keras.Model"),
    "keras.Sequential": (KERAS_MODEL, "keras.Sequential"),
    "sklearn.base.BaseEstimator": (ESTIMATOR, "sklearn.base.BaseEstimator"),
    "sklearn.base.TransformerMixin": (TRANSFORMER, "sklearn.base.TransformerMixin"),
    "sklearn.base.ClassifierMixin": (ESTIMATOR, "sklearn.base.ClassifierMixin"),
    "sklearn.base.RegressorMixin": (ESTIMATOR, "sklearn.base.RegressorMixin"),
    "transformers.PreTrainedModel": (MODULE, "transformers.PreTrainedModel"),
    "transformers.modeling_utils.PreTrainedModel": (MODULE, "transformers.PreTrainedModel"),
    "transformers.TFPreTrainedModel": (KERAS_MODEL, "transformers.TFPreTrainedModel"),
}
_TENSOR_CLASSES = re.compile(
    r"^torch\.(cuda\.)?(Float|Double|Half|BFloat16|Long|Int|Short|Char|Byte|Bool)Tensor$"
)
# torch.nn classes whose call does not return one tensor.
_NN_TUPLE_OUTPUT = frozenset({"RNN", "LSTM", "GRU", "MultiheadAttention"})


def type_kind(qualname: str) -> tuple[str, str] | None:
    """``(kind, type)`` of instances of the class ``qualname`` names, if it is a known one.

    Used for annotations (``df: pd.DataFrame``) and base classes (``class Net(nn.Module)``).
    """
    found = _TYPE_KINDS.get(qualname)
    if found is not None:
        return found
    if _TENSOR_CLASSES.match(qualname):
        return TENSOR, _TORCH_TENSOR
    head, _, rest = qualname.partition(".")
    last = qualname.rpartition(".")[2]
    if head == "torch":
        if rest.startswith("nn.") and last[:1].isupper() and rest.count(".") <= 2:
            if rest.startswith(("nn.utils.", "nn.init.", "nn.functional.")):
                return None
            return MODULE, qualname
        if rest.startswith("optim.lr_scheduler.") and last[:1].isupper():
            return SCHEDULER, qualname
        if rest.startswith("optim.") and last[:1].isupper() and rest.count(".") == 1:
            return OPTIMIZER, qualname
        return None
    if head == "sklearn":
        kind = _sklearn_class_kind(qualname)
        return (kind, qualname) if kind else None
    if head in _BOOSTING:
        return (ESTIMATOR, qualname) if last in _BOOSTING[head] else None
    if head == "keras":
        if last in ("Model", "Sequential", "Functional") or rest.startswith("applications."):
            return KERAS_MODEL, qualname
        return None
    if head == "transformers" and last[:1].isupper():
        return _hf_class_kind(last, qualname)
    return None


# --- scikit-learn and gradient boosting -------------------------------------------------------

_SK_TRANSFORMER_PACKAGES = frozenset(
    {
        "preprocessing",
        "impute",
        "decomposition",
        "feature_extraction",
        "feature_selection",
        "random_projection",
        "kernel_approximation",
        "manifold",
    }
)
_SK_ESTIMATOR_PACKAGES = frozenset(
    {
        "linear_model",
        "ensemble",
        "svm",
        "tree",
        "neighbors",
        "naive_bayes",
        "neural_network",
        "cluster",
        "gaussian_process",
        "discriminant_analysis",
        "kernel_ridge",
        "isotonic",
        "dummy",
        "multiclass",
        "multioutput",
        "calibration",
        "semi_supervised",
        "mixture",
        "covariance",
        "cross_decomposition",
        "frozen",
    }
)
_SK_TRANSFORMERS_ELSEWHERE = frozenset(
    {
        "sklearn.compose.ColumnTransformer",
        "sklearn.pipeline.FeatureUnion",
        "sklearn.neighbors.KNeighborsTransformer",
        "sklearn.neighbors.RadiusNeighborsTransformer",
        "sklearn.neighbors.NeighborhoodComponentsAnalysis",
        "sklearn.cross_decomposition.PLSSVD",
        "sklearn.cross_decomposition.CCA",
    }
)
_SK_ESTIMATORS_ELSEWHERE = frozenset(
    {
        "sklearn.pipeline.Pipeline",
        "sklearn.compose.TransformedTargetRegressor",
    }
)
_SK_SPLITTER_NAMES = re.compile(r"(Fold|Split|Out|SplitCV)$")


def _sklearn_class_kind(qualname: str) -> str | None:
    parts = qualname.split(".")
    if len(parts) < 3 or not parts[-1][:1].isupper():
        return None
    if qualname in _SK_TRANSFORMERS_ELSEWHERE:
        return TRANSFORMER
    if qualname in _SK_ESTIMATORS_ELSEWHERE:
        return ESTIMATOR
    package, name = parts[1], parts[-1]
    if len(parts) > 3 and parts[2] == "kernels":  # gaussian_process.kernels.RBF: a kernel
        return None
    if package == "model_selection":
        if name.endswith("CV"):
            return ESTIMATOR
        return SPLITTER if _SK_SPLITTER_NAMES.search(name) else None
    if package in _SK_TRANSFORMER_PACKAGES:
        return TRANSFORMER
    if package in _SK_ESTIMATOR_PACKAGES:
        return ESTIMATOR
    return None


_BOOSTING: dict[str, frozenset[str]] = {
    "xgboost": frozenset(
        {
            "XGBClassifier",
            "XGBRegressor",
            "XGBRanker",
            "XGBRFClassifier",
            "XGBRFRegressor",
            "XGBModel",
            "Booster",
        }
    ),
    "lightgbm": frozenset(
        {"LGBMClassifier", "LGBMRegressor", "LGBMRanker", "LGBMModel", "Booster"}
    ),
    "catboost": frozenset(
        {"CatBoost", "CatBoostClassifier", "CatBoostRegressor", "CatBoostRanker"}
    ),
}
_SK_ARRAY_FUNCTIONS = frozenset(
    {
        "sklearn.preprocessing.scale",
        "sklearn.preprocessing.normalize",
        "sklearn.preprocessing.minmax_scale",
        "sklearn.preprocessing.maxabs_scale",
        "sklearn.preprocessing.robust_scale",
        "sklearn.preprocessing.quantile_transform",
        "sklearn.preprocessing.power_transform",
        "sklearn.preprocessing.binarize",
        "sklearn.preprocessing.label_binarize",
        "sklearn.model_selection.cross_val_predict",
        "sklearn.model_selection.cross_val_score",
    }
)


def _sklearn_call(qualname: str, call: cst.Call, evaluate: Evaluate) -> Value | None:
    if qualname in _SK_ARRAY_FUNCTIONS:
        return Value(NDARRAY, _ND, call)
    if qualname == "sklearn.pipeline.Pipeline":
        steps = argument(call, 0, "steps")
        last = _last_step(steps, evaluate) if steps is not None else None
        kind = last.kind if last is not None and last.kind == TRANSFORMER else ESTIMATOR
        return Value(kind, qualname, call)
    if qualname == "sklearn.pipeline.make_pipeline":
        last_arg = None
        for arg in call.args:
            if arg.keyword is None and not arg.star:
                last_arg = arg.value
        last = evaluate(last_arg) if last_arg is not None else None
        kind = last.kind if last is not None and last.kind == TRANSFORMER else ESTIMATOR
        return Value(kind, "sklearn.pipeline.Pipeline", call)
    if qualname in ("sklearn.pipeline.make_union", "sklearn.compose.make_column_transformer"):
        return Value(TRANSFORMER, qualname, call)
    if qualname == "sklearn.base.clone":
        original = positional(call, 0)
        found = evaluate(original) if original is not None else None
        return Value(found.kind, found.type, call) if found is not None else None
    class_kind = _sklearn_class_kind(qualname)
    return Value(class_kind, qualname, call) if class_kind else None


def _last_step(steps: cst.BaseExpression, evaluate: Evaluate) -> Value | None:
    if not isinstance(steps, (cst.List, cst.Tuple)) or not steps.elements:
        return None
    last = steps.elements[-1].value
    if isinstance(last, cst.Tuple) and len(last.elements) == 2:
        return evaluate(last.elements[1].value)
    return None


def _boosting_call(qualname: str, call: cst.Call) -> Value | None:
    head, _, rest = qualname.partition(".")
    if rest in _BOOSTING[head]:
        return Value(ESTIMATOR, qualname, call)
    if rest == "train" and head in ("xgboost", "lightgbm"):
        return Value(ESTIMATOR, f"{head}.Booster", call)
    return None


# --- pandas -----------------------------------------------------------------------------------

_PANDAS_FRAMES = frozenset(
    {
        "pandas.DataFrame",
        "pandas.DataFrame.from_dict",
        "pandas.DataFrame.from_records",
        "pandas.merge",
        "pandas.merge_asof",
        "pandas.merge_ordered",
        "pandas.get_dummies",
        "pandas.pivot",
        "pandas.pivot_table",
        "pandas.crosstab",
        "pandas.json_normalize",
        "pandas.melt",
        "pandas.wide_to_long",
    }
)
# Readers that return something other than one DataFrame.
_PANDAS_OTHER_READERS = frozenset({"pandas.read_html", "pandas.read_pickle"})
_PANDAS_LIKE_ARGUMENT = frozenset(
    {
        "pandas.to_datetime",
        "pandas.to_numeric",
        "pandas.to_timedelta",
        "pandas.cut",
        "pandas.qcut",
        "pandas.isna",
        "pandas.isnull",
        "pandas.notna",
        "pandas.notnull",
    }
)


def _pandas_call(qualname: str, call: cst.Call, evaluate: Evaluate) -> Value | None:
    if qualname in _PANDAS_FRAMES:
        return Value(DATAFRAME, _DF, call)
    if qualname == "pandas.Series":
        return Value(SERIES, _SERIES, call)
    if qualname.startswith("pandas.read_"):
        if qualname in _PANDAS_OTHER_READERS:
            return None
        if keyword(call, "chunksize") is not None or _is_true(keyword(call, "iterator")):
            return None
        if qualname == "pandas.read_excel":
            sheet = keyword(call, "sheet_name")
            if sheet is not None and not _is_constant(sheet):
                return None  # a list of sheets or None gives a dict of frames
        if qualname == "pandas.read_json":
            typ = keyword(call, "typ")
            if isinstance(typ, cst.SimpleString) and "series" in typ.value:
                return Value(SERIES, _SERIES, call)
        return Value(DATAFRAME, _DF, call)
    if qualname == "pandas.concat":
        return _concat(call, evaluate)
    if qualname in _PANDAS_LIKE_ARGUMENT:
        first = positional(call, 0)
        found = evaluate(first) if first is not None else None
        if found is not None and found.kind in (SERIES, DATAFRAME, NDARRAY):
            kind = (
                SERIES if qualname.endswith(("cut", "datetime", "numeric", "timedelta")) else None
            )
            if found.kind == DATAFRAME and kind is None:
                return Value(DATAFRAME, _DF, call)
            if found.kind == NDARRAY:
                return Value(NDARRAY, _ND, call)
            return Value(SERIES, _SERIES, call)
    return None


def _concat(call: cst.Call, evaluate: Evaluate) -> Value:
    """``pd.concat``: Series only when every piece is known to be a Series, stacked on axis 0."""
    pieces = argument(call, 0, "objs")
    axis = keyword(call, "axis")
    along_columns = axis is not None and (
        (isinstance(axis, cst.Integer) and axis.value == "1")
        or (isinstance(axis, cst.SimpleString) and "columns" in axis.value)
    )
    if isinstance(pieces, (cst.List, cst.Tuple)) and pieces.elements and not along_columns:
        kinds = set()
        for element in pieces.elements:
            found = evaluate(element.value)
            kinds.add(found.kind if found is not None else None)
        if kinds == {SERIES}:
            return Value(SERIES, _SERIES, call)
    return Value(DATAFRAME, _DF, call)


# DataFrame methods returning a DataFrame (unless ``inplace=True``).
_FRAME_TO_FRAME = frozenset(
    {
        "abs",
        "add",
        "add_prefix",
        "add_suffix",
        "agg",
        "aggregate",
        "align",
        "append",
        "applymap",
        "asfreq",
        "assign",
        "astype",
        "bfill",
        "clip",
        "combine",
        "combine_first",
        "convert_dtypes",
        "copy",
        "corr",
        "cov",
        "cummax",
        "cummin",
        "cumprod",
        "cumsum",
        "describe",
        "diff",
        "div",
        "divide",
        "drop",
        "drop_duplicates",
        "droplevel",
        "dropna",
        "eval",
        "explode",
        "ffill",
        "fillna",
        "filter",
        "first",
        "head",
        "infer_objects",
        "interpolate",
        "isin",
        "isna",
        "isnull",
        "join",
        "last",
        "map",
        "mask",
        "melt",
        "merge",
        "mod",
        "mode",
        "mul",
        "multiply",
        "nlargest",
        "notna",
        "notnull",
        "nsmallest",
        "pct_change",
        "pivot",
        "pivot_table",
        "pow",
        "query",
        "rank",
        "reindex",
        "rename",
        "rename_axis",
        "reorder_levels",
        "replace",
        "reset_index",
        "round",
        "sample",
        "select_dtypes",
        "set_axis",
        "set_index",
        "shift",
        "sort_index",
        "sort_values",
        "sub",
        "subtract",
        "swapaxes",
        "tail",
        "transform",
        "transpose",
        "truediv",
        "truncate",
        "tz_convert",
        "tz_localize",
        "unstack",
        "where",
    }
)
# DataFrame methods returning a Series (reductions along an axis and friends).
_FRAME_TO_SERIES = frozenset(
    {
        "all",
        "any",
        "count",
        "idxmax",
        "idxmin",
        "kurt",
        "kurtosis",
        "max",
        "mean",
        "median",
        "memory_usage",
        "min",
        "nunique",
        "prod",
        "product",
        "quantile",
        "sem",
        "skew",
        "stack",
        "std",
        "sum",
        "var",
        "value_counts",
        "corrwith",
        "duplicated",
    }
)
_SERIES_TO_SERIES = frozenset(
    {
        "abs",
        "add",
        "apply",
        "astype",
        "between",
        "bfill",
        "clip",
        "copy",
        "cummax",
        "cummin",
        "cumprod",
        "cumsum",
        "diff",
        "div",
        "drop",
        "drop_duplicates",
        "dropna",
        "duplicated",
        "ffill",
        "fillna",
        "head",
        "interpolate",
        "isin",
        "isna",
        "isnull",
        "map",
        "mask",
        "mod",
        "mul",
        "nlargest",
        "notna",
        "notnull",
        "nsmallest",
        "pct_change",
        "pow",
        "rank",
        "reindex",
        "rename",
        "replace",
        "round",
        "sample",
        "shift",
        "sort_index",
        "sort_values",
        "sub",
        "tail",
        "transform",
        "truediv",
        "value_counts",
        "where",
    }
)
_SERIES_ACCESSORS = frozenset({"str", "dt", "cat"})
# Attributes and methods of a DataFrame: anything else read as ``df.name`` is a column.
_FRAME_API = (
    _FRAME_TO_FRAME
    | _FRAME_TO_SERIES
    | frozenset(
        {
            "T",
            "apply",
            "at",
            "attrs",
            "axes",
            "columns",
            "dtypes",
            "empty",
            "flags",
            "groupby",
            "iat",
            "iloc",
            "index",
            "info",
            "items",
            "iterrows",
            "itertuples",
            "loc",
            "ndim",
            "pipe",
            "plot",
            "rolling",
            "expanding",
            "ewm",
            "resample",
            "shape",
            "size",
            "style",
            "to_numpy",
            "values",
            "keys",
            "get",
            "pop",
            "insert",
            "update",
            "equals",
            "sparse",
        }
    )
)
_REDUCTIONS = frozenset(
    {
        "sum",
        "mean",
        "std",
        "var",
        "min",
        "max",
        "amin",
        "amax",
        "argmin",
        "argmax",
        "median",
        "prod",
        "any",
        "all",
        "nansum",
        "nanmean",
        "nanstd",
        "nanvar",
        "nanmin",
        "nanmax",
        "nanmedian",
        "nanargmin",
        "nanargmax",
        "average",
        "percentile",
        "quantile",
        "ptp",
        "count_nonzero",
        "trace",
        "linalg.norm",
        "linalg.det",
        "linalg.matrix_rank",
        "linalg.cond",
    }
)


def _frame_method(receiver: Value, method: str, call: cst.Call) -> Value | None:
    if method in ("to_numpy", "to_records"):
        return Value(NDARRAY, _ND, call)
    if method == "groupby":
        return Value(GROUPBY, _DF_GROUPBY, call)
    if method in _FRAME_TO_FRAME:
        return Value(DATAFRAME, _DF, call)
    if method in _FRAME_TO_SERIES:
        return Value(SERIES, _SERIES, call)
    if method == "apply":
        axis = keyword(call, "axis")
        if axis is not None and (
            (isinstance(axis, cst.Integer) and axis.value == "1")
            or (isinstance(axis, cst.SimpleString) and "columns" in axis.value)
        ):
            return Value(SERIES, _SERIES, call)
    return None


def _series_method(receiver: Value, method: str, call: cst.Call) -> Value | None:
    if method in ("to_numpy", "unique"):
        return Value(NDARRAY, _ND, call)
    if method in ("to_frame", "unstack"):
        return Value(DATAFRAME, _DF, call)
    if method == "groupby":
        return Value(GROUPBY, _SERIES_GROUPBY, call)
    if method == "reset_index":
        if _is_true(keyword(call, "drop")):
            return Value(SERIES, _SERIES, call)
        return Value(DATAFRAME, _DF, call)
    if method in _SERIES_TO_SERIES:
        return Value(SERIES, _SERIES, call)
    return None


def _groupby_method(receiver: Value, method: str, call: cst.Call) -> Value | None:
    if method in ("size", "ngroup", "cumcount"):
        return Value(SERIES, _SERIES, call)
    if method in ("get_group",):
        return Value(DATAFRAME, _DF, call)
    if method in ("agg", "aggregate") and receiver.type == _DF_GROUPBY:
        return Value(DATAFRAME, _DF, call)
    reducing = method in _FRAME_TO_SERIES or method in (
        "agg",
        "aggregate",
        "transform",
        "first",
        "last",
        "nth",
        "head",
        "tail",
        "cumsum",
        "shift",
        "diff",
        "rank",
        "fillna",
        "apply",
        "filter",
    )
    if not reducing:
        return None
    if receiver.type == _SERIES_GROUPBY:
        return Value(SERIES, _SERIES, call)
    if method in ("apply", "filter"):
        return None
    return Value(DATAFRAME, _DF, call)


# --- numpy ------------------------------------------------------------------------------------

_NUMPY_NOT_ARRAYS = frozenset(
    {
        "seed",
        "save",
        "savez",
        "savez_compressed",
        "savetxt",
        "set_printoptions",
        "get_printoptions",
        "printoptions",
        "errstate",
        "seterr",
        "geterr",
        "dtype",
        "finfo",
        "iinfo",
        "shape",
        "ndim",
        "size",
        "isscalar",
        "allclose",
        "array_equal",
        "array_equiv",
        "may_share_memory",
        "shares_memory",
        "result_type",
        "promote_types",
        "can_cast",
        "issubdtype",
        "info",
        "show_config",
        "copyto",
        "put",
        "place",
        "fill_diagonal",
        "unravel_index",
        "nonzero",
        "histogram",
        "histogram2d",
        "histogramdd",
        "meshgrid",
        "split",
        "array_split",
        "hsplit",
        "vsplit",
        "dsplit",
        "vectorize",
        "frompyfunc",
        "ndindex",
        "ndenumerate",
        "nditer",
        "broadcast",
        "einsum_path",
        "load",
        "linalg.svd",
        "linalg.eig",
        "linalg.eigh",
        "linalg.qr",
        "linalg.slogdet",
        "linalg.lstsq",
        "random.seed",
        "random.set_state",
        "random.get_state",
        "random.shuffle",
        "random.default_rng",
        "random.Generator",
        "random.RandomState",
        "random.SeedSequence",
        "random.PCG64",
        "random.MT19937",
        "random.Philox",
        "random.SFC64",
        "random.BitGenerator",
        "testing",
        "bool",
        "object",
        "str",
        "datetime64",
        "timedelta64",
    }
)
_NUMPY_RNG = frozenset({"random.default_rng", "random.Generator", "random.RandomState"})
_NUMPY_SCALAR_TYPES = re.compile(r"^(u?int|float|complex|bool|str|bytes|object|void)\d*_?$")
_NUMPY_NAMESPACES = frozenset({"", "linalg", "fft", "random", "ma", "lib", "char", "emath"})


def _numpy_call(qualname: str, call: cst.Call) -> Value | None:
    name = qualname[len("numpy.") :]
    if name in _NUMPY_RNG:
        return Value(RNG, "numpy.random.Generator" if "RandomState" not in name else qualname, call)
    if name == "load":
        first = argument(call, 0, "file")
        if isinstance(first, cst.SimpleString) and ".npz" in first.value:
            return None
        return Value(NDARRAY, _ND, call)
    if name in _NUMPY_NOT_ARRAYS:
        return None
    if name in _REDUCTIONS:
        if keyword(call, "axis") is not None or positional(call, 1) is not None:
            return Value(NDARRAY, _ND, call)
        return None
    namespace, _, function = name.rpartition(".")
    if namespace not in _NUMPY_NAMESPACES or not function[:1].islower():
        return None
    if _NUMPY_SCALAR_TYPES.match(function):
        return None
    if name in ("where", "unique") and (
        positional(call, 1) is None
        if name == "where"
        else any(a.keyword is not None and a.keyword.value.startswith("return_") for a in call.args)
    ):
        return None
    return Value(NDARRAY, _ND, call)


_ARRAY_NOT_ARRAYS = frozenset(
    {
        "tolist",
        "item",
        "tobytes",
        "tostring",
        "dump",
        "dumps",
        "fill",
        "sort",
        "resize",
        "put",
        "setflags",
        "nonzero",
        "itemset",
        "setfield",
    }
)


def _ndarray_method(method: str, call: cst.Call) -> Value | None:
    if method in _ARRAY_NOT_ARRAYS:
        return None
    if method in _REDUCTIONS:
        if keyword(call, "axis") is not None or positional(call, 0) is not None:
            return Value(NDARRAY, _ND, call)
        return None
    if method.startswith("__"):
        return None
    return Value(NDARRAY, _ND, call)


# --- torch ------------------------------------------------------------------------------------

_TORCH_NOT_TENSORS = frozenset(
    {
        "manual_seed",
        "seed",
        "initial_seed",
        "no_grad",
        "enable_grad",
        "inference_mode",
        "set_grad_enabled",
        "is_grad_enabled",
        "device",
        "dtype",
        "save",
        "load",
        "set_default_dtype",
        "get_default_dtype",
        "set_default_device",
        "set_default_tensor_type",
        "set_num_threads",
        "get_num_threads",
        "set_num_interop_threads",
        "get_num_interop_threads",
        "set_printoptions",
        "use_deterministic_algorithms",
        "are_deterministic_algorithms_enabled",
        "set_deterministic_debug_mode",
        "get_deterministic_debug_mode",
        "is_tensor",
        "is_storage",
        "is_floating_point",
        "is_complex",
        "is_nonzero",
        "numel",
        "compile",
        "typename",
        "set_float32_matmul_precision",
        "get_float32_matmul_precision",
        "autocast",
        "set_rng_state",
        "chunk",
        "split",
        "tensor_split",
        "unbind",
        "meshgrid",
        "sort",
        "topk",
        "kthvalue",
        "mode",
        "broadcast_tensors",
        "equal",
        "allclose",
        "is_same_size",
        "result_type",
        "promote_types",
        "can_cast",
        "finfo",
        "iinfo",
        "get_device",
        "vmap",
        "std_mean",
        "var_mean",
        "aminmax",
        "frexp",
        "histogram",
        "broadcast_shapes",
        "svd_lowrank",
        "lobpcg",
        "cuda",
        "empty_cache",
        "synchronize",
        "get_autocast_gpu_dtype",
        "is_autocast_enabled",
        "from_file",
        "unique_consecutive",
    }
)
# Top-level functions named like queries and settings: torch.is_grad_enabled, get_rng_state...
_NOT_MAKERS = ("is_", "get_", "set_", "are_", "use_")
_TORCH_TENSOR_NAMESPACES = frozenset({"", "linalg", "fft", "special", "nn.functional"})
_TORCH_MAYBE_TUPLE = frozenset({"max", "min", "median", "nanmedian", "unique"})
_TENSOR_NOT_TENSORS = frozenset(
    {
        "item",
        "tolist",
        "size",
        "dim",
        "ndimension",
        "numel",
        "nelement",
        "backward",
        "element_size",
        "data_ptr",
        "get_device",
        "register_hook",
        "storage",
        "untyped_storage",
        "is_contiguous",
        "is_floating_point",
        "is_complex",
        "is_pinned",
        "is_shared",
        "equal",
        "type",
        "chunk",
        "split",
        "tensor_split",
        "unbind",
        "sort",
        "topk",
        "kthvalue",
        "mode",
        "aminmax",
        "frexp",
        "histogram",
        "retain_grad",
        "share_memory_",
        "stride",
        "storage_offset",
        "tobytes",
        "dim_order",
        "has_names",
        "is_set_to",
        "unique_consecutive",
    }
)
_MODULE_RETURNS_SELF = frozenset(
    {
        "to",
        "cuda",
        "cpu",
        "train",
        "eval",
        "float",
        "half",
        "double",
        "bfloat16",
        "requires_grad_",
        "apply",
        "share_memory",
        "to_empty",
        "xpu",
        "ipu",
        "mps",
        "type",
    }
)


def _torch_call(qualname: str, call: cst.Call, evaluate: Evaluate) -> Value | None:
    name = qualname[len("torch.") :]
    found = type_kind(qualname)
    if found is not None:
        return Value(found[0], found[1], call)
    if name in ("nn.DataParallel", "nn.parallel.DistributedDataParallel"):
        return Value(MODULE, qualname, call)
    if name in ("utils.data.DataLoader",):
        return Value(DATALOADER, qualname, call)
    if name in ("jit.load", "jit.script", "jit.trace", "hub.load"):
        return Value(MODULE, qualname, call)
    if name in ("tensor", "as_tensor", "from_numpy", "Tensor"):
        return Value(TENSOR, _TORCH_TENSOR, call)
    if name == "compile":
        first = positional(call, 0)
        wrapped = evaluate(first) if first is not None else None
        return wrapped if wrapped is not None and wrapped.kind == MODULE else None
    namespace, _, function = name.rpartition(".")
    if namespace not in _TORCH_TENSOR_NAMESPACES or not function[:1].islower():
        return None
    if not namespace and (function in _TORCH_NOT_TENSORS or function.startswith(_NOT_MAKERS)):
        return None
    if function in _TORCH_MAYBE_TUPLE and (
        keyword(call, "dim") is not None
        or isinstance(positional(call, 1), cst.Integer)
        or any(a.keyword is not None and a.keyword.value.startswith("return_") for a in call.args)
    ):
        return None
    if function == "where" and positional(call, 1) is None:
        return None
    return Value(TENSOR, _TORCH_TENSOR, call)


def _tensor_method(receiver: Value, method: str, call: cst.Call) -> Value | None:
    if method == "numpy":
        return Value(NDARRAY, _ND, call)
    if method in _TENSOR_NOT_TENSORS or method.startswith("__"):
        return None
    if method in _TORCH_MAYBE_TUPLE and (
        keyword(call, "dim") is not None or isinstance(positional(call, 0), cst.Integer)
    ):
        return None
    if receiver.type == _TF_TENSOR:
        return None  # TF tensors have few methods; numpy() is the one that matters
    return Value(TENSOR, receiver.type, call)


# --- TensorFlow and Keras -----------------------------------------------------------------------

_TF_TENSOR_FUNCTIONS = frozenset(
    {
        "constant",
        "Variable",
        "zeros",
        "ones",
        "zeros_like",
        "ones_like",
        "fill",
        "range",
        "concat",
        "stack",
        "reshape",
        "cast",
        "convert_to_tensor",
        "matmul",
        "add",
        "multiply",
        "subtract",
        "divide",
        "exp",
        "sqrt",
        "square",
        "abs",
        "reduce_sum",
        "reduce_mean",
        "reduce_max",
        "reduce_min",
        "reduce_prod",
        "argmax",
        "argmin",
        "expand_dims",
        "squeeze",
        "transpose",
        "gather",
        "gather_nd",
        "where",
        "clip_by_value",
        "one_hot",
        "identity",
        "tile",
        "pad",
        "maximum",
        "minimum",
        "sigmoid",
        "tanh",
        "einsum",
        "linspace",
        "eye",
        "norm",
        "boolean_mask",
        "scatter_nd",
        "tensor_scatter_nd_update",
        "random.normal",
        "random.uniform",
        "random.truncated_normal",
        "random.shuffle",
        "random.categorical",
        "random.gamma",
        "random.poisson",
    }
)
_TF_TENSOR_NAMESPACES = ("math.", "nn.", "linalg.", "image.", "signal.")


def _tf_call(qualname: str, call: cst.Call) -> Value | None:
    name = qualname[len("tensorflow.") :]
    if name in ("random.Generator", "random.Generator.from_seed", "random.get_global_generator"):
        return Value(RNG, "tensorflow.random.Generator", call)
    function = name.rpartition(".")[2]
    if name in _TF_TENSOR_FUNCTIONS or (
        name.startswith(_TF_TENSOR_NAMESPACES) and function[:1].islower()
    ):
        return Value(TENSOR, _TF_TENSOR, call)
    return None


def _keras_call(qualname: str, call: cst.Call) -> Value | None:
    if qualname in ("keras.models.load_model", "keras.saving.load_model"):
        return Value(KERAS_MODEL, "keras.Model", call)
    found = type_kind(qualname)
    if found is not None and found[0] == KERAS_MODEL:
        return Value(KERAS_MODEL, found[1], call)
    return None


# --- Hugging Face transformers --------------------------------------------------------------------

_HF_NOT_MODELS = (
    "Config",
    "Tokenizer",
    "Processor",
    "FeatureExtractor",
    "Output",
    "Pipeline",
    "Trainer",
    "Arguments",
    "Collator",
    "Callback",
    "Mixin",
    "Cache",
    "Encoder",
    "Decoder",
    "Embeddings",
    "Layer",
    "Attention",
)


def _hf_class_kind(name: str, qualname: str) -> tuple[str, str] | None:
    if name.startswith("Flax") or any(part in name for part in _HF_NOT_MODELS):
        return None
    if not (name.startswith(("AutoModel", "TFAutoModel")) or "Model" in name or "For" in name):
        return None
    if name.startswith("TF"):
        return KERAS_MODEL, qualname
    return MODULE, qualname


def _hf_call(qualname: str, call: cst.Call) -> Value | None:
    cls = (
        qualname[: -len(".from_pretrained")] if qualname.endswith(".from_pretrained") else qualname
    )
    found = type_kind(cls)
    if found is not None:
        return Value(found[0], found[1], call)
    return None


# --- entry points ---------------------------------------------------------------------------


def call_value(qualname: str, call: cst.Call, evaluate: Evaluate) -> Value | None:
    """What calling the library callable ``qualname`` returns (a constructor, a reader...)."""
    head = qualname.partition(".")[0]
    if head == "pandas":
        return _pandas_call(qualname, call, evaluate)
    if head == "numpy":
        return _numpy_call(qualname, call)
    if head == "torch":
        return _torch_call(qualname, call, evaluate)
    if head == "sklearn":
        return _sklearn_call(qualname, call, evaluate)
    if head in _BOOSTING:
        return _boosting_call(qualname, call)
    if head == "tensorflow":
        return _tf_call(qualname, call)
    if head == "keras":
        return _keras_call(qualname, call)
    if head == "transformers":
        return _hf_call(qualname, call)
    if qualname in ("random.Random", "random.SystemRandom"):
        return Value(RNG, qualname, call)
    return None


_ESTIMATOR_TO_ARRAY = frozenset(
    {
        "transform",
        "fit_transform",
        "inverse_transform",
        "predict",
        "predict_proba",
        "predict_log_proba",
        "decision_function",
        "fit_predict",
        "score_samples",
    }
)


def method_value(receiver: Value, method: str, call: cst.Call) -> Value | None:
    """What ``receiver.method(...)`` returns, for a receiver of a known kind."""
    if _is_true(keyword(call, "inplace")):
        return None
    kind = receiver.kind
    if kind == DATAFRAME:
        return _frame_method(receiver, method, call)
    if kind == SERIES:
        return _series_method(receiver, method, call)
    if kind == GROUPBY:
        return _groupby_method(receiver, method, call)
    if kind == NDARRAY:
        return _ndarray_method(method, call)
    if kind == TENSOR:
        return _tensor_method(receiver, method, call)
    if kind == MODULE:
        if method in _MODULE_RETURNS_SELF:
            return receiver
        return None
    if kind in (ESTIMATOR, TRANSFORMER):
        if method in ("fit", "set_params", "partial_fit", "set_output"):
            return receiver
        if method in _ESTIMATOR_TO_ARRAY:
            return Value(NDARRAY, _ND, call)
        return None
    if kind == KERAS_MODEL:
        if method in ("predict", "predict_on_batch"):
            return Value(NDARRAY, _ND, call)
        return None
    if kind == RNG:
        if receiver.type == "torch.Generator" and method == "manual_seed":
            return receiver
        if receiver.type in ("numpy.random.Generator", "numpy.random.RandomState"):
            if method in ("shuffle", "seed", "get_state", "set_state", "spawn", "bit_generator"):
                return None
            return Value(NDARRAY, _ND, call)
        return None
    return None


_ARRAY_ATTRIBUTES = frozenset({"T", "real", "imag", "mT", "H", "mH", "data", "grad", "flat"})
_ESTIMATOR_ARRAYS = frozenset(
    {"coef_", "intercept_", "feature_importances_", "components_", "classes_", "mean_", "scale_"}
)


def attribute_value(receiver: Value, name: str, node: cst.Attribute) -> Value | None:
    """What ``receiver.name`` holds, for a receiver of a known kind (no call)."""
    kind = receiver.kind
    if kind == DATAFRAME:
        if name == "values":
            return Value(NDARRAY, _ND, node)
        if name == "T":
            return Value(DATAFRAME, _DF, node)
        if name in _FRAME_API or name.startswith("_"):
            return None
        return Value(SERIES, _SERIES, node)  # df.column
    if kind == SERIES:
        if name == "values":
            return Value(NDARRAY, _ND, node)
        if name == "T":
            return receiver
        return None
    if kind == TENSOR:
        if name in ("T", "mT", "H", "mH", "data", "grad", "real", "imag"):
            return Value(TENSOR, receiver.type, node)
        return None
    if kind == NDARRAY:
        return Value(NDARRAY, _ND, node) if name in ("T", "real", "imag", "mT") else None
    if kind == MODULE:
        if name in ("weight", "bias"):
            return Value(TENSOR, _TORCH_TENSOR, node)
        if name == "module":  # DataParallel(model).module
            return Value(MODULE, None, node)
        return None
    if kind in (ESTIMATOR, TRANSFORMER):
        if name in _ESTIMATOR_ARRAYS:
            return Value(NDARRAY, _ND, node)
        if name == "best_estimator_":
            return Value(ESTIMATOR, None, node)
        return None
    return None


def call_on_value(callee: Value, call: cst.Call) -> Value | None:
    """What calling a value returns (``model(x)``, ``loss_fn(out, y)``), for library types."""
    if callee.kind == MODULE and callee.type and callee.type.startswith("torch.nn."):
        if callee.type.rpartition(".")[2] in _NN_TUPLE_OUTPUT:
            return None
        return Value(TENSOR, _TORCH_TENSOR, call)
    if callee.kind == KERAS_MODEL and callee.type and callee.type.startswith("keras."):
        return Value(TENSOR, _TF_TENSOR, call)
    return None


def subscript_value(
    receiver: Value, node: cst.Subscript, evaluate: Evaluate, constant: Constant
) -> Value | None:
    """What ``receiver[...]`` is: a column, a frame of columns or rows, an element..."""
    kind = receiver.kind
    if kind in (TENSOR, NDARRAY):
        return Value(kind, receiver.type, node)
    if kind not in (DATAFRAME, SERIES, GROUPBY) or len(node.slice) != 1:
        return None
    picked = _selection(node.slice[0].slice, evaluate, constant)
    if kind == GROUPBY:
        if picked == _ONE:
            return Value(GROUPBY, _SERIES_GROUPBY, node)
        return Value(GROUPBY, _DF_GROUPBY, node) if picked == _MANY else None
    if picked == _ONE:
        return Value(SERIES, _SERIES, node) if kind == DATAFRAME else None
    if picked == _MANY:
        return Value(kind, receiver.type, node)
    return None


def indexer_value(
    frame: Value, indexer: str, node: cst.Subscript, evaluate: Evaluate, constant: Constant
) -> Value | None:
    """``df.loc[...]`` / ``df.iloc[...]``: rows and columns picked by label or position."""
    if indexer in ("at", "iat"):
        return None
    parts: list[cst.BaseSlice] = [e.slice for e in node.slice]
    if len(parts) == 1 and isinstance(parts[0], cst.Index):
        only = parts[0].value
        if isinstance(only, cst.Tuple) and len(only.elements) == 2:
            parts = [cst.Index(e.value) for e in only.elements]
    picked = [_selection(part, evaluate, constant) for part in parts]
    if None in picked or len(picked) > 2:
        return None
    if frame.kind == SERIES:
        if len(picked) != 1:
            return None
        return Value(SERIES, _SERIES, node) if picked[0] == _MANY else None
    if len(picked) == 1:
        return Value(SERIES, _SERIES, node) if picked[0] == _ONE else Value(DATAFRAME, _DF, node)
    rows, cols = picked
    if rows == _ONE and cols == _ONE:
        return None  # one cell
    if rows == _ONE or cols == _ONE:
        return Value(SERIES, _SERIES, node)
    return Value(DATAFRAME, _DF, node)


_ONE, _MANY = "one", "many"


def _selection(part: cst.BaseSlice, evaluate: Evaluate, constant: Constant) -> str | None:
    """Whether an index picks one label (a column, a row) or many (a list, a slice, a mask)."""
    if isinstance(part, cst.Slice):
        return _MANY
    if not isinstance(part, cst.Index):
        return None
    expr = part.value
    literal = constant(expr)
    if literal is not None:
        expr = literal
    if _is_constant(expr):
        return _ONE
    if isinstance(
        expr, (cst.List, cst.ListComp, cst.Comparison, cst.BinaryOperation, cst.UnaryOperation)
    ):
        return _MANY
    found = evaluate(expr)
    if found is not None and found.kind in (SERIES, NDARRAY, TENSOR):
        return _MANY
    return None


# The kind an arithmetic result takes: the "widest" operand wins.
_ARITHMETIC_ORDER = (DATAFRAME, SERIES, TENSOR, NDARRAY)


def arithmetic_value(node: cst.CSTNode, *operands: Value | None) -> Value | None:
    """``a + b``, ``-a``, ``a > 0`` on frames, series, tensors or arrays."""
    best: Value | None = None
    for operand in operands:
        if operand is None or operand.kind not in _ARITHMETIC_ORDER:
            continue
        if best is None or _ARITHMETIC_ORDER.index(operand.kind) < _ARITHMETIC_ORDER.index(
            best.kind
        ):
            best = operand
    return Value(best.kind, best.type, node) if best is not None else None


def is_series_accessor(name: str) -> bool:
    return name in _SERIES_ACCESSORS
