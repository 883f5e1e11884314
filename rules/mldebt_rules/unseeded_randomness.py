"""MLD602-MLD604: randomness with no seed in effect — global generators, splits and estimators,
shuffling DataLoaders. They share one flow model of seeding (see ``_seeding``)."""

from __future__ import annotations

from typing import Any

import libcst as cst

from mldebt.findings import Severity
from mldebt.literals import string_value
from mldebt.resolve.kinds import DATAFRAME, SERIES, argument, keyword, positional
from mldebt.rule import BAD, GOOD, FileRule
from mldebt_rules._dataflow import mentions, sub_nodes
from mldebt_rules._seeding import (
    FAMILY_NAMES,
    NUMPY,
    TORCH,
    Pending,
    dotted_source,
    draw_family,
    is_plotting,
    is_test_module,
    tracker_for,
    unseeded_generator,
)

_FLOW_DOCS = (
    "A seed counts when it runs earlier in the same program: at module level before the code "
    "(in a notebook, an earlier cell), earlier in the same function, at module level anywhere "
    "for code inside functions, or in another function of the file (a `main()` that seeds "
    "before calling helpers). Seeds are library calls (`random.seed`, `np.random.seed`, "
    "`torch.manual_seed`, `tf.random.set_seed`, `keras.utils.set_random_seed`, "
    "`transformers.set_seed`, Lightning's `seed_everything`...), calls of functions of the "
    "file that seed, and calls of imported functions whose name says they seed "
    "(`seed_everything`, `set_seed`), trusted to seed every generator."
)
_LIBRARY_LIMIT = (
    "Code inside a function is judged only when the file runs it (a call or callback from "
    "module-level code, the main block, or a function the file runs; every method of a class "
    "it instantiates): functions of a library module are run by programs in other files, "
    "which own the seeding, and the rule sees one file at a time. A main block that only "
    "exercises the classes of its module (random inputs to check shapes) is a self-test and "
    "is not judged. Test modules (`test_*.py`, `*_test.py`, `conftest.py`, files under "
    "`tests/`) are left to the test suite. Branches are not told apart: a seed in either "
    "branch of an `if` counts."
)


class _SeedAware(FileRule):
    """A file rule that judges calls against the seeds in effect (see ``_seeding``)."""

    #: Words one of which the file must contain for the rule to have anything to judge.
    gate: tuple[str, ...] = ()

    def __init__(self, context: Any, options: Any) -> None:
        super().__init__(context, options)
        self.seeds = tracker_for(context)
        self.pending: list[Pending] = []
        self.skip = is_test_module(context.path) or not mentions(context.text, self.gate)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.seeds.on_definition(node, self.context.scope.qualname)

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.seeds.on_definition(node, self.context.scope.qualname)

    def visit_If(self, node: cst.If) -> None:
        self.seeds.on_if(node)

    def leave_If(self, original_node: cst.If) -> None:
        self.seeds.leave_if(original_node)

    def visit_Call(self, node: cst.Call) -> None:
        if self.skip:
            return
        self.seeds.on_call(node)
        self.check_call(node)

    def check_call(self, node: cst.Call) -> None:
        raise NotImplementedError

    def judge(self, node: cst.CSTNode, family: str, message: str) -> None:
        """Report ``node`` at the end unless a seed of ``family`` is in effect for it."""
        self.pending.append(self.seeds.judge(node, family, message))

    def leave_Module(self, original_node: cst.Module) -> None:
        if self.skip:
            return
        for item in self.seeds.unseeded(self.pending):
            self.report(item.node, item.message)
        self.seeds.keep_library(self.code, self.pending)


# Draws that pick one element or index (often a sample to show).
_PICKS = frozenset({"choice", "choices", "randint", "randrange", "sample", "random_integers"})


