"""MLD802: long ML scripts of top-level statements, with no function or class."""

from __future__ import annotations

import libcst as cst

from mldebt.facts.config import is_config_module
from mldebt.findings import Severity
from mldebt.graph import is_test_path
from mldebt.rule import BAD, GOOD, FileRule

#: Libraries whose use makes a script ML work (models, training data).
ML_LIBRARIES = frozenset(
    {
        "sklearn", "torch", "tensorflow", "keras", "xgboost", "lightgbm", "catboost",
        "transformers", "datasets", "jax", "flax", "statsmodels", "pandas", "polars", "pyspark",
        "mlflow", "optuna", "tensorflow_hub", "sentence_transformers", "torchvision", "timm",
        "fastai", "pytorch_lightning", "lightning", "spacy", "gensim", "prophet", "imblearn",
    }
)  # fmt: skip


def _is_main_guard(node: cst.BaseCompoundStatement) -> bool:
    if not isinstance(node, cst.If) or not isinstance(node.test, cst.Comparison):
        return False
    left = node.test.left
    return isinstance(left, cst.Name) and left.value == "__name__"


def _imports(statement: cst.BaseStatement) -> list[str]:
    """Top-level modules a statement imports (``import a.b`` -> a)."""
    found: list[str] = []
    if isinstance(statement, cst.SimpleStatementLine):
        for small in statement.body:
            if isinstance(small, cst.Import):
                found.extend(cst.helpers.get_full_name_for_node(a.name) or "" for a in small.names)
            elif (
                isinstance(small, cst.ImportFrom)
                and small.module is not None
                and not small.relative
            ):
                found.append(cst.helpers.get_full_name_for_node(small.module) or "")
    elif isinstance(statement, cst.Try) and isinstance(statement.body, cst.IndentedBlock):
        for inner in statement.body.body:
            found.extend(_imports(inner))
    return [name.partition(".")[0] for name in found]


_LITERALS = (cst.Dict, cst.List, cst.Tuple, cst.Set, cst.SimpleString, cst.ConcatenatedString)


def _literal_assignment(statement: cst.BaseStatement) -> bool:
    """``NAME = {...}`` / ``[...]`` / a string: a statement that only holds data."""
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return False
    small = statement.body[0]
    return isinstance(small, (cst.Assign, cst.AnnAssign)) and isinstance(small.value, _LITERALS)


def _code_lines(code: str) -> int:
    return sum(1 for line in code.split("\n") if line.strip() and not line.lstrip().startswith("#"))


