"""MLD306: absolute paths that only exist on one machine (a home folder, a drive, a mount)."""

from __future__ import annotations

import re

import libcst as cst

from mldebt.findings import Severity
from mldebt.graph import is_test_path
from mldebt.rule import BAD, GOOD, FileRule
from mldebt_rules._arrays import TextGate

#: (pattern at the start of a string, what the message calls it)
_MACHINE_PATHS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^/(?:home|Users)/[A-Za-z0-9_.\-]+(?:/|$)"), "a user's home folder"),
    (re.compile(r"^/root/"), "root's home folder"),
    (re.compile(r"^[A-Za-z]:(?:\\|/(?!/))[^\n]"), "a Windows drive"),
    (re.compile(r"^\\\\[A-Za-z0-9_.\-]+\\[^\n]"), "a Windows network share"),
    (re.compile(r"^~[A-Za-z0-9_.\-]*/(?!\.)[^\n]"), "a user's home folder"),
    (
        re.compile(r"^/(?:mnt|media|Volumes|scratch|nfs|gpfs|lustre|net)/[A-Za-z0-9_.\-]+"),
        "a machine's mount point",
    ),
    (re.compile(r"^/(?:data|datasets)/[A-Za-z0-9_.\-]+"), "a machine's data folder"),
    (re.compile(r"^/content/(?:drive|gdrive)/"), "a Colab session's Google Drive"),
)
_GATE = (
    *("/home/", "/Users/", "/root/", ":\\", ":/", "\\\\", "~", "/mnt/", "/media/", "/Volumes/"),
    *("/scratch/", "/nfs/", "/gpfs/", "/lustre/", "/net/", "/data/", "/datasets/", "/content/"),
)
#: Keyword arguments whose strings are prose, not paths.
_PROSE_KEYWORDS = frozenset(
    {"help", "description", "epilog", "usage", "doc", "docstring", "example", "metavar"}
)
_TEMPLATE = re.compile(r"[<>{}]|\$[A-Z{]|%\(|\*")
_REGEX = re.compile(r"[*+?|^$\[\]{}]")
_PLACEHOLDER_USERS = frozenset({"user", "username", "me", "you", "your_name", "yourname", "name"})


def machine_path(value: str) -> str | None:
    """What kind of machine-specific place ``value`` starts with, or None."""
    if not value or len(value) > 400 or "\n" in value or value.startswith("//"):
        return None
    for pattern, what in _MACHINE_PATHS:
        match = pattern.match(value)
        if match is None:
            continue
        head = value[: match.end()]
        if _TEMPLATE.search(head):
            return None
        if what.startswith("a Windows") and _REGEX.search(value):
            return None  # a regular expression (r"\\text\s*{"), not a path
        if what == "a user's home folder" and value.startswith(("/home/", "/Users/")):
            user = value.split("/")[2]
            if user.lower() in _PLACEHOLDER_USERS:
                return None
        return what
    return None


