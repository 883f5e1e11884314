"""The resolver rules build on: qualified names through imports, and what a name holds.

Each example is a small program that calls ``reveal(expr)`` where a rule would look; the
helpers run the shared traversal with the resolver around a probe, and return what the
resolver said about each revealed expression at that point of the walk.
"""

from __future__ import annotations

import textwrap
from typing import Any

import libcst as cst

from mldebt.context import FileContext
from mldebt.resolve import Resolver, Value, canonical
from mldebt.source import decode_notebook
from mldebt.testing import notebook_json
from mldebt.traversal import Dispatch, walk


class _Probe(cst.BatchableCSTVisitor):
    """Records the resolver's view of every ``reveal(expr)`` when the walk reaches it."""

    def __init__(self, context: FileContext) -> None:
        super().__init__()
        self.context = context
        self.seen: list[dict[str, Any]] = []

    def visit_Call(self, node: cst.Call) -> None:
        if isinstance(node.func, cst.Name) and node.func.value == "reveal":
            resolver = self.context.resolver
            expr = node.args[0].value
            self.seen.append(
                {
                    "kind": resolver.kind_of(expr),
                    "value": resolver.value_of(expr),
                    "name": resolver.call_name(expr)
                    if isinstance(expr, cst.Call)
                    else resolver.qualname(expr),
                    "contexts": resolver.contexts,
                    "loops": len(resolver.loops),
                    "function": resolver.function,
                    "constant": resolver.constant(expr),
                }
            )


def _context(source: str, path: str = "example.py") -> FileContext:
    source = textwrap.dedent(source).lstrip("\n")
    notebook = path.endswith(".ipynb")
    if notebook:
        source = decode_notebook(notebook_json(source).encode()).text
    return FileContext(path, source, cst.parse_module(source), notebook)


def revealed(source: str, path: str = "example.py") -> list[dict[str, Any]]:
    context = _context(source, path)
    probe = _Probe(context)
    walk(context.module, Dispatch(context.resolver.around([probe])), context.scope)
    return probe.seen


def names(source: str, path: str = "example.py") -> list[str | None]:
    return [r["name"] for r in revealed(source, path)]


def kinds(source: str, path: str = "example.py") -> list[str | None]:
    return [r["kind"] for r in revealed(source, path)]


def constants(source: str) -> list[str | None]:
    module = cst.parse_module("")
    return [
        module.code_for_node(r["constant"]) if r["constant"] else None for r in revealed(source)
    ]


# --- qualified names through imports and aliases -------------------------------------------------


def test_an_import_alias_resolves_to_the_module() -> None:
    assert names(
        """
        import pandas as pd
        import numpy as np
        reveal(pd.read_csv)
        reveal(np.random.seed)
        """
    ) == ["pandas.read_csv", "numpy.random.seed"]


def test_from_imports_with_and_without_as() -> None:
    assert names(
        """
        from sklearn.model_selection import train_test_split as tts
        from sklearn.preprocessing import StandardScaler
        reveal(tts)
        reveal(StandardScaler)
        """
    ) == ["sklearn.model_selection.train_test_split", "sklearn.preprocessing.StandardScaler"]


def test_a_dotted_import_binds_its_alias_or_its_first_name() -> None:
    assert names(
        """
        import torch.nn.functional as F
        import os.path
        reveal(F.relu)
        reveal(os.path.join)
        """
    ) == ["torch.nn.functional.relu", "os.path.join"]


def test_a_call_is_named_by_what_it_calls() -> None:
    assert names(
        """
        import torch
        reveal(torch.manual_seed(0))
        reveal(len([]))
        """
    ) == ["torch.manual_seed", "len"]


def test_keras_has_one_spelling_however_it_is_imported() -> None:
    assert names(
        """
        import tensorflow as tf
        from tensorflow import keras
        from tensorflow.keras.models import Sequential
        import keras as k
        reveal(tf.keras.layers.Dense)
        reveal(keras.layers.Dense)
        reveal(Sequential)
        reveal(k.Sequential)
        """
    ) == ["keras.layers.Dense", "keras.layers.Dense", "keras.Sequential", "keras.Sequential"]


