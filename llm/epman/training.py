"""Training the decoder with EpMAN (spec 04, "Training variants") and the self-attention
baseline trained the same way, on ``llm.epman.tasks`` batches.

EpMAN step: write the context into the episodic memory with the current weights (chunks encoded
independently, ``llm.epman.memory``), score chunks with the decoder embedder (mean-pooled
states, no gradient through the ranking), read the top-K chunks (widened to neighbours with
probability ``train_broad_prob``) with ``uniform`` weights (all 1) or ``noisy`` weights (the
top-K a_mem values permuted among the selected chunks), and take the mean NLL of the answer
tokens given the read cache and the question. Gradients flow through the chunk keys/values.

Self-attention step: the same examples as one sequence [context, question, answer] under the
ordinary causal attention, NLL on the answer tokens.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax
from flax import nnx

from llm.epman.config import EpmanConfig
from llm.epman.embedders import pooled_states
from llm.epman.memory import write
from llm.epman.read import episodic_cache


def _answer_nll(logits, answer):
    """Mean NLL of answer [B, A] under logits [B, >=A, V] whose last A+1..1 rows predict it."""
    a = answer.shape[1]
    pred = logits[:, -a - 1:-1].astype(jnp.float32)
    picked = jnp.take_along_axis(pred, answer[..., None], axis=-1)[..., 0]
    return jnp.mean(jax.nn.logsumexp(pred, axis=-1) - picked)


def epman_loss(model, batch: dict, key, config: EpmanConfig):
    """Mean answer NLL of a batch (context [B, L], question [B, Q], answer [B, A]) under EpMAN."""
    context, question, answer = batch["context"], batch["question"], batch["answer"]
    b, length = context.shape
    n = config.check_chunks(length)
    memory = write(model, context, jnp.ones(context.shape, bool), config.chunk_size)
    chunk_emb = batch.get("chunk_emb", memory.pooled)
    query_emb = batch.get("query_emb")
    if query_emb is None:
        query_emb = pooled_states(model, question, jnp.ones(question.shape, bool))
    k_broad, k_noise = jax.random.split(key)
    broad = jax.random.bernoulli(k_broad, config.train_broad_prob, (b,))
    seq = jnp.concatenate([question, answer], axis=1)
    cache = episodic_cache(model, memory, chunk_emb, query_emb, top_k=config.top_k, broad=broad,
                           slots=config.read_chunks(n, "broad"), extra=seq.shape[1],
                           center=config.center, weighting=config.weighting, train=True,
                           key=k_noise, temperature=config.memory_temperature)
    logits, _ = model.decode(seq, cache)
    return _answer_nll(logits, answer)


def self_attention_loss(model, batch: dict, key=None, config=None):
    """Mean answer NLL with ordinary causal self-attention over [context, question, answer]."""
    seq = jnp.concatenate([batch["context"], batch["question"], batch["answer"]], axis=1)
    a = batch["answer"].shape[1]
    hidden = model.hidden_states(seq)
    return _answer_nll(model.logits(hidden[:, -a - 1:]), batch["answer"])


@nnx.jit(static_argnames=("method", "config"), graph=False)
def train_step(model, optimizer, batch: dict, key, *, method: str, config: EpmanConfig | None):
    """One optimizer step of ``method`` ("epman" or "self_attention"); returns loss and grad
    norm. ``config`` (hashable) gives chunking and the uniform/noisy weighting for EpMAN."""
    loss_fn = epman_loss if method == "epman" else self_attention_loss
    graphdef, params, rest = nnx.split(model, optimizer.wrt, ...)

    def loss_of(p):
        return loss_fn(nnx.merge(graphdef, p, rest, copy=True), batch, key, config)

    loss, grads = jax.value_and_grad(loss_of)(params)
    optimizer.update(model, grads)
    return {"loss": loss, "grad_norm": optax.global_norm(grads)}
