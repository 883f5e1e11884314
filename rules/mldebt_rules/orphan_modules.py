"""MLD213: modules that nothing imports and nothing runs."""

from __future__ import annotations

import re
from dataclasses import dataclass

from mldebt.facts.model import ModuleFacts
from mldebt.findings import Severity
from mldebt.graph import ProjectGraph
from mldebt.rule import BAD, GOOD
from mldebt_rules._usage import (
    ProjectUsage,
    UsageRule,
    imported_paths,
    in_package,
    is_library,
    is_test_path,
    is_vendored,
    mentioned,
    project_usage,
)
from mldebt_rules.versioned_copies import find_copies

#: Files run or loaded by tools rather than imported by the project's code.
TOOL_FILES = frozenset(
    {
        "__init__.py",
        "__main__.py",
        "setup.py",
        "conftest.py",
        "noxfile.py",
        "fabfile.py",
        "tasks.py",
        "dodo.py",
        "manage.py",
        "wsgi.py",
        "asgi.py",
        "conf.py",
        "settings.py",
        "gunicorn.conf.py",
        "gunicorn_conf.py",
        "version.py",
        "_version.py",
        "__version__.py",
        "__about__.py",
        "pipeline_registry.py",
        "hooks.py",
        "celeryconfig.py",
    }
)
TOOL_FOLDERS = frozenset({"migrations", "alembic", "site_scons", "hooks", "dags", "plugins"})


@dataclass(frozen=True)
class Orphan:
    facts: ModuleFacts
    definitions: tuple[str, ...]


def find_orphans(graph: ProjectGraph, project: ProjectUsage) -> list[Orphan]:
    """Library-like modules (definitions only: no main block, no top-level statements that
    run anything) that no module imports, no string names and no project file mentions."""
    if "orphans" not in project.memo:
        project.memo["orphans"] = _find_orphans(graph, project)
    found: list[Orphan] = project.memo["orphans"]
    return found


def _find_orphans(graph: ProjectGraph, project: ProjectUsage) -> list[Orphan]:
    imported = imported_paths(graph, project)
    copies = {c.copy.path for c in find_copies(graph, project)}
    library = is_library(graph, project)
    texts = list(project.files.texts(("run", "config", "code")))
    code = list(project.files.texts(("code", "docs")))
    orphans: list[Orphan] = []
    for facts in graph.modules():
        usage = project.usage(facts)
        if (
            usage is None
            or facts.notebook
            or facts.path in imported
            or facts.path in copies
            or usage.main_guard
            or usage.top_level_code
            or _tool_file(facts.path)
            or is_test_path(facts.path)
            or is_vendored(facts.path)
        ):
            continue
        names = tuple(d.name for d in usage.definitions if d.kind in ("function", "class"))
        if not names:
            continue
        if library and _public_module(graph, facts.path):
            continue  # a library's public module is there to be imported by its users
        if mentioned(facts, texts) or _imported_by_text(facts, code):
            continue
        orphans.append(Orphan(facts, names))
    return orphans


def _imported_by_text(facts: ModuleFacts, texts: list[str]) -> bool:
    """Whether code the analysis could not parse, or documentation showing how to use it,
    imports the module (``import helpers``, ``from .helpers import x``, ``from pkg import
    helpers``)."""
    if not texts:
        return False
    last = re.escape(facts.module.rpartition(".")[2])
    regex = re.compile(
        rf"^\s*(?:from\s+[\w.]*\b{last}\s+import\b|import\s+(?:[\w.]+\.)?{last}\b"
        rf"|from\s+[\w.]+\s+import\s+(?:\(?[\w\s,]*\b){last}\b)",
        re.M,
    )
    return any(regex.search(text) for text in texts)


def _tool_file(path: str) -> bool:
    parts = path.split("/")
    name = parts[-1]
    return (
        name in TOOL_FILES
        or name.endswith(("_pb2.py", "_pb2_grpc.py"))
        or any(p in TOOL_FOLDERS for p in parts[:-1])
    )


def _public_module(graph: ProjectGraph, path: str) -> bool:
    parts = path.removesuffix(".py").split("/")
    return in_package(graph, path) and not any(p.startswith("_") for p in parts)


def _listing(names: tuple[str, ...], limit: int = 4) -> str:
    shown = ", ".join(f"`{n}`" for n in names[:limit])
    more = len(names) - limit
    return f"{shown} and {more} more" if more > 0 else shown


