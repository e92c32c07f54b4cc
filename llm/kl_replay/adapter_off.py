"""The frozen reference of LoRA fine-tuning: the same model with its adapters switched off.

``adapters_disabled(model)`` is a context manager (peft's ``disable_adapter()``) under which
every ``LoRALinear`` computes its base layer alone, so p0 needs no second copy of the weights.
It sets ``LoRALinear.disabled`` (forward pass ``base(x)``) and restores it on exit. A layer that really is merged cannot be switched off
this way (its kernel holds the adapter), so that raises.

Inside a traced function call it on a model built there (``nnx.merge``), as ``llm.kl_replay.loss``
does; the flag is Python state of that object and never reaches the caller's model.
"""

from __future__ import annotations

import contextlib

from llm.lora import lora_layers


@contextlib.contextmanager
def adapters_disabled(model):
    layers = list(lora_layers(model).items())
    merged = [name for name, layer in layers if layer.merged]
    if merged:
        raise ValueError(f"adapters_disabled: {len(merged)} LoRA layer(s) are merged into their "
                         f"kernels (e.g. {merged[0]}); unmerge_lora first, the base weights are "
                         "not available while merged")
    before = [layer.disabled for _, layer in layers]
    for _, layer in layers:
        layer.disabled = True
    try:
        yield model
    finally:
        for (_, layer), flag in zip(layers, before):
            layer.disabled = flag
