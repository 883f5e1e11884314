"""MLD803 / MLD804: the prototype smell — code that only runs because of where it sits
(``sys.path`` edits) and production code that imports from notebooks and scratch folders."""

from __future__ import annotations

import re
from collections.abc import Sequence

import libcst as cst

from mldebt.findings import Location, Severity
from mldebt.graph import is_test_path
from mldebt.rule import BAD, GOOD, FileRule, ProjectRule
from mldebt_rules._arrays import TextGate

_PATH_CALLS = {
    "sys.path.append": "sys.path.append",
    "sys.path.insert": "sys.path.insert",
    "sys.path.extend": "sys.path.extend",
    "site.addsitedir": "site.addsitedir",
}
_SPELLED_PLACE = re.compile(r"[\"']|__file__|getcwd|\bcwd\(")
#: Folders whose code is prototype code by name.
PROTOTYPE_FOLDERS = frozenset(
    {
        "scratch", "scratches", "experiments", "experiment", "sandbox", "playground", "tmp",
        "temp", "old", "prototype", "prototypes", "drafts", "draft", "wip", "attic", "junk",
        "notebooks", "notebook", "exploration", "explorations", "poc", "spikes", "spike",
        "trash", "unused", "deprecated_experiments",
    }
)  # fmt: skip
_PROTOTYPE_STEM = re.compile(
    r"^(?:scratch|playground|sandbox|untitled|prototype|draft|wip|try|trial)(?:[_\-\d]|$)"
    r"|^(?:tmp|temp)(?:[_\-\d]|$)|[_\-](?:old|scratch|wip|tmp|draft|copy)\d*$",
    re.IGNORECASE,
)
#: Packages that import notebooks as modules.
NOTEBOOK_IMPORTERS = frozenset({"import_ipynb", "nbimporter", "ipynb", "importnb", "nbimport"})


def prototype_place(path: str) -> str | None:
    """Why ``path`` is prototype code by its place (``"the experiments/ folder"``), or None."""
    parts = path.split("/")
    for folder in parts[:-1]:
        if folder.lower() in PROTOTYPE_FOLDERS:
            return f"the {folder}/ folder"
    stem = parts[-1].rsplit(".", 1)[0]
    if _PROTOTYPE_STEM.search(stem):
        return f"a {stem} module"
    return None


def _exempt(path: str) -> bool:
    """Code that may set up its own path: tests, docs builds, setup scripts."""
    parts = path.split("/")
    return (
        is_test_path(path)
        or any(p in ("docs", "doc") for p in parts[:-1])
        or parts[-1] in ("conf.py", "setup.py", "noxfile.py", "tasks.py")
        or path.endswith(".ipynb")
    )