def test_private_homes_of_public_classes_are_canonicalised() -> None:
    assert names(
        """
        from torch.nn.modules.linear import Linear
        from sklearn.preprocessing._data import StandardScaler
        from pandas.core.frame import DataFrame
        reveal(Linear)
        reveal(StandardScaler)
        reveal(DataFrame)
        """
    ) == ["torch.nn.Linear", "sklearn.preprocessing.StandardScaler", "pandas.DataFrame"]
    assert canonical("torch.nn.modules.module.Module") == "torch.nn.Module"
    assert canonical("tensorflow.keras.optimizers.Adam") == "keras.optimizers.Adam"


def test_relative_imports_resolve_against_the_package() -> None:
    assert names(
        """
        from .data import load
        from ..common import seed_everything
        from . import features
        reveal(load)
        reveal(seed_everything)
        reveal(features.build)
        """,
        path="src/project/training/train.py",
    ) == [
        "project.training.data.load",
        "project.common.seed_everything",
        "project.training.features.build",
    ]


def test_an_alias_assignment_stands_for_what_it_names() -> None:
    assert names(
        """
        import torch
        F = torch.nn.functional
        reveal(F.softmax)
        """
    ) == ["torch.nn.functional.softmax"]


def test_a_function_local_import_is_scoped_to_that_function() -> None:
    assert names(
        """
        def plot():
            import numpy as np
            reveal(np.zeros)

        reveal(np.zeros)
        """
    ) == ["numpy.zeros", "np.zeros"]  # outside, np is bound nowhere: returned as written


def test_a_function_body_sees_module_imports_made_below_it() -> None:
    assert names(
        """
        def main():
            reveal(pd.read_csv)

        import pandas as pd
        """
    ) == ["pandas.read_csv"]


def test_a_local_variable_shadows_an_import_of_the_same_name() -> None:
    assert names(
        """
        import pandas as pd

        def report(rows):
            pd = summarise(rows)
            reveal(pd.read_csv)

        def show(pd):
            reveal(pd.read_csv)

        reveal(pd.read_csv)
        pd = PandasLikeClient()
        reveal(pd.read_csv)
        import pandas as pd
        reveal(pd.read_csv)
        """
    ) == [None, None, "pandas.read_csv", None, "pandas.read_csv"]


def test_an_optional_import_set_to_none_on_failure_keeps_its_meaning() -> None:
    assert names(
        """
        try:
            import torch
        except ImportError:
            torch = None
        reveal(torch.manual_seed)
        """
    ) == ["torch.manual_seed"]


def test_names_defined_in_the_file_resolve_to_their_qualified_name() -> None:
    assert names(
        """
        def load():
            pass

        class Trainer:
            def step(self):
                pass

            def fit(self):
                reveal(self.step)

        reveal(load)
        """
    ) == ["Trainer.step", "load"]


def test_an_attribute_of_a_value_is_named_by_the_value_type() -> None:
    assert names(
        """
        import pandas as pd
        df = pd.read_csv("train.csv")
        reveal(df.merge)
        reveal(pd.read_csv("a.csv").dropna().merge)
        """
    ) == ["pandas.DataFrame.merge", "pandas.DataFrame.merge"]


def test_without_the_traversal_module_imports_still_resolve() -> None:
    context = _context(
        """
        import pandas as pd
        df = pd.read_csv("x.csv")
        """
    )
    statement = context.module.body[1]
    assert isinstance(statement, cst.SimpleStatementLine)
    assign = statement.body[0]
    assert isinstance(assign, cst.Assign) and isinstance(assign.value, cst.Call)
    assert context.resolver.call_name(assign.value) == "pandas.read_csv"


# --- what a name holds: constructors and readers -------------------------------------------------


def test_readers_and_constructors_give_their_kind() -> None:
    assert kinds(
        """
        import numpy as np, pandas as pd, torch
        from torch import nn, optim
        from torch.utils.data import DataLoader
        from sklearn.preprocessing import StandardScaler
        from sklearn.ensemble import RandomForestClassifier
        from sklearn.model_selection import KFold
        from xgboost import XGBClassifier
        from transformers import AutoModelForSequenceClassification
        from tensorflow import keras

        reveal(pd.read_parquet("x.parquet"))
        reveal(pd.Series([1, 2]))
        reveal(np.load("x.npy"))
        reveal(torch.tensor([1.0]))
        reveal(StandardScaler())
        reveal(RandomForestClassifier())
        reveal(XGBClassifier())
        reveal(KFold(5))
        reveal(optim.SGD(params, lr=0.1))
        reveal(nn.Linear(3, 4))
        reveal(AutoModelForSequenceClassification.from_pretrained("bert-base-uncased"))
        reveal(DataLoader(dataset, batch_size=32))
        reveal(keras.Sequential([]))
        reveal(np.random.default_rng(0))
        reveal(torch.Generator())
        """
    ) == [
        "dataframe",
        "series",
        "ndarray",
        "tensor",
        "transformer",
        "estimator",
        "estimator",
        "splitter",
        "optimizer",
        "module",
        "module",
        "dataloader",
        "keras_model",
        "rng",
        "rng",
    ]


