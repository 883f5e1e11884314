"""Pipeline jungles (Sculley et al. 2015, section 4 'Pipeline Jungles').

MLD101 pipeline-jungle: scripts chained through intermediate files that no pipeline declares.
MLD102 artifact-written-in-several-places: one file written by two or more steps.
MLD103 read-before-written: a step reads what only a later step writes (a cycle of hand-offs,
or numbered scripts that run in the wrong order).
MLD104 orphan-intermediate: an intermediate file that is written and that nothing reads.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import networkx as nx

from mldebt.findings import Location, Severity
from mldebt.graph import ArtifactInfo, ArtifactUse, ProjectGraph
from mldebt.rule import BAD, GOOD, ProjectRule
from mldebt_rules._pipelines import (
    DATA_SUFFIXES,
    INTERMEDIATE_WORDS,
    RAW_INPUTS,
    HandOff,
    declared,
    hand_offs,
    is_final,
    is_model_artifact,
    is_raw,
    natural_key,
    number_of,
    steps,
    suffix,
    words,
)

SECTION = (
    "Sculley et al., 'Hidden Technical Debt in Machine Learning Systems' (NIPS 2015), "
    "section 4, 'Pipeline Jungles'"
)
_RAW_DOC = (
    "Folders whose files are raw inputs (a path under one, at any depth, is never an "
    "intermediate): default `data/raw`, `raw`, `input`."
)


def _label(graph: ProjectGraph, node: str) -> str:
    return graph.artifacts[node].label


def _raw(options: Any) -> tuple[str, ...]:
    value = options.get("raw-input", RAW_INPUTS)
    return tuple(value) if isinstance(value, (list, tuple)) else RAW_INPUTS


def _where(graph: ProjectGraph, use: ArtifactUse) -> str:
    return graph.where(use.path, use.line)


def _steps_listing(names: Sequence[str], limit: int = 8) -> str:
    shown = list(names[:limit])
    if len(names) > limit:
        shown.append(f"... ({len(names) - limit} more)")
    return " → ".join(shown)


def undeclared_hand_offs(graph: ProjectGraph, raw: Iterable[str]) -> list[HandOff]:
    """Data hand-offs between steps that no declaration covers."""
    declaration = declared(graph)
    return [
        h for h in hand_offs(graph, raw) if not declaration.hand_off(h, _label(graph, h.artifact))
    ]


class PipelineJungle(ProjectRule):
    code = "MLD101"
    name = "pipeline-jungle"
    category = "pipeline-jungle"
    severity = Severity.WARNING
    debt_minutes = 60.0
    debt_per_unit = 20.0
    tags = ("pipeline", "cross-file")
    summary = "Scripts chained through intermediate files that no pipeline declares."
    what = (
        "Data preparation that runs as separate scripts or notebooks handing data on through "
        "intermediate files or tables — one writes `data/interim/clean.parquet`, the next "
        "reads it and writes `features.csv`, a third trains on that — when the chain has at "
        "least `min-chain` hand-offs and nothing declares it: no `dvc.yaml` stage names the "
        "files or runs the scripts, no Makefile target, no Kedro catalog, no MLflow "
        "`MLproject` entry point, no shell script that runs the steps, and no Airflow, "
        "Prefect, Luigi, Kedro, Dagster, Metaflow, ZenML, Flyte or Kubeflow module. One "
        "finding per connected chain, at the first hand-off, with every step in order as "
        "related locations. Files are recognised however their paths are spelt (constants, "
        "`os.path.join`, pathlib, f-strings, folders relative to the root or to the script); "
        "a helper function's reads and writes belong to the scripts that call it. Raw inputs "
        "and model files do not count as hand-offs."
    )
    why = (
        f"{SECTION}: preparation grows into a jungle of scrapes, joins and samples chained "
        "through intermediate files; only running every script in the right order "
        "reproduces the data, nobody can tell which step produced a file or what a change "
        "breaks downstream, and testing it end to end needs the whole chain. A declared "
        "pipeline (DVC, make, an orchestrator) states the order and the files, reruns what "
        "changed and can be tested."
    )
    limits = (
        "Paths that are only known at run time (command-line arguments without a default, "
        "environment variables) cannot be matched, so chains through them are missed. A "
        "declaration is recognised by the files it names or the scripts it runs; a pipeline "
        "declared in a tool this rule does not read looks undeclared."
    )
    options = {"min-chain": 2, "raw-input": list(RAW_INPUTS)}
    option_docs = {
        "min-chain": "Hand-offs a chain needs, along its longest path, to be reported.",
        "raw-input": _RAW_DOC,
    }
    examples = (
        BAD(
            {
                "pipeline/01_clean.py": """
                    import pandas as pd

                    df = pd.read_csv("data/raw/customers.csv")
                    df.dropna().to_parquet("data/interim/clean.parquet")
                """,
                "pipeline/02_features.py": """
                    import pandas as pd

                    df = pd.read_parquet("data/interim/clean.parquet")
                    df["tenure_years"] = df["tenure"] / 12
                    df.to_csv("data/processed/features.csv", index=False)
                """,
                "train.py": """
                    import joblib
                    import pandas as pd
                    from sklearn.linear_model import LogisticRegression

                    df = pd.read_csv("data/processed/features.csv")
                    model = LogisticRegression().fit(df[["tenure_years"]], df["churn"])
                    joblib.dump(model, "models/churn.joblib")
                """,
            },
            expect=1,
        ),
        GOOD(
            {
                "dvc.yaml": """
                    stages:
                      clean:
                        cmd: python pipeline/01_clean.py
                        deps: [data/raw/customers.csv, pipeline/01_clean.py]
                        outs: [data/interim/clean.parquet]
                      features:
                        cmd: python pipeline/02_features.py
                        deps: [data/interim/clean.parquet]
                        outs: [data/processed/features.csv]
                """,
                "pipeline/01_clean.py": """
                    import pandas as pd

                    df = pd.read_csv("data/raw/customers.csv")
                    df.dropna().to_parquet("data/interim/clean.parquet")
                """,
                "pipeline/02_features.py": """
                    import pandas as pd

                    df = pd.read_parquet("data/interim/clean.parquet")
                    df.to_csv("data/processed/features.csv", index=False)
                """,
                "train.py": """
                    import pandas as pd

                    df = pd.read_csv("data/processed/features.csv")
                """,
            }
        ),
        GOOD(
            {
                "Makefile": """
                    data/interim/clean.parquet: data/raw/customers.csv clean.py
                    \tpython clean.py

                    data/processed/features.csv: data/interim/clean.parquet features.py
                    \tpython features.py
                """,
                "clean.py": """
                    import pandas as pd

                    pd.read_csv("data/raw/customers.csv").to_parquet("data/interim/clean.parquet")
                """,
                "features.py": """
                    import pandas as pd

                    df = pd.read_parquet("data/interim/clean.parquet")
                    df.to_csv("data/processed/features.csv")
                """,
                "train.py": """
                    import pandas as pd

                    df = pd.read_csv("data/processed/features.csv")
                """,
            }
        ),
        GOOD(
            {
                "prepare.py": """
                    import pandas as pd

                    pd.read_csv("data/raw/a.csv").to_parquet("data/train.parquet")
                """,
                "train.py": """
                    import joblib
                    import pandas as pd
                    from sklearn.tree import DecisionTreeClassifier

                    df = pd.read_parquet("data/train.parquet")
                    model = DecisionTreeClassifier(random_state=0).fit(df[["x"]], df["y"])
                    joblib.dump(model, "model.joblib")
                """,
                "predict.py": """
                    import joblib

                    model = joblib.load("model.joblib")
                """,
            }
        ),
        BAD(
            {
                "notebooks/01_cleaning.ipynb": """
                    # %%
                    import pandas as pd

                    sales = pd.read_csv("../data/raw/sales.csv", parse_dates=["date"])
                    # %%
                    sales = sales.dropna(subset=["store_id"]).query("units >= 0")
                    sales.to_parquet("../data/interim/sales_clean.parquet")
                """,
                "notebooks/02_features.ipynb": """
                    # %%
                    import pandas as pd

                    sales = pd.read_parquet("../data/interim/sales_clean.parquet")
                    # %%
                    sales["dow"] = sales["date"].dt.dayofweek
                    sales["lag_7"] = sales.groupby("store_id")["units"].shift(7)
                    sales.to_parquet("../data/processed/sales_features.parquet")
                """,
                "notebooks/03_model.ipynb": """
                    # %%
                    import pandas as pd
                    from sklearn.ensemble import HistGradientBoostingRegressor

                    df = pd.read_parquet("../data/processed/sales_features.parquet")
                    model = HistGradientBoostingRegressor(random_state=0)
                    model.fit(df[["dow", "lag_7"]], df["units"])
                """,
            },
            expect=1,
        ),
        BAD(
            {
                "src/paths.py": """
                    from pathlib import Path

                    ROOT = Path(__file__).resolve().parents[1]
                    INTERIM = ROOT / "data" / "interim"
                """,
                "src/prepare.py": """
                    import os

                    import pandas as pd
                    from paths import INTERIM, ROOT

                    raw = os.path.join(ROOT, "data", "raw", "events.jsonl")
                    events = pd.read_json(raw, lines=True)
                    events.to_parquet(INTERIM / "events.parquet")
                """,
                "src/sessions.py": """
                    import pandas as pd
                    from paths import INTERIM

                    events = pd.read_parquet(INTERIM / "events.parquet")
                    sessions = events.groupby("session_id").agg(n=("event", "size"))
                    sessions.to_parquet(INTERIM / "sessions.parquet")
                """,
                "src/train.py": """
                    import pandas as pd
                    from paths import INTERIM
                    from sklearn.linear_model import LogisticRegression

                    sessions = pd.read_parquet(INTERIM / "sessions.parquet")
                    clf = LogisticRegression(max_iter=500).fit(sessions[["n"]], sessions["bought"])
                """,
            },
            expect=1,
        ),
    )

    def check(self) -> None:
        graph = self.graph
        minimum = int(self.opts.get("min-chain", 2))
        offs = undeclared_hand_offs(graph, _raw(self.opts))
        chain = nx.MultiDiGraph()
        for hand_off in offs:
            chain.add_edge(hand_off.writer, hand_off.reader, hand_off=hand_off)
        for component in sorted(
            nx.weakly_connected_components(chain), key=lambda c: min(map(natural_key, c))
        ):
            sub = chain.subgraph(component)
            order = _order(sub)
            length = _longest(sub)
            if length < minimum:
                continue
            self._report(graph, sub, order, length)

    def _report(
        self, graph: ProjectGraph, sub: nx.MultiDiGraph, order: list[str], length: int
    ) -> None:
        rank = {step: index for index, step in enumerate(order)}
        offs: list[HandOff] = sorted(
            (data["hand_off"] for _, _, data in sub.edges(data=True)),
            key=lambda h: (rank[h.writer], h.write.line, rank[h.reader], h.artifact),
        )
        files = sorted(
            {h.artifact for h in offs},
            key=lambda a: min(rank[h.writer] for h in offs if h.artifact == a),
        )
        related: list[Location] = []
        seen: set[tuple[str, int, str]] = set()
        for hand_off in offs:
            label = _label(graph, hand_off.artifact)
            for use, verb, step in (
                (hand_off.write, "writes", hand_off.writer),
                (hand_off.read, "reads", hand_off.reader),
            ):
                via = f" (run by {step})" if step != use.path else ""
                key = (use.path, use.line, label)
                if key in seen:
                    continue
                seen.add(key)
                related.append(Location(use.path, use.line, message=f"{verb} `{label}`{via}"))
        first = offs[0]
        names = ", ".join(f"`{_label(graph, a)}`" for a in files[:4])
        if len(files) > 4:
            names += f" and {len(files) - 4} more"
        self.report(
            first.write.path,
            first.write.line,
            f"undeclared pipeline: {len(order)} scripts hand data on through {len(files)} "
            f"intermediate file(s) ({names}), {length} hand-offs deep: "
            f"{_steps_listing(order)}; nothing declares it (no dvc.yaml stage, Makefile "
            "target or orchestrator task names these files or runs these scripts)",
            related=related,
            key="pipeline:" + ",".join(sorted(order)),
            size=float(length),
        )


def _order(sub: nx.MultiDiGraph) -> list[str]:
    """Steps in data-flow order (cycles condensed), numbered scripts by their numbers."""
    condensed = nx.condensation(nx.DiGraph(sub))
    members = condensed.graph["mapping"]
    groups: dict[int, list[str]] = {}
    for step, group in members.items():
        groups.setdefault(group, []).append(step)
    order: list[str] = []
    for group in nx.lexicographical_topological_sort(
        condensed, key=lambda g: min(natural_key(s) for s in groups[g])
    ):
        members = set(groups[group])
        # Inside a cycle: from where data comes in, along the hand-offs.
        entries = (
            sorted(
                (s for s in members if any(p in order for p in sub.predecessors(s))),
                key=natural_key,
            )
            or sorted(members, key=natural_key)[:1]
        )
        queue = list(entries)
        while queue:
            step = queue.pop(0)
            if step in order:
                continue
            order.append(step)
            queue.extend(sorted((s for s in sub.successors(step) if s in members), key=natural_key))
        order.extend(sorted(members - set(order), key=natural_key))
    return order


def _longest(sub: nx.MultiDiGraph) -> int:
    """Hand-offs along the longest path (a cycle counts once)."""
    condensed = nx.condensation(nx.DiGraph(sub))
    longest = int(nx.dag_longest_path_length(condensed))
    return longest + sum(1 for g in condensed if len(condensed.nodes[g]["members"]) > 1)


class ArtifactWrittenTwice(ProjectRule):
    code = "MLD102"
    name = "artifact-written-in-several-places"
    category = "pipeline-jungle"
    severity = Severity.WARNING
    debt_minutes = 20.0
    debt_per_unit = 10.0
    tags = ("pipeline", "cross-file")
    summary = "One file or table written by two or more scripts: the last one to run wins."
    what = (
        "A file or table (its path resolved as for MLD101) that two or more scripts or "
        "notebooks write, each in its own code: which version the readers get depends on "
        "which script ran last. Reported once per file, at the write of the script that "
        "runs later in numbered order (or that also reads the file it overwrites), with "
        "every write as a related location. Writes through wildcards, appends to logs, raw "
        "inputs and test code are left alone, and so is one helper that several scripts "
        "call (one place that writes the file)."
    )
    why = (
        f"{SECTION}: in a jungle the same intermediate is produced by several paths; the "
        "data a model trains on then depends on the order scripts happened to run in, and "
        "nobody can tell which code made the file on disk."
    )
    limits = (
        "Scripts that write the same file on purpose in exclusive situations (a fallback "
        "path, one for each platform) are reported too; suppress the finding there."
    )
    options = {"raw-input": list(RAW_INPUTS)}
    option_docs = {"raw-input": _RAW_DOC}
    examples = (
        BAD(
            {
                "02_features.py": """
                    import pandas as pd

                    df = pd.read_parquet("work/train.parquet")
                    df.to_parquet("work/train_features.parquet")
                """,
                "05_pseudo_label.py": """
                    import pandas as pd

                    train = pd.read_parquet("work/train_features.parquet")
                    extra = pd.read_parquet("work/pseudo.parquet")
                    pd.concat([train, extra]).to_parquet("work/train_features.parquet")
                """,
            },
            expect=1,
        ),
        GOOD(
            {
                "02_features.py": """
                    import pandas as pd

                    df = pd.read_parquet("work/train.parquet")
                    df.to_parquet("work/train_features.parquet")
                """,
                "05_pseudo_label.py": """
                    import pandas as pd

                    train = pd.read_parquet("work/train_features.parquet")
                    extra = pd.read_parquet("work/pseudo.parquet")
                    pd.concat([train, extra]).to_parquet("work/train_pseudo.parquet")
                """,
                "train_a.py": """
                    def log(line):
                        with open("logs/runs.log", "a") as fh:
                            fh.write(line)
                """,
            }
        ),
        BAD(
            {
                "settings.py": """
                    OOF_PATH = "work/oof.npy"
                """,
                "train_lgb.py": """
                    import lightgbm as lgb
                    import numpy as np
                    import pandas as pd
                    import settings

                    train = pd.read_parquet("work/train.parquet")
                    model = lgb.LGBMClassifier(n_estimators=500, random_state=0)
                    model.fit(train.drop(columns="target"), train["target"])
                    np.save(settings.OOF_PATH, model.predict_proba(train.drop(columns="target")))
                """,
                "train_xgb.py": """
                    import numpy as np
                    import pandas as pd
                    import xgboost as xgb
                    from settings import OOF_PATH

                    train = pd.read_parquet("work/train.parquet")
                    model = xgb.XGBClassifier(n_estimators=500, random_state=0)
                    model.fit(train.drop(columns="target"), train["target"])
                    np.save(OOF_PATH, model.predict_proba(train.drop(columns="target")))
                """,
                "blend.py": """
                    import numpy as np
                    from settings import OOF_PATH

                    oof = np.load(OOF_PATH)
                """,
            },
            expect=1,
        ),
        BAD(
            {
                "notebooks/features.ipynb": """
                    # %%
                    import pandas as pd

                    df = pd.read_csv("../data/raw/loans.csv")
                    # %%
                    df["income_per_loan"] = df["income"] / df["n_loans"].clip(lower=1)
                    df.to_csv("../data/processed/features.csv", index=False)
                """,
                "src/build_features.py": """
                    import pandas as pd

                    df = pd.read_csv("data/raw/loans.csv")
                    df["income_per_loan"] = df["income"] / df["n_loans"]
                    df["debt_ratio"] = df["debt"] / df["income"]
                    df.to_csv("data/processed/features.csv", index=False)
                """,
                "src/train.py": """
                    import pandas as pd

                    df = pd.read_csv("data/processed/features.csv")
                """,
            },
            expect=1,
        ),
        GOOD(
            {
                "utils.py": """
                    import pandas as pd

                    def save_features(df: pd.DataFrame) -> None:
                        df.to_parquet("work/features.parquet")
                """,
                "features_train.py": """
                    import pandas as pd
                    from utils import save_features

                    save_features(pd.read_csv("data/raw/train.csv").fillna(0))
                """,
                "features_refresh.py": """
                    import pandas as pd
                    from utils import save_features

                    save_features(pd.read_csv("data/raw/latest.csv").fillna(0))
                """,
            }
        ),
        GOOD(
            {
                "train_lgb.py": """
                    import numpy as np
                    import pandas as pd

                    train = pd.read_parquet("work/train.parquet")
                    np.save("work/oof_lgb.npy", train["target"].to_numpy())
                """,
                "train_xgb.py": """
                    import numpy as np
                    import pandas as pd

                    train = pd.read_parquet("work/train.parquet")
                    np.save("work/oof_xgb.npy", train["target"].to_numpy())
                """,
            }
        ),
    )

    def check(self) -> None:
        graph = self.graph
        raw = _raw(self.opts)
        for info in graph.artifacts.values():
            if info.kind not in ("file", "table") or is_raw(info.label, raw):
                continue
            if words(info.label) & {"log", "logs"} or suffix(info.label) in (".log", ".jsonl"):
                continue
            # One write per module that holds write code; the steps that run it name it.
            places: dict[str, ArtifactUse] = {}
            for use in info.writes:
                if use.matched or not steps(use):
                    continue
                known = places.get(use.path)
                if known is None or use.line < known.line:
                    places[use.path] = use
            if len(places) < 2:
                continue
            writers = {_step_name(use): use for use in places.values()}
            readers = {s for use in info.reads for s in steps(use)}
            ordered = sorted(writers, key=natural_key)
            overwriting = [s for s in ordered if set(s.split(", ")) & readers]
            last = overwriting[-1] if overwriting else ordered[-1]
            use = writers[last]
            others = [s for s in ordered if s != last]
            related = [
                Location(
                    writers[s].path,
                    writers[s].line,
                    message=f"also writes `{info.label}`"
                    + (f" (run by {s})" if s != writers[s].path else ""),
                )
                for s in others
            ]
            listing = ", ".join(f"{s} ({_where(graph, writers[s])})" for s in others)
            self.report(
                use.path,
                use.line,
                f"`{info.label}` is written here by {last} and also by {listing}: readers "
                "get whichever ran last; give each step its own output",
                related=related,
                key=f"written:{info.label}",
                size=float(len(writers) - 1),
            )


def _step_name(use: ArtifactUse) -> str:
    """The scripts that run a use, as a message names them."""
    return ", ".join(sorted(steps(use), key=natural_key))


class ReadBeforeWritten(ProjectRule):
    code = "MLD103"
    name = "read-before-written"
    category = "pipeline-jungle"
    severity = Severity.WARNING
    debt_minutes = 30.0
    tags = ("pipeline", "cross-file")
    summary = (
        "A step reads a file that only a later step writes (a cycle, or scripts out of order)."
    )
    what = (
        "Two situations where a script or notebook reads an intermediate file before the "
        "step that makes it can have run: a cycle of hand-offs between steps (A writes what "
        "B reads and B writes what A reads), and numbered scripts in one folder where "
        "`04_predict.py` reads a file that only `05_blend.py` writes. Reported at the read. "
        "Cycles that carry a model's predictions back into its training data are "
        "MLD131's (feedback-loop); raw inputs are never reported."
    )
    why = (
        f"{SECTION}: in a jungle no one knows the right order any more; a step that reads a "
        "file made later works only with a file left over from an earlier run — stale data "
        "that a clean checkout does not have and that no rerun refreshes."
    )
    limits = (
        "The order of unnumbered scripts is unknown, so only cycles are found among them. "
        "A numbered script that deliberately reads the previous run's output is reported "
        "too."
    )
    options = {"raw-input": list(RAW_INPUTS)}
    option_docs = {"raw-input": _RAW_DOC}
    examples = (
        BAD(
            {
                "04_predict.py": """
                    import numpy as np

                    weights = np.load("work/blend_weights.npy")
                    preds = np.load("work/oof.npy") * weights[0]
                    np.save("work/final.npy", preds)
                """,
                "05_blend.py": """
                    import numpy as np

                    oof = np.load("work/oof.npy")
                    np.save("work/blend_weights.npy", oof[:2])
                """,
            },
            expect=1,
        ),
        BAD(
            {
                "dedupe.py": """
                    import pandas as pd

                    seen = pd.read_csv("data/seen_ids.csv")
                    events = pd.read_csv("data/raw/events.csv")
                    events[~events.id.isin(seen.id)].to_csv("data/new_events.csv")
                """,
                "track.py": """
                    import pandas as pd

                    new = pd.read_csv("data/new_events.csv")
                    new[["id"]].to_csv("data/seen_ids.csv")
                """,
            },
            expect=1,
        ),
        GOOD(
            {
                "04_blend.py": """
                    import numpy as np

                    oof = np.load("work/oof.npy")
                    np.save("work/blend_weights.npy", oof[:2])
                """,
                "05_predict.py": """
                    import numpy as np

                    weights = np.load("work/blend_weights.npy")
                    np.save("work/final.npy", np.load("work/oof.npy") * weights[0])
                """,
            }
        ),
        BAD(
            {
                "notebooks/02_train.ipynb": """
                    # %%
                    import pandas as pd
                    from sklearn.linear_model import LogisticRegression

                    train = pd.read_parquet("features.parquet")
                    # %%
                    keep = pd.read_csv("selected_columns.csv")["column"].tolist()
                    model = LogisticRegression(max_iter=1000).fit(train[keep], train["label"])
                """,
                "notebooks/03_selection.ipynb": """
                    # %%
                    import pandas as pd

                    train = pd.read_parquet("features.parquet")
                    corr = train.corr()["label"].abs().sort_values(ascending=False)
                    # %%
                    pd.DataFrame({"column": corr.index[1:21]}).to_csv("selected_columns.csv")
                """,
            },
            expect=1,
        ),
        GOOD(
            {
                "01_download.py": """
                    import pandas as pd

                    pd.read_csv("https://example.org/rates.csv").to_parquet("work/rates.parquet")
                """,
                "02_clean.py": """
                    import pandas as pd

                    rates = pd.read_parquet("work/rates.parquet").dropna()
                    rates.to_parquet("work/rates_clean.parquet")
                """,
                "03_train.py": """
                    import pandas as pd

                    rates = pd.read_parquet("work/rates_clean.parquet")
                """,
            }
        ),
        GOOD(
            {
                "03_embed.py": """
                    import os
                    import pickle

                    import pandas as pd

                    CACHE = "work/embeddings.pkl"
                    if os.path.exists(CACHE):
                        with open(CACHE, "rb") as fh:
                            embeddings = pickle.load(fh)
                    else:
                        texts = pd.read_parquet("work/texts.parquet")["text"]
                        embeddings = {t: len(t) for t in texts}
                        with open(CACHE, "wb") as fh:
                            pickle.dump(embeddings, fh)
                """,
                "04_train.py": """
                    import pickle

                    with open("work/embeddings.pkl", "rb") as fh:
                        embeddings = pickle.load(fh)
                """,
            }
        ),
    )

    def check(self) -> None:
        graph = self.graph
        offs = hand_offs(graph, _raw(self.opts))
        reported: set[tuple[str, int]] = set()
        predicted = {
            node
            for model in graph.models.values()
            for use in model.predicts_to
            for node in use.nodes
        }
        # Numbered scripts read what only a later one writes.
        for hand_off in offs:
            reader, writer = number_of(hand_off.reader), number_of(hand_off.writer)
            if reader is None or writer is None or reader[0] != writer[0]:
                continue
            info = graph.artifacts[hand_off.artifact]
            writers = {s for use in info.writes for s in steps(use)}
            if hand_off.reader in writers:
                continue
            numbered = [number_of(s) for s in writers]
            if any(n is None or n[0] != reader[0] or n[1:] <= reader[1:] for n in numbered):
                continue
            read = hand_off.read
            if (read.path, read.line) in reported:
                continue
            reported.add((read.path, read.line))
            later = sorted(writers, key=natural_key)
            self.report(
                read.path,
                read.line,
                f"{hand_off.reader} reads `{info.label}`, which only {', '.join(later)} "
                "writes: run in their numbered order, this step reads a missing file or one "
                "left over from an earlier run",
                related=[
                    Location(u.path, u.line, message=f"writes `{info.label}`") for u in info.writes
                ],
                key=f"order:{hand_off.reader}:{info.label}",
            )
        # Cycles of hand-offs between steps.
        steps_graph = nx.DiGraph()
        for hand_off in offs:
            steps_graph.add_edge(hand_off.writer, hand_off.reader)
        for cycle in nx.strongly_connected_components(steps_graph):
            if len(cycle) < 2:
                continue
            inside = [h for h in offs if h.writer in cycle and h.reader in cycle]
            if any(h.artifact in predicted for h in inside):
                continue  # a feedback loop: MLD131
            first = min(cycle, key=natural_key)
            closing = sorted(
                (h for h in inside if h.reader == first),
                key=lambda h: (h.read.line, h.artifact),
            )
            if not closing:
                continue
            hand_off = closing[0]
            read = hand_off.read
            if (read.path, read.line) in reported:
                continue
            reported.add((read.path, read.line))
            members = sorted(cycle, key=natural_key)
            label = _label(graph, hand_off.artifact)
            self.report(
                read.path,
                read.line,
                f"{first} reads `{label}`, which {hand_off.writer} makes from this step's own "
                f"output: the steps {' ↔ '.join(members)} read each other's files in a cycle, "
                "so each run starts from what the previous run left",
                related=_cycle_steps(graph, inside, (read.path, read.line)),
                key=f"cycle:{','.join(members)}",
            )


def _cycle_steps(
    graph: ProjectGraph, inside: list[HandOff], reported: tuple[str, int]
) -> list[Location]:
    """Every hand-off of a cycle, its write then its read (the reported read left out)."""
    found: list[Location] = []
    seen = {reported}
    for h in sorted(inside, key=lambda h: (natural_key(h.writer), h.artifact)):
        label = _label(graph, h.artifact)
        for use, verb in ((h.write, "writes"), (h.read, "reads")):
            if (use.path, use.line) in seen:
                continue
            seen.add((use.path, use.line))
            found.append(Location(use.path, use.line, message=f"{verb} `{label}`"))
    return found


class OrphanIntermediate(ProjectRule):
    code = "MLD104"
    name = "orphan-intermediate"
    category = "pipeline-jungle"
    severity = Severity.INFO
    debt_minutes = 10.0
    tags = ("pipeline", "cross-file")
    summary = "An intermediate data file that is written and that nothing reads any more."
    what = (
        "A data file (CSV, Parquet, Feather, pickle, NumPy, HDF5, JSON...) written by a "
        "script or notebook, named or placed as an intermediate (`interim/`, `processed/`, "
        "`working/`, `tmp/`, `cache/`, `*_clean.*`, `merged`...), that no script or notebook "
        "of the project reads. Final outputs are not intermediates: models and checkpoints, "
        "reports, metrics, predictions, submissions, logs, figures, exports and samples, raw "
        "inputs, and files a declared pipeline (dvc.yaml, Makefile) lists are left alone."
    )
    why = (
        f"{SECTION}: jungles leave dead ends — a step keeps producing a file its reader "
        "stopped reading (or was deleted), costing run time and disk, and misleading whoever "
        "assumes the file still feeds something."
    )
    limits = (
        "A file read only by code outside the analysed folder, or through a path known only "
        "at run time, looks unread."
    )
    options = {"raw-input": list(RAW_INPUTS)}
    option_docs = {"raw-input": _RAW_DOC}
    examples = (
        BAD(
            {
                "01_clean.py": """
                    import pandas as pd

                    df = pd.read_csv("data/raw/sales.csv")
                    df.dropna().to_parquet("data/interim/sales_clean.parquet")
                    df.groupby("store").sum().to_parquet("data/interim/by_store.parquet")
                """,
                "02_train.py": """
                    import pandas as pd

                    df = pd.read_parquet("data/interim/sales_clean.parquet")
                """,
            },
            expect=1,
        ),
        GOOD(
            {
                "01_clean.py": """
                    import pandas as pd

                    df = pd.read_csv("data/raw/sales.csv")
                    df.dropna().to_parquet("data/interim/sales_clean.parquet")
                    df.describe().to_csv("data/interim/summary.csv")
                """,
                "02_train.py": """
                    import joblib
                    import pandas as pd
                    from sklearn.linear_model import LinearRegression

                    df = pd.read_parquet("data/interim/sales_clean.parquet")
                    model = LinearRegression().fit(df[["price"]], df["units"])
                    joblib.dump(model, "models/interim/lr.joblib")
                    df.assign(pred=model.predict(df[["price"]])).to_csv("data/processed/predictions.csv")
                """,
            }
        ),
        BAD(
            {
                "notebooks/01_merge.ipynb": """
                    # %%
                    import pandas as pd

                    orders = pd.read_csv("../data/raw/orders.csv")
                    users = pd.read_csv("../data/raw/users.csv")
                    # %%
                    merged = orders.merge(users, on="user_id", how="left", validate="m:1")
                    merged.to_csv("../data/interim/orders_users_merged.csv", index=False)
                    merged.dropna().to_parquet("../data/interim/orders_clean.parquet")
                """,
                "notebooks/02_model.ipynb": """
                    # %%
                    import pandas as pd

                    df = pd.read_parquet("../data/interim/orders_clean.parquet")
                """,
            },
            expect=1,
        ),
        BAD(
            {
                "text_utils.py": """
                    import numpy as np
                    from sklearn.feature_extraction.text import TfidfVectorizer

                    def vectorise(texts):
                        matrix = TfidfVectorizer(min_df=2).fit_transform(texts).toarray()
                        np.save("cache/tfidf_matrix.npy", matrix)
                        return matrix
                """,
                "train.py": """
                    import pandas as pd
                    from text_utils import vectorise

                    reviews = pd.read_csv("data/raw/reviews.csv")
                    X = vectorise(reviews["text"])
                """,
            },
            expect=1,
        ),
        GOOD(
            {
                "dvc.yaml": """
                    stages:
                      prepare:
                        cmd: python prepare.py
                        deps: [data/raw/reviews.csv]
                        outs: [data/processed/reviews_clean.parquet]
                """,
                "prepare.py": """
                    import pandas as pd

                    df = pd.read_csv("data/raw/reviews.csv").drop_duplicates("review_id")
                    df.to_parquet("data/processed/reviews_clean.parquet")
                """,
            }
        ),
        GOOD(
            {
                "features.py": """
                    import pandas as pd

                    FEATURES_PATH = "work/features.feather"
                    df = pd.read_csv("data/raw/train.csv")
                    df.reset_index(drop=True).to_feather(FEATURES_PATH)
                """,
                "notebooks/eda.ipynb": """
                    # %%
                    import pandas as pd

                    df = pd.read_feather("../work/features.feather")
                    df.describe()
                """,
            }
        ),
    )

    def check(self) -> None:
        graph = self.graph
        raw = _raw(self.opts)
        declaration = declared(graph)
        for info in sorted(graph.artifacts.values(), key=lambda i: i.id):
            if not self._intermediate(graph, info, raw) or declaration.artifact(info.label):
                continue
            if info.reads:
                continue
            writes = [u for u in info.writes if steps(u)]
            if not writes:
                continue
            use = min(writes, key=lambda u: (natural_key(u.path), u.line))
            writer = ", ".join(sorted({s for u in writes for s in steps(u)}, key=natural_key))
            self.report(
                use.path,
                use.line,
                f"`{info.label}` is written by {writer} but no script or notebook reads it: an "
                "intermediate whose reader is gone, or a dead end of the pipeline",
                related=[
                    Location(u.path, u.line, message=f"writes `{info.label}`")
                    for u in writes
                    if u is not use
                ],
                key=f"orphan:{info.label}",
            )

    @staticmethod
    def _intermediate(graph: ProjectGraph, info: ArtifactInfo, raw: Sequence[str]) -> bool:
        if info.kind != "file" or is_raw(info.label, raw) or is_final(info.label):
            return False
        if suffix(info.label) not in DATA_SUFFIXES or is_model_artifact(graph, info):
            return False
        if any(u.matched for u in info.uses):
            return False
        return bool(words(info.label) & INTERMEDIATE_WORDS)