class UnseededRandomness(_SeedAware):
    # "rand" covers random/randn/randint/randperm...; the rest are draws named otherwise.
    gate = (
        "rand",
        "Random",
        "SeedSequence",
        "normal",
        "uniform",
        "choice",
        "shuffle",
        "sample",
        "permutation",
        "bernoulli",
        "multinomial",
        "poisson",
        "gamma",
        "beta",
        "dirichlet",
        "exponential",
        "gauss",
        "categorical",
        "PCG64",
        "MT19937",
        "Philox",
        "SFC64",
    )
    code = "MLD602"
    name = "unseeded-randomness"
    category = "reproducibility"
    severity = Severity.WARNING
    debt_minutes = 5.0
    tags = ("general", "numpy", "pytorch", "tensorflow")
    summary = "Random numbers drawn with no seed in effect: every run gives different results."
    what = (
        "Draws from a global random generator that nothing seeds before them in the program: "
        "Python's `random` (`random.choice`, `random.shuffle`...), numpy's legacy global "
        "generator (`np.random.rand`, `np.random.permutation`...), torch's default generator "
        "(`torch.randn`, `torch.randperm`... without `generator=`) and TensorFlow's "
        "(`tf.random.normal`... without `seed=`). Also generators made without a seed, "
        "whatever else is seeded: `np.random.default_rng()`, `np.random.RandomState()`, "
        "`random.Random()`, `np.random.SeedSequence()` take their state from the operating "
        "system (not when it is only the fallback of `if rng is None:`, where callers can "
        "pass a seeded one). One finding per draw, or per unseeded generator where it is made "
        "(its draws are not reported again). A pick (`choice`, `randint`, `randrange`, "
        "`sample`) in a function that plots, or at module level within three statements of "
        "plotting code, chooses something to look at and is not reported; nor is module-level "
        "data drawn and plotted by the same statement or one of the next two. " + _FLOW_DOCS
    )
    why = (
        "Zhang et al. (CAIN 2022), *Randomness Uncontrolled*: without a seed, training, "
        "sampling and augmentation differ from run to run, so results cannot be reproduced "
        "and a change cannot be told apart from noise. Sculley et al. (2015) list "
        "non-reproducible experiments among the costs of ML debt."
    )
    limits = (
        _LIBRARY_LIMIT + " Draws hidden in library code (weight initialisation, dropout) "
        "are not counted; a seed whose value comes from the clock is MLD605's finding."
    )
    examples = (
        BAD(
            """
            import numpy as np

            noise = np.random.normal(0.0, 1.0, size=100)
            np.random.seed(0)
            """,
            expect=1,
        ),
        BAD(
            """
            import random
            from numpy.random import default_rng

            def main():
                rng = default_rng()
                picks = random.sample(range(10), 3)
                return rng.choice(picks)

            if __name__ == "__main__":
                main()
            """,
            expect=2,
        ),
        BAD(
            """
            # %%
            import torch as T
            # %%
            x = T.randn(8, 3)
            # %%
            T.manual_seed(0)
            """,
            path="explore.ipynb",
            expect=1,
        ),
        GOOD(
            """
            import random

            import numpy as np

            random.seed(7)
            np.random.seed(7)
            order = random.sample(range(10), 10)
            noise = np.random.normal(size=4)
            rng = np.random.default_rng(7)
            """
        ),
        GOOD(
            """
            import numpy as np
            from utils import seed_everything

            def augment(x):
                return x + np.random.normal(0.0, 0.1, x.shape)

            def main():
                seed_everything(42)
                print(augment(np.zeros(3)))

            if __name__ == "__main__":
                main()
            """
        ),
        GOOD(
            """
            import numpy as np

            class Jitter:
                # a library module: the program that imports it seeds numpy
                def __call__(self, x):
                    return x * np.random.uniform(0.9, 1.1)
            """
        ),
        GOOD(
            """
            # %%
            import tensorflow as tf
            tf.random.set_seed(1)
            # %%
            w = tf.random.normal((3, 3))
            b = tf.random.uniform((3,), seed=2)
            """,
            path="model.ipynb",
        ),
        GOOD(
            """
            import random

            import matplotlib.pyplot as plt

            # a random training image to look at
            name = random.choice(train_files)
            plt.imshow(load_image(name))
            """
        ),
    )

    def __init__(self, context: Any, options: Any) -> None:
        super().__init__(context, options)
        # Where each draw is (function, module-level statement, whether it picks one
        # element or index): for the display filter.
        self.places: dict[int, tuple[str, int, bool]] = {}
        self.plotting_scopes: set[str] = set()
        self.plotting_statements: set[int] = set()
        self.top_level: dict[int, int] = {}
        self.statement = -1
        self.ifs: list[cst.If] = []
        self.assign: cst.Assign | None = None

    def visit_Module(self, node: cst.Module) -> None:
        self.top_level = {id(stmt): index for index, stmt in enumerate(node.body)}

    def _statement(self, node: cst.CSTNode) -> None:
        index = self.top_level.get(id(node))
        if index is not None:
            self.statement = index

    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> None:
        self._statement(node)

    def visit_For(self, node: cst.For) -> None:
        self._statement(node)

    def visit_While(self, node: cst.While) -> None:
        self._statement(node)

    def visit_With(self, node: cst.With) -> None:
        self._statement(node)

    def visit_Try(self, node: cst.Try) -> None:
        self._statement(node)

    def visit_If(self, node: cst.If) -> None:
        self._statement(node)
        self.ifs.append(node)
        super().visit_If(node)

    def leave_If(self, original_node: cst.If) -> None:
        if self.ifs and self.ifs[-1] is original_node:
            self.ifs.pop()
        super().leave_If(original_node)

    def visit_Assign(self, node: cst.Assign) -> None:
        self.assign = node

    def leave_Assign(self, original_node: cst.Assign) -> None:
        self.assign = None

    def _fallback(self) -> bool:
        """``if rng is None: rng = np.random.default_rng()``: the caller could have passed a
        seeded generator; the unseeded one is only the default."""
        if self.assign is None or not self.ifs:
            return False
        targets = {dotted_source(t.target) for t in self.assign.targets}
        stack: list[cst.CSTNode] = [self.ifs[-1].test]
        while stack:
            node = stack.pop()
            if isinstance(node, cst.Comparison) and len(node.comparisons) == 1:
                compared = node.comparisons[0]
                if (
                    isinstance(compared.operator, cst.Is)
                    and isinstance(compared.comparator, cst.Name)
                    and compared.comparator.value == "None"
                    and dotted_source(node.left) in targets
                ):
                    return True
            elif isinstance(node, (cst.BooleanOperation, cst.UnaryOperation)):
                stack.extend(sub_nodes(node))
        return False

    def check_call(self, node: cst.Call) -> None:
        qualname = self.context.resolver.call_name(node)
        scope = self.seeds.function
        if is_plotting(qualname, node):
            if scope:
                self.plotting_scopes.add(scope)
            else:
                self.plotting_statements.add(self.statement)
        if qualname is None:
            return
        written = dotted_source(node.func)
        if unseeded_generator(qualname, node):
            if self._fallback():
                return
            self.report(
                node,
                f"`{written}()` without a seed takes its state from the operating system: "
                "its draws differ on every run",
            )
            return
        family = draw_family(qualname, node)
        if family is None:
            return
        self.places[id(node)] = (scope, self.statement, qualname.rpartition(".")[2] in _PICKS)
        self.judge(
            node,
            family,
            f"`{written}(...)` draws from {FAMILY_NAMES[family]}, and nothing seeds it "
            "before this point of the program",
        )

    def leave_Module(self, original_node: cst.Module) -> None:
        if self.skip:
            return
        for item in self.seeds.unseeded(self.pending):
            place = self.places.get(id(item.node))
            if place is not None and self._for_display(*place):
                continue
            self.report(item.node, item.message)
        self.seeds.keep_library(
            self.code,
            [
                item
                for item in self.pending
                if (place := self.places.get(id(item.node))) is None
                or not self._for_display(*place)
            ],
        )

    def _for_display(self, scope: str, statement: int, pick: bool) -> bool:
        """Random numbers next to plotting code: something to look at, not to learn from —
        a pick (one sample) anywhere in a plotting function or within three statements of
        plotting code; any draw plotted by its own statement or one of the next two."""
        if scope:
            return pick and scope in self.plotting_scopes
        window = 4 if pick else 3
        return any(statement + i in self.plotting_statements for i in range(window))