def test_a_value_carries_its_precise_type_and_where_it_was_made() -> None:
    found = revealed(
        """
        from sklearn.preprocessing import MinMaxScaler
        scaler = MinMaxScaler()
        reveal(scaler)
        """
    )[0]["value"]
    assert isinstance(found, Value)
    assert (found.kind, found.type) == ("transformer", "sklearn.preprocessing.MinMaxScaler")
    assert isinstance(found.origin, cst.Call)


def test_calls_that_are_not_values_of_a_kind_give_nothing() -> None:
    assert kinds(
        """
        import numpy as np, torch, pandas as pd
        reveal(np.random.seed(0))
        reveal(torch.manual_seed(0))
        reveal(pd.read_csv("big.csv", chunksize=1000))
        reveal(np.mean(values))
        reveal(len(values))
        """
    ) == [None, None, None, None, None]


# --- method chains, attributes and indexing ------------------------------------------------------


def test_method_chains_follow_the_kind() -> None:
    assert kinds(
        """
        import pandas as pd
        df = pd.read_csv("train.csv")
        reveal(df.dropna().reset_index(drop=True))
        reveal(df["age"].fillna(0).astype(int))
        reveal(df.groupby("city")["price"].mean())
        reveal(df.groupby("city").agg({"price": "mean"}))
        reveal(df.merge(df, on="id").values)
        reveal(df.to_numpy().reshape(-1, 1))
        reveal(df.isnull().sum())
        """
    ) == ["dataframe", "series", "series", "dataframe", "ndarray", "ndarray", "series"]


def test_indexing_a_frame_picks_columns_rows_or_cells() -> None:
    assert kinds(
        """
        import pandas as pd
        df = pd.read_csv("train.csv")
        reveal(df["age"])
        reveal(df[["age", "city"]])
        reveal(df[df["age"] > 30])
        reveal(df.age)
        reveal(df.loc[:, "age"])
        reveal(df.loc[df.age > 30, ["age", "city"]])
        reveal(df.iloc[0:10])
        reveal(df.loc[3, "age"])
        """
    ) == ["series", "dataframe", "dataframe", "series", "series", "dataframe", "dataframe", None]


def test_names_bound_to_literals_select_like_the_literal() -> None:
    assert kinds(
        """
        import pandas as pd
        TARGET = "churned"
        FEATURES = ["age", "plan"]
        df = pd.read_csv("train.csv")
        reveal(df[TARGET])
        reveal(df[FEATURES])
        reveal(df[columns_from_config])
        reveal(df[columns_from_config].values)
        reveal(df.loc[row, "age"])
        """
    ) == ["series", "dataframe", None, "ndarray", None]


def test_a_name_bound_to_a_literal_gives_the_literal() -> None:
    assert constants(
        """
        THRESHOLD = 0.5
        reveal(THRESHOLD)
        reveal([1, 2])
        THRESHOLD = compute()
        reveal(THRESHOLD)
        """
    ) == ["0.5", "[1, 2]", None]


def test_inplace_calls_return_nothing() -> None:
    assert kinds(
        """
        import pandas as pd
        df = pd.read_csv("train.csv")
        reveal(df.dropna(inplace=True))
        """
    ) == [None]


def test_tensor_and_array_operations_stay_tensors_and_arrays() -> None:
    assert kinds(
        """
        import torch, numpy as np
        x = torch.randn(4, 3)
        a = np.zeros((4, 3))
        reveal(x.cuda().float() * 2)
        reveal(x @ x.T)
        reveal(x.numpy())
        reveal(x.sum().item())
        reveal(a + 1)
        reveal(torch.from_numpy(a))
        """
    ) == ["tensor", "tensor", "ndarray", None, "ndarray", "tensor"]


