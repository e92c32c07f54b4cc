"""Pre-train a tiny Qwen2-architecture model on a synthetic world, then instruction-tune it.

    python -m experiments.pretrain_tiny --preset smoke|default|paper [--out DIR]

The world (``llm.data``): seeded entities with attributes, stated as encyclopedia-style
biographies in several paraphrases and fact orders (knowledge augmentation, Allen-Zhu & Li 2023,
"Physics of Language Models 3.1"). A byte-level BPE tokenizer is trained on that text. The base
model is pre-trained on the biographies of *all* entities (plus, with ``--mix-qa``, the default,
the train entities' questions and answers as plain text: the paper's "mixed training"); the
instruct model is the base fine-tuned (SFT, loss on the answer tokens, with pre-training batches
interleaved) on chat-format questions about the *train* entities only. Evaluation asks the never-seen questions about the *held-out* entities: their facts were
read in pre-training, but no question about them was ever trained on.

summary.json:
- ``qa_accuracy/{base,instruct}``: greedy answers that exactly match the fact (normalised), over
  held-out questions; the base is asked in its plain "Question: ...\nAnswer:" format, the
  instruct model as a user turn of the chat template.
- ``qa_choice_accuracy/{base,instruct}``: the fact ranked first by log-likelihood among the
  attribute's values after the same prompt (a probe of what the model knows, independent of
  how it phrases an answer); ``chance_accuracy`` is its chance level (mean of 1/#values).
- ``heldout_nll/{base,instruct}``: mean next-token NLL (nats) on freshly rendered biographies not
  in the pre-training set (same facts, new sentence orders and template combinations).
- ``params``, ``pretrain_tokens``, ``tokens_per_second``, ``seconds``.
Checkpoints: ``base/`` and ``instruct/`` are Hugging Face directories (config.json, safetensors,
tokenizer) that ``llm.load`` and ``transformers`` read. Plot: ``loss_curves.png``.
"""

from __future__ import annotations

import dataclasses
import time

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

import llm
from experiments import harness
from llm import data as world_data
from llm.batches import pack_documents, sft_batch
from llm.generate import encode_prompts, generate
from llm.losses import model_nll_sum
from llm.scoring import choose
from llm.train import TrainConfig, make_optimizer, train_step

NAME = "pretrain_tiny"
ANSWER_PREFIX = " "
"""Answers start with a space in both the plain and the chat format, so a value is the same
token sequence as in the biographies (with a byte-level BPE, "Zarnok" after a newline and
" Zarnok" after a space are different tokens; a tiny model would have to learn every value twice)."""


