"""Shared machinery for the deep-learning rules (MLD512, MLD515-MLD518, MLD521).

These rules reason about *where* a call happens in a training or evaluation script: inside
which loop of which function, under which block, before or after which other call. The
resolver answers "what is this name" and "which ``with`` is around this point"; this module
adds what the rules need on top:

* :class:`GatedRule` switches a rule off for files that cannot concern it (no ``torch`` in
  the text, say), so most files cost it nothing;
* :class:`FlowRule` keeps a stack of scopes (module, class, function) with their loops and
  blocks, and lets a rule attach events (a ``backward()``, a ``zero_grad()``...) to the
  innermost loop; a loop's events are handed to the rule when the loop is left and then
  merged into the enclosing loop, so an outer loop sees everything its inner loops saw;
* small helpers that read receivers (``self.optimizer``), tell optimizer-like and
  model-like names, and recognise gradient contexts.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import libcst as cst

from mldebt.resolve.names import dotted
from mldebt.rule import FileRule
from mldebt.traversal import callback_names

# --- gating ------------------------------------------------------------------------------------


class GatedRule(FileRule):
    """A file rule that only runs on files whose text contains one of ``needles``.

    The shared traversal asks each visitor for its callbacks once per file; a rule that
    cannot fire on a file returns none and costs nothing there.
    """

    needles: ClassVar[tuple[str, ...]] = ()
    #: A stricter test, run on files that have a needle: the rule runs only if it matches.
    pattern: ClassVar[re.Pattern[str] | None] = None
    #: Files the rule does not look at (by their path relative to the project root).
    skip_paths: ClassVar[re.Pattern[str] | None] = None

    def get_visitors(self) -> Mapping[str, Callable[[Any], None]]:
        if self.skip_paths is not None and self.skip_paths.search(self.context.path):
            return {}
        text = self.context.text
        if self.needles and not any(needle in text for needle in self.needles):
            return {}
        if self.pattern is not None and not self.pattern.search(text):
            return {}
        return {name: getattr(self, name) for name in callback_names(type(self))}


#: Test files: ``tests/`` and ``test/`` folders, ``test_*.py``, ``*_test.py``, ``tests.py``,
#: ``conftest.py``.
TEST_FILES = re.compile(
    r"(?:^|/)(?:tests?|testing)/|(?:^|/)test_[^/]*$|_tests?\.py$|(?:^|/)(?:tests?|conftest)\.py$"
)

# --- reading expressions --------------------------------------------------------------------------


def text_of(expr: cst.BaseExpression) -> str | None:
    """``model``, ``self.optimizer``, ``optimizers[]`` (any subscript): a receiver as text."""
    if isinstance(expr, cst.Subscript):
        base = dotted(expr.value)
        return f"{base}[]" if base is not None else None
    return dotted(expr)


def last_name(text: str) -> str:
    """The last segment of a receiver text (``self.model`` -> ``model``)."""
    return text.rpartition(".")[2].removesuffix("[]")


_OPTIMIZER_NAME = re.compile(r"optim|^opt(?:_|\d|$)|_opt(?:_|\d|$)", re.IGNORECASE)
_NOT_OPTIMIZER_NAME = re.compile(r"sched|lr_|warmup", re.IGNORECASE)


def optimizer_like(text: str) -> bool:
    """``optimizer``, ``opt_g``, ``self.optim``, ``optimizers[]``: named like an optimizer."""
    name = last_name(text)
    return bool(_OPTIMIZER_NAME.search(name)) and not _NOT_OPTIMIZER_NAME.search(name)


_MODEL_WORDS = frozenset(
    {
        "model",
        "models",
        "net",
        "network",
        "module",
        "encoder",
        "decoder",
        "backbone",
        "classifier",
        "probe",
        "generator",
        "discriminator",
        "critic",
        "actor",
        "policy",
        "teacher",
        "student",
        "unet",
        "vae",
        "autoencoder",
        "detector",
        "segmenter",
        "regressor",
        "transformer",
        "bert",
        "gpt",
        "llm",
        "resnet",
        "cnn",
        "rnn",
        "lstm",
        "mlp",
    }
)
_CAMEL = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")


def model_like(text: str) -> bool:
    """``model``, ``encoder``, ``netG``, ``text_model``, ``self.student``: named like a network."""
    name = last_name(text)
    words = [w.lower() for part in name.split("_") for w in _CAMEL.findall(part)]
    return any(word in _MODEL_WORDS for word in words)


def call_method(call: cst.Call) -> tuple[cst.BaseExpression, str] | None:
    """``(receiver, method)`` for ``receiver.method(...)``."""
    func = call.func
    if isinstance(func, cst.Attribute):
        return func.value, func.attr.value
    return None


def is_false(expr: cst.BaseExpression | None) -> bool:
    return isinstance(expr, cst.Name) and expr.value == "False"


def is_true(expr: cst.BaseExpression | None) -> bool:
    return isinstance(expr, cst.Name) and expr.value == "True"


_NO_GRAD_CONTEXTS = ("no_grad", "inference_mode", "inference_context")
_GRAD_CONTEXTS = (*_NO_GRAD_CONTEXTS, "set_grad_enabled", "enable_grad")


def grad_handled(contexts: tuple[str, ...]) -> bool:
    """A ``with``/decorator around this point that decides whether autograd records:
    ``torch.no_grad``, ``torch.inference_mode``, ``torch.set_grad_enabled(...)``,
    ``torch.enable_grad`` (by the last part of the name, so wrappers count too)."""
    return any(c.endswith(_GRAD_CONTEXTS) for c in contexts)


def no_grad_context(contexts: tuple[str, ...]) -> bool:
    """Inside ``torch.no_grad()`` / ``torch.inference_mode()`` (with or decorator)."""
    return any(c.endswith(_NO_GRAD_CONTEXTS) for c in contexts)


# --- scopes, loops and events -------------------------------------------------------------------


@dataclass(eq=False)
class Event:
    """Something a rule noted at a point of the walk (a call, an assignment...)."""

    kind: str
    node: cst.CSTNode
    key: str = ""
    #: The blocks (``IndentedBlock``/``SimpleStatementSuite``) around the point, outermost first.
    blocks: tuple[int, ...] = ()
    order: int = 0
    info: Any = None


@dataclass(eq=False)
class Loop:
    node: cst.For | cst.While
    events: list[Event] = field(default_factory=list)
    #: Rule-specific notes about the loop.
    notes: dict[str, Any] = field(default_factory=dict)


@dataclass(eq=False)
class Scope:
    kind: str  # "module" | "class" | "function"
    qualname: str
    node: cst.CSTNode
    #: Parameter names (``self``/``cls`` of methods left out) and their positions.
    params: dict[str, int] = field(default_factory=dict)
    loops: list[Loop] = field(default_factory=list)
    blocks: list[int] = field(default_factory=list)
    #: Events outside any loop of this scope.
    events: list[Event] = field(default_factory=list)
    notes: dict[str, Any] = field(default_factory=dict)


class FlowRule(GatedRule):
    """A gated rule that follows scopes, loops and blocks in source order.

    Subclasses call :meth:`note` to attach events to the innermost loop (or to the scope
    when there is none) and override :meth:`loop_done`, :meth:`scope_done` and
    :meth:`module_done`, which run when the traversal leaves a loop, a function or class,
    and the module. Hooks that decide later than the node's own visit must not ask the
    resolver about stored nodes: everything they need is stored in the events.
    """

    def __init__(self, context: Any, options: Any) -> None:
        super().__init__(context, options)
        self.scopes: list[Scope] = [Scope("module", "", context.module)]
        self._order = 0

    # --- hooks for subclasses ----------------------------------------------------------------

    def loop_done(self, loop: Loop, scope: Scope) -> None:
        """Called when a loop is left, before its events move to the enclosing loop."""

    def scope_done(self, scope: Scope) -> None:
        """Called when a function or class is left."""

    def module_done(self, scope: Scope) -> None:
        """Called once the module is left."""

    # --- state for subclasses ----------------------------------------------------------------

    @property
    def scope(self) -> Scope:
        return self.scopes[-1]

    @property
    def function_scope(self) -> Scope | None:
        for scope in reversed(self.scopes):
            if scope.kind == "function":
                return scope
        return None

    @property
    def class_name(self) -> str | None:
        """The class whose method the walk is in (its qualified name), if any."""
        if len(self.scopes) >= 2 and self.scopes[-1].kind == "function":
            outer = self.scopes[-2]
            if outer.kind == "class":
                return outer.qualname
        return None

    def note(self, kind: str, node: cst.CSTNode, key: str = "", info: Any = None) -> Event:
        scope = self.scope
        self._order += 1
        event = Event(kind, node, key, tuple(scope.blocks), self._order, info)
        if scope.loops:
            scope.loops[-1].events.append(event)
        else:
            scope.events.append(event)
        return event

    def loop_events(self) -> list[Event]:
        """Events of the innermost open loop so far (its inner loops' included)."""
        loops = self.scope.loops
        return loops[-1].events if loops else []

    # --- traversal ------------------------------------------------------------------------------

    def _push(self, kind: str, node: cst.FunctionDef | cst.ClassDef) -> Scope:
        outer = next((s for s in reversed(self.scopes) if s.kind != "module"), None)
        prefix = f"{outer.qualname}." if outer is not None else ""
        scope = Scope(kind, prefix + node.name.value, node)
        self.scopes.append(scope)
        return scope

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._push("class", node)

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        if len(self.scopes) > 1 and self.scopes[-1].node is original_node:
            self.scope_done(self.scopes.pop())

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        in_class = self.scope.kind == "class"
        scope = self._push("function", node)
        params = [*node.params.posonly_params, *node.params.params]
        decorators = {
            d.decorator.value for d in node.decorators if isinstance(d.decorator, cst.Name)
        }
        if in_class and params and "staticmethod" not in decorators:
            params = params[1:]
        for index, param in enumerate(params):
            scope.params[param.name.value] = index
        for param in node.params.kwonly_params:
            scope.params[param.name.value] = -1

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        if len(self.scopes) > 1 and self.scopes[-1].node is original_node:
            self.scope_done(self.scopes.pop())

    def visit_For(self, node: cst.For) -> None:
        self.scope.loops.append(Loop(node))

    def leave_For(self, original_node: cst.For) -> None:
        self._leave_loop(original_node)

    def visit_While(self, node: cst.While) -> None:
        self.scope.loops.append(Loop(node))

    def leave_While(self, original_node: cst.While) -> None:
        self._leave_loop(original_node)

    def _leave_loop(self, node: cst.For | cst.While) -> None:
        scope = self.scope
        if not scope.loops or scope.loops[-1].node is not node:
            return
        loop = scope.loops.pop()
        self.loop_done(loop, scope)
        target = scope.loops[-1].events if scope.loops else scope.events
        target.extend(loop.events)

    def visit_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        self.scope.blocks.append(id(node))

    def leave_IndentedBlock(self, original_node: cst.IndentedBlock) -> None:
        self._leave_block(original_node)

    def visit_SimpleStatementSuite(self, node: cst.SimpleStatementSuite) -> None:
        self.scope.blocks.append(id(node))

    def leave_SimpleStatementSuite(self, original_node: cst.SimpleStatementSuite) -> None:
        self._leave_block(original_node)

    def _leave_block(self, node: cst.BaseSuite) -> None:
        blocks = self.scope.blocks
        if blocks and blocks[-1] == id(node):
            blocks.pop()

    def leave_Module(self, original_node: cst.Module) -> None:
        self.module_done(self.scopes[0])


def encloses(outer: Event, inner: Event) -> bool:
    """Whether ``outer``'s innermost block contains ``inner`` (so ``outer`` runs whenever
    ``inner`` does, within one pass of the loop)."""
    return inner.blocks[: len(outer.blocks)] == outer.blocks