def test_fitting_returns_the_same_estimator_and_transforming_an_array() -> None:
    seen = revealed(
        """
        from sklearn.preprocessing import StandardScaler
        scaler = StandardScaler()
        reveal(scaler)
        reveal(scaler.fit(X))
        reveal(scaler.fit_transform(X))
        """
    )
    assert seen[1]["value"] is seen[0]["value"]
    assert seen[2]["kind"] == "ndarray"


# --- flow: assignments, reassignments, functions -------------------------------------------------


def test_reassignment_changes_the_kind_from_the_next_statement_on() -> None:
    assert kinds(
        """
        import pandas as pd
        data = pd.read_csv("train.csv")
        reveal(data)
        data = data.values
        reveal(data)
        data = "done"
        reveal(data)
        """
    ) == ["dataframe", "ndarray", None]


def test_an_inplace_result_assigned_back_leaves_nothing() -> None:
    assert kinds(
        """
        import pandas as pd
        df = pd.read_csv("train.csv")
        df = reveal(df).dropna(inplace=True)
        reveal(df)
        """
    ) == ["dataframe", None]


def test_tuple_unpacking_from_train_test_split_follows_the_inputs() -> None:
    assert kinds(
        """
        import pandas as pd
        from sklearn.model_selection import train_test_split
        df = pd.read_csv("train.csv")
        X_train, X_test, y_train, y_test = train_test_split(df.drop(columns="y"), df["y"])
        reveal(X_train)
        reveal(X_test)
        reveal(y_train)
        features, target = df.drop(columns="y"), df["y"]
        reveal(target)
        """
    ) == ["dataframe", "dataframe", "series", "series"]


def test_annotated_parameters_hold_their_annotation() -> None:
    assert kinds(
        """
        from typing import Optional
        import numpy as np, pandas as pd, torch
        from torch import nn

        def step(df: pd.DataFrame, x: Optional[torch.Tensor], y: np.ndarray | None,
                 model: "nn.Module", n: int):
            reveal(df)
            reveal(x)
            reveal(y)
            reveal(model)
            reveal(n)
        """
    ) == ["dataframe", "tensor", "ndarray", "module", None]


def test_a_function_returns_what_its_returns_agree_on() -> None:
    assert kinds(
        """
        import pandas as pd

        def load(path):
            frame = pd.read_csv(path)
            return frame.dropna()

        def declared() -> pd.DataFrame:
            return build()

        def undecided(flag):
            if flag:
                return pd.read_csv("a.csv")
            return None

        reveal(load("train.csv"))
        reveal(declared())
        reveal(undecided(True))
        """
    ) == ["dataframe", "dataframe", None]


def test_local_names_do_not_leak_out_of_their_function() -> None:
    assert kinds(
        """
        import pandas as pd

        def load():
            df = pd.read_csv("train.csv")
            reveal(df)

        reveal(df)
        """
    ) == ["dataframe", None]


def test_a_function_body_sees_module_state_at_its_definition() -> None:
    assert kinds(
        """
        import pandas as pd
        df = pd.read_csv("train.csv")

        def report():
            reveal(df)
        """
    ) == ["dataframe"]


# --- classes: modules defined in the file and self attributes ------------------------------------


def test_a_torch_module_defined_in_the_file_makes_modules_and_tensors() -> None:
    seen = revealed(
        """
        import torch
        from torch import nn

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(3, 1)

            def forward(self, x):
                reveal(self)
                reveal(self.fc)
                return self.fc(x)

        model = Net().to("cuda")
        reveal(model)
        reveal(model(torch.ones(3)))
        """
    )
    assert [r["kind"] for r in seen] == ["module", "module", "module", "tensor"]
    assert seen[2]["value"].type == "Net"


def test_self_attributes_set_in_one_method_are_known_in_the_next() -> None:
    assert kinds(
        """
        import torch

        class Trainer:
            def __init__(self, model):
                self.model = torch.nn.Linear(3, 1)
                self.optimizer = torch.optim.Adam(self.model.parameters())
                self.history = None

            def step(self):
                reveal(self.model)
                reveal(self.optimizer)
                reveal(self.history)
        """
    ) == ["module", "optimizer", None]


