"""The headline project rules on small realistic projects: what declares a pipeline, where
feedback loops and cascades hide (serving logs, SQL tables, notebooks), and their options."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from mldebt_rules._pipelines import declared, natural_key
from mldebt_rules.entanglement import CorrectionCascade, SharedFeatureInputs
from mldebt_rules.feedback_loop import FeedbackLoop
from mldebt_rules.glue_code import GlueCode
from mldebt_rules.pipeline_jungle import (
    ArtifactWrittenTwice,
    OrphanIntermediate,
    PipelineJungle,
    ReadBeforeWritten,
)

from mldebt.findings import Finding
from mldebt.graph import ProjectGraph
from mldebt.rule import Rule
from mldebt.testing import run_rule as run_files
from mldebt.testing import write_tree

DEMO = Path(__file__).resolve().parents[1] / "fixtures" / "demo"

CHAIN = {
    "steps/clean.py": """
        import pandas as pd

        df = pd.read_csv("data/raw/events.csv")
        df.dropna().to_parquet("data/interim/events.parquet")
    """,
    "steps/sessions.py": """
        import pandas as pd

        df = pd.read_parquet("data/interim/events.parquet")
        df.groupby("user").size().to_frame("n").to_parquet("data/interim/sessions.parquet")
    """,
    "steps/train.py": """
        import joblib
        import pandas as pd
        from sklearn.linear_model import LogisticRegression

        df = pd.read_parquet("data/interim/sessions.parquet")
        model = LogisticRegression().fit(df[["n"]], df["label"])
        joblib.dump(model, "models/model.joblib")
    """,
}


def dedented(files: Mapping[str, str]) -> dict[str, str]:
    return {path: textwrap.dedent(text).lstrip("\n") for path, text in files.items()}


def run_rule(
    rule: type[Rule], files: Mapping[str, str], options: Mapping[str, Any] | None = None
) -> list[Finding]:
    """Findings of ``rule`` on ``files`` written out (their common indentation removed)."""
    return run_files(rule, dedented(files), options)


def where(findings: list[Finding]) -> list[tuple[str, int]]:
    return sorted((f.path, f.line) for f in findings)


# --- MLD101 --------------------------------------------------------------------------------------


def test_an_undeclared_chain_is_one_finding_with_every_step_in_order() -> None:
    [finding] = run_rule(PipelineJungle, CHAIN)
    assert (finding.path, finding.line) == ("steps/clean.py", 4)
    assert "steps/clean.py → steps/sessions.py → steps/train.py" in finding.message
    assert [(r.path, r.line, r.message) for r in finding.related] == [
        ("steps/clean.py", 4, "writes `data/interim/events.parquet`"),
        ("steps/sessions.py", 3, "reads `data/interim/events.parquet`"),
        ("steps/sessions.py", 4, "writes `data/interim/sessions.parquet`"),
        ("steps/train.py", 5, "reads `data/interim/sessions.parquet`"),
    ]


def test_min_chain_sets_how_many_hand_offs_make_a_jungle() -> None:
    assert run_rule(PipelineJungle, CHAIN, {"min-chain": 3}) == []
    short = {k: v for k, v in CHAIN.items() if k != "steps/train.py"}
    assert run_rule(PipelineJungle, short) == []
    assert len(run_rule(PipelineJungle, short, {"min-chain": 1})) == 1


def test_raw_input_folders_are_an_option() -> None:
    files = {
        "fetch.py": """
            import pandas as pd
            pd.read_json("https://example.com/api").to_csv("landing/orders.csv")
        """,
        "clean.py": """
            import pandas as pd
            pd.read_csv("landing/orders.csv").to_parquet("work/orders.parquet")
        """,
        "report.py": """
            import pandas as pd
            df = pd.read_parquet("work/orders.parquet")
        """,
    }
    assert len(run_rule(PipelineJungle, files)) == 1
    assert run_rule(PipelineJungle, files, {"raw-input": ["landing"]}) == []


def test_a_chain_of_notebooks_is_a_jungle_too() -> None:
    files = {
        "notebooks/01_clean.ipynb": """
            # %%
            import pandas as pd
            raw = pd.read_csv("../data/raw/sales.csv")
            # %%
            raw.dropna().to_csv("../data/clean.csv", index=False)
        """,
        "notebooks/02_features.ipynb": """
            # %%
            import pandas as pd
            df = pd.read_csv("../data/clean.csv")
            df.assign(month=df.date.str[:7]).to_csv("../data/features.csv", index=False)
        """,
        "notebooks/03_model.ipynb": """
            # %%
            import pandas as pd
            from sklearn.linear_model import LinearRegression
            df = pd.read_csv("../data/features.csv")
            model = LinearRegression().fit(df[["month"]], df["units"])
        """,
    }
    [finding] = run_rule(PipelineJungle, files)
    assert (finding.path, finding.cell, finding.line) == ("notebooks/01_clean.ipynb", 2, 1)
    assert "`data/clean.csv`" in finding.message


MAKEFILE = """
PYTHON ?= python3
INTERIM = data/interim

