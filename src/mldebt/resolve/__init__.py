"""Name and value resolution for rules: qualified names through imports and aliases, and the
kind of value a name holds (a DataFrame, a tensor, an estimator...), flow-aware, never by
running the analysed code.

Rules use it through ``self.context.resolver`` from their ``visit_*``/``leave_*`` callbacks;
the engine puts the resolver around the rules in the shared traversal, so its answers are
those of the program point being visited::

    from mldebt.resolve.kinds import keyword

    def visit_Call(self, node: cst.Call) -> None:
        resolver = self.context.resolver
        if resolver.call_name(node) == "sklearn.model_selection.train_test_split":
            if keyword(node, "random_state") is None: ...
        method = resolver.method_call(node)   # (receiver Value, "fit_transform") or None
        if method and method[0].kind == "transformer" and method[1] == "fit_transform": ...
        if "torch.no_grad" in resolver.contexts: ...

Kinds (``KINDS``): dataframe, series, groupby, ndarray, tensor (torch or TF: see
``Value.type``), estimator, transformer, splitter, optimizer, scheduler, module (torch),
dataloader, keras_model, rng. See :class:`Resolver` for when its state changes.
"""

from mldebt.resolve.kinds import KINDS, Value
from mldebt.resolve.names import canonical
from mldebt.resolve.resolver import Binding, Definition, Resolver

__all__ = ["KINDS", "Binding", "Definition", "Resolver", "Value", "canonical"]
