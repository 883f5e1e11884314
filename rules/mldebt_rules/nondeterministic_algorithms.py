"""MLD601: GPU kernels allowed to be non-deterministic — `cudnn.benchmark = True`, or torch
seeded in a file that never asks for deterministic algorithms."""

from __future__ import annotations

import re
from typing import Any

import libcst as cst

from mldebt.findings import Severity
from mldebt.resolve.kinds import argument, keyword
from mldebt.rule import BAD, GOOD, FileRule
from mldebt_rules._dataflow import mentions
from mldebt_rules._seeding import is_test_module, tracker_for

_BENCHMARK = "torch.backends.cudnn.benchmark"
_DETERMINISTIC = "torch.backends.cudnn.deterministic"
_USE_DETERMINISTIC = "torch.use_deterministic_algorithms"
_TORCH_SEEDS = frozenset(
    {
        "torch.manual_seed",
        "torch.random.manual_seed",
        "torch.cuda.manual_seed",
        "torch.cuda.manual_seed_all",
    }
)
# Calls that turn deterministic algorithms on, whatever their arguments.
_DETERMINISM_CALLS = frozenset(
    {
        "tensorflow.config.experimental.enable_op_determinism",
        "transformers.enable_full_determinism",
        "transformers.trainer_utils.enable_full_determinism",
        "monai.utils.set_determinism",
    }
)
_DETERMINISM_NAME = re.compile(r"determinis", re.IGNORECASE)


def _is(node: cst.BaseExpression | None, value: str) -> bool:
    return isinstance(node, cst.Name) and node.value == value