class SysPathManipulation(TextGate, FileRule):
    code = "MLD803"
    name = "sys-path-manipulation"
    category = "abstraction-debt"
    severity = Severity.WARNING
    debt_minutes = 15.0
    gates = (("sys", "site"), ("path", "addsitedir"))
    summary = "`sys.path.append(...)` and friends: imports that work only from one folder."
    what = (
        "Edits of the import path in code: `sys.path.append`, `sys.path.insert`, "
        "`sys.path.extend`, `sys.path += [...]`, `sys.path = [...] + sys.path` and "
        "`site.addsitedir`, at module level or, inside a function, to a place the code spells "
        "out (a string, `__file__`, the working directory): a library that puts a folder it is "
        "given on the path (a plugin or dynamic-modules cache) is not reported. Neither are "
        "tests (`conftest.py`, `tests/`), documentation builds (`docs/`, `conf.py`), "
        "`setup.py` and notebooks."
    )
    why = (
        "Sculley et al., §Abstraction Debt and the *prototype smell*: code that reaches into "
        "sibling folders through `sys.path` is a prototype that was never packaged. Which "
        "module an import finds depends on the working directory and on the order of the "
        "edits, two copies of a module can be imported at once, tools (type checkers, IDEs, "
        "this analyser) cannot follow the imports, and the code cannot be installed or reused. "
        "A package with a `pyproject.toml`, installed with `pip install -e .`, gives the same "
        "imports from anywhere."
    )
    limits = (
        "Only direct edits are found; `PYTHONPATH` set in shell scripts or `.env` files, and "
        "`importlib` loading a file by path, are not."
    )
    examples = (
        BAD(
            """
            import os
            import sys

            sys.path.append(os.path.join(os.path.dirname(__file__), "..", "features"))
            sys.path.insert(0, "../experiments")

            from build_features import add_velocity
            """,
            path="pipelines/score_transactions.py",
            expect=2,
        ),
        BAD(
            """
            import site
            import sys
            from pathlib import Path

            ROOT = Path(__file__).resolve().parents[1]
            sys.path += [str(ROOT / "src"), str(ROOT / "vendor")]
            site.addsitedir(str(ROOT / "lib"))
            """,
            path="serve/app.py",
            expect=2,
        ),
        BAD(
            """
            import sys as system

            def load_legacy_scorer():
                system.path.insert(0, "/opt/fraud/legacy")
                import scorer
                return scorer.Scorer()
            """,
            path="fraud/scoring.py",
        ),
        GOOD(
            """
            import sys
            from pathlib import Path

            sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
            """,
            path="tests/conftest.py",
        ),
        GOOD(
            """
            import os
            import sys

            sys.path.insert(0, os.path.abspath(".."))
            project = "fraud-detection"
            """,
            path="docs/conf.py",
        ),
        GOOD(
            """
            import sys

            from fraud.features import add_velocity

            print(sys.path)
            search_path = list(sys.path)
            search_path.append("/tmp/plugins")
            """,
            path="fraud/diagnostics.py",
        ),
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.exempt = _exempt(self.context.path)

    def visit_Call(self, node: cst.Call) -> None:
        if self.exempt or not isinstance(node.func, cst.Attribute):
            return
        if node.func.attr.value not in ("append", "insert", "extend", "addsitedir"):
            return
        name = self.context.resolver.call_name(node)
        if name in _PATH_CALLS and self._hard_wired(node.args):
            self._report(node)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        if not self.exempt and self._is_sys_path(node.target):
            self._report(node)

    def visit_Assign(self, node: cst.Assign) -> None:
        if not self.exempt and any(self._is_sys_path(t.target) for t in node.targets):
            self._report(node)

    def _hard_wired(self, args: Sequence[cst.Arg]) -> bool:
        """A path edit at module level, or one to a place spelled out in the code (a literal,
        ``__file__``, the working directory): not a library's own mechanism for a folder it is
        given (a plugin or modules cache, a test helper's argument)."""
        if not self.context.scope.qualname:
            return True
        code = " ".join(self.context.node_source(a.value) for a in args)
        return bool(_SPELLED_PLACE.search(code))

    def _is_sys_path(self, target: cst.BaseExpression) -> bool:
        return (
            isinstance(target, cst.Attribute)
            and target.attr.value == "path"
            and self.context.resolver.qualname(target) == "sys.path"
        )

    def _report(self, node: cst.CSTNode) -> None:
        code = self.context.node_source(node)
        shown = code if len(code) <= 70 else code[:67] + "..."
        self.report(
            node,
            f"`{shown}` edits the import path: the imports below work only from this "
            "checkout's layout and working directory; make the code a package "
            "(pyproject.toml, `pip install -e .`) and import it by name",
        )


class PrototypeImport(ProjectRule):
    code = "MLD804"
    name = "prototype-import"
    category = "abstraction-debt"
    severity = Severity.WARNING
    debt_minutes = 30.0
    summary = "Production code importing from notebooks, scratch or experiment folders."
    what = (
        "Imports, in production code, of project modules that are prototypes: notebooks "
        "(imported as modules through `import_ipynb`, `nbimporter`, `ipynb.fs` or `importnb`), "
        "modules under a scratch, experiments, sandbox, playground, tmp, old, drafts, wip or "
        "notebooks folder, and modules named like one (`scratch.py`, `untitled3.py`, "
        "`model_old.py`). Production code is every module that is not a test, not a notebook "
        "and not itself in such a place; an import of a notebook importer package is reported "
        "even when the notebook cannot be found. The finding names the imported module and "
        "points at it."
    )
    why = (
        "Sculley et al., §Abstraction Debt and the *prototype smell*: a prototype that "
        "production depends on stops being a prototype without anyone deciding so. Nobody "
        "reviews, tests or keeps stable the code in an experiments folder or a notebook, yet "
        "an edit there now changes what runs in production, and the experiment can no longer "
        "be deleted. Move what production needs into a tested module of the package."
    )
    limits = (
        "Only imports the project graph resolves to a project module are checked (and the "
        "notebook importer packages by name); code loaded with `importlib` from a path, or "
        "`exec(open(...).read())`, is not found. Folder names are matched as words: an "
        "`experiment_tracking/` package is not an experiments folder."
    )
    examples = (
        BAD(
            {
                "experiments/velocity_features.py": """
                    import pandas as pd

                    def add_velocity(df: pd.DataFrame) -> pd.DataFrame:
                        df["tx_per_hour"] = df.groupby("card_id")["amount"].transform("count")
                        return df
                """,
                "fraud/pipeline.py": """
                    import pandas as pd
                    from experiments.velocity_features import add_velocity

                    def build(path: str) -> pd.DataFrame:
                        return add_velocity(pd.read_parquet(path))
                """,
            }
        ),
        BAD(
            {
                "notebooks/feature_ideas.ipynb": """
                    # %%
                    import pandas as pd
                    # %%
                    def merchant_risk(df):
                        return df.groupby("merchant")["is_fraud"].mean()
                """,
                "fraud/train.py": """
                    import import_ipynb
                    from notebooks.feature_ideas import merchant_risk

                    def features(df):
                        return merchant_risk(df)
                """,
            },
            expect=2,
        ),
        BAD(
            {
                "scratch.py": """
                    def threshold_from_costs(fp_cost, fn_cost):
                        return fp_cost / (fp_cost + fn_cost)
                """,
                "serve/app.py": """
                    import scratch

                    THRESHOLD = scratch.threshold_from_costs(1.0, 20.0)
                """,
            }
        ),
        GOOD(
            {
                "fraud/features.py": """
                    def add_velocity(df):
                        df["tx_per_hour"] = df.groupby("card_id")["amount"].transform("count")
                        return df
                """,
                "experiments/try_velocity.py": """
                    import pandas as pd
                    from fraud.features import add_velocity

                    print(add_velocity(pd.read_parquet("sample.parquet")).describe())
                """,
            }
        ),
        GOOD(
            {
                "experiments/sweep.py": """
                    def best_params():
                        return {"max_depth": 6}
                """,
                "tests/test_sweep.py": """
                    from experiments.sweep import best_params

                    def test_best_params():
                        assert best_params()["max_depth"] == 6
                """,
                "notebooks/review.ipynb": """
                    # %%
                    from experiments.sweep import best_params
                    best_params()
                """,
            }
        ),
        GOOD(
            {
                "fraud/experiment_tracking.py": """
                    import mlflow

                    def log_run(params):
                        mlflow.log_params(params)
                """,
                "fraud/train.py": """
                    from fraud.experiment_tracking import log_run

                    log_run({"max_depth": 6})
                """,
            }
        ),
    )

    def check(self) -> None:
        for facts in self.graph.modules():
            path = facts.path
            if facts.notebook or is_test_path(path) or prototype_place(path) is not None:
                continue
            for imported in facts.imports:
                head = imported.module.partition(".")[0]
                if head in NOTEBOOK_IMPORTERS and imported.level == 0:
                    self.report(
                        path,
                        imported.line,
                        f"`{head}` imports notebooks as modules: production code then runs "
                        "whatever the notebook holds today; move the code it needs into a "
                        "module of the package",
                        key=f"importer:{head}",
                    )
                    continue
                target = self.graph.resolve_import(imported.module, imported.name, facts.module)
                if target is None or target.path == path:
                    continue
                if target.notebook:
                    why = "a notebook"
                else:
                    place = prototype_place(target.path)
                    if place is None:
                        continue
                    why = f"prototype code ({place})"
                spelled = imported.module + (
                    f".{imported.name}" if imported.name and imported.name != "*" else ""
                )
                self.report(
                    path,
                    imported.line,
                    f"production code imports `{spelled}` from {target.path}, {why}: an edit "
                    "there changes what runs here; move what is needed into a tested module",
                    key=f"import:{target.path}:{spelled}",
                    related=[Location(target.path, 1, message=f"{why}, imported here")],
                )