class OrphanModule(UsageRule):
    code = "MLD213"
    name = "orphan-module"
    category = "dead-experimental-code"
    severity = Severity.WARNING
    debt_minutes = 15.0
    tags = ("dead-code", "cross-file")
    summary = "A module that no code imports and nothing runs: dead code kept in the tree."
    what = (
        "Python modules that hold only definitions (functions, classes, constants) — no "
        '`if __name__ == "__main__":` block and no top-level statements that run anything — '
        "and that no module or notebook of the project imports, no string names "
        '(`importlib.import_module("pkg.mod")`, entry points, `f"models.{name}"` '
        "factories), and no Makefile, `dvc.yaml`, shell script, CI workflow, configuration "
        "file mentions. Tests, package `__init__` files, `setup.py`, `conftest.py`, "
        "`noxfile.py`, Sphinx `conf.py`, migrations and notebooks are never reported; in a "
        "library (the analysed folder is a package, or a top-level package declares `__all__` "
        "or re-exports its modules' names) only private "
        "modules (`_name.py`) are, since the public ones are there for the library's users. "
        "Imports are matched loosely (a script's `import helpers` finds `pipeline/helpers.py`)."
    )
    why = (
        "Sculley et al. (2015), section 6 'Dead experimental codepaths': helper modules of "
        "abandoned experiments stay in the tree, get read, reviewed and kept compiling, and "
        "mislead whoever looks for the code that really runs."
    )
    limits = (
        "A module loaded in a way no file of the project spells out (a path built at run "
        "time, a plugin loaded by a tool configured outside the repository) looks orphaned: "
        "suppress the finding in that module with `# mldebt: ignore-file[MLD213]`. "
        "Analyse the whole project: modules outside the analysed paths are not seen."
    )
    examples = (
        BAD(
            {
                "train.py": """
                import torch
                from models import Net

                model = Net()
                torch.save(model.state_dict(), "model.pt")
                """,
                "models.py": """
                import torch.nn as nn

                class Net(nn.Module):
                    def __init__(self):
                        super().__init__()
                        self.fc = nn.Linear(8, 1)
                """,
                "losses.py": """
                import torch

                def focal_loss(logits, target, gamma=2.0):
                    p = torch.sigmoid(logits)
                    return -((1 - p) ** gamma * target * torch.log(p)).mean()
                """,
            },
            expect=1,
        ),
        GOOD(
            {
                "train.py": """
                import importlib

                module = importlib.import_module("losses")
                """,
                "losses.py": """
                def focal_loss(logits, target, gamma=2.0):
                    return logits
                """,
                "evaluate.py": """
                def main():
                    print("evaluating")

                if __name__ == "__main__":
                    main()
                """,
                "tests/test_losses.py": """
                def test_focal():
                    assert True
                """,
                "Makefile": """
                report:
                \tpython -m report
                """,
                "report.py": """
                def build():
                    return "report"
                """,
            }
        ),
        BAD(
            {
                "eda.ipynb": """
                # %%
                import pandas as pd
                from features import add_lags

                # %%
                sales = add_lags(pd.read_csv("data/sales.csv"))
                """,
                "features.py": """
                def add_lags(df, lags=(1, 7)):
                    for lag in lags:
                        df[f"lag_{lag}"] = df.groupby("store")["units"].shift(lag)
                    return df
                """,
                "viz.py": """
                import matplotlib.pyplot as plt

                def plot_store(df, store):
                    df[df.store == store].plot(x="date", y="units")
                    plt.show()
                """,
            },
            expect=1,
        ),
        BAD(
            {
                "src/train.py": """
                import torch
                from data import make_loader
                from model import ResNet

                net = ResNet()
                for x, y in make_loader("data/train"):
                    net(x)
                torch.save(net.state_dict(), "resnet.pt")
                """,
                "src/data.py": """
                from torch.utils.data import DataLoader
                from torchvision.datasets import ImageFolder

                def make_loader(root):
                    return DataLoader(ImageFolder(root), batch_size=64)
                """,
                "src/model.py": """
                import torch.nn as nn

                class ResNet(nn.Module):
                    pass
                """,
                "src/cutmix_experiment.py": """
                import numpy as np
                import torch

                def cutmix(x, y, alpha=1.0):
                    lam = np.random.beta(alpha, alpha)
                    index = torch.randperm(x.size(0))
                    return lam * x + (1 - lam) * x[index], y, y[index], lam
                """,
            },
            expect=1,
        ),
        GOOD(
            {
                "train.py": """
                import importlib
                import sys

                arch = sys.argv[1]
                build = importlib.import_module(f"models.{arch}").build
                """,
                "models/resnet.py": """
                def build():
                    return "resnet"
                """,
                "models/vit.py": """
                def build():
                    return "vit"
                """,
            }
        ),
        GOOD(
            {
                "train.py": """
                print("training")
                """,
                "scripts/run_all.sh": """
                #!/bin/sh
                python -m tools.export_onnx --checkpoint best.pt
                """,
                "tools/export_onnx.py": """
                def export(checkpoint):
                    return checkpoint
                """,
                "dvc.yaml": """
                stages:
                  evaluate:
                    cmd: python evaluate.py
                """,
                "evaluate.py": """
                def evaluate():
                    return 0.0
                """,
            }
        ),
    )

    def check(self) -> None:
        project = project_usage(self.graph)
        for orphan in find_orphans(self.graph, project):
            facts = orphan.facts
            self.report(
                facts.path,
                1,
                f"{facts.path} is never imported and never run: no module imports it, it has "
                "no main block or top-level code, and no script, pipeline, CI or config file "
                f"names it (defines {_listing(orphan.definitions)})",
                key=facts.path,
            )