# --- MLD603 -----------------------------------------------------------------------------------

_SPLITTERS_SHUFFLE_FLAG = frozenset(
    {"KFold", "StratifiedKFold", "StratifiedGroupKFold", "GroupKFold"}
)
_SPLITTERS_RANDOM = frozenset(
    {
        "ShuffleSplit",
        "StratifiedShuffleSplit",
        "GroupShuffleSplit",
        "RepeatedKFold",
        "RepeatedStratifiedKFold",
    }
)
# scikit-learn estimators that draw random numbers with their default parameters.
_RANDOM_ESTIMATORS = frozenset(
    {
        "RandomForestClassifier",
        "RandomForestRegressor",
        "ExtraTreesClassifier",
        "ExtraTreesRegressor",
        "RandomTreesEmbedding",
        "GradientBoostingClassifier",
        "GradientBoostingRegressor",
        "DecisionTreeClassifier",
        "DecisionTreeRegressor",
        "ExtraTreeClassifier",
        "ExtraTreeRegressor",
        "BaggingClassifier",
        "BaggingRegressor",
        "IsolationForest",
        "AdaBoostClassifier",
        "AdaBoostRegressor",
        "MLPClassifier",
        "MLPRegressor",
        "BernoulliRBM",
        "SGDClassifier",
        "SGDRegressor",
        "SGDOneClassSVM",
        "Perceptron",
        "PassiveAggressiveClassifier",
        "PassiveAggressiveRegressor",
        "KMeans",
        "MiniBatchKMeans",
        "BisectingKMeans",
        "SpectralClustering",
        "SpectralBiclustering",
        "SpectralCoclustering",
        "GaussianMixture",
        "BayesianGaussianMixture",
        "TruncatedSVD",
        "FastICA",
        "LatentDirichletAllocation",
        "DictionaryLearning",
        "MiniBatchDictionaryLearning",
        "SparsePCA",
        "MiniBatchSparsePCA",
        "MiniBatchNMF",
        "TSNE",
        "MDS",
        "SpectralEmbedding",
        "GaussianRandomProjection",
        "SparseRandomProjection",
        "RBFSampler",
        "Nystroem",
        "SkewedChi2Sampler",
        "PolynomialCountSketch",
        "RandomizedSearchCV",
        "HalvingRandomSearchCV",
        "RANSACRegressor",
        "MinCovDet",
        "EllipticEnvelope",
    }
)
# Estimators that draw random numbers only with some options: option -> values that do.
_RANDOM_WITH: dict[str, tuple[str, frozenset[str]]] = {
    "LogisticRegression": ("solver", frozenset({"sag", "saga", "liblinear"})),
    "SVC": ("probability", frozenset({"True"})),
    "NuSVC": ("probability", frozenset({"True"})),
    "Lasso": ("selection", frozenset({"random"})),
    "ElasticNet": ("selection", frozenset({"random"})),
    "Ridge": ("solver", frozenset({"sag", "saga"})),
    "RidgeClassifier": ("solver", frozenset({"sag", "saga"})),
    "PCA": ("svd_solver", frozenset({"randomized", "arpack"})),
    "KernelPCA": ("eigen_solver", frozenset({"randomized", "arpack"})),
    "NMF": ("init", frozenset({"random"})),
    "HistGradientBoostingClassifier": ("early_stopping", frozenset({"True"})),
    "HistGradientBoostingRegressor": ("early_stopping", frozenset({"True"})),
    "DummyClassifier": ("strategy", frozenset({"stratified", "uniform"})),
    "IterativeImputer": ("sample_posterior", frozenset({"True"})),
}


