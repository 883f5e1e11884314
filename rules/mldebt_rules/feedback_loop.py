"""MLD131 feedback-loop: a model's predictions flow back into its own training data."""

from __future__ import annotations

from mldebt.findings import Location, Severity
from mldebt.graph import FitSite, ModelInfo, ProjectGraph
from mldebt.rule import BAD, GOOD, ProjectRule
from mldebt_rules._pipelines import PredictionFlow, entry, prediction_flows, trains


def flow_locations(graph: ProjectGraph, flow: PredictionFlow) -> list[Location]:
    """The write of the predictions and every step that carries them on."""
    label = graph.artifacts[flow.source].label
    found = [
        Location(
            flow.write.path,
            flow.write.line,
            message=f"writes predictions of {flow.model.name} to `{label}`",
        )
    ]
    for step in flow.steps:
        read_label = ", ".join(f"`{graph.artifacts[n].label}`" for n in step.read.nodes)
        write_label = ", ".join(f"`{graph.artifacts[n].label}`" for n in step.write.nodes)
        found.append(Location(step.read.path, step.read.line, message=f"reads {read_label}"))
        found.append(Location(step.write.path, step.write.line, message=f"writes {write_label}"))
    return found


def fit_location(model: ModelInfo, fit: FitSite, what: str) -> Location:
    return Location(fit.path, fit.line, message=f"{model.name} is trained on {what}")


