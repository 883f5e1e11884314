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
from mldebt.rule import BAD, GOOD, ProjectRule
from mldebt.traversal import positions

if TYPE_CHECKING:
    from mldebt.context import FileContext

FACTS_KEY = "plain_old_data"
#: Calls whose result is a model's output or a metric of one.
_MODEL_OUTPUT = re.compile(
    r"\.(?:predict|predict_proba|predict_log_proba|decision_function|evaluate|generate)\("
    r"|\b(?:\w+_score|log_loss|\w+_error|classification_report|confusion_matrix)\("
)
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
            key = element.key
            if not isinstance(key, cst.SimpleString) or not isinstance(key.evaluated_value, str):
                return None
            keys.append(key.evaluated_value)
        return "dict:" + ",".join(keys)
    return None


def _index(node: cst.Subscript) -> str | None:
    """``0`` or ``'auc'`` when ``node`` indexes by one literal position or key."""
    if len(node.slice) != 1 or not isinstance(node.slice[0].slice, cst.Index):
        return None
    value = node.slice[0].slice.value
    if isinstance(value, cst.Integer):
        return value.value
    if isinstance(value, cst.SimpleString) and isinstance(value.evaluated_value, str):
        return repr(value.evaluated_value)
    return None


def collect(context: FileContext) -> dict[str, Any] | None:
    """Functions that return raw records (``producers``: qualname -> [shapes, line]) and
    calls whose result is unpacked or indexed (``consumers``: [callee as written, how, line])."""
    module = context.module
    producers: dict[str, list[Any]] = {}
    consumers: list[tuple[str, str, cst.CSTNode]] = []
    named_results: dict[str, tuple[str, cst.CSTNode]] = {}
    defs: list[tuple[str, cst.FunctionDef]] = []

    def scan(body: Any, prefix: str) -> None:
        for statement in _statements(body):
            if isinstance(statement, cst.FunctionDef):
                qualname = prefix + statement.name.value
                defs.append((qualname, statement))
                scan(statement.body, qualname + ".")
            elif isinstance(statement, cst.ClassDef):
                scan(statement.body, prefix + statement.name.value + ".")
            for small in _small(statement):
                if isinstance(small, cst.Assign):
                    _consumer(small.targets, small.value)
                elif isinstance(small, (cst.AnnAssign, cst.Return)) and small.value is not None:
                    _consumer((), small.value)

    def _consumer(targets: Any, value: cst.BaseExpression) -> None:
        if isinstance(value, cst.Subscript) and isinstance(value.value, cst.Call):
            how = _index(value)
            callee = get_full_name_for_node(value.value.func)
            if how is not None and callee:
                consumers.append((callee, f"[{how}]", value))
            return
        if not isinstance(value, cst.Call):
            return
        callee = get_full_name_for_node(value.func)
        if not callee:
            return
        for target in targets:
            shape = target.target
            if isinstance(shape, (cst.Tuple, cst.List)) and len(shape.elements) >= MIN_UNPACKED:
                consumers.append((callee, f"unpacked into {len(shape.elements)} names", value))
            elif isinstance(shape, cst.Name):
                named_results[shape.value] = (callee, value)

    scan(module, "")
    for qualname, function in defs:
        shapes = []
        for statement in _statements(function.body):
            for small in _small(statement):
                if isinstance(small, cst.Return) and small.value is not None:
                    shape = _shape(small.value)
                    if shape is not None:
                        shapes.append(shape)
        if shapes:
            producers[qualname] = [sorted(set(shapes)), function]
    if named_results:
        _indexed_names(context, named_results, consumers)
    if not producers and not consumers:
        return None
    nodes = [p[1] for p in producers.values()] + [c[2] for c in consumers]
    spans = positions(module, nodes)
    lines = context.lines
    return {
        "producers": {
            q: [
                s,
                spans[f][0],
                bool(_MODEL_OUTPUT.search("\n".join(lines[spans[f][0] - 1 : spans[f][2]]))),
            ]
            for q, (s, f) in producers.items()
            if f in spans
        },
        "consumers": [[c, how, spans[n][0]] for c, how, n in consumers if n in spans],
    }


def _indexed_names(
    context: FileContext,
    named: dict[str, tuple[str, cst.CSTNode]],
    consumers: list[tuple[str, str, cst.CSTNode]],
) -> None:
    """``res = f(...)`` followed by ``res[0]`` or ``res["auc"]`` somewhere in the file (a text
    search: cheap, and the project rule asks for the callee to be a producer as well)."""
    text = context.text
    for name, (callee, node) in named.items():
        if f"{name}[" not in text:
            continue
        pattern = re.compile(rf"(?<![\w.]){re.escape(name)}\[\s*(\d+|'[^'\n]*'|\"[^\"\n]*\")\s*\]")
        found = sorted({m.group(1) for m in pattern.finditer(text)})
        if found:
            consumers.append((callee, "indexed " + ", ".join(f"[{f}]" for f in found), node))


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
            for qualname, (shapes, line, calls_model) in data["producers"].items():
                tokens = facts.returns.get(qualname, ())
                if calls_model or any(t.startswith(("m:", "mp:")) for t in tokens):
                    model_returns[(facts.path, qualname)] = [shapes, line]
        if not model_returns:
            return
        uses: dict[tuple[str, str], list[Location]] = {}
        for facts in graph.modules():
            data = facts.extra.get(FACTS_KEY)
            if not data or not data.get("consumers") or is_test_path(facts.path):
                continue
            for callee, how, line in data["consumers"]:
                target = self._resolve(facts, callee)
                if target is None or target not in model_returns or target[0] == facts.path:
                    continue
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
