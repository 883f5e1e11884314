"""MLD512: a new network built on every pass of a loop without freeing the previous one."""

from __future__ import annotations

import re
from typing import Any

import libcst as cst

from mldebt.findings import Severity
from mldebt.resolve import kinds
from mldebt.rule import BAD, GOOD
from mldebt_rules._torch_flow import (
    Event,
    FlowRule,
    Loop,
    Scope,
    call_method,
    model_like,
    text_of,
)

_FREE_CALLS = frozenset(
    {
        "gc.collect",
        "torch.cuda.empty_cache",
        "torch.cuda.ipc_collect",
        "torch.mps.empty_cache",
        "torch.xpu.empty_cache",
        "keras.backend.clear_session",
        "keras.utils.clear_session",
        "tensorflow.compat.v1.reset_default_graph",
        "tensorflow.reset_default_graph",
        "accelerate.utils.release_memory",
        "accelerate.utils.memory.release_memory",
    }
)
_FREE_METHODS = frozenset({"clear_session", "free_memory", "empty_cache", "release_memory"})
_FREE_NAMES = frozenset(name.rpartition(".")[2] for name in _FREE_CALLS)
# Methods that move a network to an accelerator (and return it).
_PLACEMENT = frozenset({"to", "cuda", "xpu", "mps", "to_empty"})
_PASS_THROUGH = _PLACEMENT | frozenset(
    {"cpu", "float", "half", "double", "bfloat16", "train", "eval", "requires_grad_"}
)
# Methods that store their argument somewhere that outlives the iteration.
_STORING = frozenset(
    {
        "append",
        "extend",
        "add",
        "insert",
        "put",
        "update",
        "setdefault",
        "set_submodule",
        "add_module",
        "register_module",
    }
)
# Single layers and parts of a network, not a network: replacing them one by one is surgery.
_PART = re.compile(r"module|layer|block|cell|head", re.IGNORECASE)
_BUILDER = re.compile(r"^(?:build|create|make|get|load|init|new|construct|instantiate)_?\w*$")