def _literal(node: cst.BaseExpression | None) -> str | None:
    if isinstance(node, cst.SimpleString):
        return string_value(node)
    if isinstance(node, cst.Name):
        return node.value
    return None


def _has_star(call: cst.Call) -> bool:
    return any(arg.star for arg in call.args)


def _seed_given(call: cst.Call, name: str = "random_state", index: int | None = None) -> bool:
    found = keyword(call, name) if index is None else argument(call, index, name)
    return found is not None and not (isinstance(found, cst.Name) and found.value == "None")


class UnseededSplit(_SeedAware):
    gate = ("sklearn", "sample", "random_split", "cross_validation")
    code = "MLD603"
    name = "unseeded-split"
    category = "reproducibility"
    severity = Severity.WARNING
    debt_minutes = 2.0
    tags = ("scikit-learn", "pandas", "pytorch")
    summary = "A split, sample or estimator that shuffles without `random_state`."
    what = (
        "Randomised data handling with no seed: `train_test_split` (unless `shuffle=False`), "
        "`KFold`/`StratifiedKFold`/`GroupKFold` with `shuffle=True`, `ShuffleSplit` and "
        "the repeated splitters, `sklearn.utils.shuffle`/`resample`, pandas `sample` "
        "(a DataFrame or Series, or any receiver given pandas' `frac=`), "
        "`torch.utils.data.random_split` without `generator=`, and scikit-learn estimators "
        "that draw random numbers with the options given (forests, boosting, trees, MLPs, "
        "SGD, k-means, mixtures, randomized SVD, t-SNE, `RandomizedSearchCV`, "
        "`LogisticRegression(solver='saga')`, `SVC(probability=True)`, "
        "`PCA(svd_solver='randomized')`...) built without `random_state`. With no "
        "`random_state` these draw from numpy's global generator, so a numpy seed in effect "
        "makes them repeatable and they are not reported. " + _FLOW_DOCS
    )
    why = (
        "Zhang et al. (CAIN 2022), *Randomness Uncontrolled*: an unseeded split puts "
        "different rows in the test set on every run, so scores move for no reason and "
        "experiments cannot be compared; an unseeded forest or k-means gives a different "
        "model each time."
    )
    limits = (
        _LIBRARY_LIMIT + " Deterministic estimators (linear models with their default "
        "solvers, `SVC` without probabilities, exact PCA) are left alone; XGBoost, LightGBM "
        "and CatBoost seed themselves by default. Arguments passed through `**params` are "
        "not read, so such calls are never reported. Hugging Face `datasets` and `tf.data` "
        "shuffles are not recognised."
    )
    examples = (
        BAD(
            """
            from sklearn.model_selection import train_test_split as tts

            X_tr, X_te, y_tr, y_te = tts(X, y, test_size=0.2)
            """,
            expect=1,
        ),
        BAD(
            """
            import pandas as pd
            from sklearn import ensemble, model_selection

            df = pd.read_csv("churn.csv")
            holdout = df.sample(frac=0.1)
            cv = model_selection.KFold(n_splits=5, shuffle=True)
            forest = ensemble.RandomForestClassifier(n_estimators=300)
            """,
            expect=3,
        ),
        BAD(
            """
            # %%
            import pandas as pd
            from sklearn.cluster import KMeans
            # %%
            stores = pd.read_csv("stores.csv")
            labels = KMeans(n_clusters=4).fit_predict(stores[["sales", "size"]])
            """,
            path="segments.ipynb",
            expect=1,
        ),
        GOOD(
            """
            from sklearn.model_selection import KFold, train_test_split

            SEED = 13
            X_tr, X_te = train_test_split(X, test_size=0.2, random_state=SEED)
            cv = KFold(n_splits=5)
            cv_shuffled = KFold(n_splits=5, shuffle=True, random_state=SEED)
            """
        ),
        GOOD(
            """
            import numpy as np
            import pandas as pd
            from sklearn.linear_model import LogisticRegression
            from sklearn.svm import SVC

            np.random.seed(0)
            df = pd.read_csv("churn.csv").sample(frac=1.0)
            clf = LogisticRegression(C=0.5)
            svm = SVC(C=1.0)
            """
        ),
        GOOD(
            """
            import lightgbm as lgb
            from sklearn.ensemble import RandomForestClassifier

            PARAMS = {"n_estimators": 500, "random_state": 0}
            forest = RandomForestClassifier(**PARAMS)
            booster = lgb.LGBMClassifier(num_leaves=63)
            """
        ),
    )

    def check_call(self, node: cst.Call) -> None:
        resolver = self.context.resolver
        if _has_star(node):
            return
        qualname = resolver.call_name(node)
        message = None
        family = NUMPY
        if qualname is not None:
            message, family = self._judge_name(qualname, node)
        if message is None:
            message = self._judge_sample(node)
        if message is not None:
            self.judge(node, family, message)

    def _judge_name(self, qualname: str, node: cst.Call) -> tuple[str | None, str]:
        unseeded = "and nothing seeds numpy's global generator before it"
        if qualname == "torch.utils.data.random_split":
            if keyword(node, "generator") is None:
                return (
                    "`random_split` without `generator=`, and torch is not seeded before it: "
                    "a different split on every run",
                    TORCH,
                )
            return None, NUMPY
        head, _, rest = qualname.partition(".")
        if head != "sklearn":
            return None, NUMPY
        name = rest.rpartition(".")[2]
        if qualname == "sklearn.model_selection.train_test_split":
            if _seed_given(node) or _literal(keyword(node, "shuffle")) == "False":
                return None, NUMPY
            return f"`train_test_split` without `random_state`, {unseeded}", NUMPY
        if qualname in ("sklearn.utils.shuffle", "sklearn.utils.resample"):
            if _seed_given(node):
                return None, NUMPY
            return f"`{name}` without `random_state`, {unseeded}", NUMPY
        if not rest.startswith(("model_selection.",)) and not name[:1].isupper():
            return None, NUMPY
        if name in _SPLITTERS_SHUFFLE_FLAG:
            if _literal(keyword(node, "shuffle")) == "True" and not _seed_given(node):
                return f"`{name}(shuffle=True)` without `random_state`, {unseeded}", NUMPY
            return None, NUMPY
        if name in _SPLITTERS_RANDOM and qualname.startswith("sklearn.model_selection."):
            if not _seed_given(node):
                return f"`{name}` without `random_state`, {unseeded}", NUMPY
            return None, NUMPY
        random = name in _RANDOM_ESTIMATORS
        if not random and name in _RANDOM_WITH:
            option, values = _RANDOM_WITH[name]
            random = _literal(keyword(node, option)) in values
        if random and not _seed_given(node):
            return (
                f"`{name}` built without `random_state`, {unseeded}: a different model on "
                "every run",
                NUMPY,
            )
        return None, NUMPY

    def _judge_sample(self, node: cst.Call) -> str | None:
        func = node.func
        if not isinstance(func, cst.Attribute) or func.attr.value != "sample":
            return None
        receiver = self.context.resolver.kind_of(func.value)
        if receiver not in (DATAFRAME, SERIES) and (
            receiver is not None or keyword(node, "frac") is None
        ):
            return None
        if _seed_given(node, "random_state", 4):
            return None
        return (
            f"`{dotted_source(func)}(...)` without `random_state`, and nothing seeds numpy's "
            "global generator before it: different rows on every run"
        )


