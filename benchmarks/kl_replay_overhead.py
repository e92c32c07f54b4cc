"""Step-time overhead of KL-regularised replay over naive LoRA SFT (spec 01), side by side.

    python -m benchmarks.kl_replay_overhead [--quick] [--cases NAME,...] [--out FILE]

One process builds a random-weight Qwen model per case, applies the same LoRA (r=8, alpha=16,
all seven projections) and compiles ``llm.kl_replay.kl_replay_step`` for the four variants of
``experiments.lora_forgetting`` (naive SFT; KL on the SFT tokens, beta=1; replay at ratio 1,
gamma=1; KL + replay with the KL over both). Rounds then time every variant in turn
(``--steps`` steps each, synchronised), so load that drifts during the run hits all variants
alike; each variant's figure is the median over rounds of the mean step time, and its ratio is
over naive in the same round (median of the per-round ratios).

What the ratios should be (forward ~ 1/3 of a training step): the KL adds one forward with the
adapters off on the KL rows (~1.3x on the SFT rows alone), replay at ratio 1 doubles the rows
trained (~2x), KL + replay over both ~2.7x.

Cases: ``tiny`` is the default model and batch of ``experiments.lora_forgetting`` (the
``pretrain_tiny`` model: vocabulary 2048, hidden 128, 4 layers; 16 SFT rows x 64 tokens);
``h512-L8`` a larger model (vocabulary 32000, hidden 512, 8 layers; 8 rows x 256 tokens).
Writes a JSON file (default ``benchmarks/results/kl_replay_overhead.json``) and prints a table.
"""

from __future__ import annotations

import argparse
import dataclasses
import platform
import statistics
import time

import jax
import numpy as np
from flax import nnx

import llm
from experiments import lora_forgetting
from experiments.harness.files import write_json
from experiments.harness.rundir import format_table
from llm.kl_replay import kl_replay_step
from llm.train import TrainConfig, make_optimizer


@dataclasses.dataclass(frozen=True)
class Case:
    name: str
    vocab: int
    hidden: int
    layers: int
    heads: int
    kv_heads: int
    intermediate: int
    batch: int
    seq: int

    def config(self) -> llm.QwenConfig:
        return llm.QwenConfig(vocab_size=self.vocab, hidden_size=self.hidden,
                              intermediate_size=self.intermediate, num_hidden_layers=self.layers,
                              num_attention_heads=self.heads, num_key_value_heads=self.kv_heads,
                              max_position_embeddings=max(512, self.seq), rope_theta=10000.0,
                              tie_word_embeddings=True)


CASES = {
    "tiny": Case("tiny", 2048, 128, 4, 4, 2, 384, batch=16, seq=64),
    "h512-L8": Case("h512-L8", 32000, 512, 8, 8, 2, 1536, batch=8, seq=256),
}


def batches(case: Case, seed: int) -> tuple[dict, dict]:
    """Random SFT rows (response = the second half) and as many replay rows."""
    rng = np.random.default_rng(seed)

    def rows():
        return rng.integers(0, case.vocab, (case.batch, case.seq), dtype=np.int32)

    ones = np.ones((case.batch, case.seq), np.int32)
    loss_mask = ones.copy()
    loss_mask[:, : case.seq // 2] = 0
    sft = {"tokens": rows(), "attention_mask": ones, "loss_mask": loss_mask}
    return sft, {"tokens": rows(), "attention_mask": ones}


def variant_step(case: Case, variant: str):
    """A closure running one step of ``variant`` on a fresh LoRA model (same init per variant)."""
    model = llm.Qwen(case.config(), rngs=nnx.Rngs(0))
    llm.apply_lora(model, llm.LoraConfig(r=8, lora_alpha=16.0, target_modules="all-linear"),
                   rngs=nnx.Rngs(1))
    optimizer = make_optimizer(model, TrainConfig(learning_rate=1e-4, warmup_steps=0,
                                                  total_steps=10**6, weight_decay=0.0),
                               wrt=nnx.LoRAParam)
    config = lora_forgetting.variant_loss(lora_forgetting.Config(), variant)
    sft, replay = batches(case, 0)
    replay = replay if config.uses_replay else None

    def step():
        return kl_replay_step(model, optimizer, sft, replay, config)["loss"].block_until_ready()

    return step


def run_case(case: Case, rounds: int, steps: int) -> dict:
    compiled = {}
    for variant in lora_forgetting.VARIANTS:
        t0 = time.perf_counter()
        compiled[variant] = variant_step(case, variant)
        compiled[variant]()
        print(f"  {case.name} {variant}: compiled in {time.perf_counter() - t0:.1f} s",
              flush=True)
    per_round = {v: [] for v in lora_forgetting.VARIANTS}
    for r in range(rounds):
        for variant, step in compiled.items():
            t0 = time.perf_counter()
            for _ in range(steps):
                step()
            per_round[variant].append((time.perf_counter() - t0) / steps)
        print(f"  {case.name} round {r + 1}/{rounds}: " + ", ".join(
            f"{v} {per_round[v][-1] * 1e3:.1f} ms" for v in per_round), flush=True)
    naive = per_round["naive"]
    return {v: {"step_ms": 1e3 * statistics.median(t),
                "ratio_over_naive": statistics.median(a / b for a, b in zip(t, naive))}
            for v, t in per_round.items()}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.kl_replay_overhead",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", default="tiny,h512-L8",
                        help=f"comma-separated, from {sorted(CASES)}")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--steps", type=int, default=5, help="steps per variant per round")
    parser.add_argument("--quick", action="store_true", help="tiny case, 3 rounds of 2 steps")
    parser.add_argument("--out", default="benchmarks/results/kl_replay_overhead.json")
    args = parser.parse_args(argv)
    names = ["tiny"] if args.quick else [n for n in args.cases.split(",") if n]
    unknown = [n for n in names if n not in CASES]
    if unknown or not names:
        parser.error(f"--cases: unknown {unknown or names}; expected names from {sorted(CASES)}")
    if args.rounds < 1 or args.steps < 1:
        parser.error("--rounds and --steps must be >= 1")
    rounds, steps = (3, 2) if args.quick else (args.rounds, args.steps)
    result = {"device": jax.devices()[0].device_kind, "platform": platform.platform(),
              "jax": jax.__version__, "rounds": rounds, "steps_per_round": steps, "cases": {}}
    table = []
    for name in names:
        case = CASES[name]
        result["cases"][name] = dataclasses.asdict(case) | {"variants": run_case(case, rounds,
                                                                                  steps)}
        for variant, row in result["cases"][name]["variants"].items():
            table.append({"case": name, "variant": variant, "step_ms": row["step_ms"],
                          "ratio_over_naive": row["ratio_over_naive"]})
    print(format_table(table))
    write_json(args.out, result)
    print(f"wrote {args.out}")
    return result


if __name__ == "__main__":
    main()
