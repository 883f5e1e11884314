"""MLD606: randomness in a module's functions that a program in another file runs unseeded.

MLD602-MLD604 judge one file at a time and leave a library module's functions to the program
that runs them. This rule follows that program: from each entry point (a script's main block
or module-level code, a notebook) through the project's call graph into other modules, it
reports the draws, splits and shuffles those rules kept aside when no seed of their generator
is in effect on the way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mldebt.context import FileContext
from mldebt.findings import Location, Severity
from mldebt.graph import ProjectGraph, is_test_path
from mldebt.rule import BAD, GOOD, ProjectRule
from mldebt.traversal import positions
from mldebt_rules._seeding import FAMILY_NAMES, SeedTracker

_MAX_DEPTH = 8


@dataclass(frozen=True)
class _Draw:
    rule: str
    scope: str
    family: str
    line: int
    column: int
    message: str


@dataclass(frozen=True)
class _Run:
    """How an entry point reaches a function: the entry, and the calls on the way."""

    entry: str
    steps: tuple[Location, ...]


class UnseededAcrossModules(ProjectRule):
    code = "MLD606"
    name = "unseeded-randomness-across-modules"
    category = "reproducibility"
    severity = Severity.WARNING
    debt_minutes = 10.0
    tags = ("general", "numpy", "pytorch", "scikit-learn", "cross-file")
    facts_key = "seeding"
    summary = "A program runs another module's random draws, splits or shuffles with no seed."
    what = (
        "A draw from a global random generator, a `train_test_split` / `sample` / estimator "
        "without `random_state`, or a shuffling `DataLoader` without a generator, inside a "
        "function of one module, run by a program in another file (a script's main block or "
        "module-level code, or a notebook) with no seed of that generator in effect on the "
        "way: the program seeds nothing before the call, and neither do the functions it "
        "goes through. Reported at the draw, with the entry point and every call on the way "
        "as related locations. These are the cases MLD602, MLD603 and MLD604 leave to the "
        "program that runs a library function."
    )
    why = (
        "Zhang et al. (CAIN 2022), 'Randomness Uncontrolled': without a seed, a rerun draws "
        "different numbers, so a result cannot be reproduced or a regression told from noise. "
        "Sculley et al. (NIPS 2015) count such hidden run-to-run differences among the costs "
        "of ML systems. The seed belongs to the program; the helper that draws is where the "
        "difference shows."
    )
    limits = (
        "It sees what MLD602, MLD603 and MLD604 judge, so it finds nothing when all three are "
        "off. Calls are followed through the project's own functions (not through callbacks "
        "or objects passed around); a seed anywhere in a function on the way counts for all "
        "of that function. Functions named like seeders (`seed_everything`, `set_seed`) are "
        "trusted to seed every generator. A module counts as a program when it has a main "
        "block, is a notebook, or no project module imports it and its module-level code "
        "calls project functions."
    )
    examples = (
        BAD(
            {
                "data.py": """
                    from sklearn.model_selection import train_test_split

                    def split(df):
                        return train_test_split(df, test_size=0.2)
                """,
                "train.py": """
                    import pandas as pd
                    from data import split

                    def main():
                        df = pd.read_csv("data/train.csv", dtype={"y": int})
                        train, valid = split(df)
                        return train, valid

                    if __name__ == "__main__":
                        main()
                """,
            },
            expect=1,
        ),
        BAD(
            {
                "augment.py": """
                    import numpy as np

                    def jitter(x):
                        return x + np.random.normal(0.0, 0.05, size=x.shape)
                """,
                "pipeline.py": """
                    from augment import jitter

                    def features(x):
                        return jitter(x) * 2
                """,
                "run.py": """
                    import numpy as np
                    from pipeline import features

                    X = np.load("data/X.npy")
                    np.save("data/X_aug.npy", features(X))
                """,
            },
            expect=1,
        ),
        BAD(
            {
                "loaders.py": """
                    from torch.utils.data import DataLoader

                    def make_loader(dataset):
                        return DataLoader(dataset, batch_size=32, shuffle=True)
                """,
                "train.ipynb": """
                    # %%
                    import numpy as np
                    from loaders import make_loader
                    np.random.seed(0)  # seeds numpy, not torch
                    # %%
                    loader = make_loader(dataset)
                """,
            },
            expect=1,
        ),
        GOOD(
            {
                "data.py": """
                    from sklearn.model_selection import train_test_split

                    def split(df):
                        return train_test_split(df, test_size=0.2)
                """,
                "train.py": """
                    import numpy as np
                    import pandas as pd
                    from data import split

                    def main():
                        np.random.seed(42)
                        df = pd.read_csv("data/train.csv", dtype={"y": int})
                        return split(df)

                    if __name__ == "__main__":
                        main()
                """,
            }
        ),
        GOOD(
            {
                "utils.py": """
                    import random
                    import numpy as np
                    import torch

                    def setup(seed):
                        random.seed(seed)
                        np.random.seed(seed)
                        torch.manual_seed(seed)
                """,
                "augment.py": """
                    import numpy as np

                    def jitter(x):
                        return x + np.random.normal(0.0, 0.05, size=x.shape)
                """,
                "run.py": """
                    import numpy as np
                    from augment import jitter
                    from utils import setup

                    setup(7)
                    X = np.load("data/X.npy")
                    np.save("data/X_aug.npy", jitter(X))
                """,
            }
        ),
        GOOD(
            {
                "loaders.py": """
                    from torch.utils.data import DataLoader

                    def make_loader(dataset):
                        return DataLoader(dataset, batch_size=32, shuffle=True)
                """,
                "tests/test_loaders.py": """
                    from loaders import make_loader

                    def test_batches():
                        assert len(list(make_loader(range(64)))) == 2
                """,
                "train.ipynb": """
                    # %%
                    import torch
                    from loaders import make_loader
                    torch.manual_seed(0)
                    # %%
                    loader = make_loader(dataset)
                """,
            }
        ),
    )

    @classmethod
    def file_facts(cls, context: FileContext) -> Any:
        """The judged code this file's functions hold but the file never runs, its seeds by
        scope (with lines), and whether it has a main block; None when nothing was judged."""
        tracker = context.__dict__.get("_mldebt_seed_tracker")
        if not isinstance(tracker, SeedTracker):
            return None
        seed_calls = [
            (scope, seed) for scope, seeds in tracker.seeds.items() for seed in seeds if seed.node
        ]
        nodes = [item.node for _, item in tracker.library] + [s.node for _, s in seed_calls]
        if not nodes:
            return {"main": tracker.has_main, "draws": [], "seeds": {}}
        spans = positions(context.module, [n for n in nodes if n is not None])
        draws = []
        for code, item in tracker.library:
            span = spans.get(item.node)
            if span is not None:
                line, column = span[0], span[1]
                draws.append([code, item.scope, item.family, line, column, item.message])
        seeds: dict[str, list[list[Any]]] = {}
        for scope, seed in seed_calls:
            span = spans.get(seed.node) if seed.node is not None else None
            if span is not None:
                seeds.setdefault(scope, []).append([span[0], sorted(seed.families)])
        return {"main": tracker.has_main, "draws": draws, "seeds": seeds}

    def check(self) -> None:
        graph = self.graph
        data: dict[str, dict[str, Any]] = {}
        for path, facts in graph.by_path.items():
            value = facts.extra.get(self.facts_key)
            if isinstance(value, dict):
                data[path] = value
        self._draws = {
            path: [_Draw(*draw) for draw in value.get("draws", [])] for path, value in data.items()
        }
        self._seeds = {path: value.get("seeds", {}) for path, value in data.items()}
        if not any(self._draws.values()):
            return
        self._found: dict[tuple[str, int, int, str], tuple[_Draw, _Run]] = {}
        for path in sorted(data):
            if self._is_program(graph, path, data[path]):
                self._walk(path, "", frozenset(), _Run(path, ()), 0, set())
        for (path, _, _, _), (draw, run) in sorted(self._found.items()):
            self._report(path, draw, run)

    def _is_program(self, graph: ProjectGraph, path: str, data: dict[str, Any]) -> bool:
        facts = graph.by_path[path]
        if is_test_path(path):
            return False
        if facts.notebook or data.get("main"):
            return True
        return not graph.importers(facts.module) and bool(graph.callees(path, ""))

    def _seeded_in(self, path: str, scope: str, before: int | None = None) -> frozenset[str]:
        """Families seeded in ``scope`` (before a line); for a class, in any of its methods."""
        found: set[str] = set()
        seeds = self._seeds.get(path, {})
        prefix = scope + "."
        for name, lines in seeds.items():
            if name == scope or (before is None and name.startswith(prefix)):
                for line, families in lines:
                    if before is None or line < before:
                        found.update(families)
        return frozenset(found)

    def _walk(
        self,
        path: str,
        scope: str,
        seeded: frozenset[str],
        run: _Run,
        depth: int,
        seen: set[tuple[str, str, frozenset[str]]],
    ) -> None:
        key = (path, scope, seeded)
        if key in seen or depth > _MAX_DEPTH:
            return
        seen.add(key)
        graph = self.graph
        scopes = [scope]
        if scope in graph.definitions(path):  # a class runs its methods; a function, its inner
            prefix = scope + "."
            scopes += sorted(d for d in graph.definitions(path) if d.startswith(prefix))
        if scope and path != run.entry:  # a file running its own code is MLD602-604's call
            for draw in self._draws.get(path, ()):
                if draw.scope in scopes and draw.family not in seeded:
                    self._found.setdefault((path, draw.line, draw.column, draw.rule), (draw, run))
        for inner in scopes:
            earlier: set[str] = set()
            for (callee_path, callee), line in graph.callees(path, inner):
                here = seeded | self._seeded_in(path, inner, line) | earlier
                step = Location(path, line, message=f"calls `{callee}()`")
                self._walk(
                    callee_path, callee, here, _Run(run.entry, (*run.steps, step)), depth + 1, seen
                )
                earlier |= self._seeded_in(callee_path, callee)  # a setup() that seeds

    def _report(self, path: str, draw: _Draw, run: _Run) -> None:
        head = draw.message.split(", and ")[0]
        generator = FAMILY_NAMES.get(draw.family, draw.family)
        entry = run.steps[0] if run.steps else None
        where = self.graph.where(entry.path, entry.line) if entry else run.entry
        message = (
            f"{head} in `{draw.scope}()`, which `{run.entry}` runs ({where}) with nothing "
            f"seeding {generator} first: a different result on every run. Seed it at the "
            "start of the program"
        )
        self.report(
            path,
            draw.line,
            message,
            column=draw.column,
            key=f"{draw.rule}|{draw.scope}|{draw.message}",
            related=list(run.steps),
        )