class FeedbackLoop(ProjectRule):
    code = "MLD131"
    name = "feedback-loop"
    category = "feedback-loop"
    severity = Severity.WARNING
    debt_minutes = 120.0
    tags = ("feedback-loop", "cross-file", "model")
    summary = "A model's predictions are written where its own training data comes from."
    what = (
        "A model whose predictions (or serving logs that hold them) are written to a file or "
        "table that flows back — directly, or through feature scripts that read it and write "
        "the training data — into the data the same model is trained on. The model is the "
        "same across scripts when one script saves it and another loads it from the same "
        "file (`joblib.dump(model, MODEL_PATH)` in `train.py`, `joblib.load(MODEL_PATH)` in "
        "`predict.py`). Reported where the predictions enter the training data: the read "
        "that takes them up (a feature script reading `predictions.csv`), or the write that "
        "puts them into a file the pipeline also makes (pseudo-labels written over the "
        "training table); related locations show the prediction, every step and the fit."
    )
    why = (
        "Sculley et al., 'Hidden Technical Debt in Machine Learning Systems' (NIPS 2015), "
        "section 5, 'Feedback Loops': a model that influences its own future training data "
        "is hard to analyse; its measured quality drifts for reasons no one sees, and "
        "errors are reinforced. A direct loop through a feature built from last week's "
        "scores is the easiest one to create and to miss."
    )
    limits = (
        "Only loops through files and tables the code names are found: predictions sent to "
        "a service, or a path known only at run time, break the chain. A model saved and "
        "loaded through unknown paths is not recognised as the same model across scripts."
    )
    examples = (
        BAD(
            {
                "train.py": """
                    import joblib
                    import pandas as pd
                    from sklearn.ensemble import RandomForestClassifier

                    df = pd.read_csv("data/features.csv")
                    model = RandomForestClassifier(random_state=0)
                    model.fit(df[["tenure", "prev_score"]], df["churn"])
                    joblib.dump(model, "models/churn.joblib")
                """,
                "predict.py": """
                    import joblib
                    import pandas as pd

                    model = joblib.load("models/churn.joblib")
                    df = pd.read_csv("data/features.csv")
                    df["score"] = model.predict_proba(df[["tenure", "prev_score"]])[:, 1]
                    df[["id", "score"]].to_csv("data/scores.csv", index=False)
                """,
                "features.py": """
                    import pandas as pd

                    customers = pd.read_csv("data/raw/customers.csv")
                    scores = pd.read_csv("data/scores.csv").rename(columns={"score": "prev_score"})
                    customers.merge(scores, on="id", how="left").to_csv("data/features.csv")
                """,
            },
            expect=1,
        ),
        GOOD(
            {
                "train.py": """
                    import joblib
                    import pandas as pd
                    from sklearn.ensemble import RandomForestClassifier

                    df = pd.read_csv("data/features.csv")
                    model = RandomForestClassifier(random_state=0)
                    model.fit(df[["tenure"]], df["churn"])
                    joblib.dump(model, "models/churn.joblib")
                """,
                "predict.py": """
                    import joblib
                    import pandas as pd

                    model = joblib.load("models/churn.joblib")
                    df = pd.read_csv("data/features.csv")
                    df["score"] = model.predict_proba(df[["tenure"]])[:, 1]
                    df[["id", "score"]].to_csv("reports/scores.csv", index=False)
                """,
                "features.py": """
                    import pandas as pd

                    customers = pd.read_csv("data/raw/customers.csv")
                    customers.to_csv("data/features.csv")
                """,
            }
        ),
        BAD(
            {
                "train.py": """
                    import joblib
                    import pandas as pd
                    from sklearn.ensemble import ExtraTreesClassifier

                    train = pd.read_parquet("work/train.parquet")
                    clf = ExtraTreesClassifier(n_estimators=500, random_state=0)
                    clf.fit(train.drop(columns="label"), train["label"])
                    joblib.dump(clf, "models/clf.joblib")
                """,
                "pseudo_label.py": """
                    import joblib
                    import pandas as pd

                    clf = joblib.load("models/clf.joblib")
                    train = pd.read_parquet("work/train.parquet")
                    test = pd.read_parquet("work/test.parquet")
                    confident = test[clf.predict_proba(test).max(axis=1) > 0.95].copy()
                    confident["label"] = clf.predict(confident)
                    pd.concat([train, confident]).to_parquet("work/train.parquet")
                """,
            },
            expect=1,
        ),
        BAD(
            {
                "serve.py": """
                    import json

                    import joblib

                    ranker = joblib.load("models/ranker.joblib")

                    def handle(request):
                        score = ranker.predict_proba([[request["age"], request["clicks"]]])[0, 1]
                        with open("logs/served.jsonl", "a") as fh:
                            fh.write(json.dumps({"id": request["id"], "score": float(score)}))
                        return score
                """,
                "notebooks/retrain.ipynb": """
                    # %%
                    import joblib
                    import pandas as pd
                    from sklearn.linear_model import LogisticRegression

                    served = pd.read_json("../logs/served.jsonl", lines=True)
                    clicks = pd.read_csv("../data/clicks.csv")
                    # %%
                    df = served.merge(clicks, on="id")
                    ranker = LogisticRegression().fit(df[["score", "age"]], df["clicked"])
                    joblib.dump(ranker, "../models/ranker.joblib")
                """,
            },
            expect=1,
        ),
        GOOD(
            {
                "serve.py": """
                    import json

                    import joblib

                    ranker = joblib.load("models/ranker.joblib")

                    def handle(request):
                        score = ranker.predict_proba([[request["age"], request["clicks"]]])[0, 1]
                        with open("logs/served.jsonl", "a") as fh:
                            fh.write(json.dumps({"id": request["id"], "score": float(score)}))
                        return score
                """,
                "retrain.py": """
                    import joblib
                    import pandas as pd
                    from sklearn.linear_model import LogisticRegression

                    df = pd.read_csv("data/clicks.csv")
                    ranker = LogisticRegression().fit(df[["age", "clicks"]], df["clicked"])
                    joblib.dump(ranker, "models/ranker.joblib")
                """,
            }
        ),
        GOOD(
            {
                "train.py": """
                    import os

                    import torch
                    from model import Net

                    net = Net()
                    optimizer = torch.optim.AdamW(net.parameters(), lr=3e-4)
                    if os.path.exists("checkpoints/last.pt"):
                        state = torch.load("checkpoints/last.pt")
                        net.load_state_dict(state["model"])
                        optimizer.load_state_dict(state["optimizer"])
                    for batch, target in torch.load("data/train.pt"):
                        optimizer.zero_grad()
                        loss = torch.nn.functional.cross_entropy(net(batch), target)
                        loss.backward()
                        optimizer.step()
                    state = {"model": net.state_dict(), "optimizer": optimizer.state_dict()}
                    torch.save(state, "checkpoints/last.pt")
                """,
                "model.py": """
                    import torch.nn as nn

                    class Net(nn.Module):
                        def __init__(self):
                            super().__init__()
                            self.fc = nn.Linear(16, 4)

                        def forward(self, x):
                            return self.fc(x)
                """,
            }
        ),
    )

    def check(self) -> None:
        graph = self.graph
        seen: set[tuple[str, str, int]] = set()
        for model in sorted(graph.models.values(), key=lambda m: m.id):
            if not trains(model) or not model.predicts_to:
                continue
            for flow in prediction_flows(graph, model):
                fits = [f for f in model.fits if flow.target in f.artifacts]
                if not fits:
                    continue
                fit = fits[0]
                where = entry(graph, flow, fit)
                key = (model.id, where.path, where.line)
                if key in seen:
                    continue
                seen.add(key)
                source = graph.artifacts[flow.source].label
                target = graph.artifacts[flow.target].label
                through = (
                    f"flows into `{target}`, on which"
                    if flow.target != flow.source
                    else "is data on which"
                )
                self.report(
                    where.path,
                    where.line,
                    f"`{source}` holds predictions of {model.name} "
                    f"({graph.where(flow.write.path, flow.write.line)}) and {through} the "
                    f"same model is trained ({graph.where(fit.path, fit.line)}): a hidden "
                    "feedback loop, the model "
                    "learns from its own outputs",
                    related=[
                        *flow_locations(graph, flow),
                        fit_location(model, fit, f"`{target}`"),
                    ],
                    key=f"loop:{model.id}:{source}",
                )
