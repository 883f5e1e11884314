"""Signals: the columns a module uses and the feature-list constants it consumes."""

from __future__ import annotations

import pytest
from test_facts_support import ml_facts

SOURCE = """
    import pandas as pd
    from config import FEATURES
    df = pd.read_csv("x.csv", usecols=["a", "b", "c"])
    df["ratio"] = df["a"] / df.b
    X = df[FEATURES]
    y = df[["c"]]
    df = df.drop(columns=["b"]).rename(columns={"a": "alpha"})
    params = {"lr": 0.1}
    lr = params["lr"]
"""


@pytest.mark.parametrize("resolver", [True, False])
def test_columns_and_constants_with_or_without_the_resolver(resolver: bool) -> None:
    facts = ml_facts(SOURCE, resolver=resolver)
    columns = {(s.name, s.line, s.write) for s in facts.signals if s.via == "column"}
    assert columns == {
        ("a", 4, False),
        ("b", 4, False),
        ("c", 4, False),
        ("ratio", 5, True),
        ("a", 5, False),
        ("b", 5, False),
        ("c", 7, False),
        ("a", 8, False),
        ("alpha", 8, False),
    }
    # A dropped column is a signal of its own kind: MLD404 tells a drop from a read.
    dropped = [(s.name, s.line) for s in facts.signals if s.via == "drop"]
    assert dropped == [("b", 8)]
    constants = [(s.name, s.line) for s in facts.signals if s.via == "constant"]
    assert constants == [("config.FEATURES", 6)]


def test_drops_by_keyword_and_by_axis() -> None:
    facts = ml_facts("""
        import pandas as pd
        df = pd.read_csv("x.csv")
        a = df.drop(columns=["x", "y"])
        b = df.drop(["z"], axis=1)
        c = df.drop("w", axis="columns")
        d = df.drop([0, 1])
    """)
    dropped = sorted((s.name, s.line) for s in facts.signals if s.via == "drop")
    assert dropped == [("w", 6), ("x", 4), ("y", 4), ("z", 5)]


def test_a_local_feature_list_and_assign() -> None:
    facts = ml_facts("""
        import pandas as pd
        COLS = ["x", "y"]
        def build(df: pd.DataFrame) -> pd.DataFrame:
            return df[COLS].assign(z=1)
    """)
    assert {(s.name, s.via) for s in facts.signals} == {
        ("script.COLS", "constant"),
        ("x", "column"),
        ("y", "column"),
        ("z", "column"),
    }


def test_no_signals_without_pandas_or_on_dicts() -> None:
    facts = ml_facts("""
        import torch
        batch = {"input_ids": 1}
        ids = batch["input_ids"]
        cfg = load()
        n = cfg.hidden_size
    """)
    assert facts.signals == []
