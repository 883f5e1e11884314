"""MLD403-MLD404: underutilized data dependencies — columns loaded or built that nothing uses,
data files read and never used, and legacy features (columns built and then dropped)."""

from __future__ import annotations

import re
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from mldebt.facts.model import ModuleFacts, Signal
from mldebt.findings import Location, Severity
from mldebt.graph import ArtifactUse, ProjectGraph, is_test_path
from mldebt.rule import BAD, GOOD, ProjectRule

if TYPE_CHECKING:
    from mldebt.context import FileContext

_WHY_UNDERUTILIZED = (
    'Sculley et al. (NIPS 2015), "Data Dependencies Cost More than Code Dependencies", '
    "*Underutilized Data Dependencies*: input signals that give little or no benefit still "
    "make the system vulnerable to change — a column that is loaded must keep existing, keep "
    "its type and keep arriving on time upstream, for nothing. They name legacy features "
    "(kept after they became redundant), bundled features and epsilon-features, and "
    "recommend leave-one-feature-out evaluations to find and remove them."
)

_FRAME_LIBRARIES = re.compile(r"\b(?:pandas|polars)\b")
_STRING = re.compile(
    r"""\#[^\n]*|'''.*?'''|\"\"\".*?\"\"\"|'((?:[^'\\\n]|\\.)*)'|"((?:[^"\\\n]|\\.)*)\"""",
    re.DOTALL,
)
_IDENTIFIER = re.compile(r"[A-Za-z_]\w*")
#: ``weekly = sales.groupby(...)``: a variable and the names its value is computed from.
_DERIVED = re.compile(r"^[ \t]*([A-Za-z_]\w*)[ \t]*=(?!=)[ \t]*([^\n]*)$", re.MULTILINE)
#: ``df["x"] = ...`` / ``df = df.assign(x=...)``: the frame variable a column is built in.
_COLUMN_ASSIGNMENT = re.compile(
    r"^[ \t]*(?:([A-Za-z_]\w*)\[[^\]\n]+\][ \t]*=(?!=)|[A-Za-z_]\w*[ \t]*=[ \t]*([A-Za-z_]\w*)"
    r"\.assign\()",
    re.MULTILINE,
)
_COLUMN_TEXT = re.compile(r"[\w .%()/\-]{1,64}\Z")
#: Calls that consume every column of the frame they are given (or look at all of them).
_WHOLE_FRAME = frozenset(
    {
        "corr",
        "cov",
        "corrwith",
        "describe",
        "hist",
        "plot",
        "pairplot",
        "heatmap",
        "fit",
        "fit_transform",
        "transform",
        "predict",
        "predict_proba",
        "apply",
        "applymap",
        "map",
        "pipe",
        "to_numpy",
        "select_dtypes",
        "melt",
        "stack",
        "pivot_table",
        "ProfileReport",
        "profile_report",
        "train_test_split",
        "DMatrix",
        "Dataset",
        "Pool",
        "display",
        "filter",
        "concat",
        "merge",
        "join",
        "itertuples",
        "iterrows",
        "items",
        "to_dict",
        "to_records",
    }
)
_DATA_READERS = re.compile(r"(?:^|\.)(?:read_\w+|load|load_dataset|read_table|scan_\w+)$")


