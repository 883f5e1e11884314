"""Models: where they are made, fit (on what), predict, and which artifacts hold them."""

from __future__ import annotations

from test_facts_support import ml_facts


def test_an_estimator_fit_on_a_read_artifact_and_saved() -> None:
    facts = ml_facts("""
        import joblib
        import pandas as pd
        from sklearn.ensemble import RandomForestClassifier
        FEATURES = ["a", "b"]
        df = pd.read_csv("train.csv")
        model = RandomForestClassifier(n_estimators=10)
        model.fit(df[FEATURES], df["y"])
        joblib.dump(model, "model.joblib")
    """)
    (model,) = facts.models
    assert (model.var, model.cls, model.kind, model.line) == (
        "model",
        "sklearn.ensemble.RandomForestClassifier",
        "estimator",
        7,
    )
    (fit,) = model.fits
    assert fit.line == 8 and fit.api == "fit"
    assert set(fit.inputs) == {"a:0", "k:script.FEATURES", "s:a", "s:b", "s:y"}
    assert model.saved_to == (1,)


def test_a_model_pickled_through_an_open_file_is_saved_to_that_file() -> None:
    facts = ml_facts("""
        import pickle
        from sklearn.linear_model import LogisticRegression
        clf = LogisticRegression(C=1.0)
        clf.fit(X, y)
        with open("artifacts/ranker.pkl", "wb") as fh:
            pickle.dump(clf, fh)
    """)
    (model,) = facts.models
    (written,) = model.saved_to
    assert facts.artifacts[written].template == "artifacts/ranker.pkl"


def test_a_loaded_model_whose_predictions_are_written() -> None:
    facts = ml_facts("""
        import joblib
        import pandas as pd
        model = joblib.load("model.joblib")
        df = pd.read_csv("new.csv")
        df["score"] = model.predict_proba(df)[:, 1]
        df.to_csv("scores.csv")
    """)
    (model,) = facts.models
    assert model.loaded_from == (0,) and model.predicts == (6,)
    assert "m:0" in facts.artifacts[2].inputs and "a:1" in facts.artifacts[2].inputs


def test_predictions_made_in_a_helper_flow_back_to_the_caller() -> None:
    facts = ml_facts("""
        import joblib
        import pandas as pd
        def score(frame, clf):
            return pd.DataFrame({"p": clf.predict(frame)})
        def main():
            model = joblib.load("m.pkl")
            preds = score(pd.read_csv("x.csv"), model)
            preds.to_csv("preds.csv")
    """)
    loaded = next(m for m in facts.models if m.loaded_from)
    index = facts.models.index(loaded)
    assert f"m:{index}" in facts.artifacts[-1].inputs
    assert facts.returns["score"] == ["mp:clf", "p:frame"]


def test_inline_constructors_cross_validation_and_transformers() -> None:
    facts = ml_facts("""
        import numpy as np
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import cross_val_score
        from sklearn.preprocessing import StandardScaler
        X = np.load("X.npy")
        y = np.load("y.npy")
        Xs = StandardScaler().fit_transform(X)
        clf = LogisticRegression().fit(Xs, y)
        scores = cross_val_score(LogisticRegression(), X, y)
    """)
    assert [(m.cls, m.kind, [f.api for f in m.fits]) for m in facts.models] == [
        ("sklearn.preprocessing.StandardScaler", "transformer", ["fit_transform"]),
        ("sklearn.linear_model.LogisticRegression", "estimator", ["fit"]),
        ("sklearn.linear_model.LogisticRegression", "estimator", ["cross_val_score"]),
    ]
    assert facts.models[1].fits[0].inputs == ("a:0", "a:1")


def test_a_torch_training_loop_in_a_function_trains_the_callers_model() -> None:
    facts = ml_facts("""
        import torch
        import torch.nn as nn
        def train_epoch(net, loader, criterion, opt):
            for x, y in loader:
                loss = criterion(net(x), y)
                loss.backward()
                opt.step()
        def main():
            data = torch.load("data.pt")
            model = nn.Linear(4, 2).to("cpu")
            criterion = nn.CrossEntropyLoss()
            train_epoch(model, data, criterion, None)
            torch.save(model.state_dict(), "ckpt.pt")
    """)
    model = next(m for m in facts.models if m.var == "model")
    assert model.cls == "torch.nn.Linear" and model.kind == "module"
    assert [(f.api, f.inputs) for f in model.fits] == [("backward", ("a:0",))]
    assert model.saved_to == (1,)
    assert all(m.var != "criterion" for m in facts.models)


def test_keras_fit_predict_save_and_load_state() -> None:
    facts = ml_facts("""
        import numpy as np
        import torch
        from tensorflow import keras
        X = np.load("X.npy")
        net = keras.Sequential([keras.layers.Dense(1)])
        net.fit(X, X)
        np.save("pred.npy", net.predict(X))
        net.save("models/net.keras")
        model = torch.nn.Linear(2, 2)
        model.load_state_dict(torch.load("w.pt"))
    """)
    keras_model, torch_model = facts.models
    assert keras_model.kind == "keras_model" and keras_model.saved_to == (2,)
    assert "m:0" in facts.artifacts[1].inputs
    assert torch_model.loaded_from == (3,)


def test_a_huggingface_trainer_trains_its_model_on_its_dataset() -> None:
    facts = ml_facts("""
        from datasets import load_from_disk
        from transformers import AutoModelForSequenceClassification, Trainer
        ds = load_from_disk("data/tokenized")
        model = AutoModelForSequenceClassification.from_pretrained("distilbert-base-uncased")
        trainer = Trainer(model=model, train_dataset=ds["train"])
        trainer.train()
    """)
    (model,) = facts.models
    assert model.kind == "module"
    assert [(f.api, f.inputs) for f in model.fits] == [("train", ("a:0",))]


def test_optimizers_and_plain_objects_are_not_models() -> None:
    facts = ml_facts("""
        import torch
        def save(path, optimizer, stats):
            torch.save({"optimizer": optimizer.state_dict(), "stats": stats}, path)
            return {k: v for k, v in stats.items()}
    """)
    assert facts.models == []
