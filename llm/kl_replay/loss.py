"""The loss of spec 01 and its compiled training step (Riemer et al. 2025, arXiv 2512.22337):

    L(theta) = CE_sft + beta * KL_term + gamma * CE_replay

- CE_sft: mean next-token NLL over the SFT loss tokens, the batch's ``loss_mask`` (response
  tokens, ``llm.batches.sft_batch``) or, with ``response_only=False``, every real token.
- KL_term: ``llm.kl_replay.kl.token_kl`` between the reference p0 (the same model with its LoRA
  adapters switched off, ``adapters_disabled``: no second copy of the weights) and p_theta,
  averaged over the tokens it covers: the SFT loss tokens, every real replay token, or both
  (one mean over the union). Position t's distribution is the one predicting token t + 1, the
  alignment of the NLL (``llm.losses``).
- CE_replay: mean next-token NLL over every real token of the replay rows (their
  ``attention_mask``).

Means are over all covered tokens of the whole step (sum / count, as ``llm.train``). Gradient
accumulation stays exact: the counts depend only on the masks, so they are taken from the full
batch first; each micro-batch then contributes the gradient of
``S_sft + beta * (N_sft / N_kl) * S_kl + gamma * (N_sft / N_rep) * S_rep`` (S: its sums) and the
total is divided by N_sft at the end: the gradient of L, however the rows fall into micro-batches.
With ``beta = gamma = 0`` the terms are absent from the program and the step is ``llm.train``'s.

The reference is exactly the pre-fine-tuning model only when the adapters are all that train, so
a KL step requires an optimizer over ``nnx.LoRAParam``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax
from flax import nnx

from llm.kl_replay.adapter_off import adapters_disabled
from llm.kl_replay.config import KLReplayConfig
from llm.kl_replay.kl import token_kl
from llm.lora import lora_layers
from llm.losses import model_nll_sum

TERMS = ("sft_nll", "kl_sft", "kl_replay", "replay_nll")


def target_logits(model, tokens: jax.Array, attention_mask: jax.Array) -> jax.Array:
    """Logits [B, T-1, V] at positions 0..T-2 (those that predict a token)."""
    if hasattr(model, "hidden_states") and hasattr(model, "logits"):
        hidden = model.hidden_states(tokens, attention_mask=attention_mask)
        return model.logits(hidden[:, :-1])
    return model(tokens, attention_mask=attention_mask)[:, :-1].astype(jnp.float32)


def nll_sum(logits: jax.Array, tokens: jax.Array, weights: jax.Array) -> jax.Array:
    """Sum over positions of weights [B, T-1] * NLL of tokens[:, 1:] under logits [B, T-1, V]."""
    picked = jnp.take_along_axis(logits, tokens[:, 1:, None], axis=-1)[..., 0]
    return jnp.sum((jax.nn.logsumexp(logits, axis=-1) - picked) * weights)


def sft_weights(batch: dict, config: KLReplayConfig) -> jax.Array:
    """[B, T-1] weights of the SFT targets (response tokens, or every real token)."""
    mask = batch["loss_mask"] if config.response_only else batch["attention_mask"]
    return mask[:, 1:].astype(jnp.float32)


def replay_weights(batch: dict) -> jax.Array:
    return batch["attention_mask"][:, 1:].astype(jnp.float32)


def counts(sft: dict, replay: dict | None, config: KLReplayConfig) -> dict[str, jax.Array]:
    """Token counts of each term over the whole step (each at least 1, as llm.train)."""
    n_sft = jnp.sum(sft_weights(sft, config))
    n_rep = jnp.sum(replay_weights(replay)) if replay is not None else jnp.zeros(())
    n_kl = (n_sft if config.kl_on_sft else 0.0) + (n_rep if config.kl_on_replay else 0.0)
    return {k: jnp.maximum(v, 1.0) for k, v in
            (("sft", n_sft), ("replay", n_rep), ("kl", jnp.asarray(n_kl, jnp.float32)))}


def objective(sums: dict, n: dict, config: KLReplayConfig) -> dict[str, jax.Array]:
    """The loss and its terms (means) from summed terms and counts."""
    sft = sums["sft_nll"] / n["sft"]
    kl = (sums["kl_sft"] + sums["kl_replay"]) / n["kl"]
    replay = sums["replay_nll"] / n["replay"]
    loss = sft
    if config.uses_kl:
        loss = loss + config.beta * kl
    if config.gamma > 0:
        loss = loss + config.gamma * replay
    return {"loss": loss, "sft_loss": sft, "kl": kl, "replay_loss": replay}


def micro_sums(model, reference, sft: dict, replay: dict | None,
               config: KLReplayConfig) -> dict[str, jax.Array]:
    """Summed terms of one (micro-)batch; ``reference`` is the model with adapters off (only
    used when the KL is on)."""
    zero = jnp.zeros((), jnp.float32)
    sums = dict.fromkeys(TERMS, zero)
    w = sft_weights(sft, config)
    if config.kl_on_sft:
        logits = target_logits(model, sft["tokens"], sft["attention_mask"])
        ref = target_logits(reference, sft["tokens"], sft["attention_mask"])
        sums["sft_nll"] = nll_sum(logits, sft["tokens"], w)
        sums["kl_sft"] = jnp.sum(token_kl(logits, ref, config.kl_direction) * w)
    else:  # exactly llm.train's computation
        sums["sft_nll"], _ = model_nll_sum(model, sft["tokens"], sft["attention_mask"],
                                           sft["loss_mask"] if config.response_only
                                           else sft["attention_mask"])
    if config.uses_replay:
        w = replay_weights(replay)
        logits = target_logits(model, replay["tokens"], replay["attention_mask"])
        sums["replay_nll"] = nll_sum(logits, replay["tokens"], w)
        if config.kl_on_replay:
            ref = target_logits(reference, replay["tokens"], replay["attention_mask"])
            sums["kl_replay"] = jnp.sum(token_kl(logits, ref, config.kl_direction) * w)
    return sums


def _micro_batches(batch, k: int):
    """[B, ...] -> [k, B/k, ...], micro-batch j = rows j, j+k, ... (as llm.train)."""
    return jax.tree.map(lambda x: jnp.swapaxes(x.reshape(x.shape[0] // k, k, *x.shape[1:]), 0, 1),
                        batch)


def kl_replay_loss_and_grads(model: nnx.Module, sft: dict, replay: dict | None,
                             config: KLReplayConfig, wrt=nnx.LoRAParam,
                             grad_accum_steps: int = 1):
    """(terms dict with "loss", grads wrt ``wrt``) for one step; traceable.

    ``sft`` and ``replay`` are batches (``tokens``, ``attention_mask``, and ``loss_mask`` for
    SFT) with row counts divisible by ``grad_accum_steps``; ``replay`` may be None when the
    config needs no replay rows.
    """
    graphdef, params, rngs, rest = nnx.split(model, wrt, nnx.RngState, ...)
    n = counts(sft, replay, config)
    c_kl = config.beta * n["sft"] / n["kl"]
    c_rep = config.gamma * n["sft"] / n["replay"]

    def summed(p, r, micro_sft, micro_replay):
        m = nnx.merge(graphdef, p, r, rest, copy=True)
        reference = None
        if config.uses_kl:
            reference = nnx.merge(graphdef, jax.lax.stop_gradient(p), r, rest, copy=True)
            with adapters_disabled(reference):
                sums = micro_sums(m, reference, micro_sft, micro_replay, config)
        else:
            sums = micro_sums(m, reference, micro_sft, micro_replay, config)
        total = sums["sft_nll"]
        if config.uses_kl:
            total = total + c_kl * (sums["kl_sft"] + sums["kl_replay"])
        if config.gamma > 0:
            total = total + c_rep * sums["replay_nll"]
        return total, (sums, nnx.state(m, nnx.RngState))

    grad_fn = jax.value_and_grad(summed, has_aux=True)
    if grad_accum_steps == 1:
        (_, (sums, rngs)), grads = grad_fn(params, rngs, sft, replay)
    else:
        def body(carry, micro):
            acc_sums, acc, r = carry
            (_, (s, r)), g = grad_fn(params, r, *micro)
            return (jax.tree.map(jnp.add, acc_sums, s), jax.tree.map(jnp.add, acc, g), r), None

        zero = jnp.zeros((), jnp.float32)
        init = (dict.fromkeys(TERMS, zero), jax.tree.map(jnp.zeros_like, params), rngs)
        micro = (_micro_batches(sft, grad_accum_steps),
                 None if replay is None else _micro_batches(replay, grad_accum_steps))
        (sums, grads, rngs), _ = jax.lax.scan(body, init, micro)
    nnx.update(model, rngs)
    grads = jax.tree.map(lambda g: g / n["sft"], grads)
    return objective(sums, n, config), grads


def check_batches(sft: dict, replay: dict | None, config: KLReplayConfig,
                  grad_accum_steps: int = 1) -> None:
    """Raise ValueError (before compiling) for batches the step cannot take."""
    def check(name, batch, keys):
        missing = set(keys) - set(batch)
        if missing:
            raise ValueError(f"{name} batch is missing {sorted(missing)}; expected {keys}")
        shape = batch["tokens"].shape
        if len(shape) != 2 or shape[1] < 2:
            raise ValueError(f"{name}['tokens'] has shape {shape}: expected [rows, time >= 2]")
        for key in keys[1:]:
            if batch[key].shape != shape:
                raise ValueError(f"{name}[{key!r}] has shape {batch[key].shape}, tokens {shape}")
        if shape[0] % grad_accum_steps:
            raise ValueError(f"{name} batch has {shape[0]} rows, not a multiple of "
                             f"grad_accum_steps={grad_accum_steps}")

    check("sft", sft, ("tokens", "attention_mask", "loss_mask"))
    if config.uses_replay:
        if replay is None:
            raise ValueError("the config needs replay rows (gamma > 0 or KL on replay tokens) "
                             "but replay is None")
        check("replay", replay, ("tokens", "attention_mask"))
        want = config.replay_rows(sft["tokens"].shape[0])
        if replay["tokens"].shape[0] != want:
            raise ValueError(f"replay batch has {replay['tokens'].shape[0]} rows; replay_ratio="
                             f"{config.replay_ratio} with {sft['tokens'].shape[0]} SFT rows "
                             f"needs {want}")


@nnx.jit(static_argnames=("config", "grad_accum_steps"), graph=False)
def _step(model, optimizer, sft, replay, config, grad_accum_steps):
    terms, grads = kl_replay_loss_and_grads(model, sft, replay, config, optimizer.wrt,
                                            grad_accum_steps)
    optimizer.update(model, grads)
    return {**terms, "grad_norm": optax.global_norm(grads)}


def kl_replay_step(model: nnx.Module, optimizer: nnx.Optimizer, sft: dict, replay: dict | None,
                   config: KLReplayConfig) -> dict:
    """One optimizer step of L on an SFT batch and its replay rows; updates in place.

    Returns float32 scalars ``loss``, ``sft_loss``, ``kl``, ``replay_loss`` (means before the
    update; a term that is off reads 0) and ``grad_norm``. Micro-batches:
    ``optimizer.grad_accum_steps`` (``llm.train.make_optimizer``).
    """
    k = getattr(optimizer, "grad_accum_steps", 1)
    if config.uses_kl:
        if not lora_layers(model):
            raise ValueError("beta > 0 needs LoRA adapters: the KL reference is the model with "
                             "its adapters switched off (apply_lora first)")
        if optimizer.wrt is not nnx.LoRAParam:
            raise ValueError(f"beta > 0 needs an optimizer over nnx.LoRAParam (got wrt="
                             f"{optimizer.wrt}): training base weights would move the reference")
    check_batches(sft, replay, config, k)
    if not config.uses_replay:
        replay = None
    return _step(model, optimizer, sft, replay, config=config, grad_accum_steps=k)