class MemoryNotFreed(FlowRule):
    code = "MLD512"
    name = "memory-not-freed"
    category = "ml-api-misuse"
    severity = Severity.WARNING
    status = "preview"
    debt_minutes = 10.0
    tags = ("pytorch", "tensorflow", "keras", "transformers")
    needles = ("torch", "keras", "tensorflow", "transformers")
    summary = (
        "A new network is built on every pass of a loop (hyper-parameter search, k-fold) and "
        "the previous one is never released."
    )
    what = (
        "An assignment `name = ...` inside a loop that builds a whole network each pass: a "
        "Keras model (`keras.Sequential`, `keras.Model`, `load_model`, a `TFAutoModel...`, a "
        "function of the file returning one), or a PyTorch / Hugging Face network (not a "
        "single `torch.nn` layer) placed on "
        "an accelerator (`Net(...).to(device)`, `AutoModel.from_pretrained(...).cuda()`, "
        "`from_pretrained(..., device_map=...)`, or `.to(device)` later in the loop), when "
        "nothing in the loop (or in a loop around it, or in a helper of the file the loop "
        "calls) releases memory: `del name`, `gc.collect()`, `torch.cuda.empty_cache()`, "
        "`keras.backend.clear_session()`, `tf.compat.v1.reset_default_graph()`, "
        "`accelerator.free_memory()`. Networks the loop keeps on purpose (appended to a "
        "list, stored in a dict or attribute, returned) are not reported."
    )
    why = (
        "Zhang et al. (CAIN 2022), *Memory not Freed*. Keras keeps every model built in its "
        "global session: without `clear_session()` each iteration adds layers and graph "
        "state, so a grid search slows down and finally runs out of memory. In PyTorch the "
        "previous network (with its optimizer state, and any outputs or losses still "
        "referencing it) stays on the GPU until its name is rebound after the next one is "
        "built, so two live at once, and the caching allocator keeps the freed blocks "
        "reserved; `del` plus `torch.cuda.empty_cache()` between trials keeps the peak at "
        "one model."
    )
    limits = (
        "Preview: whether memory really runs out depends on model size and hardware, which "
        "static analysis cannot know, and a PyTorch network is reported only when it is "
        "visibly placed on an accelerator. A network of unknown type counts only when the "
        "call looks like a constructor or builder (`TCN(...)`, `build_model(...)`) and the "
        "name looks like a network's. Releasing memory in a function that is not defined "
        "in the same file is not seen."
    )
    examples = (
        BAD(
            """
            import torch
            from models import TCN

            for trial in range(20):
                model = TCN(**sample_config()).to(device)
                optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
                scores.append(fit_and_score(model, optimizer))
            """,
            expect=1,
        ),
        BAD(
            """
            # %%
            import tensorflow as tf
            from sklearn.model_selection import KFold
            # %%
            for train_idx, val_idx in KFold(n_splits=5).split(X):
                model = tf.keras.Sequential([tf.keras.layers.Dense(1)])
                model.compile(optimizer="adam", loss="mse")
                model.fit(X[train_idx], y[train_idx], epochs=10, verbose=0)
            """,
            path="cv.ipynb",
            expect=1,
        ),
        BAD(
            """
            from transformers import AutoModelForSequenceClassification as AutoCls

            def compare(names, batch):
                scores = {}
                for name in names:
                    candidate = AutoCls.from_pretrained(name, device_map="cuda")
                    scores[name] = candidate(**batch).logits.softmax(-1).mean().item()
                return scores
            """,
            expect=1,
        ),
        GOOD(
            """
            import gc
            import torch
            from models import TCN

            for trial in range(20):
                model = TCN(**sample_config()).to(device)
                optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
                scores.append(fit_and_score(model, optimizer))
                del model, optimizer
                gc.collect()
                torch.cuda.empty_cache()
            """
        ),
        GOOD(
            """
            # %%
            from tensorflow import keras
            # %%
            for units in (32, 64, 128):
                keras.backend.clear_session()
                model = keras.Sequential([keras.layers.Dense(units), keras.layers.Dense(1)])
                model.compile(optimizer="adam", loss="mse")
                model.fit(X, y, epochs=5, verbose=0)
            """,
            path="grid.ipynb",
        ),
        GOOD(
            """
            import torch.nn as nn
            from tensorflow import keras

            ensemble = []
            for seed in range(5):
                member = keras.models.load_model(f"member_{seed}.keras")
                ensemble.append(member)

            class Encoder(nn.Module):
                def __init__(self, sizes):
                    super().__init__()
                    self.layers = nn.ModuleList()
                    for size in sizes:
                        layer = nn.Linear(size, size).to(self.device)
                        self.layers.append(layer)
            """
        ),
        GOOD(
            """
            import torch

            def cleanup():
                torch.cuda.empty_cache()

            for fold in range(5):
                net = build_model().cuda()
                train(net, fold)
                cleanup()
            """
        ),
    )

    def __init__(self, context: Any, options: Any) -> None:
        super().__init__(context, options)
        #: Functions of this file that release memory (``def cleanup(): ...``).
        self.freeing: set[str] = set()
        self.candidates: list[tuple[Event, Loop, Scope, list[str]]] = []

    # --- events -----------------------------------------------------------------------------

    def leave_Assign(self, original_node: cst.Assign) -> None:
        # At leave time the resolver still describes the state before this assignment.
        if not self.scope.loops:
            return  # networks are only judged inside loops
        value = original_node.value
        for assigned in original_node.targets:
            if isinstance(assigned.target, (cst.Subscript, cst.Attribute)):
                for name in _names_in(value):
                    self.note("keep", original_node, name)
        if len(original_node.targets) != 1:
            return
        target = original_node.targets[0].target
        if isinstance(target, cst.Name):
            built = self._builds(value, target.value)
            if built is not None:
                self.note("create", value, target.value, {"framework": built[0], "gpu": built[1]})

    def visit_Del(self, node: cst.Del) -> None:
        for name in _names_in(node.target):
            self.note("free", node, name)

    def visit_Call(self, node: cst.Call) -> None:
        method = call_method(node)
        func_text = text_of(node.func) or ""
        last = func_text.rpartition(".")[2]
        if last in _FREE_METHODS or (
            last in _FREE_NAMES and self.context.resolver.call_name(node) in _FREE_CALLS
        ):
            self.note("free", node, "*")
            return
        if not self.scope.loops:
            return  # the rest only matters inside a loop
        if last in _STORING or (last == "setattr" and isinstance(node.func, cst.Name)):
            for arg in node.args:
                for kept in _names_in(arg.value):
                    self.note("keep", node, kept)
            return
        if method is not None and last in _PLACEMENT and isinstance(method[0], cst.Name):
            self.note("gpu", node, method[0].value)
        if isinstance(node.func, cst.Name):
            self.note("call", node, node.func.value)
        elif method is not None and func_text.startswith("self.") and self.class_name:
            self.note("call", node, f"{self.class_name}.{last}")

    def visit_Return(self, node: cst.Return) -> None:
        if node.value is not None:
            for name in _names_in(node.value):
                self.note("keep", node, name)

    def visit_Yield(self, node: cst.Yield) -> None:
        if isinstance(node.value, cst.BaseExpression):
            for name in _names_in(node.value):
                self.note("keep", node, name)

    # --- decisions --------------------------------------------------------------------------

    def loop_done(self, loop: Loop, scope: Scope) -> None:
        events = loop.events
        frees = {e.key for e in events if e.kind == "free"}
        kept = {e.key for e in events if e.kind == "keep"}
        placed = {e.key for e in events if e.kind == "gpu"}
        calls = [e.key for e in events if e.kind == "call"]
        released = "*" in frees or any(call in self.freeing for call in calls)
        for event in events:
            if event.kind != "create":
                continue
            info = event.info
            if info.get("claimed"):
                if released:
                    info["cancelled"] = True  # freed by a loop around the one building it
                continue
            info["claimed"] = True
            if released or event.key in frees or event.key in kept:
                continue
            if info["framework"] == "torch" and not (info["gpu"] or event.key in placed):
                continue
            self.candidates.append((event, loop, scope, calls))

    def scope_done(self, scope: Scope) -> None:
        if scope.kind == "function" and any(
            e.kind == "free" and e.key == "*" for e in scope.events
        ):
            self.freeing.add(scope.qualname)

    def module_done(self, scope: Scope) -> None:
        for event, loop, where, calls in self.candidates:
            if event.info.get("cancelled") or any(call in self.freeing for call in calls):
                continue
            name = event.key
            if event.info["framework"] == "keras":
                message = (
                    f"`{name}` is a new Keras model on every pass of this loop and nothing "
                    "clears the previous ones: Keras keeps each model's layers and graph state "
                    "in its global session, so memory grows with every iteration. Call "
                    "`keras.backend.clear_session()` at the start of each iteration."
                )
            else:
                message = (
                    f"`{name}` is a new network on the accelerator on every pass of this loop "
                    "and the previous one is never released: it (with its optimizer state "
                    "and any outputs still referencing it) stays allocated while the next is "
                    f"built. `del {name}` (and its optimizer) and call "
                    "`torch.cuda.empty_cache()` at the end of each iteration."
                )
            self.report(
                event.node,
                message,
                basis=f"{where.qualname}|{self.context.node_source(event.node)}",
                related=[(loop.node, "the loop")],
            )

    def _builds(self, value: cst.BaseExpression, target: str) -> tuple[str, bool] | None:
        """``("keras" | "torch", placed on an accelerator)`` when ``value`` builds a network."""
        resolver = self.context.resolver
        found = resolver.value_of(value)
        if found is not None and found.kind == kinds.KERAS_MODEL and isinstance(value, cst.Call):
            return "keras", True
        gpu = False
        base = value
        while isinstance(base, cst.Call):
            method = call_method(base)
            if method is None or method[1] not in _PASS_THROUGH:
                break
            gpu = gpu or method[1] in _PLACEMENT
            base = method[0]
        if not isinstance(base, cst.Call):
            return None
        for arg in base.args:
            if arg.keyword is not None and arg.keyword.value in ("device", "device_map"):
                gpu = True
        if _PART.search(target):
            return None
        found = resolver.value_of(base)
        if found is not None:
            if found.kind != kinds.MODULE or (found.type or "").startswith("torch.nn."):
                return None  # torch.nn.Linear(...) is a layer, not a network
            return "torch", gpu
        name = resolver.call_name(base) or ""
        last = name.rpartition(".")[2]
        if name.startswith(("torchvision.models.", "timm.create_model")) or (
            model_like(target) and (last[:1].isupper() or _BUILDER.match(last))
        ):
            return "torch", gpu
        return None


def _names_in(expr: cst.BaseExpression) -> list[str]:
    """Bare names an expression passes along whole: ``model``, ``(model, opt)``, ``[m]``."""
    if isinstance(expr, cst.Name):
        return [expr.value]
    if isinstance(expr, (cst.Tuple, cst.List, cst.Set)):
        return [n for e in expr.elements for n in _names_in(e.value)]
    if isinstance(expr, cst.Dict):
        return [
            n for e in expr.elements if isinstance(e, cst.DictElement) for n in _names_in(e.value)
        ]
    return []