@dataclasses.dataclass(frozen=True)
class Config:
    """Tiny-model pipeline: synthetic world -> tokenizer -> base -> instruct."""

    preset: harness.Preset = "default"
    """smoke (about a minute), default (2 CPU cores, under 30 minutes), paper (larger, GPU)."""
    seed: int = 0
    out: str | None = None
    """Output folder (default runs/pretrain_tiny/<UTC timestamp>)."""
    # world
    entities: int = 200
    heldout_fraction: float = 0.25
    """Entities whose questions are never trained on (evaluation)."""
    attributes: tuple[str, ...] = ("city", "occupation", "pet", "instrument")
    """Attribute kinds each entity has (see llm.data.ATTRIBUTE_NAMES)."""
    paraphrases: int = 8
    """Biographies per entity in the pre-training corpus."""
    questions_per_fact: int = 2
    """Question paraphrases per fact of a train entity in the SFT data."""
    mix_qa: bool = True
    """Also pre-train on the train entities' questions as plain "Question: ... Answer: ..." text
    (mixed training, Allen-Zhu & Li 2023, section 4: it is what makes facts of *other* entities
    retrievable by question at small scale). Held-out entities' questions are never seen."""
    # model
    vocab_size: int = 2048
    hidden_size: int = 128
    intermediate_size: int = 384
    layers: int = 4
    heads: int = 4
    kv_heads: int = 2
    # pre-training
    seq_len: int = 128
    batch_size: int = 16
    pretrain_epochs: int = 60
    pretrain_lr: float = 2e-3
    # instruction tuning
    sft_epochs: int = 4
    sft_batch_size: int = 32
    sft_lr: float = 1e-3
    sft_max_len: int = 64
    sft_replay_every: int = 2
    """Interleave one pre-training batch after every this many SFT batches (0: none), so that
    instruction tuning does not overwrite the facts it must learn to retrieve."""
    # evaluation
    eval_questions: int = 400
    """At most this many held-out questions (all of them when fewer)."""
    max_new_tokens: int = 8

    def __post_init__(self):
        positive = ("entities", "paraphrases", "questions_per_fact", "vocab_size", "hidden_size",
                    "intermediate_size", "layers", "heads", "kv_heads", "seq_len", "batch_size",
                    "pretrain_epochs", "sft_epochs", "sft_batch_size", "sft_max_len",
                    "eval_questions", "max_new_tokens")
        harness.ints_at_least(self, 0, "sft_replay_every")
        harness.ints_at_least(self, 1, *positive)
        unknown = [a for a in self.attributes if a not in world_data.ATTRIBUTE_NAMES]
        if unknown or not self.attributes:
            raise ValueError(f"Config.attributes={self.attributes!r}: expected names from "
                             f"{world_data.ATTRIBUTE_NAMES}")
        if not 0 < self.heldout_fraction < 1:
            raise ValueError(f"Config.heldout_fraction={self.heldout_fraction} is invalid: "
                             "expected a number in (0, 1)")
        harness.positive_numbers(self, "pretrain_lr", "sft_lr")
        if self.hidden_size % self.heads or (self.hidden_size // self.heads) % 2:
            raise ValueError(f"Config.heads={self.heads} must divide hidden_size="
                             f"{self.hidden_size} into an even head width")
        if self.heads % self.kv_heads:
            raise ValueError(f"Config.kv_heads={self.kv_heads} must divide heads={self.heads}")


PRESETS = {
    "smoke": dict(entities=40, paraphrases=4, vocab_size=512, hidden_size=64,
                  intermediate_size=192, layers=2, heads=2, kv_heads=1, seq_len=128,
                  pretrain_epochs=3, sft_epochs=1, eval_questions=40),
    "default": dict(),
    "paper": dict(entities=2000, paraphrases=10, vocab_size=4096, hidden_size=512,
                  intermediate_size=1536, layers=8, heads=8, kv_heads=2, batch_size=64,
                  pretrain_epochs=60, pretrain_lr=1e-3, sft_lr=2e-4, eval_questions=2000),
}


def model_config(config: Config, tokenizer) -> llm.QwenConfig:
    return llm.QwenConfig(
        vocab_size=len(tokenizer), hidden_size=config.hidden_size,
        intermediate_size=config.intermediate_size, num_hidden_layers=config.layers,
        num_attention_heads=config.heads, num_key_value_heads=config.kv_heads,
        max_position_embeddings=max(config.seq_len, config.sft_max_len + config.max_new_tokens),
        rope_theta=10000.0, tie_word_embeddings=True, eos_token_id=tokenizer.eos_token_id,
        bos_token_id=None, pad_token_id=tokenizer.pad_token_id)


@nnx.jit
def _nll_sum(model, batch):
    return model_nll_sum(model, batch["tokens"], batch["attention_mask"], batch["loss_mask"])


def mean_nll(model, rows: dict, batch_size: int) -> float:
    """Mean next-token NLL over the target tokens of packed rows."""
    total, count = 0.0, 0.0
    n = len(rows["tokens"])
    for start in range(0, n, batch_size):
        idx = np.arange(start, start + batch_size) % n  # fixed shape; wrap-around rows masked
        batch = {k: jnp.asarray(v[idx]) for k, v in rows.items()}
        valid = (np.arange(start, start + batch_size) < n)[:, None]
        batch["loss_mask"] = batch["loss_mask"] * jnp.asarray(valid, batch["loss_mask"].dtype)
        s, c = _nll_sum(model, batch)
        total, count = total + float(s), count + float(c)
    return total / max(count, 1.0)


def run_epochs(name, model, optimizer, make_rows, epochs, batch_size, run, total,
               replay=None, replay_every=0):
    """Train over ``epochs`` passes of ``make_rows(epoch)`` batches (``total`` steps in all);
    logs progress and returns the loss curve.

    With ``replay`` (a function of the step giving a batch) one replay batch follows every
    ``replay_every`` batches; its loss is not part of the returned curve.
    """
    steps, losses, tokens, seconds = [], [], 0, 0.0
    step = 0
    log_every = max(1, total // 20)
    for epoch in range(epochs):
        rows = make_rows(epoch)
        for start in range(0, len(rows["tokens"]) - batch_size + 1, batch_size):
            batch = {k: jnp.asarray(v[start:start + batch_size]) for k, v in rows.items()}
            t0 = time.perf_counter()
            metrics = train_step(model, optimizer, batch)
            loss = float(metrics["loss"])
            if step > 0:  # the first step includes compilation
                seconds += time.perf_counter() - t0
                tokens += int(rows["attention_mask"][start:start + batch_size].sum())
            if not np.isfinite(loss):
                raise SystemExit(f"{NAME}: {name} loss is {loss} at step {step}")
            steps.append(step)
            losses.append(loss)
            step += 1
            if replay is not None and replay_every and step % replay_every == 0:
                train_step(model, optimizer, replay(step))
            if step % log_every == 0 or step == total:
                print(f"  {name} step {step}/{total} epoch {epoch + 1} loss {loss:.4f}",
                      flush=True)
    run.log_metrics(name, 0, {"loss": np.asarray(losses)[:, None]})
    return np.asarray(steps), np.asarray(losses), tokens, seconds


def qa_prompt(question: str) -> str:
    """The plain-text question format of the mixed pre-training data (and of base evaluation)."""
    return f"Question: {question}\nAnswer:"


def evaluate(model, tokenizer, qa, config, stop, *, chat: bool) -> tuple[float, float]:
    """(exact-match accuracy of greedy answers, log-likelihood choice accuracy).

    ``chat``: the question as a user turn of the chat template (instruct); otherwise the plain
    ``qa_prompt`` text (base). Answers carry ``ANSWER_PREFIX`` in both formats.
    """
    prompts = ([[{"role": "user", "content": q.question}] for q in qa] if chat
               else [qa_prompt(q.question) for q in qa])
    answers = []
    for start in range(0, len(prompts), 64):
        chunk = prompts[start:start + 64]
        chunk = chunk + [chunk[-1]] * (64 - len(chunk))  # one compiled shape
        tokens, mask = encode_prompts(tokenizer, chunk, chat=chat,
                                      pad_id=tokenizer.pad_token_id, pad_to_multiple_of=32)
        out = generate(model, tokens, mask, max_new_tokens=config.max_new_tokens,
                       stop_tokens=stop, pad_id=tokenizer.pad_token_id)
        answers += tokenizer.batch_decode(np.asarray(out.tokens), skip_special_tokens=True)
    exact = world_data.accuracy(answers[:len(qa)], qa)
    if chat:
        ids = [tokenizer.apply_chat_template(m, add_generation_prompt=True, tokenize=True,
                                             return_dict=True)["input_ids"] for m in prompts]
    else:
        ids = [tokenizer.encode(p) for p in prompts]
    choices = [[tokenizer.encode(ANSWER_PREFIX + c) for c in q.choices] for q in qa]
    picked = choose(model, ids, choices, pad_id=tokenizer.pad_token_id)
    truth = np.asarray([q.choices.index(q.answer) for q in qa])
    return exact, float(np.mean(picked == truth))


def plot(run, curves):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(curves), figsize=(4.5 * len(curves), 3.2), squeeze=False)
    for ax, (name, (steps, losses)) in zip(axes.flat, curves.items()):
        ax.plot(steps, losses)
        ax.set_title(name)
        ax.set_xlabel("step")
        ax.set_ylabel("loss (nats/token)")
        ax.set_yscale("log")
    fig.tight_layout()
    run.savefig(fig, "loss_curves.png")
    plt.close(fig)


def main(argv=None) -> dict:
    config = harness.parse(Config, PRESETS, argv, description=__doc__,
                           prog=f"python -m experiments.{NAME}")
    run = harness.RunDir.new(NAME, config.out)
    run.write_config(config)
    print(f"{NAME}: preset={config.preset} -> {run.path}", flush=True)
    t_start = time.perf_counter()

    world = world_data.make_world(config.seed, num_entities=config.entities,
                                  heldout_fraction=config.heldout_fraction,
                                  attributes=config.attributes)
    documents = world_data.pretraining_documents(world, config.seed, config.paraphrases)
    train_qa = world_data.qa_pairs(world, world.train, config.seed, config.questions_per_fact)
    heldout_qa = world_data.qa_pairs(world, world.heldout, config.seed + 1)
    rng = np.random.default_rng(config.seed)
    if len(heldout_qa) > config.eval_questions:
        keep = rng.choice(len(heldout_qa), config.eval_questions, replace=False)
        heldout_qa = [heldout_qa[i] for i in sorted(keep)]
    train_chats = [[user, {**reply, "content": ANSWER_PREFIX + reply["content"]}]
                   for user, reply in world_data.conversations(train_qa)]
    seen = set(documents)
    fresh = [d for d in world_data.pretraining_documents(world, config.seed + 10_000, 2)
             if d not in seen]

    tokenizer_text = documents + [qa_prompt(q.question) + ANSWER_PREFIX + q.answer
                                  for q in train_qa]
    tokenizer = world_data.train_tokenizer(tokenizer_text, config.vocab_size)
    eos = tokenizer.eos_token_id
    im_end = tokenizer.convert_tokens_to_ids("<|im_end|>")
    mconfig = model_config(config, tokenizer)
    model = llm.Qwen(mconfig, rngs=nnx.Rngs(config.seed))
    params = int(sum(x.size for x in jax.tree.leaves(nnx.state(model, nnx.Param))))
    qa_text = ([qa_prompt(q.question) + ANSWER_PREFIX + q.answer for q in train_qa]
               if config.mix_qa else [])
    doc_tokens = [tokenizer.encode(d) for d in documents + qa_text]
    print(f"world: {len(world.entities)} entities ({len(world.heldout)} held out), "
          f"{len(documents)} documents + {len(qa_text)} question/answer texts, "
          f"{sum(map(len, doc_tokens))} tokens; vocab "
          f"{len(tokenizer)}; model {params / 1e6:.2f}M parameters", flush=True)

    def pretrain_rows(epoch):
        order = np.random.default_rng([config.seed, epoch]).permutation(len(doc_tokens))
        return pack_documents([doc_tokens[i] for i in order], config.seq_len, eos,
                              drop_remainder=True)

    steps_per_epoch = len(pretrain_rows(0)["tokens"]) // config.batch_size
    total = steps_per_epoch * config.pretrain_epochs
    tc = TrainConfig(learning_rate=config.pretrain_lr, warmup_steps=min(100, total // 10),
                     total_steps=total, weight_decay=0.1)
    optimizer = make_optimizer(model, tc)
    print(f"pre-training: {config.pretrain_epochs} epochs x {steps_per_epoch} steps", flush=True)
    p_steps, p_loss, p_tokens, p_seconds = run_epochs(
        "pretrain", model, optimizer, pretrain_rows, config.pretrain_epochs, config.batch_size,
        run, total)
    fresh_rows = pack_documents([tokenizer.encode(d) for d in fresh], config.seq_len, eos)
    summary = {"heldout_nll/base": mean_nll(model, fresh_rows, config.batch_size)}
    stop = (eos, im_end)
    summary["qa_accuracy/base"], summary["qa_choice_accuracy/base"] = evaluate(
        model, tokenizer, heldout_qa, config, stop, chat=False)
    llm.save(model, tokenizer, run.path / "base")
    print(f"base: held-out NLL {summary['heldout_nll/base']:.3f}, QA exact "
          f"{summary['qa_accuracy/base']:.3f}, choice {summary['qa_choice_accuracy/base']:.3f}",
          flush=True)

    sft = sft_batch(tokenizer, train_chats, config.sft_max_len, tokenizer.pad_token_id)

    def sft_rows(epoch):
        order = np.random.default_rng([config.seed, 1_000 + epoch]).permutation(len(sft["tokens"]))
        return {k: v[order] for k, v in sft.items()}

    sft_total = (len(sft["tokens"]) // config.sft_batch_size) * config.sft_epochs
    replays = sft_total // config.sft_replay_every if config.sft_replay_every else 0
    sft_tc = TrainConfig(learning_rate=config.sft_lr, warmup_steps=min(20, sft_total // 10),
                         total_steps=sft_total + replays, weight_decay=0.0)
    optimizer = make_optimizer(model, sft_tc)
    print(f"instruction tuning: {len(train_chats)} conversations, {sft_total} steps", flush=True)
    replay_rows = pretrain_rows(config.pretrain_epochs)
    n_replay = len(replay_rows["tokens"]) // config.batch_size

    def replay(step):
        start = (step // max(config.sft_replay_every, 1) % n_replay) * config.batch_size
        return {k: jnp.asarray(v[start:start + config.batch_size]) for k, v in replay_rows.items()}

    s_steps, s_loss, _, _ = run_epochs("sft", model, optimizer, sft_rows, config.sft_epochs,
                                       config.sft_batch_size, run, sft_total, replay=replay,
                                       replay_every=config.sft_replay_every)
    summary["heldout_nll/instruct"] = mean_nll(model, fresh_rows, config.batch_size)
    summary["qa_accuracy/instruct"], summary["qa_choice_accuracy/instruct"] = evaluate(
        model, tokenizer, heldout_qa, config, stop, chat=True)
    summary["chance_accuracy"] = world_data.chance_accuracy(heldout_qa)
    # The instruct model ends its turns with <|im_end|>: generation configs stop there too.
    model.config = mconfig.replace(eos_token_id=(im_end, eos))
    llm.save(model, tokenizer, run.path / "instruct")

    summary.update(params=params, pretrain_tokens=p_tokens,
                   tokens_per_second=p_tokens / max(p_seconds, 1e-9),
                   seconds=time.perf_counter() - t_start)
    run.write_summary(summary)
    plot(run, {"pre-training": (p_steps, p_loss), "instruction tuning": (s_steps, s_loss)})
    rows = [{"model": m, "qa_accuracy": summary[f"qa_accuracy/{m}"],
             "choice_accuracy": summary[f"qa_choice_accuracy/{m}"],
             "heldout_nll": summary[f"heldout_nll/{m}"]} for m in ("base", "instruct")]
    print(harness.format_table(rows))
    print(f"chance {summary['chance_accuracy']:.3f}; summary: {run.path / 'summary.json'}")
    return summary


if __name__ == "__main__":
    main()
