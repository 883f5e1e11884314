"""MLD520: a binary classifier validated only with threshold-dependent metrics."""

from __future__ import annotations

import re
from typing import Any

import libcst as cst

from mldebt.findings import Severity
from mldebt.literals import string_value
from mldebt.resolve.kinds import keyword
from mldebt.rule import BAD, GOOD, FileRule
from mldebt_rules._seeding import is_test_module

_DEPENDENT = frozenset(
    {
        "accuracy_score",
        "f1_score",
        "precision_score",
        "recall_score",
        "fbeta_score",
        "precision_recall_fscore_support",
        "classification_report",
        "balanced_accuracy_score",
        "jaccard_score",
    }
)
_INDEPENDENT = frozenset(
    {
        "roc_auc_score",
        "average_precision_score",
        "log_loss",
        "brier_score_loss",
        "roc_curve",
        "precision_recall_curve",
        "det_curve",
        "auc",
        "RocCurveDisplay",
        "PrecisionRecallDisplay",
        "DetCurveDisplay",
        "AUC",
        "BinaryCrossentropy",
        "AUROC",
        "AveragePrecision",
        "BinaryAUROC",
    }
)
# Scorer and metric names given as strings (scikit-learn scoring, Keras, XGBoost, LightGBM).
_INDEPENDENT_STRINGS = re.compile(
    r"^(neg_)?(roc_auc\w*|auc|aucpr|pr_auc|average_precision|log_loss|logloss|binary_logloss|"
    r"brier_score|cross_entropy|binary_crossentropy_metric)$"
)
_BINARY_STRINGS = frozenset(
    {"binary", "binary:logistic", "binary_crossentropy", "binary_logloss", "sigmoid"}
)
# Hints of more than two classes (or several labels): the rule stays silent.
_MULTICLASS_STRINGS = frozenset(
    {
        "macro",
        "micro",
        "weighted",
        "samples",
        "softmax",
        "categorical_crossentropy",
        "sparse_categorical_crossentropy",
        "multi:softprob",
        "multi:softmax",
        "multiclass",
        "multiclassova",
        "ovr",
        "ovo",
    }
)
_MULTICLASS_CALLS = frozenset(
    {
        "torch.nn.CrossEntropyLoss",
        "torch.nn.functional.cross_entropy",
        "torch.nn.functional.softmax",
        "torch.softmax",
        "torch.argmax",
        "numpy.argmax",
        "tensorflow.argmax",
        "keras.losses.CategoricalCrossentropy",
        "keras.losses.SparseCategoricalCrossentropy",
        "scipy.special.softmax",
    }
)
_BINARY_CALLS = frozenset(
    {
        "torch.nn.BCELoss",
        "torch.nn.BCEWithLogitsLoss",
        "torch.nn.functional.binary_cross_entropy",
        "torch.nn.functional.binary_cross_entropy_with_logits",
        "keras.losses.BinaryCrossentropy",
        "keras.losses.binary_crossentropy",
    }
)


_PREDICTION_WORDS = re.compile(r"prob|pred|score|output|logit|y_?hat|sigmoid", re.IGNORECASE)


def _probability_threshold(node: cst.Comparison) -> bool:
    """``proba > 0.5``, ``preds >= .3``: a predicted probability turned into a class (a
    data filter such as ``df["solidity"] > 0.9`` is not)."""
    left = node.left
    text = ""
    while isinstance(left, (cst.Attribute, cst.Subscript, cst.Call)):
        if isinstance(left, cst.Attribute):
            text += " " + left.attr.value
            left = left.value
        elif isinstance(left, cst.Subscript):
            left = left.value
        else:
            left = left.func
    if isinstance(left, cst.Name):
        text += " " + left.value
    if not _PREDICTION_WORDS.search(text):
        return False
    for target in node.comparisons:
        if isinstance(target.operator, (cst.GreaterThan, cst.GreaterThanEqual)):
            value = target.comparator
            if isinstance(value, cst.Float):
                try:
                    number = float(value.value)
                except ValueError:
                    continue
                if 0.0 < number < 1.0:
                    return True
    return False