def file_columns(context: FileContext) -> dict[str, Any] | None:
    """Per-file facts of MLD403/MLD404 (files that use pandas or polars only): the lines of
    every short string literal (a column can be named by any of them), and the identifiers
    that occur once in the code (a variable assigned and never read)."""
    text = context.text
    if not _FRAME_LIBRARIES.search(text):
        return None
    newlines = [m.start() for m in re.finditer("\n", text)]
    literals: dict[str, list[int]] = defaultdict(list)
    code: list[str] = []
    position = 0
    for match in _STRING.finditer(text):
        code.append(text[position : match.start()])
        position = match.end()
        if match.start() and text[match.start() - 1] in "fF":
            # An f-string's fields are code: f"{len(stores)} stores" uses `stores`.
            code.append(" " + re.sub(r"\{\{|\}\}", " ", match.group()) + " ")
        value = match.group(1) if match.group(1) is not None else match.group(2)
        if value is None or not _COLUMN_TEXT.match(value):
            continue
        line = bisect_right(newlines, match.start()) + 1
        lines = literals[value]
        if len(lines) < 50 and line not in lines:
            lines.append(line)
    code.append(text[position:])
    counts: dict[str, int] = defaultdict(int)
    for word in _IDENTIFIER.findall("".join(code)):
        counts[word] += 1
    frames = [
        [bisect_right(newlines, match.start()) + 1, match.group(1) or match.group(2)]
        for match in _COLUMN_ASSIGNMENT.finditer(text)
    ]
    derived = [
        [match.group(1), sorted(set(_IDENTIFIER.findall(match.group(2))))[:20]]
        for match in _DERIVED.finditer(text)
    ]
    return {
        "literals": dict(literals),
        "once": sorted(w for w, n in counts.items() if n == 1),
        "frames": frames,
        "derived": derived,
    }


@dataclass(frozen=True)
class _Uses:
    """Column signals of one module by name: reads, writes and drops."""

    reads: dict[str, list[Signal]]
    writes: dict[str, list[Signal]]
    drops: dict[str, list[Signal]]


def _frames(facts: ModuleFacts, key: str) -> dict[int, str]:
    """Module line -> the frame variable a column is built in on that line."""
    extra = facts.extra.get(key) or {}
    return {int(line): var for line, var in extra.get("frames") or ()}


def _uses(facts: ModuleFacts) -> _Uses:
    reads: dict[str, list[Signal]] = defaultdict(list)
    writes: dict[str, list[Signal]] = defaultdict(list)
    drops: dict[str, list[Signal]] = defaultdict(list)
    for signal in facts.signals:
        if signal.via == "drop":
            drops[signal.name].append(signal)
        elif signal.via == "column":
            (writes if signal.write else reads)[signal.name].append(signal)
    return _Uses(reads, writes, drops)


class _Project:
    """What the whole project says about columns: who reads each, who mentions it."""

    def __init__(self, graph: ProjectGraph, key: str) -> None:
        self.graph = graph
        self.key = key
        self.uses = {path: _uses(facts) for path, facts in graph.by_path.items()}
        self.feature_lists: dict[str, set[str]] = defaultdict(set)
        for facts in graph.by_path.values():
            for signal in facts.signals:
                if signal.via == "constant":
                    node = "signal:constant:" + graph._constant_name(signal.name, facts)
                    for column in graph.feature_list(node) or ():
                        self.feature_lists[column].add(facts.path)
            for name, value in facts.constants.items():
                if isinstance(value, str):  # TARGET = "units"
                    self.feature_lists[value].add(f"{facts.path}:{name}")
                elif isinstance(value, list) and all(isinstance(v, str) for v in value):
                    for column in value:
                        self.feature_lists[column].add(f"{facts.path}:{name}")

    def literal_lines(self, path: str, column: str) -> list[int]:
        extra = self.graph.by_path[path].extra.get(self.key) or {}
        found: list[int] = (extra.get("literals") or {}).get(column, [])
        return found

    def read_elsewhere(self, column: str, path: str, lines: Iterable[int]) -> bool:
        """Is ``column`` read, or named by a literal, anywhere but ``lines`` of ``path``?"""
        skip = set(lines)
        if column in self.feature_lists:
            return True
        for other, uses in self.uses.items():
            for signal in uses.reads.get(column, ()):
                if other != path or signal.line not in skip:
                    return True
            for line in self.literal_lines(other, column):
                if other != path or line not in skip:
                    return True
        return False


#: Calls that pass every column on to their result (not a use in themselves).
_PASS_ON = frozenset({"merge", "join", "concat"})


