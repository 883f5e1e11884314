"""MLD515: a tensor grown by ``tf.concat`` in a graph loop instead of a ``tf.TensorArray``."""

from __future__ import annotations

from typing import Any

import libcst as cst

from mldebt.findings import Severity
from mldebt.resolve import kinds
from mldebt.resolve.kinds import argument
from mldebt.rule import BAD, GOOD
from mldebt_rules._torch_flow import FlowRule

_CONCATS = frozenset(
    {
        "tensorflow.concat",
        "tensorflow.experimental.numpy.concatenate",
        "tensorflow.experimental.numpy.append",
        "keras.ops.concatenate",
        "keras.ops.append",
        "keras.backend.concatenate",
    }
)
_CALL_NAMES = frozenset({name.rpartition(".")[2] for name in _CONCATS} | {"while_loop"})
_GRAPH_FUNCTIONS = ("tensorflow.function", "tensorflow.autograph.experimental.do_not_convert")


class TensorArrayNotUsed(FlowRule):
    code = "MLD515"
    name = "tensorarray-not-used"
    category = "ml-api-misuse"
    severity = Severity.WARNING
    debt_minutes = 15.0
    tags = ("tensorflow",)
    needles = ("tensorflow", "keras")
    summary = (
        "A tensor grown with `tf.concat` on every pass of a loop that TensorFlow compiles into "
        "a graph loop; use `tf.TensorArray`."
    )
    what = (
        "`x = tf.concat([x, new], axis)` (or `[new, x]`; also `tf.experimental.numpy.append` "
        "and `keras.ops.concatenate`) where `x` is the tensor being grown, inside a loop "
        "TensorFlow turns into a `tf.while_loop`: a `for` over `tf.range(...)` or over a "
        "tensor, or a `while` whose condition involves tensors, in a `@tf.function`; and in "
        "the body function (or lambda) given to `tf.while_loop`. A sliding window "
        "(`tf.concat([x[:, 1:], new], 1)`) keeps its size and is not reported, nor are Python "
        "loops that AutoGraph unrolls (`for layer in self.blocks:` in a DenseNet-style "
        "concatenation), nor eager loops outside `tf.function` (MLD501 covers growing "
        "tensors in plain loops)."
    )
    why = (
        "Zhang et al. (CAIN 2022), *TensorArray Not Used*: in a graph loop a tensor whose "
        "shape changes every iteration breaks TensorFlow's loop shape invariants (an error, "
        "or `shape_invariants` that give up on static shapes), and each pass copies the "
        "whole tensor, so the loop is quadratic. `tf.TensorArray` writes one element per "
        "iteration and `stack()`s once."
    )
    limits = (
        "Functions compiled with `tf.function(f)` instead of the decorator are not seen as "
        "graph code, and a `while` condition is recognised as a tensor one only when it "
        "calls TensorFlow or names a value known to be a tensor."
    )
    examples = (
        BAD(
            """
            import tensorflow as tf

            @tf.function
            def rollout(model, window, steps):
                preds = tf.zeros((tf.shape(window)[0], 0))
                for _ in tf.range(steps):
                    nxt = model(window, training=False)
                    preds = tf.concat([preds, nxt], axis=1)
                return preds
            """,
            expect=1,
        ),
        BAD(
            """
            # %%
            import tensorflow as tf
            from tensorflow.experimental import numpy as tnp
            # %%
            @tf.function(jit_compile=True)
            def mc_samples(model, x, n):
                samples = model(x, training=True)[None]
                i = tf.constant(1)
                while tf.less(i, n):
                    samples = tnp.append(samples, model(x, training=True)[None], axis=0)
                    i += 1
                return samples
            """,
            path="uncertainty.ipynb",
            expect=1,
        ),
        BAD(
            """
            import tensorflow as tf

            def body(i, acc):
                return i + 1, tf.concat([acc, tf.reshape(tf.cast(i, tf.float32), [1])], 0)

            _, result = tf.while_loop(
                lambda i, acc: i < 10,
                body,
                [tf.constant(0), tf.zeros([0])],
                shape_invariants=[tf.TensorShape([]), tf.TensorShape([None])],
            )
            squares = tf.while_loop(
                lambda i, sq: i < 5,
                lambda i, sq: (i + 1, tf.concat([sq, [i * i]], axis=0)),
                (0, tf.zeros([0], tf.int32)),
            )
            """,
            expect=2,
        ),
        GOOD(
            """
            import tensorflow as tf

            @tf.function
            def rollout(model, window, steps):
                outputs = tf.TensorArray(tf.float32, size=steps)
                for t in tf.range(steps):
                    nxt = model(window, training=False)
                    outputs = outputs.write(t, nxt[:, 0])
                    window = tf.concat([window[:, 1:], nxt[:, None, :]], axis=1)
                return tf.transpose(outputs.stack())
            """
        ),
        GOOD(
            """
            import tensorflow as tf
            from tensorflow import keras

            class DenseBlock(keras.layers.Layer):
                @tf.function
                def call(self, x):
                    features = x
                    for layer in self.layers_:
                        features = tf.concat([features, layer(features)], axis=-1)
                    return features
            """
        ),
        GOOD(
            """
            # %%
            import tensorflow as tf
            # %%
            history = tf.zeros([0])
            for step in tf.range(10):
                history = tf.concat([history, [tf.cast(step, tf.float32)]], 0)
            both = tf.concat([history, history], 0)
            """,
            path="eager.ipynb",
        ),
    )

    def __init__(self, context: Any, options: Any) -> None:
        super().__init__(context, options)
        #: Functions of this file that grow one of their parameters: qualname -> concat calls.
        self.growing: dict[str, list[cst.Call]] = {}

    def visit_Assign(self, node: cst.Assign) -> None:
        if len(node.targets) != 1 or not isinstance(node.value, cst.Call):
            return
        func = node.value.func
        if not (isinstance(func, (cst.Name, cst.Attribute)) and _last(func) in _CALL_NAMES):
            return
        target = node.targets[0].target
        if not isinstance(target, cst.Name) or not self._grows(node.value, {target.value}):
            return
        resolver = self.context.resolver
        if resolver.loops and any(c in _GRAPH_FUNCTIONS for c in resolver.contexts):
            loop = next((lp for lp in reversed(resolver.loops) if self._graph_loop(lp)), None)
            if loop is not None:
                self._report(node.value, target.value, loop)

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        last = func.attr.value if isinstance(func, cst.Attribute) else None
        if isinstance(func, cst.Name):
            last = func.value
        if last not in _CALL_NAMES:
            return
        resolver = self.context.resolver
        name = resolver.call_name(node)
        if name in _CONCATS:
            scope = self.scope
            if scope.kind == "function" and not scope.loops:
                grown = self._grown(node, set(scope.params))
                if grown is not None:
                    self.growing.setdefault(scope.qualname, []).append(node)
            return
        if name not in ("tensorflow.while_loop", "tensorflow.compat.v1.while_loop"):
            return
        body = argument(node, 1, "body")
        if isinstance(body, cst.Lambda):
            params = {p.name.value for p in body.params.params}
            for call in _calls(body.body):
                grown = self._grown(call, params)
                if grown is not None:
                    self._report(call, grown, node)
        elif isinstance(body, (cst.Name, cst.Attribute)):
            qualname = resolver.qualname(body)
            for call in self.growing.get(qualname or "", ()):
                self._report(call, None, node)

    def _report(self, call: cst.Call, grown: str | None, loop: cst.CSTNode) -> None:
        what = f"`{grown}`" if grown else "the loop variable"
        self.report(
            call,
            f"{what} grows by one `concat` per iteration of a graph loop: its shape changes "
            "every pass (breaking shape invariants) and the whole tensor is copied each time. "
            "Write each step into a `tf.TensorArray` and `stack()` it after the loop.",
            related=[(loop, "the graph loop")],
        )

    def _grows(self, call: cst.Call, names: set[str]) -> bool:
        return self._grown(call, names) is not None

    def _grown(self, call: cst.Call, names: set[str]) -> str | None:
        """The name in ``names`` that ``call`` concatenates whole (``concat([x, y])``)."""
        name = self.context.resolver.call_name(call)
        if name not in _CONCATS:
            return None
        if name.endswith(".append"):  # append(arr, values): arr grows
            first = argument(call, 0, "arr")
            if isinstance(first, cst.Name) and first.value in names:
                return first.value
            return None
        values = argument(call, 0, "values")
        if values is None:
            values = argument(call, 0, "xs")
        if not isinstance(values, (cst.List, cst.Tuple)):
            return None
        for element in values.elements:
            if isinstance(element.value, cst.Name) and element.value.value in names:
                return element.value.value
        return None

    def _graph_loop(self, loop: cst.For | cst.While) -> bool:
        """A loop AutoGraph turns into a ``tf.while_loop`` (not one it unrolls)."""
        resolver = self.context.resolver
        if isinstance(loop, cst.For):
            iterable = loop.iter
            if isinstance(iterable, cst.Call) and resolver.call_name(iterable) == (
                "tensorflow.range"
            ):
                return True
            value = resolver.value_of(iterable)
            return value is not None and value.type == "tensorflow.Tensor"
        return self._tensor_condition(loop.test)

    def _tensor_condition(self, test: cst.BaseExpression) -> bool:
        resolver = self.context.resolver
        for node in _expressions(test):
            if isinstance(node, cst.Call):
                name = resolver.call_name(node) or ""
                if name.startswith("tensorflow."):
                    return True
            elif isinstance(node, cst.Name):
                value = resolver.value_of(node)
                if value is not None and value.kind == kinds.TENSOR:
                    return True
        return False


def _last(func: cst.Name | cst.Attribute) -> str:
    return func.value if isinstance(func, cst.Name) else func.attr.value


def _expressions(node: cst.CSTNode, limit: int = 200) -> list[cst.CSTNode]:
    """``node`` and the nodes under it, breadth first (a bounded number)."""
    found: list[cst.CSTNode] = [node]
    index = 0
    while index < len(found) and len(found) < limit:
        found.extend(found[index].children)
        index += 1
    return found


def _calls(node: cst.CSTNode) -> list[cst.Call]:
    return [n for n in _expressions(node) if isinstance(n, cst.Call)]
