"""MLD212: functions, classes and methods that nothing in the project refers to."""

from __future__ import annotations

import re
from dataclasses import dataclass

from mldebt.facts.model import ModuleFacts
from mldebt.findings import Severity
from mldebt.graph import ProjectGraph
from mldebt.rule import BAD, GOOD
from mldebt_rules._usage import (
    KNOWN_BASES,
    ClassIndex,
    Definition,
    ProjectUsage,
    Usage,
    UsageRule,
    is_test_path,
    is_vendored,
    project_usage,
    public_api,
)
from mldebt_rules.orphan_modules import find_orphans
from mldebt_rules.versioned_copies import find_copies

#: Decorators that neither register nor expose the function: it still needs a caller.
TRANSPARENT_DECORATORS = frozenset(
    {
        "staticmethod",
        "classmethod",
        "functools.wraps",
        "functools.lru_cache",
        "functools.cache",
        "lru_cache",
        "cache",
        "contextlib.contextmanager",
        "contextmanager",
        "contextlib.asynccontextmanager",
        "asynccontextmanager",
        "torch.no_grad",
        "torch.inference_mode",
        "torch.enable_grad",
        "torch.compile",
        "torch.jit.script",
        "tf.function",
        "tensorflow.function",
        "jax.jit",
        "numba.jit",
        "numba.njit",
        "jit",
        "njit",
        "dataclass",
        "dataclasses.dataclass",
        "typing.final",
        "final",
    }
)

#: Methods frameworks call for you (PyTorch, Lightning, Keras, scikit-learn, Hugging Face,
#: unittest, threading, logging, json, argparse, ast, http.server, ...).
HOOKS = frozenset(
    {
        # PyTorch / Lightning
        "forward",
        "extra_repr",
        "reset_parameters",
        "training_step",
        "validation_step",
        "test_step",
        "predict_step",
        "configure_optimizers",
        "configure_callbacks",
        "configure_model",
        "configure_sharded_model",
        "prepare_data",
        "setup",
        "teardown",
        "train_dataloader",
        "val_dataloader",
        "test_dataloader",
        "predict_dataloader",
        "training_epoch_end",
        "validation_epoch_end",
        "test_epoch_end",
        "backward",
        "optimizer_step",
        "optimizer_zero_grad",
        "lr_scheduler_step",
        "state_dict",
        "load_state_dict",
        "collate_fn",
        "worker_init_fn",
        "step",
        "zero_grad",
        "get_lr",
        "closure",
        # Keras / TensorFlow
        "call",
        "build",
        "get_config",
        "from_config",
        "compute_output_shape",
        "compute_output_signature",
        "compute_mask",
        "train_step",
        "compile",
        "result",
        "update_state",
        "reset_state",
        "reset_states",
        # scikit-learn and friends
        "fit",
        "transform",
        "fit_transform",
        "inverse_transform",
        "predict",
        "predict_proba",
        "predict_log_proba",
        "decision_function",
        "score",
        "score_samples",
        "partial_fit",
        "fit_predict",
        "get_params",
        "set_params",
        "get_feature_names_out",
        "split",
        "get_n_splits",
        "get_metadata_routing",
        # Hugging Face
        "compute_loss",
        "prediction_step",
        "evaluate",
        "create_optimizer",
        "create_scheduler",
        "get_input_embeddings",
        "set_input_embeddings",
        "get_output_embeddings",
        "set_output_embeddings",
        "prepare_inputs_for_generation",
        "tie_weights",
        # the standard library
        "run",
        "emit",
        "format",
        "filter",
        "default",
        "handle",
        "close",
        "flush",
        "write",
        "read",
        "setUp",
        "tearDown",
        "setUpClass",
        "tearDownClass",
        "setUpModule",
        "tearDownModule",
        "addCleanup",
        "runTest",
        "generic_visit",
        "parse_args",
        "get",
        "post",
        "put",
        "patch",
        "delete",
        "head",
        "options",
        "dispatch",
        "save",
        "load",
        "keys",
        "items",
        "values",
    }
)
HOOK_PREFIXES = (
    "on_",
    "do_",
    "visit_",
    "leave_",
    "handle_",
    "test_",
    "test",
    "setup_",
    "teardown_",
    "pytest_",
    "_jupyter_",
    "load_ipython_extension",
)


@dataclass(frozen=True)
class Unused:
    facts: ModuleFacts
    definition: Definition


