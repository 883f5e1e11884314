"""MLD516 eval-mode-not-toggled and MLD521 no-grad-missing: evaluating PyTorch networks.

Both rules follow, in source order, which mode each network is in: ``model.eval()``,
``model.train()``, ``from_pretrained`` (which returns a network in eval mode), a fresh
constructor or builder (every ``nn.Module`` starts in training mode), and the helpers of the
file that switch a network they are given (``validate(model)`` calling ``model.eval()``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import libcst as cst

from mldebt.findings import Severity
from mldebt.resolve import kinds
from mldebt.resolve.kinds import keyword, positional
from mldebt.rule import BAD, GOOD
from mldebt_rules._torch_flow import (
    TEST_FILES,
    Event,
    FlowRule,
    Loop,
    Scope,
    call_method,
    grad_handled,
    is_false,
    is_true,
    last_name,
    model_like,
    no_grad_context,
    optimizer_like,
    text_of,
)

TRAIN, EVAL, FRESH = "train", "eval", "fresh"

# Methods that run a network's forward pass (besides calling it).
_FORWARD_METHODS = frozenset(
    {
        "forward",
        "encode",
        "decode",
        "embed",
        "encode_image",
        "encode_text",
        "extract_features",
        "forward_features",
        "get_image_features",
        "get_text_features",
    }
)
_GENERATE = "generate"  # Hugging Face: runs under no_grad itself, but not in eval mode
_LOSS_NAME = re.compile(r"loss|criterion|metric|objective", re.IGNORECASE)
# torch.nn classes whose output depends on the mode (others, like nn.Linear, do not).
_MODE_SENSITIVE = re.compile(
    r"Dropout|BatchNorm|InstanceNorm|Sequential|ModuleList|ModuleDict|Transformer|RReLU"
)
_RECURRENT = frozenset({"RNN", "LSTM", "GRU"})  # mode-sensitive only with dropout=
# What makes a class of the file mode-sensitive, read in its source.
_SENSITIVE_SOURCE = re.compile(
    r"Dropout|dropout|BatchNorm|InstanceNorm|\bnn\.Transformer|Transformer(?:Encoder|Decoder)|"
    r"\btraining\b|drop_path|DropPath|RReLU"
)
_PASS_THROUGH = frozenset(
    {
        "to",
        "cuda",
        "cpu",
        "float",
        "half",
        "double",
        "bfloat16",
        "requires_grad_",
        "share_memory",
        "xpu",
        "mps",
        "to_empty",
        "train",
        "eval",
    }
)
_WRAPPERS = frozenset(
    {
        "torch.compile",
        "copy.deepcopy",
        "torch.nn.DataParallel",
        "torch.nn.parallel.DistributedDataParallel",
        "torch.nn.parallel.DataParallel",
    }
)
# Loaders whose network keeps the mode it was saved in: unknown here.
_MODE_UNKNOWN = ("torch.jit.", "torch.hub.", "torch.load", "torch.export.", "torch.package.")
# Functions of torch.autograd / torch.func that use gradients (or set whether they are kept).
_GRAD_FUNCTIONS = frozenset(
    {
        "set_grad_enabled",
        "grad",
        "backward",
        "jacobian",
        "hessian",
        "vjp",
        "jvp",
        "hvp",
        "vhp",
        "grad_and_value",
    }
)
_DEF = re.compile(r"^[ \t]*(?:async[ \t]+)?def[ \t]+(\w+)", re.MULTILINE)
_BUILDER = re.compile(r"^(?:build|create|make|get|init|new|construct|instantiate)_?\w*$")


@dataclass
class Mode:
    state: str  # TRAIN | EVAL | FRESH
    node: cst.CSTNode | None
    #: The network's class when known (``torch.nn.Linear``): some classes ignore the mode.
    type: str | None = None


@dataclass
class CallSite:
    """A call of a function of the file, with what its arguments were at that point."""

    keys: tuple[str, ...]
    args: dict[int | str, tuple[str, Mode | None]]
    no_grad: bool
    node: cst.Call
    #: The caller's networks and their modes at the call (for the globals a callee uses).
    modes: dict[str, Mode] = field(default_factory=dict)
    in_loop: bool = False


@dataclass
class Summary:
    """What a function of the file does to the networks it is given."""

    params: dict[str, int]
    #: What it does in order: ``("set", key, state, node)`` for a switch of ``key`` (``"param:0"``,
    #: ``"self.model"``, ``"global:model"``), ``("call", site)`` for a call of the file.
    actions: list[tuple[Any, ...]] = field(default_factory=list)
    #: Names bound in the function (not globals).
    assigned: frozenset[str] = frozenset()
    #: Its mode switches, training steps and calls, in order.
    events: list[Event] = field(default_factory=list)
    #: Parameters whose forward pass it runs (in a mode it does not set).
    forwards: frozenset[int] = frozenset()
    #: Uses gradients (a backward pass, autograd.grad...): a training helper.
    grad: bool = False
    #: Networks it runs in a mode it does not know (``"param:0"``, ``"self.model"``,
    #: ``"global:model"``) -> (first such forward pass, in a loop), under no_grad only...
    evaluates: dict[str, tuple[cst.CSTNode, bool]] = field(default_factory=dict)
    #: ... and under any context.
    runs: dict[str, tuple[cst.CSTNode, bool]] = field(default_factory=dict)


class _EvaluationFlow(FlowRule):
    """Modes of networks in source order, function summaries and call sites."""

    needles = ("torch", "transformers")

    def __init__(self, context: Any, options: Any) -> None:
        super().__init__(context, options)
        self.summaries: dict[str, Summary] = {}
        self.sites: list[CallSite] = []
        self._with_items: set[int] = set()
        #: Classes of the file: qualname -> (definition, derives from a class of elsewhere
        #: that is not a torch.nn one).
        self._classes: dict[str, tuple[cst.ClassDef, bool]] = {}
        self._sensitive: dict[str, bool] = {}
        self._comprehensions = 0
        self._functions: frozenset[str] | None = None
        #: Call sites whose callee's effects were applied when the walk reached them.
        self._applied: set[int] = set()

    # --- hooks --------------------------------------------------------------------------------

    def on_forward(self, node: cst.Call, text: str, method: str, mode: Mode | None) -> None:
        """A forward pass of ``text`` (a call, ``.forward``, ``.encode``...) in mode ``mode``."""

    def on_call(self, site: CallSite) -> None:
        """A call of a function of the file (its arguments' modes as they were)."""

    # --- modes --------------------------------------------------------------------------------

    def modes(self, scope: Scope | None = None) -> dict[str, Mode]:
        modes: dict[str, Mode] = (scope or self.scope).notes.setdefault("modes", {})
        return modes

    def set_mode(self, text: str, mode: Mode | None) -> None:
        modes = self.modes()
        if mode is None:
            modes.pop(text, None)
        else:
            modes[text] = mode
        scope = self.scope
        if scope.kind != "function" or mode is None or mode.state == FRESH:
            return
        key = self.effect_key(scope, text)  # model.eval() in test(): a module-level network
        if key is not None and mode.node is not None:
            scope.notes.setdefault("actions", []).append(("set", key, mode.state, mode.node))

    def matters(self, mode: Mode) -> bool:
        """Whether the network's output depends on its mode (dropout, batch norm...)."""
        kind = mode.type
        if kind is None:
            return True
        if kind.startswith("torch.nn."):
            name = kind.rpartition(".")[2]
            if name in _RECURRENT:
                return isinstance(mode.node, cst.Call) and keyword(mode.node, "dropout") is not None
            return bool(_MODE_SENSITIVE.search(name))
        if kind in self._classes:
            return self._class_sensitive(kind, 0)
        return True

    def _class_sensitive(self, qualname: str, depth: int) -> bool:
        found = self._sensitive.get(qualname)
        if found is not None:
            return found
        node, foreign = self._classes[qualname]
        source = self.context.module.code_for_node(node)
        result = foreign or depth > 5 or bool(_SENSITIVE_SOURCE.search(source))
        if not result:
            for other in self._classes:
                short = other.rpartition(".")[2]
                if (
                    other != qualname
                    and re.search(rf"\b{re.escape(short)}\b", source)
                    and self._class_sensitive(other, depth + 1)
                ):
                    result = True
                    break
        self._sensitive[qualname] = result
        return result

    def in_loop(self) -> bool:
        """Inside a loop or a comprehension of the current function (or module)."""
        return bool(self.scope.loops) or self._comprehensions > 0

    def grad_off(self) -> bool:
        """``torch.set_grad_enabled(False)`` in effect, or a no-grad ``with``/decorator."""
        if self.scope.notes.get("grad_off"):
            return True
        return no_grad_context(self.context.resolver.contexts)

    # --- traversal ----------------------------------------------------------------------------

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        outer = self.scope
        super().visit_FunctionDef(node)
        if outer.kind == "function":  # a closure reads the networks of its function
            inner = self.scope
            self.modes(inner).update(
                (text, mode)
                for text, mode in self.modes(outer).items()
                if text.partition(".")[0] not in inner.params
            )

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        super().visit_ClassDef(node)
        resolver = self.context.resolver
        foreign = False
        for base in node.bases:
            name = resolver.qualname(base.value) or ""
            if name and not name.startswith("torch.nn.") and name not in self._classes:
                foreign = foreign or name.split(".")[0] not in ("object", "torch", "typing", "abc")
        self._classes[self.scope.qualname] = (node, foreign)

    def visit_ListComp(self, node: cst.ListComp) -> None:
        self._comprehensions += 1

    def leave_ListComp(self, original_node: cst.ListComp) -> None:
        self._comprehensions -= 1

    def visit_GeneratorExp(self, node: cst.GeneratorExp) -> None:
        self._comprehensions += 1

    def leave_GeneratorExp(self, original_node: cst.GeneratorExp) -> None:
        self._comprehensions -= 1

    def visit_DictComp(self, node: cst.DictComp) -> None:
        self._comprehensions += 1

    def leave_DictComp(self, original_node: cst.DictComp) -> None:
        self._comprehensions -= 1

    def visit_With(self, node: cst.With) -> None:
        for item in node.items:
            self._with_items.add(id(item.item))

    def visit_For(self, node: cst.For) -> None:
        super().visit_For(node)
        names = _targets(node.target)
        self.scope.notes.setdefault("assigned", set()).update(names)
        for name in names:
            self.modes().pop(name, None)

    def visit_Del(self, node: cst.Del) -> None:
        for name in _targets(node.target):
            self.modes().pop(name, None)

    def leave_Assign(self, original_node: cst.Assign) -> None:
        # Rules leave a statement before the resolver does: it still describes the state
        # before the assignment, as evaluating the right-hand side did.
        targets = original_node.targets
        assigned = self.scope.notes.setdefault("assigned", set())
        for target in targets:
            assigned.update(_targets(target.target))
        if len(targets) == 1:
            text = text_of(targets[0].target)
            if text is not None:
                self.set_mode(text, self._classify(original_node.value, text))
                return
        for target in targets:
            for name in _targets(target.target):
                self.modes().pop(name, None)

    def leave_AnnAssign(self, original_node: cst.AnnAssign) -> None:
        text = text_of(original_node.target)
        if text is not None and original_node.value is not None:
            self.set_mode(text, self._classify(original_node.value, text))

    def visit_Call(self, node: cst.Call) -> None:
        resolver = self.context.resolver
        method = call_method(node)
        if method is not None:
            receiver, name = method
            text = _network_text(receiver) if name in ("eval", "train") else text_of(receiver)
            if text is not None and name == "eval" and not node.args:
                self._switch(node, text, EVAL)
            elif text is not None and name == "train":
                flag = positional(node, 0) or keyword(node, "mode")
                if flag is None or is_true(flag):
                    self._switch(node, text, TRAIN)
                elif is_false(flag):
                    self._switch(node, text, EVAL)
                else:
                    self.set_mode(text, None)
                    self.note("train", node, text)
            elif name in ("backward", "manual_backward") or (
                name == "step"
                and (
                    resolver.kind_of(receiver) == kinds.OPTIMIZER
                    or (text is not None and optimizer_like(text))
                )
            ):
                self.note("training", node)
                self.note("grad", node)
            elif name in ("retain_grad", "register_hook") or (
                name == "requires_grad_" and not is_false(positional(node, 0))
            ):
                self.note("grad", node)
        func_text = text_of(node.func) or ""
        last = func_text.rpartition(".")[2]
        qualname = ""
        if last in _GRAD_FUNCTIONS or "autograd" in func_text:
            qualname = resolver.call_name(node) or ""
        if qualname.endswith("set_grad_enabled"):
            if id(node) not in self._with_items:
                flag = positional(node, 0)
                if is_false(flag):
                    self.scope.notes["grad_off"] = True
                elif is_true(flag):
                    self.scope.notes["grad_off"] = False
        elif qualname.startswith(("torch.autograd.", "torch.func.")):
            self.note("grad", node)
        forward = _forward(node)
        if forward is not None:
            text, method_name = forward
            mode = self.modes().get(text)
            scope = self.scope
            if mode is None and scope.kind == "function":
                self._record_run(scope, text, node)
            self.on_forward(node, text, method_name, mode)
        self._call_site(node)

    def _record_run(self, scope: Scope, text: str, node: cst.Call) -> None:
        """A forward pass, in a function, of a network whose mode the function does not know."""
        key = self.effect_key(scope, text)
        if key is None or _LOSS_NAME.search(last_name(text)):
            return
        place = (node, self.in_loop())
        scope.notes.setdefault("runs", {}).setdefault(key, place)
        contexts = self.context.resolver.contexts
        if self.grad_off():
            scope.notes.setdefault("evaluates", {}).setdefault(key, place)
        elif key.startswith("param:") and not grad_handled(contexts):
            scope.notes.setdefault("forwards", set()).add(scope.params[text])

    @staticmethod
    def effect_key(scope: Scope, text: str) -> str | None:
        """How a function names a network it can reach: a parameter (``"param:0"``), an
        attribute of ``self`` (``"self.model"``) or a module-level name (``"global:model"``)."""
        head = text.partition(".")[0]
        if text in scope.params:
            return f"param:{scope.params[text]}"
        if head == "self":
            return text
        if head not in scope.params and head not in scope.notes.get("assigned", ()):
            return f"global:{text}"
        return None

    def _switch(self, node: cst.Call, text: str, state: str) -> None:
        self.set_mode(text, self._switched(text, state, node))
        self.note(state, node, text)

    def _switched(self, text: str, state: str, node: cst.CSTNode) -> Mode:
        """``text``'s network, now in ``state`` (its class, if known, is kept)."""
        before = self.modes().get(text)
        return Mode(state, node, before.type if before is not None else None)

    def _classify(self, value: cst.BaseExpression, target: str) -> Mode | None:
        """The mode of the network ``target = value`` binds, if known."""
        resolver = self.context.resolver
        base = value
        state: str | None = None
        while isinstance(base, cst.Call):
            method = call_method(base)
            if method is None or method[1] not in _PASS_THROUGH:
                break
            if state is None and method[1] == "eval" and not base.args:
                state = EVAL
            elif state is None and method[1] == "train":
                state = EVAL if is_false(positional(base, 0)) else TRAIN
            base = method[0]
        if state is not None:
            return Mode(state, value)
        if isinstance(base, (cst.Name, cst.Attribute)):
            source = text_of(base)
            return self.modes().get(source) if source is not None else None
        if not isinstance(base, cst.Call):
            return None
        callee = text_of(base.func) or ""
        short = callee.rpartition(".")[2]
        if not (
            short[:1].isupper()
            or short in ("from_pretrained", "from_config", "compile", "deepcopy", "prepare")
            or _BUILDER.match(short)
            or "models" in callee
            or "timm" in callee
        ):
            return None  # not a constructor, builder, loader or wrapper of networks
        qualname = resolver.call_name(base) or ""
        method = call_method(base)
        if qualname in _WRAPPERS or (method is not None and method[1] == "prepare"):
            first = positional(base, 0)
            source = text_of(first) if first is not None else None
            return self.modes().get(source) if source is not None else None
        if qualname.startswith(_MODE_UNKNOWN):
            return None
        found = resolver.value_of(base)
        if qualname.endswith(".from_pretrained"):
            if (found is not None and found.kind == kinds.MODULE) or (
                found is None and model_like(target)
            ):
                return Mode(EVAL, base)
            return None
        if found is not None:
            return Mode(FRESH, base, found.type) if found.kind == kinds.MODULE else None
        last = qualname.rpartition(".")[2]
        if qualname.startswith(("torchvision.models.", "timm.create_model")) or (
            model_like(target) and (last[:1].isupper() or _BUILDER.match(last))
        ):
            return Mode(FRESH, base)
        return None

    # --- functions of the file ------------------------------------------------------------------

    @property
    def functions(self) -> frozenset[str]:
        """Names of the functions and methods defined in the file (read from its text)."""
        found = self._functions
        if found is None:
            found = self._functions = frozenset(_DEF.findall(self.context.text))
        return found

    def _keys(self, node: cst.Call) -> tuple[str, ...]:
        func = node.func
        if isinstance(func, cst.Name):
            resolved = self.context.resolver.qualname(func)
            return tuple({func.value, resolved or func.value})
        if (
            isinstance(func, cst.Attribute)
            and isinstance(func.value, cst.Name)
            and func.value.value == "self"
            and self.class_name
        ):
            return (f"{self.class_name}.{func.attr.value}",)
        return ()

    def _call_site(self, node: cst.Call) -> None:
        func = node.func
        called = func.value if isinstance(func, cst.Name) else None
        if isinstance(func, cst.Attribute):
            called = func.attr.value
        if called is None or called not in self.functions:
            return
        keys = self._keys(node)
        if not keys:
            return
        modes = self.modes()
        args: dict[int | str, tuple[str, Mode | None]] = {}
        index = 0
        for arg in node.args:
            if arg.star:
                break
            text = text_of(arg.value)
            slot: int | str
            if arg.keyword is not None:
                slot = arg.keyword.value
            else:
                slot = index
                index += 1
            if text is not None:
                args[slot] = (text, modes.get(text))
        site = CallSite(keys, args, self.grad_off(), node, dict(modes), self.in_loop())
        self.sites.append(site)
        self.note("call", node, info=site)
        self.on_call(site)
        callee = self.callee(keys)
        if self.scope.kind == "function":
            self.scope.notes.setdefault("actions", []).append(("call", site))
        if callee is None:
            return  # defined further down: its effects are followed at the end of the module
        summary = self.summaries[callee]
        for key, (state, _) in self.effects_of(callee).items():
            if key.startswith("param:"):
                text = _argument(site, summary, int(key[6:]))
            else:
                text = key.removeprefix("global:")
            if text is not None:
                self.set_mode(text, self._switched(text, state, node))
        # The callee's switches now stand in the caller's own actions (set_mode added them).
        self._applied.add(id(site))

    def callee(self, keys: tuple[str, ...]) -> str | None:
        """The function of the file a call with ``keys`` calls, once its walk is done."""
        for key in keys:
            if key in self.summaries:
                return key
        return None

    def forwards_of(self, function: str, depth: int = 0) -> set[int]:
        """Parameters of ``function`` whose forward pass it runs, itself or through the
        functions of the file it passes them to; none for a function using gradients."""
        summary = self.summaries.get(function)
        if summary is None or summary.grad or depth > 3:
            return set()
        found = set(summary.forwards)
        for action in summary.actions:
            if action[0] != "call":
                continue
            site: CallSite = action[1]
            callee = self.callee(site.keys)
            if callee is None or callee == function or site.no_grad:
                continue
            inner = self.summaries[callee]
            for index in self.forwards_of(callee, depth + 1):
                text = _argument(site, inner, index)
                if text is not None and text in summary.params and text not in site.modes:
                    found.add(summary.params[text])
        return found

    def evaluations_of(
        self, function: str, no_grad: bool, depth: int = 0
    ) -> dict[str, tuple[cst.CSTNode, bool]]:
        """Networks ``function`` evaluates (runs under no_grad, or at all when it is itself
        called under no_grad) in a mode it does not set, keyed as :meth:`effect_key` does,
        with the pass (or the call passing the network on) in ``function`` and whether it
        is in a loop; calls of the file followed a few levels deep."""
        summary = self.summaries.get(function)
        if summary is None or summary.grad or depth > 3:
            return {}
        result = dict(summary.runs if no_grad else summary.evaluates)
        for action in summary.actions:
            if action[0] != "call":
                continue
            site: CallSite = action[1]
            callee = self.callee(site.keys)
            if callee is None or callee == function:
                continue
            inner = self.summaries[callee]
            deeper = self.evaluations_of(callee, no_grad or site.no_grad, depth + 1)
            for key, (_, in_loop) in deeper.items():
                if key.startswith("param:"):
                    text = _argument(site, inner, int(key[6:]))
                    if text is None or site.modes.get(text) is not None:
                        continue  # a network whose mode the caller knows: judged there
                    head = text.partition(".")[0]
                    if text in summary.params:
                        key = f"param:{summary.params[text]}"
                    elif head == "self":
                        key = text
                    elif head not in summary.params and head not in summary.assigned:
                        key = f"global:{text}"
                    else:
                        continue
                result.setdefault(key, (site.node, in_loop or site.in_loop))
        return result

    def effects_of(self, function: str, depth: int = 0) -> dict[str, tuple[str, cst.CSTNode]]:
        """The last mode ``function`` leaves each network it can reach in, its calls of
        functions of the file followed (a few levels deep): ``{"param:0": ("eval", node)}``."""
        summary = self.summaries.get(function)
        if summary is None or depth > 3:
            return {}
        result: dict[str, tuple[str, cst.CSTNode]] = {}
        for action in summary.actions:
            if action[0] == "set":
                result[action[1]] = (action[2], action[3])
                continue
            site: CallSite = action[1]
            callee = self.callee(site.keys)
            if callee is None or callee == function or id(site) in self._applied:
                continue
            inner = self.summaries[callee]
            for key, (state, _) in self.effects_of(callee, depth + 1).items():
                if key.startswith("param:"):
                    text = _argument(site, inner, int(key[6:]))
                    if text is None:
                        continue
                    head = text.partition(".")[0]
                    if text in summary.params:
                        key = f"param:{summary.params[text]}"
                    elif head == "self":
                        key = text
                    elif head not in summary.params and head not in summary.assigned:
                        key = f"global:{text}"
                    else:
                        continue
                result[key] = (state, site.node)
        return result

    def scope_done(self, scope: Scope) -> None:
        if scope.kind != "function":
            return
        self.summaries[scope.qualname] = Summary(
            dict(scope.params),
            list(scope.notes.get("actions", ())),
            frozenset(scope.notes.get("assigned", ())),
            [e for e in scope.events if e.kind in (TRAIN, EVAL, "training", "call")],
            frozenset(scope.notes.get("forwards", ())),
            any(e.kind == "grad" for e in scope.events),
            dict(scope.notes.get("evaluates", {})),
            dict(scope.notes.get("runs", {})),
        )


def _network_text(expr: cst.BaseExpression) -> str | None:
    """The network a chain starts from: ``model.to(device)`` -> ``model``."""
    while isinstance(expr, cst.Call):
        method = call_method(expr)
        if method is None or method[1] not in _PASS_THROUGH:
            return None
        expr = method[0]
    return text_of(expr)


def _argument(site: CallSite, summary: Summary, index: int) -> str | None:
    """The text of the argument a call passes for the callee's parameter ``index``."""
    found = site.args.get(index)
    if found is None:
        for name, position in summary.params.items():
            if position == index:
                found = site.args.get(name)
                break
    return found[0] if found is not None else None


def _forward(node: cst.Call) -> tuple[str, str] | None:
    """``(network text, method)`` when ``node`` runs a forward pass: ``model(x)``,
    ``model.forward(x)``, ``encoder.encode(x)``, ``model.generate(...)``."""
    func = node.func
    if isinstance(func, cst.Attribute) and (
        func.attr.value in _FORWARD_METHODS or func.attr.value == _GENERATE
    ):
        text = text_of(func.value)
        return (text, func.attr.value) if text is not None else None
    if isinstance(func, (cst.Name, cst.Attribute)):
        text = text_of(func)
        return (text, "__call__") if text is not None else None
    return None


def _targets(expr: cst.BaseExpression) -> list[str]:
    if isinstance(expr, cst.Name):
        return [expr.value]
    if isinstance(expr, (cst.Tuple, cst.List)):
        return [n for e in expr.elements for n in _targets(e.value)]
    if isinstance(expr, cst.StarredElement):
        return _targets(expr.value)
    text = text_of(expr)
    return [text] if text is not None else []


# --- MLD516 -------------------------------------------------------------------------------------


class EvalModeNotToggled(_EvaluationFlow):
    # An evaluation under no_grad, or an eval()/train() switch, must be in the file.
    pattern = re.compile(r"no_grad|inference_mode|set_grad_enabled|\.eval\(\)|\.train\(")
    code = "MLD516"
    name = "eval-mode-not-toggled"
    category = "ml-api-misuse"
    severity = Severity.WARNING
    debt_minutes = 5.0
    tags = ("pytorch", "transformers")
    summary = (
        "A network evaluated in training mode, or left in eval mode by an evaluation inside "
        "a training loop."
    )
    what = (
        "Two mistakes with `model.train()` / `model.eval()`. (1) A forward pass under "
        "`torch.no_grad()` / `torch.inference_mode()` (as `with` or decorator), the shape of "
        "an evaluation, on a network still in training mode: the last mode set on it in the "
        "function or notebook was `.train()`, or it was built (`Net()`, `build_model()`, "
        "`nn.Sequential(...)`; every module starts in training mode) and never switched to "
        "`.eval()`, neither directly nor by a helper of the file it was passed to "
        "(`validate(model)` that calls `model.eval()`). A helper that evaluates a network it "
        "is given without switching it is reported when a call in the file passes a network "
        "in training mode. (2) A training loop (one with `.backward()` or an optimizer "
        "`step()`) that switches a network to eval mode (`model.eval()` or a helper that "
        "does) and never back: nothing in the loop calls `.train()`, so every pass after the "
        "first evaluation trains in eval mode. `from_pretrained` returns a network in eval "
        "mode; `torch.load`, `torch.jit.load` and `torch.hub.load` keep an unknown mode and "
        "are not judged; losses and `torch.nn` layers whose output ignores the mode "
        "(`nn.Linear`) are left alone."
    )
    why = (
        "Zhang et al. (CAIN 2022), *Training / Evaluation Mode Improper Toggling*: dropout "
        "and batch normalisation behave differently in the two modes. Evaluating in training "
        "mode drops activations at random and normalises with (and updates) batch "
        "statistics, so metrics are noisy and wrong and the running statistics drift; "
        "training after an `eval()` that is never undone disables dropout and freezes "
        "batch-norm statistics for the rest of training. Nothing fails: results are just "
        "worse, and differ from those of the deployed model."
    )
    limits = (
        "Modes are followed in source order within a function or notebook, without merging "
        "branches (the textually last switch wins). A network in an unknown mode (a "
        "parameter no call of the file explains, an attribute set elsewhere, a loaded "
        "checkpoint) is not judged, nor are evaluations outside a no-grad block (see "
        "MLD521 for those). Helpers are followed one level deep, within the file. A "
        "network without dropout or batch norm, built in another file, is reported although "
        "its mode changes nothing."
    )
    examples = (
        BAD(
            """
            import torch

            model.train()
            for epoch in range(args.epochs):
                for x, y in train_loader:
                    optimizer.zero_grad()
                    criterion(model(x), y).backward()
                    optimizer.step()
                model.eval()
                with torch.no_grad():
                    acc = sum((model(x).argmax(1) == y).sum() for x, y in val_loader)
            """,
            expect=1,
        ),
        BAD(
            """
            # %%
            import torch
            from transformers import AutoModelForSequenceClassification
            model = AutoModelForSequenceClassification.from_pretrained("distilbert-base-uncased")
            # %%
            model.train()
            for batch in train_loader:
                model(**batch).loss.backward()
                optimizer.step()
                optimizer.zero_grad()
            # %%
            with torch.no_grad():
                logits = [model(**batch).logits for batch in test_loader]
            """,
            path="finetune.ipynb",
            expect=1,
        ),
        BAD(
            """
            import torch
            from models import build_model

            def extract(encoder, loader):
                with torch.no_grad():
                    return torch.cat([encoder.encode(x) for x, _ in loader])

            def main():
                encoder = build_model("tcn")
                encoder.load_state_dict(torch.load("encoder.pt"))
                features = extract(encoder, loader)
            """,
            expect=1,
        ),
        BAD(
            """
            import torch as T

            class Trainer:
                def evaluate(self):
                    self.model.eval()
                    with T.no_grad():
                        return sum(self.metric(self.model(x), y) for x, y in self.val)

                def fit(self):
                    self.model.train()
                    for step, (x, y) in enumerate(self.train_loader):
                        self.loss_fn(self.model(x), y).backward()
                        self.optimizer.step()
                        self.optimizer.zero_grad()
                        if step % 500 == 0:
                            self.evaluate()
            """,
            expect=1,
        ),
        GOOD(
            """
            import torch

            def train_one_epoch(model, loader, optimizer, criterion):
                model.train()
                for x, y in loader:
                    optimizer.zero_grad()
                    criterion(model(x), y).backward()
                    optimizer.step()

            @torch.no_grad()
            def validate(model, loader):
                model.eval()
                return [model(x).argmax(1) for x, _ in loader]

            for epoch in range(epochs):
                train_one_epoch(model, train_loader, optimizer, criterion)
                predictions = validate(model, val_loader)
            """
        ),
        GOOD(
            """
            # %%
            import torch
            from transformers import AutoModel, AutoTokenizer
            # %%
            model = AutoModel.from_pretrained("bert-base-uncased").to("cuda")
            tokenizer = AutoTokenizer.from_pretrained("bert-base-uncased")
            # %%
            with torch.inference_mode():
                enc = tokenizer(texts, return_tensors="pt", padding=True)
                embeddings = model(**enc).last_hidden_state[:, 0]
            """,
            path="embed.ipynb",
        ),
        GOOD(
            """
            import torch
            import torch.nn as nn

            probe = nn.Linear(256, 10)
            criterion = nn.CrossEntropyLoss()
            net = torch.jit.load("net.pt")
            with torch.no_grad():
                logits = probe(features)
                loss = criterion(logits, labels)
                out = net(x)
            for epoch in range(10):
                model.train()
                for x, y in loader:
                    loss_fn(model(x), y).backward()
                    optimizer.step()
                    optimizer.zero_grad()
                model.eval()
                evaluate(model)
            """
        ),
    )

    def __init__(self, context: Any, options: Any) -> None:
        super().__init__(context, options)
        #: Evaluations of a parameter in an unknown mode: (function, index, name, node).
        self.training_loops: list[tuple[Loop, str, list[Event]]] = []

    def on_forward(self, node: cst.Call, text: str, method: str, mode: Mode | None) -> None:
        if not self.grad_off() or _LOSS_NAME.search(last_name(text)):
            return
        if mode is None:
            return  # judged where the function is called (see _evaluations)
        if mode.state == EVAL or not self.matters(mode):
            return
        if mode.state == FRESH and not self.in_loop():
            return  # one forward pass on a new network: a shape probe or a test, not evaluation
        self._report_training_mode(node, text, mode)

    def _report_training_mode(
        self, node: cst.Call, text: str, mode: Mode, basis: str | None = None
    ) -> None:
        if mode.state == TRAIN:
            message = (
                f"`{text}` is evaluated in training mode: the last mode set on it was "
                "`.train()`, so dropout is on and batch norm uses (and updates) batch "
                f"statistics. Call `{text}.eval()` before evaluating."
            )
            where = "put in training mode here"
        else:
            message = (
                f"`{text}` is evaluated in training mode: it was built in training mode "
                "(every nn.Module starts in it) and never switched with `.eval()`, so dropout "
                f"is on and batch norm uses batch statistics. Call `{text}.eval()` before "
                "evaluating."
            )
            where = "built here, in training mode"
        related = [(mode.node, where)] if mode.node is not None else []
        self.report(node, message, basis=basis, related=related)

    def loop_done(self, loop: Loop, scope: Scope) -> None:
        self.training_loops.append((loop, scope.qualname, list(loop.events)))

    def module_done(self, scope: Scope) -> None:
        self._evaluations()
        self._loops()

    def _evaluations(self) -> None:
        """Calls of functions of the file that evaluate a network they are given (or a
        module-level one, or ``self.model``) while it is in training mode."""
        reported: set[int] = set()
        for site in self.sites:
            callee = self.callee(site.keys)
            if callee is None:
                continue
            summary = self.summaries[callee]
            for key, (node, in_loop) in self.evaluations_of(callee, site.no_grad).items():
                if id(node) in reported:
                    continue
                if key.startswith("param:"):
                    text = _argument(site, summary, int(key[6:]))
                else:
                    text = key.removeprefix("global:")
                mode = site.modes.get(text) if text is not None else None
                if text is None or mode is None or mode.state == EVAL or not self.matters(mode):
                    continue
                if mode.state == FRESH and not in_loop:
                    continue
                reported.add(id(node))
                short = callee.rpartition(".")[2]
                state = "built in training mode and never switched with `.eval()`"
                if mode.state == TRAIN:
                    state = "still in training mode (the last mode set on it was `.train()`)"
                message = (
                    f"`{short}()` evaluates `{text}` under no_grad, and `{text}` is {state} "
                    "when it is called: dropout is on and batch norm uses batch statistics. "
                    f"Call `{text}.eval()` before evaluating."
                )
                related: list[tuple[cst.CSTNode, str]] = [(site.node, f"`{short}()` called here")]
                if mode.node is not None:
                    related.append((mode.node, "its mode set here"))
                self.report(
                    node,
                    message,
                    basis=f"{callee}|{self.context.node_source(node)}",
                    related=related,
                )

    def _loops(self) -> None:
        """Replays each loop's body twice, helpers of the file expanded: a training step
        reached while an eval() of the loop is still in effect is the mistake."""
        reported: set[int] = set()
        for loop, where, events in self.training_loops:
            sequence: list[tuple[str, Event]] = []
            for event in events:
                if event.kind in (TRAIN, EVAL, "training"):
                    sequence.append((event.kind, event))
                elif event.kind == "call":
                    callee = self.callee(event.info.keys)
                    if callee is not None:
                        sequence.extend((kind, event) for kind in self.tokens_of(callee))
            state: str | None = None
            switched: Event | None = None
            for kind, event in sequence * 2:
                if kind == TRAIN:
                    state = TRAIN
                elif kind == EVAL:
                    state, switched = EVAL, event
                elif state == EVAL and switched is not None and id(switched.node) not in reported:
                    reported.add(id(switched.node))
                    if switched.kind == "call":
                        what = f"`{switched.info.keys[0].rpartition('.')[2]}()`"
                    else:
                        what = f"`{switched.key}.eval()`"
                    self.report(
                        switched.node,
                        f"{what} switches to eval mode inside this training loop and nothing "
                        "in the loop switches back with `.train()` before the next training "
                        "step: every later pass trains with dropout off and batch-norm "
                        "statistics frozen. Call `model.train()` at the start of each epoch "
                        "or after evaluating.",
                        basis=f"{where}|{self.context.node_source(switched.node)}",
                        related=[(loop.node, "the training loop")],
                    )
                    break

    def tokens_of(self, function: str, depth: int = 0) -> list[str]:
        """What ``function`` does, in order: ``"train"``, ``"eval"`` and ``"training"``
        (a backward pass or an optimizer step), its calls of the file expanded."""
        summary = self.summaries.get(function)
        if summary is None or depth > 3:
            return []
        tokens: list[str] = []
        for event in summary.events:
            if event.kind in (TRAIN, EVAL, "training"):
                tokens.append(event.kind)
            elif event.kind == "call":
                callee = self.callee(event.info.keys)
                if callee is not None and callee != function:
                    tokens.extend(self.tokens_of(callee, depth + 1))
        return tokens


# --- MLD521 -------------------------------------------------------------------------------------


class NoGradMissing(_EvaluationFlow):
    # A network must be put in eval mode in the file (docstring examples start with >>>).
    pattern = re.compile(
        r"\.eval\(\)|\.train\((?:mode\s*=\s*)?False|^[ \t]*[\w.]+[ \t]*=[^\n]*from_pretrained\(",
        re.MULTILINE,
    )
    skip_paths = TEST_FILES
    code = "MLD521"
    name = "no-grad-missing"
    category = "ml-api-misuse"
    severity = Severity.WARNING
    debt_minutes = 5.0
    tags = ("pytorch", "transformers")
    summary = (
        "Inference with a network in eval mode outside `torch.no_grad()` / "
        "`torch.inference_mode()`: autograd records every forward pass for nothing."
    )
    what = (
        "A forward pass (`model(x)`, `model.forward(x)`, `model.encode(x)`, or a call of a "
        "helper of the file that runs one on the network it is given, with autograd on, like "
        "`greedy_decode(model, src)`) on a network "
        "known to be in eval mode at that point (`model.eval()` earlier in the function or "
        "notebook, a helper of the file that switches it, or `from_pretrained`), outside "
        "any `torch.no_grad()`, `torch.inference_mode()`, `torch.set_grad_enabled(...)` or "
        "`torch.enable_grad()` block or decorator and after no `torch.set_grad_enabled(False)`, "
        "where nothing uses gradients: no `.backward()`, optimizer `step()`, "
        "`torch.autograd.grad`, `requires_grad_()` in the loop around the forward pass (or in "
        "the function, or notebook, when it is not in a loop). A function whose every such "
        "forward pass is reached from a call of the file inside `torch.no_grad()` is left "
        "alone. `model.generate(...)` runs under `no_grad` itself and is never reported."
    )
    why = (
        "An ML API misuse next to Zhang et al.'s (CAIN 2022) *Training / Evaluation Mode "
        "Improper Toggling*: `eval()` changes dropout and batch norm but does not turn "
        "autograd off. Without `no_grad()`, every activation of every batch is kept for a "
        "backward pass that never comes: evaluation uses several times the memory, runs "
        "slower, and outputs carry `grad_fn` (hence `.detach()` calls sprinkled around)."
    )
    limits = (
        "Only networks whose eval mode is visible in the same function or notebook (or set "
        "by a helper of the file) are judged; a network put in eval mode elsewhere is not. "
        "Gradient uses in other functions (a caller that backpropagates through the "
        "returned outputs) are not seen; saliency and adversarial code in eval mode usually "
        "calls `backward()` or `autograd.grad` in the same loop and is left alone. Test "
        "files (`tests/`, `test_*.py`, `*_test.py`) are skipped: their small forward passes "
        "compare outputs, and the memory autograd keeps there does not matter."
    )
    examples = (
        BAD(
            """
            import torch

            def collect_embeddings(model, loader, device):
                model.eval()
                feats = []
                for x, _ in loader:
                    feats.append(model.encode(x.to(device)).detach().cpu())
                return torch.cat(feats)
            """,
            expect=1,
        ),
        BAD(
            """
            # %%
            import numpy as np
            import torch
            from transformers import AutoModelForSequenceClassification as AutoCls
            # %%
            model = AutoCls.from_pretrained("distilbert-base-uncased-finetuned-sst-2-english")
            scores = []
            for enc in batches:
                outputs = model(**enc)
                scores.append(outputs.logits.softmax(-1)[:, 1].detach().numpy())
            """,
            path="zero_shot.ipynb",
            expect=1,
        ),
        BAD(
            """
            import torch.nn as nn

            @torch.no_grad()
            def validate(model, loader):
                model.eval()
                return [model(x) for x, _ in loader]

            def predict(model, loader):
                validate(model, loader)
                return [model(x).argmax(1) for x, _ in loader]
            """,
            expect=1,
        ),
        BAD(
            """
            import torch

            def greedy_decode(model, src, max_len):
                memory = model.encode(src)
                ys = src[:1]
                for _ in range(max_len):
                    ys = torch.cat([ys, model.decode(ys, memory).argmax(-1)[-1:]])
                return ys

            def generate_with_cache(model, idx, steps):
                for _ in range(steps):
                    with torch.no_grad():
                        idx = torch.cat([idx, model(idx)[:, -1:].argmax(-1)], dim=1)
                return idx

            def translate(model, sentences):
                model.eval()
                cached = [generate_with_cache(model, s, 20) for s in sentences]
                return [greedy_decode(model, s, 50) for s in sentences]
            """,
            expect=1,
        ),
        GOOD(
            """
            import torch

            @torch.inference_mode()
            def evaluate(model, loader):
                model.eval()
                return torch.cat([model(x).softmax(-1) for x, _ in loader])

            def saliency(model, x, target):
                model.eval()
                x.requires_grad_()
                model(x)[0, target].backward()
                return x.grad.abs()
            """
        ),
        GOOD(
            """
            # %%
            import torch
            from transformers import AutoModel
            model = AutoModel.from_pretrained("bert-base-uncased")
            # %%
            with torch.no_grad():
                hidden = model(**batch).last_hidden_state
            generated = model.generate(**batch, max_new_tokens=20)
            # %%
            model.train()
            for batch in loader:
                model(**batch).loss.backward()
                optimizer.step()
                optimizer.zero_grad()
            """,
            path="hf.ipynb",
        ),
        GOOD(
            """
            import torch

            def run_eval(model, loader):
                model.eval()
                return [model(x) for x, _ in loader]

            def main():
                with torch.no_grad():
                    outputs = run_eval(model, loader)
                with torch.set_grad_enabled(phase == "train"):
                    model.eval()
                    for x, _ in loader:
                        model(x)
            """
        ),
    )

    def __init__(self, context: Any, options: Any) -> None:
        super().__init__(context, options)
        #: Candidates that passed the local checks: (node, text, scope qualname, scope kind).
        self.pending: list[tuple[cst.CSTNode, str, str, str, Any]] = []

    def on_forward(self, node: cst.Call, text: str, method: str, mode: Mode | None) -> None:
        if method == _GENERATE or mode is None or mode.state != EVAL:
            return
        if self.scope.notes.get("grad_off") or grad_handled(self.context.resolver.contexts):
            return
        self._candidate((node, text, None))

    def on_call(self, site: CallSite) -> None:
        if self.scope.notes.get("grad_off") or grad_handled(self.context.resolver.contexts):
            return
        for slot, (text, mode) in site.args.items():
            if mode is not None and mode.state == EVAL:
                self._candidate((site.node, text, (site, slot)))

    def _candidate(self, candidate: tuple[cst.CSTNode, str, Any]) -> None:
        loops = self.scope.loops
        holder = loops[-1].notes if loops else self.scope.notes
        holder.setdefault("inference", []).append(candidate)

    def loop_done(self, loop: Loop, scope: Scope) -> None:
        self._settle(loop.notes.get("inference", ()), loop.events, scope)

    def scope_done(self, scope: Scope) -> None:
        super().scope_done(scope)
        self._settle(scope.notes.get("inference", ()), scope.events, scope)

    def _settle(self, candidates: Any, events: list[Event], scope: Scope) -> None:
        if not candidates or any(e.kind == "grad" for e in events):
            return
        for node, text, via in candidates:
            self.pending.append((node, text, scope.qualname, scope.kind, via))

    def module_done(self, scope: Scope) -> None:
        self._settle(scope.notes.get("inference", ()), scope.events, scope)
        guarded = {key for site in self.sites if site.no_grad for key in site.keys}
        reported: set[int] = set()
        # One finding per helper and network: calling `predict(model, x)` for five examples
        # is one habit to fix, so the later calls are the first one's related locations.
        helper_calls: dict[tuple[str, str], list[cst.CSTNode]] = {}
        for node, text, where, kind, via in self.pending:
            if (kind == "function" and where in guarded) or id(node) in reported:
                continue
            if via is None:
                message = (
                    f"`{text}` is in eval mode but this forward pass runs with autograd on: "
                    "every activation is kept for a backward pass that never comes. Wrap the "
                    "evaluation in `with torch.no_grad():` (or `torch.inference_mode()`)."
                )
            else:
                site, slot = via
                callee = self.callee(site.keys)
                if callee is None:
                    continue
                index = slot if isinstance(slot, int) else self.summaries[callee].params.get(slot)
                if index is None or index not in self.forwards_of(callee):
                    continue
                reported.add(id(node))
                helper_calls.setdefault((callee, text), []).append(node)
                continue
            reported.add(id(node))
            self.report(node, message, basis=f"{where}|{self.context.node_source(node)}")
        for (callee, text), calls in helper_calls.items():
            short = callee.rpartition(".")[2]
            more = f" ({len(calls)} such calls)" if len(calls) > 1 else ""
            message = (
                f"`{text}` is in eval mode and `{short}()` runs its forward pass with "
                f"autograd on{more}: every activation is kept for a backward pass that never "
                "comes. Wrap the call in `with torch.no_grad():` (or "
                "`torch.inference_mode()`), or decorate the helper with `@torch.no_grad()`."
            )
            related = [(call, f"`{short}()` called again here") for call in calls[1:]]
            basis = f"{callee}|{text}"
            self.report(calls[0], message, basis=basis, related=related)