def _whole_frame_use(
    facts: ModuleFacts,
    graph: ProjectGraph,
    start: int,
    end: int,
    passing: bool = True,
    scope: str | None = None,
    frame: str | None = None,
) -> bool:
    """Does the module, between two lines, hand a frame whole to something (a model, a file,
    a plot, a function of the project) that may use every column? ``passing``: a merge or a
    concat counts too (its result keeps every column). ``scope``: only code of that scope.
    ``frame``: the variable holding the frame; uses of *other* frames the module reads
    (another file's variable) do not count, anything else does."""
    others: set[str] = set()
    mine: set[str] = set()
    if frame is not None:
        for index, artifact in enumerate(facts.artifacts):
            if artifact.mode == "r" and artifact.var:
                if artifact.var == frame:
                    mine.add(f"a:{index}")
                else:
                    others.add(artifact.var)
    others.discard(frame or "")
    if others:
        # Variables computed from another frame only (``weekly = sales.groupby(...)``).
        extra = facts.extra.get("columns") or {}
        for var, names in extra.get("derived") or ():
            if var != frame and frame not in names and others.intersection(names):
                others.add(var)
    for artifact in facts.artifacts:
        if artifact.mode != "w" or not start < artifact.line < end:
            continue
        if scope is not None and artifact.scope != scope:
            continue
        if artifact.var in others and not mine & set(artifact.inputs):
            continue
        return True
    for model in facts.models:
        if scope is not None and model.scope != scope:
            continue
        if any(start < fit.line < end for fit in model.fits):
            return True
        if any(start < line < end for line in model.predicts):
            return True
    local = {d.name for d in facts.definitions if d.kind in ("function", "class")}
    for call in facts.calls:
        if not start < call.line < end or (scope is not None and call.scope != scope):
            continue
        if call.callee.split(".", 1)[0] in others:
            continue
        last = call.callee.rsplit(".", 1)[-1]
        if not passing and last in _PASS_ON:
            continue
        if last in _WHOLE_FRAME or call.callee in local:
            return True
        module = call.resolved.rpartition(".")[0]
        if module and (module in graph.by_module or call.resolved in graph.by_module):
            return True
    return False


