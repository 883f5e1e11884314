"""Name and value resolution for rules: qualified names through imports and aliases, and the
kind of value a name holds (a DataFrame, a tensor, an estimator...), flow-aware, never by
running the analysed code.

Rules use it through ``self.context.resolver`` from their ``visit_*``/``leave_*`` callbacks::

    def visit_Call(self, node: cst.Call) -> None:
        resolver = self.context.resolver
        if resolver.call_name(node) == "pandas.read_csv": ...
        method = resolver.method_call(node)          # (receiver Value, "merge") or None
        if method and method[0].kind == "dataframe" and method[1] == "merge": ...

See :class:`Resolver` for when its state is current, and ``kinds`` for the kinds.
"""

from mldebt.resolve.kinds import KINDS, Value
from mldebt.resolve.names import canonical
from mldebt.resolve.resolver import Binding, Definition, Resolver

__all__ = ["KINDS", "Binding", "Definition", "Resolver", "Value", "canonical"]
