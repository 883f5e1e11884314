"""MLD517: a PyTorch module's ``forward()`` called directly instead of calling the module."""

from __future__ import annotations

import re
from typing import Any

import libcst as cst

from mldebt.findings import Severity
from mldebt.resolve import kinds
from mldebt.resolve.kinds import positional
from mldebt.rule import BAD, GOOD
from mldebt_rules._torch_flow import GatedRule, call_method, last_name, model_like, text_of

# Methods only a torch module has: calling one on a name shows that the name holds a module.
_MODULE_METHODS = frozenset(
    {
        "parameters",
        "named_parameters",
        "eval",
        "train",
        "state_dict",
        "load_state_dict",
        "modules",
        "named_modules",
        "children",
        "zero_grad",
        "register_forward_hook",
        "register_forward_pre_hook",
        "register_full_backward_hook",
    }
)
_REMOTE = re.compile(r"remote|rref", re.IGNORECASE)
# Methods that re-implement calling a module: forward is what they must call.
_CALL_IMPLEMENTATIONS = frozenset({"__call__", "_call_impl", "_wrapped_call_impl"})


class ForwardCalledDirectly(GatedRule):
    code = "MLD517"
    name = "forward-called-directly"
    category = "ml-api-misuse"
    severity = Severity.WARNING
    debt_minutes = 2.0
    tags = ("pytorch", "transformers")
    needles = (".forward(",)
    summary = "`model.forward(x)` called directly: the module's hooks are skipped; call `model(x)`."
    what = (
        "Calls of `.forward(...)` on a PyTorch module: a value the resolver knows to be an "
        "`nn.Module` (built from `torch.nn`, a class of the file deriving from one, a Hugging "
        "Face model), `self.forward(...)` in a method of such a class, or a receiver of unknown "
        "type that is named like a network (`model`, `encoder`, `netG`, `self.backbone`) or "
        "was used as a module earlier in the function (`.parameters()`, `.eval()`, "
        "`.state_dict()`...). A submodule's `forward` called from a module's own `forward` "
        "(`self.encoder.forward(x)`) is reported too: it skips that submodule's hooks just the "
        "same. `super().forward(...)` and `Base.forward(self, ...)`, the idiom for extending "
        "a parent's forward pass, are never reported, nor is `self.forward` inside a "
        "`__call__` that re-implements calling or inside the class's own `forward` (a "
        "recursive pass over auxiliary outputs, already inside the module's call, where "
        "`self(...)` would fire the hooks twice), nor `forward` of classes that are not "
        "modules (Hugging Face pipelines, `autograd.Function`)."
    )
    why = (
        "Zhang et al. (CAIN 2022), *PyTorch Call Method Misused*: `module(x)` runs "
        "`__call__`, which runs the forward pre-hooks, `forward`, then the forward hooks. "
        "Calling `forward` directly skips them, and with them everything built on hooks: "
        "weight and spectral normalisation and pruning masks (pre-hooks that recompute the "
        "weight), quantization observers, FSDP and DeepSpeed ZeRO-3 parameter gathering, "
        "feature-extraction and debugging hooks. The code works until one of those is added, "
        "then silently computes something else."
    )
    limits = (
        "A receiver of unknown type is reported only when its name or earlier use says it is "
        "a module, so `wrapper.forward(x)` on a module built in another file under an "
        "unusual name is missed. Deliberately skipping hooks (rare, e.g. inside a hook itself) "
        "needs a suppression comment. `forward` of RPC proxies (`RemoteModule`, named "
        "`remote_*`) is their calling API and is left alone."
    )
    examples = (
        BAD(
            """
            import torch
            import torch.nn as nn

            probe = nn.Linear(128, 6).to("cuda")
            with torch.no_grad():
                logits = probe.forward(features)
            """,
            expect=1,
        ),
        BAD(
            """
            from torch import nn

            class TCN(nn.Module):
                def forward(self, x):
                    return self.head(self.net(x))

                def predict(self, x):
                    return self.forward(x).argmax(dim=-1)
            """,
            expect=1,
        ),
        BAD(
            """
            # %%
            import torch
            from models import build_model
            # %%
            model = build_model("tcn")
            model.load_state_dict(torch.load("best.pt"))
            logits = model.forward(x.unsqueeze(0)).softmax(-1)
            # %%
            def embed(net, batch):
                net.eval()
                return net.forward(batch)
            """,
            path="check.ipynb",
            expect=2,
        ),
        BAD(
            """
            import torch.nn as nn
            from transformers import AutoModel

            class Classifier(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.backbone = AutoModel.from_pretrained("bert-base-uncased")
                    self.head = nn.Linear(768, 2)

                def forward(self, **inputs):
                    hidden = self.backbone.forward(**inputs).last_hidden_state
                    return self.head.forward(hidden[:, 0])
            """,
            expect=2,
        ),
        GOOD(
            """
            import torch.nn as nn

            class ChannelDropLSTM(BiLSTM):
                def forward(self, x):
                    return super().forward(self.channel_drop(x))

            class SqueezeLayerNorm(nn.LayerNorm):
                def forward(self, x):
                    x = x.permute(0, 2, 1)
                    return nn.LayerNorm.forward(self, x).permute(0, 2, 1)
            """
        ),
        GOOD(
            """
            from transformers import Pipeline

            class SentimentPipeline(Pipeline):
                def run(self, inputs):
                    return self.postprocess(self.forward(self.preprocess(inputs)))

            result = pipe.forward(model_inputs)
            """
        ),
        GOOD(
            """
            # %%
            import torch
            # %%
            class Scaled(torch.autograd.Function):
                @staticmethod
                def forward(ctx, x):
                    return x * 2

            y = Scaled.apply(x)
            z = Scaled.forward(None, x)
            logits = model(x)
            """,
            path="explore.ipynb",
        ),
        GOOD(
            """
            import torch.nn as nn

            class SetCriterion(nn.Module):
                def forward(self, outputs, targets, aux_outputs=()):
                    losses = self.match_and_score(outputs, targets)
                    for i, aux in enumerate(aux_outputs):
                        aux_losses = self.forward(aux, targets)
                        losses.update({f"{k}_{i}": v for k, v in aux_losses.items()})
                    return losses
            """
        ),
        GOOD(
            """
            import torch.nn as nn

            class Wrapped(nn.Module):
                def __call__(self, *args, **kwargs):
                    self.calls += 1
                    return self.forward(*args, **kwargs)
            """
        ),
    )

    def __init__(self, context: Any, options: Any) -> None:
        super().__init__(context, options)
        #: (function, receiver) pairs seen used as a module (``net.parameters()``).
        self.used_as_module: set[tuple[str | None, str]] = set()

    def visit_Call(self, node: cst.Call) -> None:
        method = call_method(node)
        if method is None:
            return
        receiver, name = method
        if name in _MODULE_METHODS:
            text = text_of(receiver)
            if text is not None:
                self.used_as_module.add((self.context.resolver.function, text))
            return
        if name != "forward" or self._exempt(node, receiver):
            return
        described = self._module(receiver)
        if described is None:
            return
        self.report(
            node,
            f"`{described}.forward(...)` bypasses `{described}(...)`: the module's forward "
            "hooks and pre-hooks (weight norm, pruning, quantization observers, FSDP/ZeRO "
            f"parameter gathering) are skipped. Call `{described}(...)` instead.",
        )

    def _exempt(self, node: cst.Call, receiver: cst.BaseExpression) -> bool:
        if isinstance(receiver, cst.Call):
            return True  # super().forward(...), exported.module().forward(...)
        function = self.context.resolver.function
        method = function.rpartition(".")[2] if function is not None else ""
        if method in _CALL_IMPLEMENTATIONS:
            return True
        if method == "forward" and isinstance(receiver, cst.Name) and receiver.value == "self":
            return True  # recursion inside the module's own forward: already in its call
        first = positional(node, 0)
        if isinstance(first, cst.Name) and first.value == "self":
            return True  # Base.forward(self, x): the parent's forward, unbound
        text = text_of(receiver)
        return text is not None and last_name(text)[:1].isupper()  # a class, not an instance

    def _module(self, receiver: cst.BaseExpression) -> str | None:
        """How to name the receiver in the message, when it is a module; else None."""
        resolver = self.context.resolver
        text = text_of(receiver)
        if text is None:
            return None
        value = resolver.value_of(receiver)
        if isinstance(receiver, cst.Name):
            binding = resolver.lookup(receiver.value)
            if binding is not None and binding.self_of is not None:
                return text if value is not None and value.kind == kinds.MODULE else None
        if value is not None:
            return text if value.kind == kinds.MODULE else None
        if _REMOTE.search(text):
            return None  # RemoteModule / RRef proxies: forward() is their calling API
        if model_like(text) or (resolver.function, text) in self.used_as_module:
            return text
        return None
