"""MLD401-MLD402: unstable data dependencies — inputs read from places whose content changes
under the model (URLs, ``latest/`` snapshots, today's folder) and pretrained models or datasets
downloaded from a hub without a pinned revision."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import libcst as cst

from mldebt.facts import apis
from mldebt.findings import Location, Severity
from mldebt.graph import is_test_path
from mldebt.literals import string_value
from mldebt.resolve.kinds import argument, keyword
from mldebt.rule import BAD, GOOD, FileRule, ProjectRule
from mldebt.traversal import Dispatch, Scope, positions, walk
from mldebt_rules._arrays import TextGate, source

if TYPE_CHECKING:
    from mldebt.context import FileContext

_WHY_DATA = (
    'Sculley et al. (NIPS 2015), "Data Dependencies Cost More than Code Dependencies", '
    "*Unstable Data Dependencies*: a model consumes input signals produced by other systems, "
    "and when those inputs change — an upstream fix, a new extraction, a re-trained "
    "embedding — the model's behaviour changes without a line of its code changing. The "
    "remedy they name is a versioned copy of the input, frozen until the update is deliberate "
    "and reviewed."
)

# --- MLD401 --------------------------------------------------------------------------------------

_WEB = re.compile(r"(?:https?|ftp)://", re.IGNORECASE)
_REMOTE = re.compile(r"[a-z][a-z0-9+]*://", re.IGNORECASE)
#: Path words that name a snapshot that moves (``data/latest/``, ``current_customers.csv``).
_MOVING = re.compile(r"(?:^|[/_.\-])(latest|current|newest|live|tmp|temp)(?=$|[/_.\-])", re.I)
_CHECKPOINT = re.compile(r"checkpoint|ckpt", re.IGNORECASE)
_COMMIT = re.compile(r"(?:^|[/=@])[0-9a-f]{40}(?:$|[/?#])")
#: Files that verify what they download (a checksum) are not unstable.
_VERIFIED = re.compile(r"sha256|sha1|md5|checksum|file_hash|hashlib", re.IGNORECASE)
_GATE = re.compile(
    r"get_file\(|urlretrieve\(|urlopen\(|requests\.get\(|wget\.download\(|download_url\("
    r"|\.(?:today|now|utcnow)\(\)|strftime\(|read_gbq\(|spark\w*\.sql\("
)
#: Queries of a remote warehouse (BigQuery, Spark/Hive tables): method -> argument.
_WAREHOUSE_SQL = frozenset({"pandas.read_gbq", "pandas_gbq.read_gbq"})
_DATAFRAME_FILTER = re.compile(r"\.(?:filter|where)\(")
_SELECT = re.compile(r"\s*(?:--[^\n]*\n\s*)*(?:SELECT|WITH)\b", re.IGNORECASE)
_FROM = re.compile(r"\b(?:FROM|JOIN)\s+`?([A-Za-z_][\w.\-`]*)", re.IGNORECASE)
#: A query pinned to a snapshot or partition: time travel, or a filter on a date literal,
#: a partition/date column, or a run parameter (an f-string field).
_PINNED = re.compile(
    r"\bAS\s+OF\b|FOR\s+SYSTEM_TIME|\bWHERE\b[^;]*?(?:\b(?:ds|dt|date|day|snapshot\w*|"
    r"partition\w*|_PARTITIONDATE|_PARTITIONTIME|\w*_date|\w*_day)\b|'\d{4}-?\d{2}-?\d{2}'|\{|@|\?|%s)",
    re.IGNORECASE | re.DOTALL,
)
_DOWNLOADERS = {
    "urllib.request.urlretrieve": (0, "url"),
    "urllib.urlretrieve": (0, "url"),
    "wget.download": (0, "url"),
    "torchvision.datasets.utils.download_url": (0, "url"),
    "requests.get": (0, "url"),
    "urllib.request.urlopen": (0, "url"),
}
#: Downloads that fetch a page or an API answer unless the URL names a data file.
_PAGES = frozenset({"requests.get", "urllib.request.urlopen"})
_DATA_FILE = re.compile(
    r"\.(?:csv|tsv|parquet|json|jsonl|zip|gz|tgz|bz2|xz|tar|txt|xlsx?|npz|npy|pkl|pickle|h5|"
    r"hdf5|feather|arrow|data)(?:$|[?#])",
    re.IGNORECASE,
)
_CLOCK = re.compile(
    r"^(?:datetime\.date\.today|datetime\.datetime\.(?:now|today|utcnow)|time\.strftime"
    r"|time\.time|pandas\.Timestamp\.(?:now|today)|pandas\.to_datetime)$"
)
_CLOCK_CALL = re.compile(r"\b(?:today|now|utcnow)\(\)|strftime\(|\btime\(\)")


def _reader(name: str) -> bool:
    """Is this (qualified or method) name an API that reads a path?"""
    spec = apis.FUNCTIONS.get(name)
    if spec is None and "." not in name:
        spec = apis.METHODS.get(name)
    return spec is not None and spec.mode in ("r", "glob")


class _DownloadsAndClocks(cst.BatchableCSTVisitor):
    """The per-file facts of MLD401 that are not artifacts: downloads and clock paths."""

    def __init__(self, context: FileContext) -> None:
        super().__init__()
        self.context = context
        self.found: list[tuple[cst.CSTNode, str, str, str]] = []
        self.clock_names: set[str] = set()
        self.verified = bool(_VERIFIED.search(context.text))
        #: Clock paths are looked for only in files that read the clock at all.
        self.clock = bool(_CLOCK_CALL.search(context.text))

    def _qualname(self, node: cst.BaseExpression) -> str:
        parts: list[str] = []
        while isinstance(node, cst.Attribute):
            parts.append(node.attr.value)
            node = node.value
        if not isinstance(node, cst.Name):
            return ""
        parts.append(node.value)
        parts.reverse()
        return _IMPORTS.expand(self.context, ".".join(parts))

    def _clocked(self, node: cst.BaseExpression) -> bool:
        """Does the expression contain a clock call or a name computed from one?"""
        for child in _walk(node):
            if isinstance(child, cst.Name) and child.value in self.clock_names:
                return True
            if isinstance(child, cst.Call) and _CLOCK.match(self._qualname(child.func)):
                return True
            if (
                isinstance(child, cst.Call)
                and isinstance(child.func, cst.Attribute)
                and child.func.attr.value in ("today", "now", "utcnow", "strftime")
                and _CLOCK_CALL.search(self.context.module.code_for_node(child))
            ):
                return True
        return False

    def visit_Assign(self, node: cst.Assign) -> None:
        if self.clock and self._clocked(node.value):
            for target in node.targets:
                if isinstance(target.target, cst.Name):
                    self.clock_names.add(target.target.value)

    def visit_Call(self, node: cst.Call) -> None:
        name = self._qualname(node.func)
        if (name.endswith("get_file") and "utils" in name) or name == "get_file":
            if keyword(node, "file_hash") is None and keyword(node, "md5_hash") is None:
                origin = argument(node, 1, "origin")
                self.found.append((node, "download", name, _text(self.context, origin)))
            return
        where = _DOWNLOADERS.get(name)
        if where is not None:
            url = _text(self.context, argument(node, *where))
            if self.verified or (name in _PAGES and not _DATA_FILE.search(url)):
                return
            if url and not _WEB.match(url):
                return
            self.found.append((node, "download", name, url))
            return
        method = node.func.attr.value if isinstance(node.func, cst.Attribute) else name
        if self._warehouse(node, name, method):
            return
        if not (_reader(name) or (method.startswith("read_") and _reader(method))):
            return
        path = argument(node, 0, "")
        if path is not None and self.clock and self._clocked(path):
            self.found.append((node, "clock", name or method, _short(self.context, path)))


    def _warehouse(self, node: cst.Call, name: str, method: str) -> bool:
        """A whole remote table read as it is today: ``pd.read_gbq("SELECT ... FROM t")`` or
        ``spark.sql(...)`` with no snapshot or partition."""
        receiver = name.rsplit(".", 1)[0].lower()
        spark = "spark" in receiver.rsplit(".", 1)[-1] or receiver.endswith("spark.read")
        if spark and method == "sql" and _DATAFRAME_FILTER.search(self.context.text):
            return True  # the DataFrame may be filtered to a partition afterwards
        if name in _WAREHOUSE_SQL or (spark and method == "sql"):
            query = argument(node, 0, "query" if name in _WAREHOUSE_SQL else "sqlQuery")
            text = _query_text(self.context, query)
            if text is None or not _SELECT.match(text) or _PINNED.search(text):
                return True
            tables = sorted({t.strip("`").lower() for t in _FROM.findall(text)})
            if tables:
                self.found.append((node, "table", name, ", ".join(tables)))
            return True
        return False


def _query_text(context: FileContext, node: cst.BaseExpression | None) -> str | None:
    if isinstance(node, cst.FormattedString):
        return "".join(
            part.value if isinstance(part, cst.FormattedStringText) else "{}"
            for part in node.parts
        )
    return _text(context, node) or None


class _Imports:
    """Import aliases of a module, by the module object (memoised for one file at a time)."""

    def __init__(self) -> None:
        self._key: int = 0
        self._aliases: dict[str, str] = {}

    def expand(self, context: FileContext, dotted: str) -> str:
        if id(context.module) != self._key:
            self._key = id(context.module)
            self._aliases = _aliases(context.module)
        head, dot, rest = dotted.partition(".")
        full = self._aliases.get(head)
        if full is None:
            return dotted
        return full + dot + rest


_IMPORTS = _Imports()


def _aliases(module: cst.Module) -> dict[str, str]:
    found: dict[str, str] = {}
    for statement in module.body:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if isinstance(small, cst.Import):
                for alias in small.names:
                    name = _dotted(alias.name)
                    bound = alias.evaluated_alias or name.split(".")[0]
                    found[bound] = name if alias.asname else name.split(".")[0]
            elif isinstance(small, cst.ImportFrom) and small.module is not None:
                if isinstance(small.names, cst.ImportStar) or small.relative:
                    continue
                base = _dotted(small.module)
                for alias in small.names:
                    name = _dotted(alias.name)
                    found[alias.evaluated_alias or name] = f"{base}.{name}"
    found.setdefault("tf", "tensorflow")
    return {k: _canonical(v) for k, v in found.items()}


def _canonical(name: str) -> str:
    return name.replace("tensorflow.keras.", "keras.").replace("tf.keras.", "keras.")


def _dotted(node: cst.BaseExpression) -> str:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return _dotted(node.value) + "." + node.attr.value
    return ""


def _walk(node: cst.CSTNode) -> list[cst.CSTNode]:
    out: list[cst.CSTNode] = []
    stack = [node]
    while stack and len(out) < 500:
        current = stack.pop()
        out.append(current)
        stack.extend(current.children)
    return out


def _text(context: FileContext, node: cst.BaseExpression | None) -> str:
    if node is None:
        return ""
    value = string_value(node)
    if value is None and isinstance(node, cst.Name):
        value = _module_string(context.module, node.value)
    return value or ""


def _module_string(module: cst.Module, name: str) -> str | None:
    found = None
    for statement in module.body:
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                if (
                    isinstance(small, cst.Assign)
                    and len(small.targets) == 1
                    and isinstance(small.targets[0].target, cst.Name)
                    and small.targets[0].target.value == name
                ):
                    found = string_value(small.value)
    return found


def _short(context: FileContext, node: cst.CSTNode) -> str:
    return source(context.module, node)


class UnstableDataSource(ProjectRule):
    code = "MLD401"
    name = "unstable-data-source"
    category = "data-dependency"
    severity = Severity.WARNING
    debt_minutes = 30.0
    tags = ("pandas", "keras", "sql")
    facts_key = "MLD401"
    summary = "Data is read from a place whose content moves: a URL, `latest/`, today's folder."
    what = (
        "Reads whose source can change without the code changing: a file read straight from "
        "a web URL (`pd.read_csv('https://...')`, also through a constant of another module); "
        "a path or table whose name says it moves (`latest`, `current`, `newest`, `live`, "
        "`tmp`) when the project does not write it itself; a path computed from the clock "
        "(`f'exports/{date.today()}/x.csv'`) passed to a reader; downloads that do not "
        "verify what they fetch (`tf.keras.utils.get_file` without `file_hash`, "
        "`urlretrieve`, `wget.download`, `requests.get` of a data file) in files that compute "
        "no checksum; and a remote warehouse table queried whole, with no snapshot or "
        "partition (`pd.read_gbq('SELECT ... FROM shop.orders')`, `spark.sql(...)`). "
        "Object-store paths (`s3://`, `gs://`) count only when they name a moving snapshot. "
        "Test files are skipped."
    )
    why = (
        _WHY_DATA + " A URL, a `latest/` folder or today's export is exactly such an input: "
        "two runs of the same commit train on different data, and nobody can reproduce the "
        "model that is in production."
    )
    limits = (
        "A `latest` checkpoint (`checkpoints/latest.pt`) is the training run's own output "
        "and is not reported. Remote tables are judged for BigQuery (`pd.read_gbq`) and "
        "Spark SQL (`spark.sql`, not in files that filter DataFrames) only, and a filter on "
        "any date-like column or on a parameter counts as a pin; other databases' tables are "
        "reported only by name (`current_customers`). A URL pinned by a commit hash is taken "
        "as stable; any other web URL is reported, even one the maintainers never change. A "
        "download verified in another file, or by a helper the file calls, is not seen; any "
        "mention of a checksum (`sha256`, `md5`, `file_hash`) in the file counts as "
        "verification."
    )
    examples = (
        BAD(
            """
            import pandas as pd

            TELCO = "https://raw.githubusercontent.com/acme/datasets/main/telco_churn.csv"
            df = pd.read_csv(TELCO)
            df.to_parquet("data/churn.parquet")
            """
        ),
        BAD(
            {
                "config.py": """
                SNAPSHOT = "s3://acme-features/customers/latest/part-0.parquet"
                """,
                "train.py": """
                import pandas as pd
                from config import SNAPSHOT

                features = pd.read_parquet(SNAPSHOT)
                """,
            }
        ),
        BAD(
            """
            # %%
            import datetime as dt
            import pandas as pd
            import tensorflow as tf
            # %%
            today = dt.date.today().strftime("%Y%m%d")
            orders = pd.read_csv(f"exports/{today}/orders.csv")
            # %%
            archive = tf.keras.utils.get_file("reviews.zip", "https://example.com/reviews.zip")
            """,
            path="refresh.ipynb",
            expect=2,
        ),
        BAD(
            """
            import pandas as pd
            from pyspark.sql import SparkSession

            spark = SparkSession.builder.getOrCreate()
            sessions = spark.sql("SELECT user_id, ts, page FROM analytics.sessions")
            orders = pd.read_gbq("SELECT customer_id, amount FROM shop.orders", project_id="acme")
            """,
            expect=2,
        ),
        GOOD(
            """
            import pandas as pd
            from pyspark.sql import SparkSession

            RUN_DAY = "2024-06-03"
            spark = SparkSession.builder.getOrCreate()
            sessions = spark.sql(f"SELECT * FROM analytics.sessions WHERE ds = '{RUN_DAY}'")
            orders = pd.read_gbq(
                "SELECT customer_id, amount FROM shop.orders FOR SYSTEM_TIME AS OF '2024-06-03'",
                project_id="acme",
            )
            """
        ),
        GOOD(
            """
            import pandas as pd

            df = pd.read_csv("data/raw/telco_churn_2024-03-01.csv")
            df.to_parquet("data/latest/churn.parquet")
            """
        ),
        GOOD(
            {
                "prepare.py": """
                import pandas as pd

                raw = pd.read_csv("data/raw/orders.csv")
                raw.to_parquet("data/current/orders.parquet")
                """,
                "train.py": """
                import pandas as pd

                orders = pd.read_parquet("data/current/orders.parquet")
                """,
            }
        ),
        GOOD(
            """
            import datetime
            import tensorflow as tf
            import pandas as pd

            path = tf.keras.utils.get_file(
                "reviews.zip", "https://example.com/reviews.zip",
                file_hash="9f2c0b1a3d4e5f60718293a4b5c6d7e8f9012345",
            )
            stamp = datetime.date.today().isoformat()
            pd.DataFrame({"run": [stamp]}).to_csv(f"runs/{stamp}.csv")
            """
        ),
    )

    @classmethod
    def file_facts(cls, context: FileContext) -> Any:
        if not _GATE.search(context.text) or is_test_path(context.path):
            return None
        visitor = _DownloadsAndClocks(context)
        walk(context.module, Dispatch([visitor]), Scope())
        if not visitor.found:
            return None
        spans = positions(context.module, [node for node, *_ in visitor.found])
        return [
            [spans[node][0], kind, api, what] for node, kind, api, what in visitor.found
        ]

    def check(self) -> None:
        graph = self.graph
        for info in graph.artifacts.values():
            label = info.label
            reads = [u for u in info.reads if not is_test_path(u.path)]
            if not reads:
                continue
            reason = self._unstable(label, info.kind, bool(info.writes))
            if reason is None:
                continue
            for use in reads:
                self.report(
                    use.path,
                    use.line,
                    f"`{use.api}` reads `{label}`, {reason}: the data can change under the "
                    "model between two runs of the same code; read a versioned, immutable "
                    "copy (a dated or hashed snapshot, a DVC-tracked file)",
                    key=f"read:{label}",
                    related=[
                        Location(w.path, w.line, message=f"`{label}` is written here")
                        for w in info.writes
                    ][:3],
                )
        for path, facts in sorted(graph.by_path.items()):
            found = facts.extra.get(self.facts_key)
            for line, kind, api, what in found or ():
                if kind == "download":
                    where = f"`{what}`" if what else "a URL"
                    message = (
                        f"`{api}` downloads {where} without verifying a checksum: what it "
                        "fetches can change under the model; pin a hash (`file_hash=`) or "
                        "keep a versioned copy"
                    )
                elif kind == "table":
                    many = ", " in what
                    message = (
                        f"`{api}` reads the remote table{'s' if many else ''} `{what}` as "
                        f"{'they are' if many else 'it is'} at run time, with no snapshot or "
                        "partition: pin one (`WHERE ds = ...`, `AS OF`) so that a run can be "
                        "repeated"
                    )
                else:
                    message = (
                        f"`{api}` reads a path computed from the clock (`{what}`): every day "
                        "reads different data; pass the snapshot date in as a parameter"
                    )
                self.report(path, line, message, key=f"{kind}:{api}:{what}")

    @staticmethod
    def _unstable(label: str, kind: str, written: bool) -> str | None:
        text = label[len("table:") :] if kind == "table" else label
        if kind == "url" and _WEB.match(text):
            if _COMMIT.search(text):
                return None
            return "a web URL"
        moving = _MOVING.search(text.split("://", 1)[-1])
        if moving is None or written or _CHECKPOINT.search(text):
            return None  # resuming from the latest checkpoint is the run's own output
        word = moving.group(1).lower()
        what = "a path"
        if kind == "table":
            what = "a table"
        elif _REMOTE.match(text):
            what = "a remote path"
        return f"{what} named `{word}`, a snapshot that moves"


# --- MLD402 --------------------------------------------------------------------------------------

_HUB_ID = re.compile(r"[A-Za-z0-9][\w.\-]*(?:/[\w.\-]+)?\Z")
_FILE_EXTENSION = re.compile(
    r"\.(?:bin|pt|pth|ckpt|safetensors|json|h5|onnx|pkl|model|msgpack|gguf|txt|yaml|yml)\Z",
    re.IGNORECASE,
)
_LOCAL_WORDS = re.compile(
    r"^(?:checkpoints?|ckpts?|outputs?|models?|saved|save|runs?|artifacts?|tmp|results?|"
    r"local|weights|exports?|data|datasets?|experiments?|exps?|logs?|trained|finetuned|"
    r"fine-tuned|best|final|pretrained|cache|work|out)(?:[_\-/]|\Z)",
    re.IGNORECASE,
)
#: ``datasets.load_dataset`` builders that read local files (``data_files=``).
_PACKAGED = frozenset(
    {
        "csv",
        "json",
        "parquet",
        "text",
        "arrow",
        "pandas",
        "imagefolder",
        "audiofolder",
        "videofolder",
        "webdataset",
        "sql",
        "generator",
        "xml",
        "spark",
    }
)
_BRANCHES = frozenset({"main", "master", "dev", "develop", "latest", "head"})
_HUB_FUNCTIONS: dict[str, tuple[tuple[int, str], str]] = {
    "datasets.load_dataset": ((0, "path"), "dataset"),
    "huggingface_hub.hf_hub_download": ((0, "repo_id"), "file"),
    "huggingface_hub.snapshot_download": ((0, "repo_id"), "repository"),
    "sentence_transformers.SentenceTransformer": ((0, "model_name_or_path"), "model"),
    "sentence_transformers.CrossEncoder": ((0, "model_name"), "model"),
    "transformers.pipeline": ((1, "model"), "model"),
    "torch.hub.load": ((0, "repo_or_dir"), "model"),
}
_NAMES = frozenset(
    {
        "from_pretrained",
        "load_dataset",
        "hf_hub_download",
        "snapshot_download",
        "SentenceTransformer",
        "CrossEncoder",
        "pipeline",
        "load",
    }
)


def hub_id(text: str, bare_words: bool = False) -> bool:
    """Does a string look like a hub repository id (``bert-base-uncased``, ``org/name``)
    rather than a local path? ``bare_words``: a plain word is an id too (datasets: ``imdb``)."""
    if not text or text.startswith((".", "/", "~")) or "\\" in text or ":" in text:
        return False
    if not _HUB_ID.match(text) or _FILE_EXTENSION.search(text) or _LOCAL_WORDS.match(text):
        return False
    if "/" not in text and not bare_words:
        # A legacy canonical id (gpt2, bert-base-uncased, t5-small): a model family name
        # with a digit or a hyphen; a bare word (``saved_model``) is more likely a folder.
        return bool(re.search(r"\d|-", text)) and "_" not in text.split("-")[0][:1]
    return True


class UnpinnedPretrained(TextGate, FileRule):
    code = "MLD402"
    name = "unpinned-pretrained"
    category = "data-dependency"
    severity = Severity.WARNING
    debt_minutes = 10.0
    tags = ("transformers", "huggingface", "pytorch", "datasets")
    gates = (
        (
            "from_pretrained",
            "load_dataset",
            "hf_hub_download",
            "snapshot_download",
            "SentenceTransformer",
            "CrossEncoder",
            "pipeline",
            "hub.load",
        ),
    )
    summary = "A model or dataset is downloaded from a hub without a pinned `revision=`."
    what = (
        "Downloads from a model hub whose repository is named literally (a string, or a "
        "constant of the file) and whose version is not pinned: `X.from_pretrained('org/name')` "
        "(transformers, diffusers, peft, ...), `SentenceTransformer('...')`, "
        "`transformers.pipeline(task, model='...')` and `pipeline(task)` with no model at all "
        "(the task's default model), `datasets.load_dataset('org/name')`, `hf_hub_download` / "
        "`snapshot_download(repo_id=...)`, and `torch.hub.load('owner/repo', ...)` without a "
        "`:ref`. Pinned means `revision=` a commit hash or a tag; `revision='main'` is a "
        "branch and still moves. Local paths (`./model`, `/models/x`, `checkpoints/best`, a "
        "name with a file extension), calls with `local_files_only=True` and names that are "
        "parameters or attributes (library code such as transformers itself) are not "
        "reported."
    )
    why = (
        _WHY_DATA + " A hub repository is such an input: its owner can push new weights, a "
        "fixed tokenizer or a re-split dataset under the same name, and the next run silently "
        "trains or predicts with them."
    )
    limits = (
        "Model names that come from configuration, command-line defaults or another module "
        "are not followed (that is configuration, and MLD3xx rules look at it); a bare word "
        "without a digit or hyphen (`from_pretrained('saved_model')`) is taken for a local "
        "folder. `timm.create_model(pretrained=True)` and `keras.applications` weights are "
        "versioned with the library and are not reported. Pinning by tag is accepted though "
        "a tag can be moved."
    )
    examples = (
        BAD(
            """
            from transformers import AutoModelForSequenceClassification, AutoTokenizer

            CHECKPOINT = "distilbert-base-uncased"
            tokenizer = AutoTokenizer.from_pretrained(CHECKPOINT)
            model = AutoModelForSequenceClassification.from_pretrained(CHECKPOINT, num_labels=2)
            """,
            expect=2,
        ),
        BAD(
            """
            # %%
            from datasets import load_dataset
            from sentence_transformers import SentenceTransformer
            # %%
            reviews = load_dataset("imdb", split="train")
            encoder = SentenceTransformer("sentence-transformers/all-MiniLM-L6-v2", revision="main")
            """,
            path="embed.ipynb",
            expect=2,
        ),
        BAD(
            """
            import torch
            from huggingface_hub import hf_hub_download
            from transformers import pipeline

            midas = torch.hub.load("intel-isl/MiDaS:master", "MiDaS_small")
            weights = hf_hub_download(repo_id="acme/churn-gbm", filename="model.joblib")
            classify = pipeline("sentiment-analysis")
            """,
            expect=3,
        ),
        GOOD(
            """
            from transformers import AutoModel, AutoTokenizer

            REVISION = "6f1b7ea2bd6a0e4fb2c6c3f1b3c09b5a3e1c1f00"
            tokenizer = AutoTokenizer.from_pretrained("bert-base-uncased", revision=REVISION)
            model = AutoModel.from_pretrained("bert-base-uncased", revision="v1.0.2")
            tuned = AutoModel.from_pretrained("./checkpoints/best")
            """
        ),
        GOOD(
            """
            from transformers import AutoModel, PreTrainedModel

            class Encoder(PreTrainedModel):
                @classmethod
                def build(cls, pretrained_model_name_or_path, **kwargs):
                    return AutoModel.from_pretrained(pretrained_model_name_or_path, **kwargs)

            def load(args):
                return AutoModel.from_pretrained(args.model_name_or_path)
            """
        ),
        GOOD(
            """
            import torch
            from datasets import load_dataset

            train = load_dataset("csv", data_files={"train": "data/train.csv"})
            model = torch.hub.load("pytorch/vision:v0.16.0", "resnet50", weights="DEFAULT")
            local = torch.hub.load("hubconf_dir", "custom", source="local")
            offline = load_dataset("imdb", revision="e6281661ce1c48d982bc483cf8a173c1bbeb5d31")
            """
        ),
    )

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        last = func.attr.value if isinstance(func, cst.Attribute) else getattr(func, "value", "")
        if last not in _NAMES:
            return
        if any(a.star == "**" for a in node.args):
            return
        local_only = keyword(node, "local_files_only")
        if isinstance(local_only, cst.Name) and local_only.value == "True":
            return
        what = "model"
        if last == "from_pretrained":
            target = argument(node, 0, "pretrained_model_name_or_path")
            shown = source(self.context.module, func)
        else:
            name = self.context.resolver.call_name(node)
            spec = _HUB_FUNCTIONS.get(name or "")
            if spec is None:
                return
            where, what = spec
            target = argument(node, *where)
            shown = name or last
            if name == "transformers.pipeline" and target is None:
                if argument(node, 0, "task") is not None and keyword(node, "revision") is None:
                    self.report(
                        node,
                        f"`{shown}()` without a model downloads the task's current default "
                        "model: name the model and pin `revision=` to a commit hash",
                    )
                return
            if name == "torch.hub.load":
                source_kw = string_value(keyword(node, "source"))
                if source_kw == "local":
                    return
        repo = self._string(target)
        if repo is None:
            return
        if shown == "torch.hub.load":
            name, _, ref = repo.partition(":")
            if (ref and ref.lower() not in _BRANCHES) or not hub_id(name) or "/" not in name:
                return
            what = f"the branch `{ref}`" if ref else "the repository's default branch"
            self.report(
                node,
                f"`torch.hub.load('{repo}')` loads {what}: pin a tag or commit "
                f"(`'{name}:v1.0'`)",
            )
            return
        if not hub_id(repo, bare_words=what == "dataset"):
            return
        if what == "dataset" and repo.lower() in _PACKAGED:
            return
        revision = keyword(node, "revision")
        pinned = self._string(revision) if revision is not None else None
        if revision is not None and (pinned is None or pinned.lower() not in _BRANCHES):
            return
        problem = (
            f"`revision='{pinned}'` is a branch that moves"
            if pinned is not None
            else "no `revision=` is pinned"
        )
        self.report(
            node,
            f"`{shown}('{repo}')` downloads the hub's current {what}: {problem}; pin "
            "`revision=` to a commit hash",
        )

    def _string(self, node: cst.BaseExpression | None) -> str | None:
        if node is None:
            return None
        value = string_value(node)
        if value is None and isinstance(node, cst.Name):
            literal = self.context.resolver.constant(node)
            if literal is not None and literal is not node:
                value = string_value(literal)
        return value