def test_attributes_and_methods_are_inherited_from_classes_of_the_file() -> None:
    assert kinds(
        """
        import pandas as pd
        import torch

        class BaseTrainer:
            def __init__(self):
                self.optimizer = torch.optim.SGD(params, lr=0.1)

            def load(self) -> pd.DataFrame:
                return read()

        class Trainer(BaseTrainer):
            def step(self):
                reveal(self.optimizer)
                reveal(self.load())
        """
    ) == ["optimizer", "dataframe"]


def test_a_scikit_learn_style_class_is_a_transformer_or_an_estimator() -> None:
    assert kinds(
        """
        from sklearn.base import BaseEstimator, TransformerMixin, ClassifierMixin

        class Clipper(BaseEstimator, TransformerMixin):
            pass

        class Always(ClassifierMixin, BaseEstimator):
            pass

        reveal(Clipper())
        reveal(Always())
        """
    ) == ["transformer", "estimator"]


# --- loops, with-blocks and comprehensions -------------------------------------------------------


def test_iterating_a_dataloader_or_rows_gives_tensors_or_series() -> None:
    assert kinds(
        """
        import pandas as pd
        from torch.utils.data import DataLoader
        loader = DataLoader(dataset)
        for step, (inputs, labels) in enumerate(loader):
            reveal(inputs)
            reveal(labels)
        df = pd.read_csv("train.csv")
        for index, row in df.iterrows():
            reveal(row)
        reveal([t for t in torch_stack])
        """
    ) == ["tensor", "tensor", "series", None]


def test_the_with_blocks_and_loops_around_a_point_are_known() -> None:
    seen = revealed(
        """
        import torch

        for epoch in range(3):
            with torch.no_grad():
                reveal(epoch)
            reveal(epoch)

        @torch.inference_mode()
        def predict(model):
            reveal(model)

            def later():
                reveal(model)
        """
    )
    assert [(r["contexts"], r["loops"]) for r in seen] == [
        (("torch.no_grad",), 1),
        ((), 1),
        (("torch.inference_mode",), 0),
        ((), 0),  # a nested function runs later: the decorator of its parent is not around it
    ]
    assert [r["function"] for r in seen] == [None, None, "predict", "predict.later"]


def test_comprehension_and_lambda_names_shadow_only_inside() -> None:
    assert kinds(
        """
        import pandas as pd
        df = pd.read_csv("train.csv")
        reveal([reveal(df) for df in paths])
        reveal(list(map(lambda df: reveal(df), paths)))
        reveal(df)
        """
    ) == [None, None, None, None, "dataframe"]


# --- notebooks -----------------------------------------------------------------------------------


def test_notebook_cells_carry_state_forward() -> None:
    assert kinds(
        """
        # %%
        import pandas as pd
        df = pd.read_csv("train.csv")
        # %%
        reveal(df)
        # %%
        df = df.to_numpy()
        # %%
        reveal(df)
        """,
        path="analysis.ipynb",
    ) == ["dataframe", "ndarray"]


# --- when the state is current: the order of callbacks -------------------------------------------


class _Ordering(cst.BatchableCSTVisitor):
    """A rule that asks about an assignment's target before and after the assignment, and
    about a local name when its function is left."""

    def __init__(self, context: FileContext) -> None:
        super().__init__()
        self.resolver: Resolver = context.resolver
        self.log: list[tuple[str, str | None]] = []

    def visit_Assign(self, node: cst.Assign) -> None:
        self.log.append(("visit_Assign", self.resolver.kind_of(node.targets[0].target)))

    def leave_Assign(self, node: cst.Assign) -> None:
        self.log.append(("leave_Assign", self.resolver.kind_of(node.targets[0].target)))

    def visit_Expr(self, node: cst.Expr) -> None:
        self.log.append(("next statement", self.resolver.kind_of(node.value)))

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.log.append(("leave_FunctionDef", self.resolver.kind_of(cst.Name("data"))))


def test_an_assignment_takes_effect_after_every_rule_has_left_it() -> None:
    context = _context(
        """
        import pandas as pd

        def load():
            data = pd.read_csv("train.csv")
            data
        """
    )
    rule = _Ordering(context)
    walk(context.module, Dispatch(context.resolver.around([rule])), context.scope)
    assert rule.log == [
        ("visit_Assign", None),
        ("leave_Assign", None),
        ("next statement", "dataframe"),
        ("leave_FunctionDef", "dataframe"),  # still inside: the resolver leaves last
    ]