class TopLevelScript(FileRule):
    code = "MLD802"
    name = "top-level-script"
    category = "abstraction-debt"
    severity = Severity.INFO
    debt_minutes = 30.0
    debt_per_unit = 0.1
    options = {"max_statements": 80, "max_lines": 150}
    option_docs = {
        "max_statements": "Top-level statements (imports not counted) a script may have.",
        "max_lines": "Lines of top-level code (blank lines and comments not counted) a script "
        "may have.",
    }
    summary = "A long ML script of top-level statements with no function or class."
    what = (
        "Python files (not notebooks, not tests) that do ML work — they import an ML or "
        "data library such as scikit-learn, PyTorch, TensorFlow, pandas or transformers — and "
        "define no function and no class, yet run more than `max_statements` top-level "
        "statements or `max_lines` lines of top-level code (the body of an "
        "`if __name__ == '__main__':` block counts as top level)."
    )
    why = (
        "Sculley et al., §Abstraction Debt: ML code lacks the abstractions that would let its "
        "parts be reused, tested and composed, and a script that loads, cleans, trains, "
        "evaluates and writes in one top-to-bottom run is the extreme case — the prototype "
        "smell of a notebook exported to a file. Nothing in it can be imported without "
        "running all of it, no step can be tested alone, and the next pipeline copies it "
        "rather than calling it."
    )
    limits = (
        "A script with a single helper function is not reported, however long its top-level "
        "code; the thresholds count statements and lines, not what they do, so a long "
        "configuration script that imports pandas can be reported."
    )
    examples = (
        BAD(
            """
            import pandas as pd
            from sklearn.ensemble import GradientBoostingClassifier
            from sklearn.metrics import roc_auc_score

            df = pd.read_csv("transactions.csv", parse_dates=["ts"])
            df = df[df.amount > 0]
            df["hour"] = df.ts.dt.hour
            df["log_amount"] = df.amount.clip(lower=1).pipe(lambda s: s.apply(float))
            train, test = df[df.ts < "2024-01-01"], df[df.ts >= "2024-01-01"]
            features = ["hour", "log_amount", "merchant_risk"]
            model = GradientBoostingClassifier(n_estimators=300)
            model.fit(train[features], train.is_fraud)
            print(roc_auc_score(test.is_fraud, model.predict_proba(test[features])[:, 1]))
            """,
            path="train_fraud.py",
            options={"max_statements": 8},
        ),
        BAD(
            """
            import sys

            import torch

            if __name__ == "__main__":
                data = torch.load(sys.argv[1])
                x, y = data["x"], data["y"]
                net = torch.nn.Sequential(torch.nn.Linear(32, 16), torch.nn.ReLU())
                head = torch.nn.Linear(16, 1)
                optimiser = torch.optim.Adam([*net.parameters(), *head.parameters()], lr=1e-3)
                for epoch in range(10):
                    optimiser.zero_grad()
                    loss = torch.nn.functional.binary_cross_entropy_with_logits(head(net(x)), y)
                    loss.backward()
                    optimiser.step()
                torch.save({"net": net, "head": head}, sys.argv[2])
            """,
            path="scripts/train_net.py",
            options={"max_statements": 5},
        ),
        BAD(
            """
            import json

            import xgboost as xgb

            results = {}
            dtrain = xgb.DMatrix("train.libsvm")
            dvalid = xgb.DMatrix("valid.libsvm")
            for depth in (4, 6, 8):
                for eta in (0.05, 0.1, 0.3):
                    params = {"max_depth": depth, "eta": eta, "objective": "binary:logistic"}
                    booster = xgb.train(params, dtrain, 200, evals=[(dvalid, "valid")])
                    results[f"{depth}-{eta}"] = booster.best_score
            with open("sweep.json", "w") as f:
                json.dump(results, f)
            """,
            path="sweep.py",
            options={"max_statements": 100, "max_lines": 8},
        ),
        GOOD(
            """
            import pandas as pd
            from sklearn.ensemble import GradientBoostingClassifier

            def load(path: str) -> pd.DataFrame:
                df = pd.read_csv(path, parse_dates=["ts"])
                df["hour"] = df.ts.dt.hour
                return df[df.amount > 0]

            def main() -> None:
                df = load("transactions.csv")
                model = GradientBoostingClassifier(n_estimators=300)
                model.fit(df[["hour", "amount"]], df.is_fraud)

            if __name__ == "__main__":
                main()
            """,
            path="train_fraud.py",
            options={"max_statements": 2},
        ),
        GOOD(
            """
            import os
            import shutil

            for split in ("train", "valid", "test"):
                os.makedirs(f"data/{split}", exist_ok=True)
            shutil.copy("raw/labels.csv", "data/labels.csv")
            os.remove("raw/labels.csv")
            print("done")
            """,
            path="make_dirs.py",
            options={"max_statements": 2},
        ),
        GOOD(
            """
            # %%
            import pandas as pd
            # %%
            df = pd.read_csv("transactions.csv")
            df.describe()
            # %%
            df["hour"] = pd.to_datetime(df.ts).dt.hour
            df.groupby("hour").is_fraud.mean().plot()
            """,
            path="eda.ipynb",
            options={"max_statements": 2},
        ),
        GOOD(
            """
            import logging.config
            from pathlib import Path

            import mlflow

            ROOT = Path(__file__).parent.parent
            MODEL_REGISTRY = ROOT / "mlruns"
            mlflow.set_tracking_uri("file://" + str(MODEL_REGISTRY))
            LOGGING = {
                "version": 1,
                "handlers": {
                    "console": {"class": "logging.StreamHandler", "level": "INFO"},
                    "file": {"class": "logging.FileHandler", "filename": "run.log"},
                },
                "root": {"handlers": ["console", "file"], "level": "INFO"},
            }
            logging.config.dictConfig(LOGGING)
            """,
            path="churn/settings.py",
            options={"max_statements": 2, "max_lines": 4},
        ),
        GOOD(
            """
            import pandas as pd

            COLUMNS = [
                "age",
                "tenure",
                "plan",
                "monthly_charges",
                "total_charges",
                "n_tickets",
            ]
            df = pd.read_csv("customers.csv", usecols=COLUMNS)
            df.to_parquet("customers.parquet")
            """,
            path="convert.py",
            options={"max_lines": 4},
        ),
    )

    def visit_Module(self, node: cst.Module) -> None:
        path = self.context.path
        if (
            self.context.notebook
            or is_test_path(path)
            or path.rsplit("/", 1)[-1] == "setup.py"
            or is_config_module(path)  # settings written as module constants: no steps
        ):
            return
        body: list[cst.BaseStatement] = []
        ml = False
        for statement in node.body:
            if isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
                return
            imported = _imports(statement)
            if imported:
                ml = ml or any(name in ML_LIBRARIES for name in imported)
                if isinstance(statement, cst.SimpleStatementLine):
                    continue
            if isinstance(statement, cst.BaseCompoundStatement) and _is_main_guard(statement):
                inner = statement.body.body if isinstance(statement.body, cst.IndentedBlock) else ()
                if any(isinstance(s, (cst.FunctionDef, cst.ClassDef)) for s in inner):
                    return
                body.extend(inner)
            else:
                body.append(statement)
        if not ml or not body:
            return
        statements = sum(len(s.body) if isinstance(s, cst.SimpleStatementLine) else 1 for s in body)
        max_statements = int(self.opts["max_statements"])
        max_lines = int(self.opts["max_lines"])
        # a long literal (a logging dict, a list of column names) is data, not steps
        steps = [s for s in body if not _literal_assignment(s)]
        if statements <= max_statements:
            lines = sum(_code_lines(node.code_for_node(s)) for s in steps)
            if lines <= max_lines:
                return
        else:
            lines = sum(_code_lines(node.code_for_node(s)) for s in steps)
        name = path.rsplit("/", 1)[-1]
        self.report(
            body[0],
            f"`{name}` is a script of {statements} top-level statements ({lines} lines of code) "
            "with no function or class: no step can be imported, tested or reused alone; split "
            "it into functions (load, features, train, evaluate) called from a main()",
            basis="top-level-script",
            size=statements / 10,
        )