class MachineSpecificPath(TextGate, FileRule):
    code = "MLD306"
    name = "machine-specific-path"
    category = "configuration-debt"
    severity = Severity.WARNING
    debt_minutes = 10.0
    gates = (_GATE,)
    summary = "An absolute path that exists on one machine only (`/home/alice/...`, `C:\\...`)."
    what = (
        "String literals, and the literal start of f-strings and path joins, that begin with a "
        "place only one machine has: a user's home folder (`/home/alice/`, `/Users/bob/`, "
        "`~/data/`, `/root/`), a Windows drive or share (`C:\\\\...`, `D:/...`, "
        "`\\\\\\\\server\\\\`), "
        "a mount point (`/mnt/...`, `/media/...`, `/Volumes/...`, `/scratch/`, `/nfs/`, "
        "`/gpfs/`, `/lustre/`), a machine's data folder (`/data/...`, `/datasets/...`) or a "
        "Colab session's Google Drive (`/content/drive/`). System paths (`/tmp`, `/dev/null`, "
        "`/etc`, `/proc`), tool folders under the home folder (`~/.cache`, `~/.keras`), URLs, "
        "docstrings, `help=` texts, templates (`/home/<user>/`, `{root}/...`) and test files "
        "are not reported."
    )
    why = (
        "Sculley et al., §Configuration Debt: the locations a system reads and writes are "
        "configuration, and written into the code they tie it to the machine it was first run "
        "on. The next person, the CI runner and the training cluster each have to edit the "
        "code to run it, and a path that exists on a colleague's laptop with other contents "
        "fails silently instead of loudly."
    )
    limits = (
        "Only literals are read: a home folder assembled at run time (`'/home/' + user`) is "
        "not found, and neither is a path read from a config file. `/data/` is reported even "
        "where a container mounts it by contract; disable the rule for such files with "
        "per-file-ignores."
    )
    examples = (
        BAD(
            """
            import pandas as pd

            transactions = pd.read_csv("/home/alice/fraud/data/transactions_2023.csv")
            transactions.to_parquet("/mnt/shared/fraud/features.parquet")
            """,
            expect=2,
        ),
        BAD(
            r"""
            import os
            import joblib

            MODEL_DIR = "C:\\Users\\bob\\projects\\fraud\\models"
            joblib.dump(model, os.path.join(MODEL_DIR, "gbm.joblib"))
            run_dir = f"/Users/bob/runs/{run_id}/metrics.json"
            """,
            expect=2,
        ),
        BAD(
            """
            # %%
            from pathlib import Path
            import pandas as pd
            # %%
            raw = pd.read_csv(Path("~/Downloads/chargebacks.csv").expanduser())
            images = Path("/content/drive/MyDrive/fraud/receipts")
            """,
            path="explore.ipynb",
            expect=2,
        ),
        GOOD(
            """
            import os
            from pathlib import Path

            import pandas as pd

            DATA_DIR = Path(os.environ.get("FRAUD_DATA", "data"))
            transactions = pd.read_csv(DATA_DIR / "transactions.csv")
            cache = Path("~/.cache/fraud").expanduser()
            """
        ),
        GOOD(
            '''
            import argparse
            import tempfile

            def main() -> None:
                """Train the model; data is read from e.g. /home/alice/data."""
                parser = argparse.ArgumentParser()
                parser.add_argument("--data", help="folder, e.g. /home/<user>/fraud/data")
                scratch = tempfile.mkdtemp(dir="/tmp")
                log = open("/dev/null", "w")
                url = "https://example.com/home/alice/data.csv"
            '''
        ),
        GOOD(
            """
            from pathlib import Path

            def output_path(root: Path, run_id: str) -> Path:
                template = "{root}/runs/{run_id}"
                return Path(template.format(root=root, run_id=run_id))
            """
        ),
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.test = is_test_path(self.context.path)
        self.skip: set[int] = set()

    def visit_Expr(self, node: cst.Expr) -> None:
        if isinstance(node.value, (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString)):
            self._skip(node.value)  # a docstring or a bare string statement

    def visit_Arg(self, node: cst.Arg) -> None:
        if node.keyword is not None and node.keyword.value in _PROSE_KEYWORDS:
            self._skip(node.value)

    def visit_ConcatenatedString(self, node: cst.ConcatenatedString) -> None:
        if id(node) not in self.skip:
            self._skip(node.right)  # only the first part starts the path

    def _skip(self, node: cst.BaseExpression) -> None:
        self.skip.add(id(node))
        while isinstance(node, cst.ConcatenatedString):
            self.skip.update((id(node.left), id(node.right)))
            node = node.right

    def visit_SimpleString(self, node: cst.SimpleString) -> None:
        if self.test or id(node) in self.skip:
            return
        raw = node.value
        start = raw[len(node.prefix) + len(node.quote) : len(node.prefix) + len(node.quote) + 2]
        if not start or (start[0] not in "/~\\" and start[1:] != ":"):
            return  # cannot start with a machine path: skip the literal's evaluation
        try:
            value = node.evaluated_value
        except Exception:  # an escape Python refuses ("C:\Users" in an old script)
            value = node.value[len(node.prefix) + len(node.quote) : -len(node.quote)]
        if isinstance(value, str):
            self._check(node, value)

    def visit_FormattedString(self, node: cst.FormattedString) -> None:
        if self.test or id(node) in self.skip or not node.parts:
            return
        first = node.parts[0]
        if isinstance(first, cst.FormattedStringText):
            self._check(node, first.value)

    def _check(self, node: cst.CSTNode, value: str) -> None:
        what = machine_path(value)
        if what is None:
            return
        shown = value if len(value) <= 80 else value[:77] + "..."
        self.report(
            node,
            f"machine-specific path `{shown}` ({what}): it exists on one machine only; "
            "take it from configuration (a CLI option, an environment variable, a config file) "
            "or make it relative to the project",
        )
