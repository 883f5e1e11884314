"""Entanglement (Sculley et al. 2015, section 2): models that share their inputs, and models
that consume other models' predictions.

MLD121 shared-feature-inputs: one feature list (or one set of input columns) feeds several
distinct models - change anything, change everything (CACE).
MLD122 correction-cascade: a model is trained on another model's predictions.
"""

from __future__ import annotations

from dataclasses import dataclass

from mldebt.findings import Severity
from mldebt.graph import FitSite, ModelInfo, ProjectGraph, is_test_path
from mldebt.rule import BAD, GOOD, ProjectRule
from mldebt_rules._pipelines import (
    PredictionFlow,
    entry,
    natural_key,
    prediction_flows,
    trains,
)
from mldebt_rules.feedback_loop import fit_location, flow_locations

SECTION = (
    "Sculley et al., 'Hidden Technical Debt in Machine Learning Systems' (NIPS 2015), section 2"
)


@dataclass(frozen=True)
class _Use:
    model: ModelInfo
    fit: FitSite


def _models(graph: ProjectGraph) -> list[ModelInfo]:
    return [
        m
        for m in sorted(graph.models.values(), key=lambda m: m.id)
        if trains(m) and not all(is_test_path(f.path) for f in m.fits)
    ]


def _where(graph: ProjectGraph, fit: FitSite) -> str:
    return graph.where(fit.path, fit.line)


def _columns(graph: ProjectGraph, fit: FitSite) -> frozenset[str]:
    """The input columns of a fit: single columns and the members of feature lists."""
    found: set[str] = set()
    for signal in fit.signals:
        if signal.startswith("signal:column:"):
            found.add(signal.removeprefix("signal:column:"))
        else:
            found.update(graph.feature_list(signal) or ())
    return frozenset(found)