class UnderutilizedInput(ProjectRule):
    code = "MLD403"
    name = "underutilized-input"
    category = "data-dependency"
    severity = Severity.WARNING
    debt_minutes = 10.0
    tags = ("pandas",)
    facts_key = "columns"
    summary = "Columns loaded or built, or a data file read, that nothing downstream uses."
    what = (
        "Three forms, across the files of the project: columns a reader loads by name "
        "(`pd.read_csv(path, usecols=[...])`) that no file reads afterwards; columns built "
        "(`df['x'] = ...`, `df.assign(x=...)`) at the top level of a script or notebook that "
        "no file ever reads; and a data file read "
        "into a variable that is never used (`events = pd.read_parquet(...)` and no other "
        "`events` in the file). A column counts as used when any file reads it (`df['x']`, "
        "`df.x`, a selection list, a feature-list constant) or names it in a string anywhere "
        "else. A frame handed whole to a model, a writer, a plot, `apply`, a merge or a "
        "function of the project uses all its columns, so nothing built before that is "
        "reported."
    )
    why = (
        _WHY_UNDERUTILIZED + " A column loaded and never read is the cheapest such "
        "dependency to remove, and the one nobody notices."
    )
    limits = (
        "Only files that use pandas or polars are looked at. A column named in a list held "
        "by a variable or constant (`usecols=COLUMNS`) counts as used. Columns built inside a "
        "function are not judged (the frame usually returns to a caller that may use it "
        "whole). Columns used through computed "
        "names (`df[prefix + 'x']`, `df.filter(like='x')`) count as used only when their "
        "name appears in a string; a frame passed whole through an unknown function counts as "
        "using every column, so columns built before such a call are never reported. "
        "Features read by position (`X[:, 3]`) are not followed."
    )
    examples = (
        BAD(
            {
                "load.py": """
                import pandas as pd

                def load(path: str) -> pd.DataFrame:
                    return pd.read_csv(
                        path, usecols=["customer_id", "tenure", "plan", "fax_number", "churned"]
                    )
                """,
                "report.py": """
                import pandas as pd
                from load import load

                pd.set_option("display.precision", 3)
                df = load("data/customers.csv")
                churn_by_plan = df.groupby("plan")["churned"].mean()
                print(churn_by_plan, df["customer_id"].nunique(), df["tenure"].median())
                """,
            }
        ),
        BAD(
            """
            import pandas as pd

            orders = pd.read_parquet("data/orders.parquet")
            returns = pd.read_parquet("data/returns.parquet")
            orders["basket_value"] = orders["qty"] * orders["price"]
            orders["weekday"] = orders["ts"].dt.weekday
            print(orders.groupby("weekday")["qty"].sum())
            """,
            expect=2,
        ),
        BAD(
            """
            # %%
            import pandas as pd
            sales = pd.read_csv("data/sales.csv", usecols=["store", "day", "units", "promo_flag"])
            # %%
            daily = sales.groupby(["store", "day"])["units"].sum()
            daily.tail()
            """,
            path="eda.ipynb",
        ),
        GOOD(
            """
            import pandas as pd
            from sklearn.ensemble import RandomForestClassifier

            df = pd.read_csv("data/train.csv", usecols=["age", "income", "label"])
            df["income_per_age"] = df["income"] / df["age"]
            model = RandomForestClassifier().fit(df.drop(columns=["label"]), df["label"])
            """
        ),
        GOOD(
            {
                "features.py": """
                import pandas as pd

                def build(df: pd.DataFrame) -> pd.DataFrame:
                    df["ratio"] = df["a"] / df["b"]
                    return df
                """,
                "train.py": """
                import pandas as pd
                from features import build

                FEATURES = ["ratio", "a"]
                df = build(pd.read_csv("x.csv"))
                print(df[FEATURES].describe())
                """,
            }
        ),
        GOOD(
            """
            # %%
            import pandas as pd
            raw = pd.read_csv("data/raw.csv", usecols=["id", "text", "label"])
            # %%
            raw["n_words"] = raw["text"].str.split().str.len()
            raw.to_parquet("data/clean.parquet")
            """,
            path="prep.ipynb",
        ),
    )

    @classmethod
    def file_facts(cls, context: FileContext) -> Any:
        return file_columns(context)

    def check(self) -> None:
        graph = self.graph
        project = _Project(graph, self.facts_key)
        for path, facts in sorted(graph.by_path.items()):
            if is_test_path(path) or facts.extra.get(self.facts_key) is None:
                continue
            self._loaded(path, facts, project)
            self._unused_reads(path, facts)
            self._built(path, facts, project)

    def _loaded(self, path: str, facts: ModuleFacts, project: _Project) -> None:
        uses = project.uses[path]
        for index, artifact in enumerate(facts.artifacts):
            if artifact.mode != "r" or not _DATA_READERS.search(artifact.api):
                continue
            loaded = sorted(
                {
                    s.name
                    for s in facts.signals
                    if s.line == artifact.line and s.via == "column" and not s.write
                }
            )
            if not loaded or self._whole(facts, index):
                continue
            if self._used_whole(path, facts, artifact.line, artifact.scope, artifact.var):
                continue
            unused = [
                c
                for c in loaded
                if not project.read_elsewhere(c, path, self._span(facts, artifact.line))
                and not uses.writes.get(c)
            ]
            if not unused:
                continue
            names = ", ".join(f"`{c}`" for c in unused)
            self.report(
                path,
                artifact.line,
                f"`{artifact.api}` loads column{'s' if len(unused) > 1 else ''} {names} that "
                "nothing in the project reads: drop them from the load (an upstream change to "
                "them can still break this pipeline)",
                key=f"loaded:{artifact.template}:{','.join(unused)}",
            )

    @staticmethod
    def _span(facts: ModuleFacts, line: int) -> range:
        """The lines a read call probably spans (its arguments may wrap): up to the next
        call of the module, at most ten lines."""
        following = [c.line for c in facts.calls if c.line > line]
        return range(line, min([*following, line + 11]))

    def _used_whole(
        self, path: str, facts: ModuleFacts, line: int, scope: str, frame: str | None
    ) -> bool:
        """After a read, does its function (or a module that calls the function) hand a
        frame whole to something that uses every column?"""
        graph = self.graph
        if _whole_frame_use(facts, graph, line, 10**9, False, scope, frame):
            return True
        if not scope:
            return False
        itself = f"{facts.module}.{scope}"
        for caller, _ in graph.callers(path, scope):
            other = graph.by_path.get(caller)
            if other is None or other.extra.get(self.facts_key) is None:
                return True  # a caller whose columns are not known (it does not use pandas)
            narrowed = replace(other, calls=[c for c in other.calls if c.resolved != itself])
            if _whole_frame_use(narrowed, graph, 0, 10**9, passing=False):
                return True
        return False

    @staticmethod
    def _whole(facts: ModuleFacts, index: int) -> bool:
        """Is read ``index`` handed whole (not a column selection) to a write or a fit?
        (A frame returned is followed to its readers by the column signals.)"""
        token = f"a:{index}"
        groups: list[tuple[str, ...]] = [a.inputs for a in facts.artifacts if a.mode == "w"]
        groups += [fit.inputs for model in facts.models for fit in model.fits]
        return any(
            token in inputs and not any(t.startswith(("s:", "k:")) for t in inputs)
            for inputs in groups
        )

    def _unused_reads(self, path: str, facts: ModuleFacts) -> None:
        once = set((facts.extra.get(self.facts_key) or {}).get("once", ()))
        if not once:
            return
        imported = {
            i.name for m in self.graph.importers(facts.module) for i in m.imports if i.name
        }
        for artifact in facts.artifacts:
            var = artifact.var
            if (
                artifact.mode != "r"
                or var is None
                or not var.isidentifier()
                or var not in once
                or var in imported
                or not _DATA_READERS.search(artifact.api)
            ):
                continue
            self.report(
                path,
                artifact.line,
                f"`{var}` is read from `{artifact.template}` by `{artifact.api}` and never "
                "used: remove the read, or the dependency on that file stays for nothing",
                key=f"unused-read:{var}:{artifact.template}",
            )

    def _built(self, path: str, facts: ModuleFacts, project: _Project) -> None:
        uses = project.uses[path]
        last_line = max((s.line for s in facts.signals), default=0) + 10**6
        frames = _frames(facts, self.facts_key)
        for column, all_writes in sorted(uses.writes.items()):
            if column in uses.drops:
                continue  # built then dropped: MLD404
            # Inside a function the frame usually goes back to a caller that may use it
            # whole: only scripts' and notebooks' top-level code is judged.
            writes = [w for w in all_writes if not w.scope]
            if not writes or len(writes) != len(all_writes):
                continue
            lines = [w.line for w in writes]
            if project.read_elsewhere(column, path, lines):
                continue
            first = min(lines)
            frame = frames.get(first)
            if _whole_frame_use(facts, self.graph, first - 1, last_line, True, "", frame):
                continue
            self.report(
                path,
                first,
                f"column `{column}` is built here and nothing in the project reads it: "
                "remove it, or use it",
                key=f"built:{column}",
                related=[
                    Location(path, w.line, message=f"`{column}` is assigned again")
                    for w in writes[1:3]
                ],
            )


