"""The I/O and model APIs the ML facts know, by qualified name or by method name.

Everything is keyed so that the traversal can reject a call with one set lookup on the last
name of its callee (:data:`CALL_NAMES`) before doing any real work.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

#: Where an argument is: (position, keyword); position -1 means keyword only.
Arg = tuple[int, str]


@dataclass(frozen=True)
class IOSpec:
    """How a call reads or writes an artifact.

    ``mode``: "r", "w", "open" (decided by a mode argument, ``mode_arg``), "copy" (reads
    ``path``, writes ``dest``), "glob" (reads a pattern) or "sql" (table names in a query).
    ``path``: the argument holding the path; None when the receiver is the path (pathlib).
    ``data``: for writes, the argument holding what is written; None when it is the receiver
    (``df.to_csv``); ``into``: for reads into an existing object (``model.load_model(p)``).
    """

    mode: str
    path: Arg | None = (0, "")
    data: Arg | None = None
    mode_arg: Arg | None = None
    default_mode: str = "r"
    dest: Arg | None = None
    into: bool = False
    optional_path: bool = False


def _r(position: int = 0, keyword: str = "") -> IOSpec:
    return IOSpec("r", (position, keyword))


def _w(position: int, keyword: str, data: Arg) -> IOSpec:
    return IOSpec("w", (position, keyword), data)


_PANDAS_READERS = (
    "csv",
    "table",
    "parquet",
    "feather",
    "json",
    "excel",
    "pickle",
    "hdf",
    "orc",
    "stata",
    "sas",
    "spss",
    "fwf",
    "xml",
)

FUNCTIONS: dict[str, IOSpec] = {
    **{f"pandas.read_{kind}": _r() for kind in _PANDAS_READERS},
    "pandas.read_sql": IOSpec("sql", (0, "sql")),
    "pandas.read_sql_query": IOSpec("sql", (0, "sql")),
    "pandas.read_sql_table": IOSpec("table", (0, "table_name")),
    "pandas.HDFStore": IOSpec("open", (0, "path"), mode_arg=(1, "mode"), default_mode="a"),
    "polars.read_csv": _r(),
    "polars.read_parquet": _r(),
    "polars.scan_csv": _r(),
    "polars.scan_parquet": _r(),
    "numpy.load": _r(0, "file"),
    "numpy.loadtxt": _r(0, "fname"),
    "numpy.genfromtxt": _r(0, "fname"),
    "numpy.fromfile": _r(0, "file"),
    "numpy.save": _w(0, "file", (1, "arr")),
    "numpy.savetxt": _w(0, "fname", (1, "X")),
    "numpy.savez": IOSpec("w", (0, "file"), (1, "")),
    "numpy.savez_compressed": IOSpec("w", (0, "file"), (1, "")),
    "numpy.memmap": IOSpec("open", (0, "filename"), mode_arg=(2, "mode"), default_mode="r+"),
    "numpy.lib.format.open_memmap": IOSpec(
        "open", (0, "filename"), mode_arg=(1, "mode"), default_mode="r+"
    ),
    "pickle.load": _r(0, "file"),
    "pickle.dump": _w(1, "file", (0, "obj")),
    "cloudpickle.load": _r(0, "file"),
    "cloudpickle.dump": _w(1, "file", (0, "obj")),
    "dill.load": _r(0, "file"),
    "dill.dump": _w(1, "file", (0, "obj")),
    "joblib.load": _r(0, "filename"),
    "joblib.dump": _w(1, "filename", (0, "value")),
    "torch.load": _r(0, "f"),
    "torch.save": _w(1, "f", (0, "obj")),
    "torch.jit.load": _r(0, "f"),
    "torch.jit.save": _w(1, "f", (0, "m")),
    "safetensors.torch.load_file": _r(0, "filename"),
    "safetensors.torch.save_file": _w(1, "filename", (0, "tensors")),
    "safetensors.torch.load_model": IOSpec("r", (1, "filename"), into=True),
    "safetensors.torch.save_model": _w(1, "filename", (0, "model")),
    "json.load": _r(0, "fp"),
    "json.dump": _w(1, "fp", (0, "obj")),
    "yaml.load": _r(0, "stream"),
    "yaml.safe_load": _r(0, "stream"),
    "yaml.full_load": _r(0, "stream"),
    "yaml.unsafe_load": _r(0, "stream"),
    "yaml.dump": _w(1, "stream", (0, "data")),
    "yaml.safe_dump": _w(1, "stream", (0, "data")),
    "csv.reader": _r(0, "csvfile"),
    "csv.DictReader": _r(0, "f"),
    "csv.writer": IOSpec("w", (0, "csvfile"), (-1, "")),
    "csv.DictWriter": IOSpec("w", (0, "f"), (-1, "")),
    "open": IOSpec("open", (0, "file"), mode_arg=(1, "mode")),
    "io.open": IOSpec("open", (0, "file"), mode_arg=(1, "mode")),
    "codecs.open": IOSpec("open", (0, "filename"), mode_arg=(1, "mode")),
    "gzip.open": IOSpec("open", (0, "filename"), mode_arg=(1, "mode"), default_mode="rb"),
    "bz2.open": IOSpec("open", (0, "filename"), mode_arg=(1, "mode"), default_mode="rb"),
    "lzma.open": IOSpec("open", (0, "filename"), mode_arg=(1, "mode"), default_mode="rb"),
    "tarfile.open": IOSpec("open", (0, "name"), mode_arg=(1, "mode")),
    "zipfile.ZipFile": IOSpec("open", (0, "file"), mode_arg=(1, "mode")),
    "h5py.File": IOSpec("open", (0, "name"), mode_arg=(1, "mode")),
    "pyarrow.parquet.read_table": _r(0, "source"),
    "pyarrow.parquet.ParquetFile": _r(0, "source"),
    "pyarrow.parquet.ParquetDataset": _r(0, "path_or_paths"),
    "pyarrow.parquet.write_table": _w(1, "where", (0, "table")),
    "pyarrow.feather.read_feather": _r(0, "source"),
    "pyarrow.feather.read_table": _r(0, "source"),
    "pyarrow.feather.write_feather": _w(1, "dest", (0, "df")),
    "pyarrow.csv.read_csv": _r(0, "input_file"),
    "pyarrow.csv.write_csv": _w(1, "output_file", (0, "data")),
    "scipy.io.loadmat": _r(0, "file_name"),
    "scipy.io.savemat": _w(0, "file_name", (1, "mdict")),
    "scipy.sparse.load_npz": _r(0, "file"),
    "scipy.sparse.save_npz": _w(0, "file", (1, "matrix")),
    "PIL.Image.open": _r(0, "fp"),
    "cv2.imread": _r(0, "filename"),
    "cv2.imwrite": _w(0, "filename", (1, "img")),
    "imageio.imread": _r(0, "uri"),
    "imageio.imwrite": _w(0, "uri", (1, "im")),
    "matplotlib.pyplot.savefig": IOSpec("w", (0, "fname"), None),
    "keras.models.load_model": _r(0, "filepath"),
    "keras.saving.load_model": _r(0, "filepath"),
    "keras.models.save_model": _w(1, "filepath", (0, "model")),
    "keras.saving.save_model": _w(1, "filepath", (0, "model")),
    "keras.callbacks.ModelCheckpoint": IOSpec("w", (0, "filepath"), None),
    "tensorflow.saved_model.load": _r(0, "export_dir"),
    "tensorflow.saved_model.save": _w(1, "export_dir", (0, "obj")),
    "tensorflow.data.TFRecordDataset": _r(0, "filenames"),
    "tensorflow.io.TFRecordWriter": IOSpec("w", (0, "path"), (-1, "")),
    "lightgbm.Booster": IOSpec("r", (-1, "model_file")),
    "xgboost.Booster": IOSpec("r", (-1, "model_file")),
    "catboost.CatBoost.load_model": _r(0, "fname"),
    "shutil.copy": IOSpec("copy", (0, "src"), dest=(1, "dst")),
    "shutil.copy2": IOSpec("copy", (0, "src"), dest=(1, "dst")),
    "shutil.copyfile": IOSpec("copy", (0, "src"), dest=(1, "dst")),
    "shutil.copytree": IOSpec("copy", (0, "src"), dest=(1, "dst")),
    "shutil.move": IOSpec("copy", (0, "src"), dest=(1, "dst")),
    "os.rename": IOSpec("copy", (0, "src"), dest=(1, "dst")),
    "os.replace": IOSpec("copy", (0, "src"), dest=(1, "dst")),
    "glob.glob": IOSpec("glob", (0, "pathname")),
    "glob.iglob": IOSpec("glob", (0, "pathname")),
    "datasets.load_from_disk": _r(0, "dataset_path"),
    "sqlite3.connect": IOSpec("r", (0, "database")),
}

# Methods recognised on any receiver: the names are distinctive enough. ``path`` None: the
# receiver is the path (pathlib); ``data`` None on a write: the receiver is what is written.
METHODS: dict[str, IOSpec] = {
    **{
        f"to_{kind}": IOSpec("w", (0, "path_or_buf"), None)
        for kind in ("csv", "json", "pickle", "hdf", "xml", "markdown", "latex", "html")
    },
    "to_parquet": IOSpec("w", (0, "path"), None),
    "to_feather": IOSpec("w", (0, "path"), None),
    "to_excel": IOSpec("w", (0, "excel_writer"), None),
    "to_orc": IOSpec("w", (0, "path"), None),
    "to_stata": IOSpec("w", (0, "path"), None),
    "to_sql": IOSpec("table", (0, "name"), None, default_mode="w"),
    "write_csv": IOSpec("w", (0, "file"), None),
    "write_parquet": IOSpec("w", (0, "file"), None),
    "tofile": IOSpec("w", (0, "fid"), None),
    "savefig": IOSpec("w", (0, "fname"), None),
    "read_text": IOSpec("r", None),
    "read_bytes": IOSpec("r", None),
    "write_text": IOSpec("w", None, (0, "data")),
    "write_bytes": IOSpec("w", None, (0, "data")),
    "save_pretrained": IOSpec("w", (0, "save_directory"), None),
    "save_model": IOSpec("w", (0, "fname"), None),
    "save_weights": IOSpec("w", (0, "filepath"), None),
    "save": IOSpec("w", (0, "filepath"), None),
    "load_model": IOSpec("r", (0, "fname"), into=True),
    "load_weights": IOSpec("r", (0, "filepath"), into=True),
    "restore": IOSpec("r", (0, "save_path"), into=True),
    "from_pretrained": IOSpec("r", (0, "pretrained_model_name_or_path")),
    "save_to_disk": IOSpec("w", (0, "dataset_path"), None),
    "execute": IOSpec("sql", (0, "sql")),
    "executemany": IOSpec("sql", (0, "sql")),
    "executescript": IOSpec("sql", (0, "sql_script")),
    "sql": IOSpec("sql", (0, "sqlQuery")),
}
# pathlib methods whose receiver is the path and whose mode comes from an argument.
PATH_OPEN = IOSpec("open", None, mode_arg=(0, "mode"))

#: Last names of callees worth a closer look (functions by their last part, and methods).
CALL_NAMES = frozenset(
    {name.rpartition(".")[2] for name in FUNCTIONS} | set(METHODS) | {"open", "glob", "rglob"}
)

# --- models ------------------------------------------------------------------------------------

FIT_METHODS = frozenset(
    {"fit", "partial_fit", "fit_transform", "fit_predict", "fit_resample", "fit_generator"}
)
PREDICT_METHODS = frozenset(
    {
        "predict",
        "predict_proba",
        "predict_log_proba",
        "decision_function",
        "predict_on_batch",
        "score_samples",
        "fit_predict",
    }
)
TRANSFORM_METHODS = frozenset({"transform", "inverse_transform", "fit_transform"})
# Methods that give back the model object itself (or its state).
OBJECT_METHODS = frozenset(
    {
        "state_dict",
        "get_booster",
        "get_weights",
        "to",
        "cuda",
        "cpu",
        "eval",
        "half",
        "float",
        "double",
        "module",
        "best_estimator_",
        "booster_",
        "model",
        "set_params",
        "fit",
        "partial_fit",
        "compile",
        "merge_and_unload",
    }
)
MODEL_METHODS = FIT_METHODS | PREDICT_METHODS | {"backward", "train"}
# Functions that fit an estimator passed as their first argument on the data that follows.
FIT_FUNCTIONS: dict[str, tuple[int, ...]] = {
    "sklearn.model_selection.cross_val_score": (1, 2),
    "sklearn.model_selection.cross_validate": (1, 2),
    "sklearn.model_selection.cross_val_predict": (1, 2),
    "sklearn.model_selection.learning_curve": (1, 2),
    "sklearn.model_selection.validation_curve": (1, 2),
    "sklearn.model_selection.permutation_test_score": (1, 2),
}
# Functions that train and return a new model from the data in these arguments.
TRAIN_FUNCTIONS: dict[str, tuple[tuple[int, str], ...]] = {
    "lightgbm.train": ((1, "train_set"), (-1, "valid_sets")),
    "xgboost.train": ((1, "dtrain"), (-1, "evals")),
    "catboost.train": ((0, "pool"), (-1, "dtrain")),
}
TRAINER_CLASSES = frozenset(
    {
        "transformers.Trainer",
        "transformers.Seq2SeqTrainer",
        "trl.SFTTrainer",
        "lightning.Trainer",
        "pytorch_lightning.Trainer",
        "lightning.pytorch.Trainer",
    }
)
MODEL_FACTORIES = frozenset({"sklearn.pipeline.make_pipeline", "sklearn.pipeline.Pipeline"})

# Method calls that feed their arguments into their receiver (``rows.append(x)``).
MUTATORS = frozenset(
    {
        "append",
        "extend",
        "update",
        "insert",
        "add",
        "appendleft",
        "load_state_dict",
        "set_weights",
        "write",
        "writerow",
        "writerows",
        "writelines",
    }
)

# --- what is a library ------------------------------------------------------------------------

_LIBRARIES = frozenset(
    {
        "numpy",
        "pandas",
        "polars",
        "sklearn",
        "scipy",
        "torch",
        "torchvision",
        "torchaudio",
        "tensorflow",
        "keras",
        "jax",
        "flax",
        "xgboost",
        "lightgbm",
        "catboost",
        "transformers",
        "datasets",
        "tokenizers",
        "accelerate",
        "peft",
        "trl",
        "lightning",
        "pytorch_lightning",
        "joblib",
        "yaml",
        "h5py",
        "pyarrow",
        "matplotlib",
        "seaborn",
        "plotly",
        "statsmodels",
        "optuna",
        "wandb",
        "mlflow",
        "tqdm",
        "PIL",
        "cv2",
        "imageio",
        "requests",
        "click",
        "typer",
        "hydra",
        "omegaconf",
        "dill",
        "cloudpickle",
        "safetensors",
        "huggingface_hub",
        "sentencepiece",
        "nltk",
        "spacy",
        "gensim",
        "networkx",
        "numba",
        "sympy",
        "pytest",
        "absl",
        "tensorboard",
        "onnx",
        "onnxruntime",
        "packaging",
        "filelock",
        "regex",
        "rich",
        "tabulate",
        "boto3",
        "fsspec",
        "s3fs",
        "sqlalchemy",
        "psycopg2",
        "pydantic",
        "attr",
        "attrs",
        "typing_extensions",
        "six",
        "einops",
        "timm",
        "evaluate",
    }
)


def is_library(qualname: str) -> bool:
    """True for the standard library and well-known third-party packages: calling one of
    their functions is not calling project code."""
    head = qualname.partition(".")[0]
    return head in _LIBRARIES or head in sys.stdlib_module_names or head == "builtins"


FIT_FUNCTION_NAMES = frozenset(name.rpartition(".")[2] for name in FIT_FUNCTIONS)
# Writes through a file handle or a csv writer.
HANDLE_WRITES = frozenset({"write", "writerow", "writerows", "writelines"})
# Reads that may bring back a model object (what a model bound from them was loaded from).
MODEL_LOADERS = frozenset(
    {
        "open",
        "joblib.load",
        "pickle.load",
        "dill.load",
        "cloudpickle.load",
        "torch.load",
        "torch.jit.load",
        "safetensors.torch.load_file",
        "keras.models.load_model",
        "keras.saving.load_model",
        "tensorflow.saved_model.load",
        "lightgbm.Booster",
        "xgboost.Booster",
        "catboost.CatBoost.load_model",
        "load_model",
        "load_weights",
        "restore",
        "from_pretrained",
    }
)
