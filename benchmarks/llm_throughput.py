"""LLM throughput, side by side in one process: ours (JAX/Flax NNX) against transformers + torch.

    python -m benchmarks.llm_throughput [--quick] [--cases NAME,...] [--out FILE]

For each model config (Qwen2 architecture, float32, random weights shared by both stacks):
1. forward tokens/s (logits for a [batch, seq] batch);
2. one full training step (AdamW over all parameters, global-norm clip 1.0);
3. one LoRA training step (r=8, alpha=16, all seven projections; peft on the torch side);
4. greedy generation tokens/s at batch 1 (32-token prompt, 128 new tokens, KV cache; ours is one
   compiled decode loop, transformers' is ``generate``).
Also the float32 matmul peak of this machine (2048² products, both stacks) and the model FLOP/s
our forward and training step achieve (2N + 4·L·d_attn·T FLOPs per token forward, three times
that for a training step; N counts the matrix parameters touched per token).

On a CUDA machine both stacks run on the GPU: torch with TF32 float32 matmuls
(``set_float32_matmul_precision("high")``), which is what XLA does for float32 by default, and
``--cases h512-L8,qwen0.5b`` adds a Qwen2.5-0.5B-shaped model (896 wide, 24 layers, 151936
vocabulary; batch 8 × 512 tokens).

Compile time is excluded (one warm-up call) and every figure is the median of repeats; the two
stacks' repeats of a workload alternate, so a slow spell of a shared machine falls on both.
Writes a JSON file (default ``benchmarks/results/llm_throughput.json``) and prints a table.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import tempfile

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

import llm
from benchmarks.timing import interleaved_medians
from experiments.harness.files import write_json
from experiments.harness.rundir import format_table


@dataclasses.dataclass(frozen=True)
class Case:
    name: str
    hidden: int
    layers: int
    heads: int
    kv_heads: int
    intermediate: int
    vocab: int = 32000
    batch: int = 8
    seq: int = 256

    def config(self) -> llm.QwenConfig:
        return llm.QwenConfig(vocab_size=self.vocab, hidden_size=self.hidden,
                              intermediate_size=self.intermediate, num_hidden_layers=self.layers,
                              num_attention_heads=self.heads, num_key_value_heads=self.kv_heads,
                              max_position_embeddings=4096, rope_theta=10000.0,
                              tie_word_embeddings=True)


CASES = (Case("h256-L4", 256, 4, 4, 2, 768), Case("h512-L8", 512, 8, 8, 2, 1536))
GPU_CASES = (Case("qwen0.5b", 896, 24, 14, 2, 4864, vocab=151936, batch=8, seq=512),)


def torch_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def torch_sync() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()
PROMPT, NEW = 32, 128
LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


def forward_flops_per_token(config: llm.QwenConfig, seq: int) -> float:
    c = config
    per_layer = (c.hidden_size * (c.q_size + 2 * c.kv_size) + c.q_size * c.hidden_size
                 + 3 * c.hidden_size * c.intermediate_size)
    matrix = c.num_hidden_layers * per_layer + c.vocab_size * c.hidden_size  # + LM head
    return 2 * matrix + 4 * c.num_hidden_layers * c.q_size * seq


def matmul_peak(repeats: int) -> dict:
    import torch

    n = 2048 if jax.default_backend() == "cpu" else 8192
    a = jax.random.normal(jax.random.key(0), (n, n), jnp.float32)  # never time zeros/ones
    f = jax.jit(lambda x, y: x @ y)
    ta = torch.randn((n, n), device=torch_device())

    def torch_matmul():
        out = ta @ ta
        torch_sync()
        return out

    pair = [lambda: f(a, a).block_until_ready(), torch_matmul]
    for fn in pair:
        fn()  # warm-up (compilation for ours)
    jax_t, torch_t = interleaved_medians(pair, repeats)
    return {"jax_gflops": 2 * n**3 / jax_t / 1e9, "torch_gflops": 2 * n**3 / torch_t / 1e9}


# ---------------------------------------------------------------------------------------------
# ours


def ours(case: Case, directory: str) -> dict:
    """The four workloads of our stack as zero-argument callables that block until done."""
    model, _ = llm.load(directory)
    rng = np.random.default_rng(0)
    ids = jnp.asarray(rng.integers(0, case.vocab, (case.batch, case.seq)), jnp.int32)
    batch = {"tokens": ids, "attention_mask": jnp.ones_like(ids),
             "loss_mask": jnp.ones_like(ids)}
    forward = nnx.jit(lambda m, x: m(x))
    tc = llm.TrainConfig(learning_rate=1e-5, warmup_steps=0, total_steps=10_000)
    optimizer = llm.make_optimizer(model, tc)
    lora_model, _ = llm.load(directory)
    llm.apply_lora(lora_model, llm.LoraConfig(r=8, lora_alpha=16,
                                              target_modules=list(LORA_TARGETS)),
                   rngs=nnx.Rngs(0))
    lora_opt = llm.make_optimizer(lora_model, tc, wrt=nnx.LoRAParam)
    prompt = jnp.asarray(rng.integers(0, case.vocab, (1, PROMPT)), jnp.int32)
    return {
        "forward": lambda: forward(model, ids).block_until_ready(),
        "train_step": lambda: jax.block_until_ready(llm.train_step(model, optimizer, batch)),
        "lora_step": lambda: jax.block_until_ready(llm.train_step(lora_model, lora_opt, batch)),
        "generate": lambda: jax.block_until_ready(
            llm.generate(model, prompt, max_new_tokens=NEW).tokens),
    }


# ---------------------------------------------------------------------------------------------
# transformers + torch (+ peft)


def reference(case: Case, directory: str) -> dict:
    """The same four workloads on transformers + torch (+ peft), as ``ours`` returns them."""
    import peft
    import torch
    import transformers

    device = torch_device()
    model = transformers.AutoModelForCausalLM.from_pretrained(
        directory, dtype=torch.float32).to(device)
    rng = np.random.default_rng(0)
    ids = torch.tensor(rng.integers(0, case.vocab, (case.batch, case.seq)), device=device)

    def forward():
        model.eval()
        with torch.no_grad():
            logits = model(ids).logits
        torch_sync()
        return logits

    def train_step(m, opt, params):
        m.train()
        loss = m(ids, labels=ids).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        torch_sync()

    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-5, betas=(0.9, 0.95), weight_decay=0.1)
    base = transformers.AutoModelForCausalLM.from_pretrained(
        directory, dtype=torch.float32).to(device)
    lora = peft.get_peft_model(base, peft.LoraConfig(r=8, lora_alpha=16,
                                                     target_modules=list(LORA_TARGETS)))
    lora_params = [p for p in lora.parameters() if p.requires_grad]
    lora_opt = torch.optim.AdamW(lora_params, lr=1e-5, betas=(0.9, 0.95), weight_decay=0.1)
    prompt = torch.tensor(rng.integers(0, case.vocab, (1, PROMPT)), device=device)

    def generate():
        model.eval()
        with torch.no_grad():
            model.generate(prompt, attention_mask=torch.ones_like(prompt), do_sample=False,
                           max_new_tokens=NEW, min_new_tokens=NEW, pad_token_id=0)
        torch_sync()

    return {"forward": forward, "train_step": lambda: train_step(model, opt, params),
            "lora_step": lambda: train_step(lora, lora_opt, lora_params), "generate": generate}


# ---------------------------------------------------------------------------------------------


def run_case(case: Case, repeats: int, peak: float) -> list[dict]:
    config = case.config()
    with tempfile.TemporaryDirectory() as tmp:
        llm.save(llm.Qwen(config, rngs=nnx.Rngs(0)), None, tmp)
        ours_fns, theirs_fns = ours(case, tmp), reference(case, tmp)
        mine, theirs = {}, {}
        for name in ours_fns:  # one workload at a time, the two stacks in alternation
            n = max(3, repeats // 2) if name == "generate" else repeats
            pair = [ours_fns[name], theirs_fns[name]]
            for fn in pair:
                fn()  # warm-up (compilation for ours)
            mine[name], theirs[name] = interleaved_medians(pair, n)
    tokens = case.batch * case.seq
    flops = forward_flops_per_token(config, case.seq)
    rows = []

    def row(metric, a, b, higher_is_better, extra=None):
        ratio = a / b if higher_is_better else b / a
        rows.append({"config": case.name, "metric": metric, "ours": a, "transformers": b,
                     "speedup": ratio, **(extra or {})})

    fwd_flops = flops * tokens / mine["forward"] / 1e9
    row("forward tokens/s", tokens / mine["forward"], tokens / theirs["forward"], True,
        {"ours_gflops": fwd_flops, "ours_peak_fraction": fwd_flops / peak})
    train_flops = 3 * flops * tokens / mine["train_step"] / 1e9
    row("train step s (AdamW)", mine["train_step"], theirs["train_step"], False,
        {"ours_gflops": train_flops, "ours_peak_fraction": train_flops / peak})
    row("LoRA step s (r=8, all proj.)", mine["lora_step"], theirs["lora_step"], False)
    row("generate tokens/s (batch 1)", NEW / mine["generate"], NEW / theirs["generate"], True)
    return rows


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="first config only, fewer repeats")
    parser.add_argument("--cases", default=None,
                        help="comma-separated case names from "
                             f"{', '.join(c.name for c in CASES + GPU_CASES)} "
                             "(default: the CPU cases)")
    parser.add_argument("--out", default="benchmarks/results/llm_throughput.json")
    args = parser.parse_args(argv)
    by_name = {c.name: c for c in CASES + GPU_CASES}
    if args.cases is not None:
        unknown = [n for n in args.cases.split(",") if n not in by_name]
        if unknown:
            parser.error(f"--cases: unknown {unknown}; expected names from {sorted(by_name)}")
    import torch

    if torch.cuda.is_available():
        torch.set_float32_matmul_precision("high")  # TF32, as XLA's default float32 dot
    repeats = 3 if args.quick else 5
    if args.cases is not None:
        cases = tuple(by_name[n] for n in args.cases.split(","))
    else:
        cases = CASES[:1] if args.quick else CASES
    peak = matmul_peak(repeats)
    print(f"float32 matmul peak: jax {peak['jax_gflops']:.0f} GFLOP/s, torch "
          f"{peak['torch_gflops']:.0f} GFLOP/s", flush=True)
    rows = []
    for case in cases:
        rows += run_case(case, repeats, max(peak.values()))
        print(format_table(rows[-4:]), flush=True)
    result = {
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                    "jax": jax.__version__, "torch": torch.__version__,
                    "device": str(jax.devices()[0]), "torch_device": torch_device()},
        "matmul_peak": peak, "cases": [dataclasses.asdict(c) for c in cases], "rows": rows,
    }
    write_json(args.out, result)
    print(format_table(rows, ["config", "metric", "ours", "transformers", "speedup"]))
    print(f"wrote {args.out}")
    return result


if __name__ == "__main__":
    main()