class ThresholdDependentMetric(FileRule):
    code = "MLD520"
    name = "threshold-dependent-metric"
    category = "ml-api-misuse"
    severity = Severity.INFO
    debt_minutes = 10.0
    status = "preview"
    tags = ("scikit-learn", "keras", "xgboost", "lightgbm")
    summary = "A binary classifier validated with accuracy/F1/precision/recall only."
    what = (
        "A file (or notebook) that validates a binary classifier with threshold-dependent "
        "metrics only — `accuracy_score`, `f1_score`, `precision_score`, `recall_score`, "
        "`fbeta_score`, `classification_report`, `balanced_accuracy_score`, `jaccard_score` "
        "— and nowhere with a threshold-independent one: `roc_auc_score`, "
        "`average_precision_score`, `log_loss`, `brier_score_loss`, ROC/PR curves, Keras "
        "`AUC`, or a scorer or metric name such as `'roc_auc'`, `'auc'`, `'logloss'`. The "
        "classifier counts as binary when the file shows it: `predict_proba(...)[:, 1]`, a "
        "probability compared with a threshold (`p > 0.5`), `average='binary'`, "
        "`pos_label=`, a binary objective or loss (`'binary:logistic'`, `BCEWithLogitsLoss`, "
        "`'binary_crossentropy'`), a sigmoid output; and nothing hints at more classes or "
        "labels (`average='macro'` and the other averages, `labels=`, softmax, argmax, "
        "categorical cross-entropy, a multi-class objective). Reported once, at the first "
        "threshold-dependent metric."
    )
    why = (
        "Zhang et al. (CAIN 2022), *Threshold-Dependent Validation*: accuracy, F1, precision "
        "and recall depend on the decision threshold chosen (often 0.5 by default) and on the "
        "class balance, so they can rank models differently from how they separate the "
        "classes; a threshold-independent metric such as ROC AUC or average precision "
        "compares models fairly and the threshold can be chosen afterwards."
    )
    limits = (
        "Preview: whether the problem is binary is inferred from hints in the same file; a "
        "threshold fixed by the business (a required recall) can make threshold-dependent "
        "metrics the right choice. Metrics computed in another file are not seen. Test "
        "modules are not checked."
    )
    examples = (
        BAD(
            """
            from sklearn.linear_model import LogisticRegression
            from sklearn.metrics import accuracy_score, f1_score

            clf = LogisticRegression(C=1.0).fit(X_tr, y_tr)
            pred = (clf.predict_proba(X_te)[:, 1] > 0.5).astype(int)
            print(accuracy_score(y_te, pred), f1_score(y_te, pred))
            """,
            expect=1,
        ),
        BAD(
            """
            import xgboost as xgb
            from sklearn import metrics as m

            model = xgb.XGBClassifier(objective="binary:logistic", n_estimators=200)
            model.fit(X_tr, y_tr)
            print(m.classification_report(y_te, model.predict(X_te)))
            """,
            expect=1,
        ),
        BAD(
            """
            # %%
            from sklearn.metrics import recall_score
            # %%
            y_hat = model.predict(X_val)
            print(recall_score(y_val, y_hat, average="binary"))
            """,
            path="fraud.ipynb",
            expect=1,
        ),
        GOOD(
            """
            from sklearn.metrics import accuracy_score, roc_auc_score

            proba = clf.predict_proba(X_te)[:, 1]
            print(roc_auc_score(y_te, proba), accuracy_score(y_te, proba > 0.5))
            """
        ),
        GOOD(
            """
            from sklearn.metrics import accuracy_score

            digits_pred = clf.predict(X_te)
            print(accuracy_score(y_te, digits_pred))  # ten classes: nothing says binary
            """
        ),
        GOOD(
            """
            # %%
            from sklearn.metrics import f1_score
            from sklearn.model_selection import cross_val_score
            # %%
            auc = cross_val_score(clf, X, y, cv=5, scoring="roc_auc").mean()
            f1 = f1_score(y_te, clf.predict(X_te), pos_label=1)
            """,
            path="churn.ipynb",
        ),
    )

    def __init__(self, context: Any, options: Any) -> None:
        super().__init__(context, options)
        self.skip = is_test_module(context.path) or "sklearn" not in context.text
        self.dependent: list[tuple[cst.Call, str]] = []
        self.independent = False
        self.binary = False
        self.multiclass = False

    def visit_Call(self, node: cst.Call) -> None:
        if self.skip:
            return
        qualname = self.context.resolver.call_name(node) or ""
        name = qualname.rpartition(".")[2]
        library = qualname.partition(".")[0]
        if library in ("sklearn", "keras", "torchmetrics", "tensorflow"):
            if name in _INDEPENDENT:
                self.independent = True
            elif name in _DEPENDENT and library == "sklearn":
                self.dependent.append((node, name))
        if qualname in _BINARY_CALLS or keyword(node, "pos_label") is not None:
            self.binary = True
        func = node.func
        if qualname in _MULTICLASS_CALLS or (
            isinstance(func, cst.Attribute) and func.attr.value in ("argmax", "softmax")
        ):
            self.multiclass = True
        if keyword(node, "labels") is not None or keyword(node, "num_class") is not None:
            self.multiclass = True
        average = keyword(node, "average")
        if isinstance(average, cst.SimpleString) and string_value(average) == "binary":
            self.binary = True

    def visit_SimpleString(self, node: cst.SimpleString) -> None:
        if self.skip:
            return
        value = string_value(node)
        if value is None or len(value) > 40:
            return
        if _INDEPENDENT_STRINGS.match(value):
            self.independent = True
        elif value in _BINARY_STRINGS:
            self.binary = True
        elif value in _MULTICLASS_STRINGS:
            self.multiclass = True

    def visit_Subscript(self, node: cst.Subscript) -> None:
        """``predict_proba(X)[:, 1]``: the positive class's probability."""
        if self.skip:
            return
        base = node.value
        if (
            isinstance(base, cst.Call)
            and isinstance(base.func, cst.Attribute)
            and base.func.attr.value == "predict_proba"
            and len(node.slice) == 2
        ):
            index = node.slice[1].slice
            if isinstance(index, cst.Index) and isinstance(index.value, cst.Integer):
                self.binary = True

    def visit_Comparison(self, node: cst.Comparison) -> None:
        if not self.skip and _probability_threshold(node):
            self.binary = True

    def leave_Module(self, original_node: cst.Module) -> None:
        if self.skip or self.independent or self.multiclass or not self.binary:
            return
        if not self.dependent:
            return
        node, _ = self.dependent[0]
        names = ", ".join(f"`{n}`" for n in dict.fromkeys(n for _, n in self.dependent))
        self.report(
            node,
            f"This binary classifier is validated only with threshold-dependent metrics "
            f"({names}): add a threshold-independent one such as `roc_auc_score` or "
            "`average_precision_score`",
        )
