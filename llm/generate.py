"""Batched autoregressive generation with a static KV cache and left-padded prompts.

``generate`` runs one prefill of the whole prompt through ``model.decode`` and then a
``lax.while_loop`` that feeds one token per step, all inside a single jitted program compiled once
per (model structure, batch, prompt length, max_new_tokens). The model enters that program as
``nnx.split`` state, so new weights of the same structure reuse it; temperature, top-p, pad id
and the stop set (a [vocab] bool mask) are traced values. The loop stops as soon as
every sequence has emitted a stop token. Step ``i`` samples with ``fold_in(key, i)``, so a
shorter run is a prefix of a longer one with the same key.

``generate_text`` is the string-level wrapper: tokenise (optionally through the tokenizer's chat
template), left-pad, generate, and decode the new tokens.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx, struct

from llm.kv_cache import KVCache
from llm.sampling import sample


@struct.dataclass
class Generation:
    """The new tokens of a batch. ``tokens`` [B, max_new_tokens] int32 holds ``pad_id`` after a
    row's stop token; ``logprobs`` [B, max_new_tokens] float32 is each token's log-probability
    under the model (log_softmax of the untempered logits; 0 after the stop); ``lengths`` [B]
    counts each row's generated tokens including the stop token; ``finished`` [B] is true where a
    stop token was emitted; ``steps`` (int32 scalar) is how many tokens the loop produced per row
    before it ended (< max_new_tokens when every row stopped early)."""

    tokens: jax.Array
    logprobs: jax.Array
    lengths: jax.Array
    finished: jax.Array
    steps: jax.Array


def generate(model, tokens, attention_mask=None, *, max_new_tokens: int, key=None,
             temperature: float = 0.0, top_p: float = 1.0, stop_tokens: Sequence[int] = (),
             pad_id: int = 0) -> Generation:
    """Continue each row of ``tokens`` [B, T] (left-padded; ``attention_mask`` [B, T] is 1 on
    tokens, 0 on padding, None for no padding) by up to ``max_new_tokens`` tokens.

    ``temperature == 0`` is greedy decoding; otherwise tokens are drawn from softmax(logits / T)
    restricted to the top-p nucleus (llm.sampling), which needs ``key``. A row stops after the
    first token in ``stop_tokens``. Arguments are checked before anything is compiled: a bad one
    raises ValueError naming it.
    """
    config = model.config
    tokens = _as_int_array("tokens", tokens)
    if tokens.ndim != 2 or 0 in tokens.shape:
        raise ValueError(f"generate: tokens must be a non-empty [batch, length] array of ids, got "
                         f"shape {tokens.shape}")
    if attention_mask is None:
        attention_mask = np.ones(tokens.shape, np.int32)
    mask = _as_int_array("attention_mask", attention_mask)
    if mask.shape != tokens.shape:
        raise ValueError(f"generate: attention_mask shape {mask.shape} does not match tokens "
                         f"shape {tokens.shape}")
    if not isinstance(max_new_tokens, (int, np.integer)) or isinstance(max_new_tokens, bool) \
            or max_new_tokens < 1:
        raise ValueError(f"generate: max_new_tokens={max_new_tokens!r} must be an integer >= 1")
    if not temperature >= 0:
        raise ValueError(f"generate: temperature={temperature!r} must be >= 0 (0 is greedy)")
    if not 0 < top_p <= 1:
        raise ValueError(f"generate: top_p={top_p!r} must be in (0, 1]")
    if temperature > 0 and key is None:
        raise ValueError(f"generate: key is required to sample with temperature={temperature}")
    stop = np.asarray(tuple(stop_tokens), np.int64).reshape(-1)
    if ((stop < 0) | (stop >= config.vocab_size)).any():
        raise ValueError(f"generate: stop_tokens={tuple(stop_tokens)} must be ids in "
                         f"[0, vocab_size={config.vocab_size})")
    if not isinstance(mask, jax.core.Tracer) and not isinstance(tokens, jax.core.Tracer):
        m, t = np.asarray(mask), np.asarray(tokens)
        if not (np.isin(m, (0, 1)).all() and (np.diff(m, axis=1) >= 0).all() and m[:, -1].all()):
            raise ValueError("generate: attention_mask must be left padding: each row 0...0 1...1 "
                             "with at least one token (1)")
        if ((m == 1) & ((t < 0) | (t >= config.vocab_size))).any():
            raise ValueError(f"generate: tokens must be ids in [0, vocab_size={config.vocab_size}) "
                             "where attention_mask is 1")
        longest = int(m.sum(axis=1).max())
        if longest + max_new_tokens > config.max_position_embeddings:
            raise ValueError(f"generate: max_new_tokens={max_new_tokens} after a prompt of "
                             f"{longest} tokens exceeds max_position_embeddings="
                             f"{config.max_position_embeddings}")
    if key is None:
        key = jax.random.key(0)  # unused: greedy decoding draws nothing
    elif not jnp.issubdtype(jnp.asarray(key).dtype, jax.dtypes.prng_key):
        key = jax.random.wrap_key_data(jnp.asarray(key))  # a raw uint32 PRNGKey
    is_stop = np.zeros(config.vocab_size, bool)
    is_stop[stop] = True
    graphdef, state = nnx.split(model)
    return _generate(graphdef, state, jnp.asarray(tokens, jnp.int32),
                     jnp.asarray(mask, jnp.int32), key, jnp.float32(temperature),
                     jnp.float32(top_p), jnp.asarray(is_stop), jnp.int32(pad_id),
                     max_new_tokens=int(max_new_tokens))


@functools.partial(jax.jit, static_argnames=("graphdef", "max_new_tokens"))
def _generate(graphdef, state, tokens, mask, key, temperature, top_p, is_stop, pad_id, *,
              max_new_tokens):
    model = nnx.merge(graphdef, state)
    batch, prompt_len = tokens.shape
    # The last sampled token is never fed back, so the cache needs one slot less than T + N.
    cache = KVCache.init(model.config, batch, prompt_len + max_new_tokens - 1, model.dtype)
    logits, cache = model.decode(tokens, cache, mask)
    done = jnp.zeros((batch,), bool)

    def choose(step, logits, done, out, logprobs):
        """Sample step ``step``'s tokens from logits [B, V] and write them (pad_id once done).
        Returns the sampled tokens (the next input; finished rows run on, ignored)."""
        token = sample(jax.random.fold_in(key, step), logits, temperature, top_p)
        logp = jnp.take_along_axis(jax.nn.log_softmax(logits), token[:, None], axis=-1)[:, 0]
        at = (jnp.int32(0), step)
        out = jax.lax.dynamic_update_slice(out, jnp.where(done, pad_id, token)[:, None], at)
        logprobs = jax.lax.dynamic_update_slice(logprobs, jnp.where(done, 0.0, logp)[:, None], at)
        return token, done | is_stop[token], out, logprobs

    out = jnp.full((batch, max_new_tokens), pad_id, jnp.int32)
    logprobs = jnp.zeros((batch, max_new_tokens), jnp.float32)
    first, done, out, logprobs = choose(jnp.int32(0), logits[:, -1], done, out, logprobs)
    init = (jnp.int32(1), cache, first, out, logprobs, done, jnp.ones((batch,), jnp.int32))

    def cond(carry):
        step, *_, done, _ = carry
        return (step < max_new_tokens) & ~done.all()

    def body(carry):
        step, cache, last, out, logprobs, done, lengths = carry
        logits, cache = model.decode(last[:, None], cache, jnp.ones((batch, 1), jnp.int32))
        lengths = lengths + (~done).astype(jnp.int32)
        token, done, out, logprobs = choose(step, logits[:, 0], done, out, logprobs)
        return step + 1, cache, token, out, logprobs, done, lengths

    steps, _, _, out, logprobs, done, lengths = jax.lax.while_loop(cond, body, init)
    return Generation(tokens=out, logprobs=logprobs, lengths=lengths, finished=done, steps=steps)


def _as_int_array(name: str, x):
    array = x if isinstance(x, jax.Array) else np.asarray(x)
    if not jnp.issubdtype(array.dtype, jnp.integer) and not jnp.issubdtype(array.dtype, jnp.bool_):
        raise ValueError(f"generate: {name} must hold integers, got dtype {array.dtype}")
    return array


# ---------------------------------------------------------------------------------------------
# Text in, text out


def encode_prompts(tokenizer, prompts, *, chat: bool = False, pad_id: int = 0,
                   pad_to_multiple_of: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """Token ids and mask [B, T], left-padded, for string prompts or (``chat``) message lists.

    A chat prompt is exactly ``tokenizer.apply_chat_template(messages,
    add_generation_prompt=True)``; a string is ``tokenizer(prompt)``. T is rounded up to a
    multiple of ``pad_to_multiple_of`` so that prompts of similar lengths share one compilation.
    """
    if isinstance(prompts, (str, dict)) or not len(prompts):
        raise ValueError("generate_text: prompts must be a non-empty list of prompts")
    if chat:
        ids = [list(tokenizer.apply_chat_template(list(messages), add_generation_prompt=True,
                                                  tokenize=True, return_dict=True)["input_ids"])
               for messages in prompts]
    else:
        if not all(isinstance(p, str) for p in prompts):
            raise ValueError("generate_text: prompts must be strings when chat=False (pass "
                             "chat=True for lists of messages)")
        ids = [list(tokenizer(p)["input_ids"]) for p in prompts]
    if any(not row for row in ids):
        raise ValueError("generate_text: a prompt encodes to no tokens")
    longest = max(len(row) for row in ids)
    width = -(-longest // pad_to_multiple_of) * pad_to_multiple_of
    tokens = np.full((len(ids), width), pad_id, np.int32)
    mask = np.zeros((len(ids), width), np.int32)
    for i, row in enumerate(ids):
        tokens[i, width - len(row):] = row
        mask[i, width - len(row):] = 1
    return tokens, mask


def stop_ids(model, tokenizer, extra: Sequence[int] = ()) -> tuple[int, ...]:
    """The tokenizer's eos id, the model config's eos id(s), and ``extra``, without repeats."""
    ids = [tokenizer.eos_token_id, model.config.eos_token_id, *extra]
    flat = []
    for i in ids:
        flat.extend(i if isinstance(i, (list, tuple)) else [i])
    return tuple(dict.fromkeys(int(i) for i in flat if i is not None))


def generate_text(model, tokenizer, prompts, *, chat: bool = False, max_new_tokens: int = 64,
                  key=None, temperature: float = 0.0, top_p: float = 1.0,
                  stop_tokens: Sequence[int] = (), pad_to_multiple_of: int = 16) -> list[str]:
    """Generate a continuation of each prompt and return it as text.

    ``prompts``: strings, or with ``chat=True`` lists of {"role", "content"} messages rendered
    through the tokenizer's chat template with the generation prompt appended. Generation stops
    at the tokenizer's / model's eos id or any of ``stop_tokens``; the new tokens up to and
    including the stop token are decoded with special tokens skipped.
    """
    pad_id = tokenizer.pad_token_id
    if pad_id is None:
        pad_id = tokenizer.eos_token_id if tokenizer.eos_token_id is not None else 0
    tokens, mask = encode_prompts(tokenizer, prompts, chat=chat, pad_id=pad_id,
                                  pad_to_multiple_of=pad_to_multiple_of)
    out = generate(model, tokens, mask, max_new_tokens=max_new_tokens, key=key,
                   temperature=temperature, top_p=top_p,
                   stop_tokens=stop_ids(model, tokenizer, stop_tokens), pad_id=pad_id)
    new, lengths = np.asarray(out.tokens), np.asarray(out.lengths)
    return [tokenizer.decode(row[:n].tolist(), skip_special_tokens=True)
            for row, n in zip(new, lengths)]