class NondeterministicAlgorithms(FileRule):
    code = "MLD601"
    name = "nondeterministic-algorithms"
    category = "reproducibility"
    severity = Severity.WARNING
    debt_minutes = 5.0
    tags = ("pytorch",)
    summary = "GPU kernels free to be non-deterministic: seeds alone do not repeat a run."
    what = (
        "`torch.backends.cudnn.benchmark = True` (cuDNN then picks its convolution algorithms "
        "by timing them, differently from run to run), `cudnn.deterministic = False` and "
        "`torch.use_deterministic_algorithms(False)`; and a file that seeds torch "
        "(`torch.manual_seed`, `torch.cuda.manual_seed_all`) but nowhere asks for "
        "deterministic algorithms (`torch.use_deterministic_algorithms(True)`, "
        "`cudnn.deterministic = True`, a `deterministic=True` argument such as Lightning's "
        "`Trainer(deterministic=True)`, `transformers.enable_full_determinism`, or a call of "
        "a function whose name says it makes the run deterministic): reported once per file, "
        "at its first torch seed."
    )
    why = (
        "Zhang et al. (CAIN 2022), *Deterministic Algorithm Option Not Used*: seeding fixes "
        "the random numbers, but many CUDA kernels (atomic adds, cuDNN's autotuned "
        "convolutions) still give different results on every run, so a seeded experiment "
        "does not repeat."
    )
    limits = (
        "The file is the unit: determinism switched on in another module the script imports "
        "is only seen through a call whose name mentions determinism. Whether the code runs on "
        "a GPU at all is not known. Test modules, main blocks that only exercise the "
        "classes of their module (self-tests), and seeds set inside a class's methods (a "
        "layer seeding its own random projections, workers agreeing on a seed: the "
        "component's draws, not the program's run) are not checked."
    )
    examples = (
        BAD(
            """
            import torch

            torch.manual_seed(0)
            torch.backends.cudnn.benchmark = True
            """,
            expect=2,
        ),
        BAD(
            """
            from torch.backends import cudnn

            def setup():
                cudnn.benchmark = True
            """,
            expect=1,
        ),
        BAD(
            """
            # %%
            import torch as T
            # %%
            T.manual_seed(42)
            T.cuda.manual_seed_all(42)
            model = build()
            """,
            path="finetune.ipynb",
            expect=1,
        ),
        GOOD(
            """
            import torch

            def set_seed(seed):
                torch.manual_seed(seed)
                torch.backends.cudnn.deterministic = True
                torch.backends.cudnn.benchmark = False
            """
        ),
        GOOD(
            """
            import torch

            torch.manual_seed(0)
            torch.use_deterministic_algorithms(True, warn_only=True)
            """
        ),
        GOOD(
            """
            # %%
            import lightning as L
            import torch
            # %%
            torch.manual_seed(7)
            trainer = L.Trainer(max_epochs=3, deterministic=True)
            """,
            path="train.ipynb",
        ),
        GOOD(
            """
            import torch
            from torch import nn

            class LSHAttention(nn.Module):
                def __init__(self, hash_seed=None):
                    super().__init__()
                    self.hash_seed = hash_seed

                def hash_vectors(self, vectors, n_buckets):
                    if self.hash_seed is not None:
                        torch.manual_seed(self.hash_seed)
                    rotations = torch.randn(vectors.shape[-1], n_buckets // 2)
                    rotated = vectors @ rotations
                    return torch.cat([rotated, -rotated], dim=-1).argmax(dim=-1)
            """
        ),
    )

    def __init__(self, context: Any, options: Any) -> None:
        super().__init__(context, options)
        self.skip = is_test_module(context.path) or not mentions(
            context.text, ("manual_seed", "cudnn", "use_deterministic_algorithms")
        )
        self.seeds: list[tuple[cst.Call, bool]] = []  # torch seeds, in the main block or not
        self.classes = 0  # depth of class bodies around the current node
        self.deterministic = False
        self.tracker = tracker_for(context)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.tracker.on_definition(node, self.context.scope.qualname)

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.tracker.on_definition(node, self.context.scope.qualname)
        self.classes += 1

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self.classes -= 1

    def visit_If(self, node: cst.If) -> None:
        self.tracker.on_if(node)

    def leave_If(self, original_node: cst.If) -> None:
        self.tracker.leave_if(original_node)

    def visit_Assign(self, node: cst.Assign) -> None:
        if self.skip:
            return
        resolver = self.context.resolver
        for target in node.targets:
            name = resolver.qualname(target.target)
            if name == _BENCHMARK and _is(node.value, "True"):
                self.report(
                    node,
                    "`cudnn.benchmark = True` lets cuDNN choose convolution algorithms by timing "
                    "them: results differ from run to run whatever the seed",
                )
            elif name == _DETERMINISTIC:
                if _is(node.value, "False"):
                    self.report(
                        node, "`cudnn.deterministic = False` turns off deterministic kernels"
                    )
                else:
                    self.deterministic = True

    def visit_Call(self, node: cst.Call) -> None:
        if self.skip:
            return
        self.tracker.on_call(node)
        qualname = self.context.resolver.call_name(node)
        if _is(keyword(node, "deterministic"), "True"):
            self.deterministic = True
        if qualname is None:
            return
        if qualname == _USE_DETERMINISTIC:
            if _is(argument(node, 0, "mode"), "False"):
                self.report(
                    node,
                    "`use_deterministic_algorithms(False)` allows non-deterministic kernels",
                )
            else:
                self.deterministic = True
        elif qualname in _DETERMINISM_CALLS:
            self.deterministic = True
        elif qualname in _TORCH_SEEDS and not self.classes:
            # A method seeding torch is a component fixing its own draws (a layer's random
            # projections, ranks agreeing on a sample), not the program's seed for a run.
            self.seeds.append((node, self.tracker.in_main))
        elif _DETERMINISM_NAME.search(qualname.rpartition(".")[2]):
            self.deterministic = True

    def leave_Module(self, original_node: cst.Module) -> None:
        if self.deterministic:
            return
        self_test = self.tracker.self_test()
        seeds = [node for node, in_main in self.seeds if not (in_main and self_test)]
        if seeds:
            self.report(
                seeds[0],
                "torch is seeded but deterministic algorithms are never asked for "
                "(`torch.use_deterministic_algorithms(True)` or `cudnn.deterministic = True`): "
                "GPU kernels can still make runs differ",
            )
