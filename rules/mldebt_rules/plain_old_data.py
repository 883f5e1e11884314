"""MLD801: model outputs passed between modules as raw tuples and dicts, unpacked by position
or string key in another module (the plain-old-data type smell)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import libcst as cst
from libcst.helpers import get_full_name_for_node

from mldebt.findings import Location, Severity
from mldebt.graph import is_test_path
from mldebt.literals import string_value
from mldebt.rule import BAD, GOOD, ProjectRule

if TYPE_CHECKING:
    from mldebt.context import FileContext

FACTS_KEY = "plain_old_data"
#: Methods and functions whose result is a model's output or a metric of one.
_MODEL_METHODS = frozenset(
    {"predict", "predict_proba", "predict_log_proba", "decision_function", "evaluate", "generate"}
)
_METRIC = re.compile(r"^(?:\w+_score|log_loss|\w+_error|classification_report|confusion_matrix)$")
#: Unpacking ``a, b = f()`` into two names is ordinary Python; three or more is a record.
MIN_UNPACKED = 3


def _statements(body: Any) -> Iterator[cst.BaseStatement]:
    """Statements of a block, recursively through compound statements (not into nested
    functions or classes)."""
    block = body.body if isinstance(body, (cst.IndentedBlock, cst.Module)) else ()
    for statement in block:
        yield statement
        if isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
            continue
        if isinstance(statement, cst.BaseCompoundStatement):
            yield from _statements(statement.body)
            for attr in ("orelse", "finalbody"):
                other = getattr(statement, attr, None)
                while other is not None:
                    yield from _statements(other.body)
                    other = getattr(other, "orelse", None) if isinstance(other, cst.If) else None
            for handler in getattr(statement, "handlers", ()):
                yield from _statements(handler.body)


def _small(statement: cst.BaseStatement) -> Iterator[cst.BaseSmallStatement]:
    if isinstance(statement, cst.SimpleStatementLine):
        yield from statement.body


def _shape(value: cst.BaseExpression) -> str | None:
    """``tuple:3``, ``dict:auc,f1`` for a raw record; None for anything else."""
    if isinstance(value, cst.Tuple) and len(value.elements) >= 2:
        if any(isinstance(e, cst.StarredElement) for e in value.elements):
            return None
        return f"tuple:{len(value.elements)}"
    if isinstance(value, cst.Dict) and value.elements:
        keys = []
        for element in value.elements:
            if not isinstance(element, cst.DictElement):
                return None
            key = string_value(element.key) if isinstance(element.key, cst.SimpleString) else None
            if key is None:
                return None
            keys.append(key)
        return "dict:" + ",".join(keys)
    return None


def _index(node: cst.Subscript) -> str | None:
    """``0`` or ``'auc'`` when ``node`` indexes by one literal position or key."""
    if len(node.slice) != 1 or not isinstance(node.slice[0].slice, cst.Index):
        return None
    value = node.slice[0].slice.value
    if isinstance(value, cst.Integer):
        return value.value
    text = string_value(value) if isinstance(value, cst.SimpleString) else None
    return repr(text) if text is not None else None


def _calls_model(function: cst.FunctionDef) -> bool:
    """Does the function assign or return a model's output or a metric (``model.predict(X)``,
    ``roc_auc_score(y, p)``, ``net.predict(x).argmax(1)``) at the top of a statement?"""
    for statement in _statements(function.body):
        for small in _small(statement):
            value = getattr(small, "value", None)
            if isinstance(value, cst.BaseExpression) and _model_call(value, 4):
                return True
    return False


def _model_call(expr: cst.BaseExpression, depth: int) -> bool:
    if depth <= 0:
        return False
    if isinstance(expr, cst.Call):
        func = expr.func
        name = func.attr.value if isinstance(func, cst.Attribute) else getattr(func, "value", "")
        if isinstance(name, str) and (
            name in _MODEL_METHODS if isinstance(func, cst.Attribute) else _METRIC.match(name)
        ):
            return True
        if isinstance(func, cst.Attribute):
            return _model_call(func.value, depth - 1)
        return False
    if isinstance(expr, (cst.Subscript, cst.Attribute)):
        return _model_call(expr.value, depth - 1)
    if isinstance(expr, (cst.Tuple, cst.List)):
        return any(_model_call(e.value, depth - 1) for e in expr.elements)
    if isinstance(expr, cst.Dict):
        return any(
            isinstance(e, cst.DictElement) and _model_call(e.value, depth - 1)
            for e in expr.elements
        )
    if isinstance(expr, cst.BinaryOperation):
        return _model_call(expr.left, depth - 1) or _model_call(expr.right, depth - 1)
    if isinstance(expr, cst.Comparison):
        return _model_call(expr.left, depth - 1)
    return False


def _imported_names(module: cst.Module) -> set[str]:
    """Names the module's top-level imports bind (``from a import f`` -> f, ``import a.b``
    -> a)."""
    names: set[str] = set()
    for statement in module.body:
        for small in _small(statement):
            if isinstance(small, cst.ImportFrom) and not isinstance(small.names, cst.ImportStar):
                names.update(
                    (a.asname.name.value if a.asname and isinstance(a.asname.name, cst.Name) else
                     get_full_name_for_node(a.name) or "")
                    for a in small.names
                )  # fmt: skip
            elif isinstance(small, cst.Import):
                for alias in small.names:
                    if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                        names.add(alias.asname.name.value)
                    else:
                        names.add((get_full_name_for_node(alias.name) or "").partition(".")[0])
    names.discard("")
    return names


def collect(context: FileContext) -> dict[str, Any] | None:
    """Functions that return raw records (``producers``: qualname -> [shapes, calls a model])
    and calls of imported functions whose result is unpacked or indexed (``consumers``:
    [callee as written, how, scope]). Statements only: no expression is walked, and only the
    top of the values assigned and returned is looked at for model calls."""
    module = context.module
    imported = _imported_names(module)
    producers: dict[str, list[Any]] = {}
    consumers: list[list[str]] = []
    named_results: dict[str, tuple[str, str]] = {}

    def scan(body: Any, prefix: str) -> None:
        scope = prefix.rstrip(".")
        for statement in _statements(body):
            if isinstance(statement, cst.FunctionDef):
                qualname = prefix + statement.name.value
                _producer(qualname, statement)
                scan(statement.body, qualname + ".")
            elif isinstance(statement, cst.ClassDef):
                scan(statement.body, prefix + statement.name.value + ".")
            for small in _small(statement):
                if isinstance(small, cst.Assign):
                    _consumer(small.targets, small.value, scope)
                elif isinstance(small, (cst.AnnAssign, cst.Return)) and small.value is not None:
                    _consumer((), small.value, scope)

    def _producer(qualname: str, function: cst.FunctionDef) -> None:
        shapes = set()
        for statement in _statements(function.body):
            for small in _small(statement):
                if isinstance(small, cst.Return) and small.value is not None:
                    shape = _shape(small.value)
                    if shape is not None:
                        shapes.add(shape)
        if shapes:
            producers[qualname] = [sorted(shapes), _calls_model(function)]

    def _callee(call: cst.Call) -> str | None:
        callee = get_full_name_for_node(call.func)
        if callee and callee.partition(".")[0] in imported:
            return callee
        return None

    def _consumer(targets: Any, value: cst.BaseExpression, scope: str) -> None:
        if isinstance(value, cst.Subscript) and isinstance(value.value, cst.Call):
            how = _index(value)
            callee = _callee(value.value)
            if how is not None and callee:
                consumers.append([callee, f"indexed [{how}]", scope])
            return
        if not isinstance(value, cst.Call):
            return
        callee = _callee(value)
        if not callee:
            return
        for target in targets:
            shape = target.target
            if isinstance(shape, (cst.Tuple, cst.List)) and len(shape.elements) >= MIN_UNPACKED:
                consumers.append([callee, f"unpacked into {len(shape.elements)} names", scope])
            elif isinstance(shape, cst.Name):
                named_results[shape.value] = (callee, scope)

    scan(module, "")
    if named_results:
        _indexed_names(context, named_results, consumers)
    if not producers and not consumers:
        return None
    return {"producers": producers, "consumers": consumers}


def _indexed_names(
    context: FileContext, named: dict[str, tuple[str, str]], consumers: list[list[str]]
) -> None:
    """``res = f(...)`` followed by ``res[0]`` or ``res["auc"]`` somewhere in the file (a text
    search: cheap, and the project rule asks for the callee to be a producer as well)."""
    text = context.text
    names = [name for name in named if f"{name}[" in text]
    if not names:
        return
    alternatives = "|".join(map(re.escape, names))
    pattern = re.compile(rf"(?<![\w.])({alternatives})\[\s*(\d+|'[^'\n]*'|\"[^\"\n]*\")\s*\]")
    found: dict[str, set[str]] = {}
    for match in pattern.finditer(text):
        found.setdefault(match.group(1), set()).add(match.group(2))
    for name, keys in found.items():
        callee, scope = named[name]
        consumers.append([callee, "indexed " + ", ".join(f"[{k}]" for k in sorted(keys)), scope])


class PlainOldDataResult(ProjectRule):
    code = "MLD801"
    name = "plain-old-data-result"
    category = "abstraction-debt"
    severity = Severity.INFO
    debt_minutes = 20.0
    debt_per_unit = 5.0
    facts_key = FACTS_KEY
    summary = "Model outputs returned as raw tuples or dicts that other modules unpack by "
    summary += "position or string key."
    what = (
        "Functions whose result holds a model's outputs (predictions, probabilities, or "
        "metrics computed from them, as the project graph follows them) and that return them "
        "as a bare tuple or a dict literal with string keys, when code in another module "
        "(not a test) unpacks the result by position — `a, b, c = f()` with three or more "
        "names, `f()[0]`, `res[1]` — or by string key — `res['auc']`. The finding is at the "
        "producing function and names every consumer, each a related location."
    )
    why = (
        "Sculley et al., §Abstraction Debt and the *plain-old-data type smell*: the rich "
        "information a model produces — which threshold, which class order, which metric on "
        "which split — travels as anonymous floats and tuples. Every consumer then encodes the "
        "layout by hand (`scores[1]` is the AUC, `res['f1']` exists), so adding, reordering or "
        "renaming a field breaks modules far away, silently when the types still line up. "
        "A small dataclass or NamedTuple names the fields once, for every consumer and for "
        "the type checker."
    )
    limits = (
        "Only module-level functions and methods called by a name the importing module can "
        "resolve are followed; results passed on through other variables, attributes or "
        "containers before being unpacked are not. A result indexed by a variable "
        "(`res[key]`) is not counted, and the producing side must be known to carry model "
        "outputs."
    )
    examples = (
        BAD(
            {
                "fraud/evaluate.py": """
                    from sklearn.metrics import precision_score, recall_score, roc_auc_score

                    def evaluate(model, X, y):
                        proba = model.predict_proba(X)[:, 1]
                        pred = proba > 0.5
                        auc = roc_auc_score(y, proba)
                        return auc, precision_score(y, pred), recall_score(y, pred)
                """,
                "fraud/report.py": """
                    from fraud.evaluate import evaluate

                    def summary(model, X, y):
                        auc, precision, recall = evaluate(model, X, y)
                        return f"AUC {auc:.3f}, precision {precision:.2f}, recall {recall:.2f}"
                """,
            }
        ),
        BAD(
            {
                "fraud/scoring.py": """
                    def score_batch(model, batch):
                        proba = model.predict_proba(batch)[:, 1]
                        return {"proba": proba, "flagged": proba > 0.8, "n": len(batch)}
                """,
                "serve/api.py": """
                    from fraud import scoring

                    def handle(model, batch):
                        res = scoring.score_batch(model, batch)
                        return {"flagged": int(res["flagged"].sum()), "mean": res["proba"].mean()}
                """,
                "jobs/nightly.py": """
                    from fraud.scoring import score_batch

                    def run(model, batch):
                        flagged = score_batch(model, batch)["flagged"]
                        return batch[flagged]
                """,
            }
        ),
        BAD(
            {
                "models/classify.py": """
                    def classify(model, images):
                        probs = model.predict(images, verbose=0)
                        return probs.argmax(axis=1), probs.max(axis=1)
                """,
                "app/cli.py": """
                    from tensorflow import keras
                    from models.classify import classify

                    def main(paths):
                        model = keras.models.load_model("receipts.keras")
                        labels = classify(model, load_images(paths))[0]
                        print(labels.tolist())
                """,
            }
        ),
        GOOD(
            {
                "fraud/evaluate.py": """
                    from dataclasses import dataclass
                    from sklearn.metrics import precision_score, roc_auc_score

                    @dataclass(frozen=True)
                    class Scores:
                        auc: float
                        precision: float

                    def evaluate(model, X, y) -> Scores:
                        proba = model.predict_proba(X)[:, 1]
                        return Scores(roc_auc_score(y, proba), precision_score(y, proba > 0.5))
                """,
                "fraud/report.py": """
                    from fraud.evaluate import evaluate

                    def summary(model, X, y):
                        scores = evaluate(model, X, y)
                        return f"AUC {scores.auc:.3f}"
                """,
            }
        ),
        GOOD(
            {
                "fraud/data.py": """
                    import pandas as pd
                    from sklearn.model_selection import train_test_split

                    def split(df: pd.DataFrame):
                        train, test = train_test_split(df, test_size=0.2, random_state=0)
                        return train.drop(columns="y"), test.drop(columns="y"), train.y, test.y
                """,
                "fraud/train.py": """
                    from fraud.data import split

                    def run(df):
                        X_train, X_test, y_train, y_test = split(df)
                        return X_train.shape, X_test.shape
                """,
            }
        ),
        GOOD(
            {
                "fraud/scoring.py": """
                    def score_batch(model, batch):
                        proba = model.predict_proba(batch)[:, 1]
                        return proba, proba > 0.8
                """,
                "fraud/service.py": """
                    from fraud.scoring import score_batch

                    def handle(model, batch):
                        proba, flagged = score_batch(model, batch)
                        return flagged.sum()
                """,
                "fraud/local_use.py": """
                    def summarise(model, X):
                        out = _scores(model, X)
                        return out["proba"].mean()

                    def _scores(model, X):
                        proba = model.predict_proba(X)[:, 1]
                        return {"proba": proba, "n": len(X)}
                """,
            }
        ),
    )

    @classmethod
    def file_facts(cls, context: FileContext) -> Any:
        text = context.text
        if "[" not in text and "," not in text:
            return None
        return collect(context)

    def check(self) -> None:
        graph = self.graph
        model_returns: dict[tuple[str, str], list[Any]] = {}
        for facts in graph.modules():
            data = facts.extra.get(FACTS_KEY)
            if not data or not data.get("producers"):
                continue
            lines = {d.qualname: d.line for d in facts.definitions}
            for qualname, (shapes, calls_model) in data["producers"].items():
                tokens = facts.returns.get(qualname, ())
                if calls_model or any(t.startswith("m:") for t in tokens):
                    model_returns[(facts.path, qualname)] = [shapes, lines.get(qualname, 1)]
        if not model_returns:
            return
        uses: dict[tuple[str, str], list[Location]] = {}
        for facts in graph.modules():
            data = facts.extra.get(FACTS_KEY)
            if not data or not data.get("consumers") or is_test_path(facts.path):
                continue
            for callee, how, scope in data["consumers"]:
                target = self._resolve(facts, callee)
                if target is None or target not in model_returns or target[0] == facts.path:
                    continue
                line = next(
                    (c.line for c in facts.calls if c.callee == callee and c.scope == scope), 1
                )
                uses.setdefault(target, []).append(
                    Location(facts.path, line, message=f"`{callee}(...)` {how} here")
                )
        for (path, qualname), consumers in sorted(uses.items()):
            shapes, line = model_returns[(path, qualname)]
            kinds = " or ".join(
                f"a {s.split(':')[1]}-tuple" if s.startswith("tuple") else "a dict" for s in shapes
            )
            places = ", ".join(sorted({graph.where(c.path, c.line) for c in consumers}))
            self.report(
                path,
                line,
                f"`{qualname}` returns model outputs as {kinds} that other modules take apart "
                f"by position or key ({places}): the layout is a contract nobody declared; "
                "return a dataclass or NamedTuple with named fields",
                key=f"pod:{qualname}",
                size=len(consumers),
                related=consumers,
            )

    def _resolve(self, facts: Any, callee: str) -> tuple[str, str] | None:
        """(path, qualname) of the project function ``callee`` (as written) names."""
        head, _, rest = callee.partition(".")
        for imported in facts.imports:
            if imported.name is not None and (imported.alias or imported.name) == head:
                dotted = f"{imported.module}.{imported.name}" + (f".{rest}" if rest else "")
            elif imported.name is None and (imported.alias or imported.module) == head:
                dotted = imported.module + (f".{rest}" if rest else "")
            elif (
                imported.name is None
                and imported.alias is None
                and callee.startswith(imported.module + ".")
            ):
                dotted = callee
            else:
                continue
            split = self.graph.split_qualname(dotted, facts.module)
            if split is not None:
                return split[0].path, split[1]
        return None