class LegacyFeature(ProjectRule):
    code = "MLD404"
    name = "legacy-feature"
    category = "data-dependency"
    severity = Severity.WARNING
    debt_minutes = 10.0
    tags = ("pandas",)
    facts_key = "columns"
    summary = "A column is built and then dropped with nothing reading it in between."
    what = (
        "A column assigned (`df['f'] = ...`, `df.assign(f=...)`) and later dropped "
        "(`df.drop(columns=['f'])`, `df.drop(['f'], axis=1)`) in the same function or "
        "notebook, when nothing between the two reads it: no `df['f']` or `df.f`, no string "
        "naming it, no feature list holding it, and no step that takes the whole frame (a "
        "fit, a write, a plot, `apply`, a merge, a function of the project). Also across "
        "modules, through the project graph: a column built in one module and written to a "
        "file that another module reads and drops the column from, with nothing in the "
        "project reading it."
    )
    why = (
        _WHY_UNDERUTILIZED + " A column computed and then thrown away is a legacy feature in "
        "its plainest form: the code that builds it (and the inputs it reads) still runs, "
        "still has to be maintained and still fails when its inputs change."
    )
    limits = (
        "In one file, the build and the drop must be in one function (or both at the top "
        "level of a script or notebook). Across files, only the path through a file is "
        "followed: the column is built in one module, that module writes a file, another "
        "module reads it and drops the column, and no module reads or names the column "
        "anywhere else. A frame passed between modules as a return value is not followed."
    )
    examples = (
        BAD(
            """
            import pandas as pd

            def prepare(df: pd.DataFrame) -> pd.DataFrame:
                df["days_since_signup"] = (df["ts"] - df["signup"]).dt.days
                df["age_bucket"] = pd.cut(df["age"], bins=[0, 25, 45, 65, 120])
                df = df.dropna(subset=["ts"])
                return df.drop(columns=["age_bucket", "signup"])
            """
        ),
        BAD(
            """
            # %%
            import numpy as np
            import pandas as pd
            df = pd.read_csv("data/listings.csv")
            # %%
            df["price_per_m2"] = df["price"] / df["surface"]
            df["log_price"] = np.log1p(df["price"])
            # %%
            df = df.drop(["price_per_m2"], axis=1)
            y = df.pop("price")
            """,
            path="features.ipynb",
        ),
        BAD(
            """
            import numpy as np
            import pandas as pd

            events = pd.read_parquet("events.parquet")
            events = events.assign(hour=events.ts.dt.hour, is_weekend=events.ts.dt.weekday >= 5)
            events["session_len"] = events.groupby("session")["ts"].transform("count")
            events = events.drop(columns=["hour", "is_weekend"])
            print(events["session_len"].mean())
            """,
            expect=2,
        ),
        BAD(
            {
                "features.py": """
                import pandas as pd

                clicks = pd.read_parquet("data/clicks.parquet")
                clicks["hour"] = clicks["ts"].dt.hour
                clicks["dwell_log"] = (clicks["dwell_ms"] + 1).apply(float)
                clicks.to_parquet("data/features.parquet")
                """,
                "train.py": """
                import pandas as pd
                from sklearn.linear_model import LogisticRegression

                data = pd.read_parquet("data/features.parquet")
                data = data.drop(columns=["dwell_log"])
                model = LogisticRegression().fit(data[["hour"]], data["clicked"])
                """,
            }
        ),
        GOOD(
            {
                "features.py": """
                import pandas as pd

                clicks = pd.read_parquet("data/clicks.parquet")
                clicks["dwell_log"] = (clicks["dwell_ms"] + 1).apply(float)
                clicks.to_parquet("data/features.parquet")
                """,
                "train.py": """
                import pandas as pd

                data = pd.read_parquet("data/features.parquet")
                print(data["dwell_log"].describe())
                data = data.drop(columns=["dwell_log"])
                """,
            }
        ),
        GOOD(
            """
            import pandas as pd

            def prepare(df: pd.DataFrame) -> pd.DataFrame:
                df["total"] = df["qty"] * df["price"]
                df["share"] = df["total"] / df["total"].sum()
                return df.drop(columns=["total"])
            """
        ),
        GOOD(
            """
            import pandas as pd
            from sklearn.ensemble import GradientBoostingRegressor

            df = pd.read_csv("houses.csv")
            df["age"] = 2024 - df["built"]
            model = GradientBoostingRegressor().fit(df[["age", "rooms"]], df["price"])
            df = df.drop(columns=["age"])
            df.to_csv("houses_out.csv")
            """
        ),
        GOOD(
            """
            # %%
            import pandas as pd
            df = pd.read_csv("data.csv")
            df["z"] = (df["x"] - df["x"].mean()) / df["x"].std()
            df.describe()
            # %%
            df = df.drop(columns=["z", "x"])
            """,
            path="scratch.ipynb",
        ),
    )

    @classmethod
    def file_facts(cls, context: FileContext) -> Any:
        return file_columns(context)

    def check(self) -> None:
        graph = self.graph
        across: list[tuple[str, str, Signal]] = []
        for path, facts in sorted(graph.by_path.items()):
            if is_test_path(path) or not facts.signals:
                continue
            uses = _uses(facts)
            frames = _frames(facts, self.facts_key)
            extra = facts.extra.get(self.facts_key) or {}
            literals: dict[str, list[int]] = extra.get("literals") or {}
            features = {
                s.line: graph.feature_list(
                    "signal:constant:" + graph._constant_name(s.name, facts)
                )
                or []
                for s in facts.signals
                if s.via == "constant"
            }
            for column, drops in sorted(uses.drops.items()):
                for drop in drops:
                    built = [
                        w
                        for w in uses.writes.get(column, ())
                        if w.line < drop.line and w.scope == drop.scope
                    ]
                    if not built:
                        if not uses.writes.get(column):
                            across.append((path, column, drop))
                        continue
                    write = max(built, key=lambda s: s.line)
                    start, end = write.line, drop.line
                    if any(start <= r.line < end for r in uses.reads.get(column, ())):
                        continue
                    if any(start < line < end for line in literals.get(column, ())):
                        continue
                    if any(start < n < end and column in cols for n, cols in features.items()):
                        continue
                    frame = frames.get(start)
                    if _whole_frame_use(facts, graph, start, end, True, drop.scope, frame):
                        continue
                    self.report(
                        path,
                        write.line,
                        f"column `{column}` is built here and dropped later without being read "
                        "in between: a legacy feature; remove the code that builds it",
                        key=f"legacy:{column}",
                        related=[Location(path, drop.line, message=f"`{column}` is dropped")],
                    )
        if across:
            self._across(across)

    def _across(self, drops: list[tuple[str, str, Signal]]) -> None:
        """A column built in one module, written to a file that another module reads and
        where it is dropped with nothing reading it, in either module or anywhere else."""
        graph = self.graph
        project = _Project(graph, self.facts_key)
        reported: set[tuple[str, str]] = set()
        for path, column, drop in drops:
            reader = project.uses[path]
            if reader.reads.get(column) or column in project.feature_lists:
                continue
            if any(line != drop.line for line in project.literal_lines(path, column)):
                continue
            facts = graph.by_path[path]
            for use in graph.uses:
                if use.path != path or use.mode != "r" or use.line >= drop.line:
                    continue
                if _whole_frame_use(facts, graph, use.line, drop.line, False, drop.scope):
                    continue
                for node in use.nodes:
                    info = graph.artifacts.get(node)
                    if info is None or not info.known:
                        continue
                    for write in info.writes:
                        found = self._built_for(project, write, column, path)
                        if found is None or (write.path, column) in reported:
                            continue
                        reported.add((write.path, column))
                        self.report(
                            write.path,
                            found,
                            f"column `{column}` is built here and written to `{info.label}`; "
                            f"{path} reads it and drops `{column}` without reading it: a "
                            "legacy feature; remove the code that builds it",
                            key=f"legacy:{column}:{info.label}",
                            related=[
                                Location(write.path, write.line, message=f"writes `{info.label}`"),
                                Location(path, use.line, message=f"reads `{info.label}`"),
                                Location(path, drop.line, message=f"`{column}` is dropped"),
                            ],
                        )

    @staticmethod
    def _built_for(
        project: _Project, write: ArtifactUse, column: str, reader: str
    ) -> int | None:
        """The line where the writing module builds ``column`` before writing it, when no
        module but the reader's drop ever reads or names it; else None."""
        if write.path == reader or is_test_path(write.path):
            return None
        builder = project.uses.get(write.path)
        if builder is None:
            return None
        builds = [w.line for w in builder.writes.get(column, ()) if w.line < write.line]
        if not builds or builder.reads.get(column) or builder.drops.get(column):
            return None
        if any(line not in builds for line in project.literal_lines(write.path, column)):
            return None
        for other, uses in project.uses.items():
            if other in (write.path, reader):
                continue
            if uses.reads.get(column) or project.literal_lines(other, column):
                return None
        facts = project.graph.by_path[write.path]
        if _whole_frame_use(facts, project.graph, min(builds), write.line, False):
            return None
        return min(builds)