# --- MLD604 -----------------------------------------------------------------------------------


class UnseededDataLoaderShuffle(_SeedAware):
    gate = ("DataLoader", "RandomSampler")
    code = "MLD604"
    name = "unseeded-dataloader-shuffle"
    category = "reproducibility"
    severity = Severity.WARNING
    debt_minutes = 3.0
    tags = ("pytorch",)
    summary = "`DataLoader(shuffle=True)` with no `generator=` and no torch seed in effect."
    what = (
        "A `torch.utils.data.DataLoader` built with `shuffle=True` (by keyword or as its third "
        "positional argument), or a `RandomSampler`, without a `generator=`, when torch's "
        "default generator is not seeded before it. " + _FLOW_DOCS
    )
    why = (
        "Zhang et al. (CAIN 2022), *Randomness Uncontrolled*: the batch order changes on "
        "every run, and with it the trained weights; a seeded `torch.Generator` passed as "
        "`generator=` (or `torch.manual_seed` before the loader) makes the order repeatable."
    )
    limits = (
        _LIBRARY_LIMIT + " Arguments passed through `**kwargs` are not read, so such loaders "
        "are never reported. Workers' own seeds (`worker_init_fn`) are not checked."
    )
    examples = (
        BAD(
            """
            from torch.utils.data import DataLoader

            loader = DataLoader(train_set, batch_size=64, shuffle=True)
            """,
            expect=1,
        ),
        BAD(
            """
            import torch.utils.data as tud

            def main():
                train = tud.DataLoader(dataset, 32, True, num_workers=4)
                sampler = tud.RandomSampler(dataset)
                return train, sampler

            if __name__ == "__main__":
                main()
            """,
            expect=2,
        ),
        BAD(
            """
            # %%
            import torch
            from torch.utils.data import DataLoader
            # %%
            loader = DataLoader(ds, batch_size=8, shuffle=True)
            # %%
            torch.manual_seed(0)
            """,
            path="finetune.ipynb",
            expect=1,
        ),
        GOOD(
            """
            import torch
            from torch.utils.data import DataLoader

            g = torch.Generator()
            g.manual_seed(0)
            loader = DataLoader(train_set, batch_size=64, shuffle=True, generator=g)
            """
        ),
        GOOD(
            """
            import torch
            from torch.utils.data import DataLoader

            torch.manual_seed(0)
            loader = DataLoader(train_set, batch_size=64, shuffle=True)
            val = DataLoader(val_set, batch_size=64)
            """
        ),
        GOOD(
            """
            # %%
            import pytorch_lightning as pl
            from torch.utils.data import DataLoader
            # %%
            pl.seed_everything(42)
            loader = DataLoader(ds, shuffle=True)
            """,
            path="train.ipynb",
        ),
    )

    def check_call(self, node: cst.Call) -> None:
        qualname = self.context.resolver.call_name(node)
        if qualname not in ("torch.utils.data.DataLoader", "torch.utils.data.RandomSampler"):
            return
        if _has_star(node) or keyword(node, "generator") is not None:
            return
        if qualname.endswith("DataLoader"):
            shuffle = keyword(node, "shuffle")
            if shuffle is None:
                shuffle = positional(node, 2)
            if _literal(shuffle) != "True" or keyword(node, "sampler") is not None:
                return
            what = "`DataLoader(shuffle=True)`"
        else:
            what = "`RandomSampler`"
        self.judge(
            node,
            TORCH,
            f"{what} without `generator=`, and torch is not seeded before it: a different "
            "batch order on every run",
        )