def find_unused(graph: ProjectGraph, project: ProjectUsage) -> list[Unused]:
    """Definitions whose name no module, notebook, string or project file mentions."""
    names: set[str] = project.files.identifiers(("run", "config", "docs", "code"))
    prefixes: set[str] = set()
    for usage in project.modules.values():
        if usage is not None:
            names |= usage.uses | usage.strings
            prefixes |= {p for p in usage.prefixes if not p.endswith(".")}
    if any(usage is None for usage in project.modules.values()):
        # a module that cannot be read may use anything: fall back on its recorded names
        for facts in graph.modules():
            if project.usage(facts) is None:
                names.update(facts.references)
    dynamic = _dynamically_reached(graph, project)
    skipped = {o.facts.path for o in find_orphans(graph, project)}
    skipped |= {c.copy.path for c in find_copies(graph, project)}
    classes = ClassIndex(graph, project)
    found: list[Unused] = []
    for facts in graph.modules():
        usage = project.usage(facts)
        if usage is None or facts.path in skipped or is_test_path(facts.path):
            continue
        if is_vendored(facts.path):
            continue
        if facts.path.rsplit("/", 1)[-1] in ("conftest.py", "setup.py", "noxfile.py"):
            continue
        for definition in usage.definitions:
            if definition.name in names or any(definition.name.startswith(p) for p in prefixes):
                continue
            if _kept(graph, project, classes, facts, usage, definition):
                continue
            owner = definition.qualname.rpartition(".")[0]
            if facts.path in dynamic or f"{facts.path}:{owner}" in dynamic:
                continue  # getattr(module, name) / getattr(self, name) may reach it
            found.append(Unused(facts, definition))
    return found


def _dynamically_reached(graph: ProjectGraph, project: ProjectUsage) -> set[str]:
    """Modules (by path) and classes (``path:qualname``) whose attributes code looks up by
    computed names: ``getattr(models, name)``, ``globals()[name]``, ``getattr(self, name)``."""
    by_suffix: dict[str, list[ModuleFacts]] = {}
    for facts in graph.modules():
        parts = facts.module.split(".")
        for i in range(len(parts)):
            by_suffix.setdefault(".".join(parts[i:]), []).append(facts)
    reached: set[str] = set()
    for facts in graph.modules():
        usage = project.usage(facts)
        if usage is None:
            continue
        for receiver in usage.dynamic_getattr:
            if receiver == "":
                reached.add(facts.path)
            elif receiver.startswith("self:"):
                reached.add(f"{facts.path}:{receiver[5:]}")
            else:
                reached.update(target.path for target in by_suffix.get(receiver, []))
    return reached


def _kept(
    graph: ProjectGraph,
    project: ProjectUsage,
    classes: ClassIndex,
    facts: ModuleFacts,
    usage: Usage,
    definition: Definition,
) -> bool:
    """Reasons to keep a definition nothing names: it is reached some other way."""
    name = definition.name
    exports = usage.exports if usage.exports is not None else facts.dunder_all
    if re.fullmatch(r"__\w+__", name) or name == "_" or definition.conditional:
        return True
    if exports is not None and name in exports:
        return True
    if any(d not in TRANSPARENT_DECORATORS for d in definition.decorators):
        return True  # registered, exposed or wrapped: routes, commands, fixtures, properties
    if name in HOOKS or name.startswith(HOOK_PREFIXES):
        return True
    owner = definition.qualname.rpartition(".")[0]
    if definition.kind == "method":
        cls = next((d for d in usage.definitions if d.qualname == owner), None)
        if (
            cls is None
            or cls.name.startswith("__")
            or (cls.decorators and any(d not in TRANSPARENT_DECORATORS for d in cls.decorators))
        ):
            return True
        _, outside = classes.lineage(facts, cls)
        if any(base not in KNOWN_BASES for base in outside):
            return True  # a base from elsewhere may call any method (hooks, protocols, ...)
        if outside and name.startswith("_"):
            return True  # private hooks of a known framework (_init_weights, _apply, ...)
        if public_api(graph, project, facts.path, owner):
            return not name.startswith("_")
        return False
    return public_api(graph, project, facts.path, name)


def _describe(definition: Definition) -> str:
    kind = {"function": "function", "class": "class", "method": "method"}[definition.kind]
    return f"{kind} `{definition.qualname}`"