class SharedFeatureInputs(ProjectRule):
    code = "MLD121"
    name = "shared-feature-inputs"
    category = "entanglement"
    severity = Severity.WARNING
    debt_minutes = 45.0
    debt_per_unit = 15.0
    tags = ("entanglement", "cross-file", "model")
    summary = "One feature list, or one set of input columns, feeds several distinct models."
    what = (
        "A feature-list constant (`FEATURES = [...]`, a list of column names, wherever it is "
        "imported) that flows into the training of two or more distinct models fit in "
        "different scripts or notebooks, reported at the constant with every fit as a "
        "related location; and two models fit in different files on the same input columns "
        "(at least `min-shared` of them) but one each — its label — reported at the "
        "first fit. Models are distinct "
        "when they are different objects (the same model saved in one script and loaded in "
        "another is one model) learning different things: versions or rivals of one model "
        "(fit on the same label constant, or on the same columns) count once, and "
        "preprocessing objects (scalers, encoders) not at all."
    )
    why = (
        f"{SECTION}, 'Entanglement' (CACE: Changing Anything Changes Everything) and "
        "'Undeclared Consumers': when models share their inputs, adding, dropping or "
        "re-encoding one feature for one model silently changes the others, whose owners "
        "did not ask for it; the coupling is nowhere declared."
    )
    limits = (
        "Columns are those the code names: features chosen at run time (from a file, a "
        "selector) are unknown. Two experiments on the same data in two notebooks are "
        "reported too when they fit distinct models; suppress the finding when sharing is "
        "deliberate."
    )
    options = {"min-shared": 3}
    option_docs = {
        "min-shared": "Columns two models must have in common (column sets, not constants).",
    }
    examples = (
        BAD(
            {
                "features.py": """
                    FEATURES = ["tenure", "monthly_charges", "support_calls"]
                """,
                "train_churn.py": """
                    import pandas as pd
                    from sklearn.linear_model import LogisticRegression
                    from features import FEATURES

                    df = pd.read_csv("data/customers.csv")
                    churn = LogisticRegression().fit(df[FEATURES], df["churned"])
                """,
                "train_upsell.py": """
                    import pandas as pd
                    from sklearn.ensemble import GradientBoostingClassifier
                    from features import FEATURES

                    df = pd.read_csv("data/customers.csv")
                    upsell = GradientBoostingClassifier(random_state=0)
                    upsell.fit(df[FEATURES], df["upgraded"])
                """,
            },
            expect=1,
        ),
        GOOD(
            {
                "features.py": """
                    CHURN_FEATURES = ["tenure", "monthly_charges", "support_calls"]
                    UPSELL_FEATURES = ["tenure", "plan", "usage_gb"]
                """,
                "train_churn.py": """
                    import pandas as pd
                    from sklearn.linear_model import LogisticRegression
                    from features import CHURN_FEATURES

                    df = pd.read_csv("data/customers.csv")
                    baseline = LogisticRegression().fit(df[CHURN_FEATURES], df["churned"])
                    model = LogisticRegression(C=0.1).fit(df[CHURN_FEATURES], df["churned"])
                """,
                "train_upsell.py": """
                    import pandas as pd
                    from sklearn.ensemble import GradientBoostingClassifier
                    from features import UPSELL_FEATURES

                    df = pd.read_csv("data/customers.csv")
                    upsell = GradientBoostingClassifier(random_state=0)
                    upsell.fit(df[UPSELL_FEATURES], df["upgraded"])
                """,
            }
        ),
        BAD(
            {
                "notebooks/churn.ipynb": """
                    # %%
                    import pandas as pd
                    from sklearn.ensemble import RandomForestClassifier

                    df = pd.read_parquet("../data/customers.parquet")
                    # %%
                    X = df[["age", "income", "tenure", "n_products"]]
                    churn = RandomForestClassifier(n_estimators=300, random_state=0)
                    churn.fit(X, df["churned"])
                """,
                "notebooks/default_risk.ipynb": """
                    # %%
                    import pandas as pd
                    from sklearn.linear_model import LogisticRegression

                    df = pd.read_parquet("../data/customers.parquet")
                    # %%
                    X = df[["age", "income", "tenure", "n_products"]]
                    risk = LogisticRegression(max_iter=1000).fit(X, df["defaulted"])
                """,
            },
            expect=1,
        ),
        BAD(
            {
                "shop/features.py": """
                    NUMERIC = ["basket_value", "visits_30d", "days_since_last_order"]
                """,
                "shop/train_ltv.py": """
                    import pandas as pd
                    import xgboost as xgb
                    import shop.features as F

                    orders = pd.read_parquet("data/orders.parquet")
                    ltv = xgb.XGBRegressor(n_estimators=400, learning_rate=0.05)
                    ltv.fit(orders[F.NUMERIC], orders["revenue_next_year"])
                """,
                "shop/train_reactivation.py": """
                    import pandas as pd
                    from lightgbm import LGBMClassifier as LGBM
                    from shop import features

                    orders = pd.read_parquet("data/orders.parquet")
                    model = LGBM(n_estimators=200, random_state=7)
                    model.fit(orders[features.NUMERIC], orders["reactivated"])
                """,
            },
            expect=1,
        ),
        GOOD(
            {
                "config.py": """
                    FEATURES = ["tenure", "monthly_charges", "support_calls"]
                    TARGET = "churned"
                """,
                "train_lr.py": """
                    import pandas as pd
                    from sklearn.linear_model import LogisticRegression
                    from config import FEATURES, TARGET

                    df = pd.read_csv("data/customers.csv")
                    LogisticRegression(max_iter=1000).fit(df[FEATURES], df[TARGET])
                """,
                "train_gbm.py": """
                    import pandas as pd
                    from sklearn.ensemble import HistGradientBoostingClassifier
                    from config import FEATURES, TARGET

                    df = pd.read_csv("data/customers.csv")
                    HistGradientBoostingClassifier(random_state=0).fit(df[FEATURES], df[TARGET])
                """,
            }
        ),
        GOOD(
            {
                "features.py": """
                    NUMERIC = ["age", "income", "tenure"]
                """,
                "fit_scaler.py": """
                    import joblib
                    import pandas as pd
                    from sklearn.preprocessing import StandardScaler
                    from features import NUMERIC

                    df = pd.read_csv("data/train.csv")
                    joblib.dump(StandardScaler().fit(df[NUMERIC]), "models/scaler.joblib")
                """,
                "train.py": """
                    import pandas as pd
                    from sklearn.svm import SVC
                    from features import NUMERIC

                    df = pd.read_csv("data/train.csv")
                    model = SVC(C=1.0, kernel="rbf").fit(df[NUMERIC], df["label"])
                """,
            }
        ),
    )

    def check(self) -> None:
        graph = self.graph
        models = _models(graph)
        covered: set[frozenset[str]] = set()
        constants = sorted(
            {s for m in models for f in m.fits for s in f.signals if graph.feature_list(s)}
        )
        for signal in constants:
            uses = [_Use(m, f) for m in models for f in m.fits if signal in f.signals]
            uses = [u for u in uses if not is_test_path(u.fit.path)]
            first = self._firsts(uses)
            if len(first) < 2 or len({u.fit.path for u in first}) < 2:
                continue
            covered.add(frozenset(u.model.id for u in first))
            if len(_tasks(graph, first, signal)) < 2:
                continue  # versions or rivals of one model: same label, same inputs
            qualname = signal.removeprefix("signal:constant:")
            module, _, name = qualname.rpartition(".")
            facts = graph.by_module.get(module)
            line = graph.definition_line(module, name)
            columns = graph.feature_list(signal) or []
            listing = ", ".join(f"{u.model.name} ({_where(graph, u.fit)})" for u in first)
            where = (
                (facts.path, line)
                if facts is not None and line
                else (first[0].fit.path, first[0].fit.line)
            )
            self.report(
                where[0],
                where[1],
                f"feature list `{name}` ({len(columns)} columns) feeds {len(first)} distinct "
                f"models: {listing}; changing the list for one model changes them all "
                "(entanglement: changing anything changes everything)",
                related=[fit_location(u.model, u.fit, f"`{name}`") for u in first],
                key=f"shared:{qualname}",
                size=float(len(first) - 1),
            )
        self._column_sets(graph, models, covered)

    @staticmethod
    def _firsts(uses: list[_Use]) -> list[_Use]:
        """One fit per model (its first), in file order."""
        first: dict[str, _Use] = {}
        for use in sorted(uses, key=lambda u: (natural_key(u.fit.path), u.fit.line)):
            first.setdefault(use.model.id, use)
        return list(first.values())

    def _column_sets(
        self, graph: ProjectGraph, models: list[ModelInfo], covered: set[frozenset[str]]
    ) -> None:
        minimum = int(self.opts.get("min-shared", 3))
        uses = self._firsts(
            [_Use(m, f) for m in models for f in m.fits if not is_test_path(f.path)]
        )
        columns = {u.model.id: _columns(graph, u.fit) for u in uses}
        groups: list[list[_Use]] = []
        for use in uses:
            mine = columns[use.model.id]
            if len(mine) < minimum:
                continue
            for group in groups:
                theirs = columns[group[0].model.id]
                shared = mine & theirs
                if (
                    len(shared) >= minimum
                    # The same columns but one each (its label): rivals for one task share
                    # the label too, and models with more columns of their own differ.
                    and len(mine - theirs) == 1
                    and len(theirs - mine) == 1
                    and all(u.fit.path != use.fit.path for u in group)
                ):
                    group.append(use)
                    break
            else:
                groups.append([use])
        for group in groups:
            ids = frozenset(u.model.id for u in group)
            if len(group) < 2 or any(ids <= known for known in covered):
                continue
            shared = frozenset.intersection(*(columns[u.model.id] for u in group))
            head = group[0]
            listing = ", ".join(f"{u.model.name} ({_where(graph, u.fit)})" for u in group)
            names = ", ".join(f"`{c}`" for c in sorted(shared)[:6])
            if len(shared) > 6:
                names += f" and {len(shared) - 6} more"
            self.report(
                head.fit.path,
                head.fit.line,
                f"{len(group)} distinct models in different files are fit on the same "
                f"{len(shared)} input columns ({names}): {listing}; a change to one of these "
                "signals changes them all (entanglement: changing anything changes "
                "everything)",
                related=[fit_location(u.model, u.fit, "these columns") for u in group[1:]],
                key="columns:" + ",".join(sorted(shared)),
                size=float(len(group) - 1),
            )


