"""MLD518: gradients not cleared before the next backward pass (PyTorch training loops)."""

from __future__ import annotations

from typing import Any

import libcst as cst

from mldebt.findings import Severity
from mldebt.resolve import kinds
from mldebt.resolve.kinds import positional
from mldebt.rule import BAD, GOOD
from mldebt_rules._torch_flow import (
    Event,
    FlowRule,
    Loop,
    Scope,
    call_method,
    encloses,
    last_name,
    optimizer_like,
    text_of,
)

_CLEAR_METHODS = frozenset({"zero_grad", "zero_grads", "clear_grad", "clear_gradients"})
_GRAD_TENSOR_CLEARS = frozenset({"zero_", "detach_", "fill_"})


class ZeroGradMissing(FlowRule):
    code = "MLD518"
    name = "zero-grad-missing"
    category = "ml-api-misuse"
    severity = Severity.ERROR
    debt_minutes = 10.0
    tags = ("pytorch",)
    needles = ("backward",)
    summary = (
        "A training loop steps the optimizer without clearing the gradients each pass, or "
        "clears them between `backward()` and `step()`."
    )
    what = (
        "Loops (any `for`/`while`, nested loops included) that call `.backward()` "
        "(`loss.backward()`, `scaler.scale(loss).backward()`, `accelerator.backward(loss)`) "
        "and step an optimizer (`optimizer.step()`, `scaler.step(optimizer)`), where either "
        "nothing in the loop clears the gradients of that optimizer (`optimizer.zero_grad()`, "
        "`model.zero_grad()`, `zero_grad(set_to_none=True)`, `p.grad = None`, "
        "`p.grad.zero_()`), or a clearing call runs unconditionally between the backward pass "
        "and the step that should use its gradients. The innermost loop holding both the "
        "backward pass and the step is the training loop; clearing only before it (once per "
        "epoch, or once before training) does not count. The same holds for a step function "
        "(`train_step()`) that a loop of the file calls, and for an LBFGS closure passed to "
        "`step()`; a clearing call between `backward()` and `step()` is reported anywhere, in "
        "a loop or not. An optimizer is a value the resolver knows to be one (`torch.optim.*`) "
        "or a receiver named like one (`optimizer`, `opt_g`, `self.optim`)."
    )
    why = (
        "Zhang et al. (CAIN 2022), *Gradients Not Cleared before Backward Propagation*: "
        "PyTorch adds each `backward()` into `.grad`, so without `zero_grad()` every step "
        "uses the sum of all gradients so far and training diverges or crawls; a "
        "`zero_grad()` between `backward()` and `step()` throws the fresh gradients away "
        "and the step does nothing. Both fail silently: the loss just looks bad."
    )
    limits = (
        "Helpers are followed one level within the file: a loop calling `reset_grad()` "
        "clears, and a `train_step()` that steps without clearing is reported only when a "
        "loop of the file calls it with nothing clearing around the call. Gradient "
        "accumulation with `step()` and `zero_grad()` under the same "
        "`if (i + 1) % accum == 0:` is recognised as correct; a clearing call inside a "
        "condition between `backward()` and `step()` (skipping a batch whose loss is NaN) is "
        "not reported. Optimizers whose `step()` clears gradients itself (DeepSpeed engines) "
        "are not named like optimizers and are not inspected. Two optimizers over the same "
        "parameters, cleared through one of them only, are reported for the other."
    )
    examples = (
        BAD(
            """
            import torch
            from torch import nn, optim

            model = nn.Linear(20, 1)
            opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
            loss_fn = nn.MSELoss()
            for epoch in range(10):
                for x, y in loader:
                    loss = loss_fn(model(x), y)
                    loss.backward()
                    opt.step()
            """,
            expect=1,
        ),
        BAD(
            """
            # %%
            import torch
            optimizer = torch.optim.AdamW(model.parameters(), lr=2e-5, weight_decay=0.01)
            # %%
            model.train()
            for batch in train_loader:
                loss = model(**batch).loss
                loss.backward()
                optimizer.zero_grad()
                optimizer.step()
            """,
            path="finetune.ipynb",
            expect=1,
        ),
        BAD(
            """
            import torch as T

            def fit(net, loader, epochs, lr=1e-3):
                optimizer = T.optim.Adam(net.parameters(), lr=lr)
                scaler = T.cuda.amp.GradScaler()
                for epoch in range(epochs):
                    optimizer.zero_grad(set_to_none=True)  # once per epoch only
                    for x, y in loader:
                        with T.autocast("cuda"):
                            loss = T.nn.functional.cross_entropy(net(x), y)
                        scaler.scale(loss).backward()
                        scaler.step(optimizer)
                        scaler.update()
            """,
            expect=1,
        ),
        BAD(
            """
            import torch

            class GANTrainer:
                def train(self, loader):
                    for real in loader:
                        self.opt_d.zero_grad()
                        d_loss = self.d_loss(real)
                        d_loss.backward()
                        self.opt_d.step()
                        g_loss = self.g_loss(real)
                        g_loss.backward()
                        self.opt_g.step()
            """,
            expect=1,
        ),
        BAD(
            """
            import torch

            def train_step(model, batch, optimizer):
                loss = model(**batch).loss
                loss.backward()
                optimizer.step()
                return loss.item()

            def fine_tune(model, loader, optimizer, epochs=3):
                for epoch in range(epochs):
                    for batch in loader:
                        train_step(model, batch, optimizer)

            def sgd_probe(w, x, y, opt):
                loss = ((x @ w - y) ** 2).mean()
                loss.backward()
                opt.zero_grad()
                opt.step()
            """,
            expect=2,
        ),
        BAD(
            """
            import torch

            optimizer = torch.optim.LBFGS(seq.parameters(), lr=0.8)
            for i in range(15):
                def closure():
                    loss = criterion(seq(inputs), target)
                    loss.backward()
                    return loss
                optimizer.step(closure)
            """,
            expect=1,
        ),
        GOOD(
            """
            import torch

            class Trainer:
                def _run_batch(self, source, targets):
                    loss = self.criterion(self.model(source), targets)
                    loss.backward()
                    self.optimizer.step()

                def _run_epoch(self):
                    for source, targets in self.train_data:
                        self.optimizer.zero_grad()
                        self._run_batch(source, targets)
            """
        ),
        GOOD(
            """
            import torch

            def train_one_epoch(model, loader, optimizer, criterion, accum=4):
                model.train()
                optimizer.zero_grad(set_to_none=True)
                for step, (x, y) in enumerate(loader):
                    loss = criterion(model(x), y) / accum
                    loss.backward()
                    if (step + 1) % accum == 0:
                        optimizer.step()
                        optimizer.zero_grad(set_to_none=True)
            """
        ),
        GOOD(
            """
            # %%
            import torch
            # %%
            for x, y in loader:
                model.zero_grad()
                loss = torch.nn.functional.mse_loss(model(x), y)
                loss.backward()
                if not torch.isfinite(loss):
                    optimizer.zero_grad()
                    continue
                optimizer.step()
            """,
            path="train.ipynb",
        ),
        GOOD(
            """
            import torch

            optimizer = torch.optim.LBFGS(model.parameters(), lr=1.0)
            for step in range(20):
                def closure():
                    optimizer.zero_grad()
                    loss = criterion(model(x), y)
                    loss.backward()
                    return loss
                optimizer.step(closure)
                for p in model.parameters():
                    p.grad = None
            """
        ),
        GOOD(
            """
            import torch

            def reset_grad():
                d_optimizer.zero_grad()
                g_optimizer.zero_grad()

            for images, _ in loader:
                d_loss = discriminator_loss(images)
                reset_grad()
                d_loss.backward()
                d_optimizer.step()
                g_loss = generator_loss(images)
                reset_grad()
                g_loss.backward()
                g_optimizer.step()
            """
        ),
        GOOD(
            """
            import torch

            class Trainer:
                def fit(self, loader):
                    for batch in loader:
                        loss = self.model(**batch).loss
                        self.accelerator.backward(loss)
                        self.optimizer.step()
                        self.lr_scheduler.step()
                        self.optimizer.zero_grad()
            """
        ),
    )

    def __init__(self, context: Any, options: Any) -> None:
        super().__init__(context, options)
        #: Functions of this file that clear gradients (``def reset_grad(): ...``).
        self.clearing: set[str] = set()
        #: Steps with nothing clearing their gradients, decided once every helper is known.
        self.pending: list[tuple[Event, Event, Loop, Scope, list[str]]] = []
        #: Functions that step an optimizer after a backward pass, clearing nothing, outside
        #: any loop of theirs (``train_step()``): (function, step, backward).
        self.stepping: list[tuple[str, Event, Event]] = []
        #: Functions with a backward pass and neither a step nor a clear (LBFGS closures).
        self.backward_only: dict[str, Event] = {}
        #: Every loop: (loop, its scope, helper calls in it, whether it clears gradients).
        self.loop_calls: list[tuple[Loop, Scope, list[Event], bool]] = []

    def visit_Call(self, node: cst.Call) -> None:
        method = call_method(node)
        func = node.func
        in_loop = bool(self.scope.loops)  # helper calls matter only inside a loop
        if method is None:
            if not isinstance(func, cst.Name):
                return
            if func.value == "backward" and (
                self.context.resolver.call_name(node) == "torch.autograd.backward"
            ):
                self.note("backward", node, _short(self.context.node_source(node)))
            elif in_loop:
                self.note("call", node, func.value)
            return
        receiver, name = method
        if (
            in_loop
            and isinstance(receiver, cst.Name)
            and receiver.value == "self"
            and self.class_name
        ):
            self.note("call", node, f"{self.class_name}.{name}")
        if name in ("backward", "manual_backward"):
            self.note("backward", node, _short(self.context.node_source(node)))
        elif name == "step":
            self._step(node, receiver)
        elif name == "optimizer_step":
            first = positional(node, 0)
            key = text_of(first) if first is not None else None
            if key is not None:
                self.note("step", node, key, {})
        elif name in _CLEAR_METHODS:
            self.note("clear", node, text_of(receiver) or "*")
        elif name in _GRAD_TENSOR_CLEARS and _is_grad(receiver):
            self.note("clear", node, "*")

    def _step(self, node: cst.Call, receiver: cst.BaseExpression) -> None:
        resolver = self.context.resolver
        kind = resolver.kind_of(receiver)
        if kind in (kinds.SCHEDULER, kinds.MODULE):
            return
        text = text_of(receiver)
        first = positional(node, 0)
        key = None
        if kind == kinds.OPTIMIZER and text is not None:
            key = text
        elif first is not None:  # scaler.step(optimizer)
            argument = text_of(first)
            if argument is not None and (
                resolver.kind_of(first) == kinds.OPTIMIZER or optimizer_like(argument)
            ):
                key = argument
        elif text is not None and optimizer_like(text):
            key = text
        if key is None:
            return
        if isinstance(first, cst.Name) and first.value in self.backward_only:
            # optimizer.step(closure): the closure's backward pass runs here
            self.note("backward", self.backward_only[first.value].node, "closure()")
        self.note("step", node, key, {})

    def leave_Assign(self, original_node: cst.Assign) -> None:
        value = original_node.value
        if not (isinstance(value, cst.Name) and value.value == "None"):
            return
        for target in original_node.targets:
            if isinstance(target.target, cst.Attribute) and target.target.attr.value == "grad":
                self.note("clear", original_node, "*")

    def loop_done(self, loop: Loop, scope: Scope) -> None:
        events = loop.events
        calls = [e for e in events if e.kind == "call"]
        if calls:
            self.loop_calls.append((loop, scope, calls, any(e.kind == "clear" for e in events)))
        backwards = [e for e in events if e.kind == "backward"]
        if not backwards:
            return
        clears = [e for e in events if e.kind == "clear"]
        for step in events:
            if step.kind != "step" or step.info.get("claimed"):
                continue
            step.info["claimed"] = True
            relevant = [c for c in clears if _clears_for(c.key, step.key)]
            backward = _previous(backwards, step)
            if not relevant:
                self.pending.append((step, backward, loop, scope, [c.key for c in calls]))
                continue
            wiping = _between(relevant, backward, step)
            if wiping is not None:
                self._report_wiping(wiping, backward, step, scope)

    def scope_done(self, scope: Scope) -> None:
        if scope.kind != "function":
            return
        events = scope.events
        if any(e.kind == "clear" for e in events):
            self.clearing.add(scope.qualname)
        self._straight(scope, events)

    def _straight(self, scope: Scope, events: list[Event]) -> None:
        """Steps outside any loop of their function (or module): a clear between the
        backward pass and the step wipes the gradients; a function that steps and clears
        nothing is remembered, to be judged where a loop calls it."""
        backwards = [e for e in events if e.kind == "backward"]
        if not backwards:
            return
        clears = [e for e in events if e.kind == "clear"]
        steps = [e for e in events if e.kind == "step"]
        if scope.kind == "function" and not clears and not steps:
            self.backward_only[scope.qualname.rpartition(".")[2]] = backwards[-1]
        for step in steps:
            if step.info.get("claimed"):
                continue
            step.info["claimed"] = True
            before = [b for b in backwards if b.order < step.order]
            if not before:
                continue
            backward = before[-1]
            relevant = [c for c in clears if _clears_for(c.key, step.key)]
            if not relevant:
                if scope.kind == "function":
                    self.stepping.append((scope.qualname, step, backward))
                continue
            wiping = _between(relevant, backward, step)
            if wiping is not None:
                self._report_wiping(wiping, backward, step, scope)

    def _report_wiping(self, wiping: Event, backward: Event, step: Event, scope: Scope) -> None:
        self.report(
            wiping.node,
            f"`{_clear_text(wiping)}` runs between `{backward.key}` and "
            f"`{step.key}.step()`: it wipes the gradients just computed, so the step "
            "changes nothing. Clear the gradients before the forward pass or after "
            "the step.",
            basis=f"{scope.qualname}|{self.context.node_source(wiping.node)}",
            related=[
                (backward.node, "gradients computed here"),
                (step.node, "and applied here"),
            ],
        )

    def _helper_steps(self) -> None:
        """``train_step()`` steps and clears nothing, and a loop calls it clearing nothing."""
        for function, step, backward in self.stepping:
            short = function.rpartition(".")[2]
            for _, _, calls, clears in self.loop_calls:
                called = [c for c in calls if c.key in (function, short)]
                if not called or clears or any(c.key in self.clearing for c in calls):
                    continue
                self.report(
                    step.node,
                    f"`{step.key}.step()` in `{short}()` applies gradients that nothing "
                    f"clears, and a loop calls `{short}()` on every pass: `{backward.key}` "
                    "adds to the gradients of every earlier call. Call "
                    f"`{step.key}.zero_grad()` in `{short}()` before the backward pass.",
                    basis=f"{function}|{self.context.node_source(step.node)}",
                    related=[
                        (backward.node, "gradients accumulate here"),
                        (called[0].node, f"`{short}()` called in a loop here"),
                    ],
                )
                break

    def module_done(self, scope: Scope) -> None:
        self._straight(scope, scope.events)
        self._helper_steps()
        for step, backward, loop, where, calls in self.pending:
            if any(call in self.clearing for call in calls):
                continue  # a helper of this file clears them (reset_grad())
            self.report(
                step.node,
                f"`{step.key}.step()` applies gradients that nothing in this loop clears: "
                f"`{backward.key}` adds to the gradients of every earlier pass. Call "
                f"`{step.key}.zero_grad()` once per step (before the backward pass or "
                "after the step).",
                basis=f"{where.qualname}|{self.context.node_source(step.node)}",
                related=[
                    (backward.node, "gradients accumulate here"),
                    (loop.node, "the training loop"),
                ],
            )