class UnusedDefinition(UsageRule):
    code = "MLD212"
    name = "unused-definition"
    category = "dead-experimental-code"
    severity = Severity.WARNING
    debt_minutes = 10.0
    debt_per_unit = 0.2
    tags = ("dead-code", "cross-file")
    summary = "A function, class or method that nothing in the project calls, imports or names."
    what = (
        "Module-level functions and classes, and methods of module-level classes, whose name "
        "appears nowhere else in the project: not called, imported, passed, decorated, "
        'named in a string (`getattr(obj, "name")`, a registry key, a config-driven factory, '
        'an `f"on_{event}"` prefix), used in a notebook (magics included), or written in a '
        "Makefile, CI, configuration or documentation file. It stays quiet on what is reached "
        "some other way: names in `__all__`, dunder methods, definitions under a decorator "
        "that registers or exposes them (routes, CLI commands, fixtures, `register`, "
        "properties; `staticmethod`, `lru_cache`, `torch.no_grad` and the like do not count), "
        "framework hooks (`forward`, `fit`, `transform`, `predict`, `call`, `training_step`, "
        "`on_*` callbacks, `setUp`, `test_*`), methods of classes with a base from outside "
        "the project other than well-known ones (`nn.Module`, `BaseEstimator`, Keras `Layer`; "
        "their private methods are kept too), modules and classes whose attributes are looked "
        "up by computed names (`getattr(models, name)`, `getattr(self, name)`, `globals()`), "
        "fallbacks defined under `if` / `try`, tests, vendored code, and the public API of a "
        "library (the analysed folder is a package, or a top-level package declares "
        "`__all__` or re-exports its modules' names). Modules reported as orphaned (MLD213) "
        "or as versioned copies (MLD214) are left to those rules."
    )
    why = (
        "Sculley et al. (2015), section 6 'Dead experimental codepaths': experiment helpers "
        "left behind once the experiment is over are read, maintained and tested for nothing, "
        "and invite being called again by mistake."
    )
    limits = (
        "Matching is by name across the whole project, so a dead function that shares its "
        "name with anything used elsewhere is missed, and a function only called from other "
        "dead code is not reported until that code goes. Analyse the whole project: a name "
        "used only outside the analysed paths looks unused."
    )
    examples = (
        BAD(
            {
                "features.py": """
                import pandas as pd

                def add_ratios(df: pd.DataFrame) -> pd.DataFrame:
                    df["charges_per_month"] = df["total"] / df["tenure"].clip(lower=1)
                    return df

                def add_ratios_v1(df: pd.DataFrame) -> pd.DataFrame:
                    df["charges_per_month"] = df["total"] / df["tenure"]
                    return df
                """,
                "train.py": """
                import pandas as pd
                from features import add_ratios

                df = add_ratios(pd.read_csv("data/train.csv"))
                """,
            },
            expect=1,
        ),
        BAD(
            {
                "model.py": """
                import torch.nn as nn

                class Net(nn.Module):
                    def __init__(self):
                        super().__init__()
                        self.fc = nn.Linear(8, 1)

                    def forward(self, x):
                        return self.fc(x)

                    def plot_weights(self):
                        print(self.fc.weight)
                """,
                "train.py": """
                from model import Net

                net = Net()
                """,
            },
            expect=1,
        ),
        GOOD(
            {
                "app.py": """
                import click
                from flask import Flask

                app = Flask(__name__)

                @app.route("/predict")
                def predict_endpoint():
                    return "ok"

                @click.command()
                def cli():
                    pass

                class Scaler:
                    def fit(self, X):
                        return self

                    def __repr__(self):
                        return "Scaler()"

                LOSSES = {"focal": "focal_loss"}

                def focal_loss(x):
                    return x

                def build(name):
                    return globals()[LOSSES[name]]
                """,
                "run.py": """
                from app import Scaler, app, build

                build("focal")
                Scaler().fit([[1.0]])
                app.run()
                """,
            }
        ),
        BAD(
            {
                "helpers.py": """
                import matplotlib.pyplot as plt
                from sklearn.metrics import ConfusionMatrixDisplay

                def plot_confusion(y_true, y_pred):
                    ConfusionMatrixDisplay.from_predictions(y_true, y_pred)
                    plt.show()

                def plot_confusion_normalised_old(y_true, y_pred):
                    ConfusionMatrixDisplay.from_predictions(y_true, y_pred, normalize="true")
                    plt.savefig("confusion_old.png")
                """,
                "analysis.ipynb": """
                # %%
                from helpers import plot_confusion as show_cm

                # %%
                show_cm([0, 1, 1], [0, 1, 0])
                """,
            },
            expect=1,
        ),
        GOOD(
            {
                "configs/train.yaml": """
                loss: focal_loss
                """,
                "losses.py": """
                import torch.nn.functional as F

                def focal_loss(logits, target, gamma=2.0):
                    ce = F.cross_entropy(logits, target, reduction="none")
                    return ((1 - (-ce).exp()) ** gamma * ce).mean()

                def label_smoothing_loss(logits, target):
                    return F.cross_entropy(logits, target, label_smoothing=0.1)
                """,
                "train.py": """
                import yaml

                import losses

                cfg = yaml.safe_load(open("configs/train.yaml"))
                criterion = getattr(losses, cfg["loss"])
                """,
            }
        ),
        GOOD(
            {
                "module.py": """
                import pytorch_lightning as pl
                import torch

                class Classifier(pl.LightningModule):
                    def __init__(self, net):
                        super().__init__()
                        self.net = net

                    def training_step(self, batch, batch_idx):
                        x, y = batch
                        return torch.nn.functional.cross_entropy(self.net(x), y)

                    def configure_optimizers(self):
                        return torch.optim.Adam(self.parameters(), lr=1e-3)

                    def on_train_epoch_end(self):
                        self.log("epoch_done", 1.0)
                """,
                "train.py": """
                import pytorch_lightning as pl
                import torch
                from module import Classifier

                pl.Trainer(max_epochs=3).fit(Classifier(torch.nn.Linear(4, 2)))
                """,
            }
        ),
    )

    def check(self) -> None:
        project = project_usage(self.graph)
        for unused in find_unused(self.graph, project):
            definition = unused.definition
            lines = definition.end_line - definition.line + 1
            self.report(
                unused.facts.path,
                definition.line,
                f"{_describe(definition)} is never used: nothing in the project calls, "
                f"imports or names it ({lines} line{'s' if lines != 1 else ''} of dead code)",
                end_line=definition.end_line,
                key=f"{unused.facts.module}.{definition.qualname}",
                size=lines,
            )