def _tasks(graph: ProjectGraph, uses: list[_Use], shared: str) -> list[list[_Use]]:
    """The uses grouped by what they learn: two fits are one task when they are fit on the
    same label constant (``TARGET``) or on the same columns besides the shared list."""
    members = set(graph.feature_list(shared) or ())

    def key(use: _Use) -> tuple[frozenset[str], frozenset[str]]:
        labels = frozenset(
            s
            for s in use.fit.signals
            if s != shared
            and s.startswith("signal:constant:")
            and isinstance(graph.constant(s.removeprefix("signal:constant:")), str)
        )
        rest = frozenset(
            s
            for s in use.fit.signals
            if s.startswith("signal:column:") and s.removeprefix("signal:column:") not in members
        )
        return labels, rest

    tasks: list[list[_Use]] = []
    for use in uses:
        labels, rest = key(use)
        for task in tasks:
            their_labels, their_rest = key(task[0])
            if (labels & their_labels) or (rest and rest == their_rest):
                task.append(use)
                break
        else:
            tasks.append([use])
    return tasks


class CorrectionCascade(ProjectRule):
    code = "MLD122"
    name = "correction-cascade"
    category = "entanglement"
    severity = Severity.WARNING
    debt_minutes = 60.0
    tags = ("entanglement", "cross-file", "model")
    summary = "A model is trained on another model's predictions (an undeclared consumer)."
    what = (
        "The predictions of one model, written to a file or table, read by the training or "
        "feature code of a different model: directly (`train_b.py` reads `scores_a.csv`) or "
        "through feature scripts that carry them into the other model's training data. "
        "Reported where the predictions are taken up (or where they are written into a file "
        "the pipeline also makes), once per producing model and place, naming every model "
        "that consumes them; in-memory stacking inside one script is not reported, nor a "
        "model trained in the same script as the one that made the predictions (a loop of "
        "the same model is MLD131's)."
    )
    why = (
        f"{SECTION}, 'Correction Cascades' and 'Undeclared Consumers': a model learnt on top "
        "of another's output depends on its behaviour; improving the first now changes the "
        "second in ways no one tests, and the pair can end in a deadlock where neither can "
        "be improved alone."
    )
    limits = (
        "Predictions passed on in memory, through a service or through a path known only at "
        "run time are not followed. Stacking ensembles are reported: that is a cascade too, "
        "and worth declaring."
    )
    examples = (
        BAD(
            {
                "score_risk.py": """
                    import joblib
                    import pandas as pd

                    risk = joblib.load("models/risk.joblib")
                    df = pd.read_csv("data/customers.csv")
                    df["risk"] = risk.predict_proba(df[["age", "income"]])[:, 1]
                    df[["id", "risk"]].to_csv("data/risk_scores.csv", index=False)
                """,
                "train_pricing.py": """
                    import pandas as pd
                    from sklearn.linear_model import Ridge

                    quotes = pd.read_csv("data/quotes.csv")
                    risk = pd.read_csv("data/risk_scores.csv")
                    df = quotes.merge(risk, on="id")
                    pricing = Ridge().fit(df[["risk", "amount"]], df["premium"])
                """,
            },
            expect=1,
        ),
        GOOD(
            {
                "score_risk.py": """
                    import joblib
                    import pandas as pd

                    risk = joblib.load("models/risk.joblib")
                    df = pd.read_csv("data/customers.csv")
                    df["risk"] = risk.predict_proba(df[["age", "income"]])[:, 1]
                    df[["id", "risk"]].to_csv("reports/risk_scores.csv", index=False)
                """,
                "train_pricing.py": """
                    import pandas as pd
                    from sklearn.linear_model import Ridge

                    df = pd.read_csv("data/quotes.csv")
                    pricing = Ridge().fit(df[["age", "amount"]], df["premium"])
                """,
            }
        ),
        BAD(
            {
                "score_fraud.py": """
                    import joblib
                    import pandas as pd

                    fraud = joblib.load("models/fraud.joblib")
                    tx = pd.read_parquet("data/transactions.parquet")
                    tx["fraud_score"] = fraud.predict_proba(tx[["amount", "hour"]])[:, 1]
                    tx[["account_id", "fraud_score"]].to_parquet("data/fraud_scores.parquet")
                """,
                "build_features.py": """
                    import pandas as pd

                    accounts = pd.read_parquet("data/accounts.parquet")
                    scores = pd.read_parquet("data/fraud_scores.parquet")
                    per_account = scores.groupby("account_id", as_index=False)["fraud_score"].max()
                    accounts.merge(per_account, on="account_id").to_parquet("data/features.parquet")
                """,
                "notebooks/credit_limit.ipynb": """
                    # %%
                    import pandas as pd
                    from sklearn.ensemble import GradientBoostingRegressor

                    df = pd.read_parquet("../data/features.parquet")
                    # %%
                    limit = GradientBoostingRegressor(random_state=0)
                    limit.fit(df[["income", "fraud_score"]], df["limit"])
                """,
            },
            expect=1,
        ),
        BAD(
            {
                "train_lgb.py": """
                    import lightgbm as lgb
                    import pandas as pd
                    from sklearn.model_selection import cross_val_predict

                    train = pd.read_csv("data/train.csv")
                    X, y = train.drop(columns="target"), train["target"]
                    model = lgb.LGBMClassifier(n_estimators=300, random_state=0)
                    oof = cross_val_predict(model, X, y, cv=5, method="predict_proba")[:, 1]
                    model.fit(X, y)
                    level1 = pd.DataFrame({"lgb": model.predict_proba(X)[:, 1]})
                    level1.to_csv("work/oof_lgb.csv", index=False)
                """,
                "stack.py": """
                    import pandas as pd
                    from sklearn.linear_model import LogisticRegression

                    level1 = pd.read_csv("work/oof_lgb.csv")
                    y = pd.read_csv("data/train.csv")["target"]
                    meta = LogisticRegression().fit(level1[["lgb"]], y)
                """,
            },
            expect=1,
        ),
        GOOD(
            {
                "train_lgb.py": """
                    import lightgbm as lgb
                    import pandas as pd

                    train = pd.read_csv("data/train.csv")
                    test = pd.read_csv("data/test.csv")
                    model = lgb.LGBMClassifier(n_estimators=300, random_state=0)
                    model.fit(train.drop(columns="target"), train["target"])
                    scores = model.predict_proba(test.drop(columns="id"))[:, 1]
                    submission = pd.DataFrame({"id": test["id"], "target": scores})
                    submission.to_csv("submissions/lgb.csv", index=False)
                """,
                "train_knn.py": """
                    import pandas as pd
                    from sklearn.neighbors import KNeighborsClassifier

                    train = pd.read_csv("data/train.csv")
                    knn = KNeighborsClassifier(n_neighbors=15)
                    knn.fit(train.drop(columns="target"), train["target"])
                """,
            }
        ),
        GOOD(
            {
                "stack.py": """
                    import pandas as pd
                    from sklearn.ensemble import RandomForestClassifier
                    from sklearn.linear_model import LogisticRegression
                    from sklearn.model_selection import cross_val_predict

                    train = pd.read_csv("data/train.csv")
                    X, y = train.drop(columns="target"), train["target"]
                    forest = RandomForestClassifier(n_estimators=200, random_state=0)
                    level1 = cross_val_predict(forest, X, y, cv=5, method="predict_proba")
                    meta = LogisticRegression().fit(level1, y)
                """,
            }
        ),
    )

    def check(self) -> None:
        graph = self.graph
        models = _models(graph)
        # Where predictions are taken up -> (producers, consumers): one finding per place.
        found: dict[tuple[str, int], list[tuple[ModelInfo, ModelInfo, FitSite, PredictionFlow]]]
        found = {}
        for producer in sorted(graph.models.values(), key=lambda m: m.id):
            if not producer.predicts_to:
                continue
            own = {f.path for f in producer.fits}
            for flow in prediction_flows(graph, producer):
                for consumer in models:
                    if consumer.id == producer.id:
                        continue
                    for fit in consumer.fits:
                        if flow.target not in fit.artifacts or fit.path in own:
                            continue
                        if is_test_path(fit.path):
                            continue
                        where = entry(graph, flow, fit)
                        bucket = found.setdefault((where.path, where.line), [])
                        if all((p.id, c.id) != (producer.id, consumer.id) for p, c, _, _ in bucket):
                            bucket.append((producer, consumer, fit, flow))
                        break
        for (path, line), cases in sorted(found.items()):
            producers = list({p.id: (p, flow) for p, _, _, flow in cases}.values())
            consumers = sorted(
                {c.id: (c, f) for _, c, f, _ in cases}.values(),
                key=lambda c: (natural_key(c[1].path), c[1].line),
            )
            flow = producers[0][1]
            source = graph.artifacts[flow.source].label
            made = " and ".join(
                f"{p.name} ({graph.where(f.write.path, f.write.line)})" for p, f in producers
            )
            listing = ", ".join(f"{c.name} ({_where(graph, f)})" for c, f in consumers)
            related = [loc for _, f in producers for loc in flow_locations(graph, f)]
            related += [fit_location(c, f, "them") for c, f in consumers]
            self.report(
                path,
                line,
                f"`{source}` holds predictions of {made}, and they feed the training of "
                f"{listing}: a correction cascade — those models now depend on another "
                "model's behaviour, undeclared consumers of its output",
                related=related,
                key=f"cascade:{source}:" + ",".join(sorted(p.id for p, _ in producers)),
                size=float(len(consumers)),
            )