def _short(source: str) -> str:
    return source if len(source) <= 60 else source[:57] + "..."


def _is_grad(expr: cst.BaseExpression) -> bool:
    """``p.grad`` or ``p.grad.data``."""
    if isinstance(expr, cst.Attribute) and expr.attr.value == "data":
        expr = expr.value
    return isinstance(expr, cst.Attribute) and expr.attr.value == "grad"


def _clears_for(clear: str, optimizer: str) -> bool:
    """Whether clearing through ``clear`` clears what ``optimizer`` steps: the same
    optimizer, a model (``model.zero_grad()``), or parameters cleared by hand."""
    if clear == "*" or not optimizer_like(clear):
        return True
    return last_name(clear) == last_name(optimizer)


def _previous(backwards: list[Event], step: Event) -> Event:
    """The backward pass whose gradients ``step`` applies: the last one before it in the
    loop body, or (when the step comes first) the last one of the previous pass."""
    before = [b for b in backwards if b.order < step.order]
    return before[-1] if before else backwards[-1]


def _between(clears: list[Event], backward: Event, step: Event) -> Event | None:
    """A clearing call that always runs after ``backward`` and before ``step``."""
    for clear in clears:
        if backward.order < step.order:
            inside = backward.order < clear.order < step.order
        else:  # the step uses the previous pass's gradients
            inside = clear.order > backward.order or clear.order < step.order
        if inside and encloses(clear, step) and encloses(clear, backward):
            return clear
    return None


def _clear_text(event: Event) -> str:
    if event.key == "*":
        return "gradients cleared"
    return f"{event.key}.zero_grad()"
