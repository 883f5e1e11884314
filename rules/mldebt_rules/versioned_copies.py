"""MLD214: versioned near-copies of live code (``train_v2.py``, ``model_old.py``, ``exp_*.py``)."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass

from mldebt.facts.model import ModuleFacts
from mldebt.findings import Location, Severity
from mldebt.graph import ProjectGraph
from mldebt.rule import BAD, GOOD
from mldebt_rules._usage import (
    ProjectUsage,
    UsageRule,
    imported_paths,
    is_test_path,
    mentioned,
    project_usage,
)

#: Words that mark a file as a copy or a version of another (``train_old``, ``model_v3_final``).
MARKERS = frozenset(
    {
        "old",
        "older",
        "backup",
        "bak",
        "bk",
        "copy",
        "orig",
        "original",
        "prev",
        "previous",
        "tmp",
        "temp",
        "new",
        "newer",
        "final",
        "wip",
        "draft",
        "legacy",
        "deprecated",
        "unused",
        "dup",
        "duplicate",
        "fixed",
        "working",
        "latest",
        "exp",
        "experiment",
        "experimental",
    }
)
#: Folders whose files are kept copies (``old/train.py``).
COPY_FOLDERS = frozenset(
    {"old", "backup", "backups", "bak", "archive", "archived", "attic", "deprecated", "legacy"}
)
_VERSION = re.compile(r"^(?:v|ver|version)?\d{1,2}$|^v\d+[a-z]?$|^\d{6,8}$|^copy\d+$")
_PARENS = re.compile(r"\s*\(\d+\)$")  # "train (1)"
_SEPARATORS = re.compile(r"[_\-. ]+")


@dataclass(frozen=True)
class Name:
    """A file name read as ``base`` plus version / copy markers."""

    base: str
    version: int | None  # the number of a ``_vN`` marker
    markers: tuple[str, ...]  # other markers, lower case


def parse_name(stem: str) -> Name | None:
    """``train_v2_old`` -> base ``train``, version 2, markers (old,); None for a plain name."""
    text = stem
    markers: list[str] = []
    if text.lower().startswith("copy of "):
        text, markers = text[8:], ["copy"]
    if _PARENS.search(text):
        text, markers = _PARENS.sub("", text), [*markers, "copy"]
    tokens = [t for t in _SEPARATORS.split(text) if t]
    version: int | None = None
    while len(tokens) > 1 and _is_marker(tokens[-1]):
        token = tokens.pop().lower()
        number = re.fullmatch(r"(?:v|ver|version)?(\d{1,2})", token)
        if number and version is None:
            version = int(number.group(1))
        else:
            markers.append(token)
    while len(tokens) > 1 and tokens[0].lower() in ("exp", "experiment", "old", "copy", "tmp"):
        markers.append(tokens.pop(0).lower())
    if not markers and version is None:
        return None
    base = _original_span(text, tokens) or "_".join(tokens)
    return Name(base, version, tuple(markers))


def _is_marker(token: str) -> bool:
    lower = token.lower()
    return lower in MARKERS or bool(_VERSION.match(lower))


def _original_span(text: str, tokens: list[str]) -> str | None:
    """The part of ``text`` that the kept ``tokens`` cover, separators included."""
    pattern = r"[_\-. ]+".join(re.escape(t) for t in tokens)
    match = re.search(pattern, text)
    return match.group(0) if match else None


def normalised_lines(lines: Iterable[str]) -> list[str]:
    """Source lines without blank lines, comments and indentation, spaces collapsed."""
    out = []
    for line in lines:
        text = " ".join(line.split())
        if text and not text.startswith("#"):
            out.append(text)
    return out


def similarity(a: list[str], b: list[str]) -> float:
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    if matcher.real_quick_ratio() < 0.2:
        return matcher.real_quick_ratio()
    return matcher.ratio()


@dataclass(frozen=True)
class Copy:
    copy: ModuleFacts
    live: ModuleFacts
    ratio: float


def find_copies(
    graph: ProjectGraph, project: ProjectUsage, min_similarity: float = 0.5
) -> list[Copy]:
    """Files named as versions or copies whose live counterpart they still closely resemble."""
    key = ("copies", min_similarity)
    if key not in project.memo:
        project.memo[key] = _find_copies(graph, project, min_similarity)
    found: list[Copy] = project.memo[key]
    return found


def _find_copies(graph: ProjectGraph, project: ProjectUsage, min_similarity: float) -> list[Copy]:
    imported = imported_paths(graph, project)
    by_folder: dict[str, dict[str, ModuleFacts]] = {}
    by_name: dict[str, list[ModuleFacts]] = {}
    for facts in graph.modules():
        folder, _, name = facts.path.rpartition("/")
        by_folder.setdefault(folder, {})[name] = facts
        by_name.setdefault(name, []).append(facts)
    copies: list[Copy] = []
    run_files = list(project.files.texts(("run",)))
    for facts in graph.modules():
        if facts.path in imported or is_test_path(facts.path) or facts.path in project.opaque:
            continue
        folder, _, filename = facts.path.rpartition("/")
        stem, _, suffix = filename.rpartition(".")
        if filename.startswith("__"):
            continue
        candidates = _live_candidates(facts, folder, stem, suffix, by_folder, by_name)
        if candidates is None:
            continue
        lines = project.source_lines(facts.path)
        if lines is None:
            continue
        mine = normalised_lines(lines)
        if len(mine) < 3 or mentioned(facts, run_files):
            continue
        best: Copy | None = None
        for live in candidates:
            theirs = project.source_lines(live.path) if live.path != facts.path else None
            if theirs is None:
                continue
            ratio = similarity(mine, normalised_lines(theirs))
            if ratio >= min_similarity and (best is None or ratio > best.ratio):
                best = Copy(facts, live, ratio)
        if best is not None:
            copies.append(best)
    return copies


def _live_candidates(
    facts: ModuleFacts,
    folder: str,
    stem: str,
    suffix: str,
    by_folder: dict[str, dict[str, ModuleFacts]],
    by_name: dict[str, list[ModuleFacts]],
) -> list[ModuleFacts] | None:
    """The files ``facts`` may be a copy of, best guess first; None when its name is plain."""
    in_copy_folder = any(p.lower() in COPY_FOLDERS for p in folder.split("/") if p)
    name = parse_name(stem)
    if name is None and not in_copy_folder:
        return None
    siblings = by_folder.get(folder, {})
    if name is None:  # old/train.py: the same file name elsewhere, outside copy folders
        return [
            other
            for other in by_name.get(f"{stem}.{suffix}", [])
            if not any(p.lower() in COPY_FOLDERS for p in other.path.split("/")[:-1])
        ]
    found: list[ModuleFacts] = []
    for ext in (suffix, "py" if suffix == "ipynb" else "ipynb"):
        live = siblings.get(f"{name.base}.{ext}")
        if live is not None:
            found.append(live)
    if found:
        return found
    # no plain file: the newest plain version (model_v3.py beside model_v2_old.py) ...
    versions = []
    for other_name, other in siblings.items():
        other_stem, _, other_suffix = other_name.rpartition(".")
        parsed = parse_name(other_stem)
        if (
            other is not facts
            and other_suffix == suffix
            and parsed is not None
            and parsed.base == name.base
            and not parsed.markers
            and parsed.version is not None
        ):
            versions.append((parsed.version, other))
    if versions:
        newest_version, newest = max(versions, key=lambda v: v[0])
        if name.markers or (name.version or 0) < newest_version:
            return [newest]
        return None
    # ... else the folder's plain files (exp_dart.py is a copy of whichever it resembles)
    elsewhere = [m for m in by_name.get(f"{name.base}.{suffix}", []) if m is not facts]
    plain = [
        other
        for other_name, other in siblings.items()
        if other is not facts
        and other_name.rpartition(".")[2] == suffix
        and parse_name(other_name.rpartition(".")[0]) is None
        and not other_name.startswith("__")
    ]
    return elsewhere + plain


class VersionedCopy(UsageRule):
    code = "MLD214"
    name = "versioned-copy"
    category = "dead-experimental-code"
    severity = Severity.WARNING
    debt_minutes = 30.0
    tags = ("dead-code", "cross-file")
    options = {"min-similarity": 0.5}
    option_docs = {
        "min-similarity": (
            "Smallest share of matching normalised source lines (0 to 1, difflib's ratio) for "
            "a versioned file to count as a copy of the live one."
        )
    }
    summary = (
        "A file named as a version or copy of another (`train_v2.py`, `model_old.py`) that "
        "still closely resembles it."
    )
    what = (
        "Scripts, modules and notebooks whose name marks them as a version or a copy of "
        "another file — `train_v2.py`, `model_v3_final.py`, `features_old.py`, `*_backup.py`, "
        "`*_copy.py`, `exp_*.py`, `train (1).py`, `Copy of eda.ipynb`, or a file in an "
        "`old/` / `backup/` / `archive/` folder — when the live file they were copied from "
        "is still there and the two still share most of their code. The live file is the "
        "same name without the markers in the same folder (else the newest plain `_vN`, "
        "else the most similar plain file of the folder). Similarity is difflib's ratio over "
        "the files' normalised source lines (blank lines, comments and indentation ignored); "
        "the finding gives it and points at the live file. A versioned file that other "
        "modules import is live code with an unlucky name and is not reported."
    )
    why = (
        "Sculley et al. (2015), section 6 'Dead experimental codepaths': experiments kept as "
        "copies of production code diverge silently, get run by mistake, and double the "
        "code every fix has to reach. Version control already keeps the old versions; "
        "a flag or a parameter keeps a live alternative."
    )
    limits = (
        "Only names with a recognised marker are considered, so a copy named `train2.py` or "
        "`train_new_idea.py` is missed. Needs the files' text: when the analysed root cannot "
        "be read the rule is silent. Notebooks are compared through their code cells."
    )
    examples = (
        BAD(
            {
                "train.py": """
                import pandas as pd
                from sklearn.linear_model import LogisticRegression

                df = pd.read_csv("data/train.csv")
                X, y = df.drop(columns="churn"), df["churn"]
                model = LogisticRegression(C=0.5, max_iter=1000)
                model.fit(X, y)
                print(model.score(X, y))
                """,
                "train_v2_old.py": """
                import pandas as pd
                from sklearn.linear_model import LogisticRegression

                df = pd.read_csv("data/train.csv")
                df = df[df.tenure > 0]
                X, y = df.drop(columns="churn"), df["churn"]
                model = LogisticRegression(C=0.1, max_iter=1000)
                model.fit(X, y)
                print(model.score(X, y))
                """,
            },
            expect=1,
        ),
        GOOD(
            {
                "train.py": """
                import pandas as pd
                from model_v2 import build

                model = build()
                model.fit(pd.read_csv("data/train.csv"))
                """,
                "model_v2.py": """
                from sklearn.ensemble import RandomForestClassifier

                def build():
                    return RandomForestClassifier(n_estimators=300, random_state=0)
                """,
                "model.py": """
                from sklearn.ensemble import RandomForestClassifier

                def build():
                    return RandomForestClassifier(n_estimators=100, random_state=0)
                """,
            }
        ),
        GOOD(
            {
                "train.py": """
                import pandas as pd

                df = pd.read_csv("data/train.csv")
                print(df.describe())
                """,
                "train_old.py": """
                import json

                with open("runs/history.json") as fh:
                    history = json.load(fh)
                best = max(history, key=lambda r: r["val_auc"])
                print(best)
                """,
            }
        ),
        BAD(
            {
                "eda.ipynb": """
                # %%
                import pandas as pd
                import seaborn as sns

                df = pd.read_csv("data/houses.csv")
                # %%
                df = df[df.price < df.price.quantile(0.99)]
                sns.histplot(df, x="price", hue="city")
                # %%
                df.groupby("city")["price"].median().sort_values().plot.barh()
                """,
                "Copy of eda.ipynb": """
                # %%
                import pandas as pd
                import seaborn as sns

                df = pd.read_csv("data/houses.csv")
                # %%
                df = df[df.price < df.price.quantile(0.95)]
                sns.histplot(df, x="price", hue="city")
                # %%
                df.groupby("city")["price"].mean().sort_values().plot.barh()
                """,
            },
            expect=1,
        ),
        BAD(
            {
                "features.py": """
                import numpy as np
                import pandas as pd

                def build(df: pd.DataFrame) -> pd.DataFrame:
                    df["log_income"] = np.log1p(df["income"])
                    df["age_bucket"] = pd.cut(df["age"], bins=[0, 25, 40, 60, 120])
                    df["loan_to_income"] = df["loan"] / df["income"].clip(lower=1)
                    return df
                """,
                "features_backup.py": """
                import numpy as np
                import pandas as pd

                def build(df: pd.DataFrame) -> pd.DataFrame:
                    df["log_income"] = np.log(df["income"])
                    df["age_bucket"] = pd.cut(df["age"], bins=[0, 25, 40, 60, 120])
                    df["loan_to_income"] = df["loan"] / df["income"]
                    return df
                """,
                "train.py": """
                import pandas as pd
                from features import build

                df = build(pd.read_csv("data/loans.csv"))
                """,
            },
            expect=1,
        ),
        GOOD(
            {
                "train.py": """
                import pandas as pd
                from sklearn.linear_model import LogisticRegression

                df = pd.read_csv("data/train.csv")
                model = LogisticRegression(C=0.5, max_iter=1000)
                model.fit(df.drop(columns="churn"), df["churn"])
                """,
                "train_v2.py": """
                import pandas as pd
                from sklearn.linear_model import LogisticRegression

                df = pd.read_csv("data/train.csv")
                model = LogisticRegression(C=0.1, max_iter=1000)
                model.fit(df.drop(columns="churn"), df["churn"])
                """,
                "dvc.yaml": """
                stages:
                  train:
                    cmd: python train_v2.py
                    deps: [data/train.csv]
                """,
            }
        ),
    )

    def check(self) -> None:
        project = project_usage(self.graph)
        threshold = float(self.opts.get("min-similarity", 0.5))
        for found in find_copies(self.graph, project, threshold):
            percent = round(found.ratio * 100)
            self.report(
                found.copy.path,
                1,
                f"{found.copy.path} looks like a versioned copy of {found.live.path} "
                f"({percent}% of its normalised source lines match): keep one version and "
                "delete the other, or turn the difference into a parameter",
                key=f"{found.copy.path}->{found.live.path}",
                size=max(found.copy.lines_of_code, 1),
                related=[Location(found.live.path, 1, message="the live file it copies")],
            )