all: models/model.joblib

$(INTERIM)/events.parquet: data/raw/events.csv steps/clean.py
\t$(PYTHON) steps/clean.py

$(INTERIM)/sessions.parquet: $(INTERIM)/events.parquet
\tcd steps && $(PYTHON) sessions.py

models/model.joblib: $(INTERIM)/sessions.parquet
\t$(PYTHON) -m steps.train

.PHONY: all
"""


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("Makefile", MAKEFILE),
        (
            "dvc.yaml",
            """
            stages:
              clean:
                cmd: python steps/clean.py
                outs: [data/interim/events.parquet]
              sessions:
                foreach: [events]
                do:
                  cmd: python steps/sessions.py
                  deps:
                    - data/interim/${item}.parquet
                  outs:
                    - data/interim/sessions.parquet
            """,
        ),
        (
            "run_all.sh",
            "#!/bin/sh\nset -e\npython steps/clean.py\npython steps/sessions.py\n"
            "python steps/train.py\n",
        ),
        (
            "dags/sessions_dag.py",
            """
            from airflow import DAG
            from airflow.operators.bash import BashOperator

            with DAG("sessions") as dag:
                clean = BashOperator(task_id="clean", bash_command="python steps/clean.py")
                sessions = BashOperator(task_id="s", bash_command="python steps/sessions.py")
                train = BashOperator(task_id="train", bash_command="python steps/train.py")
                clean >> sessions >> train
            """,
        ),
        (
            "conf/base/catalog.yml",
            """
            events:
              type: pandas.ParquetDataset
              filepath: data/interim/events.parquet
            sessions:
              type: pandas.ParquetDataset
              filepath: data/interim/sessions.parquet
            """,
        ),
        (
            "MLproject",
            """
            name: sessions
            entry_points:
              clean: {command: "python steps/clean.py"}
              sessions: {command: "python steps/sessions.py"}
              train: {command: "python steps/train.py"}
            """,
        ),
    ],
)
def test_a_declared_pipeline_silences_the_chain(name: str, text: str) -> None:
    assert run_rule(PipelineJungle, {**CHAIN, name: text}) == []


def test_a_partly_declared_chain_keeps_its_undeclared_hand_offs() -> None:
    dvc = """
        stages:
          clean:
            cmd: python steps/clean.py
            outs: [data/interim/events.parquet]
    """
    extra = {
        "steps/report.py": """
            import joblib
            model = joblib.load("models/model.joblib")
        """,
        "steps/sessions.py": CHAIN["steps/sessions.py"],
        "steps/train.py": CHAIN["steps/train.py"].rstrip(" ")
        + '        df.to_parquet("data/interim/scored.parquet")\n',
        "steps/dashboard.py": """
            import pandas as pd
            df = pd.read_parquet("data/interim/scored.parquet")
        """,
    }
    files = {**CHAIN, **extra, "dvc.yaml": dvc}
    [finding] = run_rule(PipelineJungle, files)
    assert "steps/sessions.py → steps/train.py → steps/dashboard.py" in finding.message
    assert "events.parquet" not in finding.message


def test_declarations_are_read_with_real_parsers(tmp_path: Path) -> None:
    write_tree(tmp_path, dedented({**CHAIN, "Makefile": MAKEFILE}))
    from mldebt.api import analyse
    from mldebt.config import Config

    graph = analyse([tmp_path], Config(root=tmp_path, select=[]), jobs=1, use_cache=False).graph
    assert isinstance(graph, ProjectGraph)
    found = declared(graph)
    assert found.sources == ["Makefile"]
    assert found.scripts == {"steps/clean.py", "steps/sessions.py", "steps/train.py"}
    assert found.artifact("data/interim/sessions.parquet")
    assert not found.artifact("data/other.csv")


def test_a_broken_declaration_declares_nothing() -> None:
    files = {**CHAIN, "dvc.yaml": "stages: [unclosed\n", "Makefile": "\0\0\0"}
    assert len(run_rule(PipelineJungle, files)) == 1


# --- MLD102 to MLD104 ---------------------------------------------------------------------------


def test_a_notebook_overwriting_a_pipeline_output_is_reported_once() -> None:
    files = {
        **CHAIN,
        "explore.ipynb": """
            # %%
            import pandas as pd
            df = pd.read_parquet("data/interim/events.parquet")
            # %%
            df[df.user != "bot"].to_parquet("data/interim/events.parquet")
        """,
    }
    [finding] = run_rule(ArtifactWrittenTwice, files)
    assert (finding.path, finding.cell) == ("explore.ipynb", 2)
    assert "also by steps/clean.py (steps/clean.py:4)" in finding.message
    assert [(r.path, r.line) for r in finding.related] == [("steps/clean.py", 4)]


def test_one_helper_called_by_two_scripts_is_one_place_that_writes() -> None:
    files = {
        "io_utils.py": """
            def save(df):
                df.to_parquet("data/interim/table.parquet")
        """,
        "a.py": "import io_utils\nio_utils.save(None)\n",
        "b.py": "from io_utils import save\nsave(None)\n",
    }
    assert run_rule(ArtifactWrittenTwice, files) == []


def test_two_drivers_running_the_same_steps_are_alternatives_not_a_cycle() -> None:
    """pipeline.py and compare_models.py both run prepare, train and evaluate."""
    helpers = {
        "steps.py": """
            import pickle
            import pandas as pd
            from sklearn.preprocessing import StandardScaler

            def prepare(src, dst):
                pd.read_csv(src).dropna().to_csv(dst)

            def train(path):
                scaler = StandardScaler().fit(pd.read_csv(path))
                pickle.dump(scaler, open("data/scaler.pkl", "wb"))

            def evaluate(path):
                scaler = pickle.load(open("data/scaler.pkl", "rb"))
                return scaler.transform(pd.read_csv(path))
        """,
        "pipeline.py": """
            from steps import evaluate, prepare, train
            prepare("data/train.csv", "data/train_clean.csv")
            train("data/train_clean.csv")
            evaluate("data/train_clean.csv")
        """,
        "compare_models.py": """
            from steps import evaluate, prepare, train
            for _ in range(3):
                prepare("data/train.csv", "data/train_clean.csv")
                train("data/train_clean.csv")
                print(evaluate("data/train_clean.csv"))
        """,
    }
    for rule in (ReadBeforeWritten, ArtifactWrittenTwice, PipelineJungle):
        assert run_rule(rule, helpers) == [], rule.code


def test_a_cycle_between_steps_is_read_before_written() -> None:
    [finding] = run_rule(
        ReadBeforeWritten,
        {
            "a.py": """
                import pandas as pd
                seen = pd.read_csv("state/seen.csv")
                pd.read_csv("data/raw/new.csv").to_csv("state/new.csv")
            """,
            "b.py": """
                import pandas as pd
                pd.read_csv("state/new.csv").to_csv("state/seen.csv")
            """,
        },
    )
    assert (finding.path, finding.line) == ("a.py", 2)
    assert "a.py ↔ b.py" in finding.message


def test_numbered_scripts_in_different_folders_have_no_order() -> None:
    files = {
        "etl/01_load.py": """
            import pandas as pd
            df = pd.read_parquet("work/blend.parquet")
        """,
        "models/02_blend.py": """
            import pandas as pd
            pd.DataFrame().to_parquet("work/blend.parquet")
        """,
    }
    assert run_rule(ReadBeforeWritten, files) == []
    assert natural_key("a/03b_x.py") > natural_key("a/03_y.py")
    assert natural_key("a/10_x.py") > natural_key("a/9_y.py")


def test_orphans_are_intermediates_nobody_reads_and_final_outputs_are_not() -> None:
    files = {
        "prep.py": """
            import joblib
            import pandas as pd

            df = pd.read_csv("data/raw/x.csv")
            df.to_parquet("data/interim/x_clean.parquet")
            df.to_parquet("data/interim/x_merged.parquet")
            df.describe().to_csv("data/interim/summary.csv")
            df.to_csv("data/processed/predictions.csv")
            joblib.dump(df, "cache/model.joblib")
        """,
        "use.py": """
            import glob
            files = glob.glob("data/interim/*_clean.parquet")
        """,
    }
    assert where(run_rule(OrphanIntermediate, files)) == [("prep.py", 6)]


# --- MLD131, MLD122 ------------------------------------------------------------------------------


def test_a_feedback_loop_through_serving_logs() -> None:
    files = {
        "serve.py": """
            import json
            import joblib

            model = joblib.load("models/ranker.joblib")

            def handle(request):
                features = [request["age"], request["clicks"]]
                score = model.predict_proba([features])[0, 1]
                with open("logs/served.jsonl", "a") as fh:
                    fh.write(json.dumps({"id": request["id"], "score": float(score)}) + "\\n")
                return score
        """,
        "retrain.py": """
            import joblib
            import pandas as pd
            from sklearn.linear_model import LogisticRegression

            served = pd.read_json("logs/served.jsonl", lines=True)
            outcomes = pd.read_csv("data/outcomes.csv")
            df = served.merge(outcomes, on="id")
            model = LogisticRegression().fit(df[["score", "age"]], df["clicked"])
            joblib.dump(model, "models/ranker.joblib")
        """,
    }
    [finding] = run_rule(FeedbackLoop, files)
    assert (finding.path, finding.line) == ("retrain.py", 5)
    assert "`logs/served.jsonl` holds predictions of `model`" in finding.message
    assert ("serve.py", 9) in [(r.path, r.line) for r in finding.related]


def test_a_feedback_loop_through_a_database_table() -> None:
    files = {
        "score.py": """
            import sqlite3
            import joblib
            import pandas as pd

            con = sqlite3.connect("shop.db")
            model = joblib.load("models/churn.joblib")
            customers = pd.read_sql("SELECT * FROM customers", con)
            customers["risk"] = model.predict(customers[["tenure", "spend"]])
            customers[["id", "risk"]].to_sql("churn_scores", con, if_exists="replace")
        """,
        "train.py": """
            import sqlite3
            import joblib
            import pandas as pd
            from sklearn.tree import DecisionTreeClassifier

            con = sqlite3.connect("shop.db")
            query = "SELECT c.*, s.risk FROM customers c JOIN churn_scores s ON s.id = c.id"
            df = pd.read_sql(query, con)
            model = DecisionTreeClassifier(random_state=0)
            model.fit(df[["tenure", "spend", "risk"]], df["churned"])
            joblib.dump(model, "models/churn.joblib")
        """,
    }
    [finding] = run_rule(FeedbackLoop, files)
    assert finding.path == "train.py" and "table:churn_scores" in finding.message


def test_stacking_on_out_of_fold_files_is_a_cascade_per_place() -> None:
    files = {
        "train_a.py": """
            import numpy as np
            from sklearn.linear_model import LogisticRegression
            X, y = np.load("data/X.npy"), np.load("data/y.npy")
            a = LogisticRegression().fit(X, y)
            np.save("work/oof_a.npy", a.predict_proba(X)[:, 1])
        """,
        "train_b.py": """
            import numpy as np
            from sklearn.naive_bayes import GaussianNB
            X, y = np.load("data/X.npy"), np.load("data/y.npy")
            b = GaussianNB().fit(X, y)
            np.save("work/oof_b.npy", b.predict_proba(X)[:, 1])
        """,
        "stack.py": """
            import numpy as np
            from sklearn.linear_model import Ridge
            oof_a = np.load("work/oof_a.npy")
            oof_b = np.load("work/oof_b.npy")
            meta = Ridge().fit(np.column_stack([oof_a, oof_b]), np.load("data/y.npy"))
        """,
    }
    findings = run_rule(CorrectionCascade, files)
    assert len(findings) == 2
    assert {f.path for f in findings} == {"stack.py"}
    assert all("training of `Ridge` (stack.py:5)" in f.message for f in findings)
    assert run_rule(FeedbackLoop, files) == []


def test_the_demo_has_its_feedback_loop_and_its_jungle() -> None:
    files = {
        str(p.relative_to(DEMO)): p.read_text(encoding="utf-8")
        for p in DEMO.rglob("*")
        if p.suffix in (".py", ".ipynb", ".yaml", ".toml") and ".mldebt_cache" not in p.parts
    }
    [loop] = run_rule(FeedbackLoop, files)
    assert (loop.path, loop.line) == ("pipeline/03_features.py", 46)
    [jungle] = run_rule(PipelineJungle, files)
    assert (jungle.path, jungle.line) == ("pipeline/01_ingest.py", 56)
    # train.py and train_v2_old.py fit FEATURES for the same TARGET: versions of one model
    assert run_rule(SharedFeatureInputs, files) == []


# --- MLD121, MLD111 -----------------------------------------------------------------------------


def test_models_fit_on_the_same_columns_in_different_files_share_their_inputs() -> None:
    columns = '["age", "income", "tenure", "region_code"]'
    files = {
        "churn.py": f"""
            import pandas as pd
            from sklearn.linear_model import LogisticRegression
            df = pd.read_csv("data/customers.csv")
            churn = LogisticRegression().fit(df[{columns}], df["churned"])
        """,
        "ltv.py": f"""
            import pandas as pd
            from sklearn.linear_model import Ridge
            df = pd.read_csv("data/customers.csv")
            ltv = Ridge().fit(df[{columns}], df["value"])
        """,
    }
    [finding] = run_rule(SharedFeatureInputs, files)
    assert finding.path == "churn.py" and "same 4 input columns" in finding.message
    assert run_rule(SharedFeatureInputs, files, {"min-shared": 5}) == []


def test_glue_thresholds_are_options() -> None:
    code = {
        "convert.py": """
            import numpy as np
            import torch

            def to_batch(frame):
                array = frame.to_numpy()
                tensor = torch.from_numpy(array)
                return tensor.float()

            def summary(frame):
                total = frame.sum()
                return total * 2
        """
    }
    assert len(run_rule(GlueCode, code)) == 1
    assert run_rule(GlueCode, code, {"min-statements": 4}) == []


def test_checkpoints_are_not_predictions() -> None:
    """A training loop that saves its state (outputs included) and resumes from it."""
    files = {
        "train.py": """
            import numpy as np
            import torch
            from sklearn.linear_model import SGDClassifier

            X, y = np.load("data/X.npy"), np.load("data/y.npy")
            model = SGDClassifier(random_state=0)
            state = torch.load("checkpoints/state.pt")
            model.partial_fit(state["X"], y, classes=[0, 1])
            torch.save({"X": X, "last": model.predict(X)}, "checkpoints/state.pt")
        """,
    }
    assert run_rule(FeedbackLoop, files) == []


def test_tensors_made_from_constants_are_not_glue() -> None:
    code = {
        "model.py": """
            import torch
            from consts import DUMMY_INPUTS, DUMMY_MASK

            class Model:
                @property
                def dummy_inputs(self):
                    input_ids = torch.tensor(DUMMY_INPUTS)
                    input_mask = torch.tensor(DUMMY_MASK)
                    inputs = {"input_ids": input_ids, "attention_mask": input_mask}
                    return inputs
        """
    }
    assert run_rule(GlueCode, code) == []


# --- related locations: every step of a finding is shown ------------------------------------


def steps_of(finding: Finding) -> list[tuple[str, int, str]]:
    return [(r.path, r.line, r.message) for r in finding.related]


def test_read_before_written_shows_the_later_write_and_every_hand_off_of_a_cycle() -> None:
    [numbered] = run_rule(ReadBeforeWritten, ReadBeforeWritten.examples[0].files)
    assert (numbered.path, numbered.line) == ("04_predict.py", 3)
    assert steps_of(numbered) == [("05_blend.py", 4, "writes `work/blend_weights.npy`")]
    [cycle] = run_rule(ReadBeforeWritten, ReadBeforeWritten.examples[1].files)
    assert (cycle.path, cycle.line) == ("dedupe.py", 3)
    assert steps_of(cycle) == [
        ("dedupe.py", 5, "writes `data/new_events.csv`"),
        ("track.py", 3, "reads `data/new_events.csv`"),
        ("track.py", 4, "writes `data/seen_ids.csv`"),
    ]


def test_an_orphan_written_by_two_scripts_shows_the_other_write() -> None:
    files = {
        "01_clean.py": """
            import pandas as pd

            pd.read_csv("data/raw/a.csv").to_parquet("data/interim/a_clean.parquet")
        """,
        "02_refresh.py": """
            import pandas as pd

            df = pd.read_csv("data/raw/a.csv")
            df.to_parquet("data/interim/a_clean.parquet")
        """,
    }
    [finding] = run_rule(OrphanIntermediate, files)
    assert (finding.path, finding.line) == ("01_clean.py", 3)
    assert steps_of(finding) == [("02_refresh.py", 4, "writes `data/interim/a_clean.parquet`")]


def test_shared_inputs_show_every_model_fit_on_them() -> None:
    [by_list] = run_rule(SharedFeatureInputs, SharedFeatureInputs.examples[0].files)
    assert (by_list.path, by_list.line) == ("features.py", 1)
    assert [(p, line) for p, line, _ in steps_of(by_list)] == [
        ("train_churn.py", 6),
        ("train_upsell.py", 7),
    ]
    [by_columns] = run_rule(SharedFeatureInputs, SharedFeatureInputs.examples[2].files)
    assert by_columns.path == "notebooks/churn.ipynb"  # the first fit; the other is related
    assert [(p, m) for p, _, m in steps_of(by_columns)] == [
        ("notebooks/default_risk.ipynb", "`LogisticRegression` is trained on these columns")
    ]


def test_a_cascade_shows_the_predictions_every_carrying_step_and_the_consumer() -> None:
    [finding] = run_rule(CorrectionCascade, CorrectionCascade.examples[2].files)
    assert (finding.path, finding.line) == ("build_features.py", 4)
    assert [(p, line) for p, line, _ in steps_of(finding)] == [
        ("score_fraud.py", 7),
        ("build_features.py", 4),
        ("build_features.py", 6),
        ("notebooks/credit_limit.ipynb", 2),
    ]
    assert steps_of(finding)[-1][2] == "`limit` (GradientBoostingRegressor) is trained on them"


def test_a_feedback_loop_shows_prediction_carrying_steps_and_fit() -> None:
    [finding] = run_rule(FeedbackLoop, FeedbackLoop.examples[0].files)
    assert (finding.path, finding.line) == ("features.py", 4)
    assert [(p, line) for p, line, _ in steps_of(finding)] == [
        ("predict.py", 7),
        ("features.py", 4),
        ("features.py", 5),
        ("train.py", 7),
    ]
